-- The evidence of an event, keyed by the event's position in the ledger instead of its id, in a
-- table with a rowid: `event_seq INTEGER PRIMARY KEY` is the rowid itself, so the table is one
-- b+tree whose inner pages hold only positions. Keyed by a 16-byte id in a WITHOUT ROWID table
-- (0018), every inner page held whole rows of salt and text: six levels for two million events
-- instead of three, and a third more pages written. Events are appended in ledger order, so
-- their evidence is appended at the right edge. The contact's id is no longer kept here: the
-- history and an erasure reach the evidence through the ledger (consent_events_contact).
-- Keep in step with postgres/0019_evidence_by_seq.sql.
CREATE TABLE consent_evidence_by_seq (
    event_seq INTEGER PRIMARY KEY REFERENCES consent_events (seq),
    salt BLOB NOT NULL,
    content TEXT NOT NULL
);
INSERT INTO consent_evidence_by_seq (event_seq, salt, content)
    SELECT e.seq, v.salt, v.content FROM consent_evidence v JOIN consent_events e ON e.id = v.event_id
    ORDER BY e.seq;
DROP TABLE consent_evidence;
ALTER TABLE consent_evidence_by_seq RENAME TO consent_evidence;
