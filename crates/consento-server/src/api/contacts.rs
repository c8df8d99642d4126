//! `/v1/contacts`: the people the CRM holds data about (data subjects; the seed's "anagrafica"):
//! create, change, read, find by any identifier, list and search page by page, and the
//! restriction (GDPR Art. 18) and objection (Art. 21) flags the decision rules honour. Reading
//! needs `read`, changing `write`.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use consento_app::AppError;
use consento_domain::{Channel, CollectionMethod, ContactId, Email, Timestamp};
use consento_store::{
    AuditActor, Contact, ContactFlag, ContactInput, ContactRef, ContactSummary, FlagEvent,
    StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope, WriteScope};
use super::consents::ActorOut;
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::model::{Attributes, ChannelName};
use super::params::{ApiQuery, PathParam, contact_id, created, nullable, rename_field};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, update_contact))
        .routes(routes!(restrict, lift_restriction))
        .routes(routes!(object, lift_objection))
        .routes(routes!(flag_history))
        .routes(routes!(channel_off, channel_on))
}

/// The lawful basis of processing, GDPR Art. 6(1)(a)–(f). Requests also accept the article's
/// letter (`f`, `6(1)(f)`).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `LegalBasis` is what runs.
pub enum LegalBasisName {
    /// Art. 6(1)(a): the person's consent.
    Consent,
    /// Art. 6(1)(b): performance of a contract with the person.
    Contract,
    /// Art. 6(1)(c): a legal obligation of the controller.
    LegalObligation,
    /// Art. 6(1)(d): the vital interests of a person.
    VitalInterests,
    /// Art. 6(1)(e): a task in the public interest.
    PublicTask,
    /// Art. 6(1)(f): the legitimate interests of the controller.
    LegitimateInterests,
}

