//! `POST /v1/decisions`, its batch form, and the dialer's `GET`: the question every integration
//! asks before every contact (the decision rules). The answer names the rule that decided.

use axum::Json;
use axum::extract::State;
use consento_domain::{Action, AllowedBy, Cause, Decision, Timestamp};
use consento_store::{ContactRef, DecisionReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, DecideScope};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::model::{ActionName, ChannelName, ContactSelector, action};
use super::params::{ApiQuery, instant};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(decide))
        .routes(routes!(decide_batch))
        .routes(routes!(dialer))
}

/// The largest batch: a newsletter tool checks its send list in pages of this size.
pub const MAX_BATCH: usize = 10_000;

/// One question: may this action reach this contact?
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The contact.
    pub contact: ContactSelector,
    /// The action.
    #[schema(value_type = ActionName)]
    pub action: String,
    /// The instant to decide for (RFC 3339); now if absent. A past instant reads the consents as
    /// they stood then (the proof of an old send).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<String>,
}

/// The outcome.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Go ahead.
    Allowed,
    /// Only with a reason from the list (a single email, call or SMS), recorded as a justified
    /// contact (`POST /v1/interactions`).
    NeedsJustification,
    /// Do not contact.
    Blocked,
}

/// Why a contact is blocked or needs a reason: the decision rule's cause.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `Cause` is what runs.
pub enum CauseName {
    /// Rule 1: the contact was erased (GDPR Art. 17).
    Erased,
    /// Rule 2: processing is restricted (Art. 18).
    Restricted,
    /// Rule 3: the person objects to direct marketing (Art. 21(3)).
    Objected,
    /// Rule 3b: the person switched this form of communication off.
    ChannelOff,
    /// Rule 4: the address or number is on the suppression list.
    Suppressed,
    /// Rule 7: no consent of a permitting type was ever given.
    NoConsent,
    /// Rule 7: the person refused a permitting consent.
    Refused,
    /// Rule 7: the permitting consent was withdrawn or revoked.
    Withdrawn,
    /// Rule 7: the permitting consent ran out.
    Expired,
    /// Rule 8: a telemarketing call outside the calling hours of its kind of day.
    OutsideCallingHours,
    /// Rule 8b: a silent call reached the number recently (`next_allowed_at`: when calls may
    /// resume).
    SilentCallCooldown,
    /// Rule 9: the number is enrolled in the Registro pubblico delle opposizioni, with no
    /// consent given after the enrolment was found (`since`: when it was found).
    RpoEnrolled,
    /// Rule 9: the number was never checked against the register.
    RpoCheckMissing,
    /// Rule 9: the number's latest check no longer counts (`since`: when it stopped).
    RpoCheckExpired,
}

/// The rule that decided: `check_disabled` or `consent` when allowed, else the cause's code.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's decision is what runs.
pub enum DecisionRuleName {
    /// Rule 5: the privacy check of the channel is switched off (allowed).
    CheckDisabled,
    /// Rule 6: a valid consent whose type permits the action (allowed).
    Consent,
    /// Rule 1: the contact was erased.
    Erased,
    /// Rule 2: processing is restricted.
    Restricted,
    /// Rule 3: the person objects to direct marketing.
    Objected,
    /// Rule 3b: the person switched this form of communication off.
    ChannelOff,
    /// Rule 4: the address or number is on the suppression list.
    Suppressed,
    /// Rule 7: no consent of a permitting type was ever given.
    NoConsent,
    /// Rule 7: the person refused a permitting consent.
    Refused,
    /// Rule 7: the permitting consent was withdrawn or revoked.
    Withdrawn,
    /// Rule 7: the permitting consent ran out.
    Expired,
    /// Rule 8: a telemarketing call outside the calling hours of its kind of day.
    OutsideCallingHours,
    /// Rule 8b: a silent call reached the number recently (`next_allowed_at`: when calls may
    /// resume).
    SilentCallCooldown,
    /// Rule 9: the number is enrolled in the Registro pubblico delle opposizioni, with no
    /// consent given after the enrolment was found (`since`: when it was found).
    RpoEnrolled,
    /// Rule 9: the number was never checked against the register.
    RpoCheckMissing,
    /// Rule 9: the number's latest check no longer counts (`since`: when it stopped).
    RpoCheckExpired,
}

/// The consent that allowed a contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentProof {
    /// The consent type's code.
    pub code: String,
    /// When it was given or last renewed.
    #[schema(value_type = String, format = DateTime)]
    pub given_at: Timestamp,
    /// When it stops being valid; absent = never.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

