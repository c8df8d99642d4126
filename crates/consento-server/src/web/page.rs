//! What every console page shares: the frame (language, the signed-in person, the menu, the
//! CSRF token for its forms), the one error type of the pages, and rendering a template into a
//! response. Errors are turned into pages in one place, [`super::frame`], which knows the
//! request's language.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use consento_app::AppError;
use consento_domain::{DomainError, Permission, Role};
use consento_store::{StoreError, User};

use crate::i18n::{Locale, Tr};

/// The frame of a page: everything the base template needs.
#[derive(Debug, Clone)]
pub struct Page {
    /// Messages, dates and numbers in the request's language.
    pub tr: Tr,
    /// The signed-in person, if any.
    pub user: Option<User>,
    /// The token every form of the page carries (`csrf`).
    pub csrf: String,
    /// Which menu entry is current (`dashboard`, `contacts`, …).
    pub section: &'static str,
    /// The path of this page, for the language switch to come back to.
    pub path: String,
    /// A message shown once at the top (the key of a message: `saved`, …).
    pub notice: Option<String>,
    /// A warning shown once at the top instead of a success: what was done was done, but is
    /// not what the person may think (the key of a message).
    pub warning: Option<String>,
    /// A public page (opened from an email, no account): no menu, and the language is switched
    /// by a link (`?lang=`) rather than a form.
    pub public: bool,
}

/// A menu entry.
pub struct NavItem {
    /// Section code.
    pub section: &'static str,
    /// Where it goes.
    pub href: &'static str,
    /// Message key of its label.
    pub label: &'static str,
}

const NAV: &[(NavItem, Permission)] = &[
    (
        NavItem {
            section: "dashboard",
            href: "/",
            label: "nav-dashboard",
        },
        Permission::Read,
    ),
    (
        NavItem {
            section: "contacts",
            href: "/contacts",
            label: "nav-contacts",
        },
        Permission::Read,
    ),
    (
        NavItem {
            section: "newsletter",
            href: "/newsletter",
            label: "nav-newsletter",
        },
        Permission::Read,
    ),
    (
        NavItem {
            section: "held",
            href: "/held",
            label: "nav-held",
        },
        Permission::ContactPeople,
    ),
    (
        NavItem {
            section: "setup",
            href: "/setup/privacy",
            label: "nav-setup",
        },
        Permission::Setup,
    ),
    (
        NavItem {
            section: "requests",
            href: "/requests",
            label: "nav-requests",
        },
        Permission::Audit,
    ),
    (
        NavItem {
            section: "rules",
            href: "/rules",
            label: "nav-rules",
        },
        Permission::BulkRules,
    ),
    (
        NavItem {
            section: "imports",
            href: "/imports",
            label: "nav-imports",
        },
        Permission::Import,
    ),
    (
        NavItem {
            section: "rpo",
            href: "/rpo",
            label: "nav-rpo",
        },
        Permission::Read,
    ),
    (
        NavItem {
            section: "audit",
            href: "/audit",
            label: "nav-audit",
        },
        Permission::Audit,
    ),
    (
        NavItem {
            section: "retention",
            href: "/retention",
            label: "nav-retention",
        },
        Permission::Erase,
    ),
];

impl Page {
    /// The frame of a public page at `path` (its path and query, for the language links).
    pub fn public(tr: Tr, path: &str) -> Self {
        Self {
            tr,
            user: None,
            csrf: String::new(),
            section: "public",
            path: path.to_owned(),
            notice: None,
            warning: None,
            public: true,
        }
    }

    /// The link that shows this public page in `lang`.
    pub fn lang_link(&self, lang: &str) -> String {
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let mut kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("lang="))
            .collect();
        let lang = format!("lang={lang}");
        kept.push(&lang);
        format!("{path}?{}", kept.join("&"))
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// Shows the message `done-<what>` at the top, when `what` (from a `?done=` query after a
    /// redirect) names one.
    pub fn done(mut self, what: Option<&str>) -> Self {
        if let Some(what) = what {
            let key = format!("done-{what}");
            if self.tr.has(&key) {
                self.notice = Some(key);
            }
        }
        self
    }

    /// Shows the warning `warn-<what>` at the top, when `what` (from a `?warn=` query after a
    /// redirect) names one.
    pub fn warned(mut self, what: Option<&str>) -> Self {
        if let Some(what) = what {
            let key = format!("warn-{what}");
            if self.tr.has(&key) {
                self.warning = Some(key);
            }
        }
        self
    }

