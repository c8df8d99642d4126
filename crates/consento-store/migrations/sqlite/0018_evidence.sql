-- The evidence of an event is only ever found by its event: the history joins it by event id,
-- and an erasure reaches a person's evidence through the ledger's index by contact
-- (consent_events_contact). Keyed by event id alone, without a rowid of its own and without an
-- index by contact, each piece of evidence is one b-tree insert instead of three, which is what
-- an import of millions of events pays per row. Keep in step with postgres/0018_evidence.sql.
CREATE TABLE consent_evidence_by_event (
    event_id BLOB PRIMARY KEY REFERENCES consent_events (id),
    contact_id BLOB NOT NULL,
    salt BLOB NOT NULL,
    content TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO consent_evidence_by_event (event_id, contact_id, salt, content)
    SELECT event_id, contact_id, salt, content FROM consent_evidence;
DROP TABLE consent_evidence;
ALTER TABLE consent_evidence_by_event RENAME TO consent_evidence;
