//! Erasure in the console (GDPR Art. 17): the confirmation page that lists what will be erased
//! and what will be kept (why, until when), the erasure itself, and the kept-per-category table
//! the card of an erased contact shows. Only the DPO and the administrator may erase
//! ([`Permission::Erase`]); the store audits it (`contact.erase`) in the erasure's transaction.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use consento_domain::erasure::{ErasedCategory, ErasurePolicy, ErasureReason};
use consento_domain::requests::RequestKind;
use consento_domain::{ContactId, Permission, RequestId, Timestamp};
use consento_store::{ContactRef, ErasureInput};
use serde::Deserialize;

use super::contacts::{display_name, path_contact};
use super::page::{Page, PageError, render, see_other};
use super::session::Staff;
use crate::i18n::Tr;
use crate::state::AppState;

/// One kept category as the pages show it.
pub struct KeptRow {
    /// What is kept.
    pub category: String,
    /// Why (the article).
    pub ground: String,
    /// Until when, in words.
    pub until: String,
}

/// The label of a code under `prefix` (`erasure-kept-consent-proof`).
fn label(tr: Tr, prefix: &str, code: &str) -> String {
    tr.t(&format!("{prefix}-{}", code.replace('_', "-")))
}

/// What an erasure at `at` keeps under `policy`, in words.
pub fn kept_rows(tr: Tr, policy: &ErasurePolicy, at: Timestamp) -> Vec<KeptRow> {
    policy
        .kept(at, tr.zone)
        .into_iter()
        .map(|k| KeptRow {
            category: label(tr, "erasure-kept", k.category.code()),
            ground: label(tr, "erasure-ground", k.ground.code()),
            until: k
                .until
                .map_or_else(|| tr.t("erasure-until-forever"), |d| tr.day_in_words(d)),
        })
        .collect()
}

/// The card's erasure section: for an erased contact, what was kept; none otherwise.
pub fn card_kept(tr: Tr, state: &AppState, erased_at: Option<Timestamp>) -> Vec<KeptRow> {
    erased_at.map_or_else(Vec::new, |at| {
        kept_rows(tr, &state.app.policy().erasure, at)
    })
}

#[derive(Template)]
#[template(path = "erasure_confirm.html")]
struct ConfirmPage {
    page: Page,
    id: String,
    name: String,
    erased: Vec<String>,
    kept: Vec<KeptRow>,
    request: Option<(String, String)>,
}

/// The query of the confirmation page: the erasure request it carries out, if any.
#[derive(Debug, Default, Deserialize)]
pub struct EraseQuery {
    #[serde(default)]
    request: Option<String>,
}

/// The form that erases.
#[derive(Debug, Default, Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    request: String,
}

fn request_id(text: Option<&str>) -> Result<Option<RequestId>, PageError> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| RequestId::parse("request", t).map_err(|_| PageError::NotFound))
        .transpose()
}

/// `GET /contacts/{id}/erase`: what the erasure will remove and keep, and the button.
pub async fn confirm(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<EraseQuery>,
) -> Result<Response, PageError> {
    staff.require(Permission::Erase)?;
    let tr = staff.tr;
    let id = path_contact(&id)?;
    let contact = state.store.contact(&ContactRef::Id(id)).await?;
    if contact.erased_at.is_some() {
        return Ok(see_other(&format!("/contacts/{id}")));
    }
    let request = match request_id(q.request.as_deref())? {
        Some(rid) => {
            let r = state.store.request(rid).await?;
            if r.kind != RequestKind::Erasure || r.contact_id.is_some_and(|c| c != id) {
                return Err(PageError::NotFound);
            }
            Some((
                rid.to_string(),
                tr.with("erasure-request", "date", &tr.date(r.received_at)),
            ))
        }
        None => None,
    };
    render(&ConfirmPage {
        page: staff.page("contacts"),
        id: id.to_string(),
        name: display_name(tr, contact.name.as_deref()),
        erased: ErasedCategory::ALL
            .iter()
            .map(|c| label(tr, "erasure-category", c.code()))
            .collect(),
        kept: kept_rows(tr, &state.app.policy().erasure, state.store.now()),
        request,
    })
}

/// `POST /contacts/{id}/erase`: erases, then shows the card of the erased contact.
pub async fn erase(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<EraseForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::Erase)?;
    let id: ContactId = path_contact(&id)?;
    let input = ErasureInput {
        reason: ErasureReason::Request,
        actor: staff.actor(),
        by: staff.by(),
        request_id: request_id(Some(&form.request))?,
    };
    state.store.erase_contact(id, &input).await?;
    Ok(see_other(&format!("/contacts/{id}?done=contact-erased")))
}
