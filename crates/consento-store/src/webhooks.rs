//! Webhook subscriptions and their outbox (Standard Webhooks, <https://www.standardwebhooks.com/>):
//! creating, changing and removing subscriptions; announcing consent expiries; and the delivery
//! worker's side of the outbox (claiming due messages under a lease, recording each outcome,
//! counting what is pending and dead).
//!
//! Messages are written by database triggers in the same transaction as the change they announce
//! (migration 0003), so a committed change always has its messages and a rolled-back one never
//! does. Payloads carry ids, the CRM's external id, the consent type code, kinds
//! and instants, never a name, an email address or a phone number (GDPR Art. 5(1)(c), data
//! minimisation: a receiver that needs more asks the API).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use consento_domain::sealed::Slot;
use consento_domain::{DomainError, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::outbox::{NextAttempt, lease_until, skip_locked};
use crate::row::Cols;
use crate::{Backend, Store, StoreError, in_write_tx, on_read_pool};

/// The id of a webhook subscription (UUIDv7, like every other id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubscriptionId(pub Uuid);

impl SubscriptionId {
    /// Parses the hyphenated text form.
    pub fn parse(field: &'static str, text: &str) -> Result<Self, DomainError> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| DomainError::invalid(field, format!("`{text}` is not a UUID")))
    }
}

impl std::fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a webhook announces. The codes are the payload's `type` (Standard Webhooks, "Payload
/// structure": `<group>.<event>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebhookEventType {
    /// A consent was given or renewed (GDPR Art. 7(1)).
    ConsentGiven,
    /// A consent was withdrawn or revoked (Art. 7(3)).
    ConsentWithdrawn,
    /// A consent was refused.
    ConsentRefused,
    /// A consent's validity ran out.
    ConsentExpired,
    /// Processing of a contact was restricted (Art. 18).
    ContactRestricted,
    /// A contact objected to direct marketing (Art. 21).
    ContactObjected,
    /// A contact was erased (Art. 17).
    ContactErased,
}

impl WebhookEventType {
    /// Every event type, in code order.
    pub const ALL: [Self; 7] = [
        Self::ConsentExpired,
        Self::ConsentGiven,
        Self::ConsentRefused,
        Self::ConsentWithdrawn,
        Self::ContactErased,
        Self::ContactObjected,
        Self::ContactRestricted,
    ];

    /// The code, as in payloads and in the API.
    pub fn code(self) -> &'static str {
        match self {
            Self::ConsentGiven => "consent.given",
            Self::ConsentWithdrawn => "consent.withdrawn",
            Self::ConsentRefused => "consent.refused",
            Self::ConsentExpired => "consent.expired",
            Self::ContactRestricted => "contact.restricted",
            Self::ContactObjected => "contact.objected",
            Self::ContactErased => "contact.erased",
        }
    }

    /// Reads a code; an unknown one is refused naming the field `kinds`.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.code().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|k| k.code()).collect();
                DomainError::invalid(
                    "kinds",
                    format!("`{text}` is not an event type ({})", known.join(", ")),
                )
            })
    }
}

impl Serialize for WebhookEventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// A webhook subscription: where to POST which event types, and the key to sign them with.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct WebhookSubscription {
    /// Its id.
    pub id: SubscriptionId,
    /// The receiver's URL (http or https).
    pub url: String,
    /// The signing secret, `whsec_` + base64 of 32 random bytes (Standard Webhooks, "Signature
    /// scheme"). Never serialized: the API shows it once, when the subscription is created.
    #[serde(skip_serializing)]
    pub secret: String,
    /// What it is for.
    pub description: Option<String>,
    /// Whether messages are sent. An inactive subscription gets no new messages, and its pending
    /// ones wait until it is active again.
    pub active: bool,
    /// The event types it wants, in code order.
    pub kinds: Vec<WebhookEventType>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// Hides the secret from logs and panics.
impl std::fmt::Debug for WebhookSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSubscription")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("description", &self.description)
            .field("active", &self.active)
            .field("kinds", &self.kinds)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A subscription's fields as an administrator gives them, before validation.
