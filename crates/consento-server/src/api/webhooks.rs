//! `/v1/webhooks`: an administrator's webhook subscriptions (Standard Webhooks,
//! <https://www.standardwebhooks.com/>): create one (its signing secret is shown in that answer
//! only), list, read, replace, delete, and inspect its recent messages. Deliveries are made by the
//! worker (`crate::webhooks`), never by a request handler (an outbox written in the same transaction as the change).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use consento_domain::Timestamp;
use consento_store::{
    OutboxMessage, SubscriptionId, WebhookEventType, WebhookSubscription, WebhookSubscriptionInput,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminScope, Auth};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::ApiQuery;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, replace_webhook, delete_webhook))
        .routes(routes!(webhook_messages))
}

/// An event type a subscription can want.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[allow(dead_code)] // Named only in the OpenAPI document; the store's type is what runs.
pub enum EventTypeName {
    /// A consent was given or renewed.
    #[serde(rename = "consent.given")]
    ConsentGiven,
    /// A consent was withdrawn or revoked.
    #[serde(rename = "consent.withdrawn")]
    ConsentWithdrawn,
    /// A consent was refused.
    #[serde(rename = "consent.refused")]
    ConsentRefused,
    /// A consent's validity ran out.
    #[serde(rename = "consent.expired")]
    ConsentExpired,
    /// Processing was restricted (GDPR Art. 18).
    #[serde(rename = "contact.restricted")]
    ContactRestricted,
    /// The person objected to direct marketing (Art. 21).
    #[serde(rename = "contact.objected")]
    ContactObjected,
    /// The contact was erased (Art. 17).
    #[serde(rename = "contact.erased")]
    ContactErased,
}

/// A subscription as given by an administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where to POST: an http or https URL.
    pub url: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether messages are sent; true if absent.
    #[serde(default = "yes")]
    pub active: bool,
    /// The event types wanted; at least one.
    #[schema(value_type = Vec<EventTypeName>)]
    pub kinds: Vec<String>,
}

fn yes() -> bool {
    true
}

impl From<WebhookRequest> for WebhookSubscriptionInput {
    fn from(r: WebhookRequest) -> Self {
        Self {
            url: r.url,
            description: r.description,
            active: r.active,
            kinds: r.kinds,
        }
    }
}

impl WebhookRequest {
    /// What the audit trail says of this request: the event types and whether it is active
    /// (neither the URL, which may carry credentials, nor the description).
    fn audit_detail(&self) -> Value {
        json!({ "kinds": self.kinds, "active": self.active })
    }
}

/// A subscription (without its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    /// Its id.
    pub id: uuid::Uuid,
    /// Where messages are POSTed.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// Whether messages are sent. A receiver answering 410 Gone turns this off.
    pub active: bool,
    /// The event types wanted.
    #[schema(value_type = Vec<EventTypeName>)]
    pub kinds: Vec<WebhookEventType>,
    /// Created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<WebhookSubscription> for Webhook {
    fn from(s: WebhookSubscription) -> Self {
        Self {
            id: s.id.0,
            url: s.url,
            description: s.description,
            active: s.active,
            kinds: s.kinds,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A new subscription, with its signing secret: shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (`whsec_` + base64 of 32 bytes): the receiver verifies each message's
    /// `webhook-signature` with it (Standard Webhooks, "Verifying signatures"). Not shown again.
    pub secret: String,
}

/// Every subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub webhooks: Vec<Webhook>,
}

/// The body of a webhook message: `{"type": …, "timestamp": …, "data": {…}}`, where `data`
/// holds ids, the CRM's external id, the consent type's code, the kind and instants (RFC 3339,
/// UTC); never a name, an email address or a phone number.
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)] // Named only in the OpenAPI document; the outbox holds the JSON.
pub struct WebhookPayload(serde_json::Value);

/// A message of a subscription and how its delivery went.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    /// The `webhook-id`, the same at every attempt.
    pub id: String,
    /// The event type.
    #[schema(value_type = EventTypeName)]
    pub event_type: String,
    /// The body sent (ids, codes and instants; no personal data).
    #[schema(value_type = WebhookPayload)]
    pub payload: serde_json::Value,
    /// Enqueued.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due, unless delivered or dead.
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    /// Delivered (the receiver answered 2xx).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    /// The last failure: `http_<status>`, `timeout`, `connect`, …
    pub last_error: Option<String>,
    /// Given up after the last attempt.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub dead_at: Option<Timestamp>,
}

