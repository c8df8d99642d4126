//! SQLite imports in parts: a file whose writes pass half the WAL limit commits part by part
//! once the whole file is known to be clean, so the WAL stays bounded; a bad line found late
//! still writes nothing; a run stopped after a part keeps it, and the same file completes it,
//! also when another process wrote between two parts.

use super::*;
use consento_store::{FileCheck, ImportChunk, ImportProgress, ImportSpec};
use std::sync::Arc;

/// The WAL limit of the importing store.
const LIMIT: u64 = 1024 * 1024;

/// The header `imports::import_mapping` reads.
const HEADER: [&str; 6] = ["Codice", "Nome", "Email", "Telefono", "Data", "Stato"];

/// Chunks of `per_chunk` parsed lines, people `from..to` (`P{i}`, `p{i}@example.it`).
fn chunks(
    store: &Store,
    from: usize,
    to: usize,
    per_chunk: usize,
) -> Vec<Vec<consento_domain::import::ImportRow>> {
    let plan = super::imports::import_mapping()
        .plan(&HEADER, |c| c == "NEWS")
        .unwrap();
    let rows: Vec<_> = (from..to)
        .map(|i| {
            let line = format!("P{i},Persona numero {i} con un nome lungo abbastanza,p{i}@example.it,,2024-03-15,dato");
            let fields: Vec<&str> = line.split(',').collect();
            plan.parse(i as u64 + 2, &fields, store.now(), &consento_domain::Zone::rome(), "39")
                .unwrap()
        })
        .collect();
    rows.chunks(per_chunk).map(<[_]>::to_vec).collect()
}

fn import_spec(check: Arc<FileCheck>) -> ImportSpec {
    ImportSpec {
        source: "crm-x".into(),
        file_name: "export.csv".into(),
        file_sha256: [9; 32],
        codes: vec!["NEWS".into()],
        actor: operator(),
        run_id: uuid::Uuid::nil(),
        check,
    }
}

/// A store on the same SQLite file as `env`'s (another process, as far as locks go), whose
/// WAL limit is 1 MiB.
async fn small_wal_store(env: &Env) -> (Store, std::path::PathBuf) {
    let Raw::Sqlite(path) = &env.raw else {
        unreachable!()
    };
    let wal = std::path::PathBuf::from(format!("{path}-wal"));
    let store = env.second_store_with(|c| c.sqlite_wal_limit = LIMIT).await;
    store
        .create_consent_type(spec("NEWS", Some(730), newsletter()))
        .await
        .unwrap();
    (store, wal)
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("not reached in 5 s");
}

#[tokio::test]
async fn a_long_import_commits_in_parts_and_keeps_the_wal_under_its_limit() {
    let env = envs().await.into_iter().next().unwrap();
    let (store, wal) = small_wal_store(&env).await;
    env.raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let progress = Arc::new(ImportProgress::default());
    let spec = import_spec(FileCheck::passed());
    let rows = chunks(&env.store, 0, 4_000, 100);
    let sender = tokio::spawn(async move {
        for chunk in rows {
            tx.send(ImportChunk::Rows(chunk)).await.unwrap();
        }
        tx.send(ImportChunk::Commit).await.unwrap();
    });
    // The WAL's size, sampled while the import runs.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            peak
        })
    };
    store.import_rows(&spec, rx, &progress).await.unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    sender.await.unwrap();
    // Written in one transaction, the WAL would hold all 4,000 lines (several MiB).
    assert!(progress.committed().is_some(), "no part committed");
    assert!(peak > 0 && peak < LIMIT, "peak WAL: {peak} bytes");
    assert_eq!(store.wal_bytes(), Some(0));
    let counts = progress.snapshot();
    assert_eq!(
        (counts.contacts_created, counts.events_written),
        (4_000, 4_000)
    );
    assert_eq!(env.store.verify_ledger().await.unwrap().events, 4_000);
    assert_eq!(
        env.raw_count("SELECT COUNT(*) FROM pragma_foreign_key_check")
            .await,
        0
    );
    assert_eq!(
        env.raw_count("SELECT COUNT(*) FROM consent_state").await,
        4_000
    );
    // The ledger's triggers are back once it ends.
    assert_eq!(env.raw_count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ('consent_events_chain', 'consent_events_project')").await, 2);
    store.close().await;
    env.finish().await;
}

