-- A new contact is logged in the decision change log too (migration 0017). A decision never
-- remembered a contact before it existed, so the log did not need it; the newsletter audience
-- kept in memory (audience_index.rs) counts every contact, and a contact created without any
-- consent (counted as "no consent") would otherwise never reach it. An import's own connection
-- sets this trigger aside with the ledger's and logs one row for everyone instead
-- (fastimport.rs).
CREATE TRIGGER decision_changes_contact_new AFTER INSERT ON contacts
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NEW.id); END;
