//! `/setup/controller`: the data controller's name, postal address, contact email, DPO contact
//! and privacy-notice address (GDPR Art. 13(1)(a)–(b)), which exports, receipts, emails and the
//! public pages name. It is also the first-run page: an administrator who signs in while the
//! controller has no name is sent here first (`?first=1`), and may go on without it ("later"),
//! the dashboard then warning of what is missing.
//!
//! A fact the configuration's `[controller]` section gives wins over the one typed here: the
//! form shows it, read-only, as set by configuration. What is typed is checked and recorded by
//! the application (`consento_app::App::set_controller`), audited in its transaction.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use consento_app::controller::{NamedController, Source};
use consento_domain::{ControllerDetails, ControllerField};
use serde::Deserialize;

use super::{Admin, Errors, Tabs, again};
use crate::state::AppState;
use crate::web::account::local_path;
use crate::web::page::{Page, PageError, percent_encode, render, see_other};

/// Where the first run goes after this page: the page the administrator asked for.
pub fn first_run_path(next: &str) -> String {
    format!("/setup/controller?first=1&next={}", percent_encode(next))
}

/// One field of the form.
pub struct Field {
    /// Its code: the input's name and id, the `[controller]` key.
    pub code: &'static str,
    /// Message key of its label.
    pub label: String,
    /// Message key of its hint.
    pub hint: String,
    /// The value shown.
    pub value: String,
    /// Whether the configuration sets it (then read-only here).
    pub configured: bool,
    /// The input's type (`text`, `email`, `url`), or `textarea`.
    pub kind: &'static str,
    /// The longest value accepted.
    pub max: usize,
    /// Whether the value in force is missing.
    pub missing: bool,
}

#[derive(Template)]
#[template(path = "setup_controller.html")]
struct ControllerPage {
    page: Page,
    tabs: Tabs,
    first: bool,
    next: String,
    fields: Vec<Field>,
    errors: Errors,
}

fn kind(field: ControllerField) -> (&'static str, usize) {
    match field {
        ControllerField::Name => ("text", 200),
        ControllerField::Address | ControllerField::DpoContact => ("textarea", 500),
        ControllerField::Email => ("email", 254),
        ControllerField::PrivacyNoticeUrl => ("url", 2000),
    }
}

/// The form's fields: the configuration's values (read-only), else `typed` when a refused form
/// is shown again, else the stored ones.
fn fields(named: &NamedController, typed: Option<&ControllerDetails>) -> Vec<Field> {
    ControllerField::ALL
        .into_iter()
        .map(|f| {
            let configured = named.source(f) == Some(Source::Configuration);
            let value = if configured {
                named.configured.get(f)
            } else {
                typed.map_or_else(|| named.stored.get(f), |t| t.get(f))
            };
            let (kind, max) = kind(f);
            let code = f.code();
            Field {
                code,
                label: format!("setup-controller-{}", code.replace('_', "-")),
                hint: format!("setup-controller-{}-hint", code.replace('_', "-")),
                value: value.unwrap_or_default().to_owned(),
                configured,
                kind,
                max,
                missing: named.details.get(f).is_none(),
            }
        })
        .collect()
}

/// What the page's address may carry.
#[derive(Debug, Deserialize)]
pub struct ControllerQuery {
    first: Option<String>,
    next: Option<String>,
    done: Option<String>,
}

/// `GET /setup/controller`.
pub async fn show(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<ControllerQuery>,
) -> Result<Response, PageError> {
    let named = state.app.controller().await?;
    render(&ControllerPage {
        page: staff.page("setup").done(q.done.as_deref()),
        tabs: Tabs::at("controller"),
        first: q.first.is_some(),
        next: local_path(q.next.as_deref()),
        fields: fields(&named, None),
        errors: Errors::default(),
    })
}

/// The form as posted: a field the configuration sets is disabled, so absent.
#[derive(Debug, Deserialize)]
pub struct ControllerForm {
    name: Option<String>,
    address: Option<String>,
    email: Option<String>,
    dpo_contact: Option<String>,
    privacy_notice_url: Option<String>,
    first: Option<String>,
    next: Option<String>,
}

/// `POST /setup/controller`: records the facts typed (an emptied field removes its fact); a
/// refused value is shown at its field, nothing saved. On the first run, goes on to the page
/// the administrator asked for.
pub async fn save(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Form(form): Form<ControllerForm>,
) -> Result<Response, PageError> {
    let typed = ControllerDetails {
        name: form.name,
        address: form.address,
        email: form.email,
        dpo_contact: form.dpo_contact,
        privacy_notice_url: form.privacy_notice_url,
    };
    let first = form.first.is_some();
    let next = local_path(form.next.as_deref());
    match state.app.set_controller(&staff.who(), typed.clone()).await {
        Ok(_) if first && next == "/" => Ok(see_other("/?done=setup-controller-saved")),
        Ok(_) if first => Ok(see_other(&next)),
        Ok(_) => Ok(see_other("/setup/controller?done=setup-controller-saved")),
        Err(e) => {
            let Some(field) = e.field().and_then(|code| {
                ControllerField::ALL
                    .into_iter()
                    .find(|f| f.code() == code)
                    .map(ControllerField::code)
            }) else {
                return Err(e.into());
            };
            let message = staff.tr.t(&format!(
                "setup-controller-invalid-{}",
                field.replace('_', "-")
            ));
            let named = state.app.controller().await?;
            again(render(&ControllerPage {
                page: staff.page("setup"),
                tabs: Tabs::at("controller"),
                first,
                next,
                fields: fields(&named, Some(&typed)),
                errors: Errors::one(field, message),
            }))
        }
    }
}
