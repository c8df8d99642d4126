-- The forms of communication a person switched off in the preference center (email, phone
-- calls, text messages). Keep in step with postgres/0008_channels.sql.
-- The decision engine reads the three columns with the rest of the contact (rule 3b: like an
-- objection, for that channel); channel_events keeps every switch with who, when, how and the
-- evidence, and is append-only like the ledger (erasure may blank the evidence only).
ALTER TABLE contacts ADD COLUMN email_off_at BIGINT;
ALTER TABLE contacts ADD COLUMN phone_off_at BIGINT;
ALTER TABLE contacts ADD COLUMN sms_off_at BIGINT;

CREATE TABLE channel_events (
    id BLOB PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'phone', 'sms')),
    switched_off BOOLEAN NOT NULL,
    at BIGINT NOT NULL,
    method TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    evidence TEXT
) WITHOUT ROWID;
CREATE INDEX channel_events_contact ON channel_events (contact_id, at);
CREATE TRIGGER channel_events_no_delete BEFORE DELETE ON channel_events
BEGIN SELECT RAISE(ABORT, 'channel switches are append-only'); END;
CREATE TRIGGER channel_events_fixed BEFORE UPDATE OF id, contact_id, channel, switched_off, at, method, actor_kind, actor_id ON channel_events
BEGIN SELECT RAISE(ABORT, 'channel switches are append-only'); END;
