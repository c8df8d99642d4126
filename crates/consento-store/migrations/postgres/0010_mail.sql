-- Email and double opt-in, PostgreSQL. Keep in step with sqlite/0010_mail.sql.

-- Emails waiting to be sent, written in the same transaction as the change that causes them
-- (DESIGN.md §4: never sent from a request handler) and delivered by the mail worker with
-- retries, claimed under a lease like webhook_outbox. The address is personal data: sent and
-- dead rows are purged after a retention, and the payload (which holds the confirmation link)
-- is emptied once the message is sent or given up.
CREATE TABLE email_outbox (
    id UUID PRIMARY KEY,
    contact_id UUID REFERENCES contacts (id),
    to_address TEXT NOT NULL,
    locale TEXT NOT NULL,
    template TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    sent_at BIGINT,
    dead_at BIGINT
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX email_outbox_created ON email_outbox (created_at);
CREATE INDEX email_outbox_contact ON email_outbox (contact_id);

-- Double opt-in requests: a person asked to receive some topics; the consent is given only when
-- they confirm through the link mailed to them. Only the SHA-256 of the link's token is kept.
-- The request's own evidence (when, from where, by which user agent, the IP truncated) is
-- copied into the consent's erasable evidence at confirmation.
CREATE TABLE subscription_requests (
    id UUID PRIMARY KEY,
    token_sha256 BYTEA NOT NULL UNIQUE,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    email TEXT NOT NULL,
    type_codes TEXT NOT NULL,
    locale TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('form', 'api')),
    requested_by TEXT,
    user_agent TEXT,
    ip_prefix TEXT,
    requested_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    confirmed_at BIGINT
);
-- The per-address limits count an address's recent requests.
CREATE INDEX subscription_requests_email ON subscription_requests (email, requested_at);
CREATE INDEX subscription_requests_contact ON subscription_requests (contact_id);
CREATE INDEX subscription_requests_expiry ON subscription_requests (expires_at);
