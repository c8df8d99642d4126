//! The storage contract of webhooks, on every backend: subscriptions, the outbox written by the
//! database in the transaction of each change, fan-out per event type, payloads without personal
//! data, exclusive claims across processes, leases and retries, and expiries announced once.

use std::collections::BTreeSet;
use std::time::Duration;

use consento_domain::{ContactId, EventKind, Timestamp};
use consento_store::{
    ContactInput, ContactRef, NextAttempt, OutboxMessage, Store, StoreError, SubscriptionId,
    WebhookEventType, WebhookSubscription, WebhookSubscriptionInput,
};
use serde_json::Value;
use sqlx::Connection;

use super::{DAY, Env, Raw, contact, envs, event, newsletter, spec, start};

fn hook(url: &str, kinds: &[&str]) -> WebhookSubscriptionInput {
    WebhookSubscriptionInput {
        url: url.into(),
        description: Some("CRM".into()),
        active: true,
        kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
    }
}

async fn subscribe(env: &Env, kinds: &[&str]) -> WebhookSubscription {
    env.store
        .create_subscription(hook("https://crm.example.it/hooks", kinds))
        .await
        .unwrap()
}

async fn messages(store: &Store, s: &WebhookSubscription) -> Vec<OutboxMessage> {
    let mut m = store.outbox_messages(s.id, 1000).await.unwrap();
    m.reverse();
    m
}

fn body(m: &OutboxMessage) -> Value {
    serde_json::from_str(&m.payload).unwrap()
}

/// The event types and kinds of a subscription's messages, in order.
async fn seen(env: &Env, s: &WebhookSubscription) -> Vec<(String, String)> {
    messages(&env.store, s)
        .await
        .iter()
        .map(|m| {
            let b = body(m);
            assert_eq!(b["type"], m.event_type.as_str(), "{b}");
            let kind = b["data"]["kind"].as_str().unwrap_or("").to_owned();
            (m.event_type.clone(), kind)
        })
        .collect()
}

fn pair(t: &str, k: &str) -> (String, String) {
    (t.to_owned(), k.to_owned())
}

fn is_rfc3339_micros(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 27 && s.ends_with('Z') && Timestamp::parse("t", s).is_ok())
}

#[tokio::test]
async fn a_subscription_gets_a_secret_to_sign_with_and_validates_its_url_and_kinds() {
    on_every_backend!(env => {
        let s = subscribe(env, &["consent.withdrawn", "consent.given", "consent.given"]).await;
        let key = s.secret.strip_prefix("whsec_").expect("whsec_ prefix");
        use base64::Engine;
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(key).unwrap().len(), 32);
        assert_eq!(s.kinds, vec![WebhookEventType::ConsentGiven, WebhookEventType::ConsentWithdrawn]);
        env.clock.advance(1_000);
        let other = subscribe(env, &["contact.erased"]).await;
        assert_ne!(s.secret, other.secret);
        assert_eq!(env.store.subscription(s.id).await.unwrap(), s);
        assert_eq!(env.store.list_subscriptions().await.unwrap(), vec![s.clone(), other.clone()]);
        // The secret never leaves through serialization; the API shows it once, at creation.
        assert!(!serde_json::to_string(&s).unwrap().contains(key));
        assert!(!format!("{s:?}").contains(key));

        for (url, kinds, field) in [
            ("ftp://crm.example.it/", vec!["consent.given"], "url"),
            ("crm.example.it/hooks", vec!["consent.given"], "url"),
            ("https://", vec!["consent.given"], "url"),
            ("https://crm.example.it/", vec![], "kinds"),
            ("https://crm.example.it/", vec!["consent.perhaps"], "kinds"),
        ] {
            let err = env.store.create_subscription(hook(url, &kinds)).await.unwrap_err();
            assert!(matches!(&err, StoreError::Invalid(e) if e.field() == field), "{url} {kinds:?}: {err:?}");
        }
        assert_eq!(env.store.list_subscriptions().await.unwrap().len(), 2);

        env.clock.advance(1_000_000);
        let mut change = hook("http://10.0.0.5:8080/in", &["contact.restricted"]);
        change.active = false;
        change.description = None;
        let changed = env.store.update_subscription(s.id, change).await.unwrap();
        assert_eq!(changed.url, "http://10.0.0.5:8080/in");
        assert_eq!(changed.kinds, vec![WebhookEventType::ContactRestricted]);
        assert!(!changed.active && changed.description.is_none());
        assert_eq!(changed.secret, s.secret);
        assert!(changed.updated_at > s.updated_at);
        let err = env.store.update_subscription(s.id, hook("gopher://x/", &["contact.erased"])).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "url"), "{err:?}");

        env.store.delete_subscription(s.id).await.unwrap();
        let gone = env.store.subscription(s.id).await.unwrap_err();
        assert!(matches!(gone, StoreError::NotFound { entity: "webhook subscription" }), "{gone:?}");
        let gone = env.store.delete_subscription(s.id).await.unwrap_err();
        assert!(matches!(gone, StoreError::NotFound { .. }), "{gone:?}");
        let unknown = SubscriptionId(uuid::Uuid::from_u128(7));
        assert!(matches!(env.store.deactivate_subscription(unknown).await, Err(StoreError::NotFound { .. })));
    });
}

