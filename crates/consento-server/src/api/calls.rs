//! The dialer's side of a campaign: `POST /v1/dialer/outcomes` records how each call ended (a
//! refusal of promotional calls becomes the person's objection to direct marketing at once,
//! "basta un no"), and `GET /v1/campaigns/{campaign}/report` counts a campaign's calls per
//! outcome with its silent-call rate (Garante, general provision n. 83 of 20 February 2014: at
//! most 3 silent calls per 100 answered calls).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use consento_domain::Timestamp;
use consento_domain::calls::{CallOutcome, SILENT_LIMIT_PER_100};
use consento_store::{CampaignReport, RecordedCall};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, DecideScope, ReadScope, WriteScope};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::{ApiQuery, PathParam, instant};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_outcome))
        .routes(routes!(campaign_report))
        .routes(routes!(campaign_list))
}

/// How a call ended.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `CallOutcome` is what runs.
pub enum CallOutcomeName {
    /// The person answered and spoke with an operator.
    Answered,
    /// Nobody answered.
    NoAnswer,
    /// The line was busy.
    Busy,
    /// The call connected but no operator spoke (a silent call).
    Silent,
    /// The person refused promotional calls: recorded at once as their objection to direct
    /// marketing (GDPR Art. 21(3)), for every later campaign.
    RefusedMarketing,
    /// The person asked to be called back.
    CallbackRequested,
}

/// A call's outcome, as the dialer reports it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "phone": "+39 333 123 4567", "outcome": "refused_marketing", "campaign": "Offerte primavera 2026",
    "operator": "m.bianchi", "called_at": "2026-03-02T10:15:00+01:00"
}))]
pub struct CallOutcomeRequest {
    /// The number dialled, in any common format: one of a contact's numbers.
    pub phone: String,
    /// How the call ended.
    #[schema(value_type = CallOutcomeName)]
    pub outcome: String,
    /// The campaign the call belongs to, 1 to 200 characters.
    pub campaign: String,
    /// Who placed the call: the dialer's operator handle, 1 to 128 characters.
    pub operator: String,
    /// When the call took place: RFC 3339, or a local date and time without offset
    /// (`2026-03-02T10:15`), read in the office's time zone. Not more than 5 minutes ahead of
    /// the server's clock, not more than 30 days ago.
    #[schema(value_type = String, format = DateTime)]
    pub called_at: String,
}

/// A recorded call outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallOutcomeOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// The contact whose number was dialled.
    pub contact_id: uuid::Uuid,
    /// The number, E.164.
    pub phone: String,
    /// How the call ended.
    #[schema(value_type = CallOutcomeName)]
    pub outcome: CallOutcome,
    /// The campaign.
    pub campaign: String,
    /// Who placed the call.
    pub operator: String,
    /// When the call took place.
    #[schema(value_type = String, format = DateTime)]
    pub called_at: Timestamp,
    /// When it was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    /// For `refused_marketing`: since when the person objects to direct marketing, the instant
    /// of this call, or the earlier date of an objection already recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub objected_at: Option<Timestamp>,
}

impl From<RecordedCall> for CallOutcomeOut {
    fn from(r: RecordedCall) -> Self {
        let c = r.call;
        Self {
            id: c.id,
            contact_id: c.contact_id.0,
            phone: c.phone,
            outcome: c.outcome,
            campaign: c.campaign,
            operator: c.operator,
            called_at: c.called_at,
            recorded_at: c.recorded_at,
            objected_at: r.objected_at.filter(|_| c.outcome.objects()),
        }
    }
}

