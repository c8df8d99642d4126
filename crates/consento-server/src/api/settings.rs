//! `GET`/`PUT /v1/settings`: the privacy switches that turn each consent check on (the seed's
//! "impostazioni della privacy"; rule 5 of the decision). Reading needs `read`, changing `admin`.

use axum::Json;
use axum::extract::State;
use consento_domain::PrivacySettings;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminScope, Auth, ReadScope};
use super::error::{ApiError, Problem};
use super::json::ApiJson;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, put_settings))
}

/// The privacy switches. A switched-off check lets every contact on that channel through
/// (`allowed` with rule `check_disabled`), but never past an erasure, a restriction (GDPR Art.
/// 18), an objection (Art. 21(3)) or the suppression list. All four are on in a new instance.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "check_email_single": true, "check_email_bulk": true, "check_phone": true, "check_sms": true
}))]
pub struct Settings {
    /// Every single email (`email.single`) needs a valid consent or a justified contact.
    pub check_email_single: bool,
    /// Newsletters (`email.bulk`) reach only contacts with a valid consent.
    pub check_email_bulk: bool,
    /// Every call (`phone.call`) needs a valid consent or a justified contact.
    pub check_phone: bool,
    /// SMS (`sms.single`, `sms.bulk`) need a valid consent (a reason for a single SMS).
    pub check_sms: bool,
}

impl From<PrivacySettings> for Settings {
    fn from(s: PrivacySettings) -> Self {
        Self {
            check_email_single: s.check_email_single,
            check_email_bulk: s.check_email_bulk,
            check_phone: s.check_phone,
            check_sms: s.check_sms,
        }
    }
}

impl From<Settings> for PrivacySettings {
    fn from(s: Settings) -> Self {
        Self {
            check_email_single: s.check_email_single,
            check_email_bulk: s.check_email_bulk,
            check_phone: s.check_phone,
            check_sms: s.check_sms,
        }
    }
}

/// The privacy switches now.
#[utoipa::path(
    get, path = "/v1/settings", tag = "settings", operation_id = "getSettings",
    responses(
        (status = 200, description = "The switches", body = Settings),
    ),
    security(("token" = ["read"]))
)]
async fn get_settings(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(state.store.settings().await?.into()))
}

/// Replaces the privacy switches (all four are required). Takes effect for the next decision.
#[utoipa::path(
    put, path = "/v1/settings", tag = "settings", operation_id = "updateSettings",
    request_body = Settings,
    responses(
        (status = 200, description = "The switches as now in force", body = Settings),
        (status = 400, description = "A switch is missing or not a boolean, or an unknown field was sent", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn put_settings(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Settings>,
) -> Result<Json<Settings>, ApiError> {
    let before = state.store.settings().await?;
    let after = PrivacySettings::from(req);
    let settings = state
        .app
        .audited(
            &auth.by(),
            "settings.update",
            Some(("settings", "privacy".to_owned())),
            json!({ "before": before, "after": after }),
            state.store.update_settings(after),
        )
        .await?;
    Ok(Json(settings.into()))
}
