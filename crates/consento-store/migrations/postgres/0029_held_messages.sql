-- Messages held until someone gives a reason, PostgreSQL. Keep in step with sqlite/0029_held_messages.sql.
-- An email to a contact that needs a justification (rule 7 of the decision) and came without one
-- waits in its mail system (Postfix's hold queue, told by the policy service; or Consento's
-- relay) until an operator picks a reason (released: the justified contact is recorded in the
-- same transaction), drops it, or its hold runs out (dropped). One row per held recipient;
-- the rows of one message share its source and queue id.
--
-- The queue id may come later than the hold: Postfix names a message only once its first
-- recipient is accepted, so the policy service learns it from a later request of the same SMTP
-- transaction (`transaction_ref`, Postfix's `instance`). The sender is told (an email in the
-- outbox, `notified_at`) once the message is known to exist, by its queue id.
--
-- `handoff` is what the mail system must still be told: release the message (once none of its
-- recipients is held any more) or remove it; the policy service's worker tells Postfix
-- (`postsuper -H`, `postsuper -d`) under a lease and records when it is done.
--
-- The addresses are personal data (GDPR Art. 4(1)): an erasure blanks the recipient's.
CREATE TABLE held_messages (
    id UUID PRIMARY KEY,
    source TEXT NOT NULL CHECK (source IN ('postfix', 'relay')),
    queue_id TEXT,
    transaction_ref TEXT,
    sender TEXT NOT NULL,
    sender_locale TEXT NOT NULL,
    recipient TEXT NOT NULL,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    action TEXT NOT NULL,
    rule TEXT NOT NULL,
    held_at BIGINT NOT NULL,
    hold_until BIGINT NOT NULL,
    notified_at BIGINT,
    status TEXT NOT NULL CHECK (status IN ('held', 'released', 'dropped')),
    released_at BIGINT,
    reason_id UUID REFERENCES contact_reasons (id),
    interaction_id UUID,
    operator TEXT,
    dropped_at BIGINT,
    drop_cause TEXT CHECK (drop_cause IN ('operator', 'expired', 'erased')),
    handoff TEXT CHECK (handoff IN ('release', 'drop')),
    handoff_lease_until BIGINT,
    handoff_attempts BIGINT NOT NULL DEFAULT 0,
    handoff_error TEXT,
    handoff_done_at BIGINT,
    CHECK (status <> 'released' OR released_at IS NOT NULL),
    CHECK (status <> 'dropped' OR (dropped_at IS NOT NULL AND drop_cause IS NOT NULL))
);
-- The console's list and the expiry (held ones by end of hold), a message's recipients, a
-- transaction's holds waiting for their queue id, a contact's (erasure), the handoffs to do.
CREATE INDEX held_messages_status ON held_messages (status, hold_until);
CREATE INDEX held_messages_queue ON held_messages (source, queue_id);
CREATE INDEX held_messages_transaction ON held_messages (source, transaction_ref);
CREATE INDEX held_messages_contact ON held_messages (contact_id);
CREATE INDEX held_messages_handoff ON held_messages (source, handoff_lease_until) WHERE handoff IS NOT NULL AND handoff_done_at IS NULL;
