//! `/v1/contacts/{id}/consents`: a contact's consents. The current state, one line per consent
//! type (the contact card); the history, every ledger event with its proof (GDPR Art. 7(1): the
//! controller must be able to show that the person consented); and the one write that appends
//! an event (given, refused, withdrawn, renewed, revoked). Reading needs `read`, writing `write`.
//! Withdrawing is one call, exactly like giving (Art. 7(3)).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use consento_app::AppError;
use consento_domain::{CollectionMethod, ContactId, EventKind, Timestamp};

use consento_store::{
    ConsentEventInput, ContactRef, CurrentConsent, HistoryEntry, IdempotencyKey, RecordedEvent,
    StoreError,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, Principal, ReadScope, WriteScope};
use super::error::{ApiError, Problem};
use super::idempotency::IdempotentJson;
use super::model::ActionName;
use super::params::{PathParam, contact_id, instant, rename_field};
use super::types::permits;

/// A consent write as asked, validated: everything but who asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentWrite {
    /// Whose consent.
    pub contact_id: ContactId,
    /// The consent type's code.
    pub type_code: String,
    /// What happened.
    pub kind: EventKind,
    /// When it happened; `None` = now.
    pub event_time: Option<Timestamp>,
    /// How it was collected.
    pub method: CollectionMethod,
    /// The privacy-notice version shown.
    pub notice_version: Option<String>,
    /// The evidence.
    pub evidence: Option<String>,
}

/// Appends one consent event recorded by `principal` (its token is the actor). The one place
/// where the API writes to the consent ledger. With an idempotency key (the key and the hash of
/// the request), a retry returns the first event and records nothing (`true`: replayed).
pub async fn record(
    state: &AppState,
    principal: &Principal,
    input: ConsentWrite,
    key: Option<(String, [u8; 32])>,
) -> Result<(RecordedEvent, bool), ApiError> {
    let event = ConsentEventInput {
        contact: ContactRef::Id(input.contact_id),
        type_code: input.type_code,
        kind: input.kind,
        event_time: input.event_time,
        method: input.method,
        actor: principal.actor()?,
        notice_version: input.notice_version,
        evidence: input.evidence,
    };
    let key = key.map(|(key, request_sha256)| IdempotencyKey {
        token_id: principal.token_id,
        key,
        request_sha256,
    });
    let by = consento_app::audit::By::token(principal.token_id);
    let recorded = state.app.record_consent(&by, event, key).await;
    recorded.map_err(|e| match e {
        // References made by the body are the body's fault (422 naming the field); only the
        // contact of the path is a 404.
        AppError::Store(StoreError::NotFound {
            entity: "consent type",
        }) => ApiError::unprocessable("type_code", "no consent type has this code"),
        AppError::Store(StoreError::NotFound {
            entity: "privacy notice version",
        }) => ApiError::unprocessable(
            "notice_version",
            "no privacy notice with this version is published",
        ),
        other => rename_field(other.into(), "code", "type_code"),
    })
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current, write))
        .routes(routes!(history))
}

/// What happened to a consent.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `EventKind` is what runs.
pub enum EventKindName {
    /// The person gave consent.
    Given,
    /// The person was asked and said no.
    Refused,
    /// The person withdrew an earlier consent (GDPR Art. 7(3)).
    Withdrawn,
    /// The person confirmed an existing consent; its validity starts again.
    Renewed,
    /// The controller revoked the consent (e.g. the number enrolled in the Registro pubblico
    /// delle opposizioni, or the proof was found invalid).
    Revoked,
}

/// How a consent event was collected: part of its proof (GDPR Art. 7(1)).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's method is what runs.
pub enum MethodName {
    /// A web form of the controller.
    Form,
    /// A signed paper form.
    Paper,
    /// A recorded phone call.
    Phone,
    /// An email from the person.
    Email,
    /// Said in person, at a desk or a shop, to an operator.
    InPerson,
    /// Entered by an operator.
    Operator,
    /// A file imported from another system (recorded only by Consento's imports).
    Import,
    /// An integration through the API.
    Api,
    /// The person, in the preference center (recorded only by Consento's preference center).
    PreferenceCenter,
    /// A double opt-in confirmation (recorded only by Consento's confirmation link).
    DoubleOptIn,
    /// An RFC 8058 one-click unsubscribe (recorded only by Consento's unsubscribe endpoint).
    OneClickUnsubscribe,
    /// Consento itself (recorded only by Consento's own rules).
    System,
}