/// Why a contact is blocked or needs a reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct CauseOut {
    /// `erased`, `restricted`, `objected`, `channel_off` (the person switched this channel off),
    /// `suppressed`, `no_consent`, `refused`, `withdrawn`, `expired`, `outside_calling_hours`,
    /// `silent_call_cooldown`, `rpo_enrolled`, `rpo_check_missing`, `rpo_check_expired`.
    #[schema(value_type = CauseName)]
    pub code: &'static str,
    /// The channel the person switched off (`email`, `phone`, `sms`; channel_off only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ChannelName>)]
    pub channel: Option<&'static str>,
    /// The consent type concerned (refused, withdrawn, expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_type: Option<String>,
    /// Since when (restricted, objected, channel_off, rpo_enrolled: when the enrolment was
    /// found) or when it happened (refused, withdrawn, expired, rpo_check_expired: when the
    /// check stopped counting).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// The kind of day of the call (`weekday`, `saturday`, `pre_holiday`, `sunday`,
    /// `holiday`; outside_calling_hours only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<&'static str>,
    /// The next instant a call is allowed (outside_calling_hours, absent when no window opens
    /// within two weeks; silent_call_cooldown: when the cooldown ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_allowed_at: Option<Timestamp>,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionResponse {
    /// The contact decided about.
    pub contact_id: uuid::Uuid,
    /// The action.
    #[schema(value_type = ActionName)]
    pub action: Action,
    /// The instant decided for.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The outcome.
    pub outcome: Outcome,
    /// The rule that decided: `check_disabled` or `consent` when allowed, else the cause's code.
    #[schema(value_type = DecisionRuleName)]
    pub rule: &'static str,
    /// When allowed by a consent: which one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentProof>,
    /// When blocked or needing a reason: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<CauseOut>,
    /// When a reason is needed: whether a marketing reason is acceptable (not under an
    /// objection, GDPR Art. 21(3)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketing_reasons_allowed: Option<bool>,
}

impl From<DecisionReport> for DecisionResponse {
    fn from(r: DecisionReport) -> Self {
        let (outcome, rule, consent, cause, marketing) = match r.decision {
            Decision::Allowed { allowed_by } => match allowed_by {
                AllowedBy::CheckDisabled => (Outcome::Allowed, "check_disabled", None, None, None),
                AllowedBy::Consent {
                    code,
                    given_at,
                    expires_at,
                    ..
                } => (
                    Outcome::Allowed,
                    "consent",
                    Some(ConsentProof {
                        code: code.as_str().to_owned(),
                        given_at,
                        expires_at,
                    }),
                    None,
                    None,
                ),
            },
            Decision::NeedsJustification {
                cause,
                marketing_reasons_allowed,
            } => (
                Outcome::NeedsJustification,
                cause.code(),
                None,
                Some(cause_out(&cause)),
                Some(marketing_reasons_allowed),
            ),
            Decision::Blocked { cause } => (
                Outcome::Blocked,
                cause.code(),
                None,
                Some(cause_out(&cause)),
                None,
            ),
        };
        Self {
            contact_id: r.contact_id.0,
            action: r.action,
            at: r.at,
            outcome,
            rule,
            consent,
            cause,
            marketing_reasons_allowed: marketing,
        }
    }
}

fn cause_out(cause: &Cause) -> CauseOut {
    let (consent_type, since) = match cause {
        Cause::Restricted { since }
        | Cause::Objected { since }
        | Cause::ChannelOff { since, .. } => (None, Some(*since)),
        Cause::Refused { code, at }
        | Cause::Withdrawn { code, at }
        | Cause::Expired { code, at } => (Some(code.as_str().to_owned()), Some(*at)),
        Cause::RpoEnrolled { found_at: at } | Cause::RpoCheckExpired { expired_at: at } => {
            (None, Some(*at))
        }
        Cause::SilentCallCooldown { .. } => (None, None),
        Cause::RpoCheckMissing
        | Cause::Erased
        | Cause::Suppressed
        | Cause::NoConsent
        | Cause::OutsideCallingHours { .. } => (None, None),
    };
    let (day, next_allowed_at) = match cause {
        Cause::OutsideCallingHours {
            day,
            next_allowed_at,
        } => (day.map(|d| d.code()), *next_allowed_at),
        Cause::SilentCallCooldown { until } => (None, Some(*until)),
        _ => (None, None),
    };
    CauseOut {
        code: cause.code(),
        channel: match cause {
            Cause::ChannelOff { channel, .. } => Some(channel.code()),
            _ => None,
        },
        consent_type,
        since,
        day,
        next_allowed_at,
    }
}

async fn answer(
    state: &AppState,
    contact: &ContactRef,
    action: Action,
    at: Option<Timestamp>,
) -> Result<DecisionResponse, ApiError> {
    Ok(state.app.decide(contact, action, at).await?.into())
}

/// Decide one contact.
#[utoipa::path(
    post, path = "/v1/decisions", tag = "decisions", operation_id = "decide",
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The decision and the rule that made it", body = DecisionResponse),
        (status = 400, description = "A field is malformed, missing or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The email address or phone number given is not one (`field`: `email`, `phone`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["decide"]))
)]
async fn decide(
    _auth: Auth<DecideScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> Result<Json<DecisionResponse>, ApiError> {
    let contact = req.contact.reference("contact.")?;
    let action = action("action", &req.action)?;
    let at = instant(state.app.zone(), "at", req.at.as_deref())?;
    Ok(Json(answer(&state, &contact, action, at).await?))
}

/// Many questions at once (a newsletter tool checking its send list).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The action for every recipient that does not name its own.
    #[serde(default)]
    #[schema(value_type = Option<ActionName>)]
    pub action: Option<String>,
    /// The instant to decide for; now if absent.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<String>,
    /// Up to 10,000 recipients.
    pub recipients: Vec<BatchRecipient>,
}

