//! `/v1/consent-types`: the kinds of consent a person can give (the seed's "tipologie di
//! consenso"): title, unique code, description, validity in days, and what a valid consent of
//! the type permits. Reading needs `read`, creating and changing `admin`. A type's code is
//! unique and cannot change once a consent of the type is in the ledger (the ledger cites it),
//! nor can its purpose (the consents were given for it);
//! a change of validity applies to consents given afterwards, never rewriting old proof.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use consento_domain::{Action, ConsentCode, ConsentTypeSpec, Permissions, Purpose, Timestamp};
use consento_store::ConsentType;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminScope, Auth, ReadScope};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::model::{ActionName, PurposeName, action};
use super::params::{PathParam, created, nullable, rename_field};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_types, create_type))
        .routes(routes!(get_type, update_type))
}

/// A consent type.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190a0a0-0000-7000-8000-000000000001", "code": "newsletter", "title": "Newsletter",
    "description": "Our monthly newsletter", "validity_days": 730,
    "permits": ["email.bulk", "email.single"], "show_in_preference_center": true,
    "purpose": "marketing", "categories": [],
    "created_at": "2025-03-01T09:00:00Z", "updated_at": "2025-03-01T09:00:00Z"
}))]
pub struct ConsentTypeOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// The unique code integrations use (`A–Z a–z 0–9 _ - .`, 1 to 64 characters).
    pub code: String,
    /// The title shown to operators and, in the preference center, to the person.
    pub title: String,
    /// A longer description, if any.
    pub description: Option<String>,
    /// Days a consent stays valid after it is given or renewed; `null` = it never expires.
    pub validity_days: Option<u32>,
    /// The actions a valid consent of this type allows.
    #[schema(value_type = Vec<ActionName>)]
    pub permits: Vec<&'static str>,
    /// Whether the preference center offers this type as a topic.
    pub show_in_preference_center: bool,
    /// What its consents are for.
    #[schema(value_type = PurposeName)]
    pub purpose: &'static str,
    /// For `third_party`: the product categories the disclosure covers; empty otherwise.
    pub categories: Vec<String>,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it was last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// The actions `p` permits, in the order of the action list.
pub(super) fn permits(p: Permissions) -> Vec<&'static str> {
    Action::ALL
        .iter()
        .filter(|a| p.permits(**a))
        .map(|a| a.code())
        .collect()
}

impl From<ConsentType> for ConsentTypeOut {
    fn from(t: ConsentType) -> Self {
        Self {
            id: t.id.0,
            code: t.spec.code.as_str().to_owned(),
            title: t.spec.title,
            description: t.spec.description,
            validity_days: t.spec.validity_days,
            permits: permits(t.spec.permissions),
            show_in_preference_center: t.spec.show_in_preference_center,
            purpose: t.spec.purpose.code(),
            categories: t.spec.purpose.categories().to_vec(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// Every consent type.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentTypeList {
    /// By title.
    pub items: Vec<ConsentTypeOut>,
}

/// A new consent type.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "newsletter", "title": "Newsletter", "validity_days": 730,
    "permits": ["email.bulk", "email.single"], "show_in_preference_center": true
}))]
pub struct ConsentTypeCreate {
    /// The unique code (`A–Z a–z 0–9 _ - .`, 1 to 64 characters); fixed once a consent of the
    /// type is recorded.
    pub code: String,
    /// The title, 1 to 200 characters.
    pub title: String,
    /// A longer description, at most 2000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Days a consent stays valid after it is given or renewed (1 to 36500); absent or `null` =
    /// it never expires.
    #[serde(default)]
    pub validity_days: Option<u32>,
    /// The actions a valid consent of this type allows: at least one (a type that permits
    /// nothing is refused, 422 naming `permits`).
    #[serde(default)]
    #[schema(value_type = Vec<ActionName>)]
    pub permits: Vec<String>,
    /// Whether the preference center offers this type as a topic; false if absent.
    #[serde(default)]
    pub show_in_preference_center: bool,
    /// What its consents are for; `marketing` if absent. Fixed once a consent of the type is
    /// recorded.
    #[serde(default)]
    #[schema(value_type = Option<PurposeName>)]
    pub purpose: Option<String>,
    /// For `third_party`, the product categories the disclosure covers (`telephony`, `energy`,
    /// `insurance`…): at least one, as a disclosure to anyone for anything is not specific
    /// consent (422 naming `categories`). Refused for other purposes.
    #[serde(default)]
    pub categories: Vec<String>,
}

/// Changes to a consent type: absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "validity_days": 365 }))]
pub struct ConsentTypeUpdate {
    /// A new code; refused with 409 once a consent of the type is in the ledger.
    #[serde(default)]
    pub code: Option<String>,
    /// A new title.
    #[serde(default)]
    pub title: Option<String>,
    /// A new description; `null` or `""` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// A new validity in days for consents given from now on (those already given keep theirs);
    /// `null` = never expires.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub validity_days: Option<Option<u32>>,
    /// The actions a valid consent allows, replacing the whole list; at least one.
    #[serde(default)]
    #[schema(value_type = Option<Vec<ActionName>>)]
    pub permits: Option<Vec<String>>,
    /// Whether the preference center offers this type as a topic.
    #[serde(default)]
    pub show_in_preference_center: Option<bool>,
    /// A new purpose; refused with 409 once a consent of the type is in the ledger.
    #[serde(default)]
    #[schema(value_type = Option<PurposeName>)]
    pub purpose: Option<String>,
    /// New product categories (with `purpose` `third_party`), replacing the whole list.
    #[serde(default)]
    pub categories: Option<Vec<String>>,
}

