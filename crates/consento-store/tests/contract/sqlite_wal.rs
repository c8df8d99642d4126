//! SQLite's write-ahead log: checkpointed off the commit path, so it does not keep growing.

use super::*;

#[tokio::test]
async fn the_sqlite_wal_is_checkpointed_off_the_commit_path_and_does_not_keep_growing() {
    let env = envs().await.into_iter().next().unwrap();
    let Raw::Sqlite(path) = &env.raw else {
        unreachable!()
    };
    let wal = std::path::PathBuf::from(format!("{path}-wal"));
    env.store
        .create_consent_type(spec("NEWS", Some(365), newsletter()))
        .await
        .unwrap();
    let mut refs = Vec::new();
    for i in 0..300 {
        let c = env
            .store
            .create_contact(contact(&format!("wal{i}@example.it")))
            .await
            .unwrap();
        refs.push(ContactRef::Id(c.id));
    }
    let mut sizes = Vec::new();
    for _ in 0..3 {
        for r in &refs {
            env.store
                .record_consent(event(r, "NEWS", EventKind::Renewed, None))
                .await
                .unwrap();
        }
        sizes.push(std::fs::metadata(&wal).unwrap().len());
        // The checkpoint thread runs every 250 ms; the writer never checkpoints by itself.
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    }
    // Each burst rewrites the WAL from its start once the previous one was checkpointed; without
    // checkpoints the file would hold all three bursts.
    assert!(
        sizes[2] < sizes[0] * 2,
        "WAL sizes after each burst: {sizes:?}"
    );
    assert_eq!(env.store.verify_ledger().await.unwrap().events, 900);
    env.finish().await;
}

/// `n` new contacts from `first` on, each with a consent given with evidence.
fn batch(first: usize, n: usize) -> Vec<BulkContact> {
    (first..first + n)
        .map(|i| BulkContact {
            input: contact(&format!("bulk{i}@example.it")),
            events: vec![BulkEvent {
                type_code: "NEWS".into(),
                kind: EventKind::Given,
                event_time: days_before(start(), 1),
                method: CollectionMethod::Import,
                actor: operator(),
                evidence: Some(format!("line {i} of a file long enough to weigh a little")),
                notice_version: None,
            }],
        })
        .collect()
}

#[tokio::test]
async fn bulk_loads_keep_the_sqlite_wal_under_its_limit_between_batches_and_closing_empties_it() {
    let env = envs().await.into_iter().next().unwrap();
    let Raw::Sqlite(path) = &env.raw else {
        unreachable!()
    };
    let wal = std::path::PathBuf::from(format!("{path}-wal"));
    let limit = 512 * 1024;
    let loader = env.second_store_with(|c| c.sqlite_wal_limit = limit).await;
    loader
        .create_consent_type(spec("NEWS", Some(365), newsletter()))
        .await
        .unwrap();
    let mut sizes = Vec::new();
    for k in 0..6 {
        // Each batch alone writes more than the limit to the WAL.
        loader.bulk_load(batch(k * 1_000, 1_000)).await.unwrap();
        sizes.push(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    assert!(
        sizes.iter().all(|s| *s <= limit),
        "WAL sizes after each batch (limit {limit}): {sizes:?}"
    );
    assert_eq!(loader.wal_bytes(), Some(sizes[5]));
    loader.close().await;
    env.store.close().await;
    // The last connection to close removes the WAL; a store closed while another process
    // reads leaves it truncated.
    assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
    env.finish().await;
}

#[tokio::test]
async fn a_closed_store_leaves_every_commit_in_the_database_file_alone() {
    let env = envs().await.into_iter().next().unwrap();
    let Raw::Sqlite(path) = &env.raw else {
        unreachable!()
    };
    env.store
        .create_consent_type(spec("NEWS", Some(365), newsletter()))
        .await
        .unwrap();
    let c = env
        .store
        .create_contact(contact("alone@example.it"))
        .await
        .unwrap();
    for i in 0..200 {
        let kind = if i % 2 == 0 {
            EventKind::Given
        } else {
            EventKind::Withdrawn
        };
        env.store
            .record_consent(event(&ContactRef::Id(c.id), "NEWS", kind, None))
            .await
            .unwrap();
    }
    env.store.close().await;
    // A copy of the database file only, as a file backup takes it.
    let copy = format!("{path}.copy");
    std::fs::copy(path, &copy).unwrap();
    let reopened = Store::open(
        &StoreConfig::new(format!("sqlite:{copy}"), test_key()),
        env.clock.clone(),
        Arc::new(OsEntropy),
    )
    .await
    .unwrap();
    assert_eq!(reopened.verify_ledger().await.unwrap().events, 200);
    reopened.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{copy}{suffix}"));
    }
    env.finish().await;
}

#[tokio::test]
async fn a_new_sqlite_database_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = envs().await.into_iter().next().unwrap();
    let Raw::Sqlite(path) = &env.raw else {
        unreachable!()
    };
    env.store
        .create_consent_type(spec("NEWS", Some(365), newsletter()))
        .await
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let mode = std::fs::metadata(format!("{path}{suffix}"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{path}{suffix}: {mode:o}");
    }
    env.finish().await;
}
