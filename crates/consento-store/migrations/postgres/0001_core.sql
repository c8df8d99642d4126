-- Consento core schema, PostgreSQL. Timestamps are integer microseconds since the epoch (UTC), bound
-- from Rust; ids are UUIDv7 (uuid). Keep in step with sqlite/0001_core.sql.

CREATE TABLE instance (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    suppression_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- The seed's three switches ("impostazioni della privacy") plus SMS; all on by default.
CREATE TABLE settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    check_email_single BOOLEAN NOT NULL,
    check_email_bulk BOOLEAN NOT NULL,
    check_phone BOOLEAN NOT NULL,
    check_sms BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO settings VALUES (1, TRUE, TRUE, TRUE, TRUE, 0);

CREATE TABLE contact_reasons (
    id UUID PRIMARY KEY,
    label TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL,
    marketing BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE consent_types (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT,
    validity_days BIGINT CHECK (validity_days IS NULL OR validity_days BETWEEN 1 AND 36500),
    allow_email_bulk BOOLEAN NOT NULL,
    allow_email_single BOOLEAN NOT NULL,
    allow_phone_call BOOLEAN NOT NULL,
    allow_sms_single BOOLEAN NOT NULL,
    allow_sms_bulk BOOLEAN NOT NULL,
    show_in_preference_center BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A notice a person was shown is proof: published once, never changed.
CREATE TABLE privacy_notices (
    id UUID PRIMARY KEY,
    version TEXT NOT NULL UNIQUE,
    language TEXT NOT NULL,
    url TEXT,
    body TEXT,
    content_sha256 BYTEA NOT NULL,
    published_at BIGINT NOT NULL
);

-- email/phone hold the primary address and number (the ones a newsletter or campaign uses);
-- contact_emails/contact_phones hold every one, for lookups and uniqueness.
CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    external_id TEXT UNIQUE,
    name TEXT,
    email TEXT,
    email_hash BYTEA,
    phone TEXT,
    phone_hash BYTEA,
    attributes TEXT NOT NULL,
    source TEXT,
    legal_basis TEXT,
    purposes TEXT NOT NULL,
    restricted_at BIGINT,
    objected_at BIGINT,
    erased_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE contact_emails (
    email TEXT PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    position BIGINT NOT NULL
);
CREATE INDEX contact_emails_contact ON contact_emails (contact_id);

CREATE TABLE contact_phones (
    phone TEXT PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    position BIGINT NOT NULL
);
CREATE INDEX contact_phones_contact ON contact_phones (contact_id);

-- The last position and hash of the ledger: checked and moved by compare-and-set by the trigger
-- on consent_events at every append, and compared by `ledger verify` with the last event, which
-- catches events removed from the end.
CREATE TABLE ledger_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- The consent ledger: append-only, hash-chained, no plain personal data (DESIGN.md §3).
CREATE TABLE consent_events (
    seq BIGINT PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    consent_type_id UUID NOT NULL REFERENCES consent_types (id),
    type_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('given', 'refused', 'withdrawn', 'renewed', 'revoked')),
    event_time BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    method TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    notice_id UUID REFERENCES privacy_notices (id),
    validity_days BIGINT,
    evidence_digest BYTEA,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    CHECK (event_time <= recorded_at)
);
CREATE INDEX consent_events_contact ON consent_events (contact_id, consent_type_id, event_time);

-- Evidence may hold personal data: kept apart with its salt, erasable (the ledger keeps a digest).
CREATE TABLE consent_evidence (
    event_id UUID PRIMARY KEY REFERENCES consent_events (id),
    contact_id UUID NOT NULL,
    salt BYTEA NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX consent_evidence_contact ON consent_evidence (contact_id);

-- The current state of each consent: the latest event by event time, then by position. The
-- database keeps it from each inserted event, in the same transaction, so it
-- can never disagree with the ledger. valid_until is the first instant the consent is no longer
-- valid (9223372036854775807 = never), so the audience is one index range scan.
CREATE TABLE consent_state (
    contact_id UUID NOT NULL REFERENCES contacts (id),
    consent_type_id UUID NOT NULL REFERENCES consent_types (id),
    kind TEXT NOT NULL,
    granted BOOLEAN NOT NULL,
    event_seq BIGINT NOT NULL,
    event_time BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    PRIMARY KEY (contact_id, consent_type_id)
);
CREATE INDEX consent_state_audience ON consent_state (consent_type_id, granted, valid_until, contact_id);
-- Justified contacts: the reason an operator gave for reaching someone without a valid consent.
CREATE TABLE interactions (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    cause TEXT,
    reason_id UUID REFERENCES contact_reasons (id),
    note TEXT,
    operator TEXT NOT NULL,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX interactions_contact ON interactions (contact_id, occurred_at);

-- Keyed hashes (HMAC-SHA-256) of normalised addresses and numbers that must never be reached
-- by a bulk send again, even when a CRM sync re-imports them.
CREATE TABLE suppression (
    hash BYTEA PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'phone')),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Append-only by construction: the database itself refuses to change or remove proof.
CREATE FUNCTION consento_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION consento_refuse_change();
CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events
    FOR EACH STATEMENT EXECUTE FUNCTION consento_refuse_change();
CREATE TRIGGER privacy_notices_append_only BEFORE UPDATE OR DELETE ON privacy_notices
    FOR EACH ROW EXECUTE FUNCTION consento_refuse_change();
CREATE TRIGGER privacy_notices_no_truncate BEFORE TRUNCATE ON privacy_notices
    FOR EACH STATEMENT EXECUTE FUNCTION consento_refuse_change();

-- Every append must extend the chain from the current head, carry the code and validity its type
-- has now, and be for a contact that was not erased. The head moves by compare-and-set: its row
-- lock serialises appends from every process, and an append built on an older head finds no row
-- to update and is refused, so its writer retries afresh. (In a BEFORE trigger, because AFTER ROW
-- triggers run only at the end of a multi-row INSERT, too late for the next row's check.)
CREATE FUNCTION consento_chain_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A bulk load holds the head's row lock for its whole transaction, chains its events itself
    -- and moves the head once at the end: updating one row once per event would add a row
    -- version per event that each next update walks past (quadratic in the batch).
    IF current_setting('consento.bulk_load', true) IS DISTINCT FROM 'on' THEN
        UPDATE ledger_head SET seq = NEW.seq, hash = NEW.hash
        WHERE id = 1 AND seq = NEW.seq - 1 AND hash = NEW.prev_hash;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'consento: stale ledger head' USING ERRCODE = 'serialization_failure';
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM consent_types WHERE id = NEW.consent_type_id AND code = NEW.type_code
                   AND validity_days IS NOT DISTINCT FROM NEW.validity_days) THEN
        RAISE EXCEPTION 'consento: stale consent type' USING ERRCODE = 'serialization_failure';
    END IF;
    IF EXISTS (SELECT 1 FROM contacts WHERE id = NEW.contact_id AND erased_at IS NOT NULL) THEN
        RAISE EXCEPTION 'consento: contact erased' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consent_events_chain BEFORE INSERT ON consent_events
    FOR EACH ROW EXECUTE FUNCTION consento_chain_event();

-- Keeps the current consent state from each inserted event (see consent_state).
CREATE FUNCTION consento_project_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consent_state (contact_id, consent_type_id, kind, granted, event_seq, event_time, valid_until)
    VALUES (
        NEW.contact_id, NEW.consent_type_id, NEW.kind, NEW.kind IN ('given', 'renewed'), NEW.seq, NEW.event_time,
        CASE WHEN NEW.kind IN ('given', 'renewed')
            THEN COALESCE(NEW.event_time + NEW.validity_days * 86400000000, 9223372036854775807)
            ELSE NEW.event_time END
    )
    ON CONFLICT (contact_id, consent_type_id) DO UPDATE SET
        kind = excluded.kind, granted = excluded.granted, event_seq = excluded.event_seq,
        event_time = excluded.event_time, valid_until = excluded.valid_until
    WHERE excluded.event_time >= consent_state.event_time;
    RETURN NULL;
END
$$;
CREATE TRIGGER consent_events_project AFTER INSERT ON consent_events
    FOR EACH ROW EXECUTE FUNCTION consento_project_event();
