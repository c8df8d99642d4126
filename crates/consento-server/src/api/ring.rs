//! What lets a telemarketing call through the opt-out register besides a check, per contact:
//! `PUT /v1/contacts/{id}/customer` (the customer relationship: a contract in force, or ended no
//! more than 30 days ago, allows our own marketing calls; L. 5/2018, art. 1),
//! `PUT /v1/contacts/{id}/directory` (a number's public-directory listing; Codice privacy art.
//! 130(3-bis)), `POST /v1/contacts/{id}/call-requests` (a one-off call the person asked for),
//! and `GET /v1/contacts/{id}/telemarketing`, which shows them with each number's register check.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use consento_domain::Timestamp;
use consento_store::{
    CallRequest, CustomerContract, CustomerRelationship, DirectoryListing, NumberStatus, RpoNumber,
    TelemarketingSummary,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope, WriteScope};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::{PathParam, contact_id, instant};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(telemarketing))
        .routes(routes!(set_customer))
        .routes(routes!(set_directory))
        .routes(routes!(record_call_request))
}

/// The kind of a customer contract.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    /// A contract in force, no end known.
    InForce,
    /// A contract that ends, or ended, at `until`.
    Until,
    /// No customer relationship.
    None,
}

/// A contact's customer relationship to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "contract": "until", "until": "2026-11-30", "source": "contratto luce n. 4711" }))]
pub struct CustomerRequest {
    /// `in_force`, `until` (with `until`), or `none` to clear it.
    pub contract: ContractKind,
    /// With `until`: when the contract ends or ended, RFC 3339, a local date and time, or a
    /// date (its local midnight at the end of that day is not assumed: give the instant).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// Where it comes from (the contract's reference, the CRM record), 1 to 500 characters;
    /// required unless `none`.
    pub source: Option<String>,
}

/// A contact's customer relationship.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOut {
    /// `in_force` or `until`.
    pub contract: ContractKind,
    /// With `until`: when the contract ends or ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// Where it comes from.
    pub source: String,
    /// When it was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: String,
}

impl From<CustomerRelationship> for CustomerOut {
    fn from(c: CustomerRelationship) -> Self {
        let (contract, until) = match c.contract {
            CustomerContract::InForce => (ContractKind::InForce, None),
            CustomerContract::Until(at) => (ContractKind::Until, Some(at)),
        };
        Self {
            contract,
            until,
            source: c.source,
            recorded_at: c.recorded_at,
            recorded_by: c.recorded_by,
        }
    }
}

/// A number's public-directory listing to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "phone": "+39 06 1234 5678", "listed": true, "source": "elenco telefonico pubblico, consultato il 2026-03-01" }))]
pub struct DirectoryRequest {
    /// One of the contact's numbers, in any common format; its primary number when absent.
    pub phone: Option<String>,
    /// Whether the number is in a public directory.
    pub listed: bool,
    /// The directory consulted, or how it is known, 1 to 500 characters.
    pub source: String,
}

/// A number's public-directory listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryOut {
    /// The number, E.164.
    pub phone: String,
    /// Whether it is in a public directory.
    pub listed: bool,
    /// The directory consulted.
    pub source: String,
    /// When it was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: String,
}

impl From<DirectoryListing> for DirectoryOut {
    fn from(d: DirectoryListing) -> Self {
        Self {
            phone: d.phone,
            listed: d.listed,
            source: d.source,
            recorded_at: d.recorded_at,
            recorded_by: d.recorded_by,
        }
    }
}

/// A call the person asked for, to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "requested_at": "2026-03-02T10:15", "source": "modulo 'richiamami' sul sito" }))]
pub struct CallRequestRequest {
    /// The number to call, one of the contact's, in any common format; its primary number when
    /// absent.
    pub phone: Option<String>,
    /// When the person asked: RFC 3339, or a local date and time; not in the future.
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: String,
    /// How the person asked (a web form, a call, a letter), 1 to 500 characters.
    pub source: String,
}

