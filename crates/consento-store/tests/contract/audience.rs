//! The newsletter audience: objections keep addresses out of bulk sends, refused queries, and the
//! audience checked contact by contact against the decision engine on a random data set.

use super::*;

#[tokio::test]
async fn an_objection_keeps_the_address_out_of_bulk_sends_even_when_re_imported() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let first = env.store.create_contact(contact("s@example.it")).await.unwrap();
        env.store.set_objected(&ContactRef::Id(first.id), true).await.unwrap();
        // The CRM later moves the address to a new record (a re-import under another id).
        env.store.update_contact(&ContactRef::Id(first.id), ContactInput::default()).await.unwrap();
        let again = env.store.create_contact(contact("S@Example.it")).await.unwrap();
        let r = ContactRef::Id(again.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Suppressed }), "{d:?}");
        let audience: Vec<_> = env.store.audience(&AudienceQuery { type_code: None, at: None }).await.unwrap().try_collect().await.unwrap();
        assert!(audience.is_empty());
    });
}

#[tokio::test]
async fn an_audience_for_the_past_or_a_non_bulk_type_is_refused() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("MAIL", None, single_email())).await.unwrap();
        let past = AudienceQuery { type_code: None, at: Some(days_before(start(), 1)) };
        let err = env.store.audience_counts(&past).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "at"), "{err:?}");
        let wrong = AudienceQuery { type_code: Some("MAIL".into()), at: None };
        let err = env.store.audience_counts(&wrong).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "type_code"), "{err:?}");
    });
}

/// A tiny deterministic generator, so a failing data set can be replayed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::test]
async fn the_audience_equals_the_decision_engine_contact_by_contact_on_a_random_data_set() {
    let seed = std::env::var("CONSENTO_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_251_122);
    on_every_backend!(env => {
        let mut rng = SplitMix(seed);
        let types = [("NEWS", Some(60), newsletter()), ("PROMO", Some(365), Permissions { email_bulk: true, sms_bulk: true, ..Permissions::default() }), ("MAIL", None, single_email()), ("FOREVER", None, newsletter())];
        for (code, validity, p) in types {
            env.store.create_consent_type(spec(code, validity, p)).await.unwrap();
        }
        let kinds = EventKind::ALL;
        let mut batch = Vec::new();
        for i in 0..400 {
            let mut events = Vec::new();
            for (code, _, _) in types {
                for _ in 0..rng.below(3) {
                    events.push(BulkEvent {
                        type_code: code.into(),
                        kind: kinds[rng.below(kinds.len() as u64) as usize],
                        event_time: days_before(start(), rng.below(500) as i64 + 1),
                        method: CollectionMethod::Import,
                        actor: operator(),
                        evidence: None,
                        notice_version: None,
                    });
                }
            }
            let emails = if rng.below(10) == 0 { vec![] } else { vec![format!("r{i}@example.it")] };
            batch.push(BulkContact { input: ContactInput { emails, ..ContactInput::default() }, events });
        }
        env.store.bulk_load(batch).await.unwrap();
        // Some flags and suppressions, through the store's own operations.
        let ids: Vec<_> = env.store.bench_sample_pairs(0, 10_000).await.unwrap().into_iter().map(|(c, _)| c).collect::<BTreeSet<_>>().into_iter().collect();
        for (n, id) in ids.iter().enumerate() {
            let r = ContactRef::Id(*id);
            match n % 17 {
                0 => { env.store.set_restricted(&r, true).await.unwrap(); }
                1 => { env.store.set_objected(&r, true).await.unwrap(); }
                2 => {
                    if let Some(e) = env.store.contact(&r).await.unwrap().emails.first() {
                        env.store.suppress(&ContactRef::Email(e.as_str().into()), "bounce").await.unwrap();
                    }
                }
                _ => {}
            }
        }
        // One more event recorded singly, backdated, after the bulk load.
        let r = ContactRef::Id(ids[5]);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 3)))).await.unwrap();
        // The bulk load and the single append form one chain.
        let report = env.store.verify_ledger().await.unwrap();
        assert!(report.events > 400, "{report:?}");

        for settings in [PrivacySettings::default(), PrivacySettings { check_email_bulk: false, ..PrivacySettings::default() }] {
            env.store.update_settings(settings).await.unwrap();
            for type_code in [None, Some("NEWS".to_owned()), Some("PROMO".to_owned())] {
                for at in [None, Some(start().plus_days(30))] {
                    let q = AudienceQuery { type_code: type_code.clone(), at };
                    let audience: BTreeSet<_> = env.store.audience(&q).await.unwrap().map_ok(|m| m.contact_id).try_collect().await.unwrap();
                    let counts = env.store.audience_counts(&q).await.unwrap();
                    let mut expected = BTreeSet::new();
                    let mut expected_excluded: BTreeMap<String, i64> = BTreeMap::new();
                    for id in &ids_of_all(env).await {
                        let r = ContactRef::Id(*id);
                        let mut d = env.store.decide(&r, Action::EmailBulk, at).await.unwrap();
                        if let Some(code) = &type_code {
                            // One type only: decide as if only that type's consents existed.
                            d = decide_for_type(env, &r, code, at).await;
                        }
                        let has_email = !env.store.contact(&r).await.unwrap().emails.is_empty();
                        match (&d.decision, has_email) {
                            (Decision::Allowed { .. }, true) => { expected.insert(*id); }
                            (Decision::Allowed { .. }, false) => *expected_excluded.entry("no_email".into()).or_default() += 1,
                            (Decision::Blocked { cause }, _) => *expected_excluded.entry(cause.code().into()).or_default() += 1,
                            (other, _) => panic!("bulk never needs a reason: {other:?}"),
                        }
                    }
                    assert_eq!(audience, expected, "{type_code:?} at {at:?} with {settings:?}");
                    assert_eq!(counts.eligible as usize, expected.len());
                    assert_eq!(counts.excluded, expected_excluded, "{type_code:?} at {at:?} with {settings:?}");
                }
            }
        }
        assert!(!env.store.audience(&AudienceQuery { type_code: None, at: None }).await.unwrap().try_collect::<Vec<_>>().await.unwrap().is_empty());
    });
}

