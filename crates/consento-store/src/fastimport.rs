//! The writer of an import on SQLite: a plain SQLite connection of its own, on a thread of its
//! own, in one `BEGIN IMMEDIATE` transaction for the file, or in parts for a file whose writes
//! would pass half the WAL's bound (see [`run`]), a chunk of lines at a time with statements
//! prepared once. It owns the SQLite side of what [`crate::Store::import_rows`]
//! promises: matching, skipping, chaining and projecting exactly as the PostgreSQL path and
//! single appends do.
//!
//! Why not sqlx: sqlx runs each SQLite connection on a worker thread and hands every statement
//! across a channel (≈ 100 µs a statement, and slow binds). Here a line costs what SQLite's own
//! b-tree work costs.
//!
//! What makes that work small:
//! - a chunk's lines are matched and chained in memory first (a line matches earlier lines of
//!   its chunk there, and earlier chunks in the database), then written table by table with
//!   multi-row `INSERT OR FAIL` statements ([`Rows`]): a statement's cursors are opened once for
//!   64 rows, and no statement journal is kept;
//! - the ids of the contacts and events an import creates ascend ([`AscendingIds`]), so every
//!   index keyed by them (the contacts, the ledger's ids and contacts, the evidence, the current
//!   states) grows at its right edge, in full pages, instead of at random places: the working
//!   set stays in the cache however long the file, and the file stays compact;
//! - a key the database has never held is not looked up ([`Seen`]);
//! - the per-row triggers of the ledger are replaced inside the transaction by checks made once
//!   and a projection per chunk (see [`ready`]);
//! - what needs no database (keyed hashes, JSON, evidence digests) is prepared a chunk ahead on
//!   a second thread, which also frees the chunks written ([`prepare`]);
//! - foreign keys are not checked row by row (`PRAGMA foreign_keys` is off on this connection,
//!   which it can only be outside a transaction): every reference an import writes is one this
//!   transaction has just read, or wrote in the same chunk with a statement that fails unless
//!   every row is written (see [`Writer`]); the consent types were checked at the start, under
//!   the write lock ([`ready`]). The contract tests run SQLite's `foreign_key_check` after
//!   imports.

use hashbrown::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use consento_domain::import::ImportRow;
use consento_domain::ledger::{EventRecord, evidence_digest};
use consento_domain::{CollectionMethod, ContactId, DomainError, EventId, LegalBasis, Timestamp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Statement};

use crate::import_job::{EventMaker, ImportChunk, ImportProgress};
use crate::inserts::{INSERT_CONTACT, INSERT_EMAIL, INSERT_EVIDENCE, INSERT_PHONE};
use crate::{Entropy, StoreError};

/// Where and how the import's connection opens the database.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The database file.
    pub(crate) path: PathBuf,
    /// `synchronous = FULL` (as the store's own connections), else NORMAL.
    pub(crate) full_sync: bool,
    /// The WAL's bound ([`crate::StoreConfig::sqlite_wal_limit`]): a part commits past half of it.
    pub(crate) wal_limit: u64,
}

/// Everything the writing thread needs, owned (it outlives no borrow of the store).
pub(crate) struct Job {
    pub(crate) target: Target,
    pub(crate) suppression_key: [u8; 32],
    pub(crate) entropy: Arc<dyn Entropy>,
    pub(crate) now: Timestamp,
    pub(crate) events: EventMaker,
    pub(crate) progress: Arc<ImportProgress>,
    /// The run whose row records each committed part.
    pub(crate) run_id: uuid::Uuid,
    /// Whether the file is free of bad lines (no part commits before it is known).
    pub(crate) check: Arc<crate::FileCheck>,
    /// The store's clock, for when a part committed.
    pub(crate) clock: Arc<dyn consento_domain::Clock>,
}

/// The page cache of the import's connection, in KiB (negative: a size, not a page count).
/// With ascending ids only the indexes keyed by the file's own values (external ids,
/// addresses, numbers) are written at random places; this bound keeps them in memory for
/// millions of lines. A bound, not a growth: memory stays flat whatever the file's length.
const IMPORT_CACHE_KIB: i64 = 262_144;

/// The ledger triggers an import does set-based instead of row by row.
const CHAIN_TRIGGERS: &str = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND ((tbl_name = 'consent_events' AND name IN ('consent_events_chain', 'consent_events_project', 'consent_events_webhooks')) OR (tbl_name = 'consent_state' AND name IN ('decision_changes_state', 'decision_changes_state_new')) OR (tbl_name = 'contacts' AND name = 'decision_changes_contact_new')) ORDER BY name";

/// The projection of `consent_events_project` (migration 0001) over the events of seq in
/// ($1, $2], in ledger order: the same upsert, so consent_state ends as the trigger leaves it.
/// `OR FAIL` for the reason given at [`Rows`]: no statement journal.
const PROJECT_RANGE: &str = "INSERT OR FAIL INTO consent_state (contact_id, consent_type_id, kind, granted, event_seq, event_time, valid_until) SELECT contact_id, consent_type_id, kind, kind IN ('given', 'renewed'), seq, event_time, CASE WHEN kind IN ('given', 'renewed') THEN COALESCE(event_time + validity_days * 86400000000, 9223372036854775807) ELSE event_time END FROM consent_events WHERE seq > $1 AND seq <= $2 ORDER BY seq ON CONFLICT (contact_id, consent_type_id) DO UPDATE SET kind = excluded.kind, granted = excluded.granted, event_seq = excluded.event_seq, event_time = excluded.event_time, valid_until = excluded.valid_until WHERE excluded.event_time >= consent_state.event_time";

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!("sqlite: {e}")))
}

