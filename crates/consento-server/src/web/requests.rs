//! `/requests`: the DPO's list of data-subject requests (GDPR Arts. 15-22), the most urgent first
//! (overdue, then due soon), and each request's page with its history and the actions that move
//! it: verify identity, start, complete, reject with the reason and the person's remedies
//! (Art. 12(4)), extend by two months within the first month (Art. 12(3)). Reading needs
//! `Audit` (administrator, DPO, auditor); changing needs `HandleRequests` (administrator, DPO).
//! Every change is audited.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use consento_domain::requests::{RequestChannel, RequestKind, RequestStatus, plus_days};
use consento_domain::{ActorKind, ContactId, Permission, RequestId};
use consento_store::{
    DataRequest, DataRequestEvent, DataRequestFilter, ERASURE_OUTCOME, EXTENDED_NOTE, LINKED_NOTE,
    NewDataRequest, RequestMove, StoreError,
};
use serde::Deserialize;

use super::page::{Page, PageError, render, see_other};
use super::session::Staff;
use crate::i18n::{Arg, Tr};
use crate::state::AppState;
use consento_app::AppError;
use consento_app::contacts::parse_ref;
use consento_app::requests::is_overdue;

/// Days ahead in which an open request counts as due soon.
const DUE_SOON_DAYS: i64 = 7;

/// The list's query: which requests, which kind.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    show: Option<String>,
    kind: Option<String>,
    done: Option<String>,
    /// The contact the new request form is filled in for (the card's "log a request" link).
    contact: Option<String>,
}

/// A row of the list, written for the page.
struct Row {
    href: String,
    kind: String,
    status: String,
    received: String,
    deadline: String,
    /// `blocked` (overdue), `needs` (due soon) or empty.
    urgency: &'static str,
    urgency_label: String,
    description: String,
}

/// The fields of the form that logs a request, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    received: String,
    #[serde(default)]
    description: String,
    /// The person, when known: our id, an email address, a phone number or the CRM's id.
    #[serde(default)]
    contact: String,
}

/// What was wrong with the new request form, per field.
#[derive(Debug, Default)]
struct CreateErrors {
    received: Option<String>,
    description: Option<String>,
    contact: Option<String>,
}

#[derive(Template)]
#[template(path = "requests_list.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    show: String,
    kind: String,
    shows: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    can_handle: bool,
    form: CreateForm,
    errors: CreateErrors,
}

fn kind_label(tr: Tr, kind: RequestKind) -> String {
    tr.t(&format!("requests-kind-{}", kind.code().replace('_', "-")))
}

fn status_label(tr: Tr, status: RequestStatus) -> String {
    tr.t(&format!(
        "requests-status-{}",
        status.code().replace('_', "-")
    ))
}

fn channel_label(tr: Tr, channel: RequestChannel) -> String {
    tr.t(&format!(
        "requests-channel-{}",
        channel.code().replace('_', "-")
    ))
}

/// A `YYYY-MM-DD` day in words ("3 giugno 2025").
fn day_label(tr: Tr, day: &str) -> String {
    consento_domain::requests::parse_date("day", day)
        .map_or_else(|_| day.to_owned(), |d| tr.day_in_words(d))
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    params: &ListParams,
    form: CreateForm,
    errors: CreateErrors,
) -> Result<Response, PageError> {
    let tr = staff.tr;
    let today_date = state.app.today_date()?;
    let today_text = consento_domain::requests::format_date(today_date);
    let soon = plus_days(today_date, DUE_SOON_DAYS)
        .map(consento_domain::requests::format_date)
        .unwrap_or_default();
    let show = params.show.as_deref().unwrap_or("open");
    let kind = params.kind.as_deref().unwrap_or_default();
    let mut filter = DataRequestFilter {
        kind: RequestKind::parse(kind).ok(),
        // From a contact card: that person's requests only.
        contact_id: params
            .contact
            .as_deref()
            .and_then(|c| uuid::Uuid::parse_str(c).ok())
            .map(ContactId),
        limit: 500,
        ..Default::default()
    };
    match show {
        "overdue" => filter.overdue_on = Some(today_date),
        "soon" => filter.due_by = plus_days(today_date, DUE_SOON_DAYS),
        "all" => {}
        _ => filter.open = true,
    }
    let rows = state
        .store
        .requests(&filter)
        .await?
        .into_iter()
        .map(|r| {
            let (urgency, key) = if is_overdue(&r, &today_text) {
                ("blocked", "requests-overdue")
            } else if r.status.is_open() && r.deadline <= soon {
                ("needs", "requests-due-soon")
            } else {
                ("", "")
            };
            Row {
                href: format!("/requests/{}", r.id),
                kind: kind_label(tr, r.kind),
                status: status_label(tr, r.status),
                received: tr.date(r.received_at),
                deadline: day_label(tr, &r.deadline),
                urgency,
                urgency_label: if key.is_empty() {
                    String::new()
                } else {
                    tr.t(key)
                },
                description: r.description,
            }
        })
        .collect();
    render(&ListPage {
        page: staff.page("requests").done(params.done.as_deref()),
        rows,
        show: show.to_owned(),
        kind: kind.to_owned(),
        shows: ["open", "overdue", "soon", "all"]
            .into_iter()
            .map(|s| (s.to_owned(), tr.t(&format!("requests-show-{s}"))))
            .collect(),
        kinds: RequestKind::ALL
            .iter()
            .map(|k| (k.code().to_owned(), kind_label(tr, *k)))
            .collect(),
        channels: RequestChannel::ALL
            .iter()
            .map(|c| (c.code().to_owned(), channel_label(tr, *c)))
            .collect(),
        can_handle: staff.user.role.can(Permission::HandleRequests),
        form,
        errors,
    })
}

