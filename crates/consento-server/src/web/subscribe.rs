//! The public double opt-in pages: the subscription form (`/subscribe`), the page that says a
//! link is on its way (`/subscribe/sent`), and the confirmation page the emailed link opens
//! (`/confirm/{token}`). The logic is [`consento_app::subscriptions`], shared with the API.
//!
//! The form answers the same whatever became of the request (sent, too soon after another,
//! suppressed address): nothing reveals whether an address is known. Opening the link (a GET,
//! which mail scanners also do) only shows a button; the consent is given by the POST that
//! button sends.

use crate::client::ClientIp;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use consento_domain::{DomainError, Email};
use consento_store::{RequestSource, StoreError};

use super::page::{Page, PageError, render, see_other};
use crate::i18n::{Locale, Tr};
use crate::state::AppState;
use crate::web::public::ControllerFooter;
use consento_app::subscriptions::{self, Ask, Confirmed};

/// A topic on the form.
pub struct Topic {
    /// The consent type's code (the checkbox's value).
    pub code: String,
    /// Its title.
    pub title: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Ticked.
    pub checked: bool,
}

/// `GET /subscribe` and the form again with its errors.
#[derive(Template)]
#[template(path = "subscribe.html")]
struct SubscribePage {
    page: Page,
    action: String,
    topics: Vec<Topic>,
    email: String,
    name: String,
    errors: Vec<(&'static str, String)>,
    notice_url: Option<String>,
    /// Who the controller is.
    controller: ControllerFooter,
}

impl SubscribePage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e)
    }
}

/// `GET /subscribe/sent`.
#[derive(Template)]
#[template(path = "subscribe_sent.html")]
struct SentPage {
    page: Page,
    hours: i64,
    /// Who the controller is.
    controller: ControllerFooter,
}

impl SentPage {
    fn expiry(&self) -> String {
        self.page
            .tr
            .count_named("subscribe-sent-expiry", "hours", self.hours)
    }
}

/// `GET /confirm/{token}` in each of its states.
#[derive(Template)]
#[template(path = "subscribe_confirm.html")]
struct ConfirmPage {
    page: Page,
    /// `pending`, `confirmed`, `expired` or `unknown`.
    state: &'static str,
    /// The key of the page's title.
    title: String,
    action: String,
    topics: Vec<String>,
    subscribe_again: String,
    notice: Option<(String, Option<String>)>,
    expires: String,
    /// Who the controller is.
    controller: ControllerFooter,
}

fn lang_query(locale: Locale) -> String {
    format!("?lang={}", locale.code())
}

