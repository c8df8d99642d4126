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
