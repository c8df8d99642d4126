//! Double opt-in subscription requests (migration 0010): the contact and its email in one go,
//! topics of the preference center only, throttling per address, suppressed addresses, and one
//! confirmation per link before it expires.

use super::*;

#[tokio::test]
async fn a_subscription_request_creates_the_contact_and_its_email_in_one_go() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let outcome = env.store.request_subscription(subscription("Giulia@Example.it", "tok-1", &["NEWS", "NEWS"])).await.unwrap();
        let consento_store::SubscriptionOutcome::Requested { contact_id, email_id, request_id } = outcome else {
            panic!("{outcome:?}");
        };
        let c = env.store.contact(&ContactRef::Email("giulia@example.it".into())).await.unwrap();
        assert_eq!((c.id, c.name.as_deref()), (contact_id, Some("Giulia Bianchi")));
        assert_eq!(c.source.as_deref(), Some("subscription (form)"));
        let claimed = env.store.claim_emails(10, std::time::Duration::from_secs(60)).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].id, claimed[0].to.as_str(), claimed[0].locale.as_str()), (email_id, "giulia@example.it", "en"));
        let r = env.store.subscription_request(&consento_store::token_sha256("tok-1")).await.unwrap().unwrap();
        assert_eq!((r.id, r.contact_id, r.type_codes.clone()), (request_id, contact_id, vec!["NEWS".to_owned()]));
        assert_eq!((r.user_agent.as_deref(), r.ip_prefix.as_deref()), (Some("Mozilla/5.0"), Some("203.0.113.0/24")));
        assert_eq!(r.source, consento_store::RequestSource::Form);
        assert!(r.confirmed_at.is_none());
        // Only the token's hash is kept.
        assert!(env.store.subscription_request(&consento_store::token_sha256("tok-2")).await.unwrap().is_none());
        // An existing contact is found, not duplicated, and keeps its name.
        env.store.create_contact(contact("mario@example.it")).await.unwrap();
        let again = env.store.request_subscription(subscription("MARIO@example.it", "tok-3", &["NEWS"])).await.unwrap();
        assert!(matches!(again, consento_store::SubscriptionOutcome::Requested { .. }));
        let mario = env.store.contact(&ContactRef::Email("mario@example.it".into())).await.unwrap();
        assert_eq!(mario.name.as_deref(), Some("Mario Rossi"));
    });
}

#[tokio::test]
async fn a_subscription_asks_for_topics_of_the_preference_center_only() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let mut hidden = spec("HIDDEN", None, newsletter());
        hidden.show_in_preference_center = false;
        env.store.create_consent_type(hidden).await.unwrap();
        for types in [&["HIDDEN"][..], &["NOPE"], &[]] {
            let err = env.store.request_subscription(subscription("a@example.it", "t", types)).await.unwrap_err();
            assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "types"), "{types:?}: {err:?}");
        }
        let err = env.store.request_subscription(subscription("not an address", "t", &["NEWS"])).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "email"), "{err:?}");
        // Nothing half-written.
        assert!(env.store.contact(&ContactRef::Email("a@example.it".into())).await.is_err());
        assert_eq!(env.store.email_outbox_stats().await.unwrap().pending, 0);
    });
}

#[tokio::test]
async fn repeat_subscription_requests_are_throttled_per_address() {
    use consento_store::SubscriptionOutcome::{Requested, Throttled};
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let ask = |token: &str| env.store.request_subscription(subscription("r@example.it", token, &["NEWS"]));
        assert!(matches!(ask("a").await.unwrap(), Requested { .. }));
        // Within ten minutes: nothing.
        env.clock.advance(9 * 60_000_000);
        assert_eq!(ask("b").await.unwrap(), Throttled);
        // Later: again, up to three a day.
        env.clock.advance(2 * 60_000_000);
        assert!(matches!(ask("c").await.unwrap(), Requested { .. }));
        env.clock.advance(11 * 60_000_000);
        assert!(matches!(ask("d").await.unwrap(), Requested { .. }));
        env.clock.advance(11 * 60_000_000);
        assert_eq!(ask("e").await.unwrap(), Throttled, "the daily cap");
        // Another address is not affected.
        assert!(matches!(env.store.request_subscription(subscription("s@example.it", "f", &["NEWS"])).await.unwrap(), Requested { .. }));
        assert_eq!(env.store.email_outbox_stats().await.unwrap().pending, 4);
        // A day after the first, the cap has room again.
        env.clock.advance(DAY);
        assert!(matches!(ask("g").await.unwrap(), Requested { .. }));
    });
}