/// Ids for the rows an import creates: UUIDv7 of the import's instant whose 74 random bits
/// ascend, each the previous one plus a random step of 1 to 2^32 (RFC 9562 §6.2, method 2,
/// "monotonic random"), starting from a random point in the lower quarter of the range, so a
/// run of 2^40 ids cannot overflow. Random ids of one instant would land all over every index
/// keyed by them.
pub(crate) struct AscendingIds {
    millis: u128,
    last: u128,
}

impl AscendingIds {
    const RANDOM_BITS: u32 = 74;

    pub(crate) fn new(at: Timestamp, entropy: &dyn Entropy) -> Result<Self, StoreError> {
        let mut start = [0u8; 16];
        entropy.fill(&mut start)?;
        let millis = u128::try_from(at.as_micros() / 1_000).unwrap_or(0) & ((1 << 48) - 1);
        Ok(Self {
            millis,
            last: u128::from_be_bytes(start) >> (128 - (Self::RANDOM_BITS - 2)),
        })
    }

    /// The next `n` ids, ascending after the ones before.
    pub(crate) fn take(
        &mut self,
        n: usize,
        entropy: &dyn Entropy,
    ) -> Result<Vec<uuid::Uuid>, StoreError> {
        let mut steps = vec![0u8; 4 * n];
        entropy.fill(&mut steps)?;
        let mut ids = Vec::with_capacity(n);
        for step in steps.chunks_exact(4) {
            let step = u32::from_be_bytes([step[0], step[1], step[2], step[3]]);
            self.last += 1 + u128::from(step);
            if self.last >> Self::RANDOM_BITS != 0 {
                return Err(StoreError::Entropy);
            }
            let rand_a = (self.last >> 62) & 0xFFF;
            let rand_b = self.last & ((1 << 62) - 1);
            ids.push(uuid::Uuid::from_u128(
                (self.millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b,
            ));
        }
        Ok(ids)
    }
}

/// Runs the import: reads `rx` to its end and commits when [`ImportChunk::Commit`] arrives,
/// else writes nothing. Called on a blocking thread.
///
/// One transaction while the WAL stays under half its limit; past it, once the whole file is
/// known to be free of bad lines ([`crate::FileCheck`]), the part written so far commits, the
/// WAL is copied into the database and cut to zero, and the next part begins. Until the check
/// is known the writer waits instead of committing, so a bad line anywhere still writes nothing.
/// A run that stops after a part committed keeps that part (its run says `interrupted`);
/// importing the same file again completes it, as an import never repeats an event.
pub(crate) fn run(
    job: Job,
    mut rx: tokio::sync::mpsc::Receiver<ImportChunk>,
) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        &job.target.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error)?;
    // As the store's own connections (lib.rs), but: foreign keys checked per chunk (above), no
    // checkpoint inside the commit (the store's checkpoint thread does it), and the cache above.
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF; PRAGMA synchronous = {}; PRAGMA secure_delete = ON; PRAGMA temp_store = memory; PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -{IMPORT_CACHE_KIB};",
        if job.target.full_sync { "FULL" } else { "NORMAL" }
    ))
    .map_err(sqlite_error)?;
    // A transaction of its own (not rusqlite's guard), so that a part can commit while the
    // statements prepared on the connection stay. Should anything below fail, the connection
    // closes with the transaction open, and SQLite rolls it back.
    let (seq, prev) = begin_part(&conn)?;
    let mut restore = ready(&conn, &job.events)?;
    let mut writer = Writer::new(&conn, &job, seq, prev)?;
    // The work that needs no database (keyed hashes, JSON, evidence and its digest) is done a
    // chunk ahead on a thread of its own: the writer is the import's bottleneck, and the second
    // core would otherwise mostly wait.
    // It also frees the chunks the writer is done with, which costs the writer as much as a
    // tenth of its time (measured).
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<Prepared, StoreError>>(2);
    let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Vec<Line>>();
    let part_limit = job.target.wal_limit / 2;
    // Between two parts (no transaction open): the data version the last one left.
    let mut between: Option<i64> = None;
    let mut part_size = PartSize::begin(&conn, &job.target.path)?;
    let committed = std::thread::scope(|scope| {
        let job = &job;
        scope.spawn(move || {
            while let Some(message) = rx.blocking_recv() {
                // At most the chunks in flight wait here: the writer returns one per chunk.
                spent_rx.try_iter().for_each(drop);
                let prepared = match message {
                    ImportChunk::Commit => Ok(Prepared::Commit),
                    ImportChunk::Rows(rows) => prepare(job, rows).map(Prepared::Lines),
                };
                let last = !matches!(prepared, Ok(Prepared::Lines(_)));
                // A writer that stopped no longer listens: stop reading, so the reader stops too.
                if ready_tx.send(prepared).is_err() || last {
                    break;
                }
            }
        });
        let mut committed = false;
        for prepared in ready_rx {
            match prepared? {
                Prepared::Commit => {
                    committed = job.check.wait();
                    break;
                }
                Prepared::Lines(lines) => {
                    if let Some(version) = between {
                        restore = resume(&conn, job, &mut writer, version)?;
                        part_size = PartSize::begin(&conn, &job.target.path)?;
                        between = None;
                    }
                    writer.chunk(&lines)?;
                    // Freed by the preparing thread, or here if it is gone.
                    let _ = spent_tx.send(lines);
                    if part_size.of(&conn)? > part_limit {
                        if !job.check.wait() {
                            break;
                        }
                        between = Some(commit_part(&conn, job, &writer, &restore)?);
                    }
                }
            }
        }
        Ok::<bool, StoreError>(committed)
    })?;
    if !committed {
        // Rolled back as the connection closes: a bad line anywhere writes nothing (a part
        // commits only once the file is known to have none). Parts already committed stay: the
        // file was clean, and stopped being read before its end.
        if job.progress.committed().is_some() {
            return Err(DomainError::invalid(
                "import",
                "the file was not read to its end: the parts written stay; import the same file again to complete it",
            )
            .into());
        }
        return Err(
            DomainError::invalid("file", "the file has errors: nothing was imported").into(),
        );
    }
    if between.is_none() {
        end_part(&conn, &writer, &restore)?;
    }
    drop(writer);
    // The last part's pages are all in the WAL (no checkpoint can copy a transaction before it
    // commits): copied into the database file and cut to zero now, instead of leaving the WAL
    // the size of what the part wrote (wal.rs).
    let _ = crate::wal::checkpoint_on(&conn, std::time::Duration::from_millis(250));
    Ok(())
}

