-- Consento core schema, SQLite. Timestamps are integer microseconds since the epoch (UTC), bound
-- from Rust; ids are UUIDv7 stored as 16-byte blobs. Keep in step with postgres/0001_core.sql.

CREATE TABLE instance (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    suppression_key BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

-- The seed's three switches ("impostazioni della privacy") plus SMS; all on by default.
CREATE TABLE settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    check_email_single BOOLEAN NOT NULL,
    check_email_bulk BOOLEAN NOT NULL,
    check_phone BOOLEAN NOT NULL,
    check_sms BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO settings VALUES (1, TRUE, TRUE, TRUE, TRUE, 0);

CREATE TABLE contact_reasons (
    id BLOB PRIMARY KEY,
    label TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL,
    marketing BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE consent_types (
    id BLOB PRIMARY KEY,
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
    id BLOB PRIMARY KEY,
    version TEXT NOT NULL UNIQUE,
    language TEXT NOT NULL,
    url TEXT,
    body TEXT,
    content_sha256 BLOB NOT NULL,
    published_at BIGINT NOT NULL
);
CREATE TRIGGER privacy_notices_no_update BEFORE UPDATE ON privacy_notices
BEGIN SELECT RAISE(ABORT, 'privacy notices are immutable: publish a new version'); END;
CREATE TRIGGER privacy_notices_no_delete BEFORE DELETE ON privacy_notices
BEGIN SELECT RAISE(ABORT, 'privacy notices are immutable: publish a new version'); END;

-- email/phone hold the primary address and number (the ones a newsletter or campaign uses);
-- contact_emails/contact_phones hold every one, for lookups and uniqueness.
CREATE TABLE contacts (
    id BLOB PRIMARY KEY,
    external_id TEXT UNIQUE,
    name TEXT,
    email TEXT,
    email_hash BLOB,
    phone TEXT,
    phone_hash BLOB,
    attributes TEXT NOT NULL,
    source TEXT,
    legal_basis TEXT,
    purposes TEXT NOT NULL,
    restricted_at BIGINT,
    objected_at BIGINT,
    erased_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) WITHOUT ROWID;

CREATE TABLE contact_emails (
    email TEXT PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    position BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX contact_emails_contact ON contact_emails (contact_id);

CREATE TABLE contact_phones (
    phone TEXT PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    position BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX contact_phones_contact ON contact_phones (contact_id);

-- The last position and hash of the ledger: checked and moved by the triggers on consent_events at
-- every append (under the write lock), and compared by `ledger verify` with the last event, which
-- catches events removed from the end.
CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, zeroblob(32));

-- The consent ledger: append-only, hash-chained, no plain personal data (DESIGN.md §3). `seq` is
-- INTEGER PRIMARY KEY, SQLite's alias of the rowid: the table is ordered by it with no separate
-- index to maintain at every append.
CREATE TABLE consent_events (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    consent_type_id BLOB NOT NULL REFERENCES consent_types (id),
    type_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('given', 'refused', 'withdrawn', 'renewed', 'revoked')),
    event_time BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    method TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    notice_id BLOB REFERENCES privacy_notices (id),
    validity_days BIGINT,
    evidence_digest BLOB,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    CHECK (event_time <= recorded_at)
);
CREATE INDEX consent_events_contact ON consent_events (contact_id, consent_type_id, event_time);
CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

-- Evidence may hold personal data: kept apart with its salt, erasable (the ledger keeps a digest).
CREATE TABLE consent_evidence (
    event_id BLOB PRIMARY KEY REFERENCES consent_events (id),
    contact_id BLOB NOT NULL,
    salt BLOB NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX consent_evidence_contact ON consent_evidence (contact_id);

-- The current state of each consent: the latest event by event time, then by position. The
-- database keeps it (and the ledger head) from each inserted event, in the same transaction, so it
-- can never disagree with the ledger. valid_until is the first instant the consent is no longer
-- valid (9223372036854775807 = never), so the audience is one index range scan.
CREATE TABLE consent_state (
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    consent_type_id BLOB NOT NULL REFERENCES consent_types (id),
    kind TEXT NOT NULL,
    granted BOOLEAN NOT NULL,
    event_seq BIGINT NOT NULL,
    event_time BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    PRIMARY KEY (contact_id, consent_type_id)
) WITHOUT ROWID;
CREATE INDEX consent_state_audience ON consent_state (consent_type_id, granted, valid_until, contact_id);
-- Every append must extend the chain from the current head, carry the code and validity its type
-- has now, and be for a contact that was not erased: the database refuses anything else, so a
-- writer with a stale view (another process appended, or changed the type) retries afresh.
CREATE TRIGGER consent_events_chain BEFORE INSERT ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consento: stale ledger head')
    WHERE NOT EXISTS (SELECT 1 FROM ledger_head WHERE id = 1 AND seq = NEW.seq - 1 AND hash = NEW.prev_hash);
    SELECT RAISE(ABORT, 'consento: stale consent type')
    WHERE NOT EXISTS (SELECT 1 FROM consent_types WHERE id = NEW.consent_type_id AND code = NEW.type_code AND validity_days IS NEW.validity_days);
    SELECT RAISE(ABORT, 'consento: contact erased')
    WHERE EXISTS (SELECT 1 FROM contacts WHERE id = NEW.contact_id AND erased_at IS NOT NULL);
END;
CREATE TRIGGER consent_events_project AFTER INSERT ON consent_events
BEGIN
    UPDATE ledger_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
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
END;

-- Justified contacts: the reason an operator gave for reaching someone without a valid consent.
CREATE TABLE interactions (
    id BLOB PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    cause TEXT,
    reason_id BLOB REFERENCES contact_reasons (id),
    note TEXT,
    operator TEXT NOT NULL,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX interactions_contact ON interactions (contact_id, occurred_at);

-- Keyed hashes (HMAC-SHA-256) of normalised addresses and numbers that must never be reached
-- by a bulk send again, even when a CRM sync re-imports them.
CREATE TABLE suppression (
    hash BLOB PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'phone')),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
