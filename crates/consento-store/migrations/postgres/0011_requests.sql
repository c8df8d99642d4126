-- Data-subject requests (GDPR Arts. 15-22) with their Art. 12(3) deadlines, and the history of
-- each request. PostgreSQL. Keep in step with sqlite/0011_requests.sql.

-- A request. Dates of deadlines are civil days as 'YYYY-MM-DD' text (sorts as dates, the same on
-- both backends); instants are microseconds. contact_id may be NULL: a request may arrive before
-- the person is identified. handled_by_* is who last changed it (an operator or an API token).
CREATE TABLE requests (
    id UUID PRIMARY KEY,
    contact_id UUID REFERENCES contacts (id),
    kind TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'restriction', 'portability', 'objection', 'human_review', 'information')),
    status TEXT NOT NULL CHECK (status IN ('received', 'identity_verification', 'in_progress', 'completed', 'rejected')),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'letter', 'phone', 'form', 'in_person')),
    description TEXT NOT NULL DEFAULT '',
    received_at BIGINT NOT NULL,
    due_on TEXT NOT NULL,
    extended_due_on TEXT,
    extension_reason TEXT,
    -- The deadline in force: extended_due_on when extended, else due_on (kept for the index).
    deadline TEXT NOT NULL,
    handled_by_kind TEXT NOT NULL,
    handled_by_id TEXT NOT NULL,
    closed_at BIGINT,
    outcome TEXT,
    rejection_reason TEXT,
    remedies TEXT,
    CHECK (status <> 'rejected' OR (rejection_reason IS NOT NULL AND remedies IS NOT NULL))
);
CREATE INDEX requests_deadline ON requests (deadline, id);
CREATE INDEX requests_contact ON requests (contact_id);

-- Every change of a request's status or deadline: who, when, from, to, note. Append-only.
CREATE TABLE request_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id UUID NOT NULL REFERENCES requests (id),
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX request_events_request ON request_events (request_id, seq);
CREATE TRIGGER request_events_fixed BEFORE UPDATE OR DELETE ON request_events
    FOR EACH ROW EXECUTE FUNCTION consento_refuse_change();
CREATE TRIGGER request_events_no_truncate BEFORE TRUNCATE ON request_events
    FOR EACH STATEMENT EXECUTE FUNCTION consento_refuse_change();
