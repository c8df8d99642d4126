-- The facts that let a telemarketing call through the opt-out register, PostgreSQL. Keep in
-- step with sqlite/0028_ring_exceptions.sql (L. 5/2018, art. 1; Codice privacy art. 130(3-bis)).
--
-- A contact's customer relationship: a contract in force (`in_force`, no end known) or one that
-- ends or ended at `customer_until` (`until`); our own marketing calls may go to an enrolled
-- number while it is in force and for 30 days after it ended. Recorded with its source (the
-- contract, the CRM record) and who recorded it, when.
ALTER TABLE contacts ADD COLUMN customer_contract TEXT CHECK (customer_contract IN ('in_force', 'until'));
ALTER TABLE contacts ADD COLUMN customer_until BIGINT;
ALTER TABLE contacts ADD COLUMN customer_source TEXT;
ALTER TABLE contacts ADD COLUMN customer_recorded_at BIGINT;
ALTER TABLE contacts ADD COLUMN customer_recorded_by TEXT;

-- Whether a number is in a public directory (elenchi telefonici pubblici), by number: one not
-- enrolled may then be called for marketing without consent, while one in none needs consent.
-- Not listed unless recorded. The register's table kept a flag nobody wrote: it moves here, with
-- its source.
CREATE TABLE phone_directory (
    phone TEXT PRIMARY KEY,
    listed BOOLEAN NOT NULL,
    source TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 500),
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL
);
ALTER TABLE rpo_numbers DROP COLUMN in_public_directory;

-- A one-off call the person asked for: the register does not stand in its way until the first
-- call that reached the person after the request (answered, refused, callback, silent), or until
-- it lapses. Append-only: a request is a fact of when the person asked.
CREATE TABLE call_requests (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    phone TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    source TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 500),
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    CHECK (valid_until > requested_at)
);
CREATE INDEX call_requests_contact ON call_requests (contact_id, requested_at);
CREATE FUNCTION call_requests_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM contacts WHERE id = OLD.contact_id AND erased_at IS NOT NULL) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'call requests are append-only';
END $$;
CREATE TRIGGER call_requests_append_only BEFORE UPDATE OR DELETE ON call_requests
FOR EACH ROW EXECUTE FUNCTION call_requests_append_only();
