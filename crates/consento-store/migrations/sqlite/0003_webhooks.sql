-- Webhooks (Standard Webhooks, https://www.standardwebhooks.com/), SQLite. Keep in step with
-- postgres/0003_webhooks.sql. Number 0002 is another change's; the runner applies each listed
-- version on its own, so a gap is harmless.
--
-- The outbox is filled by triggers, so a message exists exactly when the change that it announces
-- was committed: it is written in the same transaction, by construction (DESIGN.md §4), and a
-- rolled-back change leaves no message behind. The ledger's own triggers are untouched.

CREATE TABLE webhook_subscriptions (
    id BLOB PRIMARY KEY,
    url TEXT NOT NULL,
    -- `whsec_` + base64 of 32 random bytes (Standard Webhooks, "Signature scheme", symmetric).
    -- Stored as is, not hashed: HMAC signing needs the key itself at every delivery.
    secret TEXT NOT NULL,
    description TEXT,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The event types a subscription wants; keyed by type first, so a trigger's fan-out is one index
-- range per event.
CREATE TABLE webhook_subscription_kinds (
    event_type TEXT NOT NULL CHECK (event_type IN ('consent.given', 'consent.withdrawn',
        'consent.refused', 'consent.expired', 'contact.restricted', 'contact.objected',
        'contact.erased')),
    subscription_id BLOB NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    PRIMARY KEY (event_type, subscription_id)
) WITHOUT ROWID;
CREATE INDEX webhook_subscription_kinds_subscription ON webhook_subscription_kinds (subscription_id);

-- One message per (event, subscription). `id` is the `webhook-id` header: deterministic from the
-- event and the subscription, so it stays the same across retries and a receiver can use it to
-- drop duplicates (Standard Webhooks, "Webhook metadata"); with no `.` in it ("Signature
-- scheme"): msg_<instant, 16 hex>_<source id, 32 hex>_<what>_<subscription id, 32 hex>, sortable
-- by instant. The payload holds ids, the external id, the consent type code, kinds and instants;
-- never names, emails or phone numbers. last_error is a short code (`http_500`, `timeout`),
-- never a response body.
CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    subscription_id BLOB NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
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

-- Each expiry of a consent announced once (consent.expired). A renewal gives a new valid_until,
-- which can expire and be announced again.
CREATE TABLE consent_expiry_announcements (
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    consent_type_id BLOB NOT NULL REFERENCES consent_types (id),
    valid_until BIGINT NOT NULL,
    announced_at BIGINT NOT NULL,
    PRIMARY KEY (contact_id, consent_type_id, valid_until)
) WITHOUT ROWID;
CREATE INDEX consent_expiry_announcements_until ON consent_expiry_announcements (valid_until);

-- consent.given (given, renewed), consent.withdrawn (withdrawn, revoked), consent.refused, to
-- every active subscription that wants the type. Instants in the payload are RFC 3339 UTC with
-- microseconds, the same text as PostgreSQL's consento_rfc3339; ids are hyphenated UUIDs.
CREATE TRIGGER consent_events_webhooks AFTER INSERT ON consent_events
BEGIN
    INSERT INTO webhook_outbox (id, subscription_id, event_type, payload, created_at, attempts, next_attempt_at)
    SELECT
        'msg_' || printf('%016x', NEW.recorded_at) || '_' || lower(hex(NEW.id)) || '_' || NEW.kind
            || '_' || lower(hex(s.id)),
        s.id,
        k.event_type,
        json_object(
            'type', k.event_type,
            'timestamp', strftime('%Y-%m-%dT%H:%M:%S', NEW.recorded_at / 1000000, 'unixepoch')
                || printf('.%06dZ', NEW.recorded_at % 1000000),
            'data', json_object(
                'event_id', lower(substr(hex(NEW.id), 1, 8) || '-' || substr(hex(NEW.id), 9, 4) || '-'
                    || substr(hex(NEW.id), 13, 4) || '-' || substr(hex(NEW.id), 17, 4) || '-'
                    || substr(hex(NEW.id), 21, 12)),
                'contact_id', lower(substr(hex(NEW.contact_id), 1, 8) || '-' || substr(hex(NEW.contact_id), 9, 4)
                    || '-' || substr(hex(NEW.contact_id), 13, 4) || '-' || substr(hex(NEW.contact_id), 17, 4)
                    || '-' || substr(hex(NEW.contact_id), 21, 12)),
                'external_id', (SELECT external_id FROM contacts WHERE id = NEW.contact_id),
                'consent_type', NEW.type_code,
                'kind', NEW.kind,
                'event_time', strftime('%Y-%m-%dT%H:%M:%S', NEW.event_time / 1000000, 'unixepoch')
                    || printf('.%06dZ', NEW.event_time % 1000000),
                'recorded_at', strftime('%Y-%m-%dT%H:%M:%S', NEW.recorded_at / 1000000, 'unixepoch')
                    || printf('.%06dZ', NEW.recorded_at % 1000000),
                'expires_at', CASE WHEN NEW.kind IN ('given', 'renewed') AND NEW.validity_days IS NOT NULL
                    THEN strftime('%Y-%m-%dT%H:%M:%S', (NEW.event_time + NEW.validity_days * 86400000000) / 1000000, 'unixepoch')
                        || printf('.%06dZ', (NEW.event_time + NEW.validity_days * 86400000000) % 1000000)
                    END
            )
        ),
        NEW.recorded_at,
        0,
        NEW.recorded_at
    FROM webhook_subscription_kinds k
    JOIN webhook_subscriptions s ON s.id = k.subscription_id
    WHERE k.event_type = CASE
            WHEN NEW.kind IN ('given', 'renewed') THEN 'consent.given'
            WHEN NEW.kind IN ('withdrawn', 'revoked') THEN 'consent.withdrawn'
            ELSE 'consent.refused' END
        AND s.active;
END;

-- contact.restricted (GDPR Art. 18), contact.objected (Art. 21), contact.erased (Art. 17) when
-- the flag goes from unset to set: the recipients the CRM shares data with must be told of a
-- restriction or an erasure (Art. 19). The external id is the one before the change, so that an
-- erasure which also clears it still names the CRM's record. Setting a flag, lifting it and
-- setting it again within one microsecond would repeat an identical message: the second is
-- dropped (ON CONFLICT), and the change itself never fails because of a webhook.
CREATE TRIGGER contacts_webhooks AFTER UPDATE OF restricted_at, objected_at, erased_at ON contacts
WHEN (OLD.restricted_at IS NULL AND NEW.restricted_at IS NOT NULL)
    OR (OLD.objected_at IS NULL AND NEW.objected_at IS NOT NULL)
    OR (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL)
BEGIN
    INSERT INTO webhook_outbox (id, subscription_id, event_type, payload, created_at, attempts, next_attempt_at)
    SELECT
        'msg_' || printf('%016x', c.at) || '_' || lower(hex(NEW.id)) || '_' || c.what || '_' || lower(hex(s.id)),
        s.id,
        k.event_type,
        json_object(
            'type', k.event_type,
            'timestamp', strftime('%Y-%m-%dT%H:%M:%S', c.at / 1000000, 'unixepoch') || printf('.%06dZ', c.at % 1000000),
            'data', json_object(
                'contact_id', lower(substr(hex(NEW.id), 1, 8) || '-' || substr(hex(NEW.id), 9, 4) || '-'
                    || substr(hex(NEW.id), 13, 4) || '-' || substr(hex(NEW.id), 17, 4) || '-'
                    || substr(hex(NEW.id), 21, 12)),
                'external_id', COALESCE(OLD.external_id, NEW.external_id),
                'occurred_at', strftime('%Y-%m-%dT%H:%M:%S', c.at / 1000000, 'unixepoch') || printf('.%06dZ', c.at % 1000000)
            )
        ),
        NEW.updated_at,
        0,
        NEW.updated_at
    FROM (
        SELECT 'contact.restricted' AS event_type, 'restricted' AS what, NEW.restricted_at AS at
            WHERE OLD.restricted_at IS NULL AND NEW.restricted_at IS NOT NULL
        UNION ALL SELECT 'contact.objected', 'objected', NEW.objected_at
            WHERE OLD.objected_at IS NULL AND NEW.objected_at IS NOT NULL
        UNION ALL SELECT 'contact.erased', 'erased', NEW.erased_at
            WHERE OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL
    ) c
    JOIN webhook_subscription_kinds k ON k.event_type = c.event_type
    JOIN webhook_subscriptions s ON s.id = k.subscription_id
    WHERE s.active
    ON CONFLICT (id) DO NOTHING;
END;
