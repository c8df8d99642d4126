//! Imports in the console: the upload of a CRM export (multipart, streamed to a temporary file),
//! the source whose saved mapping reads it (or a new mapping, saved for the source), and the page
//! of each run, which refreshes itself (`<meta http-equiv="refresh">`, no JavaScript) while the
//! import runs in the background and then shows the report with every bad line. Needs `Import`
//! (administrator and DPO); each upload is audited (`import.run`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use askama::Template;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::header;
use axum::response::Response;
use consento_domain::import::{LineError, LineProblem};
use consento_domain::{Actor, ActorKind, Permission};
use consento_store::{ImportRun, ImportStatus};
use futures_util::StreamExt as _;
use serde_json::json;

use super::page::{Page, PageError, render, see_other};
use super::session::Staff;
use crate::i18n::{Arg, Tr};
use crate::state::AppState;
use consento_app::import::{
    FileEncoding, ImportJob, begin, execute, parse_delimiter, parse_mapping,
};

/// The body limit of the upload route: none from the router, since [`upload`] holds the body to
/// `console.max_upload_bytes` itself (the server's default is sized for JSON and forms).
pub fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::disable()
}

/// `body`, ended with an error (and `over` set) at the first chunk that would take it past
/// `limit` bytes: nothing past the limit reaches the handler.
fn limited(body: Body, limit: u64, over: Arc<AtomicBool>) -> Body {
    let mut seen = 0u64;
    Body::from_stream(body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit {
            over.store(true, Ordering::Relaxed);
            return Err(axum::Error::new("the upload is larger than the limit"));
        }
        Ok(chunk)
    }))
}