/// The store's refusal, its permissions named as this API names them (`permits`).
fn refused(e: consento_app::AppError) -> ApiError {
    rename_field(e.into(), "permissions", "permits")
}

fn permissions(list: &[String]) -> Result<Permissions, ApiError> {
    let mut p = Permissions::default();
    for (i, text) in list.iter().enumerate() {
        p.set(action(&format!("permits[{i}]"), text)?, true);
    }
    Ok(p)
}

/// Every consent type, by title.
#[utoipa::path(
    get, path = "/v1/consent-types", tag = "consent types", operation_id = "listConsentTypes",
    responses(
        (status = 200, description = "Every consent type", body = ConsentTypeList),
    ),
    security(("token" = ["read"]))
)]
async fn list_types(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
) -> Result<Json<ConsentTypeList>, ApiError> {
    let items = state.store.consent_types().await?;
    Ok(Json(ConsentTypeList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// One consent type, by code.
#[utoipa::path(
    get, path = "/v1/consent-types/{code}", tag = "consent types", operation_id = "getConsentType",
    params(("code" = String, Path, description = "The type's code", example = "newsletter")),
    responses(
        (status = 200, description = "The consent type", body = ConsentTypeOut),
        (status = 404, description = "No consent type has this code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn get_type(
    _auth: Auth<ReadScope>,
    PathParam(code): PathParam,
    State(state): State<AppState>,
) -> Result<Json<ConsentTypeOut>, ApiError> {
    Ok(Json(state.store.consent_type(&code).await?.into()))
}

/// Creates a consent type. Answers `201 Created` with its URL in `Location`.
#[utoipa::path(
    post, path = "/v1/consent-types", tag = "consent types", operation_id = "createConsentType",
    request_body = ConsentTypeCreate,
    responses(
        (status = 201, description = "Created", body = ConsentTypeOut,
            headers(("Location" = String, description = "The new type's URL"))),
        (status = 400, description = "A field is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A consent type with this code already exists, in any case: `PROMO_SMS` beside `promo_sms` is the same code (`field`: `code`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused: `code`, `title`, `description`, `validity_days`, `permits` empty, `purpose` unknown, or `categories` missing for `third_party` or given for another purpose", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn create_type(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ConsentTypeCreate>,
) -> Result<Response, ApiError> {
    let spec = ConsentTypeSpec {
        code: ConsentCode::parse(&req.code)?,
        title: req.title,
        description: req.description,
        validity_days: req.validity_days,
        permissions: permissions(&req.permits)?,
        show_in_preference_center: req.show_in_preference_center,
        purpose: Purpose::parse(
            req.purpose.as_deref().unwrap_or("marketing"),
            &req.categories,
        )?,
    };
    let detail = json!({ "after": spec });
    let t = state
        .app
        .audited(
            &auth.by(),
            "consent_type.create",
            None,
            detail,
            state.store.create_consent_type(spec),
        )
        .await
        .map_err(refused)?;
    let location = format!("/v1/consent-types/{}", t.spec.code);
    Ok(created(&location, ConsentTypeOut::from(t)))
}

/// Changes a consent type; absent fields stay as they are. A new validity applies to consents
/// given from now on: each recorded consent keeps the validity it was given under.
#[utoipa::path(
    patch, path = "/v1/consent-types/{code}", tag = "consent types", operation_id = "updateConsentType",
    params(("code" = String, Path, description = "The type's current code", example = "newsletter")),
    request_body = ConsentTypeUpdate,
    responses(
        (status = 200, description = "The type as changed", body = ConsentTypeOut),
        (status = 400, description = "A field is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No consent type has this code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new code is taken, or the type is in use and its code or purpose cannot change (`field`: `code` or `purpose`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn update_type(
    auth: Auth<AdminScope>,
    PathParam(code): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ConsentTypeUpdate>,
) -> Result<Json<ConsentTypeOut>, ApiError> {
    let current = state.store.consent_type(&code).await?;
    let current_code = current.spec.code.as_str().to_owned();
    let mut spec = current.spec.clone();
    if let Some(c) = req.code {
        spec.code = ConsentCode::parse(&c)?;
    }
    if let Some(t) = req.title {
        spec.title = t;
    }
    if let Some(d) = req.description {
        spec.description = d;
    }
    if let Some(v) = req.validity_days {
        spec.validity_days = v;
    }
    if let Some(p) = req.permits {
        spec.permissions = permissions(&p)?;
    }
    if let Some(s) = req.show_in_preference_center {
        spec.show_in_preference_center = s;
    }
    if req.purpose.is_some() || req.categories.is_some() {
        let code = req.purpose.as_deref().unwrap_or(spec.purpose.code());
        let categories = match (&req.categories, &req.purpose) {
            (Some(c), _) => c.clone(),
            // A new purpose without categories: none carried over from the old one.
            (None, Some(_)) => Vec::new(),
            (None, None) => spec.purpose.categories().to_vec(),
        };
        spec.purpose = Purpose::parse(code, &categories)?;
    }
    let detail = json!({ "before": current.spec, "after": spec });
    let t = state
        .app
        .audited(
            &auth.by(),
            "consent_type.update",
            Some(("consent_type", current.id.0.to_string())),
            detail,
            state.store.update_consent_type(&current_code, spec),
        )
        .await
        .map_err(refused)?;
    Ok(Json(t.into()))
}
