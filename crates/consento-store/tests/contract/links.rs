//! Link keys: made on first use, rotated and retired; only unretired ones open a link.

use super::*;

#[tokio::test]
async fn link_keys_are_made_on_first_use_rotated_and_retired_and_only_unretired_ones_open() {
    on_every_backend!(env => {
        assert!(env.store.link_keys().await.unwrap().is_empty());
        // The first link made brings the first key; asking again gives the same one.
        let (first, secret) = env.store.link_sealing_key().await.unwrap();
        assert_eq!(env.store.link_sealing_key().await.unwrap(), (first, secret));
        assert_eq!(env.store.link_opening_key(first).await.unwrap(), Some(secret));
        // A rotation: the new key seals, the old one still opens.
        env.clock.advance(DAY);
        let second = env.store.rotate_link_key().await.unwrap();
        assert!(second.id > first);
        assert_eq!(second.created_at, env.store.now());
        let (sealing, new_secret) = env.store.link_sealing_key().await.unwrap();
        assert_eq!(sealing, second.id);
        assert_ne!(new_secret, secret);
        assert_eq!(env.store.link_opening_key(first).await.unwrap(), Some(secret));
        // Retired: it opens nothing again; retiring twice keeps the first date.
        let retired = env.store.retire_link_key(first).await.unwrap();
        assert_eq!(retired.retired_at, Some(env.store.now()));
        env.clock.advance(DAY);
        assert_eq!(env.store.retire_link_key(first).await.unwrap().retired_at, retired.retired_at);
        assert_eq!(env.store.link_opening_key(first).await.unwrap(), None);
        assert_eq!(env.store.link_opening_key(999).await.unwrap(), None);
        assert!(matches!(env.store.retire_link_key(999).await, Err(StoreError::NotFound { .. })));
        // Every key retired: the next link makes a new one.
        env.store.retire_link_key(second.id).await.unwrap();
        let (third, _) = env.store.link_sealing_key().await.unwrap();
        assert!(third > second.id);
        let listed: Vec<(u32, bool)> = env.store.link_keys().await.unwrap().iter().map(|k| (k.id, k.retired_at.is_some())).collect();
        assert_eq!(listed, vec![(third, false), (second.id, true), (first, true)]);
    });
}