async fn form_page(
    state: &AppState,
    tr: Tr,
    email: String,
    name: String,
    ticked: &[String],
    errors: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    let topics = subscriptions::topics(&state.app)
        .await?
        .into_iter()
        .map(|t| Topic {
            checked: ticked.iter().any(|c| c == t.spec.code.as_str()),
            code: t.spec.code.as_str().to_owned(),
            title: t.spec.title,
            description: t.spec.description,
        })
        .collect();
    let notice_url = subscriptions::notice(&state.app, tr.locale)
        .await?
        .and_then(|n| n.url);
    let invalid = !errors.is_empty();
    let mut response = render(&SubscribePage {
        page: Page::public(tr, &format!("/subscribe{}", lang_query(tr.locale))),
        action: format!("/subscribe{}", lang_query(tr.locale)),
        topics,
        email,
        name,
        errors,
        notice_url,
        controller: ControllerFooter::load(state).await?,
    })?;
    if invalid {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `GET /subscribe`: the form (an address, an optional name, the topics).
pub async fn form(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
) -> Result<Response, PageError> {
    form_page(
        &state,
        state.tr(locale),
        String::new(),
        String::new(),
        &[],
        Vec::new(),
    )
    .await
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `POST /subscribe`: records the request and enqueues the confirmation email, then sends the
/// browser to the page that says a link is on its way, whatever became of it.
pub async fn submit(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let tr = state.tr(locale);
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let email = field("email");
    let name = field("name");
    let ticked: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "topic")
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    let mut errors = Vec::new();
    if Email::parse(&email).is_err() {
        errors.push(("email", tr.t("subscribe-error-email")));
    }
    if name.chars().count() > 200 {
        errors.push(("name", tr.t("subscribe-error-name")));
    }
    if ticked.is_empty() {
        errors.push(("topics", tr.t("subscribe-error-topics")));
    }
    if !errors.is_empty() {
        return form_page(&state, tr, email, name, &ticked, errors).await;
    }
    let ask = Ask {
        email: email.clone(),
        name: (!name.is_empty()).then(|| name.clone()),
        types: ticked.clone(),
        locale,
        source: RequestSource::Form,
        requested_by: None,
        user_agent: user_agent(&headers),
        ip: client,
    };
    match subscriptions::request(&state.app, ask).await {
        Ok(_) => Ok(see_other(&format!("/subscribe/sent{}", lang_query(locale)))),
        Err(StoreError::Invalid(DomainError::Invalid { field, .. })) => {
            let error = match field {
                "email" => ("email", tr.t("subscribe-error-email")),
                "name" => ("name", tr.t("subscribe-error-name")),
                _ => ("topics", tr.t("subscribe-error-topics")),
            };
            form_page(&state, tr, email, name, &ticked, vec![error]).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /subscribe/sent`: a link is on its way if the address can receive our emails.
pub async fn sent(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
) -> Result<Response, PageError> {
    let tr = state.tr(locale);
    render(&SentPage {
        page: Page::public(tr, "/subscribe/sent"),
        hours: i64::from(state.app.policy().subscriptions.confirm_hours),
        controller: ControllerFooter::load(&state).await?,
    })
}

/// `GET /confirm/{token}`: what the link is for, with a button; or that it was confirmed, ran
/// out, or is not a link of ours. Never changes anything.
pub async fn show(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    confirm_page(&state, locale, &token).await
}

async fn confirm_page(
    state: &AppState,
    locale: Locale,
    token: &str,
) -> Result<Response, PageError> {
    let tr = state.tr(locale);
    let request = subscriptions::find(&state.app, token).await?;
    let now = state.store.now();
    let (status, which) = match &request {
        None => (StatusCode::NOT_FOUND, "unknown"),
        Some(r) if r.confirmed_at.is_some() => (StatusCode::OK, "confirmed"),
        Some(r) if r.expires_at <= now => (StatusCode::GONE, "expired"),
        Some(_) => (StatusCode::OK, "pending"),
    };
    let titles = match &request {
        Some(r) if which != "unknown" => {
            let types = subscriptions::topics(&state.app).await?;
            r.type_codes
                .iter()
                .map(|code| {
                    types
                        .iter()
                        .find(|t| t.spec.code.as_str() == code)
                        .map_or_else(|| code.clone(), |t| t.spec.title.clone())
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let notice = if which == "pending" {
        subscriptions::notice(&state.app, locale)
            .await?
            .map(|n| (n.version, n.url))
    } else {
        None
    };
    let path = format!("/confirm/{token}");
    let mut response = render(&ConfirmPage {
        page: Page::public(tr, &path),
        state: which,
        title: format!("subscribe-confirm-{which}-title"),
        action: format!("{path}{}", lang_query(locale)),
        topics: titles,
        subscribe_again: format!("/subscribe{}", lang_query(locale)),
        notice,
        expires: request
            .as_ref()
            .map(|r| tr.datetime(r.expires_at))
            .unwrap_or_default(),
        controller: ControllerFooter::load(state).await?,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /confirm/{token}`: the person confirms. The consents are recorded once; the browser is
/// sent back to the link's page, which now says the subscription is confirmed.
pub async fn confirm(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let ip = client;
    match subscriptions::confirm(&state.app, &token, locale, user_agent(&headers), ip).await? {
        // Not one of our links (and perhaps not even fit for a Location header): said at once.
        Confirmed::Unknown => confirm_page(&state, locale, &token).await,
        // The link's page tells which (confirmed or expired) from the stored state, so a reload
        // of either page changes nothing.
        Confirmed::Recorded(_) | Confirmed::Already | Confirmed::Expired => Ok(see_other(
            &format!("/confirm/{token}{}", lang_query(locale)),
        )),
    }
}
