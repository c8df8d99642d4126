//! The operator console: server-rendered pages in Italian and English for the administrator
//! who sets Consento up, the operator who emails and calls, and the DPO who audits. Pages work
//! without JavaScript (forms post, the server redirects); each page is a typed askama template
//! beside its handler.
//!
//! Every page passes through [`frame`], the one place that picks the request's language, checks
//! the CSRF token of every form post, sets the security headers, and turns a [`PageError`] into a
//! page. Every page but the login form and the stylesheet needs a signed-in [`Staff`].

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use crate::state::AppState;

mod account;
mod audit;
mod card;
mod contacts;
mod dashboard;
mod erasure;
mod fields;
mod held;
mod imports;
mod newsletter;
pub mod page;
pub mod public;
mod requests;
mod retention;
mod rpo;
mod rules;
mod self_service;
pub mod session;
pub mod setup;
mod subscribe;

pub use page::{Page, PageError};
pub use session::Staff;

use crate::i18n::Tr;
use page::{Failed, FailedMessage};

/// A console route: its path, whether it is public (no session), and its handlers.
pub struct ConsoleRoute {
    /// The path, with `{name}` segments.
    pub path: &'static str,
    /// Whether it is served without a session.
    pub public: bool,
    /// Its handlers.
    pub handlers: MethodRouter<AppState>,
}

fn route(path: &'static str, handlers: MethodRouter<AppState>) -> ConsoleRoute {
    ConsoleRoute {
        path,
        public: false,
        handlers,
    }
}

fn public(path: &'static str, handlers: MethodRouter<AppState>) -> ConsoleRoute {
    ConsoleRoute {
        path,
        public: true,
        handlers,
    }
}

/// Every console route. The router is built from this list, and a test walks it: every route
/// that is not public sends a visitor without a session to the login page.
pub fn console_routes() -> Vec<ConsoleRoute> {
    vec![
        public("/login", get(account::login_form).post(account::login)),
        public("/language", post(account::language)),
        public("/assets/consento.css", get(stylesheet)),
        route("/logout", post(account::logout)),
        route(
            "/account/password",
            get(account::password_form).post(account::change_password),
        ),
        route("/", get(dashboard::show)),
        route(
            "/setup/controller",
            get(setup::controller::show).post(setup::controller::save),
        ),
        route(
            "/setup/privacy",
            get(setup::privacy::show).post(setup::privacy::save),
        ),
        route("/setup/types", get(setup::types::list)),
        route(
            "/setup/types/new",
            get(setup::types::new).post(setup::types::create),
        ),
        route(
            "/setup/types/{code}",
            get(setup::types::edit).post(setup::types::update),
        ),
        route(
            "/setup/reasons",
            get(setup::reasons::list).post(setup::reasons::create),
        ),
        route(
            "/setup/reasons/{id}",
            get(setup::reasons::edit).post(setup::reasons::update),
        ),
        route(
            "/setup/notices",
            get(setup::notices::list).post(setup::notices::publish),
        ),
        route(
            "/setup/users",
            get(setup::users::list).post(setup::users::create),
        ),
        route(
            "/setup/users/{id}",
            get(setup::users::edit).post(setup::users::update),
        ),
        route(
            "/setup/users/{id}/password",
            post(setup::users::reset_password),
        ),
        route("/contacts", get(contacts::list).post(contacts::create)),
        route("/contacts/new", get(contacts::new_form)),
        route("/contacts/{id}", get(card::show)),
        route(
            "/contacts/{id}/edit",
            get(contacts::edit_form).post(contacts::update),
        ),
        route("/contacts/{id}/consents", post(card::save_consents)),
        route("/contacts/{id}/provenance", post(card::save_provenance)),
        route("/contacts/{id}/restriction", post(card::restriction)),
        route("/contacts/{id}/objection", post(card::objection)),
        route("/contacts/{id}/channel", post(card::channel)),
        route("/contacts/{id}/moment", post(card::moment)),
        route("/contacts/{id}/export.json", get(card::export_json)),
        route("/contacts/{id}/export.csv", get(card::export_csv)),
        route("/contacts/{id}/receipts/{event}", get(card::receipt)),
        route("/contacts/{id}/justify", post(card::justify)),
        route("/contacts/{id}/customer", post(card::customer)),
        route("/contacts/{id}/directory", post(card::directory)),
        route("/contacts/{id}/call-requests", post(card::call_request)),
        route("/contacts/{id}/calls", post(card::call_outcome)),
        route(
            "/contacts/{id}/erase",
            get(erasure::confirm).post(erasure::erase),
        ),
        route("/consents/expiring", get(dashboard::expiring)),
        route("/newsletter", get(newsletter::show)),
        route("/newsletter/export.csv", get(newsletter::export)),
        route("/audit", get(audit::show)),
        route("/requests", get(requests::list).post(requests::create)),
        route("/requests/{id}", get(requests::show)),
        route("/requests/{id}/move", post(requests::move_to)),
        route("/requests/{id}/extension", post(requests::extend)),
        route("/requests/{id}/contact", post(requests::link)),
        route("/retention", get(retention::show).post(retention::apply)),
        route("/rules", get(rules::list).post(rules::create)),
        route("/rules/{id}", get(rules::show)),
        route("/rules/{id}/apply", post(rules::apply)),
        route("/rules/{id}/delete", post(rules::delete)),
        route("/rules/runs/{id}/revert", post(rules::revert)),
        route(
            "/imports",
            get(imports::list)
                .post(imports::upload)
                .layer(imports::upload_limit()),
        ),
        route("/imports/{id}", get(imports::show)),
        route("/rpo", get(rpo::show)),
        route("/rpo/due.txt", get(rpo::due)),
        route("/rpo/answers", post(rpo::import).layer(rpo::upload_limit())),
        route("/rpo/campaign.csv", get(rpo::campaign_csv)),
        route("/held", get(held::list)),
        route("/held/{token}", get(held::open)),
        route("/held/{id}/release", post(held::release)),
        route("/held/{id}/drop", post(held::drop)),
    ]
}