#[derive(Debug, Clone, Default)]
pub struct WebhookSubscriptionInput {
    /// The receiver's URL; http or https.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// Whether messages are sent.
    pub active: bool,
    /// Event type codes (`consent.given`…); at least one.
    pub kinds: Vec<String>,
}

/// A message claimed for delivery, with what it takes to sign and send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message id: the `webhook-id` header, the same at every attempt.
    pub id: String,
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// Where to POST.
    pub url: String,
    /// The subscription's signing secret.
    pub secret: String,
    /// The event type code.
    pub event_type: String,
    /// The JSON body, exactly as it is to be signed and sent (compact, keys in order, the same
    /// bytes at every attempt and on either backend).
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Hides the secret from logs and panics.
impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("subscription_id", &self.subscription_id)
            .field("event_type", &self.event_type)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// One outbox message as an administrator inspects it (no secret; the payload holds no personal
/// data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    /// The message id (`webhook-id`).
    pub id: String,
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The event type code.
    pub event_type: String,
    /// The JSON body.
    pub payload: String,
    /// Enqueued.
    pub created_at: Timestamp,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
    /// Delivered (a 2xx answer).
    pub delivered_at: Option<Timestamp>,
    /// The last failure's short code (`http_500`, `timeout`, …).
    pub last_error: Option<String>,
    /// Given up.
    pub dead_at: Option<Timestamp>,
}

/// Outbox counts, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStats {
    /// Messages neither delivered nor dead (those of inactive subscriptions included).
    pub pending: i64,
    /// Messages given up after the last attempt.
    pub dead: i64,
}

const SUBSCRIPTION_COLUMNS: &str = "id, url, secret, description, active, created_at, updated_at";

/// The due messages: not delivered, not dead, due, not leased by a live worker, of an active
/// subscription. $1 now.
const DUE: &str = "FROM webhook_outbox o JOIN webhook_subscriptions s ON s.id = o.subscription_id WHERE o.delivered_at IS NULL AND o.dead_at IS NULL AND o.next_attempt_at <= $1 AND (o.lease_until IS NULL OR o.lease_until <= $1) AND s.active";

/// Claims up to $3 due messages until $2, counting each claim as an attempt (a message that
/// crashes its worker still ends dead); concurrent claimers skip each other's rows
/// ([`skip_locked`]).
fn claim_sql(backend: Backend) -> String {
    let lock = skip_locked(backend, Some("o"));
    format!(
        "UPDATE webhook_outbox SET lease_until = $2, attempts = attempts + 1 WHERE id IN (SELECT o.id {DUE} ORDER BY o.next_attempt_at, o.id LIMIT $3 {lock}) RETURNING id, subscription_id, event_type, payload, attempts, (SELECT url FROM webhook_subscriptions s WHERE s.id = webhook_outbox.subscription_id) AS url, (SELECT secret FROM webhook_subscriptions s WHERE s.id = webhook_outbox.subscription_id) AS secret"
    )
}

/// The active subscriptions that want `consent.expired` ($1), with their creation instants.
const EXPIRY_SUBSCRIBERS: &str = "SELECT s.id, s.created_at FROM webhook_subscriptions s JOIN webhook_subscription_kinds k ON k.subscription_id = s.id WHERE k.event_type = $1 AND s.active ORDER BY s.id";

/// Granted consents whose validity ran out in [$1, $2], not yet announced, oldest first, at most
/// $3. One index range per consent type on consent_state_audience (type, granted, valid_until,
/// contact). Inclusive of $1: expiries at that very instant that a smaller limit left out are
/// still found, and the anti-join skips those announced.
const EXPIRED_DUE: &str = "SELECT s.contact_id, s.consent_type_id, s.valid_until, t.code, c.external_id, e.id AS event_id FROM consent_types t JOIN consent_state s ON s.consent_type_id = t.id AND s.granted AND s.valid_until >= $1 AND s.valid_until <= $2 JOIN contacts c ON c.id = s.contact_id AND c.erased_at IS NULL JOIN consent_events e ON e.seq = s.event_seq WHERE NOT EXISTS (SELECT 1 FROM consent_expiry_announcements a WHERE a.contact_id = s.contact_id AND a.consent_type_id = s.consent_type_id AND a.valid_until = s.valid_until) ORDER BY s.valid_until, s.contact_id, s.consent_type_id LIMIT $3";

