-- Imports committed in parts, PostgreSQL. Keep in step with sqlite/0024_import_parts.sql.
-- PostgreSQL writes an import in one transaction (its WAL is recycled at checkpoints whatever
-- the transaction's length), but a run can end `interrupted` on either backend, and
-- `progress_at` tells a live run from one whose process is gone.
ALTER TABLE import_runs DROP CONSTRAINT import_runs_status_check;
ALTER TABLE import_runs ADD CONSTRAINT import_runs_status_check
    CHECK (status IN ('running', 'done', 'failed', 'interrupted'));
ALTER TABLE import_runs ADD COLUMN progress_at BIGINT;
