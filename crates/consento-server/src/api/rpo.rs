//! The Registro pubblico delle opposizioni (L. 5/2018, DPR 26/2022) over the API, scope `admin`,
//! as the command line's `consento rpo export|import` does it: where the checks stand
//! (`GET /v1/rpo/status`), the list of numbers due for a check in the register's format
//! (`GET /v1/rpo/due`), and the register's answer imported as a check (`POST /v1/rpo/answers`),
//! which revokes the consents an enrolment annuls, audited as `rpo.import` in its transaction.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use consento_app::rpo::RpoAnswerFile;
use consento_domain::Timestamp;
use consento_domain::rpo::{RpoAnswerMode, RpoNumberForm};
use consento_store::{RpoCheckRecord, RpoImportReport, RpoStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminScope, Auth};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::{ApiQuery, instant};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(due))
        .routes(routes!(import_answer))
}

/// How the register's answer file is read when a line holds a number alone.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `RpoAnswerMode` is what runs.
pub enum RpoAnswerModeName {
    /// The file lists the enrolled numbers: every other number sent is not enrolled.
    Enrolled,
    /// The file lists the numbers that may be called: every other number sent is enrolled.
    Callable,
}

/// How the numbers of the due list are written.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `RpoNumberForm` is what runs.
pub enum RpoNumberFormName {
    /// Without the country code (`3331234567`): the register's own form.
    National,
    /// E.164 (`+393331234567`).
    E164,
}

/// One check: an answer of the register, as imported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RpoCheckOut {
    /// Its id (the evidence of the revocations it made).
    pub id: uuid::Uuid,
    /// When the register answered.
    #[schema(value_type = String, format = DateTime)]
    pub answered_at: Timestamp,
    /// Until when the answer counts (15 days after it, DPR 26/2022).
    #[schema(value_type = String, format = DateTime)]
    pub valid_until: Timestamp,
    /// The answer file's name.
    pub file_name: String,
    /// The answer file's SHA-256, lower-case hexadecimal.
    pub file_sha256: String,
    /// How the file was read.
    #[schema(value_type = RpoAnswerModeName)]
    pub answer_mode: String,
    /// Who imported it: an API token (`token:<id>`), a console account, or the command line's
    /// operator.
    pub imported_by: String,
    /// When it was imported.
    #[schema(value_type = String, format = DateTime)]
    pub imported_at: Timestamp,
    /// Numbers answered.
    pub numbers: u64,
    /// Of which enrolled.
    pub enrolled: u64,
    /// Of which found enrolled for the first time by this check.
    pub newly_enrolled: u64,
    /// Consents revoked because of those (method `rpo` in the ledger).
    pub revoked: u64,
}

impl From<RpoCheckRecord> for RpoCheckOut {
    fn from(c: RpoCheckRecord) -> Self {
        Self {
            id: c.id,
            answered_at: c.answered_at,
            valid_until: c.valid_until,
            file_name: c.file_name,
            file_sha256: c.file_sha256,
            answer_mode: c.answer_mode,
            imported_by: c.imported_by,
            imported_at: c.imported_at,
            numbers: c.numbers,
            enrolled: c.enrolled,
            newly_enrolled: c.newly_enrolled,
            revoked: c.revoked,
        }
    }
}

/// Where the checks against the register stand.
#[derive(Debug, Serialize, ToSchema)]
pub struct RpoStatusOut {
    /// The instant counted at (now).
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The latest check (the latest answer of the register), null before the first.
    pub latest: Option<RpoCheckOut>,
    /// The latest 20 checks, the latest answer first.
    pub recent: Vec<RpoCheckOut>,
    /// Numbers due for a check now: those of contacts that may be called for marketing at all
    /// whose check is missing or no longer counts (what `GET /v1/rpo/due` lists).
    pub due: u64,
    /// Numbers whose latest answer says they are enrolled.
    pub enrolled: u64,
    /// Numbers whose latest answer still counts.
    pub checked_valid: u64,
}

impl From<RpoStatus> for RpoStatusOut {
    fn from(s: RpoStatus) -> Self {
        let recent: Vec<RpoCheckOut> = s.recent.into_iter().map(Into::into).collect();
        Self {
            at: s.at,
            latest: recent.first().cloned(),
            recent,
            due: s.due,
            enrolled: s.enrolled,
            checked_valid: s.checked_valid,
        }
    }
}

/// Where the checks against the opt-out register stand: the latest check with its counts, the
/// latest 20, and how many numbers are due for a check (missing, or answered 15 days ago or
/// more), enrolled, and checked with an answer that still counts.
#[utoipa::path(
    get, path = "/v1/rpo/status", tag = "rpo", operation_id = "getRpoStatus",
    responses((status = 200, description = "The checks and the counts", body = RpoStatusOut)),
    security(("token" = ["admin"]))
)]
async fn status(
    _auth: Auth<AdminScope>,
    State(state): State<AppState>,
) -> Result<Json<RpoStatusOut>, ApiError> {
    Ok(Json(state.app.rpo_status().await?.into()))
}

/// Which numbers the due list holds, and how they are written.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// Every number that may be called for marketing at all, checked or not, instead of those
    /// whose check is missing or no longer counts.
    #[serde(default)]
    pub all: bool,
    /// `national` (the default: `3331234567`, the register's own form) or `e164`.
    #[serde(default)]
    #[param(value_type = Option<RpoNumberFormName>, example = "national")]
    pub form: Option<String>,
}

