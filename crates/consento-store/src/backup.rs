//! Backups of a SQLite database and their restore. A backup is a consistent copy of a running
//! database (`VACUUM INTO`: one read transaction, so it holds every commit made before it began
//! and none after, and writers go on meanwhile), written to a new file readable by its owner
//! only, and verified: its own ledger is walked before its head is reported. A restore verifies
//! the copy the same way before it replaces anything. On PostgreSQL the server's own tools do
//! both (`pg_dump`, `pg_restore`).
//!
//! Neither holds anything kept outside the database (keys given in the configuration): those
//! are backed up on their own, and kept apart from the copies of the data.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use consento_domain::sealed::MasterKey;
use consento_domain::{Clock, DomainError};
use rusqlite::{Connection, OpenFlags};

use crate::wal::wal_of;
use crate::{Entropy, LedgerReport, Store, StoreConfig, StoreError};

fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid(DomainError::invalid(field, reason))
}

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!("sqlite: {e}")))
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(e))
}

/// `<file>-shm`: SQLite's shared-memory index of an open database in WAL mode.
fn shm_of(path: &Path) -> PathBuf {
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    PathBuf::from(shm)
}

/// Creates `path` empty, readable by its owner only; refuses an existing file (a backup never
/// overwrites one: it may be the only good copy).
fn create_new_private(path: &Path, field: &'static str) -> Result<std::fs::File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => invalid(
                field,
                format!(
                    "`{}` exists: nothing is overwritten; name a new file",
                    path.display()
                ),
            ),
            _ => invalid(field, format!("cannot create `{}`: {e}", path.display())),
        })
}

/// Flushes the directory holding `path`, so that a file created or renamed in it survives a
/// power loss under its new name.
fn sync_dir(path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes a consistent copy of the SQLite database `db` to the new file `to` (mode 0600),
/// while other processes go on reading and writing it. The copy is flushed to disk before this
/// returns; on failure no partial copy is left behind.
pub async fn backup_sqlite(db: &Path, to: &Path) -> Result<(), StoreError> {
    let (db, to) = (db.to_owned(), to.to_owned());
    tokio::task::spawn_blocking(move || {
        if !db.is_file() {
            return Err(invalid(
                "database_url",
                format!("no database at `{}`", db.display()),
            ));
        }
        let file = create_new_private(&to, "to")?;
        let copied = (|| {
            // VACUUM INTO reads in one read transaction and takes no write lock, so writers are
            // never held off. The connection may write all the same: as the last one to close
            // the file (no server running) it removes the -wal and -shm files it opened.
            let conn = Connection::open_with_flags(
                &db,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(sqlite_error)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(sqlite_error)?;
            let target = to
                .to_str()
                .ok_or_else(|| invalid("to", "the file name is not valid UTF-8"))?;
            // VACUUM INTO writes into an existing file only when it is empty, as this one is:
            // it keeps the permissions it was created with.
            conn.execute("VACUUM INTO ?1", [target])
                .map_err(sqlite_error)?;
            file.sync_all().map_err(io_error)?;
            sync_dir(&to);
            Ok(())
        })();
        if copied.is_err() {
            let _ = std::fs::remove_file(&to);
        }
        copied
    })
    .await
    .map_err(|_| StoreError::Corrupt("the backup stopped unexpectedly"))?
}

/// Opens the SQLite database at `path` on its own with the installation's master key (a copy
/// sealed under another key is refused, as at start), walks its ledger, and closes it again
/// (checkpointed: the file alone stays complete).
pub async fn verify_sqlite_file(
    path: &Path,
    master_key: MasterKey,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
) -> Result<LedgerReport, StoreError> {
    let mut config = StoreConfig::new(format!("sqlite:{}", path.display()), master_key);
    config.decision_cache_entries = 0;
    config.max_connections = 1;
    let store = Store::open(&config, clock, entropy).await?;
    let report = store.verify_ledger().await;
    store.close().await;
    report
}

/// Replaces the SQLite database `db` with the backup `from`, after verifying the backup's
/// ledger on a copy beside `db`; refuses while another process (a server, a command) has `db`
/// open. The old file is replaced by a rename, in one step.
pub async fn restore_sqlite(
    from: &Path,
    db: &Path,
    master_key: MasterKey,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
) -> Result<LedgerReport, StoreError> {
    if !from.is_file() {
        return Err(invalid("from", format!("no file `{}`", from.display())));
    }
    refuse_open(db)?;
    let mut staged = db.as_os_str().to_owned();
    staged.push(".restoring");
    let staged = PathBuf::from(staged);
    // Left over by a restore that was interrupted: never a database in use.
    for leftover in [staged.clone(), wal_of(&staged), shm_of(&staged)] {
        let _ = std::fs::remove_file(leftover);
    }
    let (source, target) = (from.to_owned(), staged.clone());
    tokio::task::spawn_blocking(move || {
        let mut out = create_new_private(&target, "database_url")?;
        let mut input = std::fs::File::open(&source)
            .map_err(|e| invalid("from", format!("cannot read `{}`: {e}", source.display())))?;
        std::io::copy(&mut input, &mut out).map_err(io_error)?;
        out.sync_all().map_err(io_error)
    })
    .await
    .map_err(|_| StoreError::Corrupt("the restore stopped unexpectedly"))??;
    let report = match verify_sqlite_file(&staged, master_key, clock, entropy).await {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(match e {
                StoreError::Chain(_) => e,
                _ => invalid(
                    "from",
                    format!("`{}` is not a readable Consento database", from.display()),
                ),
            });
        }
    };
    // Checked again: a server may have started while the copy was verified.
    if let Err(e) = refuse_open(db) {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    std::fs::rename(&staged, db).map_err(io_error)?;
    sync_dir(db);
    Ok(report)
}

/// Refuses a database that some process has open, or that was not closed cleanly: SQLite keeps
/// `-wal` and `-shm` files beside an open database and removes them when the last connection
/// closes.
fn refuse_open(db: &Path) -> Result<(), StoreError> {
    if !(wal_of(db).exists() || shm_of(db).exists()) {
        return Ok(());
    }
    // A -wal or -shm file alone does not mean the database is open: a command that ended can
    // leave them, empty. Leaving WAL mode needs every other connection closed (SQLite, "PRAGMA
    // journal_mode": the old mode is returned when it cannot change), so asking for it is the
    // test: it succeeds (and checkpoints, removing both files) only when no process has the
    // database open.
    let closed = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .and_then(|conn| {
            conn.busy_timeout(std::time::Duration::ZERO)?;
            conn.query_row("PRAGMA journal_mode = DELETE", [], |row| {
                row.get::<_, String>(0)
            })
        })
        .is_ok_and(|mode| mode.eq_ignore_ascii_case("delete"));
    if closed {
        return Ok(());
    }
    Err(invalid(
        "database_url",
        format!(
            "`{}` is open by another process (a server or a command): stop it first",
            db.display()
        ),
    ))
}