/// A contact, with every field.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190a0a0-0000-7000-8000-000000000010", "external_id": "crm-42", "name": "Anna Rossi",
    "emails": ["anna.rossi@example.it"], "phones": ["+393471234567"], "attributes": { "segment": "retail" },
    "source": "trade fair 2025", "legal_basis": "consent", "purposes": ["newsletter"],
    "restricted_at": null, "objected_at": null, "erased_at": null,
    "created_at": "2025-03-01T09:00:00Z", "updated_at": "2025-03-01T09:00:00Z"
}))]
pub struct ContactOut {
    /// Our id (UUIDv7).
    pub id: uuid::Uuid,
    /// The CRM's id, unique.
    pub external_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Email addresses, normalised (lower case), the primary (used for newsletters) first.
    pub emails: Vec<String>,
    /// Phone numbers in E.164 (`+393471234567`), the primary first.
    pub phones: Vec<String>,
    /// Free attributes from the CRM.
    #[schema(value_type = Attributes)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Where the data came from (GDPR Art. 14(2)(f)).
    pub source: Option<String>,
    /// The legal basis of processing (Art. 6(1)).
    #[schema(value_type = Option<LegalBasisName>)]
    pub legal_basis: Option<&'static str>,
    /// The purposes of processing (Art. 13(1)(c)).
    pub purposes: Vec<String>,
    /// Since when processing is restricted (Art. 18): every contact is then blocked.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub restricted_at: Option<Timestamp>,
    /// Since when the person objects to direct marketing (Art. 21(3)).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub objected_at: Option<Timestamp>,
    /// When the contact was erased (Art. 17); an erased contact cannot change.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub erased_at: Option<Timestamp>,
    /// Since when the person has switched email off: no marketing email reaches them, a single
    /// email needs a reason that is not marketing.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub email_off_at: Option<Timestamp>,
    /// Since when the person has switched phone calls off.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub phone_off_at: Option<Timestamp>,
    /// Since when the person has switched text messages off.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sms_off_at: Option<Timestamp>,
    /// Created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> Self {
        Self {
            id: c.id.0,
            external_id: c.external_id,
            name: c.name,
            emails: c.emails.iter().map(|e| e.as_str().to_owned()).collect(),
            phones: c.phones.iter().map(|p| p.as_str().to_owned()).collect(),
            attributes: c.attributes,
            source: c.source,
            legal_basis: c.legal_basis.map(|b| b.code()),
            purposes: c.purposes,
            restricted_at: c.restricted_at,
            objected_at: c.objected_at,
            erased_at: c.erased_at,
            email_off_at: c.email_off_at,
            phone_off_at: c.phone_off_at,
            sms_off_at: c.sms_off_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A line of a contact list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactSummaryOut {
    /// Our id: `GET /v1/contacts/{id}` has every field.
    pub id: uuid::Uuid,
    /// The CRM's id.
    pub external_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// The primary email address.
    pub email: Option<String>,
    /// The primary phone number, E.164.
    pub phone: Option<String>,
}

impl From<ContactSummary> for ContactSummaryOut {
    fn from(s: ContactSummary) -> Self {
        Self {
            id: s.id.0,
            external_id: s.external_id,
            name: s.name,
            email: s.email,
            phone: s.phone,
        }
    }
}

/// A page of contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactPage {
    /// The contacts of this page, in id order (creation order).
    pub items: Vec<ContactSummaryOut>,
    /// Pass as `cursor` to get the next page; `null` when this is the last one.
    pub next_cursor: Option<String>,
}

/// A new contact. Every field is optional; emails, phone numbers and the external id are unique
/// across contacts.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "external_id": "crm-42", "name": "Anna Rossi", "emails": ["Anna.Rossi@example.it"],
    "phones": ["+39 347 123 4567"], "source": "trade fair 2025", "legal_basis": "consent",
    "purposes": ["newsletter"]
}))]
pub struct ContactCreate {
    /// The CRM's id, at most 128 characters.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Display name, at most 200 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Email addresses, the primary (used for newsletters) first; stored lower-cased.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Phone numbers in any common format (`+39 347 123 4567`, `0039…`, or national numbers,
    /// read with the server's default country code); stored in E.164.
    #[serde(default)]
    pub phones: Vec<String>,
    /// Free attributes from the CRM (a JSON object).
    #[serde(default)]
    #[schema(value_type = Attributes)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Where the data came from (GDPR Art. 14(2)(f)), at most 200 characters.
    #[serde(default)]
    pub source: Option<String>,
    /// The legal basis (Art. 6(1)): a code, or the article's letter (`a`–`f`).
    #[serde(default)]
    #[schema(value_type = Option<LegalBasisName>)]
    pub legal_basis: Option<String>,
    /// The purposes of processing (Art. 13(1)(c)).
    #[serde(default)]
    pub purposes: Vec<String>,
}

/// Changes to a contact: absent fields stay as they are, `null` clears a field, and a list or
/// `attributes` given replaces the whole list or object (`"emails": []` removes every address).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Anna Maria Rossi", "phones": [] }))]
pub struct ContactUpdate {
    /// The CRM's id.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    /// Display name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// Email addresses, the primary first (replaces them all; `null` or `[]` removes them).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub emails: Option<Option<Vec<String>>>,
    /// Phone numbers in any common format, the primary first (replaces them all; `null` or `[]`
    /// removes them).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub phones: Option<Option<Vec<String>>>,
    /// Free attributes (replaces the whole object; `null` or `{}` removes them).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Attributes>)]
    pub attributes: Option<Option<serde_json::Map<String, serde_json::Value>>>,
    /// Where the data came from.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    /// The legal basis (Art. 6(1)): a code or the article's letter.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<LegalBasisName>)]
    pub legal_basis: Option<Option<String>>,
    /// The purposes of processing (replaces them all; `null` or `[]` removes them).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub purposes: Option<Option<Vec<String>>>,
}

