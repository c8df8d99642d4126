//! Imports of CRM exports: the column mappings saved per source, the runs with their progress and
//! report, and the streaming write of a file's rows. Nothing commits before the whole file is
//! known to be free of bad lines ([`crate::FileCheck`]); PostgreSQL then commits it as one
//! transaction, SQLite in parts once its WAL would pass its bound (fastimport.rs). Rows are
//! written chunk by chunk as they arrive, so memory stays flat however long the file is: each
//! line is matched against known contacts (external id, then email, then phone), the suppressed
//! and the erased are skipped, the unknown are created, and every consent event is chained
//! exactly as single appends are. PostgreSQL writes here, a chunk at a time with batched lookups
//! and COPY (pgcopy.rs); SQLite through a connection of the import's own (fastimport.rs).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use consento_domain::import::{LineError, Mapping};
use consento_domain::{ConsentTypeId, ContactId, DomainError, EventId, LegalBasis, Timestamp};
use serde::Serialize;

use crate::fastimport::{AscendingIds, Line, prepare_lines};
use crate::import_job::{
    EventMaker, ImportChunk, ImportCounts, ImportProgress, ImportSpec, source_name,
};
use crate::pgcopy::{CopyRows, Projection};
use crate::row::{Cols, hex};
use crate::{Store, StoreError, in_write_tx, on_read_pool};

/// The first bad lines kept in a run's report (the CLI prints every one as it is found).
pub const MAX_REPORTED_ERRORS: usize = 1_000;

/// A new run, before its first row.
#[derive(Debug, Clone)]
pub struct NewImportRun {
    /// The source name.
    pub source: String,
    /// The file's name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub file_sha256: [u8; 32],
    /// The file's size in bytes.
    pub total_bytes: u64,
    /// Who started it (an account id, or the CLI's operator).
    pub started_by: String,
}

/// How a run ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    /// Still reading and writing.
    Running,
    /// Committed.
    Done,
    /// Nothing written: bad lines, or a failure.
    Failed,
    /// Stopped after some of its parts committed (a failure, or its process gone): its
    /// counters are what was written; importing the same file again completes it.
    Interrupted,
}

impl ImportStatus {
    fn code(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "running" => Ok(Self::Running),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            "interrupted" => Ok(Self::Interrupted),
            _ => Err(StoreError::Corrupt("import run status")),
        }
    }
}

/// An import run as stored.
#[derive(Debug, Clone, Serialize)]
pub struct ImportRun {
    /// Its id.
    pub id: uuid::Uuid,
    /// The source name.
    pub source: String,
    /// The file's name.
    pub file_name: String,
    /// SHA-256 of the file, hex.
    pub file_sha256: String,
    /// The file's size.
    pub total_bytes: u64,
    /// Where it is.
    pub status: ImportStatus,
    /// Its counters (live, in the process running it).
    pub counts: ImportCounts,
    /// The first bad lines ([`MAX_REPORTED_ERRORS`]).
    pub errors: Vec<LineError>,
    /// Why it failed, when not for bad lines.
    pub failure: Option<String>,
    /// Who started it.
    pub started_by: String,
    /// When.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// When a part last committed or its counters were last written (while it runs).
    #[serde(skip)]
    pub progress_at: Option<Timestamp>,
}

/// How long a run may go without a sign of life (a part committed, its counters written)
/// before it is taken for one whose process is gone. Far above the seconds between two parts
/// or two progress writes, and above the check of any file the limits of an import allow.
pub const STALE_RUN: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Runs in progress in this process, by id: SQLite has one writer, and the import's transaction
/// holds it until the end, so their counters are shown from memory; PostgreSQL also gets them
/// in `import_runs` (see [`Store::record_import_progress`]).
pub(crate) type LiveImports = std::sync::Mutex<HashMap<uuid::Uuid, Arc<ImportProgress>>>;

const RUN_COLUMNS: &str = "id, source, file_name, file_sha256, total_bytes, status, bytes_read, rows_read, rows_written, contacts_created, contacts_matched, events_written, skipped_suppressed, error_count, errors, failure, started_by, started_at, finished_at, progress_at";

