//! Operations: liveness (`/healthz`), readiness (`/readyz`: the database answers and carries
//! every migration; its body also lists the data controller's details still missing, which do
//! not make the server unready), Prometheus metrics, and the OpenAPI document itself. The probes
//! are public (a load balancer has no token); the metrics need `read`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope};
use super::error::ApiError;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is wrong.
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "getHealth", security(()),
    responses((status = 200, description = "Alive", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// A detail of the data controller that people must be told (GDPR Art. 13(1)(a)–(b)).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `ControllerField` is what runs.
pub enum ControllerDetailName {
    /// The controller's name.
    Name,
    /// Its postal address.
    Address,
    /// Its contact email.
    Email,
    /// How to reach its data protection officer.
    DpoContact,
    /// Where its privacy notice is published.
    PrivacyNoticeUrl,
}

/// The readiness probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok`, or what is wrong.
    pub status: &'static str,
    /// When ready: the data controller's details not given yet (`name`, `address`, `email`,
    /// `dpo_contact`, `privacy_notice_url`), empty once every one is. Missing details do not
    /// make the server unready (people's rights are served meanwhile, naming a placeholder):
    /// they are for the operator to give, on the console's first-run page or with `consento
    /// init`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Vec<ControllerDetailName>>)]
    pub controller_missing: Option<Vec<&'static str>>,
}

impl Readiness {
    fn not(status: &'static str) -> (StatusCode, Json<Self>) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Self {
                status,
                controller_missing: None,
            }),
        )
    }
}

/// Readiness: the database answers and its schema is this binary's; the body lists the
/// controller's details still missing.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "getReadiness", security(()),
    responses(
        (status = 200, description = "Ready (with the controller's details still missing, if any)", body = Readiness),
        (status = 503, description = "Not ready: the database is unreachable or not migrated", body = Readiness),
    ))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    match state.store.ready().await {
        Ok(true) => {}
        Ok(false) => return Readiness::not("migrations pending"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            return Readiness::not("database unreachable");
        }
    }
    match state.app.controller().await {
        Ok(named) => (
            StatusCode::OK,
            Json(Readiness {
                status: "ok",
                controller_missing: Some(named.missing().iter().map(|f| f.code()).collect()),
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Readiness::not("database unreachable")
        }
    }
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "getMetrics",
    responses((status = 200, description = "Metrics", content_type = "text/plain", body = String)),
    security(("token" = ["read"])))]
async fn metrics(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let text = state.metrics.render(&state.store).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use consento_domain::ControllerField;

    #[test]
    fn the_documented_controller_details_are_the_domains() {
        let documented = [
            ControllerDetailName::Name,
            ControllerDetailName::Address,
            ControllerDetailName::Email,
            ControllerDetailName::DpoContact,
            ControllerDetailName::PrivacyNoticeUrl,
        ]
        .map(|d| serde_json::to_value(d).unwrap());
        let codes = ControllerField::ALL.map(|f| serde_json::Value::from(f.code()));
        assert_eq!(documented, codes);
    }
}
