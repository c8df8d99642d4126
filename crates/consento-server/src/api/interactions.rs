//! Justified contacts (rule 7 of the decision): `POST /v1/interactions` records that an operator
//! reaches someone without a valid consent, for a reason picked from the active list (scope
//! `decide`, like the decision asked just before); `GET /v1/contacts/{id}/interactions` lists a
//! contact's justified contacts (scope `read`). A reason never overrides a block, and under an
//! objection to direct marketing only a reason that is not marketing qualifies (GDPR Art. 21(3)).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use consento_app::AppError;
use consento_domain::{DomainError, ReasonId, Timestamp};
use consento_store::{ContactRef, Interaction, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, DecideScope, ReadScope};
use super::decisions::{CauseName, DecisionResponse};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::model::{ActionName, ContactSelector, action};
use super::params::{PathParam, contact_id};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(justify))
        .routes(routes!(list_interactions))
}

/// The longest operator handle.
const MAX_OPERATOR: usize = 64;

/// A justified contact to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "contact": { "phone": "+39 347 123 4567" }, "action": "phone.call",
    "reason_id": "0190a0a0-0000-7000-8000-000000000002",
    "note": "called back about order 1182", "operator": "m.bianchi"
}))]
pub struct InteractionRequest {
    /// The contact.
    pub contact: ContactSelector,
    /// The channel: a single contact (`email.single`, `phone.call`, `sms.single`); bulk sends are
    /// never justified one by one.
    #[schema(value_type = ActionName)]
    pub action: String,
    /// The reason picked, from `GET /v1/reasons`: it must be active, and not marketing when the
    /// person objected to direct marketing.
    pub reason_id: uuid::Uuid,
    /// The operator's note, at most 2000 characters. Keep personal data out of it.
    #[serde(default)]
    pub note: Option<String>,
    /// The CRM user who makes the contact, by their handle in the CRM (1 to 64 letters, digits,
    /// `.`, `_`, `-`, `@`). Recorded beside the calling token.
    #[serde(default)]
    pub operator: Option<String>,
}

/// A recorded justified contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// The channel.
    #[schema(value_type = ActionName)]
    pub action: &'static str,
    /// Why a reason was needed: the decision's cause (`no_consent`, `withdrawn`, `objected`…).
    #[schema(value_type = Option<CauseName>)]
    pub cause: Option<String>,
    /// The reason given.
    pub reason_id: Option<uuid::Uuid>,
    /// Its label.
    pub reason_label: Option<String>,
    /// The operator's note.
    pub note: Option<String>,
    /// Who: `token:<token id>`, followed by `;operator:<handle>` when the integration named its
    /// user.
    pub operator: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
}

impl From<Interaction> for InteractionOut {
    fn from(i: Interaction) -> Self {
        Self {
            id: i.id,
            contact_id: i.contact_id.0,
            action: i.action.code(),
            cause: i.cause,
            reason_id: i.reason_id.map(|r| r.0),
            reason_label: i.reason_label,
            note: i.note,
            operator: i.operator,
            occurred_at: i.occurred_at,
        }
    }
}

/// The answer: the decision at the moment of the contact, and the justified contact recorded
/// when one was needed.
#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionResponse {
    /// Whether a justified contact was recorded (`false`: the contact is allowed without one).
    pub recorded: bool,
    /// The decision the request was checked against.
    pub decision: DecisionResponse,
    /// The justified contact, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction: Option<InteractionOut>,
}

/// A contact's justified contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionList {
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// Newest first.
    pub items: Vec<InteractionOut>,
}

/// Who is recorded as making the contact: the token, and the CRM user it names.
fn operator(token: uuid::Uuid, handle: Option<&str>) -> Result<String, ApiError> {
    let Some(handle) = handle.map(str::trim) else {
        return Ok(format!("token:{token}"));
    };
    let ok = !handle.is_empty()
        && handle.chars().count() <= MAX_OPERATOR
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if !ok {
        return Err(ApiError::unprocessable(
            "operator",
            "must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
        ));
    }
    Ok(format!("token:{token};operator:{handle}"))
}

/// Records a justified contact: reaching a person without a valid consent for a reason from the
/// list (rule 7 of the decision). Ask `POST /v1/decisions` first: when it says
/// `needs_justification`, send the reason here before making the contact. When the contact turns
/// out to be allowed anyway, nothing is recorded and the answer is `200` with the decision.
#[utoipa::path(
    post, path = "/v1/interactions", tag = "interactions", operation_id = "recordInteraction",
    request_body = InteractionRequest,
    responses(
        (status = 201, description = "Recorded: the contact may proceed", body = InteractionResponse),
        (status = 200, description = "Nothing to justify: the contact is allowed (see `decision`)", body = InteractionResponse),
        (status = 400, description = "A field is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused: the reason is unknown, inactive, or marketing under an objection (`field`: `reason_id`); the contact is blocked and no reason can override it (`field`: `action`); or the `operator` or `note` is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["decide"]))
)]
async fn justify(
    auth: Auth<DecideScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<InteractionRequest>,
) -> Result<(StatusCode, Json<InteractionResponse>), ApiError> {
    let contact = req.contact.reference("contact.")?;
    let act = action("action", &req.action)?;
    let operator = operator(auth.0.token_id, req.operator.as_deref())?;
    let (report, interaction) = state
        .app
        .justify(
            &consento_app::audit::By::token(auth.0.token_id),
            &contact,
            act,
            ReasonId(req.reason_id),
            req.note.as_deref(),
            &operator,
        )
        .await
        .map_err(|e| match e {
            AppError::Store(StoreError::NotFound { entity: "reason" }) => {
                ApiError::unprocessable("reason_id", "no contact reason has this id")
            }
            AppError::Store(StoreError::Invalid(DomainError::Invalid {
                field: "reason",
                reason,
            })) => ApiError::unprocessable("reason_id", reason),
            other => other.into(),
        })?;
    let status = if interaction.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(InteractionResponse {
            recorded: interaction.is_some(),
            decision: report.into(),
            interaction: interaction.map(Into::into),
        }),
    ))
}

/// A contact's justified contacts, newest first.
#[utoipa::path(
    get, path = "/v1/contacts/{id}/interactions", tag = "interactions", operation_id = "listInteractions",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "Newest first", body = InteractionList),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn list_interactions(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<InteractionList>, ApiError> {
    let id = contact_id(&id)?;
    let items = state.store.interactions(&ContactRef::Id(id)).await?;
    Ok(Json(InteractionList {
        contact_id: id.0,
        items: items.into_iter().map(Into::into).collect(),
    }))
}
