-- The facts a call at the ring reads join the decision change log (migration 0017), SQLite: each
-- process remembers them with the contact they are about, and forgets them when a change is
-- logged here. Keep in step with postgres/0031_ring_changes.sql (nothing to create there).
--
-- What the ring reads of a contact: besides what the decision reads, its primary number (the one
-- called when the dialer names none) and its customer relationship (migration 0028). SQLite
-- cannot alter a trigger: it is created again with these columns added.
DROP TRIGGER decision_changes_contact;
CREATE TRIGGER decision_changes_contact AFTER UPDATE OF
    id, external_id, email_hash, phone_hash, restricted_at, objected_at, erased_at,
    email_off_at, phone_off_at, sms_off_at, phone, customer_contract, customer_until ON contacts
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (OLD.id);
    INSERT INTO decision_changes (contact_id) SELECT NEW.id WHERE NEW.id IS NOT OLD.id;
END;

-- The register's latest answer about a number, its directory listing and its calls are kept by
-- number: the contact that has the number is logged (a number belongs to one contact at most,
-- and a contact's primary number is one of its numbers). A number no contact has logs nothing:
-- no decision reads it until a contact gets it, which changes the contact.
CREATE TRIGGER decision_changes_rpo_new AFTER INSERT ON rpo_numbers
BEGIN
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = NEW.phone;
END;
CREATE TRIGGER decision_changes_rpo AFTER UPDATE ON rpo_numbers
BEGIN
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = OLD.phone;
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = NEW.phone AND NEW.phone IS NOT OLD.phone;
END;
CREATE TRIGGER decision_changes_rpo_gone AFTER DELETE ON rpo_numbers
BEGIN
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = OLD.phone;
END;

CREATE TRIGGER decision_changes_directory_new AFTER INSERT ON phone_directory
BEGIN
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = NEW.phone;
END;
CREATE TRIGGER decision_changes_directory AFTER UPDATE ON phone_directory
BEGIN
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = OLD.phone;
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = NEW.phone AND NEW.phone IS NOT OLD.phone;
END;
CREATE TRIGGER decision_changes_directory_gone AFTER DELETE ON phone_directory
BEGIN
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = OLD.phone;
END;

-- A call's outcome: a silent call starts the number's cooldown, and a call that reached the
-- person uses up the call they asked for. Both are read by number, so the number's contact is
-- logged, and the call's own contact too (the same one unless the number moved since). An
-- erasure blanks the number of its calls: the erased contact is logged.
CREATE TRIGGER decision_changes_call_new AFTER INSERT ON call_outcomes
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (NEW.contact_id);
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = NEW.phone AND contact_id IS NOT NEW.contact_id;
END;
CREATE TRIGGER decision_changes_call AFTER UPDATE ON call_outcomes
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id);
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones WHERE phone = OLD.phone AND contact_id IS NOT OLD.contact_id;
END;

-- A call the person asked for, kept by contact (append-only; an erasure removes them).
CREATE TRIGGER decision_changes_request_new AFTER INSERT ON call_requests
BEGIN INSERT INTO decision_changes (contact_id) VALUES (NEW.contact_id); END;
CREATE TRIGGER decision_changes_request_gone AFTER DELETE ON call_requests
BEGIN INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id); END;
