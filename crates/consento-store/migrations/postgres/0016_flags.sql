-- The history of a contact's restriction of processing (GDPR Art. 18) and objection (Art. 21):
-- every time one was set or lifted, by whom, and the data-subject request it answered, if any.
-- Keep in step with sqlite/0016_flags.sql. It holds no personal data (ids and codes only), so
-- erasure leaves it whole; it is append-only like the ledger. seq orders rows as they were
-- written (two in one microsecond included).
CREATE TABLE flag_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    flag TEXT NOT NULL CHECK (flag IN ('restriction', 'objection')),
    raised BOOLEAN NOT NULL,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    request_id UUID REFERENCES requests (id)
);
CREATE INDEX flag_events_contact ON flag_events (contact_id, seq);
CREATE TRIGGER flag_events_no_change BEFORE UPDATE OR DELETE ON flag_events
    FOR EACH ROW EXECUTE FUNCTION consento_refuse_change();
CREATE TRIGGER flag_events_no_truncate BEFORE TRUNCATE ON flag_events
    FOR EACH STATEMENT EXECUTE FUNCTION consento_refuse_change();
