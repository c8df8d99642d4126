//! Erasure (GDPR Art. 17) and retention (Art. 5(1)(e)) over the API, scope `admin`: erase a
//! contact (optionally completing its erasure request), list the contacts past the retention of
//! their purposes, and anonymise them on confirmation. The answer of an erasure names, with
//! stable codes, each category erased and each kept with its ground and end; the CLI's `--json`
//! gives the same answer, from the same use case.

use axum::Json;
use axum::extract::State;
use consento_app::erasure::{Anonymization, Erasure};
use consento_domain::erasure::ErasureReason;
use consento_domain::{ContactId, RequestId, Timestamp};
use consento_store::{AuditActor, ErasureInput, RetentionCandidate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminScope, Auth};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::{ApiQuery, PathParam, contact_id};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(erase))
        .routes(routes!(candidates))
        .routes(routes!(anonymize))
}

/// Why a contact was erased.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's codes are what run.
pub enum ErasureReasonName {
    /// The person asked (GDPR Art. 17(1)).
    #[serde(rename = "erasure")]
    Request,
    /// Every basis lapsed longer ago than the retention of its purposes (Art. 5(1)(e)).
    #[serde(rename = "retention")]
    Retention,
}

/// A category of a person's data an erasure removes.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's codes are what run.
pub enum ErasedCategoryName {
    /// Name, external id, attributes, source: the contact's own fields.
    Identity,
    /// Every email address.
    Emails,
    /// Every phone number.
    Phones,
    /// The evidence of each consent: the ledger keeps its digest.
    ConsentEvidence,
    /// The evidence of each switch of a form of communication.
    ChannelEvidence,
    /// The operators' notes on justified contacts.
    InteractionNotes,
    /// Emails waiting or sent to the person.
    EmailOutbox,
    /// Double opt-in requests.
    SubscriptionRequests,
    /// The free text of the person's data-subject requests and their history.
    RequestTexts,
    /// The detail of the audit entries about the person.
    AuditDetails,
    /// Delivered webhook messages about the person.
    WebhookPayloads,
    /// The numbers the dialer's reported calls went to.
    CallNumbers,
}

/// A category of data an erasure keeps, without anything that names the person.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's codes are what run.
pub enum KeptCategoryName {
    /// The consent ledger's events, keyed by the contact's UUID: proof of consent.
    ConsentProof,
    /// Keyed hashes of every address and number, on the suppression list.
    Suppression,
    /// The data-subject requests and their history, without free text.
    RequestRecords,
    /// Who reached the person, when, on which channel and for which reason, without notes.
    InteractionRecords,
    /// The audit trail's entries, without detail.
    AuditTrail,
    /// The dialer's call outcomes (campaign, outcome, when), without the number.
    CallRecords,
}

/// The ground on which a category is kept (GDPR Art. 17(3)).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's codes are what run.
pub enum KeepGroundName {
    /// To demonstrate consent (Art. 7(1)) and for legal claims (Art. 17(3)(e)).
    #[serde(rename = "art7_1_art17_3_e")]
    DemonstrateConsent,
    /// To honour the erasure and any objection (Art. 17(1), Art. 21(3)).
    #[serde(rename = "art17_art21_3")]
    HonourErasure,
    /// Accountability (Art. 5(2), Art. 12).
    #[serde(rename = "art5_2")]
    Accountability,
}

/// A category erased and how many rows or fields it held.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasedOut {
    /// `identity`, `emails`, `phones`, `consent_evidence`, `channel_evidence`,
    /// `interaction_notes`, `email_outbox`, `subscription_requests`, `request_texts`,
    /// `audit_details`, `webhook_payloads`.
    #[schema(value_type = ErasedCategoryName)]
    pub category: String,
    /// Rows or fields emptied.
    pub count: u64,
}

/// A category kept, on what ground, until when.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeptOut {
    /// `consent_proof`, `suppression`, `request_records`, `interaction_records`, `audit_trail`.
    #[schema(value_type = KeptCategoryName)]
    pub category: String,
    /// `art7_1_art17_3_e` (to demonstrate consent, legal claims), `art17_art21_3` (to honour
    /// the erasure and objection), `art5_2` (accountability).
    #[schema(value_type = KeepGroundName)]
    pub ground: String,
    /// `YYYY-MM-DD`; null: as long as the erasure must be honoured.
    pub until: Option<String>,
}

/// What an erasure did and what it kept.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "contact_id": "0190a0a0-0000-7000-8000-000000000001", "erased_at": "2026-03-01T09:00:00Z",
    "reason": "erasure", "request_id": null, "suppressed": 3,
    "erased": [{ "category": "identity", "count": 1 }, { "category": "emails", "count": 2 }],
    "kept": [{ "category": "consent_proof", "ground": "art7_1_art17_3_e", "until": "2036-03-01" },
        { "category": "suppression", "ground": "art17_art21_3", "until": null }]
}))]
pub struct ErasureOut {
    /// The contact, left as a pseudonymous record.
    pub contact_id: uuid::Uuid,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub erased_at: Timestamp,
    /// `erasure` (the person's request) or `retention` (lapsed).
    #[schema(value_type = ErasureReasonName)]
    pub reason: String,
    /// The erasure request completed with it.
    pub request_id: Option<uuid::Uuid>,
    /// Keyed hashes of addresses and numbers put on the suppression list.
    pub suppressed: u64,
    /// What was erased, per category.
    pub erased: Vec<ErasedOut>,
    /// What was kept, why and until when (GDPR Art. 17(3)).
    pub kept: Vec<KeptOut>,
}