/// `GET /requests`: the requests, overdue first, then by deadline.
pub async fn list(
    staff: Staff,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    staff.require(Permission::Audit)?;
    let form = CreateForm {
        received: staff.tr.date_input(state.store.now()),
        contact: params.contact.clone().unwrap_or_default(),
        ..Default::default()
    };
    list_page(&state, &staff, &params, form, CreateErrors::default()).await
}

/// `POST /requests`: logs a request received by letter, phone, in person…
pub async fn create(
    staff: Staff,
    State(state): State<AppState>,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::HandleRequests)?;
    let tr = staff.tr;
    // The lists offer every kind and channel: another value was not typed by a person.
    let choose = |field: &str| PageError::Invalid {
        field: tr.t(field),
        reason: tr.t("error-choose"),
    };
    let kind = RequestKind::parse(&form.kind).map_err(|_| choose("requests-kind"))?;
    let channel = RequestChannel::parse(&form.channel).map_err(|_| choose("requests-channel"))?;
    let received_at = if form.received.trim().is_empty() {
        None
    } else {
        match tr.zone.parse_instant("received_at", &form.received) {
            Ok(t) => Some(t),
            Err(_) => {
                let errors = CreateErrors {
                    received: Some(tr.t("requests-error-received")),
                    ..CreateErrors::default()
                };
                return list_page(&state, &staff, &ListParams::default(), form, errors).await;
            }
        }
    };
    let contact_id = match find_contact(&state, &form.contact).await? {
        Ok(found) => found,
        Err(key) => {
            let errors = CreateErrors {
                contact: Some(tr.t(key)),
                ..CreateErrors::default()
            };
            return list_page(&state, &staff, &ListParams::default(), form, errors).await;
        }
    };
    let new = NewDataRequest {
        contact_id,
        kind,
        channel,
        description: form.description.clone(),
        received_at,
        actor: staff.actor(),
    };
    // Audited by the app (`request.create`) in the request's transaction.
    let created = state.app.log_request(&staff.who(), new, &[]).await;
    match created {
        Ok(r) => Ok(see_other(&format!(
            "/requests/{}?done=request-created",
            r.id
        ))),
        Err(AppError::Store(StoreError::Invalid(e))) if e.field() == "received_at" => {
            let errors = CreateErrors {
                received: Some(tr.t("requests-error-received")),
                ..CreateErrors::default()
            };
            list_page(&state, &staff, &ListParams::default(), form, errors).await
        }
        Err(AppError::Store(StoreError::Invalid(e))) if e.field() == "description" => {
            let errors = CreateErrors {
                description: Some(tr.t("requests-error-too-long")),
                ..CreateErrors::default()
            };
            list_page(&state, &staff, &ListParams::default(), form, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The contact a form names (our id, an email address, a phone number or the CRM's id): none for
/// an empty field, else its id, or the message key saying why it was not found. Erased contacts
/// are not found: nothing can be asked of them any more.
async fn find_contact(
    state: &AppState,
    text: &str,
) -> Result<Result<Option<ContactId>, &'static str>, PageError> {
    if text.trim().is_empty() {
        return Ok(Ok(None));
    }
    let found = match state.store.contact(&parse_ref(text)).await {
        Ok(c) if c.erased_at.is_none() => c.id,
        Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Invalid(_)) => {
            return Ok(Err("requests-error-contact"));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Ok(Some(found)))
}

/// The form linking a request to its contact.
#[derive(Debug, Default, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    contact: String,
}

/// `POST /requests/{id}/contact`: links a request logged before the person was identified to
/// their contact (Art. 12(6)).
pub async fn link(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::HandleRequests)?;
    let id = request_id(&id)?;
    let contact = match find_contact(&state, &form.contact).await? {
        Ok(Some(c)) => c,
        Ok(None) | Err(_) => {
            let errors = ActionErrors {
                link_error: Some(staff.tr.t("requests-error-contact")),
                ..ActionErrors::default()
            };
            let form = ActionForm {
                contact: form.contact,
                ..ActionForm::default()
            };
            return detail_page(&state, &staff, id, staff.page("requests"), form, errors).await;
        }
    };
    let r = state
        .app
        .link_request(&staff.who(), id, contact, staff.actor())
        .await?;
    Ok(see_other(&format!(
        "/requests/{}?done=request-linked",
        r.id
    )))
}

/// A history entry, written for the page.
struct HistoryRow {
    when: String,
    who: String,
    from: String,
    to: String,
    note: String,
}

/// What was typed in the action forms, and the messages next to their fields.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    remedies: String,
    #[serde(default)]
    extension_reason: String,
    #[serde(default)]
    contact: String,
}

