//! The dashboard's figures (src/stats.rs): consents per type and state, consents expiring within a
//! window, justified contacts per operator and reason.

use super::*;
use consento_store::{ContactFlag, ExpiringQuery, FlagChange};

#[tokio::test]
async fn consents_are_counted_per_type_and_state_and_a_type_without_consents_shows_zeros() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
        env.store.create_consent_type(spec("CALLS", None, single_email())).await.unwrap();
        env.store.create_consent_type(spec("UNUSED", None, newsletter())).await.unwrap();
        let kinds = [
            ("a@example.it", EventKind::Given, 1),
            ("b@example.it", EventKind::Renewed, 2),
            ("c@example.it", EventKind::Given, 40),
            ("d@example.it", EventKind::Withdrawn, 3),
            ("e@example.it", EventKind::Revoked, 3),
            ("f@example.it", EventKind::Refused, 3),
        ];
        for (email, kind, days_ago) in kinds {
            env.store.create_contact(contact(email)).await.unwrap();
            let r = ContactRef::Email(email.into());
            env.store.record_consent(event(&r, "NEWS", kind, Some(days_before(start(), days_ago)))).await.unwrap();
        }
        env.store.record_consent(event(&ContactRef::Email("a@example.it".into()), "CALLS", EventKind::Given, None)).await.unwrap();
        let counts = env.store.consent_state_counts(start()).await.unwrap();
        let by_code: BTreeMap<_, _> = counts.iter().map(|c| (c.code.as_str(), (c.active, c.expired, c.withdrawn, c.refused))).collect();
        assert_eq!(by_code["NEWS"], (2, 1, 2, 1), "{counts:?}");
        assert_eq!(by_code["CALLS"], (1, 0, 0, 0));
        assert_eq!(by_code["UNUSED"], (0, 0, 0, 0));
        assert_eq!(counts.iter().find(|c| c.code == "NEWS").unwrap().title, "Tipo NEWS");
        // Later, the renewed one has expired too.
        let later = env.store.consent_state_counts(start().plus_days(29)).await.unwrap();
        assert_eq!(later.iter().find(|c| c.code == "NEWS").map(|c| (c.active, c.expired)), Some((0, 3)));
    });
}

#[tokio::test]
async fn consents_expiring_within_a_window_are_counted_and_listed_soonest_first_a_page_at_a_time() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(100), newsletter())).await.unwrap();
        env.store.create_consent_type(spec("OTHER", Some(100), newsletter())).await.unwrap();
        // Given 90, 80, 75, 75 and 50 days ago: they expire in 10, 20, 25, 25 and 50 days.
        let mut ids = BTreeMap::new();
        for (i, days_ago) in [90, 80, 75, 75, 50].into_iter().enumerate() {
            let email = format!("x{i}@example.it");
            let c = env.store.create_contact(ContactInput { name: Some(format!("Persona {i}")), emails: vec![email.clone()], ..ContactInput::default() }).await.unwrap();
            ids.insert(i, c.id);
            env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, Some(days_before(start(), days_ago)))).await.unwrap();
        }
        // A withdrawn consent and one of another type are not listed.
        env.store.create_contact(contact("w@example.it")).await.unwrap();
        let w = ContactRef::Email("w@example.it".into());
        env.store.record_consent(event(&w, "NEWS", EventKind::Given, Some(days_before(start(), 85)))).await.unwrap();
        env.store.record_consent(event(&w, "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        env.store.record_consent(event(&w, "OTHER", EventKind::Given, Some(days_before(start(), 85)))).await.unwrap();

        let until = start().plus_days(30);
        let counts = env.store.expiring_counts(start(), until).await.unwrap();
        let by_code: BTreeMap<_, _> = counts.iter().map(|c| (c.code.as_str(), c.count)).collect();
        assert_eq!(by_code["NEWS"], 4);
        assert_eq!(by_code["OTHER"], 1);

        let mut q = ExpiringQuery { type_code: "NEWS".into(), from: start(), until, after: None, limit: 3 };
        let first = env.store.expiring_consents(&q).await.unwrap();
        assert_eq!(first.len(), 3);
        assert_eq!(first[0].contact_id, ids[&0]);
        assert_eq!(first[0].name.as_deref(), Some("Persona 0"));
        assert_eq!(first[0].email.as_deref(), Some("x0@example.it"));
        assert_eq!(first[0].expires_at, days_before(start(), 90).plus_days(100));
        assert_eq!(first[1].contact_id, ids[&1]);
        let last = first.last().unwrap();
        q.after = Some((last.expires_at, last.contact_id));
        let second = env.store.expiring_consents(&q).await.unwrap();
        assert_eq!(second.len(), 1, "{second:?}");
        // The two expiring at the same instant are on different pages, each once.
        let both: BTreeSet<_> = [first[2].contact_id, second[0].contact_id].into_iter().collect();
        assert_eq!(both, [ids[&2], ids[&3]].into_iter().collect());
        assert!(first.iter().chain(&second).all(|e| e.contact_id != ids[&4]));

        q.type_code = "NOPE".into();
        let err = env.store.expiring_consents(&q).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    });
}

