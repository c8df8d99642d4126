//! The SQLite database file as the complete copy of the data: created readable by its owner
//! only, its write-ahead log kept bounded during bulk writes, and checkpointed into the file and
//! truncated when the store closes, so that the file alone (a copy, a backup of the file) holds
//! every commit. Without it the recent commits live only in `<file>-wal`, and a copy of the
//! file would silently miss them while its own ledger still verified.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::{Db, Store, StoreError};

/// `<file>-wal`: SQLite's name for the write-ahead log of `file`.
pub(crate) fn wal_of(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// The WAL's size in bytes (0 when there is none).
pub(crate) fn wal_size(path: &Path) -> u64 {
    std::fs::metadata(wal_of(path)).map_or(0, |m| m.len())
}

/// Creates the database file, empty and readable by its owner only, if it does not exist yet:
/// SQLite creates a new file with the process's default permissions (often world-readable),
/// and gives its `-wal` and `-shm` files the permissions of the database file. The file holds
/// personal data (GDPR Art. 32(1): access limited to those who need it).
pub(crate) fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(sqlx::Error::Io(e))),
    }
}

/// Copies the whole WAL into the database file and cuts it to zero bytes, on a connection of its
/// own; `true` when done (no reader kept it from finishing).
pub(crate) fn checkpoint_truncate(path: &Path, wait: Duration) -> Result<bool, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error)?;
    checkpoint_on(&conn, wait)
}

/// As [`checkpoint_truncate`], on an open connection (outside a transaction).
pub(crate) fn checkpoint_on(conn: &Connection, wait: Duration) -> Result<bool, StoreError> {
    // PASSIVE first copies what it can without holding anyone off; TRUNCATE then copies what
    // is left, waits for the readers and truncates.
    conn.busy_timeout(wait).map_err(sqlite_error)?;
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .map_err(sqlite_error)?;
    for _ in 0..ATTEMPTS {
        let busy: i64 = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(sqlite_error)?;
        if busy == 0 {
            return Ok(true);
        }
        std::thread::sleep(RETRY_AFTER);
    }
    Ok(false)
}

/// How long a bulk write waits between two of its transactions for the WAL to be cut once it
/// passed its limit: it holds other writers off meanwhile, which a bulk load may, and a WAL that
/// the store's checkpoint thread is busy copying would otherwise grow through attempt after
/// attempt (measured: the WAL of a million-contact demo peaked at 928 MiB with 80 ms of tries).
const BULK_CHECKPOINT_WAIT: Duration = Duration::from_secs(2);

/// Checkpoints tried at least before giving up: one finds the checkpoint lock taken, without waiting,
/// while the store's checkpoint thread copies (fastread.rs); it is free again milliseconds later.
const ATTEMPTS: usize = 4;
const RETRY_AFTER: Duration = Duration::from_millis(20);

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!("sqlite: {e}")))
}

impl Store {
    /// SQLite: checkpoints and truncates the WAL when it has grown past the configured limit
    /// (`StoreConfig::sqlite_wal_limit`). Called by bulk writes between their transactions, so
    /// that loading millions of rows never needs several times the database's size in disk:
    /// the background checkpointer cannot restart a WAL that a writer keeps appending to.
    /// Best effort: the batch before it has committed, and a checkpoint kept from finishing by
    /// a reader is tried again after the next batch.
    pub(crate) async fn bound_wal(&self) {
        match &self.sqlite_file {
            Some(path) if wal_size(path) > self.wal_limit => {
                self.truncate_wal_within(BULK_CHECKPOINT_WAIT).await;
            }
            _ => {}
        }
    }

    /// SQLite: copies the WAL into the database and cuts it to zero bytes on the writer's
    /// connection, waiting at most `wait` for readers of older snapshots (other writers are
    /// held off meanwhile). Best effort: what called it has committed; a checkpoint kept from
    /// finishing is done by the next one.
    pub(crate) async fn truncate_wal_within(&self, wait: Duration) {
        let Db::Sqlite { write, .. } = &self.db else {
            return;
        };
        let Ok(mut conn) = write.acquire().await else {
            return;
        };
        let set_wait = format!("PRAGMA busy_timeout = {}", wait.as_millis());
        let _ = sqlx::query(sqlx::AssertSqlSafe(set_wait))
            .execute(&mut *conn)
            .await;
        // Tried again until `wait` has passed: the store's checkpoint thread, copying a large
        // WAL, holds the checkpoint lock for as long as the copy takes.
        let deadline = std::time::Instant::now() + wait;
        for attempt in 0.. {
            let done: Result<(i64, i64, i64), sqlx::Error> =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&mut *conn)
                    .await;
            if !matches!(done, Ok((1, _, _)))
                || (attempt + 1 >= ATTEMPTS && std::time::Instant::now() >= deadline)
            {
                break;
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
        // Back to the writer's own wait (lib.rs).
        let _ = sqlx::query("PRAGMA busy_timeout = 10000")
            .execute(&mut *conn)
            .await;
    }

    /// The size in bytes of the SQLite WAL now (`None` on PostgreSQL).
    pub fn wal_bytes(&self) -> Option<u64> {
        self.sqlite_file.as_deref().map(wal_size)
    }
}