/// What the part in progress will have put in the WAL once it commits, estimated cheaply after
/// each chunk. A transaction's pages reach the WAL when it commits, or earlier when the page
/// cache spills them, so the WAL's size alone says little until then. The pages the part added
/// to the file are counted twice: ascending ids make an import mostly add pages, and the pages
/// it changes in place (the indexes keyed by addresses and numbers, the current states) were
/// measured at less than as many again.
struct PartSize<'p> {
    /// The database file (its WAL is `<file>-wal`).
    db: &'p std::path::Path,
    page_size: u64,
    pages_at_start: u64,
}

impl<'p> PartSize<'p> {
    fn begin(conn: &Connection, db: &'p std::path::Path) -> Result<Self, StoreError> {
        Ok(Self {
            db,
            page_size: pragma_u64(conn, "PRAGMA page_size")?,
            pages_at_start: pragma_u64(conn, "PRAGMA page_count")?,
        })
    }

    fn of(&self, conn: &Connection) -> Result<u64, StoreError> {
        let added = pragma_u64(conn, "PRAGMA page_count")?.saturating_sub(self.pages_at_start);
        Ok(crate::wal::wal_size(self.db).saturating_add(2 * added * self.page_size))
    }
}

fn pragma_u64(conn: &Connection, sql: &str) -> Result<u64, StoreError> {
    let n: i64 = conn
        .query_row(sql, [], |r| r.get(0))
        .map_err(sqlite_error)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt("sqlite page count"))
}

/// Begins a part: `BEGIN IMMEDIATE` takes SQLite's one write lock, and the ledger's head is the
/// import's until the part commits.
fn begin_part(conn: &Connection) -> Result<(i64, [u8; 32]), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(sqlite_error)?;
    let (seq, hash): (i64, Vec<u8>) = conn
        .query_row("SELECT seq, hash FROM ledger_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(sqlite_error)?;
    Ok((seq, crate::row::hash32(hash)?))
}

/// Ends the part in progress with what the triggers would have left: the ledger's head, one
/// change-log row for everyone (the decision change log's per-row triggers on consent_state
/// were dropped with the ledger's, so every process forgets what it remembered of the decisions
/// an import may have changed; migration 0017), and the triggers themselves; then commits.
fn end_part(conn: &Connection, writer: &Writer<'_>, restore: &[String]) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1",
        rusqlite::params![writer.seq, writer.prev.as_slice()],
    )
    .map_err(sqlite_error)?;
    conn.execute(
        "INSERT INTO decision_changes (contact_id) VALUES (NULL)",
        [],
    )
    .map_err(sqlite_error)?;
    for sql in restore {
        conn.execute_batch(sql).map_err(sqlite_error)?;
    }
    conn.execute_batch("COMMIT").map_err(sqlite_error)
}

/// Commits the part written so far with the run's counters as of it, and bounds the WAL.
/// Returns the data version the commit left, to tell at the next part whether another process
/// wrote in between. The next part begins with the next chunk, so that the write lock is not
/// held while the reader catches up.
fn commit_part(
    conn: &Connection,
    job: &Job,
    writer: &Writer<'_>,
    restore: &[String],
) -> Result<i64, StoreError> {
    let counts = job.progress.snapshot();
    conn.execute(
        "UPDATE import_runs SET rows_written = $2, contacts_created = $3, contacts_matched = $4, events_written = $5, skipped_suppressed = $6, progress_at = $7 WHERE id = $1 AND status = 'running'",
        rusqlite::params![
            job.run_id.as_bytes().as_slice(),
            crate::import::micros(counts.rows_written),
            crate::import::micros(counts.contacts_created),
            crate::import::micros(counts.contacts_matched),
            crate::import::micros(counts.events_written),
            crate::import::micros(counts.skipped_suppressed),
            job.clock.now().as_micros(),
        ],
    )
    .map_err(sqlite_error)?;
    end_part(conn, writer, restore)?;
    if let Ok(mut committed) = job.progress.committed.lock() {
        *committed = Some(counts);
    }
    let version: i64 = conn
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(sqlite_error)?;
    // As bulk writes between their transactions (wal.rs): the writer may wait, other writers
    // queue behind the import anyway, and a WAL left uncut would hold the next part too.
    let _ = crate::wal::checkpoint_on(conn, std::time::Duration::from_secs(2));
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sqlite_error)?;
    Ok(version)
}

/// Begins the next part; returns the triggers to restore at its end. Another process may have
/// written since the last part (`version` tells): the head is taken up where it is, and what
/// the writer assumed of the stored keys and of the suppression list is read again.
fn resume(
    conn: &Connection,
    job: &Job,
    writer: &mut Writer<'_>,
    version: i64,
) -> Result<Vec<String>, StoreError> {
    let (seq, prev) = begin_part(conn)?;
    let now: i64 = conn
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(sqlite_error)?;
    if now != version || (seq, prev) != (writer.seq, writer.prev) {
        writer.refresh(seq, prev)?;
    }
    ready(conn, &job.events)
}