/// The numbers due for a check against the opt-out register, in the register's list format:
/// one number per line, each line ending in `\n`, Italian numbers only, each once, in order;
/// the header `Consento-Count` gives how many. Send the file to the register, then import its
/// answer with `POST /v1/rpo/answers`, giving this list as `sent`.
#[utoipa::path(
    get, path = "/v1/rpo/due", tag = "rpo", operation_id = "listRpoDueNumbers",
    params(DueQuery),
    responses(
        (status = 200, description = "The list (an attachment)", content_type = "text/plain", body = String,
            headers(("Consento-Count" = u64, description = "How many numbers the list holds"))),
        (status = 400, description = "A parameter is malformed or unknown, or `form` is not one (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn due(
    _auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> Result<Response, ApiError> {
    let form = match q.form.as_deref().map(str::trim) {
        None | Some("national") => RpoNumberForm::National,
        Some("e164") => RpoNumberForm::E164,
        Some(_) => return Err(ApiError::bad_request("form", "must be national or e164")),
    };
    let now = state.store.now();
    let list = state.app.rpo_export(q.all, now, form).await?;
    let day = state.app.zone().date_of(now).map(|d| d.to_string());
    Ok(crate::http::rpo_list(
        list.text,
        list.sent.len(),
        day.as_deref(),
    ))
}

/// The register's answer to import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "answer": "3331234567;1\n3339876543;0\n", "sent": "3331234567\n3339876543\n",
    "file_name": "esito-2026-03-02.csv", "checked_at": "2026-03-02T10:00", "mode": "enrolled"
}))]
pub struct RpoAnswerRequest {
    /// The answer file's text: one number per line (national form, or with `+39`/`0039`), each
    /// optionally followed by `;` or `,` and whether it is enrolled (`1`/`0`, `si`/`no`,
    /// `iscritto`/`non iscritto`); a first line with no digit is a header.
    pub answer: String,
    /// The list that was sent, as `GET /v1/rpo/due` gave it: one number per line.
    pub sent: String,
    /// The answer file's name, kept with the check (1 to 255 characters).
    pub file_name: String,
    /// When the register answered: RFC 3339, or a local date and time without offset
    /// (`2026-03-02T10:00`) read in the office's time zone. Not in the future; the check counts
    /// for 15 days from it.
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: String,
    /// How a line holding a number alone is read.
    #[schema(value_type = RpoAnswerModeName)]
    pub mode: String,
}

/// What an import of an answer wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct RpoImportOut {
    /// The check's id.
    pub check_id: uuid::Uuid,
    /// Numbers answered.
    pub numbers: u64,
    /// Of which enrolled.
    pub enrolled: u64,
    /// Of which found enrolled for the first time by this check.
    pub newly_enrolled: u64,
    /// Consents revoked because of those.
    pub revoked: u64,
    /// Until when the check counts.
    #[schema(value_type = String, format = DateTime)]
    pub valid_until: Timestamp,
}

impl From<RpoImportReport> for RpoImportOut {
    fn from(r: RpoImportReport) -> Self {
        Self {
            check_id: r.check_id,
            numbers: r.numbers,
            enrolled: r.enrolled,
            newly_enrolled: r.newly_enrolled,
            revoked: r.revoked,
            valid_until: r.valid_until,
        }
    }
}

/// Imports the register's answer to a list sent, as one check valid for 15 days from when the
/// register answered (DPR 26/2022). The first time a number is found enrolled, every earlier
/// consent of its contacts to telephone marketing or to disclosure to third parties is revoked
/// in the ledger (method `rpo`), in the same transaction (L. 5/2018, art. 1); consents given
/// after stay valid. A bad line of the answer or of the list sent refuses the whole file, naming
/// it, and nothing is written. Audited as `rpo.import`.
#[utoipa::path(
    post, path = "/v1/rpo/answers", tag = "rpo", operation_id = "importRpoAnswer",
    request_body = RpoAnswerRequest,
    responses(
        (status = 201, description = "Imported", body = RpoImportOut),
        (status = 400, description = "A field is malformed, missing or unknown, the mode is not one, or `checked_at` is not an instant (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused, nothing written: a bad line of the answer (`field`: `answer`) or of the list sent (`sent`), the line named in the detail; `checked_at` in the future; an empty or too long `file_name`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn import_answer(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RpoAnswerRequest>,
) -> Result<(StatusCode, Json<RpoImportOut>), ApiError> {
    let mode = match req.mode.trim() {
        "enrolled" => RpoAnswerMode::Enrolled,
        "callable" => RpoAnswerMode::Callable,
        _ => {
            return Err(ApiError::bad_request(
                "mode",
                "must be enrolled or callable",
            ));
        }
    };
    let answered_at = instant(state.app.zone(), "checked_at", Some(&req.checked_at))?
        .ok_or_else(|| ApiError::bad_request("checked_at", "give when the register answered"))?;
    let report = state
        .app
        .rpo_import(
            &auth.by(),
            RpoAnswerFile {
                text: req.answer,
                file_name: req.file_name,
                sent: req.sent,
                answered_at,
                mode,
                // As the API names the actor of what a token records.
                imported_by: format!("token:{}", auth.0.token_id),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(report.into())))
}
