//! Secrets sealed under the master key (GDPR Art. 32(1)(a)): nothing secret is stored in clear,
//! a database sealed under another key is refused, clear secrets of an older version are sealed
//! at the first start, a rotation re-seals them all, and a reset after a lost key makes fresh
//! ones and leaves the ledger verifying.

use consento_store::{AuditFilter, OtherMasterKey, WebhookEventType, WebhookSubscriptionInput};

use super::*;

fn other_key() -> MasterKey {
    MasterKey::from_bytes([9; 32])
}

fn hook() -> WebhookSubscriptionInput {
    WebhookSubscriptionInput {
        url: "http://127.0.0.1:9/hook".into(),
        description: None,
        active: true,
        kinds: vec![WebhookEventType::ConsentGiven.code().into()],
    }
}

#[tokio::test]
async fn secrets_are_stored_sealed_and_a_database_sealed_under_another_key_is_refused() {
    on_every_backend!(env => {
        let (id, secret) = env.store.link_sealing_key().await.unwrap();
        let (_, seed) = env.store.receipt_signing_key().await.unwrap();
        for stored in env.raw_bytes("SELECT secret FROM link_keys").await.into_iter()
            .chain(env.raw_bytes("SELECT seed FROM receipt_keys").await)
            .chain(env.raw_bytes("SELECT suppression_key FROM instance").await)
        {
            assert!(stored.len() > 32);
            assert!(!stored.windows(32).any(|w| w == secret || w == seed));
        }
        match env.try_second_store_with(|c| c.master_key = other_key()).await {
            Err(StoreError::MasterKeyMismatch { database, given }) => {
                assert_eq!(database, test_key().id());
                assert_eq!(given, other_key().id());
            }
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("opened under another master key"),
        }
        // A sealed value moved to another row does not open there.
        let second = env.store.rotate_link_key().await.unwrap();
        env.raw_sql(&format!("UPDATE link_keys SET secret = (SELECT secret FROM link_keys WHERE id = {id}) WHERE id = {}", second.id)).await.unwrap();
        assert!(matches!(env.store.link_opening_key(second.id).await, Err(StoreError::Unsealable { .. })));
        assert_eq!(env.store.link_opening_key(id).await.unwrap(), Some(secret));
    });
}

#[tokio::test]
async fn secrets_left_in_clear_are_sealed_at_the_first_start_with_a_master_key() {
    on_every_backend!(env => {
        let (id, _) = env.store.link_sealing_key().await.unwrap();
        let subscription = env.store.create_subscription(hook()).await.unwrap();
        // As a version without a master key left them.
        env.raw_sql(&format!(
            "UPDATE link_keys SET secret = {}; UPDATE instance SET key_check = NULL; UPDATE webhook_subscriptions SET secret = 'whsec_clear'",
            env.bytes_literal(&[1; 32])
        )).await.unwrap();
        let store = env.second_store().await;
        assert_eq!(store.link_opening_key(id).await.unwrap(), Some([1; 32]));
        assert_eq!(store.subscription(subscription.id).await.unwrap().secret, "whsec_clear");
        assert!(env.raw_bytes("SELECT secret FROM link_keys").await.iter().all(|s| s.len() > 32));
        let trail = store.audit_entries(&AuditFilter::default()).await.unwrap();
        assert!(trail.iter().any(|e| e.action == "keys.seal_existing"));
        store.close().await;
    });
}

#[tokio::test]
async fn a_rotation_reseals_every_secret_under_the_new_key_and_the_old_key_opens_nothing() {
    on_every_backend!(env => {
        let (id, secret) = env.store.link_sealing_key().await.unwrap();
        let receipt = env.store.receipt_signing_key().await.unwrap();
        let subscription = env.store.create_subscription(hook()).await.unwrap();
        let counts = env.store.rotate_master_key(&other_key()).await.unwrap();
        assert_eq!((counts.link_keys, counts.receipt_keys, counts.webhook_secrets, counts.suppression_key), (1, 1, 1, 1));
        let store = env.try_second_store_with(|c| c.master_key = other_key()).await.unwrap();
        assert_eq!(store.link_opening_key(id).await.unwrap(), Some(secret));
        assert_eq!(store.receipt_verifying_keys().await.unwrap(), vec![receipt]);
        assert_eq!(store.subscription(subscription.id).await.unwrap().secret, subscription.secret);
        store.close().await;
        assert!(matches!(env.try_second_store_with(|_| {}).await, Err(StoreError::MasterKeyMismatch { .. })));
    });
}

#[tokio::test]
async fn a_reset_after_a_lost_master_key_makes_fresh_secrets_and_leaves_the_ledger_verifying() {
    on_every_backend!(env => {
        let (id, _) = env.store.link_sealing_key().await.unwrap();
        env.store.receipt_signing_key().await.unwrap();
        let subscription = env.store.create_subscription(hook()).await.unwrap();
        let store = env.try_second_store_with(|c| {
            c.master_key = other_key();
            c.other_master_key = OtherMasterKey::OpenForReset;
        }).await.unwrap();
        let reset = store.reset_lost_master_key().await.unwrap();
        assert_eq!((reset.link_keys_retired, reset.receipt_keys_removed), (1, 1));
        store.close().await;
        let store = env.try_second_store_with(|c| c.master_key = other_key()).await.unwrap();
        assert_eq!(store.link_opening_key(id).await.unwrap(), None);
        assert!(store.receipt_verifying_keys().await.unwrap().is_empty());
        let renewed = store.subscription(subscription.id).await.unwrap().secret;
        assert_ne!(renewed, subscription.secret);
        assert_eq!(reset.webhook_secrets, vec![(subscription.id.0, renewed)]);
        store.verify_ledger().await.unwrap();
        store.close().await;
    });
}
