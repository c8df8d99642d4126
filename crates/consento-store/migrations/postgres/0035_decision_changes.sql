-- What changed in what decisions read, PostgreSQL: the log that lets each `consento serve` keep
-- the facts of recent decisions in memory and still never answer from a stale copy, as
-- sqlite/0017 and sqlite/0031 do for SQLite. Keep the two in step: the same tables and columns
-- are watched.
--
-- SQLite's one writer makes its log's positions commit in order, so a reader asks for the rows
-- after the last position it read. PostgreSQL's writers commit in any order, so a row carries
-- the transaction that wrote it instead, and a reader asks for the rows of the transactions that
-- its last snapshot did not see and its new one does (`pg_visible_in_snapshot`, PostgreSQL
-- documentation, "Transaction ID and Snapshot Information Functions"). Every row is written by
-- the triggers below, in the transaction of the change, so it becomes visible exactly when the
-- change does, whoever makes it: this process, another server, the command line, an operator's
-- own SQL. A row without a contact means "forget everything" (settings, consent types, the
-- suppression list, a bulk load).
CREATE TABLE decision_changes (
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    contact_id UUID
);
CREATE INDEX decision_changes_by_xid ON decision_changes (xid);

-- Rows of transactions below `below` may have been pruned: a reader whose last snapshot had
-- transactions below it still running forgets everything instead of reading the log.
CREATE TABLE decision_changes_pruned (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    below xid8 NOT NULL
);
INSERT INTO decision_changes_pruned (below) VALUES ('0');

-- A bulk load writes with the per-row triggers set aside (migration 0034) and logs one row
-- without a contact itself (pgcopy.rs): the WHEN clauses below keep the triggers out of its way.

-- What the decision query and the ring read of a contact.
CREATE FUNCTION consento_log_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (OLD.id);
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
        INSERT INTO decision_changes (contact_id) VALUES (NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER decision_changes_contact AFTER UPDATE OF
    id, external_id, email_hash, phone_hash, restricted_at, objected_at, erased_at,
    email_off_at, phone_off_at, sms_off_at, phone, customer_contract, customer_until ON contacts
    FOR EACH ROW WHEN (current_setting('consento.bulk_load', true) IS DISTINCT FROM 'copy')
    EXECUTE FUNCTION consento_log_contact();
CREATE TRIGGER decision_changes_contact_gone AFTER DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION consento_log_contact();

-- A row naming its contact in `contact_id`: an address or number that moves or goes away (a new
-- one finds its contact for the first time, so nothing remembered can be stale), a current
-- consent state, a call asked for.
CREATE FUNCTION consento_log_contact_of() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO decision_changes (contact_id) VALUES (OLD.contact_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.contact_id IS DISTINCT FROM OLD.contact_id) THEN
        INSERT INTO decision_changes (contact_id) VALUES (NEW.contact_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER decision_changes_email AFTER UPDATE OR DELETE ON contact_emails
    FOR EACH ROW EXECUTE FUNCTION consento_log_contact_of();
CREATE TRIGGER decision_changes_phone AFTER UPDATE OR DELETE ON contact_phones
    FOR EACH ROW EXECUTE FUNCTION consento_log_contact_of();
CREATE TRIGGER decision_changes_state AFTER INSERT OR UPDATE OR DELETE ON consent_state
    FOR EACH ROW WHEN (current_setting('consento.bulk_load', true) IS DISTINCT FROM 'copy')
    EXECUTE FUNCTION consento_log_contact_of();
CREATE TRIGGER decision_changes_request AFTER INSERT OR DELETE ON call_requests
    FOR EACH ROW EXECUTE FUNCTION consento_log_contact_of();

-- The register's latest answer about a number and its directory listing are kept by number: the
-- contact that has the number is logged (a number belongs to one contact at most). A number no
-- contact has logs nothing: no decision reads it until a contact gets it, which changes the
-- contact.
CREATE FUNCTION consento_log_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO decision_changes (contact_id)
            SELECT contact_id FROM contact_phones WHERE phone = OLD.phone;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.phone IS DISTINCT FROM OLD.phone) THEN
        INSERT INTO decision_changes (contact_id)
            SELECT contact_id FROM contact_phones WHERE phone = NEW.phone;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER decision_changes_rpo AFTER INSERT OR UPDATE OR DELETE ON rpo_numbers
    FOR EACH ROW EXECUTE FUNCTION consento_log_number();
CREATE TRIGGER decision_changes_directory AFTER INSERT OR UPDATE OR DELETE ON phone_directory
    FOR EACH ROW EXECUTE FUNCTION consento_log_number();

-- A call's outcome: a silent call starts the number's cooldown, and a call that reached the
-- person uses up the call they asked for. Both are read by number, so the number's contact is
-- logged, and the call's own contact too (the same one unless the number moved since). An
-- erasure blanks the number of its calls: the erased contact is logged.
CREATE FUNCTION consento_log_call() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r call_outcomes;
BEGIN
    IF TG_OP = 'INSERT' THEN r := NEW; ELSE r := OLD; END IF;
    INSERT INTO decision_changes (contact_id) VALUES (r.contact_id);
    INSERT INTO decision_changes (contact_id)
        SELECT contact_id FROM contact_phones
        WHERE phone = r.phone AND contact_id IS DISTINCT FROM r.contact_id;
    RETURN NULL;
END $$;
CREATE TRIGGER decision_changes_call AFTER INSERT OR UPDATE ON call_outcomes
    FOR EACH ROW EXECUTE FUNCTION consento_log_call();

-- What every decision reads: everything is forgotten, once per statement.
CREATE FUNCTION consento_log_everyone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO decision_changes (contact_id) VALUES (NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER decision_changes_settings AFTER UPDATE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION consento_log_everyone();
CREATE TRIGGER decision_changes_types AFTER INSERT OR UPDATE OR DELETE ON consent_types
    FOR EACH STATEMENT EXECUTE FUNCTION consento_log_everyone();
CREATE TRIGGER decision_changes_suppression AFTER INSERT OR UPDATE OR DELETE ON suppression
    FOR EACH STATEMENT EXECUTE FUNCTION consento_log_everyone();