#[tokio::test]
async fn each_consent_event_fans_out_to_the_active_subscriptions_that_want_its_kind() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
        let both = subscribe(env, &["consent.given", "consent.withdrawn"]).await;
        let withdrawals = subscribe(env, &["consent.withdrawn"]).await;
        let refusals = subscribe(env, &["consent.refused"]).await;
        let mut off = hook("https://off.example.it/", &["consent.given"]);
        off.active = false;
        let off = env.store.create_subscription(off).await.unwrap();
        let contacts_only = subscribe(env, &["contact.restricted"]).await;

        let c = env.store.create_contact(ContactInput { external_id: Some("CRM-7".into()), ..contact("fan@example.it") }).await.unwrap();
        let r = ContactRef::Id(c.id);
        for kind in [EventKind::Given, EventKind::Renewed, EventKind::Withdrawn, EventKind::Revoked, EventKind::Refused] {
            env.store.record_consent(event(&r, "NEWS", kind, None)).await.unwrap();
            env.clock.advance(1_000);
        }
        assert_eq!(seen(env, &both).await, vec![
            pair("consent.given", "given"), pair("consent.given", "renewed"),
            pair("consent.withdrawn", "withdrawn"), pair("consent.withdrawn", "revoked"),
        ]);
        assert_eq!(seen(env, &withdrawals).await, vec![pair("consent.withdrawn", "withdrawn"), pair("consent.withdrawn", "revoked")]);
        assert_eq!(seen(env, &refusals).await, vec![pair("consent.refused", "refused")]);
        assert!(seen(env, &off).await.is_empty());
        assert!(seen(env, &contacts_only).await.is_empty());

        // What a message says: the ids, the CRM's id, the type's code, the kind and the instants.
        let history = env.store.consent_history(&r).await.unwrap();
        let first = &messages(&env.store, &both).await[0];
        let b = body(first);
        assert_eq!(b["timestamp"], b["data"]["recorded_at"]);
        let data = &b["data"];
        assert_eq!(data["event_id"], history[0].id.to_string().as_str());
        assert_eq!(data["contact_id"], c.id.to_string().as_str());
        assert_eq!(data["external_id"], "CRM-7");
        assert_eq!(data["consent_type"], "NEWS");
        assert_eq!(data["event_time"].as_str(), Some("2025-06-01T10:00:00.000000Z"));
        assert_eq!(data["expires_at"].as_str(), Some("2025-07-01T10:00:00.000000Z"));
        assert!(is_rfc3339_micros(&data["recorded_at"]));
        let withdrawn = body(&messages(&env.store, &both).await[2]);
        assert_eq!(withdrawn["data"]["expires_at"], Value::Null);
        // The webhook-id: msg_<instant>_<event id>_<kind>_<subscription id>, all hex.
        assert_eq!(first.id, format!("msg_{:016x}_{}_given_{}", start().as_micros(), history[0].id.0.simple(), both.id.0.simple()));
        assert_eq!(first.attempts, 0);
        assert_eq!(first.next_attempt_at, start());
        // Messages of one event to two subscriptions differ only in their id's last part.
        let to_other = &messages(&env.store, &withdrawals).await[0];
        let of_both = &messages(&env.store, &both).await[2];
        assert_eq!(to_other.payload, of_both.payload);
        assert_ne!(to_other.id, of_both.id);
        // The body is the same text on both backends: compact JSON, keys in order.
        assert_eq!(of_both.payload, body(of_both).to_string());
        assert_eq!(env.store.outbox_stats().await.unwrap().pending, 4 + 2 + 1);
    });
}