/// Where a contact's consent of one type stands now.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the handler writes the text.
pub enum ConsentStateName {
    /// Never recorded.
    None,
    /// Given, and valid.
    Given,
    /// Renewed, and valid.
    Renewed,
    /// Refused.
    Refused,
    /// Withdrawn by the person (GDPR Art. 7(3)).
    Withdrawn,
    /// Revoked by the controller.
    Revoked,
    /// Given or renewed, but its validity has run out.
    Expired,
}

/// Who recorded a consent event or changed a flag.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `ActorKind` is what runs.
pub enum ActorKindName {
    /// A staff member, by their account handle.
    Operator,
    /// An integration, by its API token's id.
    Token,
    /// The person themself (the preference center, a double opt-in, an unsubscribe link).
    Subject,
    /// Consento itself.
    System,
}

/// One consent event to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "given", "type_code": "newsletter", "event_time": "2025-03-01T10:30:00+01:00",
    "method": "paper", "notice_version": "2025-03", "evidence": "paper form 2025/118, archive box 7"
}))]
pub struct ConsentEventRequest {
    /// What happened: `given`, `refused`, `withdrawn`, `renewed` or `revoked`.
    #[schema(value_type = EventKindName)]
    pub kind: String,
    /// The consent type's code.
    pub type_code: String,
    /// When the person gave, refused or withdrew it: an RFC 3339 instant (taken with its
    /// offset), or a date `YYYY-MM-DD`, the start of that day in the controller's time zone
    /// (configured, `Europe/Rome` by default; a person's export names it): a paper form entered today may be backdated, but never
    /// dated in the future, nor before the consent's last change (it would not change the
    /// consent's state). Now if absent. For a given or renewed consent, the validity counts
    /// from here.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub event_time: Option<String>,
    /// How the person gave, refused or withdrew it (required: the proof names the true method,
    /// never a default; GDPR Art. 7(1)): `phone`, `paper`, `email`, `in_person`, `form`,
    /// `operator` or `api`. The methods that stand for Consento's own flows (`double_opt_in`,
    /// `one_click_unsubscribe`, `preference_center`, `import`, `system`) are recorded only by
    /// those flows, and refused here (422 naming `method`).
    #[schema(value_type = MethodName)]
    pub method: String,
    /// The privacy-notice version the person was shown (`POST /v1/notices`).
    #[serde(default)]
    pub notice_version: Option<String>,
    /// Evidence (a form id, a recording reference, the confirmation's message id), at most 16 KiB.
    /// Kept apart from the ledger (only its salted digest is chained), so that erasing the
    /// person removes it while the ledger still verifies.
    #[serde(default)]
    pub evidence: Option<String>,
}

/// A recorded consent event.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedEventOut {
    /// Its position in the ledger.
    pub seq: i64,
    /// Its id.
    pub event_id: uuid::Uuid,
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// The consent type's code.
    pub type_code: String,
    /// What happened.
    #[schema(value_type = EventKindName)]
    pub kind: &'static str,
    /// When it happened.
    #[schema(value_type = String, format = DateTime)]
    pub event_time: Timestamp,
    /// When it was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    /// For a given or renewed consent of a type with a validity: when it expires.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// The event's hash in the chain (hex SHA-256).
    pub hash: String,
    /// What the caller should know although the event was recorded as asked; empty when
    /// nothing. `already_expired`: a given or renewed consent dated so far back that its
    /// validity had already run out: it is proof of the past, and permits nothing now.
    pub warnings: Vec<WarningOut>,
}

/// A warning about a recorded event.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningOut {
    /// A stable code for programs: `already_expired`.
    pub code: &'static str,
    /// What it means, in words.
    pub message: &'static str,
}

impl From<RecordedEvent> for RecordedEventOut {
    fn from(e: RecordedEvent) -> Self {
        let warnings = e
            .warnings()
            .into_iter()
            .map(|w| WarningOut {
                code: w.code(),
                message: w.message(),
            })
            .collect();
        Self {
            warnings,
            seq: e.seq,
            event_id: e.id.0,
            contact_id: e.contact_id.0,
            type_code: e.type_code,
            kind: e.kind.code(),
            event_time: e.event_time,
            recorded_at: e.recorded_at,
            expires_at: e.expires_at,
            hash: e.hash,
        }
    }
}

