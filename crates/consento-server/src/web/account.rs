//! Signing in and out, changing one's password, and choosing the console's language.
//!
//! Logging in answers the same way, and takes as long, whether the username exists or not
//! (a decoy hash is verified for unknown names). The fifth consecutive failure locks the account
//! for a while (configurable), and each client address has a per-minute budget of attempts
//! (OWASP Authentication Cheat Sheet). A successful login always starts a new session secret, so
//! a session id planted before login is worthless (session fixation).

use crate::client::ClientIp;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use consento_app::audit::By;
use consento_domain::{Password, Timestamp, Username};
use consento_store::token_digest;
use serde::Deserialize;

use super::page::{Page, PageError, render, see_other};
use super::session::{self, LANG_COOKIE, PRESESSION_COOKIE, SESSION_COOKIE, Staff};
use crate::i18n::{Locale, Tr};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    next: String,
    username: String,
    error: Option<String>,
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    bye: Option<String>,
}

/// Where to go after signing in: only a path of this site, else home. A browser drops tabs and
/// line breaks from a URL and reads `\` as `/`, so `/\t/evil.example` would leave the site: only
/// visible ASCII is accepted, and never a second slash or a backslash at the start.
pub(crate) fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn anonymous_page(tr: Tr, csrf: String, path: &str) -> Page {
    Page {
        tr,
        user: None,
        csrf,
        section: "login",
        path: path.to_owned(),
        notice: None,
        warning: None,
        public: false,
    }
}

/// `GET /login`: the form. Gives the browser a pre-session cookie to derive the form's CSRF
/// token from, if it has no cookie yet.
pub async fn login_form(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let (csrf, new_cookie) = match session::expected_csrf(&headers) {
        Some(csrf) => (csrf, None),
        None => {
            let secret = session::new_secret(&state.store)?;
            (session::csrf_token(&secret), Some(secret))
        }
    };
    let mut page = anonymous_page(state.tr(locale), csrf, "/login");
    if q.bye.is_some() {
        page.notice = Some("done-logged-out".to_owned());
    }
    let mut response = render(&LoginPage {
        page,
        next: local_path(q.next.as_deref()),
        username: String::new(),
        error: None,
    })?;
    if let Some(secret) = new_cookie {
        session::add_cookie(
            response.headers_mut(),
            session::set_cookie(
                PRESESSION_COOKIE,
                &secret,
                None,
                state.config.console.secure_cookies,
            ),
        );
    }
    Ok(response)
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let tr = state.tr(locale);
    let console = &state.config.console;
    let next = local_path(form.next.as_deref());
    let again = |status: StatusCode, error: String| -> Result<Response, PageError> {
        let csrf = session::expected_csrf(&headers).unwrap_or_default();
        let mut response = render(&LoginPage {
            page: anonymous_page(tr, csrf, "/login"),
            next: next.clone(),
            username: form.username.clone(),
            error: Some(error),
        })?;
        *response.status_mut() = status;
        Ok(response)
    };
    if let Some(ip) = client
        && !state
            .console
            .limiter
            .allow(ip, "login", console.login_attempts_per_minute)
    {
        return again(StatusCode::TOO_MANY_REQUESTS, tr.t("login-throttled"));
    }
    let now = state.store.now();
    let account = match Username::parse(&form.username) {
        Ok(name) => state.store.user_for_login(&name).await?,
        Err(_) => None,
    };
    let account = account.filter(|(user, _)| user.disabled_at.is_none());
    let hash = account
        .as_ref()
        .map_or(session::DECOY_HASH.to_owned(), |(_, h)| h.clone());
    let password = form.password.clone();
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let matches = tokio::task::spawn_blocking(move || session::verify_password(&password, &hash))
        .await
        .map_err(|e| PageError::Internal(format!("verify: {e}")))?;
    let Some((user, _)) = account else {
        return again(StatusCode::UNAUTHORIZED, tr.t("login-failed"));
    };
    let minutes = i64::try_from(console.lock_minutes).unwrap_or(15);
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        let left = (until.as_micros() - now.as_micros()).div_euclid(60_000_000) + 1;
        return again(
            StatusCode::UNAUTHORIZED,
            tr.count_named("login-locked", "minutes", left),
        );
    }
    if !matches {
        let lock_until = Timestamp::from_micros(now.as_micros() + minutes * 60_000_000);
        let lock_after = i64::from(console.lock_after_failures);
        // The count this failure makes, as the store counts it: a lock that has run out
        // starts the count again (a failure racing this one may count the same number).
        let failures = if user.locked_until.is_some() {
            1
        } else {
            user.failed_logins + 1
        };
        let failure = state
            .app
            .audited(
                &By::user(user.id),
                "login.failure",
                None,
                serde_json::json!({ "failures": failures, "locked": failures >= lock_after }),
                state
                    .store
                    .record_login_failure(user.id, lock_after, now, lock_until),
            )
            .await?;
        return if failure.locked_until.is_some() {
            again(
                StatusCode::UNAUTHORIZED,
                tr.count_named("login-locked", "minutes", minutes),
            )
        } else {
            again(StatusCode::UNAUTHORIZED, tr.t("login-failed"))
        };
    }
    let secret = session::new_secret(&state.store)?;
    let hours = i64::try_from(console.session_hours).unwrap_or(12);
    let expires = Timestamp::from_micros(now.as_micros() + hours * 3_600_000_000);
    state
        .app
        .audited(
            &By::user(user.id),
            "login.success",
            None,
            serde_json::json!({}),
            state
                .store
                .start_session(user.id, &token_digest(&secret), expires),
        )
        .await?;
    let to = if user.must_change_password {
        "/account/password".to_owned()
    } else {
        first_run(&state, &user, next).await?
    };
    let mut response = see_other(&to);
    let secure = console.secure_cookies;
    let headers = response.headers_mut();
    // No Max-Age: the cookie ends with the browser; the server ends the session anyway.
    session::add_cookie(
        headers,
        session::set_cookie(SESSION_COOKIE, &secret, None, secure),
    );
    session::add_cookie(
        headers,
        session::set_cookie(PRESESSION_COOKIE, "", Some(0), secure),
    );
    if let Some(lang) = user.locale.as_deref() {
        session::add_cookie(
            headers,
            session::set_cookie(LANG_COOKIE, lang, Some(LANG_COOKIE_SECONDS), secure),
        );
    }
    Ok(response)
}