async fn ids_of_all(env: &Env) -> Vec<consento_domain::ContactId> {
    let mut ids = Vec::new();
    loop {
        let page = env
            .store
            .list_contacts(ids.last().copied(), 97)
            .await
            .unwrap();
        if page.is_empty() {
            return ids;
        }
        ids.extend(page.iter().map(|s| s.id));
    }
}

/// The engine's decision when the newsletter is for one type: the other types' consents do not
/// count.
async fn decide_for_type(
    env: &Env,
    r: &ContactRef,
    code: &str,
    at: Option<Timestamp>,
) -> consento_store::DecisionReport {
    let full = env.store.decide(r, Action::EmailBulk, at).await.unwrap();
    let current = env.store.current_consents(r).await.unwrap();
    let contact = env.store.contact(r).await.unwrap();
    let settings = env.store.settings().await.unwrap();
    let consents: Vec<_> = current
        .into_iter()
        .filter(|c| c.code.as_str() == code && c.kind.is_some())
        .map(|c| consento_domain::ConsentState {
            type_id: c.type_id,
            code: c.code,
            permissions: c.permissions,
            marketing: true,
            kind: c.kind.unwrap(),
            event_time: c.event_time.unwrap(),
            expires_at: c.expires_at,
        })
        .collect();
    let email_suppressed = matches!(
        full.decision,
        Decision::Blocked {
            cause: Cause::Suppressed
        }
    );
    let status = consento_domain::ContactStatus {
        erased_at: contact.erased_at,
        restricted_since: contact.restricted_at,
        objected_since: contact.objected_at,
        email_suppressed,
        phone_suppressed: false,
        email_off_since: contact.email_off_at,
        phone_off_since: contact.phone_off_at,
        sms_off_since: contact.sms_off_at,
    };
    let at = at.unwrap_or(env.store.now());
    consento_store::DecisionReport {
        contact_id: contact.id,
        action: Action::EmailBulk,
        at,
        decision: consento_domain::decide(&status, &settings, &consents, Action::EmailBulk, at),
    }
}
