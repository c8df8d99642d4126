-- Imports from CRM exports: the column mapping saved per source, and each run with its progress
-- and report. PostgreSQL. Keep in step with sqlite/0014_imports.sql.

-- The mapping (JSON of consento_domain::import::Mapping) a source's files are read with, reused
-- by the next import of the same source.
CREATE TABLE import_mappings (
    source TEXT PRIMARY KEY,
    mapping TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One import of one file. Counters are written from outside the import's transaction, so a page
-- can show progress while it runs; errors holds the first bad lines (JSON), error_count all.
CREATE TABLE import_runs (
    id UUID PRIMARY KEY,
    source TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 BYTEA NOT NULL,
    total_bytes BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
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
    finished_at BIGINT
);
CREATE INDEX import_runs_started ON import_runs (started_at);
