-- The evidence of an event, keyed by the event's position in the ledger (8 bytes, ascending as
-- events are appended) instead of its id; the contact's id is no longer kept here: the history
-- and an erasure reach the evidence through the ledger (consent_events_contact).
-- Keep in step with sqlite/0019_evidence_by_seq.sql.
ALTER TABLE consent_evidence ADD COLUMN event_seq BIGINT;
UPDATE consent_evidence v SET event_seq = e.seq FROM consent_events e WHERE e.id = v.event_id;
ALTER TABLE consent_evidence DROP COLUMN event_id;
ALTER TABLE consent_evidence DROP COLUMN contact_id;
ALTER TABLE consent_evidence ALTER COLUMN event_seq SET NOT NULL;
ALTER TABLE consent_evidence ADD PRIMARY KEY (event_seq);
ALTER TABLE consent_evidence ADD FOREIGN KEY (event_seq) REFERENCES consent_events (seq);
