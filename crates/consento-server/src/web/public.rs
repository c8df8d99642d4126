//! The public pages: what the people in the CRM open from an email, with no account: the
//! unsubscribe page (RFC 8058 one-click), the preference center, the double opt-in subscription.
//!
//! Every public route passes through [`public_frame`]: the language (`?lang=`, else the
//! language cookie, else Accept-Language), a per-address request budget, and headers stricter
//! than the console's. There is no session and no CSRF token: a personal page is reached only
//! through the unguessable token in its URL, which is also what authorises its form posts, and
//! the referrer is never sent anywhere so the token cannot leak through it.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use super::page::PageError;
use super::session;
use super::subscribe;
use crate::i18n::Locale;
use crate::state::AppState;

/// Who the controller is, as the foot of every public page says it (GDPR Art. 13(1)(a)–(b):
/// the person must know who holds their data and how to reach it, not read "us"): the name
/// only when one was given (never an empty or placeholder one), and each contact detail known.
#[derive(Debug, Clone, Default)]
pub struct ControllerFooter {
    /// The controller's name, or the mail sender's fallback.
    pub name: Option<String>,
    /// Its postal address.
    pub address: Option<String>,
    /// Its email for privacy matters.
    pub email: Option<String>,
    /// How to reach its data protection officer.
    pub dpo_contact: Option<String>,
    /// Its privacy notice.
    pub privacy_notice_url: Option<String>,
}

impl ControllerFooter {
    /// The controller as named now.
    pub async fn load(state: &AppState) -> Result<Self, PageError> {
        let named = state.app.controller().await?;
        let d = named.details;
        Ok(Self {
            name: named.name_given.then_some(named.name),
            address: d.address,
            email: d.email,
            dpo_contact: d.dpo_contact,
            privacy_notice_url: d.privacy_notice_url,
        })
    }

    /// Whether nothing is known to show.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.address.is_none()
            && self.email.is_none()
            && self.dpo_contact.is_none()
            && self.privacy_notice_url.is_none()
    }
}

/// Every public route: (path, handlers). The router is built from this list; a test walks it.
pub fn public_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    use super::self_service::{preferences, unsubscribe};
    vec![
        (
            "/u/{token}",
            get(unsubscribe::show).post(unsubscribe::one_click),
        ),
        ("/p/{token}", get(preferences::show).post(preferences::save)),
        ("/subscribe", get(subscribe::form).post(subscribe::submit)),
        ("/subscribe/sent", get(subscribe::sent)),
        (
            "/confirm/{token}",
            get(subscribe::show).post(subscribe::confirm),
        ),
    ]
}

/// The public pages' router, every route behind [`public_frame`].
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for (path, handlers) in public_routes() {
        router = router.route(path, handlers);
    }
    router.layer(middleware::from_fn_with_state(state.clone(), public_frame))
}

/// The language of a public request: `?lang=` (the links on the page), else the console's
/// rules.
fn public_locale(request: &Request, default: &str) -> Locale {
    request
        .uri()
        .query()
        .and_then(|q| {
            q.split('&')
                .find_map(|p| p.strip_prefix("lang="))
                .and_then(Locale::parse)
        })
        .unwrap_or_else(|| session::request_locale(request.headers(), default))
}

/// Wraps every public request: language, rate limit, headers, error pages.
pub async fn public_frame(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let locale = public_locale(&request, &state.config.console.default_locale);
    request.extensions_mut().insert(locale);
    let request_id = request
        .extensions()
        .get::<crate::telemetry::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let client = crate::client::client_ip(&state, request.extensions(), request.headers());
    let over_budget = client.is_some_and(|ip| {
        !state
            .console
            .limiter
            .allow(ip, "public", state.config.public.requests_per_minute)
    });
    let response = if over_budget && !valid_one_click(&state, one_click_token(&request)).await {
        let mut r = PageError::TooManyRequests.into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        r
    } else {
        next.run(request).await
    };
    let mut response = super::finish(response, state.tr(locale), &request_id, "");
    let headers = response.headers_mut();
    // The URL carries the person's token: no other site may learn it from a Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    response
}

/// Whether a request is a one-click unsubscribe (`POST /u/{token}`, RFC 8058 §3.2) with a token
/// that opens an unsubscribe link. Such a request is never refused for the address's budget:
/// mailbox providers send them from shared servers, many people's at once, and a withdrawal
/// lost to a 429 would leave a person mailed against their will (GDPR Art. 7(3), Art. 21(3)).
/// A token that opens nothing stays budgeted, so that guessing tokens is as slow as before.
async fn valid_one_click(state: &AppState, token: Option<String>) -> bool {
    let Some(token) = token else {
        return false;
    };
    matches!(
        consento_app::links::open(&state.store, &token).await,
        Ok(Some(opened)) if opened.link.purpose == consento_app::links::Purpose::Unsubscribe
    )
}

/// The token of a `POST /u/{token}`.
fn one_click_token(request: &Request) -> Option<String> {
    if request.method() != Method::POST {
        return None;
    }
    let token = request.uri().path().strip_prefix("/u/")?;
    (!token.is_empty() && !token.contains('/')).then(|| token.to_owned())
}
