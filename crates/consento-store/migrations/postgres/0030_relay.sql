-- The enforcing SMTP relay's outbox, PostgreSQL. Keep in step with sqlite/0030_relay.sql.
--
-- A message the relay accepted: `250` after DATA is answered only once this row and its
-- recipients' rows are committed (nothing accepted is lost). The body is sealed under the master
-- key while it waits (GDPR Art. 32(1)(a)) and removed once every copy is delivered or given up,
-- with the envelope sender (Art. 5(1)(c) and (e)); what stays is the record.
CREATE TABLE relay_messages (
    id UUID PRIMARY KEY,
    token_id UUID NOT NULL REFERENCES api_tokens (id),
    envelope_from TEXT,
    received_at BIGINT NOT NULL,
    size BIGINT NOT NULL CHECK (size >= 0),
    body BYTEA,
    purged_at BIGINT,
    CHECK ((body IS NULL) = (purged_at IS NOT NULL))
);
CREATE INDEX relay_messages_received ON relay_messages (received_at);

-- One row per recipient of a relayed message: the decision that let it through or refused it
-- (action, rule, the reason and justified contact when one was recorded) and its copy's delivery,
-- claimed under a lease like email_outbox. The address goes with the body.
CREATE TABLE relay_deliveries (
    id UUID PRIMARY KEY,
    message_id UUID NOT NULL REFERENCES relay_messages (id),
    recipient TEXT,
    contact_id UUID REFERENCES contacts (id),
    action TEXT NOT NULL CHECK (action IN ('email.single', 'email.bulk')),
    rule TEXT NOT NULL,
    reason_id UUID REFERENCES contact_reasons (id),
    interaction_id UUID REFERENCES interactions (id),
    status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'deferred', 'bounced', 'refused')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until BIGINT,
    last_error TEXT,
    delivered_at BIGINT,
    updated_at BIGINT NOT NULL,
    CHECK ((next_attempt_at IS NULL) = (status NOT IN ('queued', 'deferred')))
);
CREATE INDEX relay_deliveries_due ON relay_deliveries (next_attempt_at)
    WHERE status IN ('queued', 'deferred');
CREATE INDEX relay_deliveries_message ON relay_deliveries (message_id);
CREATE INDEX relay_deliveries_contact ON relay_deliveries (contact_id, updated_at);