/// One recipient of a batch: a contact selector's fields and an action, side by side. (They are
/// spelled out rather than `#[serde(flatten)]`ed from [`ContactSelector`]: serde cannot refuse
/// unknown fields through a flatten, and a misspelt field must not be dropped silently.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRecipient {
    /// Our id.
    #[serde(default)]
    pub contact_id: Option<uuid::Uuid>,
    /// The CRM's id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Any of the contact's email addresses.
    #[serde(default)]
    pub email: Option<String>,
    /// Any of the contact's phone numbers.
    #[serde(default)]
    pub phone: Option<String>,
    /// This recipient's action, if not the batch's.
    #[serde(default)]
    #[schema(value_type = Option<ActionName>)]
    pub action: Option<String>,
}

/// One answer of a batch, in the order of the request: a decision, or the problem with that
/// recipient (an unknown contact does not fail the batch).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    /// The decision.
    Decision(DecisionResponse),
    /// What was wrong with this recipient.
    Error(RecipientError),
}

/// What was wrong with one recipient of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientError {
    /// The problem.
    pub error: Problem,
}

/// The answers of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// One per recipient, in order.
    pub results: Vec<BatchItem>,
}

/// Decide many contacts.
#[utoipa::path(
    post, path = "/v1/decisions/batch", tag = "decisions", operation_id = "decideBatch",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One answer per recipient, in order", body = BatchResponse),
        (status = 400, description = "A field is malformed, or more than 10,000 recipients", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["decide"]))
)]
async fn decide_batch(
    _auth: Auth<DecideScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    if req.recipients.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "recipients",
            format!("at most {MAX_BATCH} recipients per batch"),
        ));
    }
    let default_action = req
        .action
        .as_deref()
        .map(|a| action("action", a))
        .transpose()?;
    let at = instant(state.app.zone(), "at", req.at.as_deref())?;
    // Every recipient is checked before anything is decided: a malformed one fails the request.
    let mut questions = Vec::with_capacity(req.recipients.len());
    for (i, r) in req.recipients.iter().enumerate() {
        let prefix = format!("recipients[{i}].");
        let contact = ContactSelector {
            contact_id: r.contact_id,
            external_id: r.external_id.clone(),
            email: r.email.clone(),
            phone: r.phone.clone(),
        }
        .reference(&prefix)?;
        let act = match (&r.action, default_action) {
            (Some(a), _) => action(&format!("{prefix}action"), a)?,
            (None, Some(a)) => a,
            (None, None) => {
                return Err(ApiError::bad_request(
                    format!("{prefix}action"),
                    "give an action for the batch or for each recipient",
                ));
            }
        };
        questions.push((contact, act));
    }
    let mut results = Vec::with_capacity(questions.len());
    for (i, (contact, act)) in questions.iter().enumerate() {
        // A decision on SQLite runs on this thread without awaiting: let other requests in
        // between, so a 10,000-recipient batch does not hold a runtime thread to itself.
        if i % 64 == 63 {
            tokio::task::yield_now().await;
        }
        results.push(match answer(&state, contact, *act, at).await {
            Ok(d) => BatchItem::Decision(d),
            Err(e @ (ApiError::NotFound(_) | ApiError::Invalid { .. })) => {
                BatchItem::Error(RecipientError { error: e.problem() })
            }
            Err(e) => return Err(e),
        });
    }
    Ok(Json(BatchResponse { results }))
}

/// The dialer's question.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DialerQuery {
    /// The number about to be dialled, in any common format.
    pub phone: String,
    /// `phone.call` (default) or `sms.single`.
    #[serde(default)]
    #[param(value_type = Option<ActionName>)]
    pub action: Option<String>,
}

/// The dialer's form: may I call this number now? Cheap enough to ask before every ring.
#[utoipa::path(
    get, path = "/v1/dialer", tag = "decisions", operation_id = "decideForDialer",
    params(DialerQuery),
    responses(
        (status = 200, description = "The decision and the rule that made it", body = DecisionResponse),
        (status = 400, description = "The action is not `phone.call` or `sms.single`, or a parameter is missing or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this number", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The number is not a phone number (`field`: `phone`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["decide"]))
)]
async fn dialer(
    _auth: Auth<DecideScope>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DialerQuery>,
) -> Result<Json<DecisionResponse>, ApiError> {
    let act = q
        .action
        .as_deref()
        .map_or(Ok(Action::PhoneCall), |a| action("action", a))?;
    if !matches!(act, Action::PhoneCall | Action::SmsSingle) {
        return Err(ApiError::bad_request(
            "action",
            "the dialer asks about phone.call or sms.single",
        ));
    }
    Ok(Json(
        answer(&state, &ContactRef::Phone(q.phone), act, None).await?,
    ))
}
