//! `/rpo`: the Registro pubblico delle opposizioni (L. 5/2018, DPR 26/2022) in the console, the
//! same use cases as `consento rpo export|import`: where the checks stand (the latest answer,
//! until when it counts, the recent ones, the numbers due, enrolled and checked), the list of
//! numbers due to send to the register, the register's answer uploaded and imported as a check
//! (which revokes the consents an enrolment annuls), and a telemarketing campaign's list of the
//! numbers callable now, as CSV, with the others counted by cause.
//!
//! Seeing the page needs `Read`. The list for the register and the import of its answer are the
//! administrator's and the DPO's ([`Permission::Import`]: the import revokes consents in bulk).
//! The campaign's list is personal data leaving the product for the dialer: it needs
//! [`Permission::ExportAudience`]. Each download is audited before the first byte goes out
//! (GDPR Art. 5(2), accountability); the import is audited by the use case, in its transaction.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consento_app::rpo::{CampaignList, RpoAnswerFile, RpoFileFault};
use consento_domain::Permission;
use consento_domain::rpo::{RpoAnswerMode, RpoNumberForm};
use consento_domain::spreadsheet::Cells;
use consento_store::RpoCheckRecord;
use serde::Deserialize;
use serde_json::json;

use super::page::{Page, PageError, render, see_other};
use super::session::Staff;
use crate::i18n::{Arg, Tr};
use crate::state::AppState;

/// The largest upload of the import form (the answer and the list together): a list of a
/// million numbers is about 12 MiB.
const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Bad lines of a file listed on the page; the others are counted.
const SHOWN_LINES: usize = 20;

/// The causes a campaign's list leaves candidates out for, in the order of the decision rules
/// that decide them: the page lists them so; a cause not named here is listed after these.
const CAUSES: &[&str] = &[
    "erased",
    "restricted",
    "objected",
    "channel_off",
    "suppressed",
    "no_consent",
    "withdrawn",
    "expired",
    "refused",
    "outside_calling_hours",
    "silent_call_cooldown",
    "rpo_check_missing",
    "rpo_check_expired",
    "rpo_enrolled",
];

/// The body limit of the import route: the answer and the list are read into memory.
pub fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_UPLOAD_BYTES)
}

/// A check as the page shows it.
struct CheckRow {
    answered: String,
    valid_until: String,
    /// Whether it still counts.
    valid: bool,
    file_name: String,
    file_sha256: String,
    mode: String,
    by: String,
    imported: String,
    numbers: String,
    enrolled: String,
    newly_enrolled: String,
    revoked: String,
}

/// The import form: what it was sent with, and what was wrong.
#[derive(Default)]
struct ImportForm {
    checked_at: String,
    mode: String,
    answer_error: Option<String>,
    sent_error: Option<String>,
    checked_at_error: Option<String>,
    mode_error: Option<String>,
    /// The bad lines of the file at fault, worded.
    lines: Vec<String>,
}

impl ImportForm {
    fn failed(&self) -> bool {
        self.answer_error.is_some()
            || self.sent_error.is_some()
            || self.checked_at_error.is_some()
            || self.mode_error.is_some()
    }
}

/// The campaign section: the name asked for, and its counts once asked.
#[derive(Default)]
struct CampaignView {
    name: String,
    leave_out: bool,
    error: Option<String>,
    /// Why the list was not given: numbers without a check that counts.
    refused: Option<String>,
    counts: Option<CampaignCounts>,
}

/// A campaign's list counted.
struct CampaignCounts {
    callable: String,
    /// (label, count) per cause, in rule order.
    causes: Vec<(String, String)>,
    at: String,
}

#[derive(Template)]
#[template(path = "rpo.html")]
struct RpoPage {
    page: Page,
    latest: Option<CheckRow>,
    checks: Vec<CheckRow>,
    due: u64,
    due_text: String,
    enrolled_text: String,
    checked_text: String,
    imported: Option<String>,
    can_import: bool,
    can_export: bool,
    upload_action: String,
    form: ImportForm,
    campaign: CampaignView,
}