#[tokio::test]
async fn setting_a_restriction_objection_or_erasure_enqueues_one_message_each_time_it_is_set() {
    on_every_backend!(env => {
        let s = subscribe(env, &["contact.restricted", "contact.objected", "contact.erased"]).await;
        let c = env.store.create_contact(ContactInput { external_id: Some("CRM-9".into()), ..contact("flags@example.it") }).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.set_restricted(&r, true).await.unwrap();
        env.clock.advance(1_000);
        // Already restricted: nothing new to say.
        env.store.set_restricted(&r, true).await.unwrap();
        env.store.set_restricted(&r, false).await.unwrap();
        env.clock.advance(1_000);
        env.store.set_restricted(&r, true).await.unwrap();
        env.clock.advance(1_000);
        env.store.set_objected(&r, true).await.unwrap();
        // No store function erases yet (Art. 17 is another change): the trigger answers to the
        // column, whoever sets it; an erasure that clears the external id still names it.
        let now = env.store.now().as_micros() + 5;
        env.raw_sql(&format!("UPDATE contacts SET erased_at = {now}, external_id = NULL, updated_at = {now} WHERE external_id = 'CRM-9'")).await.unwrap();
        let m = messages(&env.store, &s).await;
        let types: Vec<&str> = m.iter().map(|m| m.event_type.as_str()).collect();
        assert_eq!(types, vec!["contact.restricted", "contact.restricted", "contact.objected", "contact.erased"]);
        for m in &m {
            let b = body(m);
            assert_eq!(b["data"]["contact_id"], c.id.to_string().as_str(), "{b}");
            assert_eq!(b["data"]["external_id"], "CRM-9", "{b}");
            assert_eq!(b["timestamp"], b["data"]["occurred_at"], "{b}");
            assert!(is_rfc3339_micros(&b["timestamp"]), "{b}");
        }
        assert_eq!(body(&m[3])["data"]["occurred_at"], "2025-06-01T10:00:00.003005Z");
        assert!(m[3].id.ends_with(&format!("_erased_{}", s.id.0.simple())), "{}", m[3].id);
    });
}

/// Restricts a contact in a transaction of its own on a raw connection, counts the outbox inside
/// it, and rolls it back.
async fn restrict_and_roll_back(env: &Env, id: ContactId) -> i64 {
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("UPDATE contacts SET restricted_at = $1, updated_at = $1 WHERE id = $2")
                .bind(env.store.now().as_micros())
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .unwrap();
            let inside: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            inside
        }};
    }
    match &env.raw {
        Raw::Sqlite(path) => run!(
            sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
                .await
                .unwrap()
        ),
        Raw::Postgres { url, schema } => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}")))
                .execute(&mut c)
                .await
                .unwrap();
            run!(c)
        }
    }
}

#[tokio::test]
async fn a_message_is_written_in_the_transaction_of_its_change_and_vanishes_with_its_rollback() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let s = subscribe(env, &["contact.restricted", "consent.given"]).await;
        let c = env.store.create_contact(contact("tx@example.it")).await.unwrap();
        assert_eq!(restrict_and_roll_back(env, c.id).await, 1, "the message exists inside the change's transaction");
        assert!(messages(&env.store, &s).await.is_empty(), "and vanished with its rollback");
        assert_eq!(env.store.outbox_stats().await.unwrap().pending, 0);
        // A consent the database refuses (the contact was erased) leaves no message either.
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE email = 'tx@example.it'").await.unwrap();
        let err = env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "contact", .. }), "{err:?}");
        assert!(messages(&env.store, &s).await.is_empty());
    });
}

