-- The dialer's call outcomes, SQLite. Keep in step with postgres/0027_call_outcomes.sql.
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
    id BLOB PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id),
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
CREATE TRIGGER call_outcomes_no_delete BEFORE DELETE ON call_outcomes
BEGIN SELECT RAISE(ABORT, 'call outcomes are append-only'); END;
CREATE TRIGGER call_outcomes_fixed BEFORE UPDATE OF id, contact_id, outcome, campaign, operator, called_at, recorded_at, actor_kind, actor_id ON call_outcomes
BEGIN SELECT RAISE(ABORT, 'call outcomes are append-only'); END;
CREATE TRIGGER call_outcomes_number BEFORE UPDATE OF phone ON call_outcomes
WHEN NEW.phone <> '' OR NOT EXISTS (SELECT 1 FROM contacts WHERE id = OLD.contact_id AND erased_at IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'call outcomes are append-only: only an erasure blanks the number'); END;
