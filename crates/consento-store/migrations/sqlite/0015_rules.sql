-- Rectification with its actor, and provenance bulk rules. SQLite. Keep in step with
-- postgres/0015_rules.sql.

-- An API token as the actor of an audited action (an integration's rectification, GDPR Art. 16,
-- is attributable like an operator's). Fixed like the other columns of the trail.
ALTER TABLE audit_events ADD COLUMN token_id BLOB REFERENCES api_tokens (id);
DROP TRIGGER audit_events_fixed;
CREATE TRIGGER audit_events_fixed BEFORE UPDATE OF seq, id, at, user_id, token_id, action, target_kind, target_id ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

-- A saved bulk rule: a filter over contacts and the provenance fields to set (JSON, checked by
-- consento_domain::rules before it is written).
CREATE TABLE bulk_rules (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    filter TEXT NOT NULL,
    changes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) WITHOUT ROWID;

-- One application of a rule. The rule's filter and changes are copied, so a later edit or
-- deletion of the rule does not change what the run says it did.
CREATE TABLE rule_runs (
    id BLOB PRIMARY KEY,
    rule_id BLOB NOT NULL,
    rule_name TEXT NOT NULL,
    filter TEXT NOT NULL,
    changes TEXT NOT NULL,
    changed BIGINT NOT NULL,
    applied_at BIGINT NOT NULL,
    user_id BLOB REFERENCES users (id),
    token_id BLOB REFERENCES api_tokens (id),
    reverted_at BIGINT,
    restored BIGINT,
    skipped BIGINT
) WITHOUT ROWID;
CREATE INDEX rule_runs_applied ON rule_runs (applied_at);

-- Per run and contact, the provenance before and after the run: the run can be reverted, and a
-- contact changed since (its values differ from the after values) is left alone.
CREATE TABLE rule_run_changes (
    run_id BLOB NOT NULL REFERENCES rule_runs (id),
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    source_before TEXT,
    legal_basis_before TEXT,
    purposes_before TEXT NOT NULL,
    attributes_before TEXT NOT NULL,
    source_after TEXT,
    legal_basis_after TEXT,
    purposes_after TEXT NOT NULL,
    attributes_after TEXT NOT NULL,
    PRIMARY KEY (run_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX rule_run_changes_contact ON rule_run_changes (contact_id);
