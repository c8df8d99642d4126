//! Running an import of a CRM export, for the CLI and the console alike: hashing the file (its
//! SHA-256 is the events' provenance), finding the source's mapping, reading the CSV as a stream
//! on a blocking thread (RFC 4180, a header row; `,` or `;` as Italian Excel writes it), handing
//! the rows to the store in chunks, and recording the run: its progress while it goes and its
//! report at the end. The whole file is checked for bad lines on a thread of its own, ahead of
//! the writing, and no part of it commits before the check has passed: a bad line anywhere
//! means nothing is written, and every bad line is reported (once, by the check) with its number
//! and reason. The text is UTF-8 unless a byte order mark says UTF-16
//! or the person names another encoding (Windows-1252, as Italian CRMs and Excel save CSV):
//! UTF-8 is read in place, any other encoding is decoded to UTF-8 as it streams.

use std::io::{Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use consento_domain::Actor;
use consento_domain::import::{LineError, LineProblem, Mapping, detect_delimiter};
use consento_store::{
    FileCheck, ImportChunk, ImportCounts, ImportProgress, ImportSpec, ImportStatus,
    MAX_REPORTED_ERRORS, NewImportRun, Store, StoreError,
};
use encoding_rs::{DecoderResult, Encoding, UTF_8};
use sha2::{Digest, Sha256};

use crate::AppError;

/// Lines per chunk handed to the store: large enough for batched lookups to pay off, small
/// enough that memory stays flat.
const CHUNK_ROWS: usize = 2_000;

/// The largest cell accepted by default: 64 KiB, far above any name, address or note a CRM
/// holds, far below what would let one line fill the memory.
pub const DEFAULT_MAX_CELL_BYTES: usize = 64 * 1024;

/// The text encoding of a file to import (a WHATWG encoding, as browsers read them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEncoding(&'static Encoding);

impl Default for FileEncoding {
    /// UTF-8: what RFC 4180 files and "CSV UTF-8" from Excel are.
    fn default() -> Self {
        Self(UTF_8)
    }
}

impl FileEncoding {
    /// Reads an encoding's name as typed: `utf-8`, `windows-1252` (also `cp1252`, `latin1` and
    /// `iso-8859-1`, which the WHATWG Encoding Standard reads as Windows-1252), `iso-8859-15`,
    /// `utf-16le`, `utf-16be`, or any other label of that standard.
    pub fn parse(label: &str) -> Result<Self, AppError> {
        match Encoding::for_label(label.trim().as_bytes()) {
            Some(e) if e != encoding_rs::REPLACEMENT && e != encoding_rs::X_USER_DEFINED => {
                Ok(Self(e))
            }
            _ => Err(AppError::invalid(
                "encoding",
                format!(
                    "`{}` is not a known encoding (utf-8, windows-1252, utf-16le, utf-16be)",
                    label.trim()
                ),
            )),
        }
    }

    /// Its canonical name (`UTF-8`, `windows-1252`, `UTF-16LE`).
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// An import to run.
#[derive(Debug, Clone)]
pub struct ImportJob {
    /// The source name: the contacts' provenance, and the key of the saved mapping.
    pub source: String,
    /// A mapping to use and save for the source; without it, the source's saved one.
    pub mapping: Option<Mapping>,
    /// The delimiter; without it, detected from the header line.
    pub delimiter: Option<u8>,
    /// The encoding the file is in, unless a byte order mark says otherwise (the mark wins, as
    /// in the WHATWG Encoding Standard's decode).
    pub encoding: FileEncoding,
    /// The largest cell accepted, in bytes: a longer one is a bad line.
    pub max_cell_bytes: usize,
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
    let read = begun.progress.snapshot();
    let part = begun.progress.committed();
    let (status, counts) = match (committed, part) {
        (true, _) => (ImportStatus::Done, read),
        // Parts committed before it stopped: they stay, and are what it reports written.
        (false, Some(part)) => (
            ImportStatus::Interrupted,
            consento_store::ImportCounts {
                bytes_read: read.bytes_read,
                rows_read: read.rows_read,
                error_count: read.error_count,
                ..part
            },
        ),
        // What a rolled-back run wrote is nothing: only what was read and found wrong is
        // reported.
        (false, None) => (
            ImportStatus::Failed,
            consento_store::ImportCounts {
                bytes_read: read.bytes_read,
                rows_read: read.rows_read,
                error_count: read.error_count,
                ..consento_store::ImportCounts::default()
            },
        ),
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

/// Checks, reads and writes concurrently: one blocking thread checks the whole file, another
/// parses it into chunks, the store writes them (in parts on SQLite, once the check has passed).
/// Returns what the check found and whether the whole file committed.
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
    let check = Arc::new(FileCheck::default());
    let spec = ImportSpec {
        source: job.source.clone(),
        file_name: job.file_name.clone(),
        file_sha256: begun.sha256,
        codes: mapping.codes(),
        actor: job.actor.clone(),
        run_id: begun.id,
        check: check.clone(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<ImportChunk>(2);
    // The mapping is saved once the header has shown that it fits the file (see below).
    let (fits_tx, fits_rx) = tokio::sync::oneshot::channel::<()>();
    let now = store.now();
    let country = store.country_code().to_owned();
    let zone = job.zone.clone();
    let path = job.path.clone();
    let delimiter = job.delimiter;
    let text = (job.encoding, job.max_cell_bytes);
    let progress = begun.progress.clone();
    let plan_mapping = mapping.clone();
    // The check: the whole file read for bad lines, reported as they are found, on a thread of
    // its own ahead of the writing. No part of the file commits before it has passed (see
    // `consento_store::FileCheck`): a bad line anywhere still means nothing is written, while
    // a long file need not be one transaction.
    let checked = Arc::new(ImportProgress::default());
    let checker = {
        let (path, types, zone, country) =
            (path.clone(), types.clone(), zone.clone(), country.clone());
        let (mapping, checked, check) = (mapping.clone(), checked.clone(), check.clone());
        tokio::task::spawn_blocking(move || {
            // Whatever happens here, the writer learns an outcome and never waits forever.
            let outcome = CheckOutcome(check);
            let mut summary = ReadSummary::default();
            let (unused, _) = tokio::sync::oneshot::channel();
            let read = read_file(
                &path,
                (delimiter, text.0, text.1),
                &mapping,
                &types,
                (now, &zone, &country),
                &checked,
                Sink::Check,
                unused,
                &mut |e| {
                    on_error(&e);
                    if summary.errors.len() < MAX_REPORTED_ERRORS {
                        summary.errors.push(e);
                    }
                },
            );
            match read {
                Ok(clean) => outcome.0.finish(clean),
                Err(e) => summary.failure = Some(e),
            }
            summary
        })
    };
    let spec_check = check.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let read = read_file(
            &path,
            (delimiter, text.0, text.1),
            &plan_mapping,
            &types,
            (now, &zone, &country),
            &progress,
            Sink::Write(Some(tx), spec_check),
            fits_tx,
            &mut |_| {},
        );
        // The check reports bad lines; the writer's own reading stops at the first fault, and
        // only a failure to read is its own to report.
        read
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
    let (written, summary, read_by_writer) = tokio::join!(written, checker, reader);
    // The check read the whole file; the writing may have stopped at its first bad line.
    let read = checked.snapshot();
    let p = &begun.progress;
    p.error_count.store(read.error_count, Ordering::Relaxed);
    if read.error_count > 0 {
        p.rows_read.store(read.rows_read, Ordering::Relaxed);
        p.bytes_read.store(read.bytes_read, Ordering::Relaxed);
    }
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
    if let Ok(Err(failure)) = read_by_writer {
        summary.failure.get_or_insert(failure);
    }
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

/// Text that is not in the file's encoding, found by [`Decoding`] at a line.
#[derive(Debug)]
struct Undecodable {
    line: u64,
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "text that is not in the file's encoding at line {}",
            self.line
        )
    }
}

impl std::error::Error for Undecodable {}

/// Bytes read from the file at a time when it is decoded.
const DECODE_INPUT: usize = 64 * 1024;

/// A file in another encoding than UTF-8, decoded to UTF-8 as the CSV reader takes it. A
/// malformed sequence (an unpaired UTF-16 surrogate) is an [`Undecodable`] error naming its
/// line, never a replacement character slipped into a name.
struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    eof: bool,
    finished: bool,
    output: Vec<u8>,
    out_start: usize,
    out_capacity: usize,
    /// Line breaks decoded so far, to name the line of a malformed sequence.
    lines: u64,
}

impl<R: Read> Decoding<R> {
    fn new(inner: R, encoding: &'static Encoding) -> Self {
        // The byte order mark, if any, is dropped: it is not part of the header's first name.
        let decoder = encoding.new_decoder_with_bom_removal();
        let out_capacity = decoder
            .max_utf8_buffer_length_without_replacement(DECODE_INPUT)
            .unwrap_or(DECODE_INPUT * 3 + 16);
        Self {
            inner,
            decoder,
            input: vec![0; DECODE_INPUT],
            in_start: 0,
            in_end: 0,
            eof: false,
            finished: false,
            output: Vec::with_capacity(out_capacity),
            out_start: 0,
            out_capacity,
            lines: 0,
        }
    }

    /// Decodes the next piece of the file into `output`.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.in_start == self.in_end && !self.eof {
            let n = self.inner.read(&mut self.input)?;
            self.in_start = 0;
            self.in_end = n;
            self.eof = n == 0;
        }
        self.output.clear();
        self.output.resize(self.out_capacity, 0);
        self.out_start = 0;
        let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
            &self.input[self.in_start..self.in_end],
            &mut self.output,
            self.eof,
        );
        self.in_start += read;
        self.output.truncate(written);
        let breaks = self.output.iter().filter(|&&b| b == b'\n').count() as u64;
        self.lines += breaks;
        match result {
            DecoderResult::InputEmpty => self.finished = self.eof,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(..) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    Undecodable {
                        line: self.lines + 1,
                    },
                ));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.out_start == self.output.len() {
            if self.finished {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.output.len() - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

/// The file as UTF-8 text, and the encoding it is read in: a byte order mark (UTF-8, UTF-16LE,
/// UTF-16BE) wins over `encoding`. UTF-8 is handed over as it is, with no copy (a UTF-8 mark
/// stays, and is dropped from the header's first name); any other encoding is decoded.
/// `progress` counts the file's bytes as they are read.
fn open_text(
    path: &std::path::Path,
    encoding: FileEncoding,
    progress: Option<&Arc<ImportProgress>>,
) -> std::io::Result<(Box<dyn Read + Send>, &'static Encoding)> {
    let mut file = std::fs::File::open(path)?;
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < head.len() {
        let n = file.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    file.rewind()?;
    let effective = Encoding::for_bom(&head[..got]).map_or(encoding.0, |(e, _)| e);
    let raw: Box<dyn Read + Send> = match progress {
        Some(p) => Box::new(Counting {
            inner: file,
            progress: p.clone(),
        }),
        None => Box::new(file),
    };
    if effective == UTF_8 {
        Ok((raw, effective))
    } else {
        Ok((Box::new(Decoding::new(raw, effective)), effective))
    }
}

/// The line a CSV error names, when it is text that is not in the file's encoding.
fn undecodable(e: &csv::Error) -> Option<u64> {
    match e.kind() {
        csv::ErrorKind::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Undecodable>())
            .map(|u| u.line),
        _ => None,
    }
}

/// The bad line for text that is not in `encoding`: for UTF-8, the usual cause is named (a file
/// saved by Excel or an Italian CRM as Windows-1252).
fn not_decodable(line: u64, encoding: &'static Encoding) -> LineError {
    let reason = if encoding == UTF_8 {
        "not UTF-8 text; try --encoding windows-1252".to_owned()
    } else {
        format!("not {} text; check the file's encoding", encoding.name())
    };
    LineError {
        line,
        column: "line".to_owned(),
        reason,
        problem: Some(LineProblem::NotDecodable {
            encoding: encoding.name().to_owned(),
        }),
    }
}

/// The bad line for a cell larger than `max` bytes, in `column`.
fn too_large(line: u64, column: &str, max: usize) -> LineError {
    let max_kib = (max / 1024) as u64;
    LineError {
        line,
        column: column.to_owned(),
        reason: format!(
            "the cell is larger than {max_kib} KiB (the limit: --max-cell-kib, import.max_cell_kib)"
        ),
        problem: Some(LineProblem::CellTooLarge { max_kib }),
    }
}

/// The reading thread: header, plan, then every line. Returns whether the file was read to its
/// end without a bad line (then the caller commits); an `Err` is a failure of the file as a
/// whole (unreadable). Once a bad line is found the sender is dropped, so the writer rolls back
/// and releases the database at once (nothing will be written), but reading goes on, so that
/// every bad line is reported; except after text that is not in the file's encoding: every
/// line after it would say the same, so reading stops there.
#[allow(clippy::too_many_arguments)]
fn read_file(
    path: &std::path::Path,
    (delimiter, encoding, max_cell): (Option<u8>, FileEncoding, usize),
    mapping: &Mapping,
    types: &[String],
    (now, zone, country): (consento_domain::Timestamp, &consento_domain::Zone, &str),
    progress: &Arc<ImportProgress>,
    mut sink: Sink,
    fits: tokio::sync::oneshot::Sender<()>,
    report: &mut dyn FnMut(LineError),
) -> Result<bool, String> {
    let unreadable = |e: std::io::Error| format!("the file cannot be read: {e}");
    let delimiter = match delimiter {
        Some(d) => d,
        None => {
            let mut first = Vec::new();
            let (text, _) = open_text(path, encoding, None).map_err(unreadable)?;
            let mut buffered = std::io::BufReader::new(text);
            // Text that cannot be decoded is reported below with its line; `,` meanwhile.
            let _ = std::io::BufRead::read_until(&mut buffered, b'\n', &mut first);
            detect_delimiter(&String::from_utf8_lossy(&first))
        }
    };
    let (text, effective) = open_text(path, encoding, Some(progress)).map_err(unreadable)?;
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(text);
    let mut record = csv::ByteRecord::new();
    let header_ok = match csv.read_byte_record(&mut record) {
        Ok(ok) => ok,
        Err(e) => {
            if let Some(line) = undecodable(&e) {
                progress.error_count.fetch_add(1, Ordering::Relaxed);
                report(not_decodable(line, effective));
                return Ok(false);
            }
            return Err(format!("the header cannot be read: {e}"));
        }
    };
    if !header_ok {
        return Err("the file is empty: it needs a header row".to_owned());
    }
    let mut header: Vec<&str> = Vec::with_capacity(record.len());
    let mut faults = Vec::new();
    for (i, f) in record.iter().enumerate() {
        match std::str::from_utf8(f) {
            Ok(name) if f.len() > max_cell => {
                faults.push(too_large(1, &format!("column {}", i + 1), max_cell));
                header.push(name);
            }
            Ok(name) => header.push(name),
            Err(_) => {
                progress.error_count.fetch_add(1, Ordering::Relaxed);
                report(not_decodable(1, effective));
                return Ok(false);
            }
        }
    }
    let plan = match mapping.plan(&header, |c| types.iter().any(|t| t == c)) {
        Ok(plan) if faults.is_empty() => plan,
        planned => {
            // The header is one bad line, however many of its columns are at fault.
            faults.extend(planned.err().into_iter().flatten());
            for e in faults {
                report(e);
            }
            progress.error_count.fetch_add(1, Ordering::Relaxed);
            return Ok(false);
        }
    };
    let _ = fits.send(());
    // The CSV reader counts a line when it meets its `\n`. A record ends at the `\r` of a
    // CRLF line (as Windows programs write them), so that line's `\n` is only met as the next
    // record is read, after its position was taken: every position is then one line short.
    // Whether the header ended so tells which kind of file this is.
    let crlf = u64::from(csv.position().line() == 1);
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    let mut clean = true;
    loop {
        let line = csv.position().line() + crlf;
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if sink.stop_writing() {
                    return Ok(false);
                }
                if let Some(at) = undecodable(&e) {
                    progress.error_count.fetch_add(1, Ordering::Relaxed);
                    report(not_decodable(at, effective));
                    return Ok(false);
                }
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(format!("the file cannot be read: {io}"));
                }
                clean = false;
                progress.error_count.fetch_add(1, Ordering::Relaxed);
                report(LineError {
                    line,
                    column: "line".to_owned(),
                    reason: "not a CSV line (RFC 4180)".to_owned(),
                    problem: None,
                });
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line() + crlf);
        progress.rows_read.fetch_add(1, Ordering::Relaxed);
        if record.iter().all(<[u8]>::is_empty) && record.len() <= 1 {
            // A blank line (often the last one): nothing to import.
            continue;
        }
        // The whole line's length first: cells are measured only on a line that could hold
        // one too large.
        let oversized = (record.as_slice().len() > max_cell)
            .then(|| record.iter().position(|f| f.len() > max_cell))
            .flatten();
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
        if !utf8 {
            // Only UTF-8 is read in place; decoded text is UTF-8 by construction.
            sink.stop_writing();
            progress.error_count.fetch_add(1, Ordering::Relaxed);
            report(not_decodable(line, effective));
            return Ok(false);
        }
        let parsed = match oversized {
            Some(i) => {
                let column = plan
                    .column_name(i)
                    .filter(|n| !n.is_empty())
                    .map_or_else(|| format!("column {}", i + 1), str::to_owned);
                Err(vec![too_large(line, &column, max_cell)])
            }
            None => plan.parse(line, &fields, now, zone, country),
        };
        match parsed {
            Ok(row) if clean && sink.writes() => {
                chunk.push(row);
                if chunk.len() >= CHUNK_ROWS {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                    if !sink.send(full) {
                        // The writer stopped (a database failure: it reports why), or the
                        // check found a bad line (it reports it).
                        return Ok(false);
                    }
                }
            }
            Ok(_) => {}
            Err(errors) => {
                if sink.stop_writing() {
                    return Ok(false);
                }
                clean = false;
                chunk = Vec::new();
                progress.error_count.fetch_add(1, Ordering::Relaxed);
                for e in errors {
                    report(e);
                }
            }
        }
    }
    if clean && !chunk.is_empty() && !sink.send(chunk) {
        return Ok(false);
    }
    Ok(clean && sink.commit())
}

/// Where the rows of a reading go.
enum Sink {
    /// Nowhere: the check reads the whole file for bad lines, and reports each one.
    Check,
    /// To the writer, a chunk at a time, then the commit once the check has passed; `None`
    /// once writing stopped. This reading reports nothing: the check does.
    Write(
        Option<tokio::sync::mpsc::Sender<ImportChunk>>,
        Arc<FileCheck>,
    ),
}

impl Sink {
    fn writes(&self) -> bool {
        matches!(self, Self::Write(Some(_), _))
    }

    /// Sends a chunk; `false` when the writer is gone or the check found a bad line.
    fn send(&self, rows: Vec<consento_domain::import::ImportRow>) -> bool {
        match self {
            Self::Check => true,
            Self::Write(Some(tx), check) => {
                check.outcome() != Some(false) && tx.blocking_send(ImportChunk::Rows(rows)).is_ok()
            }
            Self::Write(None, _) => false,
        }
    }

    /// A bad line: a writing stops at once (dropping the sender rolls the writer back);
    /// `true` then, for the reading to end. The check reads on, to report every bad line.
    fn stop_writing(&mut self) -> bool {
        match self {
            Self::Check => false,
            Self::Write(tx, _) => {
                *tx = None;
                true
            }
        }
    }

    /// The file was read to its end without a bad line: the writer is told to commit once the
    /// check agrees; `false` when it does not (or the writer is gone).
    fn commit(&self) -> bool {
        match self {
            Self::Check => true,
            Self::Write(Some(tx), check) => {
                check.wait() && tx.blocking_send(ImportChunk::Commit).is_ok()
            }
            Self::Write(None, _) => false,
        }
    }
}

/// Makes sure the check's outcome is known, even if its thread ends without one (it then
/// counts as not clean): the writer waits for it before committing any part.
struct CheckOutcome(Arc<FileCheck>);

impl Drop for CheckOutcome {
    fn drop(&mut self) {
        self.0.finish(false);
    }
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