impl From<OutboxMessage> for Message {
    fn from(m: OutboxMessage) -> Self {
        Self {
            payload: serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::Null),
            id: m.id,
            event_type: m.event_type,
            created_at: m.created_at,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            delivered_at: m.delivered_at,
            last_error: m.last_error,
            dead_at: m.dead_at,
        }
    }
}

/// A subscription's recent messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    /// Newest first.
    pub messages: Vec<Message>,
}

/// How many messages to show.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// At most this many, newest first (1–1000; 100 if absent).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A path id that is not a UUID names no subscription.
fn subscription_id(text: &str) -> Result<SubscriptionId, ApiError> {
    SubscriptionId::parse("id", text).map_err(|_| ApiError::NotFound("webhook subscription"))
}

/// Create a subscription.
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "webhooks", operation_id = "createWebhook",
    request_body = WebhookRequest,
    responses(
        (status = 201, description = "Created; the secret is shown this once", body = CreatedWebhook),
        (status = 400, description = "A field is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The URL is not http(s), or an event type is unknown", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn create_webhook(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let detail = req.audit_detail();
    let s = state
        .app
        .audited(
            &auth.by(),
            "webhook.create",
            None,
            detail,
            state.store.create_subscription(req.into()),
        )
        .await?;
    let secret = s.secret.clone();
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: s.into(),
            secret,
        }),
    ))
}

/// List the subscriptions.
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    responses((status = 200, description = "Every subscription, without secrets", body = WebhookList)),
    security(("token" = ["admin"]))
)]
async fn list_webhooks(
    _auth: Auth<AdminScope>,
    State(state): State<AppState>,
) -> Result<Json<WebhookList>, ApiError> {
    let webhooks = state.store.list_subscriptions().await?;
    Ok(Json(WebhookList {
        webhooks: webhooks.into_iter().map(Webhook::from).collect(),
    }))
}

/// Read one subscription.
#[utoipa::path(
    get, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "getWebhook",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The subscription, without its secret", body = Webhook),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn get_webhook(
    _auth: Auth<AdminScope>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    let s = state.store.subscription(subscription_id(&id)?).await?;
    Ok(Json(s.into()))
}

/// Replace a subscription's URL, description, active flag and event types. Its secret and its
/// pending messages stay; reactivating it resumes them.
#[utoipa::path(
    put, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "replaceWebhook",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id")),
    request_body = WebhookRequest,
    responses(
        (status = 200, description = "The subscription as it now is", body = Webhook),
        (status = 400, description = "A field is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The URL is not http(s), or an event type is unknown", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn replace_webhook(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> Result<Json<Webhook>, ApiError> {
    let id = subscription_id(&id)?;
    let detail = req.audit_detail();
    let s = state
        .app
        .audited(
            &auth.by(),
            "webhook.update",
            Some(("webhook", id.0.to_string())),
            detail,
            state.store.update_subscription(id, req.into()),
        )
        .await?;
    Ok(Json(s.into()))
}

/// Delete a subscription with all its messages, sent or not.
#[utoipa::path(
    delete, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn delete_webhook(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = subscription_id(&id)?;
    // A 404 before the change: the trail has no deletion of a subscription that never was.
    state.store.subscription(id).await?;
    state
        .app
        .audited(
            &auth.by(),
            "webhook.delete",
            Some(("webhook", id.0.to_string())),
            json!({}),
            state.store.delete_subscription(id),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A subscription's recent messages and how their delivery went.
#[utoipa::path(
    get, path = "/v1/webhooks/{id}/messages", tag = "webhooks", operation_id = "listWebhookMessages",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id"), MessagesQuery),
    responses(
        (status = 200, description = "Newest first", body = MessageList),
        (status = 400, description = "A query parameter is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn webhook_messages(
    _auth: Auth<AdminScope>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<MessagesQuery>,
) -> Result<Json<MessageList>, ApiError> {
    let id = subscription_id(&id)?;
    // A 404 for an unknown subscription rather than an empty list.
    state.store.subscription(id).await?;
    let messages = state
        .store
        .outbox_messages(id, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(MessageList {
        messages: messages.into_iter().map(Message::from).collect(),
    }))
}
