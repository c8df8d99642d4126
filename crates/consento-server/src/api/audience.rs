//! `GET /v1/audience`: the newsletter audience, every contact `email.bulk` may reach (the
//! decision's rules 1–7 applied to the whole list in SQL), streamed as RFC 4180 CSV or NDJSON
//! straight from the database cursor, never collected in memory (`consento_app::audience`); and `GET /v1/audience/counts`: how many
//! it reaches and how many are left out, per cause. Both need `read`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use consento_app::audience::{AudienceFormat as Format, ExportRefused, type_filter};
use consento_domain::Timestamp;
use consento_domain::spreadsheet::Cells;
use consento_store::{AudienceQuery, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope};
use super::error::{ApiError, Problem};
use super::params::{ApiQuery, instant, rename_field};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audience))
        .routes(routes!(counts))
}

/// Which audience.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AudienceParams {
    /// The consent type the newsletter is sent under (it must permit `email.bulk`), or `any` for
    /// every type that permits bulk email. Required: a forgotten parameter must not widen a send.
    #[serde(rename = "type")]
    #[param(rename = "type", example = "newsletter")]
    pub type_code: String,
    /// `csv` (RFC 4180, UTF-8, CRLF, header row `contact_id,external_id,email,name`; the default)
    /// or `ndjson` (one JSON object per line).
    #[serde(default)]
    #[param(value_type = Option<AudienceFormat>)]
    pub format: Option<String>,
    /// The instant of the send (RFC 3339): now, or up to five minutes before now (the counts of
    /// a send just listed), or a future date. Now if absent.
    #[serde(default)]
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<String>,
    /// CSV only: `true` writes every value as stored. By default a cell that starts with `=`,
    /// `+`, `-`, `@`, a tab or a carriage return gets a `'` in front (OWASP, "CSV Injection"),
    /// so that a spreadsheet shows it as text instead of running it; a `+` followed only by
    /// digits and spaces (a phone number) is left alone. NDJSON is always as stored.
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    pub raw: Option<String>,
}

/// The counts' parameters: the same audience.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CountsParams {
    /// The consent type's code, or `any`: as for the audience.
    #[serde(rename = "type")]
    #[param(rename = "type", example = "newsletter")]
    pub type_code: String,
    /// The instant of the send: the `Consento-Audience-At` of the list, for the counts of that
    /// same send. Now if absent.
    #[serde(default)]
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<String>,
}

/// The formats of the audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // Named only in the OpenAPI document; the app's format is what runs.
pub enum AudienceFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// Newline-delimited JSON, one [`AudienceMemberOut`] per line.
    Ndjson,
}

/// One recipient (a line of the NDJSON form; the CSV has the same columns).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // Named only in the OpenAPI document; `consento_app::audience::Recipient` is what runs.
pub struct AudienceMemberOut {
    /// Our id of the contact.
    pub contact_id: uuid::Uuid,
    /// The CRM's id.
    pub external_id: Option<String>,
    /// The primary email address: where to send.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
}

/// How many contacts a newsletter reaches, and why the others are left out.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "newsletter", "at": "2025-03-01T09:00:00Z", "eligible": 812, "excluded_total": 188,
    "excluded": { "expired": 95, "no_consent": 60, "withdrawn": 33 }
}))]
pub struct AudienceCountsOut {
    /// The consent type's code, or `any`.
    #[serde(rename = "type")]
    pub type_code: String,
    /// The instant counted for.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Contacts the newsletter reaches.
    pub eligible: i64,
    /// Contacts left out, in all.
    pub excluded_total: i64,
    /// Contacts left out per cause, the first rule that applies: `erased`, `restricted`,
    /// `objected`, `channel_off` (email switched off by the person), `suppressed`, `no_email`, `withdrawn`, `expired`, `refused`, `no_consent`.
    /// Causes with no contact are absent.
    #[schema(value_type = ExcludedCounts)]
    pub excluded: BTreeMap<String, i64>,
}

/// Contacts a newsletter leaves out, per cause: the first rule of the decision that applies
/// (`no_email`: allowed, but without an address to send to). Causes with no contact are absent.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // Named only in the OpenAPI document; the counts are a map of these keys.
pub struct ExcludedCounts {
    /// Erased (GDPR Art. 17).
    #[schema(required = false)]
    erased: i64,
    /// Processing restricted (Art. 18).
    #[schema(required = false)]
    restricted: i64,
    /// Objecting to direct marketing (Art. 21(3)).
    #[schema(required = false)]
    objected: i64,
    /// Email switched off by the person.
    #[schema(required = false)]
    channel_off: i64,
    /// The address is on the suppression list.
    #[schema(required = false)]
    suppressed: i64,
    /// Allowed, but without an email address.
    #[schema(required = false)]
    no_email: i64,
    /// The consent was withdrawn or revoked.
    #[schema(required = false)]
    withdrawn: i64,
    /// The consent ran out.
    #[schema(required = false)]
    expired: i64,
    /// The person refused.
    #[schema(required = false)]
    refused: i64,
    /// No consent was ever recorded.
    #[schema(required = false)]
    no_consent: i64,
}

