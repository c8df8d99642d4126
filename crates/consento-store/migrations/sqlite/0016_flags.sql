-- The history of a contact's restriction of processing (GDPR Art. 18) and objection (Art. 21):
-- every time one was set or lifted, by whom, and the data-subject request it answered, if any.
-- Keep in step with postgres/0016_flags.sql. It holds no personal data (ids and codes only), so
-- erasure leaves it whole; it is append-only like the ledger. seq orders rows as they were
-- written (two in one microsecond included).
CREATE TABLE flag_events (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    flag TEXT NOT NULL CHECK (flag IN ('restriction', 'objection')),
    raised BOOLEAN NOT NULL,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    request_id BLOB REFERENCES requests (id)
);
CREATE INDEX flag_events_contact ON flag_events (contact_id, seq);
CREATE TRIGGER flag_events_no_update BEFORE UPDATE ON flag_events
BEGIN SELECT RAISE(ABORT, 'restriction and objection history is append-only'); END;
CREATE TRIGGER flag_events_no_delete BEFORE DELETE ON flag_events
BEGIN SELECT RAISE(ABORT, 'restriction and objection history is append-only'); END;