#[derive(Default)]
struct ActionErrors {
    move_error: Option<String>,
    link_error: Option<String>,
    note_error: Option<String>,
    reason_error: Option<String>,
    remedies_error: Option<String>,
    extend_error: Option<String>,
}

#[derive(Template)]
#[template(path = "requests_detail.html")]
struct DetailPage {
    page: Page,
    request: DataRequest,
    kind: String,
    status: String,
    channel: String,
    received: String,
    due_on: String,
    extended_due_on: Option<String>,
    overdue: bool,
    closed: Option<String>,
    /// What was done, in the reader's language when the system wrote it.
    outcome: Option<String>,
    history: Vec<HistoryRow>,
    can_handle: bool,
    /// (status code, button label) of the plain moves offered (identity check, start).
    moves: Vec<(&'static str, String)>,
    can_complete: bool,
    /// What completing it does to the contact (restriction and objection requests).
    effect: Option<String>,
    can_reject: bool,
    can_extend: bool,
    form: ActionForm,
    errors: ActionErrors,
    /// An open erasure request of a known person: the link that carries it out.
    erase_href: Option<String>,
}

async fn detail_page(
    state: &AppState,
    staff: &Staff,
    id: RequestId,
    page: Page,
    mut form: ActionForm,
    errors: ActionErrors,
) -> Result<Response, PageError> {
    let tr = staff.tr;
    let request = state.store.request(id).await?;
    let events = state.store.request_history(id).await?;
    let users = state.store.users().await?;
    let who = |e: &DataRequestEvent| match e.actor.kind {
        ActorKind::Operator => users
            .iter()
            .find(|u| u.id.to_string() == e.actor.id)
            .map_or_else(|| e.actor.id.clone(), |u| u.display_name.clone()),
        ActorKind::Token => tr.with("requests-by-token", "id", &e.actor.id),
        ActorKind::Subject => tr.t("card-actor-subject"),
        ActorKind::System => tr.t("card-actor-system"),
    };
    let history = events
        .iter()
        .map(|e| HistoryRow {
            when: tr.datetime(e.at),
            who: who(e),
            from: e
                .from_status
                .map(|s| status_label(tr, s))
                .unwrap_or_default(),
            to: status_label(tr, e.to_status),
            note: written(tr, &e.note),
        })
        .collect();
    let status = request.status;
    let moves = [
        RequestStatus::IdentityVerification,
        RequestStatus::InProgress,
    ]
    .into_iter()
    .filter(|to| status.can_move_to(*to))
    .map(|to| {
        (
            to.code(),
            tr.t(&format!("requests-action-{}", to.code().replace('_', "-"))),
        )
    })
    .collect();
    if form.remedies.is_empty() {
        form.remedies = tr.t("requests-default-remedies");
    }
    let today_text = state.app.today();
    render(&DetailPage {
        page,
        kind: kind_label(tr, request.kind),
        status: status_label(tr, status),
        channel: channel_label(tr, request.channel),
        received: tr.date(request.received_at),
        due_on: day_label(tr, &request.due_on),
        extended_due_on: request.extended_due_on.as_deref().map(|d| day_label(tr, d)),
        overdue: is_overdue(&request, &today_text),
        closed: request.closed_at.map(|t| tr.date(t)),
        outcome: request.outcome.as_deref().map(|o| written(tr, o)),
        history,
        can_handle: staff.user.role.can(Permission::HandleRequests),
        moves,
        can_complete: status.can_move_to(RequestStatus::Completed),
        effect: match request.kind {
            RequestKind::Restriction => Some(tr.t("flags-request-effect-restriction")),
            RequestKind::Objection => Some(tr.t("flags-request-effect-objection")),
            _ => None,
        },
        can_reject: status.can_move_to(RequestStatus::Rejected),
        can_extend: status.is_open()
            && request.extended_due_on.is_none()
            && request.due_on >= today_text,
        erase_href: request
            .contact_id
            .filter(|_| {
                request.kind == RequestKind::Erasure
                    && status.is_open()
                    && staff.user.role.can(Permission::Erase)
            })
            .map(|c| format!("/contacts/{c}/erase?request={}", request.id)),
        request,
        form,
        errors,
    })
}

/// A note or outcome as the reader reads it: those the system writes (an erasure, GDPR
/// Art. 17; a link to the contact; an extension, Art. 12(3), with its new deadline and reason)
/// in their language, what a person wrote as written.
fn written(tr: Tr, text: &str) -> String {
    if text == ERASURE_OUTCOME {
        return tr.t("requests-outcome-erased");
    }
    if text.starts_with(LINKED_NOTE) {
        return tr.t("requests-note-linked");
    }
    if let Some((day, reason)) = text
        .strip_prefix(EXTENDED_NOTE)
        .and_then(|rest| rest.split_once(": "))
    {
        return tr.args(
            "requests-note-extended",
            &[
                ("date", Arg::Text(day_label(tr, day).into())),
                ("reason", Arg::Text(reason.into())),
            ],
        );
    }
    text.to_owned()
}

fn request_id(text: &str) -> Result<RequestId, PageError> {
    RequestId::parse("id", text).map_err(|_| PageError::NotFound)
}

/// The `?done=` of a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct DoneParams {
    done: Option<String>,
}