/// Where an account goes after signing in (or after replacing its one-time password): an
/// administrator first meets the first-run page while the data controller has no name (GDPR
/// Art. 13(1)(a): every export, receipt and public page must say who the controller is), then
/// goes on to `next`; anyone else goes to `next` at once.
async fn first_run(
    state: &AppState,
    user: &consento_store::User,
    next: String,
) -> Result<String, PageError> {
    if !user.role.can(consento_domain::Permission::Setup) {
        return Ok(next);
    }
    if state.app.controller().await?.is_named() {
        Ok(next)
    } else {
        Ok(super::setup::controller::first_run_path(&next))
    }
}

/// A year: the language choice outlives sessions.
const LANG_COOKIE_SECONDS: u64 = 365 * 24 * 3600;

/// `POST /logout`: ends the session on the server and forgets the cookie.
pub async fn logout(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff
        .audited(
            &state.app,
            "logout",
            None,
            serde_json::json!({}),
            state.store.end_session(&staff.session),
        )
        .await?;
    let mut response = see_other("/login?bye=1");
    session::add_cookie(
        response.headers_mut(),
        session::set_cookie(
            SESSION_COOKIE,
            "",
            Some(0),
            state.config.console.secure_cookies,
        ),
    );
    Ok(response)
}

/// The language switch's fields.
#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    lang: String,
    next: Option<String>,
}

/// `POST /language`: remembers the choice in a cookie and, when signed in, on the account.
pub async fn language(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Result<Response, PageError> {
    let locale = Locale::parse(&form.lang).ok_or(PageError::Refused {
        field: "lang".to_owned(),
        taken: false,
    })?;
    if let Some(secret) = session::cookie(&headers, SESSION_COOKIE)
        && let Some(s) = session::live_session(&state, &token_digest(secret)).await?
    {
        state
            .store
            .set_user_locale(s.user.id, locale.code())
            .await?;
    }
    let mut response = see_other(&local_path(form.next.as_deref()));
    session::add_cookie(
        response.headers_mut(),
        session::set_cookie(
            LANG_COOKIE,
            locale.code(),
            Some(LANG_COOKIE_SECONDS),
            state.config.console.secure_cookies,
        ),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    page: Page,
    must_change: bool,
    error: Option<String>,
}

/// `GET /account/password`.
pub async fn password_form(staff: Staff) -> Result<Response, PageError> {
    render(&PasswordPage {
        must_change: staff.user.must_change_password,
        page: staff.page("account"),
        error: None,
    })
}

/// The password form's fields.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

/// `POST /account/password`: checks the current password, the policy and the confirmation, then
/// stores the new hash and signs out every other session of the account.
pub async fn change_password(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let again = |error: String| -> Result<Response, PageError> {
        let mut response = render(&PasswordPage {
            must_change: staff.user.must_change_password,
            page: staff.page("account"),
            error: Some(error),
        })?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(response)
    };
    let username = Username::parse(&staff.user.username)?;
    let stored = state
        .store
        .user_for_login(&username)
        .await?
        .ok_or(PageError::NotFound)?
        .1;
    let current = form.current.clone();
    let ok = tokio::task::spawn_blocking(move || session::verify_password(&current, &stored))
        .await
        .map_err(|e| PageError::Internal(format!("verify: {e}")))?;
    if !ok {
        return again(staff.tr.t("password-wrong-current"));
    }
    if form.new != form.confirm {
        return again(staff.tr.t("password-mismatch"));
    }
    let password = match Password::new(&form.new, &username) {
        Ok(p) => p,
        Err(_) => return again(staff.tr.t("password-new-hint")),
    };
    let store = state.store.clone();
    let hash = tokio::task::spawn_blocking(move || session::hash_password(&store, &password))
        .await
        .map_err(|e| PageError::Internal(format!("hash: {e}")))??;
    staff
        .audited(
            &state.app,
            "account.password",
            Some(("user", staff.user.id.to_string())),
            serde_json::json!({}),
            state
                .store
                .set_password(staff.user.id, &hash, false, Some(&staff.session)),
        )
        .await?;
    let to = first_run(&state, &staff.user, "/?done=password-changed".to_owned()).await?;
    Ok(see_other(&to).into_response())
}