    /// The language tag of the page (`<html lang>`).
    pub fn lang(&self) -> &'static str {
        self.tr.locale.code()
    }

    /// The menu entries the signed-in person's role may open.
    pub fn nav(&self) -> Vec<&'static NavItem> {
        let Some(user) = &self.user else {
            return Vec::new();
        };
        NAV.iter()
            .filter(|(_, needs)| user.role.can(*needs))
            .map(|(item, _)| item)
            .collect()
    }

    /// "Signed in as …", with the role in words.
    pub fn signed_in_as(&self) -> String {
        self.user.as_ref().map_or_else(String::new, |u| {
            self.tr.args(
                "signed-in-as",
                &[
                    (
                        "name",
                        crate::i18n::Arg::Text(u.display_name.as_str().into()),
                    ),
                    (
                        "role",
                        crate::i18n::Arg::Text(role_name(self.tr, u.role).into()),
                    ),
                ],
            )
        })
    }

    /// Whether the signed-in person may do `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.can(permission))
    }

    /// The languages of the switch: (code, own name, whether current).
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Locale::ALL
            .iter()
            .map(|l| (l.code(), l.native_name(), *l == self.tr.locale))
            .collect()
    }
}

/// A role in words.
pub fn role_name(tr: Tr, role: Role) -> String {
    tr.t(&format!("role-{}", role.code()))
}

/// Renders a template as an HTML response.
pub fn render(template: &impl Template) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|e| PageError::Internal(format!("template: {e}")))?;
    Ok(Html(html).into_response())
}

/// A redirect after a successful form post (303: the browser follows with a GET, so a reload
/// does not post again).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Why a page could not be shown. Each becomes a page in the request's language.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Nobody is signed in: go to the login page, then come back to `next`.
    #[error("login required")]
    LoginRequired {
        /// The path to return to.
        next: String,
    },
    /// The account must change its one-time password first.
    #[error("password change required")]
    PasswordChange,
    /// The role does not allow this.
    #[error("forbidden")]
    Forbidden,
    /// No such page or record.
    #[error("not found")]
    NotFound,
    /// The form's CSRF token is missing or wrong, or it came from another site.
    #[error("csrf")]
    Csrf,
    /// A value was refused and the form cannot be shown again with it.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: String,
        /// Why (in the request's language when the page could translate it).
        reason: String,
    },
    /// A value the domain or the store refused, whose reason is not written in the reader's
    /// language: the page names the field and says it is not valid, or already taken.
    #[error("{field}: refused")]
    Refused {
        /// The field (its code).
        field: String,
        /// Whether another record already has the value (a uniqueness conflict).
        taken: bool,
    },
    /// The store is busy (a write lock held too long); try again.
    #[error("busy")]
    Busy,
    /// The client address has used up its budget of requests for now.
    #[error("too many requests")]
    TooManyRequests,
    /// The request's body is larger than the route accepts.
    #[error("too large")]
    TooLarge,
    /// Anything else: logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<AppError> for PageError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Store(e) => e.into(),
            AppError::Malformed { field, .. } => Self::Refused {
                field: field.to_owned(),
                taken: false,
            },
            AppError::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { .. } => Self::NotFound,
            StoreError::Invalid(e) => e.into(),
            StoreError::Conflict { field, .. } => Self::Refused {
                field: field.to_owned(),
                taken: true,
            },
            StoreError::Stale => Self::Busy,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<DomainError> for PageError {
    fn from(err: DomainError) -> Self {
        Self::Refused {
            field: err.field().to_owned(),
            taken: false,
        }
    }
}

/// Carried by an error response to [`super::frame`], which renders it in the request's language.
#[derive(Debug, Clone)]
pub(super) struct Failed {
    pub status: StatusCode,
    pub message: FailedMessage,
}

#[derive(Debug, Clone)]
pub(super) enum FailedMessage {
    Key(&'static str),
    Invalid { field: String, reason: String },
    Refused { field: String, taken: bool },
    Internal,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            PageError::LoginRequired { next } => {
                let to = format!(
                    "/login?next={}",
                    percent_encode(if next.starts_with('/') && !next.starts_with("//") {
                        &next
                    } else {
                        "/"
                    })
                );
                return see_other(&to);
            }
            PageError::PasswordChange => return see_other("/account/password"),
            PageError::Forbidden => (StatusCode::FORBIDDEN, FailedMessage::Key("error-forbidden")),
            PageError::NotFound => (StatusCode::NOT_FOUND, FailedMessage::Key("error-not-found")),
            PageError::Csrf => (StatusCode::FORBIDDEN, FailedMessage::Key("error-csrf")),
            PageError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                FailedMessage::Key("error-busy"),
            ),
            PageError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                FailedMessage::Key("error-too-many"),
            ),
            PageError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                FailedMessage::Key("error-too-large"),
            ),
            PageError::Invalid { field, reason } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                FailedMessage::Invalid { field, reason },
            ),
            PageError::Refused { field, taken } => (
                if taken {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                FailedMessage::Refused { field, taken },
            ),
            PageError::Internal(detail) => {
                // Logged once, here, inside the request's span (its id is on the line).
                tracing::error!(error = %detail, "page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, FailedMessage::Internal)
            }
        };
        let mut response = (status, [(header::CACHE_CONTROL, "no-store")]).into_response();
        response.extensions_mut().insert(Failed { status, message });
        response
    }
}

/// Percent-encodes a value for a query string (RFC 3986 unreserved characters kept).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