/// The page's query: a campaign to count, and the counts of an import just made.
#[derive(Debug, Default, Deserialize)]
pub struct RpoQuery {
    #[serde(default)]
    campaign: Option<String>,
    #[serde(default)]
    leave_out_unchecked: Option<String>,
    #[serde(default)]
    numbers: Option<u64>,
    #[serde(default)]
    enrolled: Option<u64>,
    #[serde(default)]
    newly_enrolled: Option<u64>,
    #[serde(default)]
    revoked: Option<u64>,
}

impl RpoQuery {
    fn leave_out(&self) -> bool {
        self.leave_out_unchecked
            .as_deref()
            .is_some_and(|v| !v.is_empty())
    }
}

fn num(tr: Tr, n: u64) -> String {
    tr.num(i64::try_from(n).unwrap_or(i64::MAX))
}

fn count(tr: Tr, key: &str, n: u64) -> String {
    tr.count(key, i64::try_from(n).unwrap_or(i64::MAX))
}

/// The label of an exclusion cause: the campaign's own, else the newsletter's (the causes both
/// share), else its code.
fn cause_label(tr: Tr, cause: &str) -> String {
    let slug = cause.replace('_', "-");
    [
        format!("rpo-cause-{slug}"),
        format!("newsletter-cause-{slug}"),
    ]
    .into_iter()
    .find(|key| tr.has(key))
    .map_or_else(|| cause.to_owned(), |key| tr.t(&key))
}

/// Who imported a check, in words: an API token by its name, else as recorded (a console
/// account's username, the command line's operator).
fn importer(tr: Tr, tokens: &HashMap<String, String>, by: &str) -> String {
    match by.strip_prefix("token:") {
        Some(id) => tr.with(
            "rpo-by-token",
            "name",
            tokens.get(id).map_or(id, String::as_str),
        ),
        None => by.to_owned(),
    }
}

fn check_row(
    tr: Tr,
    tokens: &HashMap<String, String>,
    now: consento_domain::Timestamp,
    c: &RpoCheckRecord,
) -> CheckRow {
    CheckRow {
        answered: tr.datetime(c.answered_at),
        valid_until: tr.datetime(c.valid_until),
        valid: c.valid_until > now,
        file_name: c.file_name.clone(),
        file_sha256: c.file_sha256.clone(),
        mode: tr.t(if c.answer_mode == "callable" {
            "rpo-mode-callable"
        } else {
            "rpo-mode-enrolled"
        }),
        by: importer(tr, tokens, &c.imported_by),
        imported: tr.datetime(c.imported_at),
        numbers: num(tr, c.numbers),
        enrolled: num(tr, c.enrolled),
        newly_enrolled: num(tr, c.newly_enrolled),
        revoked: num(tr, c.revoked),
    }
}

/// The counts of `list`, for the page.
fn campaign_counts(tr: Tr, list: &CampaignList) -> CampaignCounts {
    let mut causes: Vec<(String, String)> = CAUSES
        .iter()
        .filter_map(|cause| {
            list.excluded
                .get(*cause)
                .map(|n| (cause_label(tr, cause), num(tr, *n)))
        })
        .collect();
    causes.extend(
        list.excluded
            .iter()
            .filter(|(cause, _)| !CAUSES.contains(cause))
            .map(|(cause, n)| (cause_label(tr, cause), num(tr, *n))),
    );
    CampaignCounts {
        callable: num(tr, list.numbers.len() as u64),
        causes,
        at: tr.datetime(list.at),
    }
}

/// The numbers of `list` left out for want of a check that still counts.
fn unchecked(list: &CampaignList) -> u64 {
    ["rpo_check_missing", "rpo_check_expired"]
        .iter()
        .filter_map(|c| list.excluded.get(*c))
        .sum()
}

/// The campaign's name as asked, or the page's message saying why it is not one.
fn campaign_name(tr: Tr, text: &str) -> Result<String, String> {
    consento_domain::calls::campaign(text).map_err(|_| tr.t("rpo-campaign-error-name"))
}