/// A run in the list.
struct RunRow {
    href: String,
    started: String,
    source: String,
    file_name: String,
    status: String,
    rows: u64,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    page: Page,
    upload_action: String,
    sources: Vec<String>,
    source: String,
    mapping: String,
    source_error: Option<String>,
    mapping_error: Option<String>,
    file_error: Option<String>,
    /// The encodings offered: (value, label, chosen).
    encodings: Vec<(&'static str, String, bool)>,
    encoding_error: Option<String>,
    runs: Vec<RunRow>,
}

/// The encodings the form offers, as `FileEncoding::parse` reads them.
const ENCODINGS: [&str; 4] = ["utf-8", "windows-1252", "utf-16le", "utf-16be"];

#[derive(Template)]
#[template(path = "import_run.html")]
struct RunPage {
    page: Page,
    run: ImportRun,
    running: bool,
    status: String,
    started: String,
    percent: u64,
    errors: Vec<LineError>,
    more_errors: u64,
}

fn status_label(page: &Page, status: ImportStatus) -> String {
    page.t(match status {
        ImportStatus::Running => "imports-status-running",
        ImportStatus::Done => "imports-status-done",
        ImportStatus::Failed => "imports-status-failed",
        ImportStatus::Interrupted => "imports-status-interrupted",
    })
}

/// What the form was sent with, to show it again next to its errors.
#[derive(Default)]
struct Sent {
    source: String,
    mapping: String,
    source_error: Option<String>,
    mapping_error: Option<String>,
    file_error: Option<String>,
    encoding: String,
    encoding_error: Option<String>,
}

async fn list_page(state: &AppState, staff: &Staff, sent: Sent) -> Result<Response, PageError> {
    let page = staff.page("imports");
    let runs = state
        .store
        .import_runs(20)
        .await?
        .into_iter()
        .map(|r| RunRow {
            href: format!("/imports/{}", r.id),
            started: staff.tr.datetime(r.started_at),
            status: status_label(&page, r.status),
            rows: r.counts.rows_read,
            source: r.source,
            file_name: r.file_name,
        })
        .collect();
    render(&ImportsPage {
        upload_action: format!("/imports?csrf={}", page.csrf),
        sources: state.store.import_sources().await?,
        source: sent.source,
        mapping: sent.mapping,
        source_error: sent.source_error,
        mapping_error: sent.mapping_error,
        file_error: sent.file_error,
        encodings: ENCODINGS
            .iter()
            .map(|&e| {
                (
                    e,
                    page.t(&format!("imports-encoding-{e}")),
                    e == sent.encoding,
                )
            })
            .collect(),
        encoding_error: sent.encoding_error,
        runs,
        page,
    })
}

/// `GET /imports`: the upload form and the latest runs.
pub async fn list(staff: Staff, State(state): State<AppState>) -> Result<Response, PageError> {
    staff.require(Permission::Import)?;
    list_page(&state, &staff, Sent::default()).await
}

/// A temporary file removed when dropped (the upload, once imported or refused).
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `POST /imports`: stores the upload in a temporary file, records the run, starts it in the
/// background and shows its page.
pub async fn upload(
    staff: Staff,
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, PageError> {
    staff.require(Permission::Import)?;
    let tr = staff.tr;
    let limit = state.config.console.max_upload_bytes;
    // Announced too large: refused before a byte of it is read or written (RFC 9110 §15.5.14).
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(PageError::TooLarge);
    }
    // Sent without a length (chunked), or lying about it: counted as it comes.
    let over = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, limited(body, limit, Arc::clone(&over)));
    let bad_upload = |_: axum::extract::multipart::MultipartError| {
        if over.load(Ordering::Relaxed) {
            PageError::TooLarge
        } else {
            PageError::Invalid {
                field: "file".to_owned(),
                reason: tr.t("imports-error-upload"),
            }
        }
    };
    // Only a request that is not multipart/form-data is refused here.
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|_| PageError::Invalid {
            field: "file".to_owned(),
            reason: tr.t("imports-error-upload"),
        })?;
    let mut sent = Sent::default();
    let mut delimiter = String::new();
    let mut file: Option<(TempFile, String, u64)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad_upload)? {
        match field.name().unwrap_or_default() {
            "source" => sent.source = field.text().await.map_err(bad_upload)?.trim().to_owned(),
            "mapping" => sent.mapping = field.text().await.map_err(bad_upload)?,
            "delimiter" => delimiter = field.text().await.map_err(bad_upload)?,
            "encoding" => sent.encoding = field.text().await.map_err(bad_upload)?,
            "file" => {
                let name = field.file_name().unwrap_or("import.csv").to_owned();
                let random: [u8; 16] = state.store.random_bytes()?;
                let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
                let path = state
                    .config
                    .console
                    .upload_dir()
                    .join(format!("consento-import-{suffix}.csv"));
                let temp = TempFile(path.clone());
                // Readable by this user only: the file is a CRM export full of personal data.
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| PageError::Internal(format!("upload: {e}")))?;
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(bad_upload)? {
                    size += chunk.len() as u64;
                    out.write_all(&chunk)
                        .map_err(|e| PageError::Internal(format!("upload: {e}")))?;
                }
                out.flush()
                    .map_err(|e| PageError::Internal(format!("upload: {e}")))?;
                file = Some((temp, name, size));
            }
            _ => {}
        }
    }
    if sent.source.is_empty() || sent.source.chars().count() > 200 {
        sent.source_error = Some(tr.t("imports-error-source"));
    }
    let mapping = if sent.mapping.trim().is_empty() {
        None
    } else {
        match parse_mapping(&sent.mapping) {
            Ok(m) => Some(m),
            Err(e) => {
                sent.mapping_error = Some(format!("{}: {e}", tr.t("imports-error-mapping")));
                None
            }
        }
    };
    if mapping.is_none()
        && sent.mapping_error.is_none()
        && sent.source_error.is_none()
        && state.store.import_mapping(&sent.source).await?.is_none()
    {
        sent.mapping_error = Some(tr.t("imports-error-no-mapping"));
    }
    let encoding = if sent.encoding.trim().is_empty() {
        Some(FileEncoding::default())
    } else if ENCODINGS.contains(&sent.encoding.trim()) {
        FileEncoding::parse(&sent.encoding).ok()
    } else {
        None
    };
    if encoding.is_none() {
        sent.encoding_error = Some(tr.t("imports-error-encoding"));
    }
    let file = match file {
        Some(f) if f.2 > 0 => Some(f),
        _ => {
            sent.file_error = Some(tr.t("imports-error-file"));
            None
        }
    };
    let (Some((temp, file_name, bytes)), Some(encoding), None, None) =
        (file, encoding, &sent.source_error, &sent.mapping_error)
    else {
        return list_page(&state, &staff, sent).await;
    };
    let job = ImportJob {
        source: sent.source.clone(),
        mapping,
        delimiter: parse_delimiter(delimiter.trim()).ok(),
        encoding,
        max_cell_bytes: state.app.policy().import_max_cell_bytes,
        path: temp.0.clone(),
        file_name,
        started_by: staff.actor_id(),
        actor: Actor::new(ActorKind::Operator, &staff.actor_id())?,
        zone: state.app.zone().clone(),
    };
    // The store names the run it starts as the entry's target.
    let begun = staff
        .audited_result(
            &state.app,
            "import.run",
            None,
            json!({"source": job.source, "bytes": bytes}),
            begin(&state.store, &job),
        )
        .await?
        .map_err(|e| PageError::Internal(format!("import: {e}")))?;
    let store = state.store.clone();
    let id = begun.id;
    tokio::spawn(async move {
        // The run's row records the outcome; the temporary file goes when this ends.
        let _temp = temp;
        if let Err(e) = execute(&store, &job, &begun, Box::new(|_| {})).await {
            tracing::error!(run = %begun.id, error = %e, "import could not record its end");
        }
    });
    Ok(see_other(&format!("/imports/{id}")))
}

