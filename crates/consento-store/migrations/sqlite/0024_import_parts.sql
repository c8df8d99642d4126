-- Imports committed in parts, SQLite. Keep in step with postgres/0024_import_parts.sql.
-- A large file is written in several transactions once it has been read whole and found
-- free of bad lines, so that the write-ahead log stays bounded. A run that stops after some
-- of its parts committed is `interrupted` (its counters are what committed; importing the
-- same file again completes it, adding nothing twice), and `progress_at` is when a part last
-- committed or its counters were last written, which tells a live run from one whose process
-- is gone. SQLite cannot change a CHECK: the table is rebuilt, rows kept.
CREATE TABLE import_runs_parts (
    id BLOB PRIMARY KEY,
    source TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 BLOB NOT NULL,
    total_bytes BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    bytes_read BIGINT NOT NULL DEFAULT 0,
    rows_read BIGINT NOT NULL DEFAULT 0,
    rows_written BIGINT NOT NULL DEFAULT 0,
    contacts_created BIGINT NOT NULL DEFAULT 0,
    contacts_matched BIGINT NOT NULL DEFAULT 0,
    events_written BIGINT NOT NULL DEFAULT 0,
    skipped_suppressed BIGINT NOT NULL DEFAULT 0,
    error_count BIGINT NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    failure TEXT,
    started_by TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    progress_at BIGINT
);
INSERT INTO import_runs_parts (id, source, file_name, file_sha256, total_bytes, status,
    bytes_read, rows_read, rows_written, contacts_created, contacts_matched, events_written,
    skipped_suppressed, error_count, errors, failure, started_by, started_at, finished_at)
    SELECT id, source, file_name, file_sha256, total_bytes, status,
    bytes_read, rows_read, rows_written, contacts_created, contacts_matched, events_written,
    skipped_suppressed, error_count, errors, failure, started_by, started_at, finished_at
    FROM import_runs;
DROP TABLE import_runs;
ALTER TABLE import_runs_parts RENAME TO import_runs;
CREATE INDEX import_runs_started ON import_runs (started_at);
