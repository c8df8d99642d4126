-- Erasure (GDPR Art. 17), SQLite. Keep in step with postgres/0012_erasure.sql.
-- The history of a request stays append-only, but its note is free text that may name the
-- person: erasure may blank it (as it blanks an audit entry's detail), nothing else may change.
DROP TRIGGER request_events_no_update;
CREATE TRIGGER request_events_fixed BEFORE UPDATE OF seq, request_id, at, actor_kind, actor_id, from_status, to_status ON request_events
BEGIN SELECT RAISE(ABORT, 'the request history is append-only'); END;
