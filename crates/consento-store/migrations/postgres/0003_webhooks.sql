-- Webhooks (Standard Webhooks, https://www.standardwebhooks.com/), PostgreSQL. Keep in step with
-- sqlite/0003_webhooks.sql (the comments there explain each table). Number 0002 is another
-- change's; the runner applies each listed version on its own, so a gap is harmless.
--
-- The outbox is filled by triggers, in the same transaction as the change (DESIGN.md §4). The
-- ledger's own triggers are untouched: these are AFTER triggers that only read the new row.

CREATE TABLE webhook_subscriptions (
    id UUID PRIMARY KEY,
    url TEXT NOT NULL,
    -- `whsec_` + base64 of 32 random bytes (Standard Webhooks, "Signature scheme", symmetric).
    -- Stored as is, not hashed: HMAC signing needs the key itself at every delivery.
    secret TEXT NOT NULL,
    description TEXT,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE webhook_subscription_kinds (
    event_type TEXT NOT NULL CHECK (event_type IN ('consent.given', 'consent.withdrawn',
        'consent.refused', 'consent.expired', 'contact.restricted', 'contact.objected',
        'contact.erased')),
    subscription_id UUID NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    PRIMARY KEY (event_type, subscription_id)
);
CREATE INDEX webhook_subscription_kinds_subscription ON webhook_subscription_kinds (subscription_id);

CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    subscription_id UUID NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    delivered_at BIGINT,
    last_error TEXT,
    dead_at BIGINT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX webhook_outbox_subscription ON webhook_outbox (subscription_id);
-- Dead messages are few: the metric counting them reads this, not the table.
CREATE INDEX webhook_outbox_dead ON webhook_outbox (dead_at) WHERE dead_at IS NOT NULL;

CREATE TABLE consent_expiry_announcements (
    contact_id UUID NOT NULL REFERENCES contacts (id),
    consent_type_id UUID NOT NULL REFERENCES consent_types (id),
    valid_until BIGINT NOT NULL,
    announced_at BIGINT NOT NULL,
    PRIMARY KEY (contact_id, consent_type_id, valid_until)
);
CREATE INDEX consent_expiry_announcements_until ON consent_expiry_announcements (valid_until);

-- An instant (integer microseconds) as RFC 3339 UTC with microseconds: the same text as the
-- SQLite triggers' strftime/printf and the store's Rust formatting.
CREATE FUNCTION consento_rfc3339(micros BIGINT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(to_timestamp(micros / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || '.' || lpad((micros % 1000000)::text, 6, '0') || 'Z'
$$;

-- One message per active subscription that wants `p_type`. `p_prefix` names the event
-- (msg_<instant>_<source>_<what>); the subscription's id completes the webhook-id. A repeated
-- identical message (same id) is dropped rather than failing the change.
CREATE FUNCTION consento_webhook_fanout(p_type TEXT, p_prefix TEXT, p_at BIGINT, p_data JSON,
    p_created BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO webhook_outbox (id, subscription_id, event_type, payload, created_at, attempts, next_attempt_at)
    SELECT p_prefix || '_' || replace(s.id::text, '-', ''), s.id, p_type,
        json_build_object('type', p_type, 'timestamp', consento_rfc3339(p_at), 'data', p_data)::text,
        p_created, 0, p_created
    FROM webhook_subscription_kinds k
    JOIN webhook_subscriptions s ON s.id = k.subscription_id
    WHERE k.event_type = p_type AND s.active
    ON CONFLICT (id) DO NOTHING
$$;

-- Whether any active subscription wants `p_type`: the contact trigger builds no payload otherwise.
CREATE FUNCTION consento_webhook_wanted(p_type TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM webhook_subscription_kinds k
        JOIN webhook_subscriptions s ON s.id = k.subscription_id
        WHERE k.event_type = p_type AND s.active)
$$;

-- consent.given (given, renewed), consent.withdrawn (withdrawn, revoked), consent.refused. A
-- statement trigger over the inserted rows (a transition table): a bulk load of many events pays
-- one set-based fan-out per statement, not one function call per event.
CREATE FUNCTION consento_consent_event_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_outbox (id, subscription_id, event_type, payload, created_at, attempts, next_attempt_at)
    SELECT
        'msg_' || lpad(to_hex(e.recorded_at), 16, '0') || '_' || replace(e.id::text, '-', '') || '_' || e.kind
            || '_' || replace(s.id::text, '-', ''),
        s.id,
        k.event_type,
        json_build_object(
            'type', k.event_type,
            'timestamp', consento_rfc3339(e.recorded_at),
            'data', json_build_object(
                'event_id', e.id,
                'contact_id', e.contact_id,
                'external_id', c.external_id,
                'consent_type', e.type_code,
                'kind', e.kind,
                'event_time', consento_rfc3339(e.event_time),
                'recorded_at', consento_rfc3339(e.recorded_at),
                'expires_at', CASE WHEN e.kind IN ('given', 'renewed') AND e.validity_days IS NOT NULL
                    THEN consento_rfc3339(e.event_time + e.validity_days * 86400000000) END
            )
        )::text,
        e.recorded_at,
        0,
        e.recorded_at
    FROM new_events e
    JOIN webhook_subscription_kinds k ON k.event_type = CASE
            WHEN e.kind IN ('given', 'renewed') THEN 'consent.given'
            WHEN e.kind IN ('withdrawn', 'revoked') THEN 'consent.withdrawn'
            ELSE 'consent.refused' END
    JOIN webhook_subscriptions s ON s.id = k.subscription_id AND s.active
    LEFT JOIN contacts c ON c.id = e.contact_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER consent_events_webhooks AFTER INSERT ON consent_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION consento_consent_event_webhooks();

-- contact.restricted (GDPR Art. 18), contact.objected (Art. 21), contact.erased (Art. 17), when
-- the flag goes from unset to set (Art. 19: recipients are told of restrictions and erasures).
-- The external id is the one before the change, so an erasure that clears it still names the
-- CRM's record.
CREATE FUNCTION consento_contact_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    change RECORD;
BEGIN
    FOR change IN
        SELECT * FROM (VALUES
            ('contact.restricted', 'restricted', NEW.restricted_at, OLD.restricted_at IS NULL AND NEW.restricted_at IS NOT NULL),
            ('contact.objected', 'objected', NEW.objected_at, OLD.objected_at IS NULL AND NEW.objected_at IS NOT NULL),
            ('contact.erased', 'erased', NEW.erased_at, OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL)
        ) AS v (event_type, what, instant, fired)
        WHERE v.fired
    LOOP
        IF consento_webhook_wanted(change.event_type) THEN
            PERFORM consento_webhook_fanout(
                change.event_type,
                'msg_' || lpad(to_hex(change.instant), 16, '0') || '_' || replace(NEW.id::text, '-', '')
                    || '_' || change.what,
                change.instant,
                json_build_object(
                    'contact_id', NEW.id,
                    'external_id', COALESCE(OLD.external_id, NEW.external_id),
                    'occurred_at', consento_rfc3339(change.instant)
                ),
                NEW.updated_at);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER contacts_webhooks AFTER UPDATE OF restricted_at, objected_at, erased_at ON contacts
    FOR EACH ROW
    WHEN ((OLD.restricted_at IS NULL AND NEW.restricted_at IS NOT NULL)
        OR (OLD.objected_at IS NULL AND NEW.objected_at IS NOT NULL)
        OR (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL))
    EXECUTE FUNCTION consento_contact_webhooks();
