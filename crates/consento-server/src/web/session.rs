//! Who is signed in: the session cookie, the [`Staff`] extractor every private page takes, the
//! CSRF token derived from the cookie, password hashing (Argon2id) and the per-address login
//! rate limit.
//!
//! The cookie holds 256 random bits; the database keeps only their SHA-256, so a copy of the
//! database does not let anyone in. The CSRF token is an HMAC of the cookie's secret: it needs no
//! storage, differs per session, and cannot be computed by a site that cannot read the cookie
//! (OWASP CSRF Prevention Cheat Sheet, "signed double-submit cookie").

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use consento_app::App;
use consento_app::audit::By;
use consento_domain::Permission;
use consento_store::{Store, StoreError, User, token_digest};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::page::{Page, PageError};
use crate::i18n::{Locale, Tr};
use crate::state::AppState;
pub use consento_app::accounts::{DECOY_HASH, hash_password, verify_password};

/// The session cookie.
pub const SESSION_COOKIE: &str = "consento_session";
/// Before signing in, the cookie the login form's CSRF token is derived from.
pub const PRESESSION_COOKIE: &str = "consento_pre";
/// The chosen language.
pub const LANG_COOKIE: &str = "consento_lang";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax (sent on top-level navigation, not on
/// cross-site posts), Path=/, Secure when configured; `max_age` none for a browser-session
/// cookie, zero to delete.
pub fn set_cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Appends a `Set-Cookie` to `headers`.
pub fn add_cookie(headers: &mut HeaderMap, value: HeaderValue) {
    headers.append(SET_COOKIE, value);
}

/// The CSRF token of forms shown to the holder of `secret` (a session or pre-session cookie).
pub fn csrf_token(secret: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(b"consento csrf v1");
    hex(&mac.finalize().into_bytes())
}

/// The CSRF token the request's cookies call for, if it has any.
pub fn expected_csrf(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
        .or_else(|| cookie(headers, PRESESSION_COOKIE))
        .map(csrf_token)
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random secret for a cookie, from the store's injected randomness.
pub fn new_secret(store: &Store) -> Result<String, PageError> {
    Ok(hex(&store.random_bytes::<32>()?))
}

/// The language of the request: the language cookie, else Accept-Language, else the default.
pub fn request_locale(headers: &HeaderMap, default: &str) -> Locale {
    cookie(headers, LANG_COOKIE)
        .and_then(Locale::parse)
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .or_else(|| Locale::parse(default))
        .unwrap_or(Locale::En)
}

/// The signed-in staff member of a private page. Extracting it is the authentication: without a
/// live session the request is sent to the login page; with an account that must change its
/// one-time password, to that form.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The account.
    pub user: User,
    /// The request's language.
    pub tr: Tr,
    /// The CSRF token for the page's forms.
    pub csrf: String,
    /// The SHA-256 of the session secret.
    pub session: [u8; 32],
    /// The request's path (for the frame and the language switch).
    pub path: String,
}

impl Staff {
    /// Refuses the request unless the role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), PageError> {
        if self.user.role.can(permission) {
            Ok(())
        } else {
            Err(PageError::Forbidden)
        }
    }

    /// The frame of a page in `section`.
    pub fn page(&self, section: &'static str) -> Page {
        Page {
            tr: self.tr,
            user: Some(self.user.clone()),
            csrf: self.csrf.clone(),
            section,
            path: self.path.clone(),
            notice: None,
            public: false,
        }
    }

    /// The ledger's actor id for what this person records.
    pub fn actor_id(&self) -> String {
        self.user.id.to_string()
    }

    /// The ledger's actor for what this person records.
    pub fn actor(&self) -> consento_domain::Actor {
        consento_domain::Actor {
            kind: consento_domain::ActorKind::Operator,
            id: self.actor_id(),
        }
    }

    /// This person as the actor of a write the store audits in its own transaction.
    pub fn by(&self) -> consento_store::AuditActor {
        consento_store::AuditActor::User(self.user.id)
    }

    /// This person as the audit trail names them.
    pub fn who(&self) -> By {
        By::user(self.user.id)
    }

    /// Runs `write` (calls of the store's write methods) with this person's entry for `action`
    /// in the same transaction as the change: `action` is a stable code
    /// (`consent_type.create`), the target a record's kind and id (never a name or an address),
    /// `detail` what changed.
    pub async fn audited<T>(
        &self,
        app: &App,
        action: &str,
        target: Option<(&str, String)>,
        detail: serde_json::Value,
        write: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, PageError> {
        Ok(app
            .audited(&self.who(), action, target, detail, write)
            .await?)
    }

    /// As [`Staff::audited`], for a write whose own error the page handles (a refused field
    /// shown at the form, an app call's error): the write's result comes back as it is, inside.
    /// The audit row is written in the change's transaction all the same; a write that fails,
    /// or whose audit row cannot be written, changed nothing and recorded nothing.
    pub async fn audited_result<T, E>(
        &self,
        app: &App,
        action: &str,
        target: Option<(&str, String)>,
        detail: serde_json::Value,
        write: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, PageError> {
        self.audited(app, action, target, detail, async { Ok(write.await) })
            .await
    }

    /// Records an action of this person that changes nothing (a card viewed, an export
    /// downloaded), before the answer is given.
    pub async fn audit(
        &self,
        app: &App,
        action: &str,
        target: Option<(&str, String)>,
        detail: serde_json::Value,
    ) -> Result<(), PageError> {
        Ok(app.trace(&self.who(), action, target, detail).await?)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        // Where to come back to (after signing in, or from the language switch): only a page
        // that can be fetched; a form's target takes POST only.
        let path = if parts.method == axum::http::Method::GET {
            parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned()
        } else {
            "/".to_owned()
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(PageError::LoginRequired { next: path });
        };
        let digest = token_digest(&secret);
        let Some(session) = live_session(state, &digest).await? else {
            return Err(PageError::LoginRequired { next: path });
        };
        // A one-time password must be replaced before anything else, but signing out stays open.
        if session.user.must_change_password
            && !matches!(parts.uri.path(), "/account/password" | "/logout")
        {
            return Err(PageError::PasswordChange);
        }
        let locale = parts
            .extensions
            .get::<Locale>()
            .copied()
            .unwrap_or(Locale::En);
        Ok(Self {
            user: session.user,
            tr: state.tr(locale),
            csrf: csrf_token(&secret),
            session: digest,
            path,
        })
    }
}

/// The live session whose secret has this digest, if any (expired, idle and disabled ones are
/// not).
pub async fn live_session(
    state: &AppState,
    digest: &[u8; 32],
) -> Result<Option<consento_store::StaffSession>, PageError> {
    let idle_since = state.config.console.idle_since(state.store.now());
    Ok(state.store.session(digest, idle_since).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        let t = csrf_token("abc");
        assert!(same_token(&t, &csrf_token("abc")));
        assert!(!same_token(&t, &csrf_token("abd")));
        assert!(!same_token(&t, ""));
    }
}
