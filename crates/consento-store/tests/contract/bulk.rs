//! Bulk loads: all or nothing.

use super::*;

#[tokio::test]
async fn a_bulk_load_with_one_bad_contact_writes_nothing() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let good = |i: usize| BulkContact { input: contact(&format!("g{i}@example.it")), events: vec![] };
        let mut batch: Vec<BulkContact> = (0..10).map(good).collect();
        batch.push(BulkContact { input: contact("g3@example.it"), events: vec![] });
        let err = env.store.bulk_load(batch).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "email", .. }), "{err:?}");
        assert!(env.store.search_contacts("g1@example.it", 5).await.unwrap().is_empty());
        let late = BulkContact {
            input: contact("late@example.it"),
            events: vec![BulkEvent { type_code: "NEWS".into(), kind: EventKind::Given, event_time: start().plus_days(1), method: CollectionMethod::Import, actor: operator(), evidence: None, notice_version: None }],
        };
        let err = env.store.bulk_load(vec![good(20), late]).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "event_time" && e.to_string().contains("contact 2")), "{err:?}");
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 0);
    });
}
