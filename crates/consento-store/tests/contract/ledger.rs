//! The consent ledger: validities kept as they were when given, no event dated in the future,
//! append-only rows, verification naming the first altered, removed, inserted or moved event, no
//! plain personal data, one unbroken chain across processes, and appends committed together.

use super::*;

#[tokio::test]
async fn a_consent_keeps_the_validity_in_force_when_it_was_given() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("v@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        let given = days_before(start(), 10);
        let ev = env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(given))).await.unwrap();
        assert_eq!(ev.expires_at, Some(given.plus_days(365)));
        env.store.update_consent_type("NEWS", spec("NEWS", Some(30), newsletter())).await.unwrap();
        let history = env.store.consent_history(&r).await.unwrap();
        assert_eq!(history[0].validity_days, Some(365));
        let current = env.store.current_consents(&r).await.unwrap();
        assert_eq!(current[0].expires_at, Some(given.plus_days(365)));
        assert!(current[0].valid);
    });
}

#[tokio::test]
async fn an_event_dated_in_the_future_is_refused_and_nothing_is_recorded() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("f@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        let tomorrow = start().plus_days(1);
        let err = env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(tomorrow))).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "event_time"), "{err:?}");
        assert!(env.store.consent_history(&r).await.unwrap().is_empty());
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 0);
    });
}

#[tokio::test]
async fn the_database_refuses_to_update_or_delete_ledger_events() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("l@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None)).await.unwrap();
        let update = env.raw_sql("UPDATE consent_events SET kind = 'withdrawn'").await.unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = env.raw_sql("DELETE FROM consent_events").await.unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
        if env.is_postgres() {
            let truncate = env.raw_sql("TRUNCATE consent_events CASCADE").await.unwrap_err();
            assert!(truncate.to_string().contains("append-only"), "{truncate}");
        }
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 1);
    });
}

/// Three contacts, each with two events: six events in the ledger.
async fn ledger_of_six(env: &Env) {
    env.store
        .create_consent_type(spec("NEWS", Some(365), newsletter()))
        .await
        .unwrap();
    for i in 0..3 {
        let c = env
            .store
            .create_contact(contact(&format!("c{i}@example.it")))
            .await
            .unwrap();
        let r = ContactRef::Id(c.id);
        env.store
            .record_consent(event(
                &r,
                "NEWS",
                EventKind::Given,
                Some(days_before(start(), 5)),
            ))
            .await
            .unwrap();
        env.clock.advance(1_000_000);
        env.store
            .record_consent(event(&r, "NEWS", EventKind::Withdrawn, None))
            .await
            .unwrap();
    }
    assert_eq!(env.store.verify_ledger().await.unwrap().events, 6);
}

fn chain_error(err: StoreError) -> (i64, consento_domain::ledger::Break) {
    match err {
        StoreError::Chain(e) => (e.seq, e.problem),
        other => panic!("expected a chain error, got {other:?}"),
    }
}

#[tokio::test]
async fn ledger_verify_names_an_altered_event() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        env.raw_sql("UPDATE consent_events SET kind = 'given' WHERE seq = 4").await.unwrap();
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (4, Break::ContentAltered));
    });
}

#[tokio::test]
async fn ledger_verify_names_a_removed_event() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        env.raw_sql("DELETE FROM consent_events WHERE seq = 3").await.unwrap();
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (4, Break::SequenceGap));
    });
}

#[tokio::test]
async fn ledger_verify_notices_the_last_event_removed() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        env.raw_sql("DELETE FROM consent_events WHERE seq = 6").await.unwrap();
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (6, Break::Truncated));
    });
}

#[tokio::test]
async fn ledger_verify_names_an_inserted_event() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        // Make room at position 3 and slip a copy of event 1 in, renumbered.
        for seq in (3..=6).rev() {
            env.raw_sql(&format!("UPDATE consent_events SET seq = seq + 100 WHERE seq = {seq}")).await.unwrap();
        }
        env.raw_sql("UPDATE consent_events SET seq = seq - 99 WHERE seq > 100").await.unwrap();
        let copy = "INSERT INTO consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash) SELECT 3, contact_id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash FROM consent_events WHERE seq = 1";
        env.raw_sql(copy).await.unwrap();
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (3, Break::ContentAltered));
    });
}

#[tokio::test]
async fn ledger_verify_names_reordered_events() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        // Swap positions 2 and 3.
        env.raw_sql("UPDATE consent_events SET seq = 100 WHERE seq = 2").await.unwrap();
        env.raw_sql("UPDATE consent_events SET seq = 2 WHERE seq = 3").await.unwrap();
        env.raw_sql("UPDATE consent_events SET seq = 3 WHERE seq = 100").await.unwrap();
        // The event now at position 2 was hashed as position 3: its content no longer matches.
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (2, Break::ContentAltered));
    });
}

