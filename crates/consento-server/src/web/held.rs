//! `/held`: the emails held until someone gives the reason for contacting their recipient (the
//! Postfix policy service holds them; `consento_app::held`), the oldest first, each with its
//! recipient's contact, why it is held, since when and until when; and per email the contact
//! moment's reason pop-up (an active reason that may justify it, an optional note) to release
//! it, or the button that drops it.
//!
//! `/held/{token}` is the signed link the sender gets by email: it names one held email and opens
//! the pop-up for it, for a signed-in operator only (the token is no credential: without a
//! session the visitor is sent to the login page and back). Reaching people is the operator's
//! and the administrator's (`ContactPeople`); every release and drop is audited by the app in
//! its own transaction.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_app::AppError;
use consento_domain::held::HeldStatus;
use consento_domain::{Decision, DomainError, Permission, ReasonId};
use consento_store::{ContactRef, HeldMessage, StoreError};
use serde::Deserialize;

use super::page::{Page, PageError, render, see_other};
use super::session::Staff;
use crate::i18n::Tr;
use crate::state::AppState;

/// The most held emails the page lists.
const LIMIT: i64 = 500;

/// The list's query: the email whose pop-up is open, and the notice after a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    justify: Option<String>,
    done: Option<String>,
    warn: Option<String>,
}

/// A row of the list, written for the page.
struct Row {
    id: String,
    recipient: String,
    card: String,
    sender: String,
    rule: String,
    since: String,
    until: String,
}

/// The reason pop-up of one held email.
struct Dialog {
    id: String,
    title: String,
    /// Why a reason is needed (or that none is needed any more).
    cause: String,
    /// `needs`, `allowed` (a reason is picked all the same) or `blocked` (only dropping).
    state: &'static str,
    objection: Option<String>,
    reasons: Vec<(String, String)>,
    selected: String,
    note: String,
    reason_error: Option<String>,
    note_error: Option<String>,
}

#[derive(Template)]
#[template(path = "held.html")]
struct HeldPage {
    page: Page,
    rows: Vec<Row>,
    dialog: Option<Dialog>,
}

/// What was posted in the pop-up, and what was wrong with it.
#[derive(Debug, Default)]
struct Again {
    reason: String,
    note: String,
    reason_error: Option<String>,
    note_error: Option<String>,
}

/// Who an email is to: the contact's name, else the address, else "erased".
fn recipient(tr: Tr, h: &HeldMessage) -> String {
    match (&h.contact_name, h.recipient.is_empty()) {
        (Some(name), _) if !name.trim().is_empty() => name.clone(),
        (_, false) => h.recipient.clone(),
        _ => tr.t("held-erased"),
    }
}

fn parse_id(id: &str) -> Result<uuid::Uuid, PageError> {
    uuid::Uuid::parse_str(id.trim()).map_err(|_| PageError::NotFound)
}

/// The pop-up of held email `id`, as the decision stands now.
async fn dialog(
    state: &AppState,
    tr: Tr,
    id: uuid::Uuid,
    again: Again,
) -> Result<Option<Dialog>, PageError> {
    let held = match state.store.held_message(id).await {
        Ok(h) if h.status == HeldStatus::Held => h,
        // Gone meanwhile, or never was: the list alone.
        Ok(_) | Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let report = state
        .app
        .decide(&ContactRef::Id(held.contact_id), held.action, None)
        .await?;
    let (state_code, cause, marketing_allowed) = match &report.decision {
        Decision::NeedsJustification {
            cause,
            marketing_reasons_allowed,
        } => (
            "needs",
            tr.with(
                "held-dialog-cause",
                "why",
                &crate::i18n::held_rule(tr, cause.code()),
            ),
            *marketing_reasons_allowed,
        ),
        Decision::Allowed { .. } => ("allowed", tr.t("held-dialog-allowed"), true),
        Decision::Blocked { cause } => (
            "blocked",
            tr.with(
                "held-dialog-blocked",
                "why",
                &crate::i18n::held_rule(tr, cause.code()),
            ),
            false,
        ),
    };
    // Only active reasons can be picked; under an objection, only those that are not marketing
    // (GDPR Art. 21(3)). The store checks both again when one is posted.
    let reasons = if state_code == "blocked" {
        Vec::new()
    } else {
        state
            .store
            .reasons()
            .await?
            .into_iter()
            .filter(|r| r.active && (marketing_allowed || !r.marketing))
            .map(|r| (r.id.0.to_string(), r.label))
            .collect()
    };
    Ok(Some(Dialog {
        id: held.id.to_string(),
        title: tr.with("held-dialog-title", "recipient", &recipient(tr, &held)),
        cause,
        state: state_code,
        objection: (!marketing_allowed && state_code == "needs")
            .then(|| tr.t("card-dialog-objection")),
        reasons,
        selected: again.reason,
        note: again.note,
        reason_error: again.reason_error,
        note_error: again.note_error,
    }))
}

/// The page, with the pop-up of `open` if given.
async fn held_page(
    state: &AppState,
    staff: &Staff,
    page: Page,
    open: Option<(uuid::Uuid, Again)>,
) -> Result<HeldPage, PageError> {
    let tr = staff.tr;
    let rows = state
        .store
        .held_messages(Some(HeldStatus::Held), LIMIT)
        .await?
        .into_iter()
        .map(|h| Row {
            id: h.id.to_string(),
            recipient: recipient(tr, &h),
            card: format!("/contacts/{}", h.contact_id),
            sender: if h.sender.is_empty() {
                tr.t("held-bounce")
            } else {
                h.sender.clone()
            },
            rule: crate::i18n::held_rule(tr, &h.rule),
            since: tr.datetime(h.held_at),
            until: tr.datetime(h.hold_until),
        })
        .collect();
    let dialog = match open {
        Some((id, again)) => dialog(state, tr, id, again).await?,
        None => None,
    };
    Ok(HeldPage { page, rows, dialog })
}

/// `GET /held`: the held emails; `?justify=<id>` opens one's reason pop-up.
pub async fn list(
    staff: Staff,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    staff.require(Permission::ContactPeople)?;
    let open = params
        .justify
        .as_deref()
        .and_then(|id| uuid::Uuid::parse_str(id.trim()).ok())
        .map(|id| (id, Again::default()));
    let page = staff
        .page("held")
        .done(params.done.as_deref())
        .warned(params.warn.as_deref());
    render(&held_page(&state, &staff, page, open).await?)
}

/// `GET /held/{token}`: the sender's signed link, opening that email's pop-up.
pub async fn open(
    staff: Staff,
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Permission::ContactPeople)?;
    let id = state
        .app
        .open_held_link(&token)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(see_other(&format!("/held?justify={id}#justify-dialog")))
}