/// Readies a transaction (a part) of the import and returns the SQL that recreates the triggers
/// it dropped (run before each commit).
///
/// The per-row triggers on consent_events cost most of an import's time; inside each of the
/// import's transactions they are replaced by checks made once and a projection made per chunk, with
/// the same outcome:
/// - the chain check (`consent_events_chain`): the head was taken in this transaction, which
///   holds SQLite's one write lock, and the writer chains every event from it;
/// - the consent type check: made here once for every type of the mapping;
/// - the erased check: the contacts are matched (with their erasure) in this transaction, and
///   erased people are skipped (GDPR Art. 17);
/// - the projection into consent_state: [`PROJECT_RANGE`] per chunk, and the head at the end
///   of each part;
/// - the decision change log on consent_state (migration 0017): one row for everyone at the end
///   of each part;
/// - the webhook emission: dropped only when no subscription is active (the trigger would emit
///   nothing); with one it stays and emits row by row as for any append.
///
/// SQLite's DDL is transactional: a failed or abandoned import rolls the DROP back with
/// everything else, and other connections never see the ledger without its triggers.
fn ready(tx: &Connection, events: &EventMaker) -> Result<Vec<String>, StoreError> {
    for (id, validity, code) in &events.types {
        let current: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM consent_types WHERE id = $1 AND code = $2 AND validity_days IS $3",
                rusqlite::params![id.0.as_bytes().as_slice(), code, validity.map(i64::from)],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite_error)?;
        if current.is_none() {
            return Err(StoreError::Stale);
        }
    }
    let webhooks: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active)",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite_error)?;
    let mut triggers: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = tx.prepare(CHAIN_TRIGGERS).map_err(sqlite_error)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sqlite_error)?;
        for row in rows {
            triggers.push(row.map_err(sqlite_error)?);
        }
    }
    let mut restore = Vec::new();
    for (name, sql) in triggers {
        if webhooks && name == "consent_events_webhooks" {
            continue;
        }
        tx.execute_batch(&format!("DROP TRIGGER {name}"))
            .map_err(sqlite_error)?;
        restore.push(sql);
    }
    if restore.len() < 2 {
        return Err(StoreError::Corrupt("ledger triggers"));
    }
    Ok(restore)
}

/// Rows per multi-row INSERT. Each execution of a statement opens a cursor on the table and on
/// every index, binds, steps and closes them again: written 64 rows at a time, a row pays that a
/// sixty-fourth of the time (measured: 2.8 µs instead of 4.2 µs an event).
const BATCH: usize = 64;

/// A multi-row `INSERT OR FAIL` into one table: the statement for [`BATCH`] rows prepared once,
/// the one for a shorter remainder from the connection's statement cache.
///
/// `OR FAIL`, not the default ABORT: a statement that may abort halfway through several rows
/// makes SQLite keep a statement journal (a copy of every page it touches) to undo just that
/// statement. The import never needs that: any failed statement fails the import, and the
/// part in progress is rolled back.
struct Rows<'c> {
    tx: &'c Connection,
    head: String,
    /// One row: `#` for each of its own parameters, `?1`… for the shared ones.
    template: &'static str,
    /// Values the same in every row (`?1`…), bound once per statement.
    shared: Vec<rusqlite::types::Value>,
    per_row: usize,
    full: Statement<'c>,
}

impl<'c> Rows<'c> {
    fn new(
        tx: &'c Connection,
        insert: &str,
        template: &'static str,
        shared: Vec<rusqlite::types::Value>,
    ) -> Result<Self, StoreError> {
        let head = format!(
            "{}VALUES ",
            insert.replacen("INSERT INTO", "INSERT OR FAIL INTO", 1)
        );
        let per_row = template.matches('#').count();
        let mut full = tx
            .prepare(&Self::sql(&head, template, shared.len(), per_row, BATCH))
            .map_err(sqlite_error)?;
        for (i, v) in shared.iter().enumerate() {
            full.raw_bind_parameter(i + 1, v).map_err(sqlite_error)?;
        }
        Ok(Self {
            tx,
            head,
            template,
            shared,
            per_row,
            full,
        })
    }

    /// The statement text for `n` rows: row `r`'s `#`s become `?k` after the shared ones.
    fn sql(head: &str, template: &str, shared: usize, per_row: usize, n: usize) -> String {
        let mut sql = String::with_capacity(head.len() + n * (template.len() + 4 * per_row));
        sql.push_str(head);
        let mut k = shared;
        for r in 0..n {
            if r > 0 {
                sql.push_str(", ");
            }
            for c in template.chars() {
                if c == '#' {
                    k += 1;
                    sql.push('?');
                    sql.push_str(&k.to_string());
                } else {
                    sql.push(c);
                }
            }
        }
        sql
    }

    /// Writes `items` in order, [`BATCH`] rows a statement; `bind` binds one item's own
    /// parameters, the first at the index it is given.
    fn write<T>(
        &mut self,
        items: &[T],
        mut bind: impl FnMut(&mut Statement<'_>, usize, &T) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let shared = self.shared.len();
        for batch in items.chunks(BATCH) {
            let mut short;
            let stmt: &mut Statement<'_> = if batch.len() == BATCH {
                &mut self.full
            } else {
                let sql = Self::sql(&self.head, self.template, shared, self.per_row, batch.len());
                short = self.tx.prepare_cached(&sql).map_err(sqlite_error)?;
                for (i, v) in self.shared.iter().enumerate() {
                    short.raw_bind_parameter(i + 1, v).map_err(sqlite_error)?;
                }
                &mut short
            };
            for (r, item) in batch.iter().enumerate() {
                bind(stmt, shared + r * self.per_row + 1, item).map_err(sqlite_error)?;
            }
            stmt.raw_execute().map_err(sqlite_error)?;
        }
        Ok(())
    }
}

