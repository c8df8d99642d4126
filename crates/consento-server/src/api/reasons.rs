//! `/v1/reasons`: the contact reasons an operator picks from to justify reaching someone without
//! a valid consent (the seed's "motivazioni consensi espliciti"; rule 7 of the decision). Reading
//! needs `read`, creating and changing `admin`. Reasons are deactivated, never deleted: justified
//! contacts keep pointing at the reason that was given.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use consento_domain::{ContactReason, ReasonId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminScope, Auth, ReadOrDecideScope, ReadScope};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::{PathParam, created};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reasons, create_reason))
        .routes(routes!(get_reason, update_reason))
}

/// A contact reason.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190a0a0-0000-7000-8000-000000000002", "label": "Customer asked to be called back",
    "active": true, "marketing": false
}))]
pub struct ReasonOut {
    /// Its id: what `POST /v1/interactions` takes as `reason_id`.
    pub id: uuid::Uuid,
    /// The text shown in the operator's list.
    pub label: String,
    /// Only active reasons can justify a contact.
    pub active: bool,
    /// Whether contacting for this reason is direct marketing: such a reason never justifies
    /// contacting a person who objected (GDPR Art. 21(3)).
    pub marketing: bool,
}

impl From<ContactReason> for ReasonOut {
    fn from(r: ContactReason) -> Self {
        Self {
            id: r.id.0,
            label: r.label,
            active: r.active,
            marketing: r.marketing,
        }
    }
}

/// Every contact reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonList {
    /// Active reasons first, then by label.
    pub items: Vec<ReasonOut>,
}

/// A new contact reason (active).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "label": "Customer asked to be called back", "marketing": false }))]
pub struct ReasonCreate {
    /// The text shown in the list, 1 to 200 characters, unique.
    pub label: String,
    /// Whether contacting for this reason is direct marketing (GDPR Art. 21(3)).
    pub marketing: bool,
}

/// Changes to a reason: absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "active": false }))]
pub struct ReasonUpdate {
    /// A new label.
    #[serde(default)]
    pub label: Option<String>,
    /// `false` retires the reason: it can no longer be picked.
    #[serde(default)]
    pub active: Option<bool>,
    /// Whether it is direct marketing.
    #[serde(default)]
    pub marketing: Option<bool>,
}

fn reason_id(text: &str) -> Result<ReasonId, ApiError> {
    uuid::Uuid::parse_str(text.trim())
        .map(ReasonId)
        .map_err(|_| ApiError::NotFound("reason"))
}

/// Every contact reason, active first: what an operator picks from when a contact needs a reason.
/// A `decide` token may read it too (a dialer shows the list in its pop-up).
#[utoipa::path(
    get, path = "/v1/reasons", tag = "reasons", operation_id = "listReasons",
    responses(
        (status = 200, description = "Every reason", body = ReasonList),
    ),
    security(("token" = ["read"]), ("token" = ["decide"]))
)]
async fn list_reasons(
    _auth: Auth<ReadOrDecideScope>,
    State(state): State<AppState>,
) -> Result<Json<ReasonList>, ApiError> {
    let items = state.store.reasons().await?;
    Ok(Json(ReasonList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// One contact reason.
#[utoipa::path(
    get, path = "/v1/reasons/{id}", tag = "reasons", operation_id = "getReason",
    params(("id" = uuid::Uuid, Path, description = "The reason's id")),
    responses(
        (status = 200, description = "The reason", body = ReasonOut),
        (status = 404, description = "No such reason", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn get_reason(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<ReasonOut>, ApiError> {
    Ok(Json(state.store.reason(reason_id(&id)?).await?.into()))
}

/// Adds a contact reason, active. Answers `201 Created` with its URL in `Location`.
#[utoipa::path(
    post, path = "/v1/reasons", tag = "reasons", operation_id = "createReason",
    request_body = ReasonCreate,
    responses(
        (status = 201, description = "Created", body = ReasonOut,
            headers(("Location" = String, description = "The new reason's URL"))),
        (status = 400, description = "A field is missing, malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A reason with this label exists (`field`: `label`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The label is empty or too long (`field`: `label`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn create_reason(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ReasonCreate>,
) -> Result<Response, ApiError> {
    let detail = json!({ "label": req.label, "marketing": req.marketing });
    let r = state
        .app
        .audited(
            &auth.by(),
            "reason.create",
            None,
            detail,
            state.store.create_reason(&req.label, req.marketing),
        )
        .await?;
    Ok(created(
        &format!("/v1/reasons/{}", r.id),
        ReasonOut::from(r),
    ))
}

/// Changes a reason: relabel it, retire it (`active: false`) or bring it back.
#[utoipa::path(
    patch, path = "/v1/reasons/{id}", tag = "reasons", operation_id = "updateReason",
    params(("id" = uuid::Uuid, Path, description = "The reason's id")),
    request_body = ReasonUpdate,
    responses(
        (status = 200, description = "The reason as changed", body = ReasonOut),
        (status = 400, description = "A field is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reason", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another reason has this label (`field`: `label`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The label is empty or too long (`field`: `label`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn update_reason(
    auth: Auth<AdminScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ReasonUpdate>,
) -> Result<Json<ReasonOut>, ApiError> {
    let id = reason_id(&id)?;
    // What the request changes (an absent field stays as it is).
    let detail = json!({ "label": req.label, "active": req.active, "marketing": req.marketing });
    let r = state
        .app
        .audited(
            &auth.by(),
            "reason.update",
            Some(("reason", id.0.to_string())),
            detail,
            state
                .store
                .update_reason(id, req.label.as_deref(), req.active, req.marketing),
        )
        .await?;
    Ok(Json(r.into()))
}
