-- The dialer's call outcomes, PostgreSQL. Keep in step with sqlite/0027_call_outcomes.sql.
-- One row per call the dialer reports: the number dialled (E.164, as contact_phones holds it) and
-- its contact, how the call ended, the campaign and the operator who placed it, the instant of
-- the call (the dialer's) and the instant it was recorded (ours), and who recorded it. A refusal
-- ("basta un no") becomes the contact's objection in the same transaction (GDPR Art. 21(3)); a
-- campaign's silent calls are counted against its answered calls (Garante, general provision
-- n. 83 of 20 February 2014).
--
-- Append-only like the ledger: what a call's outcome was is never rewritten or removed. The one
-- exception is erasure (GDPR Art. 17): the number is the person's data, so once the contact is
-- erased its calls' numbers may be blanked; the outcome, campaign and instants stay, naming
-- no one (the contact is then a pseudonymous UUID).
CREATE TABLE call_outcomes (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    phone TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('answered', 'no_answer', 'busy', 'silent', 'refused_marketing', 'callback_requested')),
    campaign TEXT NOT NULL CHECK (length(campaign) BETWEEN 1 AND 200),
    operator TEXT NOT NULL,
    called_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL
);
-- The campaign report, a number's latest silent call, a contact's calls.
CREATE INDEX call_outcomes_campaign ON call_outcomes (campaign, called_at);
CREATE INDEX call_outcomes_phone ON call_outcomes (phone, called_at);
CREATE INDEX call_outcomes_contact ON call_outcomes (contact_id, called_at);
CREATE FUNCTION consento_call_outcomes_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id OR NEW.contact_id IS DISTINCT FROM OLD.contact_id
        OR NEW.outcome IS DISTINCT FROM OLD.outcome OR NEW.campaign IS DISTINCT FROM OLD.campaign
        OR NEW.operator IS DISTINCT FROM OLD.operator OR NEW.called_at IS DISTINCT FROM OLD.called_at
        OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at OR NEW.actor_kind IS DISTINCT FROM OLD.actor_kind
        OR NEW.actor_id IS DISTINCT FROM OLD.actor_id THEN
        RAISE EXCEPTION 'call outcomes are append-only';
    END IF;
    IF NEW.phone IS DISTINCT FROM OLD.phone AND (NEW.phone <> ''
        OR NOT EXISTS (SELECT 1 FROM contacts WHERE id = OLD.contact_id AND erased_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'call outcomes are append-only: only an erasure blanks the number';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER call_outcomes_fixed BEFORE UPDATE OR DELETE ON call_outcomes
    FOR EACH ROW EXECUTE FUNCTION consento_call_outcomes_fixed();
CREATE TRIGGER call_outcomes_no_truncate BEFORE TRUNCATE ON call_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION consento_refuse_change();
