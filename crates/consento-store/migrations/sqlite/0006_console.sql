-- The operator console: staff accounts, their sessions, and the audit trail of what they do.
-- SQLite. Keep in step with postgres/0006_console.sql.

-- A staff account. The password is kept only as an Argon2id PHC string. failed_logins and
-- locked_until live here, not in a process's memory, so a lockout holds across every server
-- process on the database.
CREATE TABLE users (
    id BLOB PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'dpo', 'operator', 'auditor')),
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    locale TEXT CHECK (locale IN ('it', 'en')),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
) WITHOUT ROWID;

-- A session is a random cookie secret; only its SHA-256 is kept (as for API tokens). It ends at
-- expires_at, or earlier when idle for longer than the server's idle limit.
CREATE TABLE sessions (
    secret_hash BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Every operator action: who, when, what, on which record. Rows are never deleted; only the
-- detail may be rewritten, by erasure (GDPR Art. 17), so that it keeps no personal data.
-- seq orders entries as they were written (two in one microsecond included) and pages the list.
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    user_id BLOB REFERENCES users (id),
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user_at ON audit_events (user_id, at);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id);
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_events_fixed BEFORE UPDATE OF seq, id, at, user_id, action, target_kind, target_id ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