/// A call the person asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallRequestOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// The number to call, E.164.
    pub phone: String,
    /// When the person asked.
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: Timestamp,
    /// Until when it holds, unless a call reaches the person first.
    #[schema(value_type = String, format = DateTime)]
    pub valid_until: Timestamp,
    /// How the person asked.
    pub source: String,
    /// When it was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: String,
    /// The call after the request that reached the person (the one call it allowed).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub used_at: Option<Timestamp>,
}

impl From<CallRequest> for CallRequestOut {
    fn from(r: CallRequest) -> Self {
        Self {
            id: r.id,
            phone: r.phone,
            requested_at: r.requested_at,
            valid_until: r.valid_until,
            source: r.source,
            recorded_at: r.recorded_at,
            recorded_by: r.recorded_by,
            used_at: r.used_at,
        }
    }
}

/// The register's latest answer about a number.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterCheckOut {
    /// When the register answered.
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: Timestamp,
    /// Until when the answer counts.
    #[schema(value_type = String, format = DateTime)]
    pub valid_until: Timestamp,
    /// Whether the number is enrolled.
    pub enrolled: bool,
    /// While enrolled: when that was first found (earlier consents to phone marketing and to
    /// disclosure to third parties were revoked then).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub enrolled_found_at: Option<Timestamp>,
}

impl From<RpoNumber> for RegisterCheckOut {
    fn from(n: RpoNumber) -> Self {
        Self {
            checked_at: n.answered_at,
            valid_until: n.valid_until,
            enrolled: n.enrolled,
            enrolled_found_at: n.enrolled_found_at,
        }
    }
}

/// One of a contact's numbers, as the register and the directory see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NumberStatusOut {
    /// The number, E.164.
    pub phone: String,
    /// Whether it is the contact's primary number.
    pub primary: bool,
    /// The register's latest answer; null when never checked.
    pub register: Option<RegisterCheckOut>,
    /// Its public-directory listing; null when not recorded (not listed).
    pub directory: Option<DirectoryOut>,
}

impl From<NumberStatus> for NumberStatusOut {
    fn from(n: NumberStatus) -> Self {
        Self {
            phone: n.phone,
            primary: n.primary,
            register: n.register.map(Into::into),
            directory: n.directory.map(Into::into),
        }
    }
}

/// A contact's telemarketing facts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TelemarketingOut {
    /// The customer relationship; null when none is recorded.
    pub customer: Option<CustomerOut>,
    /// Each number.
    pub numbers: Vec<NumberStatusOut>,
    /// The calls the person asked for, latest first.
    pub call_requests: Vec<CallRequestOut>,
}

impl From<TelemarketingSummary> for TelemarketingOut {
    fn from(s: TelemarketingSummary) -> Self {
        Self {
            customer: s.customer.map(Into::into),
            numbers: s.numbers.into_iter().map(Into::into).collect(),
            call_requests: s.call_requests.into_iter().map(Into::into).collect(),
        }
    }
}