impl From<Erasure> for ErasureOut {
    fn from(e: Erasure) -> Self {
        Self {
            contact_id: e.contact_id,
            erased_at: e.erased_at,
            reason: e.reason,
            request_id: e.request_id,
            suppressed: e.suppressed,
            erased: e
                .erased
                .into_iter()
                .map(|c| ErasedOut {
                    category: c.category,
                    count: c.count,
                })
                .collect(),
            kept: e
                .kept
                .into_iter()
                .map(|k| KeptOut {
                    category: k.category,
                    ground: k.ground,
                    until: k.until,
                })
                .collect(),
        }
    }
}

/// An erasure to carry out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "request_id": "0190a0a0-0000-7000-8000-000000000010" }))]
pub struct ErasureCreate {
    /// An open data-subject request of kind `erasure` of this person (or of no one yet) to
    /// complete in the same transaction.
    #[serde(default)]
    pub request_id: Option<uuid::Uuid>,
}

/// Erases a contact (GDPR Art. 17), irreversibly, in one transaction: every address and number
/// goes on the suppression list first; name, addresses, numbers, external id, attributes,
/// evidence, notes, emails, double opt-in requests, the free text of requests and audit details
/// are removed; the consent ledger keeps its events keyed by the contact's UUID and still
/// verifies; `contact.erased` is queued for webhooks. Decisions answer `blocked` (`erased`)
/// from then on. Send `{}` as the body, or name the erasure request to complete.
#[utoipa::path(
    post, path = "/v1/contacts/{id}/erasure", tag = "contacts", operation_id = "eraseContact",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact")),
    request_body = ErasureCreate,
    responses(
        (status = 200, description = "Erased: what was erased and what was kept", body = ErasureOut),
        (status = 400, description = "A field is malformed or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact, or no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was already erased, or the request is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The request is not an erasure request of this person (`request_id`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn erase(
    auth: Auth<AdminScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ErasureCreate>,
) -> Result<Json<ErasureOut>, ApiError> {
    let id = contact_id(&id)?;
    let input = ErasureInput {
        reason: ErasureReason::Request,
        actor: auth.0.actor()?,
        by: AuditActor::Token(auth.0.token_id),
        request_id: body.request_id.map(RequestId),
    };
    Ok(Json(state.app.erase(id, &input).await?.into()))
}

/// A contact past the retention of its purposes.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// Its purposes.
    pub purposes: Vec<String>,
    /// When its last consent ended (withdrawn, refused or expired).
    #[schema(value_type = String, format = DateTime)]
    pub last_ended: Timestamp,
    /// The retention applied: the longest of its purposes', in months.
    pub months: u8,
}

impl From<RetentionCandidate> for CandidateOut {
    fn from(c: RetentionCandidate) -> Self {
        Self {
            contact_id: c.contact_id.0,
            purposes: c.purposes,
            last_ended: c.last_ended,
            months: c.months,
        }
    }
}

/// A page of contacts past their retention.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateList {
    /// In id order.
    pub items: Vec<CandidateOut>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<uuid::Uuid>,
}

/// Which candidates to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateQuery {
    /// The `next` of the previous page.
    pub after: Option<uuid::Uuid>,
    /// At most this many (1 to 1,000; 100 if absent).
    pub limit: Option<u32>,
}

/// The contacts whose every basis has lapsed for longer than the retention of their purposes
/// (`[retention]`: marketing 24 months, profiling 12 by default): no consent valid now, the last
/// one ended longer ago than the period, no open request, not erased.
#[utoipa::path(
    get, path = "/v1/retention/candidates", tag = "retention", operation_id = "listRetentionCandidates",
    params(CandidateQuery),
    responses(
        (status = 200, description = "A page of contacts past their retention", body = CandidateList),
        (status = 400, description = "A parameter is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn candidates(
    _auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CandidateQuery>,
) -> Result<Json<CandidateList>, ApiError> {
    let limit = usize::try_from(q.limit.unwrap_or(100).clamp(1, 1000)).unwrap_or(100);
    let items = state
        .app
        .retention_candidates(q.after.map(ContactId), limit)
        .await?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|c| c.contact_id.0))
        .flatten();
    Ok(Json(CandidateList {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

/// The confirmation of an anonymisation run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "confirm": true }))]
pub struct AnonymizationCreate {
    /// Must be `true`: the anonymisation cannot be undone.
    pub confirm: bool,
}

/// What an anonymisation run did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnonymizationOut {
    /// Contacts anonymised.
    pub anonymized: usize,
    /// Transactions committed (`[retention] batch_size` contacts each).
    pub batches: u32,
    /// Each erasure, with what it erased and kept.
    pub erasures: Vec<ErasureOut>,
}

impl From<Anonymization> for AnonymizationOut {
    fn from(run: Anonymization) -> Self {
        Self {
            anonymized: run.anonymized,
            batches: run.batches,
            erasures: run.erasures.into_iter().map(Into::into).collect(),
        }
    }
}

/// Anonymises every contact past its retention through the same erasure as a person's request
/// (reason `retention`), in batches, each one transaction; a contact that gained a consent or a
/// request meanwhile is left alone. Irreversible: the body must confirm it.
#[utoipa::path(
    post, path = "/v1/retention/anonymizations", tag = "retention", operation_id = "anonymizeRetentionCandidates",
    request_body = AnonymizationCreate,
    responses(
        (status = 200, description = "The contacts anonymised", body = AnonymizationOut),
        (status = 400, description = "A field is missing, malformed or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not confirmed (`confirm`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn anonymize(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AnonymizationCreate>,
) -> Result<Json<AnonymizationOut>, ApiError> {
    if !body.confirm {
        return Err(ApiError::unprocessable(
            "confirm",
            "anonymisation cannot be undone: send `true` to confirm",
        ));
    }
    let run = state
        .app
        .run_retention(auth.0.actor()?, AuditActor::Token(auth.0.token_id))
        .await?;
    Ok(Json(run.into()))
}
