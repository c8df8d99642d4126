-- What changed in what decisions read, in commit order: the log that lets each process keep the
-- facts of recent decisions in memory and still never answer from a stale copy. A process reads
-- the last position at every decision (one short read) and forgets the contacts logged since it
-- last looked. The triggers below are the only writers, so every change counts, whoever makes it:
-- this process, the command line, another process on the same file. A row without a contact
-- means "forget everything" (settings, consent types, the suppression list).
--
-- SQLite only: its one writer makes positions commit in order. (PostgreSQL decisions read the
-- database every time; a sequence there can commit out of order.)
CREATE TABLE decision_changes (
    seq INTEGER PRIMARY KEY,
    contact_id BLOB
);

-- What the decision query reads of a contact.
CREATE TRIGGER decision_changes_contact AFTER UPDATE OF
    id, external_id, email_hash, phone_hash, restricted_at, objected_at, erased_at,
    email_off_at, phone_off_at, sms_off_at ON contacts
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (OLD.id);
    INSERT INTO decision_changes (contact_id) SELECT NEW.id WHERE NEW.id IS NOT OLD.id;
END;
CREATE TRIGGER decision_changes_contact_gone AFTER DELETE ON contacts
BEGIN INSERT INTO decision_changes (contact_id) VALUES (OLD.id); END;

-- An address or number that moves or goes away changes whom it finds. (A new one finds its
-- contact for the first time: nothing remembered can be stale.)
CREATE TRIGGER decision_changes_email_moved AFTER UPDATE ON contact_emails
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id);
    INSERT INTO decision_changes (contact_id) VALUES (NEW.contact_id);
END;
CREATE TRIGGER decision_changes_email_gone AFTER DELETE ON contact_emails
BEGIN INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id); END;
CREATE TRIGGER decision_changes_phone_moved AFTER UPDATE ON contact_phones
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id);
    INSERT INTO decision_changes (contact_id) VALUES (NEW.contact_id);
END;
CREATE TRIGGER decision_changes_phone_gone AFTER DELETE ON contact_phones
BEGIN INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id); END;

-- The current state of a consent (kept by the ledger's own trigger).
CREATE TRIGGER decision_changes_state_new AFTER INSERT ON consent_state
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NEW.contact_id); END;
CREATE TRIGGER decision_changes_state AFTER UPDATE ON consent_state
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id);
    INSERT INTO decision_changes (contact_id) SELECT NEW.contact_id WHERE NEW.contact_id IS NOT OLD.contact_id;
END;
CREATE TRIGGER decision_changes_state_gone AFTER DELETE ON consent_state
BEGIN INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id); END;

-- What every decision reads: everything is forgotten.
CREATE TRIGGER decision_changes_settings AFTER UPDATE ON settings
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NULL); END;
CREATE TRIGGER decision_changes_type_new AFTER INSERT ON consent_types
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NULL); END;
CREATE TRIGGER decision_changes_type AFTER UPDATE ON consent_types
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NULL); END;
CREATE TRIGGER decision_changes_type_gone AFTER DELETE ON consent_types
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NULL); END;
CREATE TRIGGER decision_changes_suppressed AFTER INSERT ON suppression
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NULL); END;
CREATE TRIGGER decision_changes_suppression AFTER UPDATE ON suppression
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NULL); END;
CREATE TRIGGER decision_changes_unsuppressed AFTER DELETE ON suppression
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NULL); END;

-- The log starts from one position, so that a reader always finds where it is.
INSERT INTO decision_changes (seq, contact_id) VALUES (1, NULL);
