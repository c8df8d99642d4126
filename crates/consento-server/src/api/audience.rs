//! `GET /v1/audience`: the newsletter audience, every contact `email.bulk` may reach (DESIGN.md
//! §2, rules 1–7 applied to the whole list in SQL), streamed as RFC 4180 CSV or NDJSON straight
//! from the database cursor, never collected in memory; and `GET /v1/audience/counts`: how many
//! it reaches and how many are left out, per cause. Both need `read`.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use consento_domain::Timestamp;
use consento_store::{AudienceMember, AudienceQuery, StoreError};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tokio::sync::{mpsc, oneshot};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope};
use super::error::{ApiError, Problem};
use super::params::{instant, query, rename_field};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audience))
        .routes(routes!(counts))
}

/// The header that tells which instant the audience was computed for: ask
/// `GET /v1/audience/counts` with the same `at` for the counts of the same send.
pub const AT_HEADER: &str = "consento-audience-at";

/// Rows per chunk of the response body: large enough to keep the per-chunk cost low, small
/// enough that memory stays flat.
const ROWS_PER_CHUNK: usize = 512;

/// Chunks buffered between the database cursor and the client: a slow client slows the cursor
/// instead of filling memory.
const CHUNKS_IN_FLIGHT: usize = 4;

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
pub enum AudienceFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// Newline-delimited JSON, one [`AudienceMemberOut`] per line.
    Ndjson,
}

/// One recipient (a line of the NDJSON form; the CSV has the same columns).
#[derive(Debug, Serialize, ToSchema)]
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

impl From<AudienceMember> for AudienceMemberOut {
    fn from(m: AudienceMember) -> Self {
        Self {
            contact_id: m.contact_id.0,
            external_id: m.external_id,
            email: m.email,
            name: m.name,
        }
    }
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
    pub excluded: BTreeMap<String, i64>,
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
    let at = instant("at", at)?.unwrap_or_else(|| state.store.now());
    Ok(AudienceQuery {
        type_code: type_filter(code),
        at: Some(at),
    })
}

