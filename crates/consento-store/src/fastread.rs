//! The hot read path on SQLite: the decision query on plain SQLite connections, called directly
//! on the calling thread. sqlx runs each SQLite connection on a worker thread of its own and
//! hands every statement across a channel, which costs far more than the indexed lookup itself
//! (a point lookup takes ≈ 7 µs); a dialer asks before every ring, so the decision must cost what
//! the lookup costs. Reads only: every write still goes through sqlx and its one writer
//! connection, and WAL gives each read a consistent snapshot.
//!
//! A statement here never waits on anything but SQLite's own work (no lock is held across an
//! await), so running it on an async worker thread blocks that thread for microseconds only.

use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;

use crate::StoreError;
use crate::decision_facts::{KEPT_CHANGES, WAL_HEADER};
use crate::row::Cols;

/// Idle read connections, opened on demand (at most one per thread reading at once).
#[derive(Debug)]
pub(crate) struct FastRead {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// The WAL index (`<file>-shm`), opened once: see [`FastRead::wal_header`].
    shm: OnceLock<Option<std::fs::File>>,
}

/// A bound parameter.
pub(crate) enum Param<'a> {
    Blob(&'a [u8]),
    Text(&'a str),
}

/// One result row, owned: column names shared, values by position.
pub(crate) struct OwnedRow<'n> {
    names: &'n [String],
    values: Vec<Value>,
}

impl FastRead {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            shm: OnceLock::new(),
        }
    }

    fn connection(&self) -> Result<Connection, StoreError> {
        if let Some(c) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fast_error)?;
        // Memory-mapped reads: a page is read from the mapping instead of copied in by a
        // `pread` into a page cache guarded by a mutex; on a database larger than memory allows,
        // SQLite maps what it can (its build caps the size) and reads the rest as before.
        c.execute_batch(
            "PRAGMA mmap_size = 17179869184; PRAGMA cache_size = -16384; PRAGMA busy_timeout = 5000;",
        )
            .map_err(fast_error)?;
        Ok(c)
    }

    /// The WAL-index header as it stands, without a transaction: SQLite rewrites it at every
    /// commit (its change counter, last frame and salts; <https://sqlite.org/walformat.html>,
    /// §2.1), so the same bytes twice mean no commit in between, by any process. Read with one
    /// `pread` instead of a read transaction's locks. `None` when the two copies differ (a
    /// commit is writing it) or the file cannot be read: the caller then reads the database.
    ///
    /// The file stays the same while this store has a connection open (SQLite removes it only
    /// when the last connection of every process closes), and this store keeps one open.
    pub(crate) fn wal_header(&self) -> Option<[u8; WAL_HEADER]> {
        let file = self
            .shm
            .get_or_init(|| {
                let mut shm = self.path.clone().into_os_string();
                shm.push("-shm");
                std::fs::File::open(shm).ok()
            })
            .as_ref()?;
        let mut both = [0u8; 2 * WAL_HEADER];
        file.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(WAL_HEADER);
        if first != second || first.iter().all(|b| *b == 0) {
            return None;
        }
        first.try_into().ok()
    }

    /// Closes the idle connections (the store is closing; a later read opens a new one).
    pub(crate) fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Runs `sql` with `params`, mapping each row with `map`.
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let conn = self.connection()?;
        let result = conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_map(params, map)?.collect());
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result.map_err(fast_error)
    }

    /// Runs `sql` with one parameter and hands the rows to `decode`.
    pub(crate) fn query<T>(
        &self,
        sql: &str,
        param: Param<'_>,
        decode: impl FnOnce(&[OwnedRow<'_>]) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match param {
            Param::Blob(b) => self.query_with(sql, [b], decode),
            Param::Text(t) => self.query_with(sql, [t], decode),
        }
    }

    /// Runs `sql` with `params` and hands the rows to `decode`.
    pub(crate) fn query_with<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        decode: impl FnOnce(&[OwnedRow<'_>]) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.connection()?;
        let result = (|| {
            let mut stmt = conn.prepare_cached(sql).map_err(fast_error)?;
            let names: Vec<String> = stmt
                .column_names()
                .iter()
                .map(|n| (*n).to_owned())
                .collect();
            let width = names.len();
            let mut rows = stmt.query(params).map_err(fast_error)?;
            let mut owned = Vec::new();
            while let Some(row) = rows.next().map_err(fast_error)? {
                let mut values = Vec::with_capacity(width);
                for i in 0..width {
                    values.push(row.get::<_, Value>(i).map_err(fast_error)?);
                }
                owned.push(values);
            }
            drop(rows);
            drop(stmt);
            let owned: Vec<OwnedRow<'_>> = owned
                .into_iter()
                .map(|values| OwnedRow {
                    names: &names,
                    values,
                })
                .collect();
            decode(&owned)
        })();
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result
    }
}

fn fast_error(e: rusqlite::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!("sqlite: {e}")))
}