/// Where the scan for expiries starts: the latest expiry announced, or the earliest
/// subscriber's creation if later (or if none was announced yet).
const LATEST_ANNOUNCED: &str = "SELECT MAX(valid_until) FROM consent_expiry_announcements";

/// An instant as RFC 3339 UTC with six fractional digits: the same text as the triggers write
/// (SQLite's strftime/printf, PostgreSQL's `consento_rfc3339`), so every payload reads alike.
pub(crate) fn rfc3339_micros(t: Timestamp) -> String {
    let micros = t.as_micros();
    let fraction = micros.rem_euclid(1_000_000);
    let whole = Timestamp::from_micros(micros - fraction).to_rfc3339();
    let seconds = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{seconds}.{fraction:06}Z")
}

/// The `webhook-id` of a message: msg_<instant, 16 hex>_<source id, 32 hex>_<what>_<subscription
/// id, 32 hex>, as the triggers build it. Deterministic per (event, subscription), so a retry or
/// a second announcer reuses it; sortable by instant.
fn message_id(at: Timestamp, source: Uuid, what: &str, subscription: Uuid) -> String {
    format!(
        "msg_{:016x}_{}_{what}_{}",
        at.as_micros(),
        source.simple(),
        subscription.simple()
    )
}

fn validate_url(url: &str) -> Result<String, DomainError> {
    let url = url.trim();
    let invalid = |reason: &str| DomainError::invalid("url", reason);
    if url.len() > 2048 {
        return Err(invalid("must be at most 2048 characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain spaces or control characters"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("must be an absolute http or https URL"))?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid("must be an http or https URL"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        // The signature authenticates Consento to the receiver; credentials in a URL would be
        // stored and shown with it.
        return Err(invalid("must not carry a user name or password"));
    }
    let host = match authority.rsplit_once(':') {
        // An IPv6 literal holds colons of its own: only a colon after its `]` starts a port.
        Some((host, port)) if !port.contains(']') => {
            if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) || port.len() > 5 {
                return Err(invalid("has an invalid port"));
            }
            host
        }
        _ => authority,
    };
    if host.is_empty() || host == "[]" {
        return Err(invalid("must name a host"));
    }
    Ok(format!(
        "{}{}",
        scheme.to_ascii_lowercase(),
        &url[scheme.len()..]
    ))
}

fn validate_kinds(kinds: &[String]) -> Result<Vec<WebhookEventType>, DomainError> {
    let mut parsed: Vec<WebhookEventType> = kinds
        .iter()
        .map(|k| WebhookEventType::parse(k))
        .collect::<Result<_, _>>()?;
    parsed.sort();
    parsed.dedup();
    if parsed.is_empty() {
        return Err(DomainError::invalid(
            "kinds",
            "name at least one event type",
        ));
    }
    Ok(parsed)
}

fn validate_description(description: Option<String>) -> Result<Option<String>, DomainError> {
    let description = description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if let Some(d) = &description {
        consento_domain::text::check("description", d, consento_domain::text::Lines::One)?;
    }
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 500)
    {
        return Err(DomainError::invalid(
            "description",
            "must be at most 500 characters",
        ));
    }
    Ok(description)
}

/// A validated subscription input.
struct ValidSubscription {
    url: String,
    description: Option<String>,
    active: bool,
    kinds: Vec<WebhookEventType>,
}

fn validate(input: WebhookSubscriptionInput) -> Result<ValidSubscription, DomainError> {
    Ok(ValidSubscription {
        url: validate_url(&input.url)?,
        description: validate_description(input.description)?,
        active: input.active,
        kinds: validate_kinds(&input.kinds)?,
    })
}

/// Where subscription `id`'s secret is sealed.
fn secret_slot(id: &str) -> Slot<'_> {
    Slot::new("webhook_subscriptions", "secret", id)
}

/// A new signing secret (Standard Webhooks: `whsec_` + base64 of 32 random bytes from the
/// store's entropy source).
pub(crate) fn new_secret(store: &Store) -> Result<String, StoreError> {
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(store.random::<32>()?)
    ))
}