/// How to find or list contacts. Give at most one of `external_id`, `email`, `phone` (an exact
/// lookup: zero or one contact) and `q` (a search); with none, every contact is listed (erased
/// ones included: see `erased_at`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactsQuery {
    /// The CRM's id, exactly.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Any of the contact's email addresses, in any case.
    #[serde(default)]
    pub email: Option<String>,
    /// Any of the contact's phone numbers, in any common format (URL-encode the `+` as `%2B`).
    #[serde(default)]
    pub phone: Option<String>,
    /// A part of the name (case-insensitive), or an external id exactly; erased contacts are
    /// left out.
    #[serde(default)]
    pub q: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Contacts per page, 1 to 1000; 100 if absent.
    #[serde(default)]
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// The largest page.
const MAX_PAGE: i64 = 1000;

/// The store's field names for a contact's channels, as this API's body names them.
fn body_fields(e: StoreError) -> ApiError {
    let e = match e {
        StoreError::Conflict { field, message } => ApiError::Conflict {
            field: match field {
                "email" => "emails",
                "phone" => "phones",
                other => other,
            }
            .to_owned(),
            message,
        },
        other => other.into(),
    };
    rename_field(rename_field(e, "email", "emails"), "phone", "phones")
}

/// Checks each address before the store does, so that a problem names `emails[i]`.
fn check_emails(emails: &[String]) -> Result<(), ApiError> {
    for (i, e) in emails.iter().enumerate() {
        Email::parse(e).map_err(|d| {
            ApiError::unprocessable(
                format!("emails[{i}]"),
                d.to_string().replacen("email: ", "", 1),
            )
        })?;
    }
    Ok(())
}

fn input_of_create(req: ContactCreate) -> Result<ContactInput, ApiError> {
    check_emails(&req.emails)?;
    Ok(ContactInput {
        external_id: req.external_id,
        name: req.name,
        emails: req.emails,
        phones: req.phones,
        attributes: req.attributes,
        source: req.source,
        legal_basis: req.legal_basis,
        purposes: req.purposes,
    })
}

/// The stored contact with the changes of `req` over it. Read, then written whole: two
/// concurrent updates of one contact can lose the first one's fields (the last write wins).
fn patched(c: Contact, req: ContactUpdate) -> Result<ContactInput, ApiError> {
    if let Some(Some(emails)) = &req.emails {
        check_emails(emails)?;
    }
    Ok(ContactInput {
        external_id: req.external_id.unwrap_or(c.external_id),
        name: req.name.unwrap_or(c.name),
        emails: req.emails.map_or_else(
            || c.emails.iter().map(|e| e.as_str().to_owned()).collect(),
            Option::unwrap_or_default,
        ),
        phones: req.phones.map_or_else(
            || c.phones.iter().map(|p| p.as_str().to_owned()).collect(),
            Option::unwrap_or_default,
        ),
        attributes: req
            .attributes
            .map_or(c.attributes, Option::unwrap_or_default),
        source: req.source.unwrap_or(c.source),
        legal_basis: req
            .legal_basis
            .unwrap_or_else(|| c.legal_basis.map(|b| b.code().to_owned())),
        purposes: req.purposes.map_or(c.purposes, Option::unwrap_or_default),
    })
}

/// The one contact a lookup names, as a page of zero or one.
async fn lookup(state: &AppState, r: ContactRef) -> Result<Vec<ContactSummary>, ApiError> {
    Ok(state.store.contact_summaries(r).await?)
}