impl OwnedRow<'_> {
    fn get(&self, col: &str) -> Result<&Value, StoreError> {
        self.names
            .iter()
            .position(|n| n == col)
            .and_then(|i| self.values.get(i))
            .ok_or(StoreError::Corrupt("a column the query does not return"))
    }
}

const WRONG_TYPE: StoreError = StoreError::Corrupt("a column of an unexpected type");

impl Cols for OwnedRow<'_> {
    fn uuid(&self, col: &str) -> Result<Uuid, StoreError> {
        self.opt_uuid(col)?.ok_or(WRONG_TYPE)
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, StoreError> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Blob(b) => Uuid::from_slice(b).map(Some).map_err(|_| WRONG_TYPE),
            _ => Err(WRONG_TYPE),
        }
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_int(col)?.ok_or(WRONG_TYPE)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Integer(i) => Ok(Some(*i)),
            _ => Err(WRONG_TYPE),
        }
    }
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.opt_text(col)?.ok_or(WRONG_TYPE)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t.clone())),
            _ => Err(WRONG_TYPE),
        }
    }
    fn flag(&self, col: &str) -> Result<bool, StoreError> {
        Ok(self.int(col)? != 0)
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        self.opt_bytes(col)?.ok_or(WRONG_TYPE)
    }
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Blob(b) => Ok(Some(b.clone())),
            _ => Err(WRONG_TYPE),
        }
    }
}

/// Checkpoints the WAL into the database file from a thread of its own, so that a commit never
/// pays for one: SQLite's automatic checkpoint runs inside the commit that crosses its threshold,
/// adding the copy and an fsync of the database file to that commit's latency (and, with group
/// commit, to every writer waiting on it). PASSIVE checkpoints never block readers or writers.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Taken by [`Checkpointer::stop`], whose caller waits for the thread (and so for its
    /// connection to close) before the store's last checkpoint.
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    /// How often the WAL is checked.
    const EVERY: std::time::Duration = std::time::Duration::from_millis(250);
    /// WAL frames (pages) past which the WAL is started over: 16,384 × 4 KiB = 64 MiB.
    const RESTART_FRAMES: i64 = 16_384;
    /// Frames a PASSIVE checkpoint may have left uncopied for a RESTART to follow it. RESTART
    /// copies what is left while holding the write lock: after a large import, a reader that
    /// kept PASSIVE from copying would make it copy gigabytes with every writer held off, for
    /// longer than their busy timeout. Past this backlog PASSIVE goes on copying, lock-free,
    /// at the next ticks; a backlog this small is copied in milliseconds.
    const RESTART_BACKLOG: i64 = 4_096;
    /// Ticks between two prunings of the decision change log (every 10 s): it keeps its last
    /// [`KEPT_CHANGES`] positions, far more than any process running decisions falls behind
    /// between two of them.
    const PRUNE_EVERY: u32 = 40;

    /// Starts the thread on an open database; `None` if it cannot, in which case the writer
    /// keeps SQLite's automatic checkpoint (see lib.rs).
    pub(crate) fn start(path: PathBuf) -> Option<Self> {
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        // RESTART holds writers off while it waits for readers: never longer than this.
        conn.execute_batch("PRAGMA busy_timeout = 20;").ok()?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || {
                // Ticks to wait before the next RESTART after one found a long reader (an
                // audience export, a ledger verification): doubled each time, up to ~16 s.
                let (mut wait, mut backoff) = (0u32, 1u32);
                let mut ticks = 0u32;
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Self::EVERY);
                    ticks = ticks.wrapping_add(1);
                    if ticks.is_multiple_of(Self::PRUNE_EVERY) {
                        // Busy (the writer holds the lock): pruned at a later tick.
                        let _ = conn.execute(
                            "DELETE FROM decision_changes WHERE seq < (SELECT max(seq) FROM decision_changes) - ?1",
                            [KEPT_CHANGES],
                        );
                    }
                    // A busy database is simply tried again at the next tick.
                    let (frames, copied) = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                        })
                        .unwrap_or((0, 0));
                    // Under constant load some reader is nearly always inside the WAL, so the
                    // writer never finds the moment to start it over and the file grows without
                    // end ("checkpoint starvation"). Past a bound, RESTART waits for the readers
                    // of the moment (microseconds each) and holds writers off until the WAL can
                    // start over: a pause of milliseconds instead of an ever longer file. A reader
                    // that stays (a long export) makes it give up after 20 ms and back off.
                    if frames > Self::RESTART_FRAMES && frames - copied <= Self::RESTART_BACKLOG {
                        if wait > 0 {
                            wait -= 1;
                            continue;
                        }
                        let busy = conn
                            .query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0))
                            .unwrap_or(1);
                        if busy == 0 {
                            backoff = 1;
                        } else {
                            wait = backoff;
                            backoff = (backoff * 2).min(64);
                        }
                    }
                }
            })
            .ok()?;
        Some(Self {
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Tells the thread to stop; returns it to be waited for (once).
    pub(crate) fn stop(&self) -> Option<std::thread::JoinHandle<()>> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.lock().ok()?.take()
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