/// `GET /requests/{id}`: the request, its deadline, its history, and the actions.
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneParams>,
) -> Result<Response, PageError> {
    staff.require(Permission::Audit)?;
    let id = request_id(&id)?;
    let page = staff.page("requests").done(q.done.as_deref());
    detail_page(
        &state,
        &staff,
        id,
        page,
        ActionForm::default(),
        ActionErrors::default(),
    )
    .await
}

/// `POST /requests/{id}/move`: verify identity, start, complete or reject.
pub async fn move_to(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::HandleRequests)?;
    let tr = staff.tr;
    let id = request_id(&id)?;
    let to = RequestStatus::parse(&form.to).map_err(|_| PageError::Invalid {
        field: tr.t("requests-status"),
        reason: tr.t("error-choose"),
    })?;
    let rejecting = to == RequestStatus::Rejected;
    let change = RequestMove {
        to,
        note: form.note.clone(),
        reason: rejecting.then(|| form.reason.clone()),
        remedies: rejecting.then(|| form.remedies.clone()),
        actor: staff.actor(),
    };
    let moved = state.app.move_request(&staff.who(), id, change).await;
    match moved {
        Ok(r) => Ok(see_other(&format!("/requests/{}?done=request-moved", r.id))),
        Err(AppError::Store(StoreError::Invalid(e))) => {
            let mut errors = ActionErrors::default();
            match e.field() {
                "reason" => errors.reason_error = Some(tr.t("requests-error-reason")),
                "remedies" => errors.remedies_error = Some(tr.t("requests-error-remedies")),
                "note" => errors.note_error = Some(tr.t("requests-error-too-long")),
                _ => errors.move_error = Some(tr.t("requests-error-move")),
            }
            detail_page(&state, &staff, id, staff.page("requests"), form, errors).await
        }
        // Completing a restriction or objection request sets the contact's flag: without a
        // contact, or on an erased one, there is nothing to set it on.
        Err(AppError::Store(StoreError::Conflict { field, .. }))
            if matches!(field, "contact_id" | "id") =>
        {
            let key = if field == "id" {
                "flags-request-contact-erased"
            } else {
                "flags-request-needs-contact"
            };
            let errors = ActionErrors {
                move_error: Some(tr.t(key)),
                ..ActionErrors::default()
            };
            detail_page(&state, &staff, id, staff.page("requests"), form, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /requests/{id}/extension`: two further months, with the reason.
pub async fn extend(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::HandleRequests)?;
    let tr = staff.tr;
    let id = request_id(&id)?;
    // The request keeps the new deadline, and its history the extension.
    let result = state
        .app
        .extend_request(&staff.who(), id, &form.extension_reason, staff.actor(), &[])
        .await;
    match result {
        Ok(r) => Ok(see_other(&format!(
            "/requests/{}?done=request-extended",
            r.id
        ))),
        Err(AppError::Store(StoreError::Invalid(_))) => {
            let key = if form.extension_reason.trim().is_empty() {
                "requests-error-extension-reason"
            } else {
                "requests-error-extension"
            };
            let errors = ActionErrors {
                extend_error: Some(tr.t(key)),
                ..Default::default()
            };
            detail_page(&state, &staff, id, staff.page("requests"), form, errors).await
        }
        Err(e) => Err(e.into()),
    }
}