#[tokio::test]
async fn justified_contacts_since_an_instant_are_counted_per_operator_and_reason() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("MAIL", Some(365), single_email())).await.unwrap();
        let service = env.store.create_reason("Assistenza", false).await.unwrap();
        let offer = env.store.create_reason("Offerta", true).await.unwrap();
        env.store.create_contact(contact("j@example.it")).await.unwrap();
        let r = ContactRef::Email("j@example.it".into());
        // One long before the period, then the period's.
        env.store.justify(&r, Action::EmailSingle, service.id, None, "anna").await.unwrap();
        env.clock.advance(40 * DAY);
        let since = days_before(env.store.now(), 30);
        for (operator, reason) in [("anna", service.id), ("anna", service.id), ("anna", offer.id), ("bruno", offer.id)] {
            env.store.justify(&r, Action::EmailSingle, reason, None, operator).await.unwrap();
            env.clock.advance(1);
        }
        let counts = env.store.interaction_counts(since).await.unwrap();
        let got: BTreeSet<_> = counts.iter().map(|c| (c.operator.as_str(), c.reason_label.as_deref().unwrap(), c.count)).collect();
        let want: BTreeSet<_> = [("anna", "Assistenza", 2), ("anna", "Offerta", 1), ("bruno", "Offerta", 1)].into_iter().collect();
        assert_eq!(got, want);
        assert!(counts.iter().all(|c| c.reason_id.is_some()));
        // From the very first instant, the earlier one counts too.
        let all = env.store.interaction_counts(Timestamp::from_micros(0)).await.unwrap();
        assert_eq!(all.iter().map(|c| c.count).sum::<i64>(), 5);
    });
}

#[tokio::test]
async fn the_valid_consents_of_restricted_and_objecting_contacts_are_counted_as_suspended_not_valid()
 {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
        for (email, days_ago) in [("a@example.it", 1), ("b@example.it", 25), ("c@example.it", 25)] {
            env.store.create_contact(contact(email)).await.unwrap();
            let r = ContactRef::Email(email.into());
            env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(days_before(start(), days_ago)))).await.unwrap();
        }
        for (email, flag) in [("b@example.it", ContactFlag::Restriction), ("c@example.it", ContactFlag::Objection)] {
            let change = FlagChange { flag, raised: true, actor: operator(), request_id: None, notice: None };
            env.store.change_flag(&ContactRef::Email(email.into()), &change).await.unwrap();
        }
        let counts = env.store.consent_state_counts(start()).await.unwrap();
        let news = counts.iter().find(|c| c.code == "NEWS").unwrap();
        assert_eq!((news.active, news.suspended), (1, 2), "{counts:?}");
        // Both suspended consents expire within ten days: the expiring count leaves them out too.
        let expiring = env.store.expiring_counts(start(), start().plus_days(10)).await.unwrap();
        assert_eq!(expiring.iter().find(|c| c.code == "NEWS").map(|c| c.count), Some(0));
        let listed = env.store.expiring_consents(&ExpiringQuery {
            type_code: "NEWS".into(), from: start(), until: start().plus_days(10), after: None, limit: 10,
        }).await.unwrap();
        assert!(listed.is_empty(), "{listed:?}");
    });
}