async fn rpo_page(
    state: &AppState,
    staff: &Staff,
    form: ImportForm,
    campaign: CampaignView,
    imported: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let tr = staff.tr;
    let status_now = state.app.rpo_status().await?;
    let tokens: HashMap<String, String> = state
        .store
        .tokens()
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect();
    let checks: Vec<CheckRow> = status_now
        .recent
        .iter()
        .map(|c| check_row(tr, &tokens, status_now.at, c))
        .collect();
    let page = staff.page("rpo");
    let mut response = render(&RpoPage {
        latest: status_now
            .latest()
            .map(|c| check_row(tr, &tokens, status_now.at, c)),
        checks,
        due: status_now.due,
        due_text: count(tr, "rpo-due-count", status_now.due),
        enrolled_text: count(tr, "rpo-enrolled-count", status_now.enrolled),
        checked_text: count(tr, "rpo-checked-count", status_now.checked_valid),
        imported,
        can_import: staff.user.role.can(Permission::Import),
        can_export: staff.user.role.can(Permission::ExportAudience),
        upload_action: format!("/rpo/answers?csrf={}", page.csrf),
        form: ImportForm {
            mode: if form.mode.is_empty() {
                "enrolled".to_owned()
            } else {
                form.mode
            },
            ..form
        },
        campaign,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /rpo`: where the checks stand, the forms, and a campaign's counts when one is asked.
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<RpoQuery>,
) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    let tr = staff.tr;
    let imported = match (q.numbers, q.enrolled, q.newly_enrolled, q.revoked) {
        (Some(numbers), Some(enrolled), Some(newly), Some(revoked)) => Some(tr.args(
            "rpo-imported",
            &[
                (
                    "numbers",
                    Arg::Num(i64::try_from(numbers).unwrap_or(i64::MAX)),
                ),
                (
                    "enrolled",
                    Arg::Num(i64::try_from(enrolled).unwrap_or(i64::MAX)),
                ),
                ("newly", Arg::Num(i64::try_from(newly).unwrap_or(i64::MAX))),
                (
                    "revoked",
                    Arg::Num(i64::try_from(revoked).unwrap_or(i64::MAX)),
                ),
            ],
        )),
        _ => None,
    };
    let mut campaign = CampaignView {
        leave_out: q.leave_out(),
        ..CampaignView::default()
    };
    let mut status = StatusCode::OK;
    if let Some(text) = q.campaign.as_deref() {
        campaign.name = text.trim().to_owned();
        match campaign_name(tr, text) {
            Ok(_) => {
                let list = state.app.campaign_list(true).await?;
                let missing = unchecked(&list);
                if missing > 0 && !campaign.leave_out {
                    campaign.refused = Some(count(tr, "rpo-campaign-unchecked", missing));
                }
                campaign.counts = Some(campaign_counts(tr, &list));
            }
            Err(e) => {
                campaign.error = Some(e);
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
    }
    rpo_page(
        &state,
        &staff,
        ImportForm::default(),
        campaign,
        imported,
        status,
    )
    .await
}

/// The list's form.
#[derive(Debug, Default, Deserialize)]
pub struct DueChoice {
    #[serde(default)]
    form: Option<String>,
}

/// `GET /rpo/due.txt?form=national|e164`: the numbers due for a check, in the register's list
/// format (one per line), to send to the register.
pub async fn due(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<DueChoice>,
) -> Result<Response, PageError> {
    staff.require(Permission::Import)?;
    let (form, code) = match q.form.as_deref().map(str::trim) {
        None | Some("" | "national") => (RpoNumberForm::National, "national"),
        Some("e164") => (RpoNumberForm::E164, "e164"),
        Some(_) => {
            return Err(PageError::Invalid {
                field: "form".to_owned(),
                reason: staff.tr.t("rpo-error-form"),
            });
        }
    };
    let now = state.store.now();
    let list = state.app.rpo_export(false, now, form).await?;
    // Before a number leaves: without its trail, no list.
    staff
        .audit(
            &state.app,
            "rpo.export",
            None,
            json!({ "numbers": list.sent.len(), "form": code }),
        )
        .await?;
    let day = staff.tr.date_input(now);
    Ok(crate::http::rpo_list(
        list.text,
        list.sent.len(),
        (!day.is_empty()).then_some(day.as_str()),
    ))
}

/// A failure reading the upload: too large, or not a form.
fn upload_failed(e: &axum::extract::multipart::MultipartError) -> Option<PageError> {
    (e.status() == StatusCode::PAYLOAD_TOO_LARGE).then_some(PageError::TooLarge)
}

/// `POST /rpo/answers`: imports the register's answer (multipart: `answer` and `sent` files,
/// `checked_at`, `mode`). On success, back to the page with the counts; on a refusal, the page
/// with the form and what is wrong, nothing written.
pub async fn import(
    staff: Staff,
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, PageError> {
    staff.require(Permission::Import)?;
    let tr = staff.tr;
    let mut form = ImportForm::default();
    let mut answer: Option<(String, Vec<u8>)> = None;
    let mut sent: Option<Vec<u8>> = None;
    let unreadable = || PageError::Invalid {
        field: "answer".to_owned(),
        reason: tr.t("rpo-error-upload"),
    };
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|_| unreadable())?;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(upload_failed(&e).unwrap_or_else(unreadable)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = match field.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return Err(upload_failed(&e).unwrap_or_else(unreadable)),
        };
        match name.as_str() {
            "answer" => answer = Some((file_name.unwrap_or_default(), bytes)),
            "sent" => sent = Some(bytes),
            "checked_at" => form.checked_at = String::from_utf8_lossy(&bytes).trim().to_owned(),
            "mode" => form.mode = String::from_utf8_lossy(&bytes).trim().to_owned(),
            _ => {}
        }
    }
    // Each file: given, not empty, UTF-8 (the register's files are plain text).
    let text = |file: Option<Vec<u8>>, missing: &str| -> Result<String, String> {
        match file {
            Some(bytes) if !bytes.is_empty() => {
                String::from_utf8(bytes).map_err(|_| tr.t("rpo-error-not-utf-8"))
            }
            _ => Err(tr.t(missing)),
        }
    };
    let (answer_name, answer_bytes) = answer.unwrap_or_default();
    let answer_text = text(Some(answer_bytes), "rpo-error-answer-missing")
        .map_err(|e| form.answer_error = Some(e))
        .ok();
    let sent_text = text(sent, "rpo-error-sent-missing")
        .map_err(|e| form.sent_error = Some(e))
        .ok();
    let mode = match form.mode.as_str() {
        "enrolled" => Some(RpoAnswerMode::Enrolled),
        "callable" => Some(RpoAnswerMode::Callable),
        _ => {
            form.mode_error = Some(tr.t("rpo-error-mode"));
            None
        }
    };
    // A `datetime-local` field: the office's local time.
    let answered_at = if form.checked_at.is_empty() {
        form.checked_at_error = Some(tr.t("rpo-error-checked-at-missing"));
        None
    } else {
        state
            .app
            .zone()
            .parse_instant("checked_at", &form.checked_at)
            .map_err(|_| form.checked_at_error = Some(tr.t("rpo-error-checked-at")))
            .ok()
    };
    let (Some(text), Some(sent), Some(mode), Some(answered_at), false) =
        (answer_text, sent_text, mode, answered_at, form.failed())
    else {
        return rpo_page(
            &state,
            &staff,
            form,
            CampaignView::default(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let file = RpoAnswerFile {
        text,
        file_name: answer_name,
        sent,
        answered_at,
        mode,
        // The account's login name: stable, unlike the name shown.
        imported_by: staff.user.username.clone(),
    };
    match state.app.rpo_import_checked(&staff.who(), file).await {
        Ok(Ok(report)) => Ok(see_other(&format!(
            "/rpo?numbers={}&enrolled={}&newly_enrolled={}&revoked={}",
            report.numbers, report.enrolled, report.newly_enrolled, report.revoked
        ))),
        Ok(Err(fault)) => {
            word_fault(tr, &mut form, &fault);
            rpo_page(
                &state,
                &staff,
                form,
                CampaignView::default(),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => {
            match e.field() {
                Some("checked_at") => {
                    form.checked_at_error = Some(tr.t("rpo-error-checked-at-future"))
                }
                Some("file_name") => form.answer_error = Some(tr.t("rpo-error-file-name")),
                _ => return Err(e.into()),
            }
            rpo_page(
                &state,
                &staff,
                form,
                CampaignView::default(),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// The bad lines of `fault` in the reader's language, on the field of the file at fault.
fn word_fault(tr: Tr, form: &mut ImportForm, fault: &RpoFileFault) {
    let lines = i64::try_from(fault.errors.len()).unwrap_or(i64::MAX);
    let (key, slot) = if fault.field == "sent" {
        ("rpo-error-sent-lines", &mut form.sent_error)
    } else {
        ("rpo-error-answer-lines", &mut form.answer_error)
    };
    *slot = Some(tr.count(key, lines));
    form.lines = fault
        .errors
        .iter()
        .take(SHOWN_LINES)
        .map(|e| {
            let why = e.problem.as_ref().map_or_else(
                || e.reason.clone(),
                |p| super::imports::problem_text(&tr, p),
            );
            tr.args(
                "rpo-error-line",
                &[
                    ("line", Arg::Num(i64::try_from(e.line).unwrap_or(i64::MAX))),
                    ("problem", Arg::Text(why.into())),
                ],
            )
        })
        .collect();
    if fault.errors.len() > SHOWN_LINES {
        form.lines.push(tr.count(
            "rpo-error-more-lines",
            i64::try_from(fault.errors.len() - SHOWN_LINES).unwrap_or(i64::MAX),
        ));
    }
}

/// `GET /rpo/campaign.csv?campaign=NAME[&leave_out_unchecked=1]`: the numbers a dialer may call
/// now for the campaign, as RFC 4180 CSV (UTF-8, CRLF, header row `contact_id,phone`). While
/// numbers lack a check that still counts and are not left out, the page says so instead (409),
/// with the counts.
pub async fn campaign_csv(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<RpoQuery>,
) -> Result<Response, PageError> {
    staff.require(Permission::ExportAudience)?;
    let tr = staff.tr;
    let leave_out = q.leave_out();
    let text = q.campaign.as_deref().unwrap_or_default();
    let mut campaign = CampaignView {
        name: text.trim().to_owned(),
        leave_out,
        ..CampaignView::default()
    };
    let name = match campaign_name(tr, text) {
        Ok(name) => name,
        Err(e) => {
            campaign.error = Some(e);
            return rpo_page(
                &state,
                &staff,
                ImportForm::default(),
                campaign,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let list = match state.app.campaign_list(leave_out).await {
        Ok(list) => list,
        Err(e) if e.field() == Some("unchecked") => {
            // Refused: the counts say how many and why, for the person to act on.
            let all = state.app.campaign_list(true).await?;
            campaign.refused = Some(count(tr, "rpo-campaign-unchecked", unchecked(&all)));
            campaign.counts = Some(campaign_counts(tr, &all));
            return rpo_page(
                &state,
                &staff,
                ImportForm::default(),
                campaign,
                None,
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    // Before a number leaves: without its trail, no list.
    staff
        .audit(
            &state.app,
            "campaign.export",
            None,
            json!({ "campaign": name, "numbers": list.numbers.len(),
                    "leave_out_unchecked": leave_out, "at": list.at.to_rfc3339() }),
        )
        .await?;
    let mut csv = String::from("contact_id,phone\r\n");
    for (id, phone) in &list.numbers {
        csv.push_str(&format!(
            "{},{}\r\n",
            id.0,
            Cells::ForSpreadsheets.cell(phone)
        ));
    }
    let mut response = (StatusCode::OK, csv).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let date = tr.date_input(list.at);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"campaign-{date}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