#[tokio::test]
async fn a_bad_line_found_after_the_wal_passed_its_bound_still_writes_nothing() {
    let env = envs().await.into_iter().next().unwrap();
    let (store, _) = small_wal_store(&env).await;
    let check = Arc::new(FileCheck::default());
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let progress = Arc::new(ImportProgress::default());
    let spec = import_spec(check.clone());
    let head = env.store.verify_ledger().await.unwrap().events;
    let rows = chunks(&env.store, 0, 4_000, 100);
    let sender = tokio::spawn(async move {
        for chunk in rows {
            if tx.send(ImportChunk::Rows(chunk)).await.is_err() {
                break;
            }
        }
    });
    let checker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            // The writer passed the bound and waits for the check, before the end of the
            // file: the check then finds a bad line.
            wait_until(|| progress.snapshot().rows_written > 0).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let waiting = !sender.is_finished();
            check.finish(false);
            sender.await.unwrap();
            waiting
        })
    };
    let result = store.import_rows(&spec, rx, &progress).await;
    assert!(
        checker.await.unwrap(),
        "the writer did not wait for the check"
    );
    assert!(result.is_err());
    assert!(progress.committed().is_none());
    assert_eq!(env.raw_count("SELECT COUNT(*) FROM contacts").await, 0);
    assert_eq!(env.store.verify_ledger().await.unwrap().events, head);
    store.close().await;
    env.finish().await;
}

#[tokio::test]
async fn a_run_stopped_after_a_part_keeps_it_and_the_same_file_completes_it_after_another_process_wrote()
 {
    let env = envs().await.into_iter().next().unwrap();
    let (store, _) = small_wal_store(&env).await;
    let store = Arc::new(store);
    // A first chunk past the bound (a part commits after it), a second one under it.
    let first = chunks(&env.store, 0, 2_000, 2_000).remove(0);
    let second = chunks(&env.store, 2_000, 2_050, 50).remove(0);
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let progress = Arc::new(ImportProgress::default());
    let spec = import_spec(FileCheck::passed());
    let writer = {
        let (store_progress, spec) = (progress.clone(), spec.clone());
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.import_rows(&spec, rx, &store_progress).await })
    };
    tx.send(ImportChunk::Rows(first)).await.unwrap();
    wait_until(|| progress.committed().is_some()).await;
    // Between two parts another process adds a person the next part names, and a consent.
    let other = env
        .store
        .create_contact(contact("p2020@example.it"))
        .await
        .unwrap();
    env.store
        .record_consent(event(
            &ContactRef::Id(other.id),
            "NEWS",
            EventKind::Withdrawn,
            None,
        ))
        .await
        .unwrap();
    tx.send(ImportChunk::Rows(second)).await.unwrap();
    // The process stops before the end of the file.
    drop(tx);
    assert!(writer.await.unwrap().is_err());
    let kept = progress.committed().unwrap();
    assert_eq!(kept.contacts_created, 2_000);
    assert_eq!(env.raw_count("SELECT COUNT(*) FROM contacts").await, 2_001);
    env.store.verify_ledger().await.unwrap();

    // The same file again: what the first part wrote is not repeated, and the person the
    // other process added is matched, not duplicated.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let again = Arc::new(ImportProgress::default());
    let rows = chunks(&env.store, 0, 3_000, 500);
    let sender = tokio::spawn(async move {
        for chunk in rows {
            tx.send(ImportChunk::Rows(chunk)).await.unwrap();
        }
        tx.send(ImportChunk::Commit).await.unwrap();
    });
    store.import_rows(&spec, rx, &again).await.unwrap();
    sender.await.unwrap();
    let counts = again.snapshot();
    assert_eq!(counts.contacts_created, 999, "{counts:?}");
    assert_eq!(counts.events_written, 1_000, "{counts:?}");
    assert_eq!(env.raw_count("SELECT COUNT(*) FROM contacts").await, 3_000);
    assert_eq!(env.store.verify_ledger().await.unwrap().events, 3_001);
    assert_eq!(
        env.raw_count("SELECT COUNT(*) FROM pragma_foreign_key_check")
            .await,
        0
    );
    store.close().await;
    env.finish().await;
}