fn subscription_from(
    store: &Store,
    row: &impl Cols,
    kinds: Vec<WebhookEventType>,
) -> Result<WebhookSubscription, StoreError> {
    let id = row.uuid("id")?;
    Ok(WebhookSubscription {
        id: SubscriptionId(id),
        url: row.text("url")?,
        secret: store.unseal_text(&secret_slot(&id.to_string()), &row.text("secret")?)?,
        description: row.opt_text("description")?,
        active: row.flag("active")?,
        kinds,
        created_at: Timestamp::from_micros(row.int("created_at")?),
        updated_at: Timestamp::from_micros(row.int("updated_at")?),
    })
}

fn kind_from(code: &str) -> Result<WebhookEventType, StoreError> {
    WebhookEventType::parse(code).map_err(|_| StoreError::Corrupt("webhook event type"))
}

/// Re-serialises a stored payload compactly with its keys in order: PostgreSQL's
/// `json_build_object` and SQLite's `json_object` space their output differently, and the body
/// sent (and signed) should not depend on the backend.
fn canonical_payload(stored: &str) -> Result<String, StoreError> {
    serde_json::from_str::<serde_json::Value>(stored)
        .map(|v| v.to_string())
        .map_err(|_| StoreError::Corrupt("webhook payload"))
}

