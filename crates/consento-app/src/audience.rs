//! Streaming the newsletter audience (rules 1–7 of the decision applied to the whole list by the
//! store's audience index) as RFC 4180 CSV or NDJSON chunks as the store reads the recipients,
//! never collected in memory: the one export the API's `GET /v1/audience` and the console's
//! download share. The chunks go through a bounded channel, so a slow reader slows the store's
//! reading instead of filling memory; the adapter turns the channel into its response body.

use std::sync::Arc;

use consento_domain::Timestamp;
use consento_domain::spreadsheet::Cells;
use consento_store::{AudienceMember, AudienceQuery, StoreError};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use crate::{App, AppError};

/// Rows per chunk of the stream: large enough to keep the per-chunk cost low, small
/// enough that memory stays flat.
const ROWS_PER_CHUNK: usize = 512;

/// Chunks buffered between the database cursor and the client: a slow client slows the cursor
/// instead of filling memory.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The formats of the audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudienceFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// Newline-delimited JSON, one [`Recipient`] per line.
    Ndjson,
}

impl AudienceFormat {
    /// The media type of a stream in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8; header=present",
            Self::Ndjson => "application/x-ndjson",
        }
    }
}

/// One recipient (a line of the NDJSON form; the CSV has the same columns).
#[derive(Debug, Serialize)]
pub struct Recipient {
    /// Our id of the contact.
    pub contact_id: uuid::Uuid,
    /// The CRM's id.
    pub external_id: Option<String>,
    /// The primary email address: where to send.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
}

impl From<AudienceMember> for Recipient {
    fn from(m: AudienceMember) -> Self {
        Self {
            contact_id: m.contact_id.0,
            external_id: m.external_id,
            email: m.email,
            name: m.name,
        }
    }
}

/// How an export ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportEnd {
    /// Recipients handed to the reader.
    pub rows: u64,
    /// Whether the whole list was (the stream then ends normally).
    pub complete: bool,
}

/// Why an export could not start (nothing was sent).
#[derive(Debug)]
pub enum ExportRefused {
    /// The store refused the query: an unknown type, a type that does not permit bulk email, an
    /// instant in the past.
    Store(StoreError),
    /// The streaming task ended before saying whether the query started.
    Ended,
}

/// A started export: the chunks, in order (an error ends a list cut short by the database),
/// the instant it is computed for, and how it ended, told once the stream stops.
#[derive(Debug)]
pub struct AudienceStream {
    /// The chunks of the list.
    pub chunks: mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
    /// The instant the audience is computed for.
    pub at: Timestamp,
    /// How the export ended.
    pub end: tokio::task::JoinHandle<ExportEnd>,
    /// The export's slot, shared with the task that reads the list: whoever carries the
    /// chunks to the reader keeps it until the last one is handed over or the reader leaves.
    /// The task alone would free it as soon as the list fits in the channel and the socket's
    /// buffers, which an audience from memory does at once, so a reader that never reads
    /// would no longer hold its place.
    pub slot: Arc<OwnedSemaphorePermit>,
}

/// The store's type filter for a `type` parameter: `any` means every type that permits bulk
/// email (none), anything else is a code.
pub fn type_filter(code: &str) -> Option<String> {
    let code = code.trim();
    (code != "any").then(|| code.to_owned())
}

impl App {
    /// Builds the audience index (the store's projection of every contact's flags and consent
    /// states in memory) ahead of the first newsletter or console overview that needs it; a
    /// server calls this once at start. Returns how many contacts it holds (`None`: the types
    /// cannot be indexed, and those answers come from SQL).
    pub async fn prepare_audience(&self) -> Result<Option<usize>, AppError> {
        Ok(self.store.audience_index_size().await?.map(|s| s.contacts))
    }

    /// Starts streaming the audience `q` in `format`, holding `permit` (one of the adapter's
    /// export slots: each export holds a read connection as long as its reader reads) until it
    /// ends and its stream ([`AudienceStream::slot`]) is dropped. Answers once the database has
    /// accepted the query, so that a refusal can still be answered properly. `cells`: how the
    /// CSV's cells are written (see [`csv_chunk`]).
    pub async fn stream_audience(
        &self,
        q: AudienceQuery,
        format: AudienceFormat,
        cells: Cells,
        permit: OwnedSemaphorePermit,
    ) -> Result<AudienceStream, ExportRefused> {
        let at = q.at.unwrap_or_else(|| self.store.now());
        let (started_tx, started_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let slot = Arc::new(permit);
        let end = tokio::spawn(pump(
            self.clone(),
            q,
            format,
            cells,
            started_tx,
            tx,
            Arc::clone(&slot),
        ));
        match started_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ExportRefused::Store(e)),
            Err(_) => return Err(ExportRefused::Ended),
        }
        Ok(AudienceStream {
            chunks: rx,
            at,
            end,
            slot,
        })
    }
}

/// CSV records (RFC 4180 §2: fields with a comma, a quote or a line break are quoted, quotes
/// doubled; CRLF after each record).
/// `cells`: by default every cell that starts like a formula is defused (OWASP, "CSV
/// Injection"; [`consento_domain::spreadsheet`]), so a name such as `=HYPERLINK(…)` stays text
/// wherever the list is opened; a program that asked for the values as stored gets them.
fn csv_chunk(
    rows: &[AudienceMember],
    header: bool,
    cells: Cells,
) -> Result<Vec<u8>, std::io::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 96 + 64));
    if header {
        w.write_record(["contact_id", "external_id", "email", "name"])?;
    }
    for m in rows {
        let id = m.contact_id.0.to_string();
        let external_id = cells.cell(m.external_id.as_deref().unwrap_or(""));
        let email = cells.cell(m.email.as_str());
        let name = cells.cell(m.name.as_deref().unwrap_or(""));
        w.write_record([&*id, &*external_id, &*email, &*name])?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

fn ndjson_chunk(rows: Vec<AudienceMember>) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::with_capacity(rows.len() * 128);
    for m in rows {
        serde_json::to_writer(&mut out, &Recipient::from(m))?;
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
    app: App,
    q: AudienceQuery,
    format: AudienceFormat,
    cells: Cells,
    started: oneshot::Sender<Result<(), StoreError>>,
    tx: mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    _slot: Arc<OwnedSemaphorePermit>,
) -> ExportEnd {
    let mut end = ExportEnd {
        rows: 0,
        complete: false,
    };
    let mut members = match app.store.audience(&q).await {
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
            AudienceFormat::Csv => csv_chunk(&rows, header, cells),
            AudienceFormat::Ndjson => ndjson_chunk(rows),
        };
        header = false;
        match tokio::time::timeout(STALLED_CLIENT, tx.send(chunk)).await {
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