#[tokio::test]
async fn payloads_hold_no_names_emails_or_phone_numbers() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(1), newsletter())).await.unwrap();
        let all: Vec<&str> = WebhookEventType::ALL.iter().map(|k| k.code()).collect();
        let s = subscribe(env, &all).await;
        let c = env.store.create_contact(ContactInput {
            external_id: Some("CRM-1".into()),
            name: Some("Zaccaria Quintavalle".into()),
            emails: vec!["zaccaria.q@example.it".into()],
            phones: vec!["+39 347 555 0101".into()],
            ..ContactInput::default()
        }).await.unwrap();
        let r = ContactRef::Id(c.id);
        let mut given = event(&r, "NEWS", EventKind::Given, None);
        given.evidence = Some("modulo firmato da zaccaria.q@example.it, tel. 347 555 0101".into());
        env.store.record_consent(given).await.unwrap();
        env.clock.advance(2 * DAY);
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 1);
        for kind in [EventKind::Renewed, EventKind::Withdrawn, EventKind::Refused] {
            env.store.record_consent(event(&r, "NEWS", kind, None)).await.unwrap();
        }
        env.store.set_restricted(&r, true).await.unwrap();
        env.store.set_objected(&r, true).await.unwrap();
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE external_id = 'CRM-1'").await.unwrap();
        let m = messages(&env.store, &s).await;
        let types: BTreeSet<&str> = m.iter().map(|m| m.event_type.as_str()).collect();
        assert_eq!(types, all.iter().copied().collect(), "every event type was produced");
        let allowed: BTreeSet<&str> = ["event_id", "contact_id", "external_id", "consent_type", "kind", "event_time", "recorded_at", "expires_at", "expired_at", "occurred_at"].into();
        for m in &m {
            // (Needles that a hex id or an instant cannot hold by chance: "347" alone can.)
            let lower = m.payload.to_lowercase();
            for needle in ["zaccaria", "quintavalle", "example.it", "3475550101", "5550101", "modulo"] {
                assert!(!lower.contains(needle), "{needle} in {}", m.payload);
            }
            let b = body(m);
            let keys: BTreeSet<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["data", "timestamp", "type"].into(), "{b}");
            for key in b["data"].as_object().unwrap().keys() {
                assert!(allowed.contains(key.as_str()), "unexpected field {key} in {b}");
            }
        }
    });
}

#[tokio::test]
async fn a_claim_leases_messages_and_each_outcome_is_recorded() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let s = subscribe(env, &["consent.given"]).await;
        let c = env.store.create_contact(contact("lease@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        for _ in 0..3 {
            env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
            env.clock.advance(1_000);
        }
        let lease = Duration::from_secs(30);
        let claimed = env.store.claim_deliveries(10, lease).await.unwrap();
        assert_eq!(claimed.len(), 3);
        assert!(claimed.iter().all(|d| d.attempts == 1 && d.url == s.url && d.secret == s.secret));
        assert!(!format!("{:?}", claimed[0]).contains(&s.secret), "a delivery's Debug hides the secret");
        // Leased: nobody else gets them until the lease ends.
        assert!(env.store.claim_deliveries(10, lease).await.unwrap().is_empty());
        env.store.mark_delivered(&claimed[0].id).await.unwrap();
        let retry_at = Timestamp::from_micros(env.store.now().as_micros() + 60_000_000);
        env.store.mark_failed(&claimed[1].id, "http_503", NextAttempt::At(retry_at)).await.unwrap();
        env.store.mark_failed(&claimed[2].id, "timeout", NextAttempt::Dead).await.unwrap();
        let stats = env.store.outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.dead), (1, 1));
        // Not due before its time; then claimed again with the same id and the same body.
        env.clock.advance(59_000_000);
        assert!(env.store.claim_deliveries(10, lease).await.unwrap().is_empty());
        env.clock.advance(1_000_000);
        let again = env.store.claim_deliveries(10, lease).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!((&again[0].id, &again[0].payload, again[0].attempts), (&claimed[1].id, &claimed[1].payload, 2));
        // A worker that died: its lease runs out and the message is claimed again.
        env.clock.advance(31_000_000);
        let after_crash = env.store.claim_deliveries(10, lease).await.unwrap();
        assert_eq!(after_crash.len(), 1);
        assert_eq!(after_crash[0].attempts, 3);
        let m = messages(&env.store, &s).await;
        assert!(m[0].delivered_at.is_some() && m[0].last_error.is_none());
        assert_eq!(m[1].last_error.as_deref(), Some("http_503"));
        assert!(m[2].dead_at.is_some() && m[2].last_error.as_deref() == Some("timeout"));
        // Purging removes what was delivered or given up, never what is pending.
        let later = Timestamp::from_micros(env.store.now().as_micros() + DAY);
        assert_eq!(env.store.purge_outbox(later).await.unwrap(), 2);
        let left = messages(&env.store, &s).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, claimed[1].id);
        // An inactive subscription's messages wait; deleting it removes them.
        env.clock.advance(31_000_000);
        env.store.deactivate_subscription(s.id).await.unwrap();
        assert!(env.store.claim_deliveries(10, lease).await.unwrap().is_empty());
        assert_eq!(env.store.outbox_stats().await.unwrap().pending, 1);
        env.store.delete_subscription(s.id).await.unwrap();
        assert_eq!(env.store.outbox_stats().await.unwrap(), Default::default());
    });
}

