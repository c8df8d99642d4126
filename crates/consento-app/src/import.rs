//! Running an import of a CRM export, for the CLI and the console alike: hashing the file (its
//! SHA-256 is the events' provenance), finding the source's mapping, reading the CSV as a stream
//! on a blocking thread (RFC 4180, UTF-8, a header row; `,` or `;` as Italian Excel writes it),
//! handing the rows to the store in chunks, and recording the run: its progress while it goes
//! and its report at the end. A bad line anywhere means nothing is written, and every bad line is
//! reported with its number and reason.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use consento_domain::Actor;
use consento_domain::import::{LineError, Mapping, detect_delimiter};
use consento_store::{
    ImportChunk, ImportCounts, ImportProgress, ImportSpec, ImportStatus, MAX_REPORTED_ERRORS,
    NewImportRun, Store, StoreError,
};
use sha2::{Digest, Sha256};

use crate::AppError;

/// Lines per chunk handed to the store: large enough for batched lookups to pay off, small
/// enough that memory stays flat.
const CHUNK_ROWS: usize = 2_000;

/// An import to run.
#[derive(Debug, Clone)]
pub struct ImportJob {
    /// The source name: the contacts' provenance, and the key of the saved mapping.
    pub source: String,
    /// A mapping to use and save for the source; without it, the source's saved one.
    pub mapping: Option<Mapping>,
    /// The delimiter; without it, detected from the header line.
    pub delimiter: Option<u8>,
    /// The file on disk.
    pub path: PathBuf,
    /// Its name as the person knows it (for the evidence and the report).
    pub file_name: String,
    /// Who runs it (recorded on the run).
    pub started_by: String,
    /// The actor of the consent events.
    pub actor: Actor,
    /// The zone the file's dates without an offset are written in (the office's).
    pub zone: consento_domain::Zone,
}

/// A run recorded and ready to execute.
#[derive(Debug, Clone)]
pub struct Begun {
    /// The run's id.
    pub id: uuid::Uuid,
    /// Its live counters.
    pub progress: Arc<ImportProgress>,
    /// The file's size.
    pub total_bytes: u64,
    sha256: [u8; 32],
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The run's id.
    pub id: uuid::Uuid,
    /// Done (committed) or failed (nothing written).
    pub status: ImportStatus,
    /// The final counters.
    pub counts: ImportCounts,
    /// The first bad lines (all were given to `on_error`).
    pub errors: Vec<LineError>,
    /// Why it failed, when not (only) for bad lines.
    pub failure: Option<String>,
}

/// The SHA-256 and size of a file, read as a stream.
pub fn hash_file(path: &std::path::Path) -> std::io::Result<([u8; 32], u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().into(), total))
}

/// Hashes the file and records the run as running.
pub async fn begin(store: &Store, job: &ImportJob) -> Result<Begun, AppError> {
    let path = job.path.clone();
    let (sha256, total_bytes) = tokio::task::spawn_blocking(move || hash_file(&path))
        .await
        .map_err(|e| AppError::Internal(format!("hashing the file: {e}")))?
        .map_err(|e| AppError::invalid("file", format!("cannot read it: {e}")))?;
    let (id, progress) = store
        .start_import_run(NewImportRun {
            source: job.source.clone(),
            file_name: job.file_name.clone(),
            file_sha256: sha256,
            total_bytes,
            started_by: job.started_by.clone(),
        })
        .await?;
    Ok(Begun {
        id,
        progress,
        total_bytes,
        sha256,
    })
}

/// What the reading thread found.
#[derive(Default)]
struct ReadSummary {
    errors: Vec<LineError>,
    failure: Option<String>,
}

/// Reads the file and writes its rows; records the end of the run. `on_error` sees every bad
/// line as it is found (the run keeps the first [`MAX_REPORTED_ERRORS`]).
pub async fn execute(
    store: &Store,
    job: &ImportJob,
    begun: &Begun,
    on_error: Box<dyn FnMut(&LineError) + Send>,
) -> Result<Outcome, StoreError> {
    let outcome = match prepare(store, job).await {
        Ok(mapping) => stream(store, job, begun, mapping, on_error).await,
        Err(failure) => (
            ReadSummary {
                errors: Vec::new(),
                failure: Some(failure),
            },
            false,
        ),
    };
    let (summary, committed) = outcome;
    let status = if committed {
        ImportStatus::Done
    } else {
        ImportStatus::Failed
    };
    let read = begun.progress.snapshot();
    // What a rolled-back run wrote is nothing: only what was read and found wrong is reported.
    let counts = if committed {
        read
    } else {
        consento_store::ImportCounts {
            bytes_read: read.bytes_read,
            rows_read: read.rows_read,
            error_count: read.error_count,
            ..consento_store::ImportCounts::default()
        }
    };
    store
        .finish_import_run(
            begun.id,
            status,
            &counts,
            &summary.errors,
            summary.failure.as_deref(),
        )
        .await?;
    Ok(Outcome {
        id: begun.id,
        status,
        counts,
        errors: summary.errors,
        failure: summary.failure,
    })
}