/// Binds `values` from index `at` on.
fn bind_all(
    stmt: &mut Statement<'_>,
    at: usize,
    values: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<()> {
    for (i, v) in values.iter().enumerate() {
        stmt.raw_bind_parameter(at + i, v)?;
    }
    Ok(())
}

/// The kinds of key a line is matched by, as [`Seen`] keeps them apart.
#[derive(Clone, Copy, Hash)]
enum KeyKind {
    External,
    Email,
    Phone,
}

impl KeyKind {
    /// In the order a line is matched by.
    const ALL: [Self; 3] = [Self::External, Self::Email, Self::Phone];

    /// The line's keys of this kind, in order.
    fn keys(self, r: &ImportRow) -> Vec<&str> {
        match self {
            Self::External => r.external_id.iter().map(String::as_str).collect(),
            Self::Email => r.emails.iter().map(|e| e.as_str()).collect(),
            Self::Phone => r.phones.iter().map(|p| p.as_str()).collect(),
        }
    }
}

/// A Bloom filter of the keys the database holds (external ids, addresses, numbers): those it
/// held when the filter was filled, and every one the import has written since. A key the
/// filter has never seen is certainly not stored, so its lookup is skipped: a file of new
/// people then costs no index search for its matching, only for its inserts. A key it may have
/// seen is looked up as before. Should it ever miss a stored key, the insert of that key meets
/// its UNIQUE constraint and the import fails whole: never a twin. A fixed size (16 MiB), so
/// memory stays flat: beyond a few million keys it only grows less selective.
struct Seen {
    bits: Vec<u64>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl Seen {
    /// 2^27 bits: about 1% false positives at 13 million keys with [`Self::HASHES`] probes.
    const BITS: usize = 1 << 27;
    const HASHES: u64 = 7;
    /// Stored keys read at most: a database holding more gets no filter, as reading them all
    /// would cost more than the lookups it saves on a file of ordinary length.
    const MAX_STORED: usize = 4_000_000;

    /// The filter of every key stored now, or `None` when there are more than [`Self::MAX_STORED`].
    fn of_stored(tx: &Connection) -> Result<Option<Self>, StoreError> {
        let mut seen = Self {
            bits: vec![0; Self::BITS / 64],
            hasher: hashbrown::DefaultHashBuilder::default(),
        };
        let mut read = 0usize;
        for (kind, sql) in [
            (
                KeyKind::External,
                "SELECT external_id FROM contacts WHERE external_id IS NOT NULL",
            ),
            (KeyKind::Email, "SELECT email FROM contact_emails"),
            (KeyKind::Phone, "SELECT phone FROM contact_phones"),
        ] {
            let mut stmt = tx.prepare(sql).map_err(sqlite_error)?;
            let mut rows = stmt.query([]).map_err(sqlite_error)?;
            while let Some(row) = rows.next().map_err(sqlite_error)? {
                read += 1;
                if read > Self::MAX_STORED {
                    return Ok(None);
                }
                let key = row.get_ref(0).map_err(sqlite_error)?;
                seen.insert(
                    kind,
                    key.as_str()
                        .map_err(|_| StoreError::Corrupt("contact key"))?,
                );
            }
        }
        Ok(Some(seen))
    }

    /// The bits of `key`: double hashing of one 64-bit hash (Kirsch and Mitzenmacher).
    fn probes(&self, kind: KeyKind, key: &str) -> impl Iterator<Item = usize> + use<> {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one((kind, key));
        let (a, b) = (h & 0xFFFF_FFFF, (h >> 32) | 1);
        let mask = (Self::BITS - 1) as u64;
        (0..Self::HASHES).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) & mask) as usize)
    }

    fn insert(&mut self, kind: KeyKind, key: &str) {
        for bit in self.probes(kind, key) {
            if let Some(word) = self.bits.get_mut(bit / 64) {
                *word |= 1 << (bit % 64);
            }
        }
    }

    fn may_hold(&self, kind: KeyKind, key: &str) -> bool {
        self.probes(kind, key).all(|bit| {
            self.bits
                .get(bit / 64)
                .is_some_and(|w| w & (1 << (bit % 64)) != 0)
        })
    }
}

/// Where a line's person is: already in the database (with whether they were erased), or
/// created by an earlier line of the chunk being written (an index into its new contacts).
#[derive(Clone, Copy)]
enum Found {
    Stored(uuid::Uuid, bool),
    New(usize),
}

/// A line, with what its writing needs that no database read decides: the keyed hashes of
/// its addresses and numbers, the JSON and folded name of the contact it may create, and the
/// evidence of its events with a fresh salt and the digest for each.
/// Shared with the PostgreSQL writer (import.rs).
pub(crate) struct Line {
    pub(crate) row: ImportRow,
    pub(crate) email_hashes: Vec<Vec<u8>>,
    pub(crate) phone_hashes: Vec<Vec<u8>>,
    pub(crate) attributes: String,
    pub(crate) purposes: String,
    pub(crate) name_folded: Option<String>,
    pub(crate) evidence: String,
    /// Per consent of the line: the salt of its evidence and the evidence's digest.
    pub(crate) proofs: Vec<([u8; 32], [u8; 32])>,
}

/// What the preparing thread hands the writer.
enum Prepared {
    Lines(Vec<Line>),
    Commit,
}

/// Prepares a chunk's lines (see [`Line`]).
fn prepare(job: &Job, rows: Vec<ImportRow>) -> Result<Vec<Line>, StoreError> {
    prepare_lines(
        &job.suppression_key,
        job.entropy.as_ref(),
        &job.events,
        rows,
    )
}

