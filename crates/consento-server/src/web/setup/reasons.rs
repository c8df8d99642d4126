//! `/setup/reasons`: the contact reasons (the seed's "Motivazioni consensi espliciti"), the list
//! an operator picks from to justify an email, call or SMS without a valid consent (rule 7 of the
//! decision, `consento_domain::decision::decide`). Each says whether it is direct marketing:
//! such a reason never justifies contacting a person who objected (GDPR Art. 21(3)). Reasons are
//! retired, never deleted, so that justified contacts keep pointing at the reason that was given;
//! a retired reason is no longer offered.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use consento_domain::{ContactReason, ReasonId};
use serde::Deserialize;
use serde_json::json;

use super::{Admin, DoneQuery, Errors, Explained, Tabs, again, refused};
use crate::state::AppState;
use crate::web::page::{Page, PageError, render, see_other};
use crate::web::session::Staff;

/// The fields whose refusal the forms explain.
const EXPLAINED: &Explained = &[("label", "setup-reason-invalid-label", "setup-reason-taken")];

/// A reason's fields as typed (or as stored).
#[derive(Debug, Clone, Default)]
pub struct ReasonValues {
    /// The text shown in the list.
    pub label: String,
    /// Whether it is direct marketing.
    pub marketing: bool,
    /// Whether it can be picked.
    pub active: bool,
}

#[derive(Template)]
#[template(path = "setup_reasons.html")]
struct ReasonsPage {
    page: Page,
    tabs: Tabs,
    reasons: Vec<ContactReason>,
    /// The form for a new reason.
    values: ReasonValues,
    errors: Errors,
}

async fn list_page(
    state: &AppState,
    page: Page,
    values: ReasonValues,
    errors: Errors,
) -> Result<Response, PageError> {
    render(&ReasonsPage {
        page,
        tabs: Tabs::at("reasons"),
        reasons: state.store.reasons().await?,
        values,
        errors,
    })
}

/// `GET /setup/reasons`: every reason (active first) and the form for a new one.
pub async fn list(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let page = staff.page("setup").done(q.done.as_deref());
    list_page(&state, page, ReasonValues::default(), Errors::default()).await
}

/// A reason's form as posted: a ticked checkbox is present, an unticked one absent.
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    label: String,
    marketing: Option<String>,
    active: Option<String>,
}

/// `POST /setup/reasons`: adds a reason, active.
pub async fn create(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Form(form): Form<ReasonForm>,
) -> Result<Response, PageError> {
    let marketing = form.marketing.is_some();
    // The store names the reason it creates as the entry's target.
    let created = staff
        .audited_result(
            &state.app,
            "reason.create",
            None,
            json!({ "after": { "label": form.label.trim(), "active": true, "marketing": marketing } }),
            state.store.create_reason(&form.label, marketing),
        )
        .await?;
    let errors = match created {
        Ok(_) => return Ok(see_other("/setup/reasons?done=setup-reason-created")),
        Err(e) => refused(e, EXPLAINED, staff.tr)?,
    };
    let values = ReasonValues {
        label: form.label,
        marketing,
        active: true,
    };
    again(list_page(&state, staff.page("setup"), values, errors).await)
}

#[derive(Template)]
#[template(path = "setup_reason_form.html")]
struct ReasonFormPage {
    page: Page,
    tabs: Tabs,
    /// Where the form posts.
    action: String,
    values: ReasonValues,
    errors: Errors,
}

fn form_page(
    staff: &Staff,
    id: ReasonId,
    values: ReasonValues,
    errors: Errors,
) -> Result<Response, PageError> {
    render(&ReasonFormPage {
        page: staff.page("setup"),
        tabs: Tabs::at("reasons"),
        action: format!("/setup/reasons/{}", id.0),
        values,
        errors,
    })
}

/// A reason's id from the path; anything else is a page that does not exist.
fn reason_id(text: &str) -> Result<ReasonId, PageError> {
    uuid::Uuid::parse_str(text.trim())
        .map(ReasonId)
        .map_err(|_| PageError::NotFound)
}

/// `GET /setup/reasons/{id}`: the reason's form.
pub async fn edit(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let r = state.store.reason(reason_id(&id)?).await?;
    form_page(
        &staff,
        r.id,
        ReasonValues {
            label: r.label,
            marketing: r.marketing,
            active: r.active,
        },
        Errors::default(),
    )
}

/// `POST /setup/reasons/{id}`: relabels the reason, retires it or brings it back.
pub async fn update(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, PageError> {
    let before = state.store.reason(reason_id(&id)?).await?;
    let values = ReasonValues {
        label: form.label,
        marketing: form.marketing.is_some(),
        active: form.active.is_some(),
    };
    let after = ContactReason {
        id: before.id,
        label: values.label.trim().to_owned(),
        active: values.active,
        marketing: values.marketing,
    };
    let saved = staff
        .audited_result(
            &state.app,
            "reason.update",
            Some(("reason", before.id.0.to_string())),
            json!({ "before": before, "after": after }),
            state.store.update_reason(
                before.id,
                Some(&values.label),
                Some(values.active),
                Some(values.marketing),
            ),
        )
        .await?;
    let errors = match saved {
        Ok(_) => return Ok(see_other("/setup/reasons?done=setup-reason-saved")),
        Err(e) => refused(e, EXPLAINED, staff.tr)?,
    };
    again(form_page(&staff, before.id, values, errors))
}