#[tokio::test]
async fn ledger_rows_hold_no_plain_personal_data() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(ContactInput {
            name: Some("Zaccaria Quintavalle".into()),
            emails: vec!["zaccaria.q@example.it".into()],
            phones: vec!["+39 347 555 0101".into()],
            ..ContactInput::default()
        }).await.unwrap();
        let mut e = event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None);
        e.evidence = Some("modulo firmato da zaccaria.q@example.it".into());
        env.store.record_consent(e).await.unwrap();
        // The evidence is kept, apart from the ledger.
        let h = env.store.consent_history(&ContactRef::Id(c.id)).await.unwrap();
        assert_eq!(h[0].evidence.as_deref(), Some("modulo firmato da zaccaria.q@example.it"));
        // No ledger column holds the name, the address or the number.
        for needle in ["Zaccaria", "zaccaria.q@example.it", "3475550101"] {
            let sql = format!(
                "INSERT INTO consent_types (id, code, title, validity_days, allow_email_bulk, allow_email_single, allow_phone_call, allow_sms_single, allow_sms_bulk, show_in_preference_center, created_at, updated_at) SELECT id, 'leak', 'leak', NULL, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, 0, 0 FROM consent_events WHERE type_code LIKE '%{needle}%' OR actor_id LIKE '%{needle}%' OR method LIKE '%{needle}%' OR kind LIKE '%{needle}%'"
            );
            env.raw_sql(&sql).await.unwrap();
        }
        let leaked = env.store.consent_type("leak").await;
        assert!(matches!(leaked, Err(StoreError::NotFound { .. })), "personal data found in the ledger");
    });
}

#[tokio::test]
async fn two_processes_appending_to_one_ledger_keep_one_unbroken_chain() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let other = env.second_store().await;
        let c = env.store.create_contact(contact("two@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        // Each store caches the head after its own append; the other's appends make it stale.
        for i in 0..6 {
            let store = if i % 2 == 0 { &env.store } else { &other };
            let kind = if i % 3 == 0 { EventKind::Given } else { EventKind::Renewed };
            let e = store.record_consent(event(&r, "NEWS", kind, None)).await.unwrap();
            assert_eq!(e.seq, i + 1);
            env.clock.advance(1_000);
        }
        // Concurrently from both.
        let appends = (0..20).map(|i| {
            let store = if i % 2 == 0 { &env.store } else { &other };
            store.record_consent(event(&r, "NEWS", EventKind::Renewed, None))
        });
        for result in futures_util::future::join_all(appends).await {
            result.unwrap();
        }
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 26);
        assert_eq!(env.store.consent_history(&r).await.unwrap().len(), 26);
        other.close().await;
    });
}

#[tokio::test]
async fn a_validity_changed_by_another_process_is_the_one_recorded() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("val@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
        let other = env.second_store().await;
        other.update_consent_type("NEWS", spec("NEWS", Some(90), newsletter())).await.unwrap();
        let e = env.store.record_consent(event(&r, "NEWS", EventKind::Renewed, None)).await.unwrap();
        assert_eq!(e.expires_at, Some(start().plus_days(90)));
        let history = env.store.consent_history(&r).await.unwrap();
        assert_eq!(history.iter().map(|h| h.validity_days).collect::<Vec<_>>(), vec![Some(365), Some(90)]);
        other.close().await;
    });
}

#[tokio::test]
async fn a_consent_for_an_erased_or_unknown_contact_is_refused() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("gone@example.it")).await.unwrap();
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE email = 'gone@example.it'").await.unwrap();
        let err = env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "contact", .. }), "{err:?}");
        let unknown = consento_domain::ContactId(uuid::Uuid::from_u128(42));
        let err = env.store.record_consent(event(&ContactRef::Id(unknown), "NEWS", EventKind::Given, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { entity: "contact" }), "{err:?}");
        let err = env.store.record_consent(event(&ContactRef::Id(c.id), "NOPE", EventKind::Given, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { entity: "consent type" }), "{err:?}");
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 0);
    });
}

#[tokio::test]
async fn a_backdated_withdrawal_recorded_late_does_not_override_a_newer_consent() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("b@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 2)))).await.unwrap();
        env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, Some(days_before(start(), 30)))).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(d.decision.is_allowed(), "{d:?}");
        // A withdrawal after the consent does override it.
        env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, Some(days_before(start(), 1)))).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Withdrawn { .. } }), "{d:?}");
    });
}

