//! The email outbox (migration 0010): claims under a lease, retries when due, emptied once sent,
//! and claimers on two stores never taking the same email.

use super::*;

fn new_email(to: &str) -> consento_store::NewEmail {
    consento_store::NewEmail {
        contact_id: None,
        to: to.into(),
        locale: "it".into(),
        template: "subscription_confirm".into(),
        payload: serde_json::json!({"link": "https://example.it/confirm/secret"}),
    }
}

#[tokio::test]
async fn an_email_is_claimed_once_under_a_lease_retried_when_due_and_emptied_once_sent() {
    use consento_store::NextAttempt;
    use std::time::Duration;
    on_every_backend!(env => {
        let first = env.store.enqueue_email(new_email("Uno@Example.it")).await.unwrap();
        env.clock.advance(1);
        let second = env.store.enqueue_email(new_email("due@example.it")).await.unwrap();
        let lease = Duration::from_secs(60);
        let claimed = env.store.claim_emails(10, lease).await.unwrap();
        assert_eq!(claimed.iter().map(|e| e.id).collect::<Vec<_>>(), vec![first, second]);
        assert_eq!(claimed[0].to, "uno@example.it", "the address is stored normalised");
        assert_eq!(claimed[0].attempts, 1);
        assert_eq!(claimed[0].payload["link"], "https://example.it/confirm/secret");
        // Leased: neither this process nor another claims them again.
        assert!(env.store.claim_emails(10, lease).await.unwrap().is_empty());
        let other = env.second_store().await;
        assert!(other.claim_emails(10, lease).await.unwrap().is_empty());
        // One is sent; the other failed and is due in five minutes.
        env.store.mark_email_sent(first).await.unwrap();
        let retry_at = Timestamp::from_micros(env.store.now().as_micros() + 300_000_000);
        env.store.mark_email_failed(second, "smtp_451", NextAttempt::At(retry_at)).await.unwrap();
        assert!(env.store.claim_emails(10, lease).await.unwrap().is_empty());
        env.clock.advance(300_000_000);
        let again = env.store.claim_emails(10, lease).await.unwrap();
        assert_eq!((again.len(), again[0].id, again[0].attempts), (1, second, 2));
        env.store.mark_email_failed(second, "smtp_550", NextAttempt::Dead).await.unwrap();
        let stats = env.store.email_outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.sent, stats.dead), (0, 1, 1));
        let messages = env.store.email_messages(10).await.unwrap();
        let dead = messages.iter().find(|m| m.id == second).unwrap();
        assert_eq!((dead.attempts, dead.last_error.as_deref()), (2, Some("smtp_550")));
        assert!(dead.dead_at.is_some() && dead.sent_at.is_none());
        // Sent and dead messages lose their payload (the link) at once, and their row (the
        // address) at the retention.
        assert!(format!("{messages:?}").find("example.it").is_none(), "no address in inspection");
        env.raw_sql("UPDATE email_outbox SET locale = 'xx' WHERE payload = '{}'").await.unwrap();
        let messages = env.store.email_messages(10).await.unwrap();
        assert!(messages.iter().all(|m| m.locale == "xx"), "a payload was kept");
        env.clock.advance(DAY);
        assert_eq!(env.store.purge_email_outbox(env.store.now()).await.unwrap(), 2);
        assert_eq!(env.store.email_outbox_stats().await.unwrap(), consento_store::EmailOutboxStats::default());
        other.close().await;
    });
}

#[tokio::test]
async fn concurrent_claimers_on_two_stores_never_take_the_same_email() {
    use std::time::Duration;
    on_every_backend!(env => {
        for i in 0..20 {
            env.store.enqueue_email(new_email(&format!("p{i}@example.it"))).await.unwrap();
        }
        let other = env.second_store().await;
        let lease = Duration::from_secs(60);
        let (a, b) = tokio::join!(
            async {
                let mut got = Vec::new();
                for _ in 0..5 { got.extend(env.store.claim_emails(3, lease).await.unwrap()); }
                got
            },
            async {
                let mut got = Vec::new();
                for _ in 0..5 { got.extend(other.claim_emails(3, lease).await.unwrap()); }
                got
            },
        );
        let mut ids: Vec<_> = a.iter().chain(&b).map(|e| e.id).collect();
        let total = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), total, "an email was claimed twice");
        assert_eq!(total, 20);
        other.close().await;
    });
}
