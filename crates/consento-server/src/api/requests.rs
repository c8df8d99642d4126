//! `/v1/requests`: data-subject requests (GDPR Arts. 15–22) and their Art. 12(3) deadlines. Log a
//! request, list the open, overdue and due-soon ones, read one with its history, move it through
//! its statuses (a refusal with its reason and the person's remedies, Art. 12(4)), and extend it
//! once by two months within the first month. Reading needs `read`, changing `write`. Deadlines
//! are counted on Italy's holidays plus `[requests] extra_holidays`.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use consento_app::requests::{ListQuery, Request, RequestEvent};
use consento_domain::requests::{RequestChannel, RequestKind, RequestStatus};
use consento_domain::{RequestId, Timestamp};
use consento_store::{NewDataRequest, RequestMove};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope, WriteScope};
use super::consents::ActorKindName;
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::{ApiQuery, PathParam, created, instant};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_request, list_requests))
        .routes(routes!(get_request))
        .routes(routes!(move_request))
        .routes(routes!(extend_request))
        .routes(routes!(link_request))
}

/// The right a data-subject request exercises (GDPR Arts. 15-22).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `RequestKind` is what runs.
pub enum RequestKindName {
    /// Access (Art. 15).
    Access,
    /// Rectification (Art. 16).
    Rectification,
    /// Erasure (Art. 17).
    Erasure,
    /// Restriction of processing (Art. 18).
    Restriction,
    /// Portability (Art. 20).
    Portability,
    /// Objection (Art. 21).
    Objection,
    /// Human review of an automated decision (Art. 22(3)).
    HumanReview,
    /// Information about the processing (Arts. 13-14).
    Information,
}

/// Where a data-subject request stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `RequestStatus` is what runs.
pub enum RequestStatusName {
    /// Logged.
    Received,
    /// Waiting for the person to prove who they are (Art. 12(6)).
    IdentityVerification,
    /// Being handled.
    InProgress,
    /// Answered.
    Completed,
    /// Refused, with the reason and the person's remedies (Art. 12(4)).
    Rejected,
}

/// Which requests to list by status: the open ones, or one status.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the app reads the text.
pub enum RequestStatusFilter {
    /// Received, identity verification or in progress.
    Open,
    /// Logged.
    Received,
    /// Waiting for the person to prove who they are.
    IdentityVerification,
    /// Being handled.
    InProgress,
    /// Answered.
    Completed,
    /// Refused.
    Rejected,
}

/// How a data-subject request arrived.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `RequestChannel` is what runs.
pub enum RequestChannelName {
    /// An email.
    Email,
    /// A letter.
    Letter,
    /// A phone call.
    Phone,
    /// A web form.
    Form,
    /// In person.
    InPerson,
}

/// Who changed a request: an operator (by username) or an API token (by id).
#[derive(Debug, Serialize, ToSchema)]
pub struct HandledBy {
    /// `operator` or `token`.
    #[schema(value_type = ActorKindName)]
    pub kind: String,
    /// The username or the token id.
    pub id: String,
}

/// A data-subject request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190a0a0-0000-7000-8000-000000000010", "contact_id": null, "kind": "access",
    "status": "received", "channel": "email", "description": "Asks for a copy of their data",
    "received_at": "2025-05-02T09:00:00Z", "due_on": "2025-06-03", "extended_due_on": null,
    "extension_reason": null, "deadline": "2025-06-03", "overdue": false,
    "handled_by": { "kind": "token", "id": "0190a0a0-0000-7000-8000-000000000001" },
    "closed_at": null, "outcome": null, "rejection_reason": null, "remedies": null
}))]
pub struct RequestOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// The person, once identified.
    pub contact_id: Option<uuid::Uuid>,
    /// `access`, `rectification`, `erasure`, `restriction`, `portability`, `objection`,
    /// `human_review` or `information`.
    #[schema(value_type = RequestKindName)]
    pub kind: String,
    /// `received`, `identity_verification`, `in_progress`, `completed` or `rejected`.
    #[schema(value_type = RequestStatusName)]
    pub status: String,
    /// `email`, `letter`, `phone`, `form` or `in_person`.
    #[schema(value_type = RequestChannelName)]
    pub channel: String,
    /// What the person asked.
    pub description: String,
    /// When it arrived: the deadline runs from here.
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    /// One month from receipt, moved to the next working day (Art. 12(3)), `YYYY-MM-DD`.
    pub due_on: String,
    /// Three months from receipt, by the same rules, once extended.
    pub extended_due_on: Option<String>,
    /// Why it was extended.
    pub extension_reason: Option<String>,
    /// The deadline in force.
    pub deadline: String,
    /// Open and past its deadline today.
    pub overdue: bool,
    /// Who last changed it.
    pub handled_by: HandledBy,
    /// When it was completed or rejected.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    /// What was done.
    pub outcome: Option<String>,
    /// Why it was refused.
    pub rejection_reason: Option<String>,
    /// The remedies the person was told about (Art. 12(4)).
    pub remedies: Option<String>,
}