/// The console's router, every route behind [`frame`].
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for r in console_routes() {
        router = router.route(r.path, r.handlers);
    }
    router.layer(middleware::from_fn_with_state(state.clone(), frame))
}

/// The largest form body the console accepts (a contact card with every field fits in a few KiB).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Wraps every console request: the language, the CSRF check of form posts, the security
/// headers, and error pages.
pub async fn frame(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let locale = session::request_locale(request.headers(), &state.config.console.default_locale);
    request.extensions_mut().insert(locale);
    // The error page's language switch posts too: it needs this visitor's token.
    let csrf = session::expected_csrf(request.headers()).unwrap_or_default();
    let request_id = request
        .extensions()
        .get::<crate::telemetry::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    if request.method() == Method::POST {
        request = match check_csrf(request).await {
            Ok(request) => request,
            Err(e) => return finish(e.into_response(), state.tr(locale), &request_id, &csrf),
        };
    }
    let response = next.run(request).await;
    finish(response, state.tr(locale), &request_id, &csrf)
}

/// Refuses a form post that came from another site or lacks this session's token; gives back
/// the request with its body, which had to be read to find the token.
async fn check_csrf(request: Request) -> Result<Request, PageError> {
    let (parts, body) = request.into_parts();
    // A browser names the page a post came from; another site's page is refused outright.
    if let Some(origin) = parts.headers.get(header::ORIGIN)
        && !same_origin(origin, &parts.headers)
    {
        return Err(PageError::Csrf);
    }
    let expected = session::expected_csrf(&parts.headers).ok_or(PageError::Csrf)?;
    // A file upload (multipart) is streamed to its handler, not read here: its token comes in
    // the form's action URL (`?csrf=…`), next to the Origin check above.
    let multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let given = parts.uri.query().and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
        });
        return match given {
            Some(given) if session::same_token(&given, &expected) => {
                Ok(Request::from_parts(parts, body))
            }
            _ => Err(PageError::Csrf),
        };
    }
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| PageError::Refused {
            field: "form".to_owned(),
            taken: false,
        })?;
    let urlencoded = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let given = if urlencoded {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
    } else {
        parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match given {
        Some(given) if session::same_token(&given, &expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(PageError::Csrf),
    }
}

fn same_origin(origin: &HeaderValue, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .is_some_and(|(_, authority)| authority == host)
}

/// Renders an error page if the handler failed, and adds the security headers.
pub(crate) fn finish(mut response: Response, tr: Tr, request_id: &str, csrf: &str) -> Response {
    if let Some(failed) = response.extensions_mut().remove::<Failed>() {
        // The page replaces the bare answer, but not what it tells the client: when to try
        // again after a 429 or 503 (RFC 9110 §10.2.3, RFC 6585 §4).
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        response = error_page(&failed, tr, request_id, csrf);
        if let Some(v) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    let headers = response.headers_mut();
    // Only our own stylesheet; no scripts; no framing (clickjacking); forms post here only.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages show personal data: no shared or back-button cache keeps them.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    message: String,
}

fn error_page(failed: &Failed, tr: Tr, request_id: &str, csrf: &str) -> Response {
    let message = match &failed.message {
        FailedMessage::Key(key) => tr.t(key),
        FailedMessage::Invalid { field, reason } => tr.args(
            "error-invalid",
            &[
                (
                    "field",
                    crate::i18n::Arg::Text(fields::field_label(tr, field).into()),
                ),
                ("reason", crate::i18n::Arg::Text(reason.as_str().into())),
            ],
        ),
        FailedMessage::Refused { field, taken } => tr.with(
            if *taken {
                "error-taken"
            } else {
                "error-refused"
            },
            "field",
            &fields::field_label(tr, field),
        ),
        FailedMessage::Internal => tr.with("error-internal", "id", request_id),
    };
    let template = ErrorPage {
        page: Page {
            tr,
            user: None,
            csrf: csrf.to_owned(),
            section: "",
            path: "/".to_owned(),
            notice: None,
            warning: None,
            public: csrf.is_empty(),
        },
        message,
    };
    match page::render(&template) {
        Ok(mut response) => {
            *response.status_mut() = failed.status;
            response
        }
        Err(_) => (failed.status, "error").into_response(),
    }
}

/// The console's one stylesheet, compiled in.
async fn stylesheet() -> impl IntoResponse {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/consento.css"),
    )
}
