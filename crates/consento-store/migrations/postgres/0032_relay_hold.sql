-- The relay holds a copy that needs a justification, PostgreSQL. Keep in step with
-- sqlite/0032_relay_hold.sql.
-- A recipient that needs a justification (rule 7 of the decision) and whose message names no
-- usable reason is accepted and its copy `held`: a `held_messages` row (source `relay`, the
-- relay message's id as its queue id) waits for an operator's reason, named by the copy's
-- `held_id`. Released, the copy is `queued` like any other; dropped (by an operator or when its
-- hold runs out), it is `dropped` and never sent. The body stays sealed while a copy is held.
ALTER TABLE relay_deliveries DROP CONSTRAINT relay_deliveries_status_check;
ALTER TABLE relay_deliveries ADD CONSTRAINT relay_deliveries_status_check
    CHECK (status IN ('queued', 'delivered', 'deferred', 'bounced', 'refused', 'held', 'dropped'));
ALTER TABLE relay_deliveries ADD COLUMN held_id UUID REFERENCES held_messages (id);
CREATE INDEX relay_deliveries_held_id ON relay_deliveries (held_id) WHERE held_id IS NOT NULL;
