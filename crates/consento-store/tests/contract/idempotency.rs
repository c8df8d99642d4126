//! Idempotency keys of consent writes: one event per key, another request under it refused.

use super::*;

fn key(token: uuid::Uuid, k: &str, body: &str) -> IdempotencyKey {
    use sha2::Digest as _;
    IdempotencyKey {
        token_id: token,
        key: k.into(),
        request_sha256: sha2::Sha256::digest(body.as_bytes()).into(),
    }
}

#[tokio::test]
async fn an_idempotency_key_records_once_and_refuses_another_request() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let (token, _) = env.store.create_token("crm", &["write".into()], None, None).await.unwrap();
        let (other_token, _) = env.store.create_token("crm2", &["write".into()], None, None).await.unwrap();
        let c = env.store.create_contact(contact("idem@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        let (first, replayed) = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Given, None), key(token.id, "k-1", "give"))
            .await.unwrap();
        assert!(!replayed);
        env.clock.advance(1_000_000);
        let (again, replayed) = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Given, None), key(token.id, "k-1", "give"))
            .await.unwrap();
        assert!(replayed);
        assert_eq!(again, first);
        let err = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Withdrawn, None), key(token.id, "k-1", "withdraw"))
            .await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "Idempotency-Key", .. }), "{err:?}");
        // Another caller's key of the same text is another key.
        let (theirs, replayed) = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Renewed, None), key(other_token.id, "k-1", "give"))
            .await.unwrap();
        assert!(!replayed);
        assert_ne!(theirs.id, first.id);
        // Ten retries at once: one event.
        let tries = (0..10).map(|_| env.store.record_consent_once(event(&r, "NEWS", EventKind::Renewed, None), key(token.id, "k-2", "renew")));
        let results: Vec<_> = futures_util::future::join_all(tries).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(results.iter().filter(|(_, replayed)| !replayed).count(), 1);
        assert!(results.iter().all(|(e, _)| e.id == results[0].0.id));
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 3);
        // Once purged, a key is free again.
        env.clock.advance(DAY);
        assert_eq!(env.store.purge_idempotency_keys(env.store.now()).await.unwrap(), 3);
        let (_, replayed) = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Renewed, None), key(token.id, "k-2", "renew"))
            .await.unwrap();
        assert!(!replayed);
    });
}
