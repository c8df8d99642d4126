//! The newsletter audience kept in memory (audience_index.rs) against the same computed in SQL
//! every time, after every kind of change another store commits, as another process would: the
//! counts by cause and the list, on a store with the decision cache and on one without; and the
//! console's overview of every type (by state, and about to expire), which the same index gives.

use super::*;
use consento_domain::{Channel, Clock};
use consento_store::{AudienceMember, ErasureInput};

/// Everything the index answers equals what SQL computes from the tables now, for each type
/// filter and instant, on each store (the counts first, as the console's page asks).
async fn same_as_sql(stores: &[&Store], env: &Env, step: &str) {
    for (n, store) in stores.iter().enumerate() {
        // The console's overview of every type, now and in a month, with what expires in 90 days;
        // and in three centuries, past the instants the index keeps exactly (SQL answers).
        let far = env.clock.now().plus_days(100_000);
        for from in [env.clock.now(), env.clock.now().plus_days(30), far] {
            let what = format!("after: {step}; store {n}, overview at {from:?}");
            let by_code = |mut v: Vec<_>| {
                v.sort_by_key(|c: &consento_store::ConsentStateCounts| c.code.clone());
                v
            };
            assert_eq!(
                by_code(store.consent_state_counts(from).await.unwrap()),
                by_code(store.consent_state_counts_by_sql(from).await.unwrap()),
                "{what}"
            );
            let until = from.plus_days(90);
            let mut expiring = store.expiring_counts(from, until).await.unwrap();
            let mut reference = store.expiring_counts_by_sql(from, until).await.unwrap();
            expiring.sort_by_key(|c| c.code.clone());
            reference.sort_by_key(|c| c.code.clone());
            assert_eq!(expiring, reference, "{what}");
            // The console's overview gives both from one pass.
            let (mut states, mut expiring) = store.consent_overview(from, until).await.unwrap();
            states.sort_by_key(|c| c.code.clone());
            expiring.sort_by_key(|c| c.code.clone());
            assert_eq!(
                states,
                by_code(store.consent_state_counts_by_sql(from).await.unwrap()),
                "{what}"
            );
            assert_eq!(expiring, reference, "{what}");
        }
        for type_code in [None, Some("NEWS"), Some("PROMO")] {
            for at in [None, Some(env.clock.now().plus_days(30)), Some(far)] {
                let q = AudienceQuery {
                    type_code: type_code.map(str::to_owned),
                    at,
                };
                let what = format!("after: {step}; store {n}, {type_code:?} at {at:?}");
                let counts = store.audience_counts(&q).await;
                let reference = store.audience_counts_by_sql(&q).await;
                match (&counts, &reference) {
                    (Ok(c), Ok(r)) => assert_eq!(c, r, "{what}"),
                    (Err(c), Err(r)) => {
                        assert_eq!(c.to_string(), r.to_string(), "{what}");
                        continue;
                    }
                    _ => panic!("{what}: {counts:?} against {reference:?}"),
                }
                let mut list: Vec<AudienceMember> = store
                    .audience(&q)
                    .await
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
                let mut expected: Vec<AudienceMember> = store
                    .audience_by_sql(&q)
                    .await
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
                list.sort_by_key(|m| m.contact_id);
                expected.sort_by_key(|m| m.contact_id);
                assert_eq!(list, expected, "{what}");
                assert_eq!(
                    list.len() as i64,
                    reference.as_ref().unwrap().eligible,
                    "{what}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_audience_in_memory_follows_every_change_another_process_commits() {
    on_every_backend!(env => {
        let cached = &env.store;
        let uncached = env.second_store_with(|c| c.decision_cache_entries = 0).await;
        let stores = [cached, &uncached];
        let writer = env.second_store().await;
        writer.create_consent_type(spec("NEWS", Some(60), newsletter())).await.unwrap();
        let promo = Permissions { email_bulk: true, sms_bulk: true, ..Permissions::default() };
        writer.create_consent_type(spec("PROMO", Some(365), promo)).await.unwrap();
        writer.create_consent_type(spec("MAIL", None, single_email())).await.unwrap();
        let mut people = Vec::new();
        for i in 0..4 {
            let c = writer.create_contact(contact(&format!("p{i}@example.it"))).await.unwrap();
            people.push(ContactRef::Id(c.id));
        }
        let (a, b, c, d) = (&people[0], &people[1], &people[2], &people[3]);
        writer.record_consent(event(a, "NEWS", EventKind::Given, None)).await.unwrap();
        writer.record_consent(event(b, "PROMO", EventKind::Given, None)).await.unwrap();
        // The first answer builds the index.
        same_as_sql(&stores, env, "the first contacts and consents").await;
        assert_eq!(cached.audience_counts(&AudienceQuery::default()).await.unwrap().eligible, 2);

        // A contact with no consent at all counts too (no consent), and one without an address.
        writer.create_contact(contact("new@example.it")).await.unwrap();
        writer.create_contact(ContactInput { external_id: Some("CRM-9".into()), ..ContactInput::default() }).await.unwrap();
        same_as_sql(&stores, env, "contacts created without consent").await;

        env.clock.advance(1_000_000);
        writer.record_consent(event(a, "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        writer.record_consent(event(c, "NEWS", EventKind::Refused, None)).await.unwrap();
        writer.record_consent(event(d, "NEWS", EventKind::Given, None)).await.unwrap();
        writer.record_consent(event(d, "MAIL", EventKind::Given, None)).await.unwrap();
        same_as_sql(&stores, env, "a withdrawal, a refusal, consents given").await;

        // Valid no more: no write at all, the clock alone.
        env.clock.advance(61 * DAY);
        same_as_sql(&stores, env, "a consent expired by the clock").await;
        writer.record_consent(event(d, "NEWS", EventKind::Renewed, None)).await.unwrap();
        same_as_sql(&stores, env, "a consent renewed").await;

        writer.set_restricted(b, true).await.unwrap();
        same_as_sql(&stores, env, "a restriction").await;
        writer.set_restricted(b, false).await.unwrap();
        same_as_sql(&stores, env, "a restriction lifted").await;
        writer.set_objected(d, true).await.unwrap();
        same_as_sql(&stores, env, "an objection (and its suppression)").await;
        writer.set_channel(b, Channel::Email, true, CollectionMethod::PreferenceCenter, &operator(), None).await.unwrap();
        same_as_sql(&stores, env, "email switched off").await;
        writer.set_channel(b, Channel::Email, false, CollectionMethod::PreferenceCenter, &operator(), None).await.unwrap();
        same_as_sql(&stores, env, "email switched on again").await;
        writer.suppress(&ContactRef::Email("p1@example.it".into()), "bounce").await.unwrap();
        same_as_sql(&stores, env, "an address suppressed").await;

        writer.update_settings(PrivacySettings { check_email_bulk: false, ..PrivacySettings::default() }).await.unwrap();
        same_as_sql(&stores, env, "the newsletter check switched off").await;
        writer.update_settings(PrivacySettings::default()).await.unwrap();
        same_as_sql(&stores, env, "the newsletter check switched on").await;

        // A type that no longer permits bulk email, and one that now does.
        writer.update_consent_type("PROMO", spec("PROMO", Some(365), Permissions { sms_bulk: true, ..Permissions::default() })).await.unwrap();
        writer.update_consent_type("MAIL", spec("MAIL", None, Permissions { email_bulk: true, ..single_email() })).await.unwrap();
        same_as_sql(&stores, env, "consent types' permissions changed").await;

        // An address removed, and an erasure.
        writer.update_contact(c, ContactInput::default()).await.unwrap();
        same_as_sql(&stores, env, "an address removed").await;
        let ContactRef::Id(erased) = a else { unreachable!() };
        writer.erase_contact(*erased, &ErasureInput {
            reason: consento_domain::erasure::ErasureReason::Request,
            actor: operator(),
            by: consento_store::AuditActor::System,
            request_id: None,
        }).await.unwrap();
        same_as_sql(&stores, env, "an erasure").await;

        // A bulk load.
        let batch = (0..30).map(|i| BulkContact {
            input: contact(&format!("bulk{i}@example.it")),
            events: if i % 3 == 0 { vec![] } else { vec![BulkEvent {
                type_code: if i % 2 == 0 { "NEWS".into() } else { "MAIL".into() },
                kind: EventKind::Given,
                event_time: days_before(env.clock.now(), i),
                method: CollectionMethod::Import,
                actor: operator(),
                evidence: None,
                notice_version: None,
            }] },
        }).collect();
        writer.bulk_load(batch).await.unwrap();
        same_as_sql(&stores, env, "a bulk load").await;

        // The answers above came from memory: a change made behind the log's back (its trigger
        // dropped) is not seen, and the next one logged is.
        let drop = if env.is_postgres() { "DROP TRIGGER decision_changes_contact ON contacts" } else { "DROP TRIGGER decision_changes_contact" };
        let before = cached.audience_counts(&AudienceQuery::default()).await.unwrap();
        env.raw_sql(drop).await.unwrap();
        writer.set_restricted(b, true).await.unwrap();
        assert_eq!(cached.audience_counts(&AudienceQuery::default()).await.unwrap(), before);
        assert_ne!(cached.audience_counts_by_sql(&AudienceQuery::default()).await.unwrap(), before);
        writer.record_consent(event(b, "NEWS", EventKind::Given, None)).await.unwrap();
        let after = cached.audience_counts(&AudienceQuery::default()).await.unwrap();
        assert_eq!(after.excluded.get("restricted"), Some(&1), "{after:?}");

        // Changes pruned from the log before the index read them: it reads everything again.
        // Last: while a transaction begun before the prune runs anywhere on the server (another
        // test, a load into another schema), every fence after it reads everything again too.
        let prune = if env.is_postgres() {
            "BEGIN; UPDATE decision_changes_pruned SET below = pg_current_xact_id(); DELETE FROM decision_changes; COMMIT"
        } else {
            "DELETE FROM decision_changes WHERE seq < (SELECT max(seq) FROM decision_changes)"
        };
        writer.record_consent(event(b, "NEWS", EventKind::Given, None)).await.unwrap();
        writer.record_consent(event(c, "NEWS", EventKind::Given, None)).await.unwrap();
        env.raw_sql(prune).await.unwrap();
        same_as_sql(&stores, env, "changes pruned from the log").await;

        writer.close().await;
        uncached.close().await;
    });
}
