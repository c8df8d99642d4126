//! Bulk loads: all or nothing, and their ledger, evidence and current states as single appends
//! would leave them.

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

#[tokio::test]
async fn a_bulk_load_chains_its_events_and_leaves_the_current_states_single_appends_would() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        env.store.create_consent_type(spec("CALLS", None, single_email())).await.unwrap();
        let before = env.store.create_contact(contact("first@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(before.id), "NEWS", EventKind::Given, None)).await.unwrap();
        let at = |days: i64| days_before(start(), days);
        let e = |code: &str, kind: EventKind, time: Timestamp, evidence: Option<&str>| BulkEvent {
            type_code: code.into(),
            kind,
            event_time: time,
            method: CollectionMethod::Import,
            actor: operator(),
            evidence: evidence.map(str::to_owned),
            notice_version: None,
        };
        // Each contact's events out of order, with a tie in time (the later one given wins).
        let batch: Vec<BulkContact> = (0..40)
            .map(|i| BulkContact {
                input: ContactInput {
                    external_id: Some(format!("B{i}")),
                    phones: vec![format!("+39 333 000 {i:04}")],
                    ..contact(&format!("b{i}@example.it"))
                },
                events: vec![
                    e("NEWS", EventKind::Given, at(10), Some("paper form")),
                    e("NEWS", EventKind::Withdrawn, at(30), None),
                    e("CALLS", EventKind::Given, at(20 + i % 3), None),
                    e("CALLS", EventKind::Refused, at(20 + i % 3), Some("phone call")),
                ],
            })
            .collect();
        let report = env.store.bulk_load(batch).await.unwrap();
        assert_eq!((report.contacts, report.events), (40, 160));
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 161);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM consent_evidence").await, 80);
        assert_states_follow_the_ledger(env).await;
        // The same events appended one by one, through the ledger's triggers.
        let mirror = env.store.create_contact(contact("mirror@example.it")).await.unwrap();
        for (code, kind, time) in [
            ("NEWS", EventKind::Withdrawn, at(30)),
            ("NEWS", EventKind::Given, at(10)),
            ("CALLS", EventKind::Given, at(20)),
            ("CALLS", EventKind::Refused, at(20)),
        ] {
            env.store.record_consent(event(&ContactRef::Id(mirror.id), code, kind, Some(time))).await.unwrap();
        }
        let state = |cs: Vec<consento_store::CurrentConsent>| -> Vec<_> {
            cs.into_iter().map(|c| (c.code, c.kind, c.event_time, c.expires_at, c.valid)).collect()
        };
        let loaded = state(env.store.current_consents(&ContactRef::Id(report.contact_ids[0])).await.unwrap());
        let appended = state(env.store.current_consents(&ContactRef::Id(mirror.id)).await.unwrap());
        assert_eq!(loaded, appended);
        let b7 = env.store.contact(&ContactRef::Phone("+39 333 000 0007".into())).await.unwrap();
        assert_eq!(b7.external_id.as_deref(), Some("B7"));
        // Appends after the load chain from the head it left, and are projected.
        env.store.record_consent(event(&ContactRef::External("B7".into()), "NEWS", EventKind::Given, None)).await.unwrap();
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 166);
        assert_states_follow_the_ledger(env).await;
    });
}