/// Claims in small batches until nothing is left; returns the ids claimed.
async fn drain(store: &Store, lease: Duration) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let batch = store.claim_deliveries(3, lease).await.unwrap();
        if batch.is_empty() {
            return ids;
        }
        ids.extend(batch.into_iter().map(|d| d.id));
    }
}

#[tokio::test]
async fn two_processes_claiming_at_once_never_claim_the_same_message() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        subscribe(env, &["consent.given"]).await;
        subscribe(env, &["consent.given"]).await;
        for i in 0..40 {
            let c = env.store.create_contact(contact(&format!("claim{i}@example.it"))).await.unwrap();
            env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None)).await.unwrap();
        }
        let other = env.second_store().await;
        let lease = Duration::from_secs(60);
        let (a, b) = tokio::join!(drain(&env.store, lease), drain(&other, lease));
        let all: BTreeSet<&String> = a.iter().chain(&b).collect();
        assert_eq!(a.len() + b.len(), 80, "each message claimed once");
        assert_eq!(all.len(), 80, "no message claimed twice");
        println!("claimed: {} and {}", a.len(), b.len());
        other.close().await;
    });
}

#[tokio::test]
async fn an_expiry_is_announced_once_even_by_two_processes_and_again_after_a_renewal() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
        env.store.create_consent_type(spec("FOREVER", None, newsletter())).await.unwrap();
        let s = subscribe(env, &["consent.expired"]).await;
        let given_only = subscribe(env, &["consent.given"]).await;
        let c = env.store.create_contact(ContactInput { external_id: Some("CRM-E".into()), ..contact("exp@example.it") }).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
        env.store.record_consent(event(&r, "FOREVER", EventKind::Given, None)).await.unwrap();
        let late = env.store.create_contact(contact("late@example.it")).await.unwrap();
        env.clock.advance(10 * DAY);
        env.store.record_consent(event(&ContactRef::Id(late.id), "NEWS", EventKind::Given, None)).await.unwrap();

        env.clock.advance(19 * DAY);
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 0, "not yet expired");
        env.clock.advance(DAY);
        let other = env.second_store().await;
        let (a, b) = tokio::join!(env.store.announce_expired(100), other.announce_expired(100));
        assert_eq!(a.unwrap() + b.unwrap(), 1, "announced once");
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 0);
        let m = messages(&env.store, &s).await;
        assert_eq!(m.len(), 1);
        let b = body(&m[0]);
        assert_eq!(b["type"], "consent.expired");
        assert_eq!(b["data"]["contact_id"], c.id.to_string().as_str());
        assert_eq!(b["data"]["external_id"], "CRM-E");
        assert_eq!(b["data"]["consent_type"], "NEWS");
        assert_eq!(b["data"]["expired_at"], "2025-07-01T10:00:00.000000Z");
        assert_eq!(b["timestamp"], b["data"]["expired_at"]);
        let history = env.store.consent_history(&r).await.unwrap();
        assert_eq!(b["data"]["event_id"], history[0].id.to_string().as_str());
        assert_eq!(m[0].id, format!("msg_{:016x}_{}_expired_{}", start().plus_days(30).as_micros(), history[0].id.0.simple(), s.id.0.simple()));
        assert!(messages(&env.store, &given_only).await.iter().all(|m| m.event_type == "consent.given"));

        // The second contact's consent runs out ten days later, announced by the other process.
        env.clock.advance(10 * DAY);
        assert_eq!(other.announce_expired(100).await.unwrap(), 1);
        // A renewal gives a new expiry, announced in its turn.
        env.store.record_consent(event(&r, "NEWS", EventKind::Renewed, None)).await.unwrap();
        env.clock.advance(29 * DAY);
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 0);
        env.clock.advance(DAY);
        assert_eq!(env.store.announce_expired(1).await.unwrap(), 1);
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 0);
        let expired: Vec<String> = messages(&env.store, &s).await.iter().map(|m| body(m)["data"]["contact_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(expired, vec![c.id.to_string(), late.id.to_string(), c.id.to_string()]);
        // A withdrawn consent does not expire.
        let w = env.store.create_contact(contact("w@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(w.id), "NEWS", EventKind::Given, None)).await.unwrap();
        env.clock.advance(DAY);
        env.store.record_consent(event(&ContactRef::Id(w.id), "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        env.clock.advance(40 * DAY);
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 0);
        other.close().await;
    });
}

#[tokio::test]
async fn expiries_before_the_first_subscription_that_wants_them_are_not_announced() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(1), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("old@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None)).await.unwrap();
        env.clock.advance(2 * DAY);
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 0, "no subscriber");
        let s = subscribe(env, &["consent.expired"]).await;
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 0, "expired before the subscription");
        env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Renewed, None)).await.unwrap();
        env.clock.advance(DAY);
        assert_eq!(env.store.announce_expired(100).await.unwrap(), 1);
        assert_eq!(messages(&env.store, &s).await.len(), 1);
        // Delivered messages are purged after their retention.
        let d = env.store.claim_deliveries(10, Duration::from_secs(30)).await.unwrap();
        env.store.mark_delivered(&d[0].id).await.unwrap();
        assert_eq!(env.store.purge_outbox(env.store.now()).await.unwrap(), 0);
        env.clock.advance(1);
        assert_eq!(env.store.purge_outbox(env.store.now()).await.unwrap(), 1);
        assert!(messages(&env.store, &s).await.is_empty());
    });
}

