-- A new contact is logged in the decision change log too (migration 0035), as on SQLite
-- (sqlite/0036_new_contacts_logged.sql): the newsletter audience kept in memory
-- (audience_index.rs) counts every contact, and a contact created without any consent (counted as
-- "no consent") would otherwise never reach it. A bulk load by COPY logs one row for everyone
-- itself (pgcopy.rs): the WHEN clause keeps this trigger out of its way, as in 0035.
CREATE FUNCTION consento_log_contact_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER decision_changes_contact_new AFTER INSERT ON contacts
    FOR EACH ROW WHEN (current_setting('consento.bulk_load', true) IS DISTINCT FROM 'copy')
    EXECUTE FUNCTION consento_log_contact_new();