fn count(row: &impl Cols, col: &str) -> Result<u64, StoreError> {
    u64::try_from(row.int(col)?).map_err(|_| StoreError::Corrupt("import run counter"))
}

fn run_from(row: &impl Cols) -> Result<ImportRun, StoreError> {
    Ok(ImportRun {
        id: row.uuid("id")?,
        source: row.text("source")?,
        file_name: row.text("file_name")?,
        file_sha256: hex(&row.bytes("file_sha256")?),
        total_bytes: count(row, "total_bytes")?,
        status: ImportStatus::parse(&row.text("status")?)?,
        counts: ImportCounts {
            bytes_read: count(row, "bytes_read")?,
            rows_read: count(row, "rows_read")?,
            rows_written: count(row, "rows_written")?,
            contacts_created: count(row, "contacts_created")?,
            contacts_matched: count(row, "contacts_matched")?,
            events_written: count(row, "events_written")?,
            skipped_suppressed: count(row, "skipped_suppressed")?,
            error_count: count(row, "error_count")?,
        },
        errors: serde_json::from_str(&row.text("errors")?)
            .map_err(|_| StoreError::Corrupt("import run errors"))?,
        failure: row.opt_text("failure")?,
        started_by: row.text("started_by")?,
        started_at: Timestamp::from_micros(row.int("started_at")?),
        finished_at: row.opt_int("finished_at")?.map(Timestamp::from_micros),
        progress_at: row.opt_int("progress_at")?.map(Timestamp::from_micros),
    })
}

