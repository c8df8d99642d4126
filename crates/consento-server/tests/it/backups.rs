//! The SQLite file as the copy of everything: complete after a clean stop of the server or of a
//! command, backed up while the server writes, restored with its ledger verified; and every file
//! Consento writes readable by its owner only.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::cli::set_up;
use crate::ops::{serve, token};
use crate::support::Scratch;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn file(db: &Scratch, suffix: &str) -> PathBuf {
    db.dir.join(format!("consento.db{suffix}"))
}

fn wal_bytes(db: &Scratch) -> u64 {
    std::fs::metadata(file(db, "-wal")).map_or(0, |m| m.len())
}

/// A new scratch directory holding `db`'s master key file, as an operator keeps the key apart
/// from the data and brings both back: the secrets in a copy open only under it.
fn with_key_of(db: &Scratch) -> Scratch {
    let other = Scratch::new();
    let key = "consento-master-key";
    std::fs::copy(db.dir.join(key), other.dir.join(key)).unwrap();
    other
}

/// A scratch database made of a copy of `db`'s database file only (not its -wal).
fn copy_of_file(db: &Scratch) -> Scratch {
    let copy = with_key_of(db);
    std::fs::copy(file(db, ""), file(&copy, "")).unwrap();
    copy
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: &Value) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn new_contact(client: &reqwest::Client, base: &str, token: &str, n: usize) -> String {
    let (status, body) = post(
        client,
        format!("{base}/v1/contacts"),
        token,
        &json!({ "external_id": format!("B-{n}") }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Gives or withdraws (by `n`) the newsletter consent; the event's id once acknowledged.
async fn consent(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    contact: &str,
    n: usize,
) -> Option<String> {
    let kind = if n.is_multiple_of(2) {
        "given"
    } else {
        "withdrawn"
    };
    let (status, body) = post(
        client,
        format!("{base}/v1/contacts/{contact}/consents"),
        token,
        &json!({ "kind": kind, "type_code": "NEWSLETTER", "method": "form" }),
    )
    .await;
    (status == 201).then(|| body["event_id"].as_str().unwrap().to_owned())
}

fn events(db: &Scratch) -> i64 {
    db.json(&["ledger", "verify"])["events"].as_i64().unwrap()
}

#[tokio::test]
async fn a_stopped_server_leaves_every_acknowledged_consent_in_the_database_file_alone() {
    let db = Scratch::new();
    set_up(&db);
    let write = token(&db, "write");
    let served = serve(&db, &[("CONSENTO_LOG_LEVEL", "warn")]);
    // The database and the files SQLite keeps beside it while the server runs.
    for suffix in ["", "-wal", "-shm"] {
        assert_eq!(mode(&file(&db, suffix)), 0o600, "consento.db{suffix}");
    }
    let client = reqwest::Client::new();
    let contact = new_contact(&client, &served.base, &write, 1).await;
    let mut acknowledged = 0;
    for n in 0..300 {
        if consent(&client, &served.base, &write, &contact, n)
            .await
            .is_some()
        {
            acknowledged += 1;
        }
    }
    assert_eq!(acknowledged, 300);
    let (clean, logs) = served.stop();
    assert!(clean, "{logs}");
    assert_eq!(wal_bytes(&db), 0);
    // Copying the database file alone, as a file-level backup would, keeps every event.
    let copy = copy_of_file(&db);
    assert_eq!(events(&copy), 300);
}

#[test]
fn a_command_leaves_every_commit_in_the_database_file_alone_readable_by_its_owner_only() {
    let db = Scratch::new();
    db.ok(&["init"]);
    assert_eq!(mode(&file(&db, "")), 0o600);
    db.ok(&["demo", "--contacts", "2000"]);
    assert_eq!(mode(&file(&db, "")), 0o600);
    assert_eq!(wal_bytes(&db), 0, "the WAL is empty when the command ends");
    let copy = copy_of_file(&db);
    assert_eq!(events(&copy), events(&db));
    assert!(events(&db) > 2000);
}

#[test]
fn a_bulk_load_keeps_the_wal_under_its_configured_limit() {
    let db = Scratch::new().with_env("CONSENTO_SQLITE_WAL_LIMIT_MIB", "1");
    db.ok(&["init"]);
    // A thread of the test samples the WAL while the demo loads its batches.
    let wal = file(&db, "-wal");
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (wal, done) = (wal.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            peak
        })
    };
    db.ok(&["demo", "--contacts", "30000"]);
    done.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    // A batch of the demo (5,000 contacts) writes about 10 MiB; the limit is checked between
    // two, so the WAL never holds much more than one batch past it.
    assert!(peak < 24 * 1024 * 1024, "peak WAL {peak} bytes");
    assert_eq!(wal_bytes(&db), 0, "the WAL is empty when the command ends");
}

#[tokio::test]
async fn a_backup_taken_while_64_writers_append_restores_every_acknowledged_event() {
    let db = Scratch::new();
    set_up(&db);
    let write = token(&db, "write");
    let served = serve(&db, &[("CONSENTO_LOG_LEVEL", "warn")]);
    let base = served.base.clone();
    let client = reqwest::Client::new();
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..64 {
        let contact = new_contact(&client, &base, &write, w).await;
        let (client, base, write) = (client.clone(), base.clone(), write.clone());
        let (acknowledged, stop) = (Arc::clone(&acknowledged), Arc::clone(&stop));
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Some(id) = consent(&client, &base, &write, &contact, n).await {
                    acknowledged.lock().unwrap().push(id);
                }
                n += 1;
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let backup = db.dir.join("nightly.backup");
    let out = {
        let (db_url, backup) = (db.url.clone(), backup.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_consento"))
                .args(["--database-url", &db_url, "backup", "--to"])
                .arg(&backup)
                .env_remove("CONSENTO_DATABASE_URL")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    let during = acknowledged.lock().unwrap().len();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ledger verified") && stdout.contains("head seq"),
        "{stdout}"
    );
    assert!(
        before.len() > 64,
        "{} events before the backup",
        before.len()
    );
    assert!(during > before.len(), "writers went on during the backup");
    assert_eq!(mode(&backup), 0o600);

    // A backup never overwrites a file; a restore never replaces a database in use.
    let (code, err) = db.fails(&["backup", "--to", backup.to_str().unwrap()]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("exists"), "{err}");
    let (code, err) = db.fails(&["restore", "--from", backup.to_str().unwrap()]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("stop it first"), "{err}");
    let (clean, logs) = served.stop();
    assert!(clean, "{logs}");
    // Stopped, with the empty -wal and the -shm a finished command can leave behind: a restore
    // in place goes on (no process has the database open).
    std::fs::write(file(&db, "-wal"), b"").unwrap();
    std::fs::write(file(&db, "-shm"), vec![0u8; 32768]).unwrap();
    let printed = db.ok(&["restore", "--from", backup.to_str().unwrap()]);
    assert!(printed.contains("ledger verified"), "{printed}");

    let restored = with_key_of(&db);
    let printed = restored.ok(&["restore", "--from", backup.to_str().unwrap()]);
    assert!(printed.contains("ledger verified"), "{printed}");
    assert_eq!(mode(&file(&restored, "")), 0o600);
    let in_copy = events(&restored) as usize;
    assert!(in_copy >= before.len());
    let mut conn = sqlx::SqliteConnection::connect(&restored.url)
        .await
        .unwrap();
    let ids: std::collections::HashSet<String> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM consent_events")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|id| id.to_string())
            .collect();
    conn.close().await.unwrap();
    let missing: Vec<&String> = before.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing: {missing:?}"
    );
}

#[test]
fn a_backup_or_restore_of_a_broken_or_foreign_database_says_why_in_one_line() {
    let db = Scratch::new();
    db.ok(&["init"]);
    // Not a database: refused before anything is replaced.
    let junk = db.dir.join("junk.backup");
    std::fs::write(&junk, b"not a database").unwrap();
    let restored = Scratch::new();
    let (code, err) = restored.fails(&["restore", "--from", junk.to_str().unwrap()]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(!file(&restored, "").exists());
    // PostgreSQL has its own tools.
    let elsewhere = Scratch::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_consento"))
        .args([
            "--database-url",
            "postgres://consento@127.0.0.1:9/none",
            "backup",
            "--to",
        ])
        .arg(elsewhere.dir.join("pg.backup"))
        .current_dir(&elsewhere.dir)
        .env_remove("CONSENTO_MASTER_KEY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        (out.status.code(), err.lines().count()),
        (Some(1), 1),
        "{err}"
    );
    assert!(err.contains("pg_dump"), "{err}");
    // A pointer needs no master key: none was looked for, none was made.
    assert!(!elsewhere.dir.join("consento-master-key").exists());
}

#[test]
fn an_audience_written_to_a_file_is_readable_by_its_owner_only() {
    let db = Scratch::new();
    set_up(&db);
    let out = db.dir.join("audience.csv");
    db.ok(&[
        "audience",
        "--type",
        "NEWSLETTER",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(mode(&out), 0o600);
}