/// Prepares a chunk's lines (see [`Line`]) with the suppression list's key: shared with the
/// PostgreSQL writer (import.rs).
pub(crate) fn prepare_lines(
    key: &[u8; 32],
    entropy: &dyn Entropy,
    events: &EventMaker,
    rows: Vec<ImportRow>,
) -> Result<Vec<Line>, StoreError> {
    let n_events: usize = rows.iter().map(|r| r.consents.len()).sum();
    let mut salts = vec![0u8; 32 * n_events];
    entropy.fill(&mut salts)?;
    let mut salts = salts.chunks_exact(32);
    rows.into_iter()
        .map(|row| {
            let email_hashes = row
                .emails
                .iter()
                .map(|e| crate::contacts::keyed_hash(key, "email", e.as_str()))
                .collect::<Result<Vec<_>, _>>()?;
            let phone_hashes = row
                .phones
                .iter()
                .map(|p| crate::contacts::keyed_hash(key, "phone", p.as_str()))
                .collect::<Result<Vec<_>, _>>()?;
            let attributes: serde_json::Map<String, serde_json::Value> = row
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            let evidence = events.evidence(row.line);
            let mut proofs = Vec::with_capacity(row.consents.len());
            for _ in &row.consents {
                let mut salt = [0u8; 32];
                salt.copy_from_slice(salts.next().ok_or(StoreError::Entropy)?);
                proofs.push((salt, evidence_digest(&salt, &evidence)));
            }
            Ok(Line {
                email_hashes,
                phone_hashes,
                attributes: serde_json::Value::Object(attributes).to_string(),
                purposes: serde_json::Value::from(row.purposes.clone()).to_string(),
                name_folded: row.name.as_deref().map(consento_domain::fold_for_search),
                evidence,
                proofs,
                row,
            })
        })
        .collect()
}

/// An event of the chunk, chained, with its evidence.
struct NewEvent<'r> {
    record: EventRecord,
    hash: [u8; 32],
    line: &'r Line,
    /// The index of its consent in the line.
    consent: usize,
}

/// What a chunk creates, until it is written: its lines match earlier lines of the same
/// chunk here, and earlier chunks in the database. Bounded by the chunk, so memory stays flat.
#[derive(Default)]
struct Pending<'r> {
    /// The lines that create a contact, with its id.
    contacts: Vec<(uuid::Uuid, &'r Line)>,
    by_external: HashMap<&'r str, usize>,
    by_email: HashMap<&'r str, usize>,
    by_phone: HashMap<&'r str, usize>,
    events: Vec<NewEvent<'r>>,
    /// (contact, type index, event time, kind) of the chunk's events.
    event_keys: HashSet<(uuid::Uuid, usize, i64, &'static str)>,
}

/// The statements of the run, prepared once, and where the chain is.
///
/// Every reference it writes is one it has just read or written in this transaction: a line's
/// contact is one its lookups found or one it created; its channels and events name that
/// contact; each evidence row names an event written with it; consent types were checked by
/// [`ready`]. That is why the foreign keys are not checked row by row.
struct Writer<'c> {
    job: &'c Job,
    tx: &'c Connection,
    /// The filter of stored keys, filled at the second chunk (a file of one chunk needs none);
    /// `None` before, or for a database with too many keys.
    seen: Option<Seen>,
    chunks: usize,
    suppressed: Statement<'c>,
    by_external: Statement<'c>,
    by_email: Statement<'c>,
    by_phone: Statement<'c>,
    has_event: Statement<'c>,
    contacts: Rows<'c>,
    emails: Rows<'c>,
    phones: Rows<'c>,
    events: Rows<'c>,
    evidence: Rows<'c>,
    project: Statement<'c>,
    /// Whether the suppression list has any entry: nothing but this transaction, which holds
    /// the write lock and adds none, could change that, so an empty list is not searched.
    any_suppressed: bool,
    contact_ids: AscendingIds,
    event_ids: AscendingIds,
    seq: i64,
    prev: [u8; 32],
}

impl<'c> Writer<'c> {
    fn new(tx: &'c Connection, job: &'c Job, seq: i64, prev: [u8; 32]) -> Result<Self, StoreError> {
        use rusqlite::types::Value;
        let p = |sql: &str| tx.prepare(sql).map_err(sqlite_error);
        let now = job.now.as_micros();
        let actor = &job.events.actor;
        Ok(Self {
            job,
            tx,
            seen: None,
            chunks: 0,
            suppressed: p("SELECT 1 FROM suppression WHERE hash = $1")?,
            by_external: p(
                "SELECT id, erased_at IS NOT NULL FROM contacts WHERE external_id = $1",
            )?,
            by_email: p(
                "SELECT c.id, c.erased_at IS NOT NULL FROM contact_emails e JOIN contacts c ON c.id = e.contact_id WHERE e.email = $1",
            )?,
            by_phone: p(
                "SELECT c.id, c.erased_at IS NOT NULL FROM contact_phones p JOIN contacts c ON c.id = p.contact_id WHERE p.phone = $1",
            )?,
            has_event: p(
                "SELECT 1 FROM consent_events WHERE contact_id = $1 AND consent_type_id = $2 AND event_time = $3 AND kind = $4",
            )?,
            // created_at and updated_at: the import's instant.
            contacts: Rows::new(
                tx,
                INSERT_CONTACT,
                "(#, #, #, #, #, #, #, #, #, #, #, ?1, ?1, #)",
                vec![Value::Integer(now)],
            )?,
            emails: Rows::new(tx, INSERT_EMAIL, "(#, #, #)", Vec::new())?,
            phones: Rows::new(tx, INSERT_PHONE, "(#, #, #)", Vec::new())?,
            // recorded_at, method, actor_kind and actor_id: the same for every event of the
            // import (EventMaker::record).
            events: Rows::new(
                tx,
                crate::inserts::INSERT_EVENTS,
                "(#, #, #, #, #, #, #, ?1, ?2, ?3, ?4, #, #, #, #, #)",
                vec![
                    Value::Integer(now),
                    Value::Text(CollectionMethod::Import.code().to_owned()),
                    Value::Text(actor.kind.code().to_owned()),
                    Value::Text(actor.id.clone()),
                ],
            )?,
            evidence: Rows::new(tx, INSERT_EVIDENCE, "(#, #, #)", Vec::new())?,
            project: p(PROJECT_RANGE)?,
            any_suppressed: tx
                .query_row("SELECT EXISTS (SELECT 1 FROM suppression)", [], |r| {
                    r.get(0)
                })
                .map_err(sqlite_error)?,
            contact_ids: AscendingIds::new(job.now, job.entropy.as_ref())?,
            event_ids: AscendingIds::new(job.now, job.entropy.as_ref())?,
            seq,
            prev,
        })
    }