/// Finds a contact by an identifier, or lists or searches contacts a page at a time. Give at
/// most one of `external_id`, `email`, `phone` (an exact lookup: a page of zero or one contact)
/// and `q` (a search by name or external id, erased contacts left out); with none, every contact
/// is listed (erased ones included: see `erased_at`). Pages follow a keyset cursor (pass
/// `next_cursor` back as `cursor`): each costs the same however deep, and contacts added
/// meanwhile are neither skipped nor repeated.
#[utoipa::path(
    get, path = "/v1/contacts", tag = "contacts", operation_id = "listContacts",
    params(ContactsQuery),
    responses(
        (status = 200, description = "A page of contacts (a lookup gives zero or one)", body = ContactPage),
        (status = 400, description = "An unknown or malformed parameter, or several filters (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The email address or phone number looked up is not one (`field`: `email` or `phone`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn list_contacts(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ContactsQuery>,
) -> Result<Json<ContactPage>, ApiError> {
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::bad_request("limit", "must be a number from 1 to 1000"))?,
    };
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            uuid::Uuid::parse_str(c.trim())
                .map(ContactId)
                .map_err(|_| ApiError::bad_request("cursor", "not a cursor from a previous page"))
        })
        .transpose()?;
    let lookups = [
        q.external_id.map(ContactRef::External),
        q.email.map(ContactRef::Email),
        q.phone.map(ContactRef::Phone),
    ];
    let mut lookups = lookups.into_iter().flatten();
    let (items, paged) = match (lookups.next(), lookups.next(), q.q) {
        (Some(r), None, None) => (lookup(&state, r).await?, false),
        (None, None, Some(text)) => (
            state
                .store
                .search_contacts_page(&text, after, limit)
                .await?,
            true,
        ),
        (None, None, None) => (state.store.list_contacts(after, limit).await?, true),
        _ => {
            return Err(ApiError::bad_request(
                "query",
                "give at most one of external_id, email, phone, q",
            ));
        }
    };
    let full = paged && i64::try_from(items.len()).is_ok_and(|n| n == limit);
    let next_cursor = items.last().filter(|_| full).map(|s| s.id.0.to_string());
    Ok(Json(ContactPage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Creates a contact. Answers `201 Created` with its URL in `Location`.
#[utoipa::path(
    post, path = "/v1/contacts", tag = "contacts", operation_id = "createContact",
    request_body = ContactCreate,
    responses(
        (status = 201, description = "Created", body = ContactOut,
            headers(("Location" = String, description = "The new contact's URL"))),
        (status = 400, description = "A field is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another contact has this email address, phone number or external id (`field`: `emails`, `phones` or `external_id`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused (`field` names it, e.g. `emails[1]`, `phones`, `legal_basis`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn create_contact(
    auth: Auth<WriteScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ContactCreate>,
) -> Result<Response, ApiError> {
    let input = input_of_create(req)?;
    let c = state
        .app
        .create_contact(&auth.by(), input)
        .await
        .map_err(|e| match e {
            AppError::Store(e) => body_fields(e),
            other => other.into(),
        })?;
    Ok(created(
        &format!("/v1/contacts/{}", c.id),
        ContactOut::from(c),
    ))
}

/// One contact, with every field.
#[utoipa::path(
    get, path = "/v1/contacts/{id}", tag = "contacts", operation_id = "getContact",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "The contact", body = ContactOut),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn get_contact(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<ContactOut>, ApiError> {
    let c = state
        .store
        .contact(&ContactRef::Id(contact_id(&id)?))
        .await?;
    Ok(Json(c.into()))
}

/// Changes a contact (rectification, GDPR Art. 16): absent fields stay, `null` clears, lists and
/// `attributes` are replaced whole. The audit trail records the token and the before and after
/// of each changed field. An erased contact cannot change.
#[utoipa::path(
    patch, path = "/v1/contacts/{id}", tag = "contacts", operation_id = "updateContact",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    request_body = ContactUpdate,
    responses(
        (status = 200, description = "The contact as changed", body = ContactOut),
        (status = 400, description = "A field is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another contact has this email, phone or external id (`field` names it), or the contact was erased (`field`: `id`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn update_contact(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ContactUpdate>,
) -> Result<Json<ContactOut>, ApiError> {
    let r = ContactRef::Id(contact_id(&id)?);
    let current = state.store.contact(&r).await?;
    let input = patched(current, req)?;
    // Rectification (GDPR Art. 16): the token is the audited actor, the changed fields' before
    // and after written in the same transaction.
    let (c, _) = state
        .store
        .rectify_contact(&r, input, AuditActor::Token(auth.0.token_id))
        .await
        .map_err(body_fields)?;
    Ok(Json(c.into()))
}

/// Restricts processing (GDPR Art. 18(1)): from now on every decision about this contact is
/// `blocked` (`restricted`), with no override. Idempotent: the original date is kept.
#[utoipa::path(
    put, path = "/v1/contacts/{id}/restriction", tag = "contacts", operation_id = "restrictProcessing",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "The contact, with `restricted_at` set", body = ContactOut),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased (`field`: `id`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn restrict(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<ContactOut>, ApiError> {
    set_flag(
        &state,
        &auth,
        contact_id(&id)?,
        ContactFlag::Restriction,
        true,
    )
    .await
}

/// Lifts the restriction of processing. GDPR Art. 18(3): the person is told; an email in the
/// deployment's default language goes to their primary address through the outbox, written in
/// the same transaction as the lift. Idempotent: lifting what is not set sends nothing.
#[utoipa::path(
    delete, path = "/v1/contacts/{id}/restriction", tag = "contacts", operation_id = "liftRestriction",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "The contact, with `restricted_at` null", body = ContactOut),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased (`field`: `id`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn lift_restriction(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<ContactOut>, ApiError> {
    set_flag(
        &state,
        &auth,
        contact_id(&id)?,
        ContactFlag::Restriction,
        false,
    )
    .await
}

/// Records the person's objection to direct marketing (GDPR Art. 21(2)–(3)): bulk sends are
/// blocked (`objected`), single contacts need a reason that is not marketing, and the primary
/// address and number go on the suppression list. Idempotent: the original date is kept.
#[utoipa::path(
    put, path = "/v1/contacts/{id}/objection", tag = "contacts", operation_id = "recordObjection",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "The contact, with `objected_at` set", body = ContactOut),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased (`field`: `id`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn object(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<ContactOut>, ApiError> {
    set_flag(
        &state,
        &auth,
        contact_id(&id)?,
        ContactFlag::Objection,
        true,
    )
    .await
}

/// Records that the person withdrew their objection; the address and number leave the
/// suppression list. Idempotent.
#[utoipa::path(
    delete, path = "/v1/contacts/{id}/objection", tag = "contacts", operation_id = "liftObjection",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "The contact, with `objected_at` null", body = ContactOut),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased (`field`: `id`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn lift_objection(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<ContactOut>, ApiError> {
    set_flag(
        &state,
        &auth,
        contact_id(&id)?,
        ContactFlag::Objection,
        false,
    )
    .await
}

/// Sets or lifts a flag as the token's record, audited in the change's transaction; lifting a
/// restriction tells the person (Art. 18(3)) in the deployment's default language.
async fn set_flag(
    state: &AppState,
    auth: &Auth<WriteScope>,
    id: ContactId,
    flag: ContactFlag,
    raised: bool,
) -> Result<Json<ContactOut>, ApiError> {
    let c = state
        .app
        .change_flag(
            &auth.by(),
            &ContactRef::Id(id),
            flag,
            raised,
            auth.0.actor()?,
            None,
        )
        .await?;
    Ok(Json(c.into()))
}

/// A flag the decision rules honour.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the store's `ContactFlag` is what runs.
pub enum FlagName {
    /// Restriction of processing (GDPR Art. 18).
    Restriction,
    /// Objection to direct marketing (Art. 21).
    Objection,
}

/// One line of a contact's restriction and objection history.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagEventOut {
    /// `restriction` (Art. 18) or `objection` (Art. 21).
    #[schema(value_type = FlagName, example = "restriction")]
    pub flag: ContactFlag,
    /// Set (true) or lifted (false).
    pub raised: bool,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who.
    pub actor: ActorOut,
    /// The data-subject request it answered, if any.
    pub request_id: Option<uuid::Uuid>,
}

impl From<FlagEvent> for FlagEventOut {
    fn from(e: FlagEvent) -> Self {
        Self {
            flag: e.flag,
            raised: e.raised,
            at: e.at,
            actor: ActorOut {
                kind: e.actor.kind.code(),
                id: e.actor.id,
            },
            request_id: e.request_id.map(|r| r.0),
        }
    }
}

/// Every time the contact's restriction of processing (Art. 18) or objection (Art. 21) was set
/// or lifted, oldest first: who did it, and the data-subject request it answered.
#[utoipa::path(
    get, path = "/v1/contacts/{id}/flags", tag = "contacts", operation_id = "getFlagHistory",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "The history, oldest first", body = Vec<FlagEventOut>),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn flag_history(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<Vec<FlagEventOut>>, ApiError> {
    let id = state
        .store
        .resolve_contact(&ContactRef::Id(contact_id(&id)?))
        .await?;
    let history = state.store.flag_history(id).await?;
    Ok(Json(history.into_iter().map(FlagEventOut::from).collect()))
}

/// Switches the channel of a `/v1/contacts/{id}/channels/{channel}` path off or back on, as the
/// token's record.
async fn switch_channel(
    auth: &Auth<WriteScope>,
    path: axum::extract::Path<(String, String)>,
    state: &AppState,
    off: bool,
) -> Result<Json<ContactOut>, ApiError> {
    let axum::extract::Path((id, channel)) = path;
    let channel = Channel::parse(&channel).map_err(|_| ApiError::NotFound("channel"))?;
    let id = contact_id(&id)?;
    let actor = auth.0.actor()?;
    let c = state
        .app
        .audited(
            &auth.by(),
            "contact.channel",
            Some(("contact", id.0.to_string())),
            json!({ "channel": channel.code(), "off": off }),
            state.store.set_channel(
                &ContactRef::Id(id),
                channel,
                off,
                CollectionMethod::Api,
                &actor,
                None,
            ),
        )
        .await?;
    Ok(Json(c.into()))
}

/// Records that the person switched a form of communication off (told the CRM "no more SMS"):
/// bulk sends on that channel are `blocked` (`channel_off`) and a single contact needs a reason
/// that is not marketing. Idempotent: the original date is kept.
#[utoipa::path(
    put, path = "/v1/contacts/{id}/channels/{channel}", tag = "contacts", operation_id = "switchChannelOff",
    params(
        ("id" = uuid::Uuid, Path, description = "Our id of the contact"),
        ("channel" = ChannelName, Path, description = "`email`, `phone` or `sms`"),
    ),
    responses(
        (status = 200, description = "The contact, with the channel's `…_off_at` set", body = ContactOut),
        (status = 404, description = "No such contact or channel", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn channel_off(
    auth: Auth<WriteScope>,
    path: axum::extract::Path<(String, String)>,
    State(state): State<AppState>,
) -> Result<Json<ContactOut>, ApiError> {
    switch_channel(&auth, path, &state, true).await
}

/// Switches a form of communication back on (the person asked for it again). Idempotent.
#[utoipa::path(
    delete, path = "/v1/contacts/{id}/channels/{channel}", tag = "contacts", operation_id = "switchChannelOn",
    params(
        ("id" = uuid::Uuid, Path, description = "Our id of the contact"),
        ("channel" = ChannelName, Path, description = "`email`, `phone` or `sms`"),
    ),
    responses(
        (status = 200, description = "The contact, with the channel's `…_off_at` null", body = ContactOut),
        (status = 404, description = "No such contact or channel", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn channel_on(
    auth: Auth<WriteScope>,
    path: axum::extract::Path<(String, String)>,
    State(state): State<AppState>,
) -> Result<Json<ContactOut>, ApiError> {
    switch_channel(&auth, path, &state, false).await
}
