//! The Contacts section: finding a contact (by name, email address, phone number in any common
//! spelling, or the CRM's id), the list a page at a time, and the form that creates a contact or
//! rectifies one (GDPR Art. 16) with its provenance: source (Art. 14(2)(f)), legal basis
//! (Art. 6(1)) and purposes (Art. 13(1)(c)). The contact card itself is in [`super::card`].
//!
//! Pages follow the store's keyset cursor (the id after which the next page starts), so the
//! fiftieth page of a million contacts costs what the first one does.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_domain::requests::{RequestKind, RequestStatus};
use consento_domain::{ContactId, DomainError, LegalBasis, Permission, RequestId};
use consento_store::{Contact, ContactInput, ContactRef, ContactSummary, RequestMove, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::page::{Page, PageError, percent_encode, render, see_other};
use super::session::Staff;
use crate::i18n::Tr;
use crate::state::AppState;

/// Contacts per page of the list.
pub const PAGE_SIZE: usize = 50;

/// The contact named by a path segment: our id, or not found.
pub fn path_contact(id: &str) -> Result<ContactId, PageError> {
    uuid::Uuid::parse_str(id.trim())
        .map(ContactId)
        .map_err(|_| PageError::NotFound)
}

/// A contact's name for headings and lists, or the words for "no name".
pub fn display_name(tr: Tr, name: Option<&str>) -> String {
    name.filter(|n| !n.trim().is_empty())
        .map_or_else(|| tr.t("contacts-no-name"), str::to_owned)
}

/// A legal basis in words, with its article: "Consent (GDPR Art. 6(1)(a))".
pub fn basis_label(tr: Tr, basis: LegalBasis) -> String {
    tr.t(&format!(
        "contacts-basis-{}",
        basis.code().replace('_', "-")
    ))
}

/// The legal bases for a select: (code, words), in the order of Art. 6(1).
pub fn basis_options(tr: Tr) -> Vec<(&'static str, String)> {
    LegalBasis::ALL
        .iter()
        .map(|b| (b.code(), basis_label(tr, *b)))
        .collect()
}

/// One line of the list.
pub struct Row {
    /// Where its card is.
    pub href: String,
    /// Name, or the words for "no name".
    pub name: String,
    /// Primary email address.
    pub email: String,
    /// Primary phone number.
    pub phone: String,
    /// The CRM's id.
    pub external_id: String,
    /// Badges: (class, words).
    pub badges: Vec<(&'static str, String)>,
}

fn row(tr: Tr, s: ContactSummary) -> Row {
    let mut badges = Vec::new();
    if let Some(at) = s.erased_at {
        badges.push((
            "off",
            tr.with("contacts-badge-erased", "date", &tr.date(at)),
        ));
    }
    if let Some(at) = s.restricted_at {
        badges.push((
            "blocked",
            tr.with("contacts-badge-restricted", "date", &tr.date(at)),
        ));
    }
    if let Some(at) = s.objected_at {
        badges.push((
            "needs",
            tr.with("contacts-badge-objected", "date", &tr.date(at)),
        ));
    }
    Row {
        href: format!("/contacts/{}", s.id),
        name: display_name(tr, s.name.as_deref()),
        email: s.email.unwrap_or_default(),
        phone: s.phone.unwrap_or_default(),
        external_id: s.external_id.unwrap_or_default(),
        badges,
    }
}

#[derive(Template)]
#[template(path = "contacts_list.html")]
struct ListPage {
    page: Page,
    q: String,
    rows: Vec<Row>,
    /// Link to the next page, when there is one.
    next: Option<String>,
    /// Link to the first page, when this is not it.
    first: Option<String>,
}

/// The query of the list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// Whether `q` is worth trying as a phone number: digits and what people write between them,
/// with enough digits to be a number rather than an id or a year.
fn looks_like_phone(q: &str) -> bool {
    q.chars().filter(char::is_ascii_digit).count() >= 6
        && q.chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
}

/// Finds contacts for the search box. An email address or a phone number (any common spelling:
/// the store normalises it) finds the one contact holding it; a number that is no contact's
/// phone, and any other text, searches names and external ids a page at a time. Returns the
/// page (up to `PAGE_SIZE + 1`, the extra one telling that another page follows) and whether it
/// is a paged search.
async fn find(
    state: &AppState,
    q: &str,
    after: Option<ContactId>,
) -> Result<(Vec<ContactSummary>, bool), StoreError> {
    let limit = i64::try_from(PAGE_SIZE + 1).unwrap_or(51);
    if q.is_empty() {
        return Ok((state.store.list_contacts(after, limit).await?, true));
    }
    if after.is_none() {
        let exact = if q.contains('@') {
            Some(ContactRef::Email(q.to_owned()))
        } else if looks_like_phone(q) {
            Some(ContactRef::Phone(q.to_owned()))
        } else {
            None
        };
        if let Some(r) = exact {
            match state.store.contact_summaries(r).await {
                Ok(found) if !found.is_empty() => return Ok((found, false)),
                // Not an address or a number after all (or nobody's): search names and ids.
                Ok(_) | Err(StoreError::Invalid(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok((
        state.store.search_contacts_page(q, after, limit).await?,
        true,
    ))
}

/// `GET /contacts`: the search box and a page of contacts.
pub async fn list(
    staff: Staff,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    let q = query
        .q
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(path_contact(a).map_err(|_| PageError::Invalid {
            field: staff.tr.t("contacts-pages"),
            reason: staff.tr.t("contacts-bad-cursor"),
        })?),
        None => None,
    };
    let (mut found, paged) = find(&state, &q, after).await?;
    let more = paged && found.len() > PAGE_SIZE;
    found.truncate(PAGE_SIZE);
    let with_q = |after: Option<ContactId>| {
        let mut link = "/contacts".to_owned();
        let mut sep = '?';
        if !q.is_empty() {
            link.push_str(&format!("?q={}", percent_encode(&q)));
            sep = '&';
        }
        if let Some(a) = after {
            link.push_str(&format!("{sep}after={a}"));
        }
        link
    };
    let next = found.last().filter(|_| more).map(|s| with_q(Some(s.id)));
    let first = after.map(|_| with_q(None));
    let tr = staff.tr;
    render(&ListPage {
        page: staff.page("contacts").done(query.done.as_deref()),
        q: q.clone(),
        rows: found.into_iter().map(|s| row(tr, s)).collect(),
        next,
        first,
    })
}

/// The fields of the contact form, as typed: lists one item a line.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ContactFields {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub emails: String,
    #[serde(default)]
    pub phones: String,
    #[serde(default)]
    pub external_id: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub legal_basis: String,
    #[serde(default)]
    pub purposes: String,
    /// The rectification request (GDPR Art. 16) this edit serves, when opened from its page.
    #[serde(default)]
    pub request: String,
    /// `yes`: once the change is saved, mark that request completed.
    #[serde(default)]
    pub complete_request: String,
}

/// The items of a list field: one a line (emails and phones may also be separated by commas or
/// semicolons, which neither can contain).
fn items(text: &str, commas: bool) -> Vec<String> {
    text.split(|c: char| c == '\n' || (commas && (c == ',' || c == ';')))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

impl ContactFields {
    /// The form filled with a stored contact.
    pub fn of(c: &Contact) -> Self {
        Self {
            name: c.name.clone().unwrap_or_default(),
            emails: c
                .emails
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            phones: c
                .phones
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            external_id: c.external_id.clone().unwrap_or_default(),
            source: c.source.clone().unwrap_or_default(),
            legal_basis: c
                .legal_basis
                .map(|b| b.code().to_owned())
                .unwrap_or_default(),
            purposes: c.purposes.join("\n"),
            request: String::new(),
            complete_request: String::new(),
        }
    }

    /// The store's input, keeping the attributes a CRM set (the form does not show them).
    pub fn input(&self, attributes: serde_json::Map<String, serde_json::Value>) -> ContactInput {
        ContactInput {
            external_id: optional(&self.external_id),
            name: optional(&self.name),
            emails: items(&self.emails, true),
            phones: items(&self.phones, true),
            attributes,
            source: optional(&self.source),
            legal_basis: optional(&self.legal_basis),
            purposes: items(&self.purposes, false),
        }
    }
}

/// The text between the first pair of backticks of a domain error's reason: the value at fault.
fn quoted(reason: &str) -> Option<&str> {
    let start = reason.find('`')? + 1;
    let len = reason.get(start..)?.find('`')?;
    reason.get(start..start + len)
}

/// A store's refusal of a contact's fields as (form field, message in the page's language), or
/// the error itself when it is not about a field.
pub fn field_error(tr: Tr, e: StoreError) -> Result<(&'static str, String), PageError> {
    let value = |reason: &str| quoted(reason).unwrap_or_default().to_owned();
    match e {
        StoreError::Invalid(DomainError::Invalid { field, reason }) => Ok(match field {
            "email" => (
                "emails",
                tr.with("contacts-error-email", "value", &value(&reason)),
            ),
            "phone" => (
                "phones",
                tr.with("contacts-error-phone", "value", &value(&reason)),
            ),
            "legal_basis" => ("legal_basis", tr.t("contacts-error-legal-basis")),
            "external_id" => (
                "external_id",
                tr.count_named("contacts-error-length", "max", 128),
            ),
            "name" => ("name", tr.count_named("contacts-error-length", "max", 200)),
            "source" => (
                "source",
                tr.count_named("contacts-error-length", "max", 200),
            ),
            "purposes" => (
                "purposes",
                tr.count_named("contacts-error-purpose-length", "max", 200),
            ),
            _ => return Err(StoreError::Invalid(DomainError::Invalid { field, reason }).into()),
        }),
        StoreError::Conflict { field: "email", .. } => {
            Ok(("emails", tr.t("contacts-error-email-taken")))
        }
        StoreError::Conflict { field: "phone", .. } => {
            Ok(("phones", tr.t("contacts-error-phone-taken")))
        }
        StoreError::Conflict {
            field: "external_id",
            ..
        } => Ok(("external_id", tr.t("contacts-error-external-id-taken"))),
        other => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "contacts_form.html")]
struct FormPage {
    page: Page,
    /// `/contacts` (new) or the contact's edit path.
    action: String,
    /// Where "cancel" goes.
    back: String,
    title: String,
    f: ContactFields,
    errors: HashMap<&'static str, String>,
    bases: Vec<(&'static str, String)>,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

fn form_page(
    staff: &Staff,
    action: String,
    back: String,
    title: String,
    f: ContactFields,
    errors: HashMap<&'static str, String>,
) -> Result<Response, PageError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&FormPage {
        page: staff.page("contacts"),
        action,
        back,
        title,
        f,
        errors,
        bases: basis_options(staff.tr),
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// What the audit entry of a contact created from `input` keeps: its provenance as the store
/// keeps it, and only the names of the identity fields (names, addresses and numbers are
/// personal data; the audit trail holds none it does not need). A provenance the store refuses
/// is never written, nor is its entry.
pub fn create_detail(input: &ContactInput) -> serde_json::Value {
    fn text(t: Option<&str>) -> Option<&str> {
        t.map(str::trim).filter(|t| !t.is_empty())
    }
    let mut purposes: Vec<&str> = Vec::new();
    for p in input.purposes.iter().map(|p| p.trim()) {
        if !p.is_empty() && !purposes.contains(&p) {
            purposes.push(p);
        }
    }
    json!({
        "changed": ["name", "emails", "phones", "external_id"],
        "before": null,
        "after": {
            "source": text(input.source.as_deref()),
            "legal_basis": text(input.legal_basis.as_deref())
                .and_then(|b| LegalBasis::parse(b).ok())
                .map(LegalBasis::code),
            "purposes": purposes,
        },
    })
}

/// `GET /contacts/new`.
pub async fn new_form(staff: Staff) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    form_page(
        &staff,
        "/contacts".to_owned(),
        "/contacts".to_owned(),
        staff.tr.t("contacts-new-title"),
        ContactFields::default(),
        HashMap::new(),
    )
}

/// `POST /contacts`: creates a contact; a refused field shows the form again with what was typed.
pub async fn create(
    staff: Staff,
    State(state): State<AppState>,
    Form(f): Form<ContactFields>,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    let input = f.input(serde_json::Map::new());
    // The store names the contact it creates as the entry's target.
    let created = staff
        .audited_result(
            &state.app,
            "contact.create",
            None,
            create_detail(&input),
            state.store.create_contact(input),
        )
        .await?;
    match created {
        Ok(c) => Ok(see_other(&format!(
            "/contacts/{}?done=contact-created",
            c.id
        ))),
        Err(e) => {
            let (field, message) = field_error(staff.tr, e)?;
            form_page(
                &staff,
                "/contacts".to_owned(),
                "/contacts".to_owned(),
                staff.tr.t("contacts-new-title"),
                f,
                HashMap::from([(field, message)]),
            )
        }
    }
}

/// The rectification request an edit was opened from (`?request=`).
#[derive(Debug, Default, Deserialize)]
pub struct EditParams {
    request: Option<String>,
}

/// `GET /contacts/{id}/edit`: every field of the contact (rectification, GDPR Art. 16). Opened
/// from a rectification request's page, the form also offers to mark the request completed.
pub async fn edit_form(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<EditParams>,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    let id = path_contact(&id)?;
    let c = state.store.contact(&ContactRef::Id(id)).await?;
    if c.erased_at.is_some() {
        return Err(PageError::NotFound);
    }
    let request = rectification_of(&staff, &state, id, q.request.as_deref().unwrap_or_default())
        .await?
        .map(|r| r.id.to_string())
        .unwrap_or_default();
    form_page(
        &staff,
        format!("/contacts/{id}/edit"),
        format!("/contacts/{id}"),
        staff.tr.t("contacts-edit-title"),
        ContactFields {
            request,
            ..ContactFields::of(&c)
        },
        HashMap::new(),
    )
}

/// The open rectification request `text` names for contact `id`, when the staff member handles
/// requests: the only request the contact form may complete (another kind, another person's
/// request or a closed one is ignored, whatever the form posted).
async fn rectification_of(
    staff: &Staff,
    state: &AppState,
    id: ContactId,
    text: &str,
) -> Result<Option<consento_store::DataRequest>, PageError> {
    if !staff.user.role.can(Permission::HandleRequests) {
        return Ok(None);
    }
    let Ok(request) = RequestId::parse("request", text) else {
        return Ok(None);
    };
    let r = match state.store.request(request).await {
        Ok(r) => r,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let fits =
        r.kind == RequestKind::Rectification && r.contact_id == Some(id) && r.status.is_open();
    Ok(fits.then_some(r))
}

/// Completes the rectification request `f` names for contact `contact`, when the form asked
/// to: moved on to in progress if it was not yet, then completed, each move in its history and
/// audited.
async fn complete_request(
    staff: &Staff,
    state: &AppState,
    contact: ContactId,
    f: &ContactFields,
) -> Result<Option<RequestId>, PageError> {
    if f.complete_request != "yes" {
        return Ok(None);
    }
    let Some(r) = rectification_of(staff, state, contact, &f.request).await? else {
        return Ok(None);
    };
    let id = r.id;
    let mut status = r.status;
    for to in [RequestStatus::InProgress, RequestStatus::Completed] {
        if !status.can_move_to(to) {
            continue;
        }
        let change = RequestMove {
            to,
            note: staff.tr.t("contacts-request-rectified"),
            reason: None,
            remedies: None,
            actor: staff.actor(),
        };
        state.app.move_request(&staff.who(), id, change).await?;
        status = to;
    }
    Ok(Some(id))
}

/// Writes `f` over the contact (rectification, GDPR Art. 16); the store audits the before and
/// after of each changed field in the same transaction. The field at fault when refused.
pub async fn save(
    staff: &Staff,
    state: &AppState,
    before: &Contact,
    f: &ContactFields,
) -> Result<Result<Contact, (&'static str, String)>, PageError> {
    let input = f.input(before.attributes.clone());
    match state
        .store
        .rectify_contact(&ContactRef::Id(before.id), input, staff.by())
        .await
    {
        Ok((after, _)) => Ok(Ok(after)),
        Err(e) => Ok(Err(field_error(staff.tr, e)?)),
    }
}

/// `POST /contacts/{id}/edit`.
pub async fn update(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ContactFields>,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    let id = path_contact(&id)?;
    let before = state.store.contact(&ContactRef::Id(id)).await?;
    match save(&staff, &state, &before, &f).await? {
        Ok(_) => match complete_request(&staff, &state, id, &f).await? {
            Some(r) => Ok(see_other(&format!("/requests/{r}?done=request-moved"))),
            None => Ok(see_other(&format!("/contacts/{id}?done=contact-saved"))),
        },
        Err((field, message)) => form_page(
            &staff,
            format!("/contacts/{id}/edit"),
            format!("/contacts/{id}"),
            staff.tr.t("contacts-edit-title"),
            f,
            HashMap::from([(field, message)]),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_written_in_the_usual_ways_are_tried_as_phones_and_names_are_not() {
        for q in [
            "+39 333 123 4567",
            "0039 333-1234567",
            "(06) 1234 5678",
            "3331234567",
        ] {
            assert!(looks_like_phone(q), "{q}");
        }
        for q in ["Rossi", "crm-42", "2025", "anna@example.it"] {
            assert!(!looks_like_phone(q), "{q}");
        }
    }

    #[test]
    fn list_fields_split_on_lines_and_addresses_also_on_commas() {
        assert_eq!(
            items("a@example.it, b@example.it\n\n c@example.it ", true),
            vec!["a@example.it", "b@example.it", "c@example.it"]
        );
        assert_eq!(
            items("newsletter, events\nsupport", false),
            vec!["newsletter, events", "support"]
        );
    }

    #[test]
    fn the_value_at_fault_is_read_from_between_backticks() {
        assert_eq!(quoted("`abc@` has no valid domain"), Some("abc@"));
        assert_eq!(quoted("no value"), None);
    }
}