    /// Takes up the chain at `seq`/`prev` after another process wrote between two parts, and
    /// forgets what it assumed of the database: the stored keys (the filter is read again)
    /// and whether the suppression list is empty.
    fn refresh(&mut self, seq: i64, prev: [u8; 32]) -> Result<(), StoreError> {
        self.seq = seq;
        self.prev = prev;
        self.any_suppressed = self
            .tx
            .query_row("SELECT EXISTS (SELECT 1 FROM suppression)", [], |r| {
                r.get(0)
            })
            .map_err(sqlite_error)?;
        if self.seen.is_some() {
            self.seen = Seen::of_stored(self.tx)?;
        }
        Ok(())
    }

    /// The first contact with one of `keys`: created earlier in the chunk (`pending`), or
    /// stored (looked up with `stmt`). A key is never in both: a line creates a contact only
    /// when none of its keys is stored.
    /// A key [`Seen`] has never seen is not looked up.
    fn find<'k>(
        stmt: &mut Statement<'c>,
        pending: &HashMap<&str, usize>,
        (seen, kind): (Option<&Seen>, KeyKind),
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<Option<Found>, StoreError> {
        for k in keys {
            if let Some(i) = pending.get(k) {
                return Ok(Some(Found::New(*i)));
            }
            if seen.is_some_and(|s| !s.may_hold(kind, k)) {
                continue;
            }
            let found = stmt
                .query_row([k], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, bool>(1)?)))
                .optional()
                .map_err(sqlite_error)?;
            if let Some((id, erased)) = found {
                let id =
                    uuid::Uuid::from_slice(&id).map_err(|_| StoreError::Corrupt("contact id"))?;
                return Ok(Some(Found::Stored(id, erased)));
            }
        }
        Ok(None)
    }

    /// Writes one chunk of lines, in file order: each line is matched and chained in memory,
    /// then the chunk's rows are written table by table, then projected and checked.
    fn chunk(&mut self, lines: &[Line]) -> Result<(), StoreError> {
        let job = self.job;
        let first_seq = self.seq;
        let mut new_ids = self
            .contact_ids
            .take(lines.len(), job.entropy.as_ref())?
            .into_iter();
        let n_events: usize = lines.iter().map(|l| l.row.consents.len()).sum();
        let mut event_ids = self
            .event_ids
            .take(n_events, job.entropy.as_ref())?
            .into_iter()
            .map(EventId);
        if self.chunks == 1 {
            self.seen = Seen::of_stored(self.tx)?;
        }
        self.chunks += 1;
        let mut pending = Pending::default();
        let (mut written, mut matched, mut skipped) = (0usize, 0usize, 0usize);
        for line in lines {
            let r = &line.row;
            // 1. The suppression list, by keyed hash of every address and number.
            let mut suppressed = false;
            for h in line
                .email_hashes
                .iter()
                .chain(&line.phone_hashes)
                .filter(|_| self.any_suppressed)
            {
                if self
                    .suppressed
                    .exists([h.as_slice()])
                    .map_err(sqlite_error)?
                {
                    suppressed = true;
                    break;
                }
            }
            if suppressed {
                skipped += 1;
                continue;
            }
            // 2. The known contact by external id, then email, then phone: earlier chunks of
            // the file are in the database already (this transaction wrote them).
            let mut found = None;
            for kind in KeyKind::ALL {
                let (stmt, new) = match kind {
                    KeyKind::External => (&mut self.by_external, &pending.by_external),
                    KeyKind::Email => (&mut self.by_email, &pending.by_email),
                    KeyKind::Phone => (&mut self.by_phone, &pending.by_phone),
                };
                found = Self::find(stmt, new, (self.seen.as_ref(), kind), kind.keys(r))?;
                if found.is_some() {
                    break;
                }
            }
            let (contact_id, stored) = match found {
                // An erased person is never brought back (GDPR Art. 17).
                Some(Found::Stored(_, true)) => {
                    skipped += 1;
                    continue;
                }
                Some(Found::Stored(id, false)) => {
                    matched += 1;
                    (id, true)
                }
                Some(Found::New(i)) => {
                    matched += 1;
                    let id = pending.contacts.get(i).map(|c| c.0);
                    (id.ok_or(StoreError::Corrupt("import contact"))?, false)
                }
                None => {
                    let id = new_ids.next().ok_or(StoreError::Entropy)?;
                    let i = pending.contacts.len();
                    for kind in KeyKind::ALL {
                        let new = match kind {
                            KeyKind::External => &mut pending.by_external,
                            KeyKind::Email => &mut pending.by_email,
                            KeyKind::Phone => &mut pending.by_phone,
                        };
                        for key in kind.keys(r) {
                            new.entry(key).or_insert(i);
                            if let Some(seen) = &mut self.seen {
                                seen.insert(kind, key);
                            }
                        }
                    }
                    pending.contacts.push((id, line));
                    (id, false)
                }
            };
            written += 1;
            // 3. The line's events, chained from the head. An event the contact already has
            // (same type, kind and time) is not recorded again, so a re-import adds nothing.
            for (consent, c) in r.consents.iter().enumerate() {
                let (Some((type_id, _, _)), Some((_, digest))) =
                    (job.events.types.get(c.type_index), line.proofs.get(consent))
                else {
                    continue;
                };
                let time = c.event_time.as_micros();
                let key = (contact_id, c.type_index, time, c.kind.code());
                let repeated = pending.event_keys.contains(&key)
                    || (stored
                        && self
                            .has_event
                            .exists(rusqlite::params![
                                contact_id.as_bytes().as_slice(),
                                type_id.0.as_bytes().as_slice(),
                                time,
                                c.kind.code()
                            ])
                            .map_err(sqlite_error)?);
                if repeated {
                    continue;
                }
                let Some(id) = event_ids.next() else {
                    break;
                };
                let Some(record) = job.events.record(
                    self.seq + 1,
                    id,
                    ContactId(contact_id),
                    c,
                    *digest,
                    self.prev,
                ) else {
                    continue;
                };
                let hash = record.hash();
                self.seq = record.seq;
                self.prev = hash;
                pending.event_keys.insert(key);
                pending.events.push(NewEvent {
                    record,
                    hash,
                    line,
                    consent,
                });
            }
        }
        let created = pending.contacts.len();
        let events = pending.events.len();
        self.flush(&pending)?;
        if events > 0 {
            // The projection the trigger would have made, event by event in ledger order (ORDER
            // BY seq): an older backdated event does not override a newer state.
            self.project
                .execute([first_seq, self.seq])
                .map_err(sqlite_error)?;
        }
        let p = &job.progress;
        ImportProgress::add(&p.rows_written, written);
        ImportProgress::add(&p.contacts_created, created);
        ImportProgress::add(&p.contacts_matched, matched);
        ImportProgress::add(&p.skipped_suppressed, skipped);
        ImportProgress::add(&p.events_written, events);
        Ok(())
    }

    /// Writes what the chunk created, table by table.
    fn flush(&mut self, pending: &Pending<'_>) -> Result<(), StoreError> {
        let source = self.job.events.source.as_str();
        self.contacts.write(&pending.contacts, |s, at, (id, l)| {
            let r = &l.row;
            bind_all(
                s,
                at,
                &[
                    &id.as_bytes().as_slice(),
                    &r.external_id,
                    &r.name,
                    &r.emails.first().map(|e| e.as_str()),
                    &l.email_hashes.first().map(Vec::as_slice),
                    &r.phones.first().map(|p| p.as_str()),
                    &l.phone_hashes.first().map(Vec::as_slice),
                    &l.attributes,
                    &r.source.as_deref().unwrap_or(source),
                    &r.legal_basis.map(LegalBasis::code),
                    &l.purposes,
                    &l.name_folded,
                ],
            )
        })?;
        let channels = |kind: KeyKind| -> Vec<(&str, uuid::Uuid, i64)> {
            pending
                .contacts
                .iter()
                .flat_map(|(id, l)| {
                    kind.keys(&l.row)
                        .into_iter()
                        .enumerate()
                        .map(move |(i, v)| (v, *id, i as i64))
                })
                .collect()
        };
        let bind_channel = |s: &mut Statement<'_>, at: usize, c: &(&str, uuid::Uuid, i64)| {
            bind_all(s, at, &[&c.0, &c.1.as_bytes().as_slice(), &c.2])
        };
        self.emails.write(&channels(KeyKind::Email), bind_channel)?;
        self.phones.write(&channels(KeyKind::Phone), bind_channel)?;
        self.events.write(&pending.events, |s, at, e| {
            let r = &e.record;
            bind_all(
                s,
                at,
                &[
                    &r.seq,
                    &r.id.0.as_bytes().as_slice(),
                    &r.contact_id.0.as_bytes().as_slice(),
                    &r.consent_type_id.0.as_bytes().as_slice(),
                    &r.type_code,
                    &r.kind.code(),
                    &r.event_time.as_micros(),
                    &r.notice_id
                        .map(|n| n.0.into_bytes())
                        .as_ref()
                        .map(|b| b.as_slice()),
                    &r.validity_days.map(i64::from),
                    &r.evidence_digest.as_ref().map(|d| d.as_slice()),
                    &r.prev_hash.as_slice(),
                    &e.hash.as_slice(),
                ],
            )
        })?;
        self.evidence.write(&pending.events, |s, at, e| {
            let salt = e.line.proofs.get(e.consent).map(|p| p.0.as_slice());
            bind_all(s, at, &[&e.record.seq, &salt, &e.line.evidence])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(std::sync::atomic::AtomicU8);

    impl Entropy for Counter {
        fn fill(&self, buf: &mut [u8]) -> Result<(), StoreError> {
            for b in buf {
                *b = self.0.fetch_add(97, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(())
        }
    }

    #[test]
    fn ascending_ids_are_uuidv7_of_the_instant_and_ascend_across_takes() {
        let at = Timestamp::from_micros(1_717_000_000_123_456);
        let entropy = Counter(std::sync::atomic::AtomicU8::new(255));
        let mut ids = AscendingIds::new(at, &entropy).unwrap();
        let mut all = ids.take(1_000, &entropy).unwrap();
        all.extend(ids.take(1_000, &entropy).unwrap());
        assert_eq!(all.len(), 2_000);
        for pair in all.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
            // As SQLite compares them: the bytes of the blob.
            assert!(pair[0].as_bytes() < pair[1].as_bytes());
        }
        for id in &all {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            assert_eq!((secs, nanos / 1_000_000), (1_717_000_000, 123));
        }
    }
}