/// Records how a call of a campaign ended. A `refused_marketing` outcome is the person's
/// objection to direct marketing (GDPR Art. 21(3); "basta un no", Garante, February 2023),
/// recorded in the same transaction, since the instant of the call, without asking the person
/// to confirm: from then on every marketing decision answers `objected` (bulk sends blocked, a
/// single call or message only with a reason that is not marketing), and the primary address
/// and number go on the suppression list, exactly as `PUT /v1/contacts/{id}/objection` does.
/// An objection already recorded keeps its date.
#[utoipa::path(
    post, path = "/v1/dialer/outcomes", tag = "calls", operation_id = "recordCallOutcome",
    request_body = CallOutcomeRequest,
    responses(
        (status = 201, description = "Recorded (with `objected_at` for a refusal)", body = CallOutcomeOut),
        (status = 400, description = "A field is malformed, missing or unknown, the outcome is not one, or `called_at` is not an instant (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this number", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused: `called_at` is in the future or more than 30 days ago, the `campaign` or `operator` is empty or too long, or the `phone` is not a phone number", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn record_outcome(
    auth: Auth<WriteScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CallOutcomeRequest>,
) -> Result<(StatusCode, Json<CallOutcomeOut>), ApiError> {
    let outcome = CallOutcome::parse(&req.outcome).map_err(|_| {
        let codes: Vec<&str> = CallOutcome::ALL.iter().map(|o| o.code()).collect();
        ApiError::bad_request("outcome", format!("must be one of {}", codes.join(", ")))
    })?;
    // A call happened at an instant: a day alone would date it at local midnight.
    if state
        .app
        .zone()
        .parse_day("called_at", &req.called_at)
        .is_ok()
    {
        return Err(ApiError::bad_request(
            "called_at",
            "give the instant of the call, with its time of day",
        ));
    }
    let called_at = instant(state.app.zone(), "called_at", Some(&req.called_at))?
        .ok_or_else(|| ApiError::bad_request("called_at", "give the instant of the call"))?;
    let recorded = state
        .app
        .record_call_outcome(
            &auth.by(),
            auth.0.actor()?,
            consento_app::calls::CallReport {
                phone: req.phone,
                outcome,
                campaign: req.campaign,
                operator: req.operator,
                called_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(recorded.into())))
}

/// A campaign's calls per outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeCounts {
    /// The person answered and spoke with an operator.
    pub answered: u64,
    /// Nobody answered.
    pub no_answer: u64,
    /// The line was busy.
    pub busy: u64,
    /// The call connected but no operator spoke.
    pub silent: u64,
    /// The person refused promotional calls.
    pub refused_marketing: u64,
    /// The person asked to be called back.
    pub callback_requested: u64,
}

/// A campaign's calls and its silent-call rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignReportOut {
    /// The campaign.
    pub campaign: String,
    /// Every call reported.
    pub calls: u64,
    /// The calls per outcome.
    pub counts: OutcomeCounts,
    /// The answered calls of the silent-call rate: the calls that connected, whatever followed
    /// (`answered`, `silent`, `refused_marketing`, `callback_requested`); not `no_answer` or
    /// `busy`.
    pub connected: u64,
    /// Silent calls per 100 answered (connected) calls, to two decimals; absent when no call
    /// connected.
    pub silent_per_100_answered: Option<f64>,
    /// Whether the campaign has more than 3 silent calls per 100 answered calls (Garante,
    /// general provision n. 83 of 20 February 2014).
    pub silent_flag: bool,
    /// The threshold: 3 silent calls per 100 answered calls.
    pub silent_limit_per_100: u64,
    /// The first call's instant.
    #[schema(value_type = String, format = DateTime)]
    pub first_call_at: Timestamp,
    /// The last call's instant.
    #[schema(value_type = String, format = DateTime)]
    pub last_call_at: Timestamp,
}

impl From<CampaignReport> for CampaignReportOut {
    fn from(r: CampaignReport) -> Self {
        let t = r.tally;
        Self {
            campaign: r.campaign,
            calls: t.total(),
            counts: OutcomeCounts {
                answered: t.answered,
                no_answer: t.no_answer,
                busy: t.busy,
                silent: t.silent,
                refused_marketing: t.refused_marketing,
                callback_requested: t.callback_requested,
            },
            connected: t.connected(),
            silent_per_100_answered: t
                .silent_per_100_connected()
                .map(|rate| (rate * 100.0).round() / 100.0),
            silent_flag: t.silent_over_limit(),
            silent_limit_per_100: SILENT_LIMIT_PER_100,
            first_call_at: r.first_call_at,
            last_call_at: r.last_call_at,
        }
    }
}