impl From<Request> for RequestOut {
    fn from(r: Request) -> Self {
        Self {
            id: r.id,
            contact_id: r.contact_id,
            kind: r.kind,
            status: r.status,
            channel: r.channel,
            description: r.description,
            received_at: r.received_at,
            due_on: r.due_on,
            extended_due_on: r.extended_due_on,
            extension_reason: r.extension_reason,
            deadline: r.deadline,
            overdue: r.overdue,
            handled_by: r.handled_by.into(),
            closed_at: r.closed_at,
            outcome: r.outcome,
            rejection_reason: r.rejection_reason,
            remedies: r.remedies,
        }
    }
}

impl From<consento_app::requests::HandledBy> for HandledBy {
    fn from(h: consento_app::requests::HandledBy) -> Self {
        Self {
            kind: h.kind,
            id: h.id,
        }
    }
}

/// One entry of a request's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestEventOut {
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who.
    pub by: HandledBy,
    /// The status before (none when it was logged).
    #[schema(value_type = Option<RequestStatusName>)]
    pub from_status: Option<String>,
    /// The status after.
    #[schema(value_type = RequestStatusName)]
    pub to_status: String,
    /// What was said.
    pub note: String,
}

impl From<RequestEvent> for RequestEventOut {
    fn from(e: RequestEvent) -> Self {
        Self {
            at: e.at,
            by: e.by.into(),
            from_status: e.from_status,
            to_status: e.to_status,
            note: e.note,
        }
    }
}

/// A request with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    /// The request.
    #[serde(flatten)]
    pub request: RequestOut,
    /// Every change, oldest first.
    pub history: Vec<RequestEventOut>,
}

/// A page of requests, most urgent first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    /// By deadline in force, then id.
    pub items: Vec<RequestOut>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// A request to log.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "kind": "access", "channel": "email", "description": "Asks for a copy of their data" }))]
pub struct RequestCreate {
    /// The right exercised: `access`, `rectification`, `erasure`, `restriction`, `portability`,
    /// `objection`, `human_review`, `information`.
    #[schema(value_type = RequestKindName)]
    pub kind: String,
    /// How it arrived: `email`, `letter`, `phone`, `form`, `in_person`.
    #[schema(value_type = RequestChannelName)]
    pub channel: String,
    /// What the person asked (at most 4,000 characters).
    #[serde(default)]
    pub description: String,
    /// The person, if already identified.
    #[serde(default)]
    pub contact_id: Option<uuid::Uuid>,
    /// When it arrived: RFC 3339, or `YYYY-MM-DD`, a day in the controller's time zone (the
    /// Art. 12(3) deadline counts from that local day); now if absent. Not in the future.
    #[serde(default)]
    pub received_at: Option<String>,
}

/// A move to another status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "to": "rejected", "note": "", "reason": "Manifestly unfounded",
    "remedies": "Complaint to the Garante; judicial remedy" }))]
pub struct RequestTransition {
    /// `identity_verification`, `in_progress`, `completed` or `rejected`.
    #[schema(value_type = RequestStatusName)]
    pub to: String,
    /// For the history; on completion, what was done.
    #[serde(default)]
    pub note: String,
    /// Required to reject: why.
    #[serde(default)]
    pub reason: Option<String>,
    /// Required to reject: the person's remedies (complaint to the Garante, judicial remedy).
    #[serde(default)]
    pub remedies: Option<String>,
}

/// An extension by two further months.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "Many archives to search" }))]
pub struct RequestExtension {
    /// Why (told to the person).
    pub reason: String,
}

/// Which requests to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// `open` (received, identity verification, in progress) or one status.
    #[param(value_type = Option<RequestStatusFilter>)]
    pub status: Option<String>,
    /// Only open requests due within this many days from today (overdue ones included).
    pub due_within_days: Option<u16>,
    /// `true`: only open requests past their deadline.
    pub overdue: Option<bool>,
    /// Only this kind.
    #[param(value_type = Option<RequestKindName>)]
    pub kind: Option<String>,
    /// Only this person's.
    pub contact_id: Option<uuid::Uuid>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// At most this many (1 to 500; 100 if absent).
    pub limit: Option<u32>,
}

fn request_id(text: &str) -> Result<RequestId, ApiError> {
    uuid::Uuid::parse_str(text.trim())
        .map(RequestId)
        .map_err(|_| ApiError::NotFound("request"))
}

