-- The evidence of an event is only ever found by its event: the history joins it by event id,
-- and an erasure reaches a person's evidence through the ledger's index by contact
-- (consent_events_contact), so the index by contact is one more write per event for nothing.
-- Keep in step with sqlite/0018_evidence.sql (which also drops the table's rowid).
DROP INDEX consent_evidence_contact;