/// The store's type filter for a `type` parameter: `any` means every type that permits bulk
/// email (none), anything else is a code.
pub fn type_filter(code: &str) -> Option<String> {
    let code = code.trim();
    (code != "any").then(|| code.to_owned())
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

/// CSV records (RFC 4180 §2: fields with a comma, a quote or a line break are quoted, quotes
/// doubled; CRLF after each record).
/// `for_spreadsheets`: a file a person will open in a spreadsheet gets every cell that starts
/// like a formula prefixed with `'` (OWASP, "CSV Injection"), so a name such as `=HYPERLINK(…)`
/// stays text. Machines reading the API's CSV get the values as stored.
fn csv_chunk(
    rows: &[AudienceMember],
    header: bool,
    for_spreadsheets: bool,
) -> Result<Vec<u8>, std::io::Error> {
    let cell = |v: &str| -> String {
        if for_spreadsheets && v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{v}")
        } else {
            v.to_owned()
        }
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 96 + 64));
    if header {
        w.write_record(["contact_id", "external_id", "email", "name"])?;
    }
    for m in rows {
        w.write_record([
            m.contact_id.0.to_string(),
            cell(m.external_id.as_deref().unwrap_or("")),
            cell(m.email.as_str()),
            cell(m.name.as_deref().unwrap_or("")),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

fn ndjson_chunk(rows: Vec<AudienceMember>) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::with_capacity(rows.len() * 128);
    for m in rows {
        serde_json::to_writer(&mut out, &AudienceMemberOut::from(m))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// How long a client may leave a chunk unread before its export is stopped.
const STALLED_CLIENT: std::time::Duration = std::time::Duration::from_secs(60);

/// Streams the audience from the store into `tx` in chunks, after telling `started` whether
/// the query could start (so that a refused query is still a problem document, not a broken
/// body). Ends when the rows end, the client goes away, or the database fails; says how it ended.
async fn pump(
    state: AppState,
    q: AudienceQuery,
    format: AudienceFormat,
    for_spreadsheets: bool,
    started: oneshot::Sender<Result<(), StoreError>>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
) -> ExportEnd {
    let mut end = ExportEnd {
        rows: 0,
        complete: false,
    };
    let mut members = match state.store.audience(&q).await {
        Ok(m) => m,
        Err(e) => {
            let _ = started.send(Err(e));
            return end;
        }
    };
    if started.send(Ok(())).is_err() {
        return end;
    }
    let mut header = format == AudienceFormat::Csv;
    let mut done = false;
    while !done {
        let mut rows = Vec::with_capacity(ROWS_PER_CHUNK);
        while rows.len() < ROWS_PER_CHUNK {
            match members.next().await {
                Some(Ok(m)) => rows.push(m),
                Some(Err(e)) => {
                    // Logged without the data; the client sees the body end abruptly (no
                    // terminating chunk), so a partial list is never taken for a whole one.
                    tracing::error!(error = %e, "audience stream failed");
                    let _ = tx
                        .send(Err(std::io::Error::other("the audience query failed")))
                        .await;
                    return end;
                }
                None => {
                    done = true;
                    break;
                }
            }
        }
        if rows.is_empty() && !header {
            break;
        }
        let count = rows.len() as u64;
        let chunk = match format {
            AudienceFormat::Csv => csv_chunk(&rows, header, for_spreadsheets),
            AudienceFormat::Ndjson => ndjson_chunk(rows),
        };
        header = false;
        match tokio::time::timeout(STALLED_CLIENT, tx.send(chunk.map(Bytes::from))).await {
            Ok(Ok(())) => end.rows += count,
            // The client went away, or stopped reading: stop reading the database (and give
            // the connection back). The body ends without its final chunk.
            Ok(Err(_)) => return end,
            Err(_) => {
                tracing::warn!("audience export stopped: the client stopped reading");
                return end;
            }
        }
    }
    end.complete = true;
    end
}

/// How an export ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportEnd {
    /// Recipients handed to the response body.
    pub rows: u64,
    /// Whether the whole list was (the body then ends normally).
    pub complete: bool,
}

/// Why an export could not start (nothing was sent).
#[derive(Debug)]
pub enum ExportRefused {
    /// Every export slot is taken: half the connection pool streams already.
    Busy,
    /// The store refused the query: an unknown type, a type that does not permit bulk email, an
    /// instant in the past.
    Store(StoreError),
    /// The streaming task ended before saying whether the query started.
    Ended,
}

/// A started export: the response that streams the list (type, `Cache-Control: no-store` and
/// `Consento-Audience-At` set), and how it ended, told once the stream stops.
pub struct Export {
    /// The streaming response.
    pub response: Response,
    /// How the export ended.
    pub end: tokio::task::JoinHandle<ExportEnd>,
}

/// Starts streaming the audience `q` in `format`: takes an export slot, starts the query, and
/// gives back the response once the database has accepted it, so that a refusal can still be
/// answered properly. The API's `GET /v1/audience` and the console's download both call this.
pub async fn start_export(
    state: &AppState,
    q: AudienceQuery,
    format: AudienceFormat,
    for_spreadsheets: bool,
) -> Result<Export, ExportRefused> {
    let at = q.at.unwrap_or_else(|| state.store.now());
    let permit = Arc::clone(&state.exports)
        .try_acquire_owned()
        .map_err(|_| ExportRefused::Busy)?;
    let (started_tx, started_rx) = oneshot::channel();
    let (tx, mut rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let end = tokio::spawn(pump(
        state.clone(),
        q,
        format,
        for_spreadsheets,
        started_tx,
        tx,
        permit,
    ));
    match started_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(ExportRefused::Store(e)),
        Err(_) => return Err(ExportRefused::Ended),
    }
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let content_type = match format {
        AudienceFormat::Csv => "text/csv; charset=utf-8; header=present",
        AudienceFormat::Ndjson => "application/x-ndjson",
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The list holds personal data: no cache may keep a copy (RFC 9111 §5.2.2.5).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&at.to_rfc3339()) {
        headers.insert(AT_HEADER, v);
    }
    Ok(Export { response, end })
}

/// The newsletter audience: every contact a bulk email may reach now (or at `at`), streamed.
/// Each recipient has a valid consent of a type permitting `email.bulk` (or the newsletter check
/// is off), is not erased, restricted, objecting or suppressed, and has an email address. The
/// `Consento-Audience-At` header gives the instant used, for `GET /v1/audience/counts`. If the
/// database fails mid-way the body ends without its final chunk: treat an incomplete transfer as
/// a failed export.
#[utoipa::path(
    get, path = "/v1/audience", tag = "audience",
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
    params: Result<Query<AudienceParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = query(params)?;
    let format = match p.format.as_deref().map(str::trim) {
        None | Some("csv") => AudienceFormat::Csv,
        Some("ndjson") => AudienceFormat::Ndjson,
        Some(_) => return Err(ApiError::bad_request("format", "must be csv or ndjson")),
    };
    let q = audience_query(&state, &p.type_code, p.at.as_deref())?;
    match start_export(&state, q, format, false).await {
        Ok(export) => Ok(export.response),
        Err(ExportRefused::Busy) => Err(ApiError::Busy(
            "too many audience exports at once; retry shortly",
        )),
        Err(ExportRefused::Store(e)) => Err(param_error(e)),
        Err(ExportRefused::Ended) => {
            Err(ApiError::Internal("the audience task ended early".into()))
        }
    }
}

/// How many contacts the newsletter reaches and how many are left out, per cause (the first rule
/// of DESIGN.md §2 that applies to each). Pass the list's `Consento-Audience-At` as `at` to count
/// the same send (the list is streamed from a live database: its row count is the authority for
/// what was sent).
#[utoipa::path(
    get, path = "/v1/audience/counts", tag = "audience",
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
    params: Result<Query<CountsParams>, QueryRejection>,
) -> Result<Json<AudienceCountsOut>, ApiError> {
    let p = query(params)?;
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