/// A campaign's calls counted per outcome, with its silent-call rate: silent calls per 100
/// answered calls, where an answered call is one that connected (`answered`, `silent`,
/// `refused_marketing`, `callback_requested`), and a flag above 3 per 100 (Garante, general
/// provision n. 83 of 20 February 2014).
#[utoipa::path(
    get, path = "/v1/campaigns/{campaign}/report", tag = "calls", operation_id = "campaignReport",
    params(("campaign" = String, Path, description = "The campaign's name as the dialer reports it (percent-encoded)")),
    responses(
        (status = 200, description = "The campaign's counts and silent-call rate", body = CampaignReportOut),
        (status = 404, description = "No call of this campaign was recorded", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn campaign_report(
    _auth: Auth<ReadScope>,
    PathParam(campaign): PathParam,
    State(state): State<AppState>,
) -> Result<Json<CampaignReportOut>, ApiError> {
    // A name no campaign can have names no report.
    if consento_domain::calls::campaign(&campaign).is_err() {
        return Err(ApiError::NotFound("campaign"));
    }
    Ok(Json(state.store.campaign_report(&campaign).await?.into()))
}

/// What a campaign's list is asked with.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CampaignListQuery {
    /// Leave out the numbers whose opt-out register check is missing or no longer counts,
    /// instead of refusing the list (409).
    #[serde(default)]
    pub leave_out_unchecked: bool,
}

/// A number a dialer may call now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignNumber {
    /// The contact's id.
    pub contact_id: uuid::Uuid,
    /// The number to dial (E.164).
    pub phone: String,
}

/// The numbers a dialer may call now for a campaign, with the candidates left out counted by
/// cause.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignListOut {
    /// The campaign, as asked.
    pub campaign: String,
    /// The instant decided for (now).
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// How many numbers.
    pub count: usize,
    /// The numbers, in order.
    pub numbers: Vec<CampaignNumber>,
    /// Candidates left out, counted by the cause their decision names (`outside_calling_hours`,
    /// `rpo_enrolled`, `silent_call_cooldown`, `objected`…), by cause.
    pub excluded: Vec<ExcludedCause>,
}

/// How many candidates one cause left out of a campaign's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExcludedCause {
    /// The cause's code, as decisions name it.
    #[schema(value_type = super::decisions::CauseName)]
    pub cause: &'static str,
    /// How many.
    pub count: u64,
}

/// The numbers a dialer may call now for a telemarketing campaign: every contact with a number
/// and a marketing consent permitting calls, decided as a call at the ring would be (consent,
/// objections, calling hours, silent calls, the opt-out register); the others are counted by
/// cause. Refused with 409 (`field`: `unchecked`) when any candidate's register check is missing
/// or no longer counts, unless `leave_out_unchecked=true`.
#[utoipa::path(
    get, path = "/v1/campaigns/{campaign}/list", tag = "calls", operation_id = "campaignList",
    params(("campaign" = String, Path, description = "The campaign's name (percent-encoded)"), CampaignListQuery),
    responses(
        (status = 200, description = "The numbers to call now", body = CampaignListOut),
        (status = 400, description = "A parameter is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a campaign name", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Numbers lack a register check that still counts (`field`: `unchecked`; the detail gives how many)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["decide"]))
)]
async fn campaign_list(
    _auth: Auth<DecideScope>,
    PathParam(campaign): PathParam,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CampaignListQuery>,
) -> Result<Json<CampaignListOut>, ApiError> {
    if consento_domain::calls::campaign(&campaign).is_err() {
        return Err(ApiError::NotFound("campaign"));
    }
    let list = state.app.campaign_list(q.leave_out_unchecked).await?;
    Ok(Json(CampaignListOut {
        campaign,
        at: list.at,
        count: list.numbers.len(),
        numbers: list
            .numbers
            .into_iter()
            .map(|(id, phone)| CampaignNumber {
                contact_id: id.0,
                phone,
            })
            .collect(),
        excluded: list
            .excluded
            .into_iter()
            .map(|(cause, count)| ExcludedCause { cause, count })
            .collect(),
    }))
}