/// The store's query for `type` and `at`, with `at` fixed (now when absent) so that the list
/// and its counts can describe the same send.
fn audience_query(
    state: &AppState,
    type_code: &str,
    at: Option<&str>,
) -> Result<AudienceQuery, ApiError> {
    let code = type_code.trim();
    if code.is_empty() {
        return Err(ApiError::bad_request(
            "type",
            "give a consent type's code, or `any`",
        ));
    }
    let at = instant(state.app.zone(), "at", at)?.unwrap_or_else(|| state.store.now());
    Ok(AudienceQuery {
        type_code: type_filter(code),
        at: Some(at),
    })
}

/// The store's refusals, named as this API's parameters.
fn param_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound {
            entity: "consent type",
        } => ApiError::unprocessable("type", "no consent type has this code"),
        other => rename_field(other.into(), "type_code", "type"),
    }
}

/// The newsletter audience: every contact a bulk email may reach now (or at `at`), streamed.
/// Each recipient has a valid consent of a type permitting `email.bulk` (or the newsletter check
/// is off), is not erased, restricted, objecting or suppressed, and has an email address. The
/// `Consento-Audience-At` header gives the instant used, for `GET /v1/audience/counts`. If the
/// database fails mid-way the body ends without its final chunk: treat an incomplete transfer as
/// a failed export.
#[utoipa::path(
    get, path = "/v1/audience", tag = "audience", operation_id = "streamAudience",
    params(AudienceParams),
    responses(
        (status = 200, description = "The recipients, streamed",
            headers(("Consento-Audience-At" = String, description = "The instant the audience was computed for (RFC 3339)")),
            content(
                (String = "text/csv", example = "contact_id,external_id,email,name\r\n0190a0a0-0000-7000-8000-000000000010,crm-42,anna.rossi@example.it,Anna Rossi\r\n"),
                (AudienceMemberOut = "application/x-ndjson"),
            )),
        (status = 400, description = "A parameter is missing, malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The type is unknown or does not permit bulk email (`field`: `type`), or `at` is in the past (`field`: `at`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many exports are streaming at once (half the connection pool); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn audience(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<AudienceParams>,
) -> Result<Response, ApiError> {
    let format = match p.format.as_deref().map(str::trim) {
        None | Some("csv") => Format::Csv,
        Some("ndjson") => Format::Ndjson,
        Some(_) => return Err(ApiError::bad_request("format", "must be csv or ndjson")),
    };
    let cells = match p.raw.as_deref().map(str::trim) {
        None | Some("false") => Cells::ForSpreadsheets,
        Some("true") => Cells::AsStored,
        Some(_) => return Err(ApiError::bad_request("raw", "must be true or false")),
    };
    let q = audience_query(&state, &p.type_code, p.at.as_deref())?;
    let Ok(permit) = Arc::clone(&state.exports).try_acquire_owned() else {
        return Err(ApiError::Busy(
            "too many audience exports at once; retry shortly",
        ));
    };
    match state.app.stream_audience(q, format, cells, permit).await {
        Ok(stream) => Ok(crate::http::audience(stream, format).0),
        Err(ExportRefused::Store(e)) => Err(param_error(e)),
        Err(ExportRefused::Ended) => {
            Err(ApiError::Internal("the audience task ended early".into()))
        }
    }
}

/// How many contacts the newsletter reaches and how many are left out, per cause (the first rule
/// of the decision that applies to each). Pass the list's `Consento-Audience-At` as `at` to count
/// the same send (the list is streamed from a live database: its row count is the authority for
/// what was sent).
#[utoipa::path(
    get, path = "/v1/audience/counts", tag = "audience", operation_id = "countAudience",
    params(CountsParams),
    responses(
        (status = 200, description = "The counts", body = AudienceCountsOut),
        (status = 400, description = "A parameter is missing, malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The type is unknown or does not permit bulk email (`field`: `type`), or `at` is in the past (`field`: `at`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn counts(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<CountsParams>,
) -> Result<Json<AudienceCountsOut>, ApiError> {
    let q = audience_query(&state, &p.type_code, p.at.as_deref())?;
    let at = q.at.unwrap_or_else(|| state.store.now());
    let c = state.store.audience_counts(&q).await.map_err(param_error)?;
    Ok(Json(AudienceCountsOut {
        type_code: q.type_code.unwrap_or_else(|| "any".to_owned()),
        at,
        eligible: c.eligible,
        excluded_total: c.excluded.values().sum(),
        excluded: c.excluded,
    }))
}
