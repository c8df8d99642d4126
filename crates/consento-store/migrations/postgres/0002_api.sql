-- API tokens and idempotency keys, PostgreSQL. Keep in step with sqlite/0002_api.sql.

-- A token is shown once at creation; only its SHA-256 is kept. The secret part is 256 random
-- bits, so a plain hash (no salt, no stretching) cannot be reversed and lets us look it up.
CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

-- A consent write retried with the same Idempotency-Key returns the first result: the key is
-- recorded in the write's own transaction, with a hash of the request it answered.
CREATE TABLE idempotency_keys (
    token_id UUID NOT NULL REFERENCES api_tokens (id),
    idem_key TEXT NOT NULL,
    request_sha256 BYTEA NOT NULL,
    event_id UUID NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
