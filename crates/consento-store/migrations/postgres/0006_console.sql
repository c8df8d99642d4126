-- The operator console: staff accounts, their sessions, and the audit trail of what they do.
-- PostgreSQL. Keep in step with sqlite/0006_console.sql.

-- A staff account. The password is kept only as an Argon2id PHC string. failed_logins and
-- locked_until live here, not in a process's memory, so a lockout holds across every server
-- process on the database.
CREATE TABLE users (
    id UUID PRIMARY KEY,
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
);

-- A session is a random cookie secret; only its SHA-256 is kept (as for API tokens). It ends at
-- expires_at, or earlier when idle for longer than the server's idle limit.
CREATE TABLE sessions (
    secret_hash BYTEA PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Every operator action: who, when, what, on which record. Rows are never deleted; only the
-- detail may be rewritten, by erasure (GDPR Art. 17), so that it keeps no personal data.
-- seq orders entries as they were written (two in one microsecond included) and pages the list.
CREATE TABLE audit_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    user_id UUID REFERENCES users (id),
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user_at ON audit_events (user_id, at);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id);
CREATE FUNCTION consento_audit_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq IS DISTINCT FROM OLD.seq OR NEW.id IS DISTINCT FROM OLD.id OR NEW.at IS DISTINCT FROM OLD.at
        OR NEW.user_id IS DISTINCT FROM OLD.user_id OR NEW.action IS DISTINCT FROM OLD.action
        OR NEW.target_kind IS DISTINCT FROM OLD.target_kind OR NEW.target_id IS DISTINCT FROM OLD.target_id THEN
        RAISE EXCEPTION 'the audit trail is append-only';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_events_fixed BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION consento_audit_fixed();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION consento_refuse_change();