#[tokio::test]
async fn appends_arriving_together_are_committed_together_and_a_bad_one_fails_alone() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let mut refs = Vec::new();
        for i in 0..40 {
            let c = env.store.create_contact(contact(&format!("group{i}@example.it"))).await.unwrap();
            refs.push(ContactRef::Id(c.id));
        }
        // All good: committed in groups.
        let good = refs.iter().map(|r| env.store.record_consent(event(r, "NEWS", EventKind::Given, None)));
        for result in futures_util::future::join_all(good).await {
            result.unwrap();
        }
        let stats = env.store.group_commit_stats();
        assert!(stats.groups >= 1 && stats.grouped_events >= 20, "{stats:?}");
        let ghost = ContactRef::Id(consento_domain::ContactId(uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)));
        let mut inputs: Vec<ConsentEventInput> = refs.iter().map(|r| event(r, "NEWS", EventKind::Given, None)).collect();
        // One event names a contact that does not exist; one carries evidence.
        inputs.insert(17, event(&ghost, "NEWS", EventKind::Given, None));
        inputs[3].evidence = Some("form #3".into());
        let results = futures_util::future::join_all(inputs.into_iter().map(|i| env.store.record_consent(i))).await;
        let failed: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
        assert_eq!(failed, vec![17]);
        assert!(matches!(results[17], Err(StoreError::NotFound { .. })));
        let mut seqs: Vec<i64> = results.iter().flatten().map(|e| e.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (41..=80).collect::<Vec<_>>());
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 80);
        for r in &refs {
            assert!(env.store.current_consents(r).await.unwrap().iter().any(|c| c.valid));
        }
        let history = env.store.consent_history(&refs[3]).await.unwrap();
        assert!(history.iter().any(|h| h.evidence.as_deref() == Some("form #3")));
    });
}

#[tokio::test]
async fn grouped_appends_from_two_processes_keep_one_chain_and_answer_only_what_was_recorded() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let other = env.second_store().await;
        let mut refs = Vec::new();
        for i in 0..12 {
            refs.push(ContactRef::Id(env.store.create_contact(contact(&format!("two{i}@example.it"))).await.unwrap().id));
        }
        let erased = env.store.create_contact(contact("erased@example.it")).await.unwrap();
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE email = 'erased@example.it'").await.unwrap();
        let ghost = ContactRef::Id(consento_domain::ContactId(uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002)));
        let mut acked = Vec::new();
        for round in 0..3 {
            let mut inputs: Vec<ConsentEventInput> = refs.iter().enumerate().map(|(i, r)| {
                let mut e = event(r, "NEWS", EventKind::Given, None);
                if i % 4 == 1 {
                    e.evidence = Some(format!("form {round}-{i}"));
                }
                e
            }).collect();
            // After a first round of good events only, three bad ones among the good ones, each
            // failing for its own reason.
            let bad = if round == 0 { vec![] } else { vec![3, 8, 11] };
            if round > 0 {
                inputs.insert(3, event(&ContactRef::Id(erased.id), "NEWS", EventKind::Given, None));
                inputs.insert(8, event(&ghost, "NEWS", EventKind::Given, None));
                inputs.insert(11, event(&refs[0], "NOPE", EventKind::Given, None));
            }
            // Both processes at once, each committing its appends in groups.
            let appends = inputs.into_iter().enumerate().map(|(i, e)| {
                let store = if i % 2 == 0 { &env.store } else { &other };
                store.record_consent(e)
            });
            let results = futures_util::future::join_all(appends).await;
            let failed: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
            assert_eq!(failed, bad, "round {round}: {results:?}");
            if round > 0 {
                assert!(matches!(results[3], Err(StoreError::Conflict { field: "contact", .. })), "{:?}", results[3]);
                assert!(matches!(results[8], Err(StoreError::NotFound { entity: "contact" })), "{:?}", results[8]);
                assert!(matches!(results[11], Err(StoreError::NotFound { entity: "consent type" })), "{:?}", results[11]);
            }
            acked.extend(results.into_iter().flatten());
            if round == 1 {
                // Another process changes the type: what this one knows of it is now stale.
                other.update_consent_type("NEWS", spec("NEWS", Some(90), newsletter())).await.unwrap();
            }
        }
        // Both processes committed groups. (Counted over the three rounds: whether a round's
        // appends meet in a group depends on when each finishes its reads, which a busy
        // machine spreads out.)
        assert!(env.store.group_commit_stats().groups >= 1, "{:?}", env.store.group_commit_stats());
        assert!(other.group_commit_stats().groups >= 1, "{:?}", other.group_commit_stats());
        // One chain, with no gap where a failed event was: every answer is a recorded event.
        let mut seqs: Vec<i64> = acked.iter().map(|e| e.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=36).collect::<Vec<_>>());
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 36);
        assert_eq!(other.verify_ledger().await.unwrap().events, 36);
        // Each event is in the ledger as its writer was told: same place, same hash.
        let mut recorded = BTreeMap::new();
        for r in &refs {
            for h in env.store.consent_history(r).await.unwrap() {
                recorded.insert(h.id, (h.seq, h.hash, h.evidence));
            }
        }
        assert_eq!(recorded.len(), 36);
        for e in &acked {
            let (seq, hash, _) = &recorded[&e.id];
            assert_eq!((*seq, hash), (e.seq, &e.hash));
        }
        assert_eq!(recorded.values().filter(|(_, _, evidence)| evidence.is_some()).count(), 9);
        // The last round was written with the validity the type has now.
        for e in &acked[24..] {
            assert_eq!(e.expires_at, Some(e.event_time.plus_days(90)), "{e:?}");
        }
        other.close().await;
    });
}
