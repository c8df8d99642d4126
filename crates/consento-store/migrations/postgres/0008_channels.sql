-- The forms of communication a person switched off in the preference center (email, phone
-- calls, text messages). Keep in step with sqlite/0008_channels.sql.
-- The decision engine reads the three columns with the rest of the contact (rule 3b: like an
-- objection, for that channel); channel_events keeps every switch with who, when, how and the
-- evidence, and is append-only like the ledger (erasure may blank the evidence only).
ALTER TABLE contacts ADD COLUMN email_off_at BIGINT;
ALTER TABLE contacts ADD COLUMN phone_off_at BIGINT;
ALTER TABLE contacts ADD COLUMN sms_off_at BIGINT;

CREATE TABLE channel_events (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'phone', 'sms')),
    switched_off BOOLEAN NOT NULL,
    at BIGINT NOT NULL,
    method TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    evidence TEXT
);
CREATE INDEX channel_events_contact ON channel_events (contact_id, at);
CREATE FUNCTION consento_channel_events_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id OR NEW.contact_id IS DISTINCT FROM OLD.contact_id
        OR NEW.channel IS DISTINCT FROM OLD.channel OR NEW.switched_off IS DISTINCT FROM OLD.switched_off
        OR NEW.at IS DISTINCT FROM OLD.at OR NEW.method IS DISTINCT FROM OLD.method
        OR NEW.actor_kind IS DISTINCT FROM OLD.actor_kind OR NEW.actor_id IS DISTINCT FROM OLD.actor_id THEN
        RAISE EXCEPTION 'channel switches are append-only';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER channel_events_fixed BEFORE UPDATE OR DELETE ON channel_events
    FOR EACH ROW EXECUTE FUNCTION consento_channel_events_fixed();
CREATE TRIGGER channel_events_no_truncate BEFORE TRUNCATE ON channel_events
    FOR EACH STATEMENT EXECUTE FUNCTION consento_refuse_change();