#[tokio::test]
async fn a_bulk_load_enqueues_one_message_per_event_in_its_transaction() {
    use consento_domain::CollectionMethod;
    use consento_store::{BulkContact, BulkEvent};
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let s = subscribe(env, &["consent.given", "consent.withdrawn"]).await;
        let ev = |kind, days| BulkEvent { type_code: "NEWS".into(), kind, event_time: super::days_before(start(), days), method: CollectionMethod::Import, actor: super::operator(), evidence: None, notice_version: None };
        let batch: Vec<BulkContact> = (0..5)
            .map(|i| BulkContact {
                input: ContactInput { external_id: Some(format!("B-{i}")), ..contact(&format!("bulk{i}@example.it")) },
                events: vec![ev(EventKind::Given, 10), ev(EventKind::Withdrawn, 5), ev(EventKind::Refused, 1)],
            })
            .collect();
        let report = env.store.bulk_load(batch).await.unwrap();
        assert_eq!(report.events, 15);
        let m = messages(&env.store, &s).await;
        assert_eq!(m.len(), 10, "given and withdrawn, not refused");
        let ids: BTreeSet<&str> = m.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 10);
        let externals: BTreeSet<String> = m.iter().map(|m| body(m)["data"]["external_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(externals.len(), 5);
        // A batch refused as a whole leaves no message.
        let bad = vec![
            BulkContact { input: contact("bulk-new@example.it"), events: vec![ev(EventKind::Given, 1)] },
            BulkContact { input: contact("bulk0@example.it"), events: vec![ev(EventKind::Given, 1)] },
        ];
        assert!(env.store.bulk_load(bad).await.is_err());
        assert_eq!(messages(&env.store, &s).await.len(), 10);
    });
}