/// A contact's telemarketing facts: its customer relationship, each number's latest check
/// against the Registro pubblico delle opposizioni and its directory listing, and the calls the
/// person asked for.
#[utoipa::path(
    get, path = "/v1/contacts/{id}/telemarketing", tag = "calls", operation_id = "getTelemarketing",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    responses(
        (status = 200, description = "The contact's telemarketing facts", body = TelemarketingOut),
        (status = 404, description = "No such contact, or it was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn telemarketing(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
) -> Result<Json<TelemarketingOut>, ApiError> {
    let summary = state.app.telemarketing_summary(contact_id(&id)?).await?;
    Ok(Json(summary.into()))
}

/// Records the contact's customer relationship, with its source. While a contract is in force,
/// and for 30 days (configurable, at most 30) after it ended, our own marketing calls may reach
/// a number enrolled in the opt-out register (L. 5/2018, art. 1); calls relying on a consent to
/// disclosure to third parties may not. `none` clears it. Audited as `contact.customer`.
#[utoipa::path(
    put, path = "/v1/contacts/{id}/customer", tag = "calls", operation_id = "setCustomer",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    request_body = CustomerRequest,
    responses(
        (status = 200, description = "Recorded; the body is the relationship, or null when cleared", body = Option<CustomerOut>),
        (status = 400, description = "A field is malformed, missing or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact, or it was erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`source` missing, empty or too long, or `until` given without `contract: until`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn set_customer(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CustomerRequest>,
) -> Result<Json<Option<CustomerOut>>, ApiError> {
    let until = instant(state.app.zone(), "until", req.until.as_deref())?;
    let contract = match (req.contract, until) {
        (ContractKind::None, None) => None,
        (ContractKind::InForce, None) => Some(CustomerContract::InForce),
        (ContractKind::Until, Some(at)) => Some(CustomerContract::Until(at)),
        (ContractKind::Until, None) => {
            return Err(ApiError::bad_request(
                "until",
                "give when the contract ends or ended",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::unprocessable(
                "until",
                "only a contract that ends (`contract: until`) has an end",
            ));
        }
    };
    let contract = match contract {
        None => None,
        Some(c) => {
            let source = req.source.as_deref().ok_or_else(|| {
                ApiError::unprocessable("source", "say where the relationship comes from")
            })?;
            Some((c, source))
        }
    };
    let recorded = state
        .app
        .set_customer(&auth.by(), contact_id(&id)?, contract)
        .await?;
    Ok(Json(recorded.map(Into::into)))
}

/// Records whether one of the contact's numbers is in a public directory. A listed number that
/// is not enrolled in the opt-out register may be called for our marketing without consent,
/// by a call justified with a marketing reason; a number in no directory needs consent
/// (Codice privacy art. 130(3-bis)). Not listed unless recorded. Audited as
/// `contact.directory`.
#[utoipa::path(
    put, path = "/v1/contacts/{id}/directory", tag = "calls", operation_id = "setDirectoryListing",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    request_body = DirectoryRequest,
    responses(
        (status = 200, description = "Recorded", body = DirectoryOut),
        (status = 400, description = "A field is malformed, missing or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact, or the number is not one of its (`field`: `phone`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`source` empty or too long, the `phone` is not a phone number, or the contact has no number", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn set_directory(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DirectoryRequest>,
) -> Result<Json<DirectoryOut>, ApiError> {
    let listing = state
        .app
        .set_directory_listing(
            &auth.by(),
            contact_id(&id)?,
            req.phone.as_deref(),
            req.listed,
            &req.source,
        )
        .await?;
    Ok(Json(listing.into()))
}

/// Records a one-off call the person asked for: until the first call that reaches them after
/// the request (answered, refused, callback, silent), or until it lapses (7 days by default,
/// `[telemarketing] requested_call_days`), our marketing call to that number is not stopped by
/// the opt-out register. The calling hours and a silent call's cooldown still apply. Audited as
/// `contact.call_request`.
#[utoipa::path(
    post, path = "/v1/contacts/{id}/call-requests", tag = "calls", operation_id = "recordCallRequest",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    request_body = CallRequestRequest,
    responses(
        (status = 201, description = "Recorded", body = CallRequestOut),
        (status = 400, description = "A field is malformed, missing or unknown, or `requested_at` is not an instant (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact, or the number is not one of its (`field`: `phone`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`requested_at` in the future or so long ago the request lapsed, `source` empty or too long, or no number", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn record_call_request(
    auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CallRequestRequest>,
) -> Result<(StatusCode, Json<CallRequestOut>), ApiError> {
    let requested_at = instant(state.app.zone(), "requested_at", Some(&req.requested_at))?
        .ok_or_else(|| ApiError::bad_request("requested_at", "give when the person asked"))?;
    let request = state
        .app
        .record_call_request(
            &auth.by(),
            contact_id(&id)?,
            req.phone.as_deref(),
            requested_at,
            &req.source,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(request.into())))
}