/// The mapping to read the file with: the one given (saved for the source once it is known to
/// fit the file's header, see [`stream`]) or the source's saved one.
async fn prepare(store: &Store, job: &ImportJob) -> Result<Mapping, String> {
    if let Some(m) = &job.mapping {
        return Ok(m.clone());
    }
    match store.import_mapping(&job.source).await {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(format!(
            "no mapping is saved for the source `{}`: give one the first time",
            job.source.trim()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads and writes concurrently: a blocking thread parses the CSV into chunks, the store
/// writes them in its one transaction. Returns what the reader found and whether it committed.
async fn stream(
    store: &Store,
    job: &ImportJob,
    begun: &Begun,
    mapping: Mapping,
    mut on_error: Box<dyn FnMut(&LineError) + Send>,
) -> (ReadSummary, bool) {
    let types: Vec<String> = match store.consent_types().await {
        Ok(t) => t
            .into_iter()
            .map(|t| t.spec.code.as_str().to_owned())
            .collect(),
        Err(e) => {
            return (
                ReadSummary {
                    failure: Some(e.to_string()),
                    ..ReadSummary::default()
                },
                false,
            );
        }
    };
    let spec = ImportSpec {
        source: job.source.clone(),
        file_name: job.file_name.clone(),
        file_sha256: begun.sha256,
        codes: mapping.codes(),
        actor: job.actor.clone(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<ImportChunk>(2);
    // The mapping is saved once the header has shown that it fits the file (see below).
    let (fits_tx, fits_rx) = tokio::sync::oneshot::channel::<()>();
    let now = store.now();
    let country = store.country_code().to_owned();
    let zone = job.zone.clone();
    let path = job.path.clone();
    let delimiter = job.delimiter;
    let progress = begun.progress.clone();
    let plan_mapping = mapping.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut summary = ReadSummary::default();
        let mut keep = |e: LineError, summary: &mut ReadSummary| {
            on_error(&e);
            if summary.errors.len() < MAX_REPORTED_ERRORS {
                summary.errors.push(e);
            }
        };
        let mut tx = Some(tx);
        let read = read_file(
            &path,
            delimiter,
            &plan_mapping,
            &types,
            (now, &zone, &country),
            &progress,
            &mut tx,
            fits_tx,
            &mut |e| keep(e, &mut summary),
        );
        match read {
            Ok(true) => {
                if let Some(tx) = &tx {
                    let _ = tx.blocking_send(ImportChunk::Commit);
                }
            }
            Ok(false) => {}
            Err(e) => summary.failure = Some(e),
        }
        summary
    });
    // Other processes read the counters from the run's row (PostgreSQL; see the store), written
    // every half second while the rows are; the run ends as soon as they are, not at a tick.
    let written = async {
        let write = store.import_rows(&spec, rx, &begun.progress);
        tokio::pin!(write);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                r = &mut write => break r,
                _ = tick.tick() => {
                    let _ = store
                        .record_import_progress(begun.id, &begun.progress.snapshot())
                        .await;
                }
            }
        }
    };
    let (written, summary) = tokio::join!(written, reader);
    // Saved after the import's transaction, never during it: on SQLite that transaction holds
    // the one writer, and a save waiting for it would time out on a long file.
    let saved = if job.mapping.is_some() && fits_rx.await.is_ok() {
        store.save_import_mapping(&job.source, &mapping).await
    } else {
        Ok(())
    };
    let mut summary = summary.unwrap_or_else(|_| ReadSummary {
        failure: Some("the file could not be read".to_owned()),
        ..ReadSummary::default()
    });
    let committed = match written {
        Ok(()) => true,
        // Refused because of bad lines: they are the report.
        Err(StoreError::Invalid(e)) if e.field() == "file" => false,
        Err(e) => {
            summary
                .failure
                .get_or_insert_with(|| crate::error::describe_store(&e));
            false
        }
    };
    if let Err(e) = saved {
        summary
            .failure
            .get_or_insert_with(|| crate::error::describe_store(&e));
    }
    if summary.errors.is_empty() && summary.failure.is_none() && !committed {
        summary.failure = Some("the import was not completed".to_owned());
    }
    (summary, committed)
}

/// Counts the bytes the CSV reader takes from the file, for the progress bar.
struct Counting<R> {
    inner: R,
    progress: Arc<ImportProgress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress
            .bytes_read
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The reading thread: header, plan, then every line. Returns whether the file was read to its
/// end without a bad line (then the caller commits); an `Err` is a failure of the file as a
/// whole (unreadable). Once a bad line is found the sender is dropped, so the writer rolls back
/// and releases the database at once (nothing will be written), but reading goes on, so that
/// every bad line is reported.
#[allow(clippy::too_many_arguments)]
fn read_file(
    path: &std::path::Path,
    delimiter: Option<u8>,
    mapping: &Mapping,
    types: &[String],
    (now, zone, country): (consento_domain::Timestamp, &consento_domain::Zone, &str),
    progress: &Arc<ImportProgress>,
    tx: &mut Option<tokio::sync::mpsc::Sender<ImportChunk>>,
    fits: tokio::sync::oneshot::Sender<()>,
    report: &mut dyn FnMut(LineError),
) -> Result<bool, String> {
    let unreadable = |e: std::io::Error| format!("the file cannot be read: {e}");
    let delimiter = match delimiter {
        Some(d) => d,
        None => {
            let mut first = Vec::new();
            let file = std::fs::File::open(path).map_err(unreadable)?;
            let mut buffered = std::io::BufReader::new(file);
            std::io::BufRead::read_until(&mut buffered, b'\n', &mut first).map_err(unreadable)?;
            detect_delimiter(&String::from_utf8_lossy(&first))
        }
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(Counting {
            inner: file,
            progress: progress.clone(),
        });
    let mut record = csv::ByteRecord::new();
    let header_ok = csv
        .read_byte_record(&mut record)
        .map_err(|e| format!("the header cannot be read: {e}"))?;
    if !header_ok {
        return Err("the file is empty: it needs a header row".to_owned());
    }
    let header: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let plan = match mapping.plan(&header, |c| types.iter().any(|t| t == c)) {
        Ok(plan) => plan,
        Err(errors) => {
            // The header is one bad line, however many of its columns are at fault.
            for e in errors {
                report(e);
            }
            progress.error_count.fetch_add(1, Ordering::Relaxed);
            return Ok(false);
        }
    };
    let _ = fits.send(());
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    let mut clean = true;
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(format!("the file cannot be read: {io}"));
                }
                clean = false;
                *tx = None;
                progress.error_count.fetch_add(1, Ordering::Relaxed);
                report(LineError {
                    line,
                    column: "line".to_owned(),
                    reason: "not a CSV line (RFC 4180)".to_owned(),
                });
                continue;
            }
        }
        let line = record.position().map_or(line, csv::Position::line);
        progress.rows_read.fetch_add(1, Ordering::Relaxed);
        if record.iter().all(<[u8]>::is_empty) && record.len() <= 1 {
            // A blank line (often the last one): nothing to import.
            continue;
        }
        let mut fields: Vec<&str> = Vec::with_capacity(record.len());
        let mut utf8 = true;
        for f in record.iter() {
            match std::str::from_utf8(f) {
                Ok(s) => fields.push(s),
                Err(_) => {
                    utf8 = false;
                    break;
                }
            }
        }
        let parsed = if utf8 {
            plan.parse(line, &fields, now, zone, country)
        } else {
            Err(vec![LineError {
                line,
                column: "line".to_owned(),
                reason: "not UTF-8 text (save the file as CSV UTF-8)".to_owned(),
            }])
        };
        match parsed {
            Ok(row) if clean => {
                chunk.push(row);
                if chunk.len() >= CHUNK_ROWS {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                    let sent = tx
                        .as_ref()
                        .map(|t| t.blocking_send(ImportChunk::Rows(full)));
                    if !matches!(sent, Some(Ok(()))) {
                        // The writer stopped (a database failure): it reports why.
                        return Ok(false);
                    }
                }
            }
            Ok(_) => {}
            Err(errors) => {
                clean = false;
                *tx = None;
                chunk = Vec::new();
                progress.error_count.fetch_add(1, Ordering::Relaxed);
                for e in errors {
                    report(e);
                }
            }
        }
    }
    if clean && !chunk.is_empty() {
        let sent = tx
            .as_ref()
            .map(|t| t.blocking_send(ImportChunk::Rows(chunk)));
        if !matches!(sent, Some(Ok(()))) {
            return Ok(false);
        }
    }
    Ok(clean)
}

/// Reads a mapping file: TOML (`.toml`) or JSON, with the fields of [`Mapping`].
pub fn read_mapping(path: &std::path::Path) -> Result<Mapping, AppError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        AppError::invalid("mapping", format!("cannot read {}: {e}", path.display()))
    })?;
    parse_mapping(&text)
}

/// Parses a mapping's text: JSON when it starts with `{`, TOML otherwise.
pub fn parse_mapping(text: &str) -> Result<Mapping, AppError> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| AppError::invalid("mapping", e.to_string()))
    } else {
        toml::from_str(text)
            .map_err(|e| AppError::invalid("mapping", e.message().replace('\n', " ")))
    }
}

/// Reads a delimiter as typed: `,`, `;`, `tab` (or a tab character), `|`.
pub fn parse_delimiter(text: &str) -> Result<u8, AppError> {
    match text {
        "," => Ok(b','),
        ";" => Ok(b';'),
        "tab" | "\t" => Ok(b'\t'),
        "|" => Ok(b'|'),
        other => Err(AppError::invalid(
            "delimiter",
            format!("`{other}` is not one of , ; tab |"),
        )),
    }
}