impl Store {
    /// Creates a subscription with a new signing secret (Standard Webhooks: `whsec_` + base64 of
    /// 32 random bytes from the store's entropy source). The URL must be http or https.
    pub async fn create_subscription(
        &self,
        input: WebhookSubscriptionInput,
    ) -> Result<WebhookSubscription, StoreError> {
        let v = validate(input)?;
        let now = self.now();
        let id = SubscriptionId(self.new_uuid(now)?);
        let secret = new_secret(self)?;
        let sealed = self.seal_text(&secret_slot(&id.0.to_string()), &secret)?;
        in_write_tx!(self, tx => {
            sqlx::query("INSERT INTO webhook_subscriptions (id, url, secret, description, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
                .bind(id.0).bind(&v.url).bind(&sealed).bind(&v.description).bind(v.active).bind(now.as_micros())
                .execute(&mut *tx).await?;
            for kind in &v.kinds {
                sqlx::query("INSERT INTO webhook_subscription_kinds (event_type, subscription_id) VALUES ($1, $2)")
                    .bind(kind.code()).bind(id.0)
                    .execute(&mut *tx).await?;
            }
        });
        Ok(WebhookSubscription {
            id,
            url: v.url,
            secret,
            description: v.description,
            active: v.active,
            kinds: v.kinds,
            created_at: now,
            updated_at: now,
        })
    }

    /// Every subscription, oldest first.
    pub async fn list_subscriptions(&self) -> Result<Vec<WebhookSubscription>, StoreError> {
        on_read_pool!(self, pool => {
            let mut kinds: BTreeMap<Uuid, Vec<WebhookEventType>> = BTreeMap::new();
            for row in sqlx::query("SELECT subscription_id, event_type FROM webhook_subscription_kinds ORDER BY event_type").fetch_all(pool).await? {
                kinds.entry(row.uuid("subscription_id")?).or_default().push(kind_from(&row.text("event_type")?)?);
            }
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions ORDER BY id")))
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    let id = row.uuid("id")?;
                    subscription_from(self, row, kinds.remove(&id).unwrap_or_default())
                })
                .collect()
        })
    }

    /// One subscription.
    pub async fn subscription(
        &self,
        id: SubscriptionId,
    ) -> Result<WebhookSubscription, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1")))
                .bind(id.0)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::not_found("webhook subscription"))?;
            let kinds: Vec<String> = sqlx::query_scalar("SELECT event_type FROM webhook_subscription_kinds WHERE subscription_id = $1 ORDER BY event_type")
                .bind(id.0)
                .fetch_all(pool)
                .await?;
            let kinds = kinds.iter().map(|k| kind_from(k)).collect::<Result<_, _>>()?;
            subscription_from(self, &row, kinds)
        })
    }

    /// Replaces a subscription's URL, description, active flag and event types (its secret and
    /// its pending messages stay). Messages already enqueued keep going to the new URL.
    pub async fn update_subscription(
        &self,
        id: SubscriptionId,
        input: WebhookSubscriptionInput,
    ) -> Result<WebhookSubscription, StoreError> {
        let v = validate(input)?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            let updated = sqlx::query("UPDATE webhook_subscriptions SET url = $2, description = $3, active = $4, updated_at = $5 WHERE id = $1")
                .bind(id.0).bind(&v.url).bind(&v.description).bind(v.active).bind(now)
                .execute(&mut *tx).await?
                .rows_affected();
            if updated == 0 {
                return Err(StoreError::not_found("webhook subscription"));
            }
            sqlx::query("DELETE FROM webhook_subscription_kinds WHERE subscription_id = $1")
                .bind(id.0)
                .execute(&mut *tx).await?;
            for kind in &v.kinds {
                sqlx::query("INSERT INTO webhook_subscription_kinds (event_type, subscription_id) VALUES ($1, $2)")
                    .bind(kind.code()).bind(id.0)
                    .execute(&mut *tx).await?;
            }
        });
        self.subscription(id).await
    }

    /// Stops sending to a subscription (an administrator's choice, or the receiver answered
    /// 410 Gone: Standard Webhooks, "Delivery success and failure"). Its pending messages wait.
    pub async fn deactivate_subscription(&self, id: SubscriptionId) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        let updated = in_write_tx!(self, tx => {
            sqlx::query("UPDATE webhook_subscriptions SET active = $2, updated_at = $3 WHERE id = $1")
                .bind(id.0).bind(false).bind(now)
                .execute(&mut *tx).await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::not_found("webhook subscription"));
        }
        Ok(())
    }

    /// Removes a subscription with its event types and every message of it, sent or not.
    pub async fn delete_subscription(&self, id: SubscriptionId) -> Result<(), StoreError> {
        let deleted = in_write_tx!(self, tx => {
            // The foreign keys cascade to the kinds and the outbox.
            sqlx::query("DELETE FROM webhook_subscriptions WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx).await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(StoreError::not_found("webhook subscription"));
        }
        Ok(())
    }

    /// A subscription's most recent messages, newest first, for inspection.
    pub async fn outbox_messages(
        &self,
        subscription: SubscriptionId,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let limit = limit.clamp(1, 1000);
        let ts = |v: Option<i64>| v.map(Timestamp::from_micros);
        on_read_pool!(self, pool => {
            sqlx::query("SELECT id, subscription_id, event_type, payload, created_at, attempts, next_attempt_at, delivered_at, last_error, dead_at FROM webhook_outbox WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(subscription.0)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok(OutboxMessage {
                    id: row.text("id")?,
                    subscription_id: SubscriptionId(row.uuid("subscription_id")?),
                    event_type: row.text("event_type")?,
                    payload: canonical_payload(&row.text("payload")?)?,
                    created_at: Timestamp::from_micros(row.int("created_at")?),
                    attempts: row.int("attempts")?,
                    next_attempt_at: Timestamp::from_micros(row.int("next_attempt_at")?),
                    delivered_at: ts(row.opt_int("delivered_at")?),
                    last_error: row.opt_text("last_error")?,
                    dead_at: ts(row.opt_int("dead_at")?),
                }))
                .collect()
        })
    }

    /// Claims up to `batch` due messages for `lease`: until then no other worker, in this process
    /// or another, claims them; if this worker dies, they are claimed again when the lease ends.
    /// Each claim counts as an attempt.
    pub async fn claim_deliveries(
        &self,
        batch: i64,
        lease: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        let now = self.now();
        let lease_until = lease_until(now, lease);
        let now = now.as_micros();
        // Read first: most polls find nothing due, and should not take the write lock (SQLite
        // has one for the whole database).
        let due: Option<String> = on_read_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT o.id {DUE} LIMIT 1")))
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        if due.is_none() {
            return Ok(Vec::new());
        }
        let sql = claim_sql(self.backend());
        let mut claimed: Vec<Delivery> = in_write_tx!(self, tx => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now).bind(lease_until).bind(batch.clamp(1, 1000))
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| { let subscription = row.uuid("subscription_id")?; Ok(Delivery {
                    id: row.text("id")?,
                    subscription_id: SubscriptionId(subscription),
                    url: row.text("url")?,
                    secret: self.unseal_text(&secret_slot(&subscription.to_string()), &row.text("secret")?)?,
                    event_type: row.text("event_type")?,
                    payload: canonical_payload(&row.text("payload")?)?,
                    attempts: row.int("attempts")?,
                }) })
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        // RETURNING gives no order; oldest first.
        claimed.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(claimed)
    }

    /// Records a delivery (the receiver answered 2xx).
    pub async fn mark_delivered(&self, id: &str) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query("UPDATE webhook_outbox SET delivered_at = $2, lease_until = NULL, last_error = NULL WHERE id = $1 AND delivered_at IS NULL")
                .bind(id).bind(now)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Records a failed attempt with a short error code (`http_503`, `timeout`; never a response
    /// body, which may hold anything), and when to try again, or that the message is dead.
    pub async fn mark_failed(
        &self,
        id: &str,
        error_code: &str,
        next: NextAttempt,
    ) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        let code: String = error_code.chars().take(64).collect();
        in_write_tx!(self, tx => {
            match next {
                NextAttempt::At(at) => sqlx::query("UPDATE webhook_outbox SET last_error = $2, next_attempt_at = $3, lease_until = NULL WHERE id = $1 AND delivered_at IS NULL")
                    .bind(id).bind(&code).bind(at.as_micros()),
                NextAttempt::Dead => sqlx::query("UPDATE webhook_outbox SET last_error = $2, dead_at = $3, lease_until = NULL WHERE id = $1 AND delivered_at IS NULL")
                    .bind(id).bind(&code).bind(now),
            }
            .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// How many messages are pending and dead.
    pub async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query("SELECT (SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL AND dead_at IS NULL) AS pending, (SELECT COUNT(*) FROM webhook_outbox WHERE dead_at IS NOT NULL) AS dead")
                .fetch_one(pool)
                .await?;
            Ok(OutboxStats { pending: row.int("pending")?, dead: row.int("dead")? })
        })
    }

    /// Removes the delivered and dead messages of events before `before` (storage limitation,
    /// GDPR Art. 5(1)(e): a sent notice is not kept for ever); pending ones stay. Message ids
    /// begin with their event's instant in fixed-width hex, so this is a range of the primary
    /// key: each purge reads only what became old since the last one. Returns how many went.
    pub async fn purge_outbox(&self, before: Timestamp) -> Result<u64, StoreError> {
        let bound = format!("msg_{:016x}", before.as_micros());
        Ok(in_write_tx!(self, tx => {
            sqlx::query("DELETE FROM webhook_outbox WHERE id < $1 AND (delivered_at IS NOT NULL OR dead_at IS NOT NULL)")
                .bind(bound)
                .execute(&mut *tx).await?
                .rows_affected()
        }))
    }

    /// Announces consents whose validity has run out (`consent.expired`), at most `limit` of them
    /// per call, oldest expiry first; returns how many. An expiry is a moment, not a write, so
    /// the worker calls this periodically. Each (contact, type, valid_until) is announced once,
    /// however many processes call this at once: the announcement row and its messages are one
    /// transaction, and a second announcer's insert of the same row does nothing (and, on
    /// PostgreSQL, waits for the first to commit). A renewal gives a new valid_until, which is
    /// announced again when it runs out.
    ///
    /// Only expiries from the earliest active `consent.expired` subscription's creation on are
    /// announced, and each call scans from the latest expiry already announced: the scan stays
    /// short however many consents expired in the past. A consent recorded with an expiry
    /// already behind that point (a backdated paper form) is not announced; its
    /// `consent.given` message carries its `expires_at`.
    pub async fn announce_expired(&self, limit: i64) -> Result<usize, StoreError> {
        let now = self.now();
        let limit = limit.clamp(1, 10_000);
        let event_type = WebhookEventType::ConsentExpired.code();
        // Read first: most passes have nothing to announce, and should not take the write lock.
        let pending = on_read_pool!(self, pool => {
            let subscribers: Vec<(Uuid, i64)> = sqlx::query_as(EXPIRY_SUBSCRIBERS).bind(event_type).fetch_all(pool).await?;
            match subscribers.iter().map(|(_, created)| *created).min() {
                None => false,
                Some(since) => {
                    let announced: Option<i64> = sqlx::query_scalar(LATEST_ANNOUNCED).fetch_one(pool).await?;
                    sqlx::query(EXPIRED_DUE)
                        .bind(announced.map_or(since, |a| a.max(since)))
                        .bind(now.as_micros())
                        .bind(1_i64)
                        .fetch_optional(pool)
                        .await?
                        .is_some()
                }
            }
        });
        if !pending {
            return Ok(0);
        }
        in_write_tx!(self, tx => {
            let subscribers: Vec<(Uuid, i64)> = sqlx::query_as(EXPIRY_SUBSCRIBERS)
                .bind(event_type)
                .fetch_all(&mut *tx)
                .await?;
            let Some(since) = subscribers.iter().map(|(_, created)| *created).min() else {
                return Ok(0);
            };
            let announced: Option<i64> = sqlx::query_scalar(LATEST_ANNOUNCED)
                .fetch_one(&mut *tx)
                .await?;
            let from = announced.map_or(since, |a| a.max(since));
            let due = sqlx::query(EXPIRED_DUE)
                .bind(from)
                .bind(now.as_micros())
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            let mut count = 0;
            for row in &due {
                let contact_id = row.uuid("contact_id")?;
                let type_id = row.uuid("consent_type_id")?;
                let valid_until = row.int("valid_until")?;
                let won: Option<Uuid> = sqlx::query_scalar("INSERT INTO consent_expiry_announcements (contact_id, consent_type_id, valid_until, announced_at) VALUES ($1, $2, $3, $4) ON CONFLICT (contact_id, consent_type_id, valid_until) DO NOTHING RETURNING contact_id")
                    .bind(contact_id).bind(type_id).bind(valid_until).bind(now.as_micros())
                    .fetch_optional(&mut *tx)
                    .await?;
                if won.is_none() {
                    // Another process announced it first.
                    continue;
                }
                count += 1;
                let expired_at = Timestamp::from_micros(valid_until);
                let event_id = row.uuid("event_id")?;
                let payload = serde_json::json!({
                    "type": event_type,
                    "timestamp": rfc3339_micros(expired_at),
                    "data": {
                        "contact_id": contact_id,
                        "external_id": row.opt_text("external_id")?,
                        "consent_type": row.text("code")?,
                        "event_id": event_id,
                        "expired_at": rfc3339_micros(expired_at),
                    },
                })
                .to_string();
                for (subscription, _) in &subscribers {
                    sqlx::query("INSERT INTO webhook_outbox (id, subscription_id, event_type, payload, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, 0, $5) ON CONFLICT (id) DO NOTHING")
                        .bind(message_id(expired_at, event_id, "expired", *subscription))
                        .bind(*subscription)
                        .bind(event_type)
                        .bind(&payload)
                        .bind(now.as_micros())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            Ok(count)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_reads_as_rfc3339_with_microseconds() {
        let t = Timestamp::parse("t", "2025-06-01T10:00:00Z").unwrap_or(Timestamp::MAX);
        assert_eq!(rfc3339_micros(t), "2025-06-01T10:00:00.000000Z");
        let t = Timestamp::from_micros(t.as_micros() + 1_234);
        assert_eq!(rfc3339_micros(t), "2025-06-01T10:00:00.001234Z");
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        for ok in [
            "https://crm.example.it/hooks",
            "HTTP://127.0.0.1:8080/x?y=1",
            "https://[::1]:8443/",
        ] {
            assert!(validate_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://example.it/",
            "example.it/hook",
            "https://",
            "https:///path",
            "https://user:pw@example.it/",
            "https://example.it:port/",
            "https://exa mple.it/",
            "javascript:alert(1)",
        ] {
            let err = validate_url(bad).err();
            assert_eq!(err.map(|e| e.field()), Some("url"), "{bad}");
        }
    }

    #[test]
    fn event_types_are_read_case_insensitively_and_unknown_ones_name_the_field() {
        assert_eq!(
            WebhookEventType::parse(" Consent.Given "),
            Ok(WebhookEventType::ConsentGiven)
        );
        assert_eq!(
            WebhookEventType::parse("consent.maybe").map_err(|e| e.field()),
            Err("kinds")
        );
        for k in WebhookEventType::ALL {
            assert_eq!(WebhookEventType::parse(k.code()), Ok(k));
        }
    }
}