/// The pop-up's fields.
#[derive(Debug, Default, Deserialize)]
pub struct ReleaseForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

/// `POST /held/{id}/release`: records the justified contact with the reason picked and releases
/// the email; a reason that cannot justify it, or a note refused, shows the pop-up again.
pub async fn release(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ReleaseForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::ContactPeople)?;
    let id = parse_id(&id)?;
    let tr = staff.tr;
    let mut again = Again {
        reason: form.reason.clone(),
        note: form.note.clone(),
        ..Again::default()
    };
    let reason = uuid::Uuid::parse_str(form.reason.trim()).ok().map(ReasonId);
    let outcome = match reason {
        None => Err(AppError::Store(StoreError::NotFound { entity: "reason" })),
        Some(reason) => {
            state
                .app
                .release_held(
                    &staff.who(),
                    id,
                    reason,
                    Some(form.note.as_str()),
                    &staff.actor_id(),
                )
                .await
        }
    };
    match outcome {
        Ok(_) => Ok(see_other("/held?done=held-released")),
        Err(AppError::Store(StoreError::Conflict {
            field: "status", ..
        })) => Ok(see_other("/held?warn=held-gone")),
        Err(AppError::Store(StoreError::NotFound {
            entity: "held message",
        })) => Err(PageError::NotFound),
        // Blocked meanwhile: the pop-up says so, and offers the drop.
        Err(AppError::Store(StoreError::Invalid(DomainError::Invalid {
            field: "action", ..
        }))) => Ok(see_other(&format!("/held?justify={id}#justify-dialog"))),
        Err(AppError::Store(StoreError::NotFound { entity: "reason" })) => {
            again.reason_error = Some(tr.t("card-error-reason-required"));
            release_again(&state, &staff, id, again).await
        }
        Err(AppError::Store(StoreError::Invalid(DomainError::Invalid {
            field: "reason", ..
        }))) => {
            let marketing = match reason {
                Some(reason) => state.store.reason(reason).await?.marketing,
                None => false,
            };
            again.reason_error = Some(tr.t(if marketing {
                "card-error-reason-objection"
            } else {
                "card-error-reason-inactive"
            }));
            release_again(&state, &staff, id, again).await
        }
        Err(AppError::Store(StoreError::Invalid(DomainError::Invalid {
            field: "note", ..
        }))) => {
            again.note_error = Some(tr.t("card-error-note"));
            release_again(&state, &staff, id, again).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The page with the pop-up open again, showing what was wrong.
async fn release_again(
    state: &AppState,
    staff: &Staff,
    id: uuid::Uuid,
    again: Again,
) -> Result<Response, PageError> {
    let page = held_page(state, staff, staff.page("held"), Some((id, again))).await?;
    let mut response = render(&page)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// `POST /held/{id}/drop`: drops the email (the whole message, for every recipient) and tells
/// its sender.
pub async fn drop(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Permission::ContactPeople)?;
    let id = parse_id(&id)?;
    match state.app.drop_held(&staff.who(), id).await {
        Ok(_) => Ok(see_other("/held?done=held-dropped")),
        Err(AppError::Store(StoreError::Conflict {
            field: "status", ..
        })) => Ok(see_other("/held?warn=held-gone")),
        Err(e) => Err(e.into()),
    }
}
