//! `/setup/notices`: the privacy-notice versions, newest first, and publishing a new one. A
//! consent cites the version the person was shown (GDPR Art. 7(1), Art. 13), so a published
//! version never changes (the database refuses it): there is no edit, only a newer version.
//! Each is fingerprinted with SHA-256 by the store, as for the API (`/v1/notices`).

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use consento_store::{Notice, NoticeInput};
use serde::Deserialize;
use serde_json::json;

use super::{Admin, DoneQuery, Errors, Explained, Tabs, again, refused};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::web::page::{Page, PageError, render, see_other};

/// The fields whose refusal the form explains.
const EXPLAINED: &Explained = &[
    (
        "version",
        "setup-notice-invalid-version",
        "setup-notice-version-taken",
    ),
    (
        "language",
        "setup-notice-invalid-language",
        "setup-notice-invalid-language",
    ),
    (
        "url",
        "setup-notice-invalid-url",
        "setup-notice-invalid-url",
    ),
    (
        "body",
        "setup-notice-invalid-body",
        "setup-notice-invalid-body",
    ),
];

/// A published version as the list shows it.
pub struct NoticeRow {
    /// The version label.
    pub version: String,
    /// The language code.
    pub language: String,
    /// Where it is published.
    pub url: Option<String>,
    /// Its text, if kept here.
    pub body: Option<String>,
    /// The fingerprint (hex).
    pub sha256: String,
    /// When it was published, in words.
    pub published: String,
}

fn row(tr: Tr, n: Notice) -> NoticeRow {
    NoticeRow {
        published: tr.datetime(n.published_at),
        version: n.version,
        language: n.language,
        url: n.url,
        body: n.body,
        sha256: n.content_sha256,
    }
}

/// The publishing form's values, as typed.
#[derive(Debug, Clone, Deserialize)]
pub struct NoticeForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    body: String,
}

#[derive(Template)]
#[template(path = "setup_notices.html")]
struct NoticesPage {
    page: Page,
    tabs: Tabs,
    notices: Vec<NoticeRow>,
    values: NoticeForm,
    errors: Errors,
}

async fn notices_page(
    state: &AppState,
    tr: Tr,
    page: Page,
    values: NoticeForm,
    errors: Errors,
) -> Result<Response, PageError> {
    let notices = state
        .store
        .notices()
        .await?
        .into_iter()
        .map(|n| row(tr, n))
        .collect();
    render(&NoticesPage {
        page,
        tabs: Tabs::at("notices"),
        notices,
        values,
        errors,
    })
}

/// `GET /setup/notices`: every published version, newest first, and the form for a new one.
pub async fn list(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let values = NoticeForm {
        version: String::new(),
        // The language the administrator works in is the likeliest one of the text.
        language: staff.tr.locale.code().to_owned(),
        url: String::new(),
        body: String::new(),
    };
    let page = staff.page("setup").done(q.done.as_deref());
    notices_page(&state, staff.tr, page, values, Errors::default()).await
}

/// `POST /setup/notices`: publishes a version (for good).
pub async fn publish(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Form(form): Form<NoticeForm>,
) -> Result<Response, PageError> {
    let input = NoticeInput {
        version: form.version.clone(),
        language: form.language.clone(),
        url: Some(form.url.clone()),
        body: Some(form.body.clone()),
    };
    // As the store keeps them. The store names the notice it publishes as the entry's target;
    // the text's digest is the notice's own, and a notice never changes.
    let url = Some(form.url.trim()).filter(|u| !u.is_empty());
    let detail = json!({
        "version": form.version.trim(),
        "language": form.language.trim().to_lowercase(),
        "url": url,
    });
    let published = staff
        .audited_result(
            &state.app,
            "notice.publish",
            None,
            detail,
            state.store.publish_notice(input),
        )
        .await?;
    let errors = match published {
        Ok(_) => return Ok(see_other("/setup/notices?done=setup-notice-published")),
        Err(e) => refused(e, EXPLAINED, staff.tr)?,
    };
    again(notices_page(&state, staff.tr, staff.page("setup"), form, errors).await)
}
