//! Consent receipts: signing keys made on first use and rotated without losing any, and the facts
//! a receipt reads.

use super::*;

#[tokio::test]
async fn receipt_keys_are_made_on_first_use_and_rotation_retires_the_signer_but_keeps_every_key() {
    on_every_backend!(env => {
        assert!(env.store.receipt_keys().await.unwrap().is_empty());
        assert!(env.store.receipt_verifying_keys().await.unwrap().is_empty());
        let (first, seed) = env.store.receipt_signing_key().await.unwrap();
        // Asked again, the same key signs: no key per receipt.
        assert_eq!(env.store.receipt_signing_key().await.unwrap(), (first.clone(), seed));
        assert_eq!(first.len(), 11, "{first}");
        env.clock.advance(1_000_000);
        let second = env.store.rotate_receipt_key().await.unwrap();
        assert_ne!(second.kid, first);
        assert_eq!(second.retired_at, None);
        let (signer, other_seed) = env.store.receipt_signing_key().await.unwrap();
        assert_eq!(signer, second.kid);
        assert_ne!(other_seed, seed);
        // Newest first; the first is retired from signing, but still there to verify.
        let listed: Vec<(String, bool)> = env.store.receipt_keys().await.unwrap().into_iter().map(|k| (k.kid, k.retired_at.is_some())).collect();
        assert_eq!(listed, vec![(second.kid.clone(), false), (first.clone(), true)]);
        let verifying = env.store.receipt_verifying_keys().await.unwrap();
        assert_eq!(verifying, vec![(second.kid.clone(), other_seed), (first, seed)]);
    });
}

#[tokio::test]
async fn receipt_facts_read_the_event_its_type_and_the_notice_shown() {
    on_every_backend!(env => {
        env.store.create_consent_type(ConsentTypeSpec {
            description: Some("Offerte e novità via email".into()),
            ..spec("NEWS", Some(365), newsletter())
        }).await.unwrap();
        env.store.publish_notice(consento_store::NoticeInput {
            version: "2025-03".into(),
            language: "it".into(),
            url: Some("https://example.it/privacy".into()),
            body: None,
        }).await.unwrap();
        let created = env.store.create_contact(contact("facts@example.it")).await.unwrap();
        let r = ContactRef::Id(created.id);
        let given = env.store.record_consent(ConsentEventInput {
            notice_version: Some("2025-03".into()),
            method: CollectionMethod::Paper,
            ..event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 10)))
        }).await.unwrap();
        let withdrawn = env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, None)).await.unwrap();

        let facts = env.store.receipt_facts(given.id).await.unwrap();
        assert_eq!(facts.event_id, given.id);
        assert_eq!(facts.contact_id, created.id);
        assert_eq!((facts.type_code.as_str(), facts.type_title.as_str()), ("NEWS", "Tipo NEWS"));
        assert_eq!(facts.type_description.as_deref(), Some("Offerte e novità via email"));
        assert!(facts.permissions.email_bulk && !facts.permissions.phone_call);
        assert_eq!(facts.kind, EventKind::Given);
        assert_eq!(facts.event_time, days_before(start(), 10));
        assert_eq!(facts.recorded_at, start());
        assert_eq!(facts.method, CollectionMethod::Paper);
        assert_eq!(facts.validity_days, Some(365));
        let notice = facts.notice.unwrap();
        assert_eq!((notice.version.as_str(), notice.language.as_str()), ("2025-03", "it"));
        assert_eq!(notice.url.as_deref(), Some("https://example.it/privacy"));

        let facts = env.store.receipt_facts(withdrawn.id).await.unwrap();
        assert_eq!(facts.kind, EventKind::Withdrawn);
        assert_eq!(facts.notice, None);

        let unknown = consento_domain::EventId(uuid::Uuid::nil());
        let err = env.store.receipt_facts(unknown).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { entity: "consent event" }), "{err:?}");
    });
}