/// `GET /imports/{id}`: a run's progress, refreshing itself while it runs, then its report.
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Permission::Import)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let run = state.store.import_run(id).await?;
    let page = staff.page("imports");
    let percent = (run.counts.bytes_read.saturating_mul(100))
        .checked_div(run.total_bytes)
        .unwrap_or(100)
        .min(100);
    // Faults of the file's form are worded in the reader's language; the others as recorded.
    let errors = run
        .errors
        .iter()
        .cloned()
        .map(|mut e| {
            if let Some(p) = &e.problem {
                e.reason = problem_text(&staff.tr, p);
            }
            e
        })
        .collect::<Vec<_>>();
    let mut lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    lines.dedup();
    render(&RunPage {
        running: run.status == ImportStatus::Running,
        status: status_label(&page, run.status),
        started: staff.tr.datetime(run.started_at),
        percent,
        more_errors: run.counts.error_count.saturating_sub(lines.len() as u64),
        errors,
        run,
        page,
    })
}

/// A fault of a file's line in the reader's language (an import's, or one of the opt-out
/// register's files).
pub(super) fn problem_text(tr: &Tr, problem: &LineProblem) -> String {
    match problem {
        LineProblem::DuplicateColumn => tr.t("imports-problem-duplicate-column"),
        LineProblem::CellTooLarge { max_kib } => tr.args(
            "imports-problem-cell-too-large",
            &[(
                "max_kib",
                Arg::Num(i64::try_from(*max_kib).unwrap_or(i64::MAX)),
            )],
        ),
        LineProblem::NotDecodable { encoding } if encoding == "UTF-8" => {
            tr.t("imports-problem-not-utf-8")
        }
        LineProblem::NotDecodable { encoding } => {
            tr.with("imports-problem-not-decodable", "encoding", encoding)
        }
        LineProblem::NotAPhoneNumber => tr.t("rpo-problem-not-a-phone-number"),
        LineProblem::NotItalian => tr.t("rpo-problem-not-italian"),
        LineProblem::NotInListSent => tr.t("rpo-problem-not-in-list-sent"),
        LineProblem::NotAnOutcome => tr.t("rpo-problem-not-an-outcome"),
        LineProblem::Contradicts { line } => tr.args(
            "rpo-problem-contradicts",
            &[("line", Arg::Num(i64::try_from(*line).unwrap_or(i64::MAX)))],
        ),
    }
}
