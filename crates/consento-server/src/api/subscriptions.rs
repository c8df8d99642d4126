//! `/v1/subscriptions`: double opt-in requests from a CRM's own sign-up form. The CRM sends the
//! address and the topics; Consento emails the person a confirmation link, and the consents are
//! given only when the person confirms (GDPR Art. 7(1): proof that the address's owner asked).
//! Needs `write`. The answer is the same whether the email was sent, held back because the
//! address was sent one too recently, or not sent because the address is suppressed: a caller
//! learns nothing about the address from it.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use consento_store::RequestSource;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, WriteScope};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::rename_field;
use crate::i18n::Locale;
use consento_app::subscriptions::{self, Ask};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create))
}

/// A person asked to subscribe.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "giulia.bianchi@example.it", "types": ["newsletter"], "name": "Giulia Bianchi",
    "locale": "it", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "ip": "203.0.113.77"
}))]
pub struct SubscriptionCreate {
    /// The address to confirm.
    pub email: String,
    /// Codes of the consent types asked for: types the preference center shows.
    pub types: Vec<String>,
    /// A name, kept only if the address is new to Consento (never written into the email).
    #[serde(default)]
    pub name: Option<String>,
    /// The language of the email and the confirmation page: `it` or `en`; the server's default
    /// language if absent.
    #[serde(default)]
    #[schema(value_type = Option<LocaleName>)]
    pub locale: Option<String>,
    /// The user agent of the person's browser on the CRM's form, as evidence of the request.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The IP address of the person on the CRM's form, as evidence of the request: only its
    /// network is kept (IPv4 /24, IPv6 /48).
    #[serde(default)]
    pub ip: Option<String>,
}

/// A language Consento writes to people in.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `Locale` is what runs.
pub enum LocaleName {
    /// Italian.
    It,
    /// English.
    En,
}

/// The request was taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionAccepted {
    /// Always `accepted`: whether an email goes out is not told (see the operation).
    pub status: &'static str,
    /// Hours a confirmation link works.
    pub confirm_hours: u32,
}

/// Asks a person to confirm a subscription (double opt-in): Consento emails them a link, valid
/// for `confirm_hours`, and records the consents (method `double_opt_in`, with the evidence of
/// the request and of the confirmation) only when they confirm from it. An address sent a
/// confirmation in the last minutes, or too often today, is not sent another; a suppressed
/// address is never sent one; the answer is the same in every case.
#[utoipa::path(
    post, path = "/v1/subscriptions", tag = "subscriptions", operation_id = "createSubscription",
    request_body = SubscriptionCreate,
    responses(
        (status = 202, description = "Taken: a confirmation email goes out unless the address is suppressed or was sent one too recently", body = SubscriptionAccepted),
        (status = 400, description = "A field is malformed or unknown: `locale`, `ip`… (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused: `email` not an address, `types` empty or naming a type the preference center does not show, `name` too long", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn create(
    auth: Auth<WriteScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SubscriptionCreate>,
) -> Result<impl IntoResponse, ApiError> {
    let locale = match req.locale.as_deref() {
        None => Locale::parse(&state.config.console.default_locale).unwrap_or(Locale::En),
        Some(tag) => {
            Locale::parse(tag).ok_or_else(|| ApiError::bad_request("locale", "must be it or en"))?
        }
    };
    let ip = req
        .ip
        .as_deref()
        .map(|ip| ip.trim().parse::<IpAddr>())
        .transpose()
        .map_err(|_| ApiError::bad_request("ip", "must be an IPv4 or IPv6 address"))?;
    // Never the address or the name: the topics and the language of the email.
    let detail = json!({ "types": req.types, "locale": locale.code() });
    let ask = Ask {
        email: req.email,
        name: req.name,
        types: req.types,
        locale,
        source: RequestSource::Api,
        requested_by: Some(auth.0.token_id.to_string()),
        user_agent: req.user_agent,
        ip,
    };
    state
        .app
        .audited(
            &auth.by(),
            "subscription.request",
            None,
            detail,
            subscriptions::request(&state.app, ask),
        )
        .await
        .map_err(|e| rename_field(e.into(), "channel", "email"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SubscriptionAccepted {
            status: "accepted",
            confirm_hours: state.app.policy().subscriptions.confirm_hours,
        }),
    ))
}
