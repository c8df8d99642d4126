-- The relay holds a copy that needs a justification, SQLite. Keep in step with
-- postgres/0032_relay_hold.sql.
-- A recipient that needs a justification (rule 7 of the decision) and whose message names no
-- usable reason is accepted and its copy `held`: a `held_messages` row (source `relay`, the
-- relay message's id as its queue id) waits for an operator's reason, named by the copy's
-- `held_id`. Released, the copy is `queued` like any other; dropped (by an operator or when its
-- hold runs out), it is `dropped` and never sent. The body stays sealed while a copy is held.
-- SQLite cannot change a CHECK: the table is rebuilt, rows kept.
CREATE TABLE relay_deliveries_held (
    id BLOB PRIMARY KEY,
    message_id BLOB NOT NULL REFERENCES relay_messages (id),
    recipient TEXT,
    contact_id BLOB REFERENCES contacts (id),
    action TEXT NOT NULL CHECK (action IN ('email.single', 'email.bulk')),
    rule TEXT NOT NULL,
    reason_id BLOB REFERENCES contact_reasons (id),
    interaction_id BLOB REFERENCES interactions (id),
    status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'deferred', 'bounced', 'refused', 'held', 'dropped')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until BIGINT,
    last_error TEXT,
    delivered_at BIGINT,
    updated_at BIGINT NOT NULL,
    held_id BLOB REFERENCES held_messages (id),
    CHECK ((next_attempt_at IS NULL) = (status NOT IN ('queued', 'deferred')))
) WITHOUT ROWID;
INSERT INTO relay_deliveries_held (id, message_id, recipient, contact_id, action, rule,
    reason_id, interaction_id, status, attempts, next_attempt_at, lease_until, last_error,
    delivered_at, updated_at)
    SELECT id, message_id, recipient, contact_id, action, rule,
    reason_id, interaction_id, status, attempts, next_attempt_at, lease_until, last_error,
    delivered_at, updated_at
    FROM relay_deliveries;
DROP TABLE relay_deliveries;
ALTER TABLE relay_deliveries_held RENAME TO relay_deliveries;
CREATE INDEX relay_deliveries_due ON relay_deliveries (next_attempt_at)
    WHERE status IN ('queued', 'deferred');
CREATE INDEX relay_deliveries_message ON relay_deliveries (message_id);
CREATE INDEX relay_deliveries_contact ON relay_deliveries (contact_id, updated_at);
CREATE INDEX relay_deliveries_held_id ON relay_deliveries (held_id) WHERE held_id IS NOT NULL;