#[tokio::test]
async fn a_suppressed_address_is_neither_mailed_nor_subscribed() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        env.store.suppress(&ContactRef::Email("gone@example.it".into()), "objection").await.unwrap();
        assert!(env.store.is_suppressed(&ContactRef::Email(" GONE@example.it".into())).await.unwrap());
        assert!(!env.store.is_suppressed(&ContactRef::Email("here@example.it".into())).await.unwrap());
        let outcome = env.store.request_subscription(subscription("Gone@Example.it", "t", &["NEWS"])).await.unwrap();
        assert_eq!(outcome, consento_store::SubscriptionOutcome::Suppressed);
        assert!(env.store.contact(&ContactRef::Email("gone@example.it".into())).await.is_err());
        assert_eq!(env.store.email_outbox_stats().await.unwrap().pending, 0);
        // A restricted contact (Art. 18) is not mailed either.
        env.store.create_contact(contact("held@example.it")).await.unwrap();
        env.store.set_restricted(&ContactRef::Email("held@example.it".into()), true).await.unwrap();
        let outcome = env.store.request_subscription(subscription("held@example.it", "u", &["NEWS"])).await.unwrap();
        assert_eq!(outcome, consento_store::SubscriptionOutcome::Suppressed);
        assert_eq!(env.store.email_outbox_stats().await.unwrap().pending, 0);
    });
}

#[tokio::test]
async fn a_subscription_is_confirmed_once_and_not_after_its_link_expired() {
    use consento_store::Confirmation;
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        env.store.request_subscription(subscription("c@example.it", "ok", &["NEWS"])).await.unwrap();
        env.store.request_subscription(subscription("late@example.it", "late", &["NEWS"])).await.unwrap();
        let ok = consento_store::token_sha256("ok");
        assert_eq!(env.store.confirm_subscription(&consento_store::token_sha256("nope")).await.unwrap(), Confirmation::Unknown);
        env.clock.advance(DAY);
        let Confirmation::Claimed(r) = env.store.confirm_subscription(&ok).await.unwrap() else { panic!() };
        assert_eq!(r.confirmed_at, Some(env.store.now()));
        assert_eq!(r.email, "c@example.it");
        assert!(matches!(env.store.confirm_subscription(&ok).await.unwrap(), Confirmation::AlreadyConfirmed(_)));
        // A claim whose consents could not be recorded is released, and can be confirmed again.
        env.store.release_subscription_confirmation(r.id).await.unwrap();
        assert!(matches!(env.store.confirm_subscription(&ok).await.unwrap(), Confirmation::Claimed(_)));
        // Two days after the request, the other link has run out.
        env.clock.advance(DAY);
        let late = consento_store::token_sha256("late");
        assert!(matches!(env.store.confirm_subscription(&late).await.unwrap(), Confirmation::Expired(_)));
        assert!(env.store.subscription_request(&late).await.unwrap().unwrap().confirmed_at.is_none());
        // An address suppressed between request and confirmation: confirmed, nothing to record.
        let mut changed = subscription("changed@example.it", "changed", &["NEWS"]);
        changed.expires_at = Timestamp::from_micros(env.store.now().as_micros() + 2 * DAY);
        env.store.request_subscription(changed).await.unwrap();
        env.store.suppress(&ContactRef::Email("changed@example.it".into()), "complaint").await.unwrap();
        assert!(matches!(env.store.confirm_subscription(&consento_store::token_sha256("changed")).await.unwrap(), Confirmation::Suppressed(_)));
        // Expired requests go at the purge; the one made later stays.
        env.clock.advance(1);
        assert_eq!(env.store.purge_subscription_requests(env.store.now()).await.unwrap(), 2);
        assert!(env.store.subscription_request(&consento_store::token_sha256("changed")).await.unwrap().is_some());
    });
}

#[tokio::test]
async fn two_confirmations_of_one_link_at_once_claim_it_once() {
    use consento_store::Confirmation;
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        env.store.request_subscription(subscription("twice@example.it", "twice", &["NEWS"])).await.unwrap();
        let other = env.second_store().await;
        let token = consento_store::token_sha256("twice");
        let (a, b) = tokio::join!(env.store.confirm_subscription(&token), other.confirm_subscription(&token));
        let claims = [a.unwrap(), b.unwrap()].iter().filter(|c| matches!(c, Confirmation::Claimed(_))).count();
        assert_eq!(claims, 1);
        other.close().await;
    });
}