/// Logs a data-subject request; its deadline is one month from receipt, moved to the next working
/// day (Art. 12(3)). Answers `201 Created` with its URL in `Location`.
#[utoipa::path(
    post, path = "/v1/requests", tag = "requests", operation_id = "createRequest",
    request_body = RequestCreate,
    responses(
        (status = 201, description = "Logged", body = RequestOut,
            headers(("Location" = String, description = "The new request's URL"))),
        (status = 400, description = "A field is missing, malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused: kind, channel, received_at in the future (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn create_request(
    auth: Auth<WriteScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RequestCreate>,
) -> Result<Response, ApiError> {
    let new = NewDataRequest {
        contact_id: req.contact_id.map(consento_domain::ContactId),
        kind: RequestKind::parse(&req.kind)?,
        channel: RequestChannel::parse(&req.channel)?,
        description: req.description,
        received_at: instant(state.app.zone(), "received_at", req.received_at.as_deref())?,
        actor: auth.0.actor()?,
    };
    let r = state
        .app
        .log_request(&consento_app::audit::By::token(auth.0.token_id), new, &[])
        .await?;
    let location = format!("/v1/requests/{}", r.id);
    Ok(created(&location, RequestOut::from(r)))
}

/// Data-subject requests, most urgent first: filter by `status=open`, `overdue=true`,
/// `due_within_days`, kind or person.
#[utoipa::path(
    get, path = "/v1/requests", tag = "requests", operation_id = "listRequests",
    params(RequestQuery),
    responses(
        (status = 200, description = "A page of requests", body = RequestList),
        (status = 400, description = "A parameter is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn list_requests(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> Result<Json<RequestList>, ApiError> {
    let q = ListQuery {
        status: q.status,
        due_within_days: q.due_within_days,
        overdue: q.overdue.unwrap_or(false),
        kind: q.kind,
        contact_id: q.contact_id.map(consento_domain::ContactId),
        after: q.after,
        limit: q.limit,
    };
    let limit = usize::try_from(q.limit.unwrap_or(100).clamp(1, 500)).unwrap_or(500);
    let items = state.app.list_requests(&q).await?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|r| format!("{}.{}", r.deadline, r.id)))
        .flatten();
    Ok(Json(RequestList {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

/// One request with its history: who changed what, when.
#[utoipa::path(
    get, path = "/v1/requests/{id}", tag = "requests", operation_id = "getRequest",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = RequestDetail),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn get_request(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = request_id(&id)?;
    let d = state.app.request_detail(id).await?;
    Ok(Json(RequestDetail {
        request: d.request.into(),
        history: d.history.into_iter().map(Into::into).collect(),
    }))
}

/// Moves a request: received → identity_verification → in_progress → completed, or rejected
/// from any open status with `reason` and `remedies` (Art. 12(4)). Recorded in its history.
/// Completing a `restriction` request restricts its contact's processing (Art. 18), completing
/// an `objection` request records the contact's objection (Art. 21), in the same transaction.
#[utoipa::path(
    post, path = "/v1/requests/{id}/transitions", tag = "requests", operation_id = "moveRequest",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body = RequestTransition,
    responses(
        (status = 200, description = "Moved", body = RequestOut),
        (status = 400, description = "A field is missing, malformed or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Completing a restriction or objection request sets its contact's flag: the request has no contact (`contact_id`), or the contact was erased (`id`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The move is not allowed (`to`), or a refusal lacks `reason` or `remedies`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn move_request(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RequestTransition>,
) -> Result<Json<RequestOut>, ApiError> {
    let id = request_id(&id)?;
    let change = RequestMove {
        to: RequestStatus::parse(&req.to)?,
        note: req.note,
        reason: req.reason,
        remedies: req.remedies,
        actor: auth.0.actor()?,
    };
    let by = consento_app::audit::By::token(auth.0.token_id);
    Ok(Json(state.app.move_request(&by, id, change).await?.into()))
}

/// Extends a request's deadline by two further months (three from receipt, Art. 12(3)): once,
/// while open, within the first month, with the reason told to the person.
#[utoipa::path(
    post, path = "/v1/requests/{id}/extension", tag = "requests", operation_id = "extendRequest",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body = RequestExtension,
    responses(
        (status = 200, description = "Extended", body = RequestOut),
        (status = 400, description = "A field is missing, malformed or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, already extended, closed, or past the first month (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn extend_request(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RequestExtension>,
) -> Result<Json<RequestOut>, ApiError> {
    let id = request_id(&id)?;
    let r = state
        .app
        .extend_request(
            &consento_app::audit::By::token(auth.0.token_id),
            id,
            &req.reason,
            auth.0.actor()?,
            &[],
        )
        .await?;
    Ok(Json(r.into()))
}

/// The contact a request is linked to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "contact_id": "0190a0a0-0000-7000-8000-000000000010" }))]
pub struct RequestContact {
    /// Our id of the contact.
    pub contact_id: uuid::Uuid,
}

/// Links a request logged before the person was identified (Art. 12(6)) to their contact;
/// recorded in its history. Linking it again to the same contact changes nothing.
#[utoipa::path(
    put, path = "/v1/requests/{id}/contact", tag = "requests", operation_id = "linkRequestContact",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body = RequestContact,
    responses(
        (status = 200, description = "Linked", body = RequestOut),
        (status = 400, description = "A field is missing, malformed or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request or contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is closed or linked to another contact, or the contact was erased (`contact_id`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn link_request(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RequestContact>,
) -> Result<Json<RequestOut>, ApiError> {
    let id = request_id(&id)?;
    let r = state
        .app
        .link_request(
            &consento_app::audit::By::token(auth.0.token_id),
            id,
            consento_domain::ContactId(req.contact_id),
            auth.0.actor()?,
        )
        .await?;
    Ok(Json(r.into()))
}