/// A count as the database's BIGINT (saturating: no count comes near it).
pub(crate) fn micros(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Where a line of a chunk goes.
enum Target {
    /// A contact already in the database.
    Known(ContactId),
    /// A contact created by an earlier line of the chunk (index into the new contacts).
    New(usize),
    /// Suppressed or erased: not written.
    Skip,
}

/// A contact to create: its id and the line (of the chunk) it is made from.
struct NewContact {
    id: ContactId,
    row: usize,
}

impl Store {
    /// The country calling code for numbers written without one (`39`): an import parses
    /// phone numbers as the store does.
    pub fn country_code(&self) -> &str {
        &self.country_code
    }

    /// Saves (or replaces) the column mapping of `source`.
    pub async fn save_import_mapping(
        &self,
        source: &str,
        mapping: &Mapping,
    ) -> Result<(), StoreError> {
        let source = source_name(source)?;
        let text = serde_json::to_string(mapping)
            .map_err(|_| DomainError::invalid("mapping", "cannot be stored"))?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query("INSERT INTO import_mappings (source, mapping, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (source) DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at")
                .bind(&source).bind(&text).bind(now)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The saved mapping of `source`, if any.
    pub async fn import_mapping(&self, source: &str) -> Result<Option<Mapping>, StoreError> {
        let text: Option<String> = on_read_pool!(self, pool => {
            sqlx::query_scalar("SELECT mapping FROM import_mappings WHERE source = $1")
                .bind(source.trim()).fetch_optional(pool).await?
        });
        text.map(|t| serde_json::from_str(&t).map_err(|_| StoreError::Corrupt("import mapping")))
            .transpose()
    }

    /// The sources with a saved mapping, by name.
    pub async fn import_sources(&self) -> Result<Vec<String>, StoreError> {
        Ok(on_read_pool!(self, pool => {
            sqlx::query_scalar("SELECT source FROM import_mappings ORDER BY source").fetch_all(pool).await?
        }))
    }

    /// Records a new run as running and returns its id and its live counters.
    pub async fn start_import_run(
        &self,
        run: NewImportRun,
    ) -> Result<(uuid::Uuid, Arc<ImportProgress>), StoreError> {
        let now = self.now();
        let id = self.new_uuid(now)?;
        crate::audit::set_target_id("import_run", id);
        in_write_tx!(self, tx => {
            sqlx::query("INSERT INTO import_runs (id, source, file_name, file_sha256, total_bytes, status, started_by, started_at) VALUES ($1, $2, $3, $4, $5, 'running', $6, $7)")
                .bind(id).bind(&run.source).bind(&run.file_name).bind(run.file_sha256.to_vec())
                .bind(micros(run.total_bytes)).bind(&run.started_by).bind(now.as_micros())
                .execute(&mut *tx).await?;
        });
        let progress = Arc::new(ImportProgress::default());
        if let Ok(mut live) = self.imports.lock() {
            live.insert(id, progress.clone());
        }
        Ok((id, progress))
    }

    /// Writes a running import's counters to its row, for other processes to show. PostgreSQL
    /// only: on SQLite the import's transaction holds the one write lock until it ends, and the
    /// counters are shown from this process's memory instead.
    pub async fn record_import_progress(
        &self,
        id: uuid::Uuid,
        c: &ImportCounts,
    ) -> Result<(), StoreError> {
        if let crate::Db::Postgres(pool) = &self.db {
            sqlx::query("UPDATE import_runs SET bytes_read = $2, rows_read = $3, rows_written = $4, contacts_created = $5, contacts_matched = $6, events_written = $7, skipped_suppressed = $8, error_count = $9, progress_at = $10 WHERE id = $1 AND status = 'running'")
                .bind(id).bind(micros(c.bytes_read)).bind(micros(c.rows_read)).bind(micros(c.rows_written))
                .bind(micros(c.contacts_created)).bind(micros(c.contacts_matched)).bind(micros(c.events_written))
                .bind(micros(c.skipped_suppressed)).bind(micros(c.error_count))
                .bind(self.now().as_micros())
                .execute(pool).await?;
        }
        Ok(())
    }

    /// Records how a run ended: its final counters, its first bad lines, and why it failed.
    pub async fn finish_import_run(
        &self,
        id: uuid::Uuid,
        status: ImportStatus,
        c: &ImportCounts,
        errors: &[LineError],
        failure: Option<&str>,
    ) -> Result<(), StoreError> {
        let errors = serde_json::to_string(&errors[..errors.len().min(MAX_REPORTED_ERRORS)])
            .map_err(|_| StoreError::Corrupt("import run errors"))?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query("UPDATE import_runs SET status = $2, bytes_read = $3, rows_read = $4, rows_written = $5, contacts_created = $6, contacts_matched = $7, events_written = $8, skipped_suppressed = $9, error_count = $10, errors = $11, failure = $12, finished_at = $13 WHERE id = $1")
                .bind(id).bind(status.code()).bind(micros(c.bytes_read)).bind(micros(c.rows_read)).bind(micros(c.rows_written))
                .bind(micros(c.contacts_created)).bind(micros(c.contacts_matched)).bind(micros(c.events_written))
                .bind(micros(c.skipped_suppressed)).bind(micros(c.error_count)).bind(&errors).bind(failure).bind(now)
                .execute(&mut *tx).await?;
        });
        if let Ok(mut live) = self.imports.lock() {
            live.remove(&id);
        }
        Ok(())
    }

    /// A run, with the live counters when this process is running it.
    pub async fn import_run(&self, id: uuid::Uuid) -> Result<ImportRun, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM import_runs WHERE id = $1");
        let mut run = on_read_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
                .ok_or_else(|| StoreError::not_found("import run"))?;
            run_from(&row)?
        });
        self.overlay_live(&mut run);
        Ok(run)
    }

    /// The latest runs, newest first.
    pub async fn import_runs(&self, limit: i64) -> Result<Vec<ImportRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM import_runs ORDER BY started_at DESC, id DESC LIMIT $1"
        );
        let mut runs: Vec<ImportRun> = on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit.clamp(1, 500)).fetch_all(pool).await?
                .iter().map(run_from).collect::<Result<_, StoreError>>()?
        });
        for run in &mut runs {
            self.overlay_live(run);
        }
        Ok(runs)
    }

    /// A running run as this process knows it: its live counters when it runs here; else,
    /// without a sign of life for [`STALE_RUN`], interrupted (its process is gone, and what
    /// its committed parts wrote is what stays).
    fn overlay_live(&self, run: &mut ImportRun) {
        if run.status != ImportStatus::Running {
            return;
        }
        if let Ok(live) = self.imports.lock()
            && let Some(p) = live.get(&run.id)
        {
            run.counts = p.snapshot();
            return;
        }
        let last = run.progress_at.unwrap_or(run.started_at).as_micros();
        let stale = i64::try_from(STALE_RUN.as_micros()).unwrap_or(i64::MAX);
        if self.now().as_micros().saturating_sub(last) > stale {
            run.status = ImportStatus::Interrupted;
        }
    }

    /// Writes the rows `rx` delivers, committed only when [`ImportChunk::Commit`] arrives and the
    /// spec's check has passed; if the sender goes away first, nothing is written, except on
    /// SQLite the parts a long file committed once its check had passed (fastimport.rs). Consent events carry method
    /// `import`, the time the file gives (the recorded time is now) and evidence naming the file,
    /// its SHA-256 and the line (kept apart, its digest in the ledger, which holds no plain
    /// personal data: see `consento_domain::ledger`). A line whose
    /// person is suppressed or erased is skipped and counted, never revived; a line matching a
    /// known contact (or an earlier line of the file) adds its events to it (an event it already
    /// has, same type, kind and time, is not repeated, so re-importing a file adds nothing); a
    /// backdated event older than the current state goes into the history without overriding it
    /// (the projection orders by event time). On SQLite the rows are written by a connection of
    /// the import's own (fastimport.rs); on PostgreSQL through the pool, by COPY a chunk at a
    /// time (pgcopy.rs).
    pub async fn import_rows(
        &self,
        spec: &ImportSpec,
        rx: tokio::sync::mpsc::Receiver<ImportChunk>,
        progress: &Arc<ImportProgress>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let known = self.type_index().await?;
        let types: Vec<(ConsentTypeId, Option<u32>, String)> = spec
            .codes
            .iter()
            .map(|code| {
                known
                    .get(code)
                    .map(|(id, validity)| (*id, *validity, code.clone()))
                    .ok_or_else(|| {
                        DomainError::invalid("consents", format!("unknown consent type `{code}`"))
                    })
            })
            .collect::<Result<_, _>>()?;
        let events = EventMaker::new(spec, types, now)?;
        // Appends in this process wait for the import, and then read the head it leaves.
        let mut cache = self.append.lock().await;
        cache.invalidate();
        match (&self.db, &self.import_target) {
            (crate::Db::Sqlite { write, .. }, Some(target)) => {
                // The pool's one writer is held for the run, so that this process's other
                // writes queue for it as they would behind any transaction, instead of meeting
                // SQLite's lock held by the import's own connection.
                let _writer = write.acquire().await?;
                let job = crate::fastimport::Job {
                    target: target.clone(),
                    suppression_key: self.suppression_key,
                    entropy: self.entropy.clone(),
                    now,
                    events,
                    progress: progress.clone(),
                    run_id: spec.run_id,
                    check: spec.check.clone(),
                    clock: self.clock.clone(),
                };
                tokio::task::spawn_blocking(move || crate::fastimport::run(job, rx))
                    .await
                    .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))?
            }
            (crate::Db::Postgres(pool), _) => self.import_rows_pg(pool, events, rx, progress).await,
            (crate::Db::Sqlite { .. }, None) => Err(StoreError::Corrupt("sqlite database path")),
        }
    }

    /// The PostgreSQL writer of [`Store::import_rows`]: one transaction for the file, each chunk
    /// matched with a few batched lookups, chained in memory and written by COPY (pgcopy.rs,
    /// which also says how the ledger's per-row triggers are replaced). What needs no database
    /// (keyed hashes, JSON, evidence and its digest) is prepared a chunk ahead on a thread of its
    /// own, as for SQLite (fastimport.rs), so that it overlaps the database's work.
    async fn import_rows_pg(
        &self,
        pool: &sqlx::PgPool,
        events_maker: EventMaker,
        mut rx: tokio::sync::mpsc::Receiver<ImportChunk>,
        progress: &ImportProgress,
    ) -> Result<(), StoreError> {
        let maker = Arc::new(events_maker);
        let now = maker.now;
        let mut tx = pool.begin().await?;
        let types: Vec<(ConsentTypeId, &str, Option<u32>)> = maker
            .types
            .iter()
            .map(|(id, validity, code)| (*id, code.as_str(), *validity))
            .collect();
        // The head is this import's until it commits (as for bulk loads).
        let mut head = crate::pgcopy::begin(&mut tx, &types).await?;
        let (ready_tx, mut ready_rx) =
            tokio::sync::mpsc::channel::<Result<Option<Vec<Line>>, StoreError>>(2);
        {
            let (maker, key, entropy) = (maker.clone(), self.suppression_key, self.entropy.clone());
            // Ends with the file, or as soon as the writer stops listening (and the reader, whose
            // channel it drops, stops too).
            tokio::task::spawn_blocking(move || {
                while let Some(message) = rx.blocking_recv() {
                    let prepared = match message {
                        ImportChunk::Commit => Ok(None),
                        ImportChunk::Rows(rows) => {
                            prepare_lines(&key, entropy.as_ref(), &maker, rows).map(Some)
                        }
                    };
                    let last = !matches!(prepared, Ok(Some(_)));
                    if ready_tx.blocking_send(prepared).is_err() || last {
                        break;
                    }
                }
            });
        }
        let mut ids = (
            AscendingIds::new(now, self.entropy.as_ref())?,
            AscendingIds::new(now, self.entropy.as_ref())?,
        );
        let mut committed = false;
        while let Some(prepared) = ready_rx.recv().await {
            let Some(lines) = prepared? else {
                committed = true;
                break;
            };
            head = self
                .import_chunk_pg(&mut tx, &maker, &lines, head, &mut ids, progress)
                .await?;
        }
        if !committed {
            // Rolled back as the transaction is dropped: a bad line anywhere writes nothing.
            return Err(
                DomainError::invalid("file", "the file has errors: nothing was imported").into(),
            );
        }
        crate::pgcopy::finish(&mut tx, head.0, &head.1).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one chunk of an import on PostgreSQL after the ledger's `head`, and returns the new
    /// head. `ids` ascend (contacts, events): see [`AscendingIds`].
    async fn import_chunk_pg(
        &self,
        conn: &mut sqlx::PgConnection,
        maker: &EventMaker,
        lines: &[Line],
        (mut seq, mut prev): (i64, [u8; 32]),
        ids: &mut (AscendingIds, AscendingIds),
        progress: &ImportProgress,
    ) -> Result<(i64, [u8; 32]), StoreError> {
        let now = maker.now;
        let source = &maker.source;
        // 1. The suppression list, by keyed hash of every address and number.
        let all: Vec<&[u8]> = lines
            .iter()
            .flat_map(|l| l.email_hashes.iter().chain(&l.phone_hashes))
            .map(Vec::as_slice)
            .collect();
        let mut suppressed: HashSet<Vec<u8>> = HashSet::new();
        if !all.is_empty() {
            for row in sqlx::query("SELECT hash FROM suppression WHERE hash = ANY($1)")
                .bind(all)
                .fetch_all(&mut *conn)
                .await?
            {
                suppressed.insert(row.bytes("hash")?);
            }
        }
        // 2. Known contacts by external id, email and phone: (key → (id, erased)). Their rows
        // are locked until the commit, so that none is erased under the import (GDPR Art. 17:
        // an erased person gets no new events; pgcopy.rs).
        let mut by_key: HashMap<String, (ContactId, bool)> = HashMap::new();
        let externals: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.row.external_id.as_deref())
            .collect();
        let emails: Vec<&str> = lines
            .iter()
            .flat_map(|l| l.row.emails.iter().map(|e| e.as_str()))
            .collect();
        let phones: Vec<&str> = lines
            .iter()
            .flat_map(|l| l.row.phones.iter().map(|p| p.as_str()))
            .collect();
        let lookups: [(&str, &str, Vec<&str>); 3] = [
            (
                "x:",
                "SELECT c.external_id AS k, c.id, c.erased_at FROM contacts c WHERE c.external_id = ANY($1) FOR SHARE",
                externals,
            ),
            (
                "e:",
                "SELECT e.email AS k, c.id, c.erased_at FROM contact_emails e JOIN contacts c ON c.id = e.contact_id WHERE e.email = ANY($1) FOR SHARE OF c",
                emails,
            ),
            (
                "p:",
                "SELECT p.phone AS k, c.id, c.erased_at FROM contact_phones p JOIN contacts c ON c.id = p.contact_id WHERE p.phone = ANY($1) FOR SHARE OF c",
                phones,
            ),
        ];
        for (prefix, sql, keys) in lookups {
            if keys.is_empty() {
                continue;
            }
            for row in sqlx::query(sql).bind(keys).fetch_all(&mut *conn).await? {
                let key = format!("{prefix}{}", row.text("k")?);
                by_key.insert(
                    key,
                    (
                        ContactId(row.uuid("id")?),
                        row.opt_int("erased_at")?.is_some(),
                    ),
                );
            }
        }
        // 3. Each line's contact: known, made by an earlier line of the chunk, or new.
        let mut new_ids = ids.0.take(lines.len(), self.entropy.as_ref())?.into_iter();
        let mut created: Vec<NewContact> = Vec::new();
        let mut chunk_keys: HashMap<String, usize> = HashMap::new();
        let mut targets: Vec<Target> = Vec::with_capacity(lines.len());
        for (i, l) in lines.iter().enumerate() {
            let r = &l.row;
            let keys: Vec<String> = r
                .external_id
                .iter()
                .map(|x| format!("x:{x}"))
                .chain(r.emails.iter().map(|e| format!("e:{}", e.as_str())))
                .chain(r.phones.iter().map(|p| format!("p:{}", p.as_str())))
                .collect();
            let target = if l
                .email_hashes
                .iter()
                .chain(&l.phone_hashes)
                .any(|h| suppressed.contains(h))
            {
                Target::Skip
            } else if let Some((id, erased)) = keys.iter().find_map(|k| by_key.get(k)) {
                // An erased person is never brought back (GDPR Art. 17).
                if *erased {
                    Target::Skip
                } else {
                    Target::Known(*id)
                }
            } else if let Some(n) = keys.iter().find_map(|k| chunk_keys.get(k)) {
                Target::New(*n)
            } else {
                let n = created.len();
                let id = ContactId(new_ids.next().ok_or(StoreError::Entropy)?);
                created.push(NewContact { id, row: i });
                for k in keys {
                    chunk_keys.insert(k, n);
                }
                Target::New(n)
            };
            targets.push(target);
        }
        // 4. The events the known contacts already have: an event equal to one of them (same
        // type, kind and time) is already recorded, so a re-import adds nothing.
        let mut known_ids: Vec<uuid::Uuid> = targets
            .iter()
            .filter_map(|t| match t {
                Target::Known(id) => Some(id.0),
                _ => None,
            })
            .collect();
        known_ids.sort_unstable();
        known_ids.dedup();
        let mut current: HashSet<(uuid::Uuid, uuid::Uuid, i64, String)> = HashSet::new();
        if !known_ids.is_empty() {
            for row in sqlx::query("SELECT contact_id, consent_type_id, kind, event_time FROM consent_events WHERE contact_id = ANY($1)")
                .bind(known_ids)
                .fetch_all(&mut *conn)
                .await?
            {
                current.insert((
                    row.uuid("contact_id")?,
                    row.uuid("consent_type_id")?,
                    row.int("event_time")?,
                    row.text("kind")?,
                ));
            }
        }
        // 5. The consent events, chained one after the other from the head, their evidence,
        // and the current states they leave.
        let n_events: usize = lines
            .iter()
            .zip(&targets)
            .filter(|(_, t)| !matches!(t, Target::Skip))
            .map(|(l, _)| l.row.consents.len())
            .sum();
        let mut event_ids = ids
            .1
            .take(n_events, self.entropy.as_ref())?
            .into_iter()
            .map(EventId);
        let mut events = CopyRows::new();
        let mut evidence = CopyRows::new();
        let mut states = Projection::default();
        let (mut written, mut matched, mut skipped, mut n_written) = (0usize, 0usize, 0usize, 0);
        for (i, (l, target)) in lines.iter().zip(&targets).enumerate() {
            let (contact_id, fresh) = match target {
                Target::Skip => {
                    skipped += 1;
                    continue;
                }
                Target::Known(id) => {
                    matched += 1;
                    (*id, false)
                }
                Target::New(n) => {
                    let c = created
                        .get(*n)
                        .ok_or(StoreError::Corrupt("import contact"))?;
                    if c.row != i {
                        matched += 1;
                    }
                    (c.id, true)
                }
            };
            written += 1;
            for (consent, c) in l.row.consents.iter().enumerate() {
                let (Some((type_id, _, _)), Some((salt, digest))) =
                    (maker.types.get(c.type_index), l.proofs.get(consent))
                else {
                    continue;
                };
                let key = (
                    contact_id.0,
                    type_id.0,
                    c.event_time.as_micros(),
                    c.kind.code().to_owned(),
                );
                if !current.insert(key) {
                    continue;
                }
                let Some(id) = event_ids.next() else {
                    break;
                };
                let Some(record) = maker.record(seq + 1, id, contact_id, c, *digest, prev) else {
                    continue;
                };
                let hash = record.hash();
                seq = record.seq;
                prev = hash;
                events.event(&record, &hash);
                evidence
                    .row(3)
                    .int(record.seq)
                    .bytes(salt)
                    .text(&l.evidence);
                states.add(&record, fresh)?;
                n_written += 1;
            }
        }
        // 6. The new contacts and their channels, then the ledger, its evidence and the states.
        let mut contacts = CopyRows::new();
        let mut emails = CopyRows::new();
        let mut phones = CopyRows::new();
        for c in &created {
            let Some(l) = lines.get(c.row) else { continue };
            let r = &l.row;
            contacts
                .row(14)
                .uuid(c.id.0)
                .opt_text(r.external_id.as_deref())
                .opt_text(r.name.as_deref())
                .opt_text(r.emails.first().map(|e| e.as_str()))
                .opt_bytes(l.email_hashes.first().map(Vec::as_slice))
                .opt_text(r.phones.first().map(|p| p.as_str()))
                .opt_bytes(l.phone_hashes.first().map(Vec::as_slice))
                .text(&l.attributes)
                .text(r.source.as_deref().unwrap_or(source))
                .opt_text(r.legal_basis.map(LegalBasis::code))
                .text(&l.purposes)
                .int(now.as_micros())
                .int(now.as_micros())
                .opt_text(l.name_folded.as_deref());
            for (position, e) in r.emails.iter().enumerate() {
                emails
                    .row(3)
                    .text(e.as_str())
                    .uuid(c.id.0)
                    .int(position as i64);
            }
            for (position, p) in r.phones.iter().enumerate() {
                phones
                    .row(3)
                    .text(p.as_str())
                    .uuid(c.id.0)
                    .int(position as i64);
            }
        }
        contacts
            .copy(&mut *conn, crate::pgcopy::COPY_CONTACTS)
            .await?;
        emails.copy(&mut *conn, crate::pgcopy::COPY_EMAILS).await?;
        phones.copy(&mut *conn, crate::pgcopy::COPY_PHONES).await?;
        events.copy(&mut *conn, crate::pgcopy::COPY_EVENTS).await?;
        evidence
            .copy(&mut *conn, crate::pgcopy::COPY_EVIDENCE)
            .await?;
        states.write(&mut *conn).await?;
        ImportProgress::add(&progress.rows_written, written);
        ImportProgress::add(&progress.contacts_created, created.len());
        ImportProgress::add(&progress.contacts_matched, matched);
        ImportProgress::add(&progress.skipped_suppressed, skipped);
        ImportProgress::add(&progress.events_written, n_written);
        Ok((seq, prev))
    }
}