/// A contact's consent of one type now: a line of the contact card.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentConsentOut {
    /// The consent type's code.
    pub type_code: String,
    /// Its title.
    pub title: String,
    /// What a valid consent of the type allows.
    #[schema(value_type = Vec<ActionName>)]
    pub permits: Vec<&'static str>,
    /// `none` (never recorded), `given`, `renewed`, `refused`, `withdrawn`, `revoked`, or
    /// `expired` (given or renewed, but its validity has run out).
    #[schema(value_type = ConsentStateName)]
    pub state: &'static str,
    /// The kind of the latest event, if any.
    #[schema(value_type = Option<EventKindName>)]
    pub kind: Option<&'static str>,
    /// When the latest event happened (for a given consent: when it was given).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub event_time: Option<Timestamp>,
    /// When a given or renewed consent expires; `null` if it never does.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Whether a decision may rely on it now: given or renewed, not expired, and its contact not
    /// erased, restricted or objecting (the decision's rules 1–3).
    pub valid: bool,
    /// Why it is not in force although given and not expired: `erased`, `restricted` or
    /// `objected`; `null` otherwise.
    #[schema(value_type = Option<SuspensionName>)]
    pub suspended_by: Option<&'static str>,
}

/// Why no consent of a contact is in force, whatever it says (the decision's rules 1–3).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's cause is what runs.
pub enum SuspensionName {
    /// The contact was erased (GDPR Art. 17).
    Erased,
    /// Processing is restricted (Art. 18).
    Restricted,
    /// The person objects to direct marketing (Art. 21(3)).
    Objected,
}

impl From<CurrentConsent> for CurrentConsentOut {
    fn from(c: CurrentConsent) -> Self {
        let state = match c.kind {
            None => "none",
            Some(k) if k.grants() && !c.valid => "expired",
            Some(k) => k.code(),
        };
        let in_force = c.in_force();
        let suspended_by = c.suspension_code();
        Self {
            type_code: c.code.as_str().to_owned(),
            title: c.title,
            permits: permits(c.permissions),
            state,
            kind: c.kind.map(EventKind::code),
            event_time: c.event_time,
            expires_at: c.expires_at,
            valid: in_force,
            suspended_by,
        }
    }
}

/// A contact's consents now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentConsents {
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// One line per consent type (those never recorded included), by title.
    pub items: Vec<CurrentConsentOut>,
}

/// Who recorded an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorOut {
    /// `operator` (a staff member), `token` (an integration), `subject` (the person) or
    /// `system`.
    #[schema(value_type = ActorKindName)]
    pub kind: &'static str,
    /// The operator's handle or the token's id; empty for the subject and the system.
    pub id: String,
}

/// One event of a contact's consent history, with its proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntryOut {
    /// Its position in the ledger.
    pub seq: i64,
    /// Its id.
    pub event_id: uuid::Uuid,
    /// The consent type's code.
    pub type_code: String,
    /// What happened.
    #[schema(value_type = EventKindName)]
    pub kind: &'static str,
    /// When it happened (as the person or operator dated it).
    #[schema(value_type = String, format = DateTime)]
    pub event_time: Timestamp,
    /// When it was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    /// How it was collected.
    #[schema(value_type = MethodName)]
    pub method: &'static str,
    /// Who recorded it.
    pub actor: ActorOut,
    /// The privacy-notice version the person was shown.
    pub notice_version: Option<String>,
    /// The validity (days) in force when it was recorded: a later change of the type does not
    /// rewrite it.
    pub validity_days: Option<u32>,
    /// For a given or renewed consent with a validity: when it expires.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// The evidence; `null` if none was given or it was erased with the person's data.
    pub evidence: Option<String>,
    /// The event's hash in the chain (hex SHA-256).
    pub hash: String,
    /// Where its signed consent receipt is (`GET`, scope `read`).
    pub receipt_url: String,
}

