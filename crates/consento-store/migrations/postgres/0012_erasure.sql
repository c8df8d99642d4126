-- Erasure (GDPR Art. 17), PostgreSQL. Keep in step with sqlite/0012_erasure.sql.
-- The history of a request stays append-only, but its note is free text that may name the
-- person: erasure may blank it (as it blanks an audit entry's detail), nothing else may change.
CREATE FUNCTION consento_request_events_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq IS DISTINCT FROM OLD.seq OR NEW.request_id IS DISTINCT FROM OLD.request_id
        OR NEW.at IS DISTINCT FROM OLD.at OR NEW.actor_kind IS DISTINCT FROM OLD.actor_kind
        OR NEW.actor_id IS DISTINCT FROM OLD.actor_id OR NEW.from_status IS DISTINCT FROM OLD.from_status
        OR NEW.to_status IS DISTINCT FROM OLD.to_status THEN
        RAISE EXCEPTION 'the request history is append-only';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER request_events_fixed ON request_events;
CREATE TRIGGER request_events_fixed BEFORE UPDATE OR DELETE ON request_events
    FOR EACH ROW EXECUTE FUNCTION consento_request_events_fixed();