impl From<HistoryEntry> for HistoryEntryOut {
    fn from(e: HistoryEntry) -> Self {
        Self {
            seq: e.seq,
            event_id: e.id.0,
            type_code: e.type_code,
            kind: e.kind.code(),
            event_time: e.event_time,
            recorded_at: e.recorded_at,
            method: e.method.code(),
            actor: ActorOut {
                kind: e.actor_kind.code(),
                id: e.actor_id,
            },
            notice_version: e.notice_version,
            validity_days: e.validity_days,
            expires_at: e.expires_at,
            evidence: e.evidence,
            hash: e.hash,
            receipt_url: format!("/v1/consent-events/{}/receipt", e.id.0),
        }
    }
}

/// A contact's consent history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentHistory {
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// Every event, in ledger order (the order they were recorded).
    pub items: Vec<HistoryEntryOut>,
}

/// A contact's consents now, one line per consent type, as the contact card shows them.
#[utoipa::path(
    get, path = "/v1/contacts/{id}/consents", tag = "consents", operation_id = "getCurrentConsents",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "One line per consent type", body = CurrentConsents),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn current(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<CurrentConsents>, ApiError> {
    let id = contact_id(&id)?;
    let items = state.store.current_consents(&ContactRef::Id(id)).await?;
    Ok(Json(CurrentConsents {
        contact_id: id.0,
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Every consent event of a contact with its proof: method, actor, notice version, validity in
/// force, evidence and hash (GDPR Art. 7(1)).
#[utoipa::path(
    get, path = "/v1/contacts/{id}/consents/history", tag = "consents", operation_id = "getConsentHistory",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "Every event, in ledger order", body = ConsentHistory),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn history(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<ConsentHistory>, ApiError> {
    let id = contact_id(&id)?;
    let items = state.store.consent_history(&ContactRef::Id(id)).await?;
    Ok(Json(ConsentHistory {
        contact_id: id.0,
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Records a consent event: the person gave, refused, withdrew or renewed a consent, or the
/// controller revoked it. One endpoint for every kind, so withdrawing is exactly as easy as
/// giving (GDPR Art. 7(3)). The event is appended to the hash-chained ledger with the calling
/// token as its actor; decisions follow it at once.
#[utoipa::path(
    post, path = "/v1/contacts/{id}/consents", tag = "consents", operation_id = "recordConsentEvent",
    params(
        ("id" = uuid::Uuid, Path, description = "Our id of the contact"),
        ("Idempotency-Key" = Option<String>, Header, description = "Any unique string (a UUID) chosen by the client: a retry with the same key and the same request returns the first result (with `Idempotent-Replayed: true`) and records nothing twice; the same key with a different request is a 409. Keys belong to the calling token; 1 to 255 visible ASCII characters (else 400)."),
    ),
    request_body = ConsentEventRequest,
    responses(
        (status = 201, description = "Recorded in the ledger (or, with `Idempotent-Replayed: true`, recorded by an earlier request with the same key)", body = RecordedEventOut),
        (status = 400, description = "A field is missing, malformed or unknown: `kind`, `method`, `event_time`… (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased (`field`: `contact`), or the `Idempotency-Key` was used for a different request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused: `event_time` in the future, before 1900 or before the consent's last change, `type_code` or `notice_version` unknown, a `method` only Consento's own flows record, `evidence` too long, a control character in a text (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn write(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    IdempotentJson { body: req, key }: IdempotentJson<ConsentEventRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let input = ConsentWrite {
        contact_id: contact_id(&id)?,
        kind: EventKind::parse(&req.kind)
            .map_err(|e| ApiError::bad_request("kind", e.to_string().replacen("kind: ", "", 1)))?,
        type_code: req.type_code,
        event_time: instant(state.app.zone(), "event_time", req.event_time.as_deref())?,
        method: CollectionMethod::parse(&req.method).map_err(|e| {
            ApiError::bad_request("method", e.to_string().replacen("method: ", "", 1))
        })?,
        notice_version: req.notice_version,
        evidence: req.evidence,
    };
    let (event, replayed) = record(&state, &auth.0, input, key).await?;
    let replayed = if replayed { "true" } else { "false" };
    Ok((
        StatusCode::CREATED,
        [("idempotent-replayed", replayed)],
        Json(RecordedEventOut::from(event)),
    ))
}
