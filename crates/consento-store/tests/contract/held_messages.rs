//! Held messages: a hold with its notice to the sender in one transaction, the queue id learnt
//! later, a release that records the justified contact and its audit entry in the same
//! transaction, a message let go only once none of its recipients is held, a drop of the whole
//! message, handoffs claimed once, and an erasure that drops and blanks the person's.

use super::*;
use consento_domain::held::{DropCause, HeldSource, HeldStatus, QueueId, hold_until};
use consento_store::{HandoffKind, NewEmail, NewHeld};

const HOUR: i64 = 3_600_000_000;

fn held(env: &Env, contact: consento_domain::ContactId, to: &str, queue: Option<&str>) -> NewHeld {
    NewHeld {
        id: consento_domain::EventId::new_v7(env.store.now(), env.store.random_bytes().unwrap()).0,
        source: HeldSource::Postfix,
        queue_id: queue.map(|q| QueueId::parse(q).unwrap()),
        transaction_ref: Some("T1".into()),
        sender: "ufficio@esempio.it".into(),
        sender_locale: "it".into(),
        recipient: to.into(),
        contact_id: contact,
        action: Action::EmailSingle,
        rule: "no_consent".into(),
        hold_until: hold_until(env.store.now(), 48),
    }
}

fn notice(contact: consento_domain::ContactId) -> NewEmail {
    NewEmail {
        contact_id: Some(contact),
        to: "ufficio@esempio.it".into(),
        locale: "it".into(),
        template: "held_message".into(),
        payload: serde_json::json!({ "link": "https://example.it/held/t" }),
    }
}

fn entry(action: &str) -> consento_store::AuditInput {
    consento_store::AuditInput {
        user_id: None,
        token_id: None,
        action: action.into(),
        target_kind: None,
        target_id: None,
        detail: serde_json::json!({}),
    }
}

async fn person(env: &Env, name: &str, email: &str) -> consento_domain::ContactId {
    env.store
        .create_contact(ContactInput {
            name: Some(name.into()),
            emails: vec![email.into()],
            ..ContactInput::default()
        })
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn a_held_message_is_released_with_its_justified_contact_once_none_of_its_recipients_waits() {
    on_every_backend!(env => {
        let reason = env.store.create_reason("Risposta al cliente", false).await.unwrap();
        let bruno = person(env, "Bruno Verdi", "bruno@example.it").await;
        let dario = person(env, "Dario Gialli", "dario@example.it").await;
        // Held before Postfix named the message: nobody is told yet.
        let b = held(env, bruno, "bruno@example.it", None);
        env.store.hold_message(&b, None).await.unwrap();
        let waiting = env.store.held_without_queue_id(HeldSource::Postfix, "T1").await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].contact_name.as_deref(), Some("Bruno Verdi"));
        // The second recipient comes with the queue id; the first is named by it and told.
        let d = held(env, dario, "dario@example.it", Some("ABCDEF1234"));
        env.store.hold_message(&d, Some(&notice(dario))).await.unwrap();
        let q = QueueId::parse("ABCDEF1234").unwrap();
        assert_eq!(env.store.name_held_message(&q, &[(b.id, Some(notice(bruno)))]).await.unwrap(), 1);
        assert_eq!(env.store.name_held_message(&q, &[(b.id, Some(notice(bruno)))]).await.unwrap(), 0);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM email_outbox WHERE template = 'held_message'").await, 2);
        assert!(env.store.held_message(b.id).await.unwrap().notified_at.is_some());
        // Released with a reason: the interaction and the audit entry in the same transaction.
        let (report, interaction) = env.store.audited(entry("held_message.release"),
            env.store.release_held(b.id, reason.id, Some("ha chiesto un preventivo"), "op-1")).await.unwrap().0;
        assert!(matches!(report.decision, Decision::NeedsJustification { .. }));
        let interaction = interaction.unwrap();
        let h = env.store.held_message(b.id).await.unwrap();
        assert_eq!(h.status, HeldStatus::Released);
        assert_eq!(h.interaction_id, Some(interaction.id));
        assert_eq!(h.reason_label.as_deref(), Some("Risposta al cliente"));
        assert_eq!(env.store.interactions(&ContactRef::Id(bruno)).await.unwrap()[0].operator, "op-1");
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM audit_events WHERE action = 'held_message.release'").await, 1);
        // A second release is a conflict, and records nothing.
        let again = env.store.release_held(b.id, reason.id, None, "op-1").await.unwrap_err();
        assert!(matches!(again, StoreError::Conflict { field: "status", .. }), "{again:?}");
        assert_eq!(env.store.interactions(&ContactRef::Id(bruno)).await.unwrap().len(), 1);
        // Dario still waits: nothing is let go.
        let lease = std::time::Duration::from_secs(60);
        assert!(env.store.claim_held_handoffs(HeldSource::Postfix, 10, lease).await.unwrap().is_empty());
        env.store.release_held(d.id, reason.id, None, "op-2").await.unwrap();
        let claimed = env.store.claim_held_handoffs(HeldSource::Postfix, 10, lease).await.unwrap();
        assert_eq!(claimed.len(), 2);
        assert!(claimed.iter().all(|h| h.kind == HandoffKind::Release && h.queue_id == q));
        // Claimed: no other worker gets them while the lease runs.
        assert!(env.store.claim_held_handoffs(HeldSource::Postfix, 10, lease).await.unwrap().is_empty());
        // One run serves the message: both are done.
        env.store.handoff_done(HeldSource::Postfix, &claimed[0]).await.unwrap();
        env.clock.advance(2 * 60_000_000);
        assert!(env.store.claim_held_handoffs(HeldSource::Postfix, 10, lease).await.unwrap().is_empty());
        assert!(env.store.held_message(d.id).await.unwrap().handoff_done_at.is_some());
        // Let go: it can no longer be dropped.
        assert!(env.store.drop_held(&[(d.id, None)], DropCause::Operator).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn a_drop_takes_the_whole_message_and_the_expiry_finds_what_ran_out() {
    on_every_backend!(env => {
        let bruno = person(env, "Bruno Verdi", "bruno@example.it").await;
        let dario = person(env, "Dario Gialli", "dario@example.it").await;
        let b = held(env, bruno, "bruno@example.it", Some("77AA88BB99"));
        let d = held(env, dario, "dario@example.it", Some("77AA88BB99"));
        env.store.hold_message(&b, Some(&notice(bruno))).await.unwrap();
        env.store.hold_message(&d, Some(&notice(dario))).await.unwrap();
        let siblings = env.store.held_siblings(&env.store.held_message(b.id).await.unwrap()).await.unwrap();
        assert_eq!(siblings.iter().map(|s| s.id).collect::<Vec<_>>(), vec![d.id]);
        assert!(env.store.expired_held(env.store.now(), 10).await.unwrap().is_empty());
        env.clock.advance(48 * HOUR);
        let expired = env.store.expired_held(env.store.now(), 10).await.unwrap();
        assert_eq!(expired.len(), 2);
        let dropped = env.store.drop_held(&[(b.id, Some(notice(bruno))), (d.id, None)], DropCause::Expired).await.unwrap();
        assert_eq!(dropped.len(), 2);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM email_outbox").await, 3);
        let h = env.store.held_message(b.id).await.unwrap();
        assert_eq!((h.status, h.drop_cause), (HeldStatus::Dropped, Some(DropCause::Expired)));
        assert!(env.store.expired_held(env.store.now(), 10).await.unwrap().is_empty());
        // Dropped twice: nothing more.
        assert!(env.store.drop_held(&[(b.id, None)], DropCause::Operator).await.unwrap().is_empty());
        let claimed = env.store.claim_held_handoffs(HeldSource::Postfix, 10, std::time::Duration::from_secs(60)).await.unwrap();
        assert!(!claimed.is_empty() && claimed.iter().all(|h| h.kind == HandoffKind::Drop));
        let counts = env.store.held_counts().await.unwrap();
        assert_eq!((counts.held, counts.dropped), (0, 2));
    });
}

#[tokio::test]
async fn an_erasure_drops_the_persons_held_messages_and_blanks_their_address() {
    on_every_backend!(env => {
        let bruno = person(env, "Bruno Verdi", "bruno@example.it").await;
        let b = held(env, bruno, "bruno@example.it", Some("ABC123"));
        env.store.hold_message(&b, Some(&notice(bruno))).await.unwrap();
        env.store.erase_contact(bruno, &consento_store::ErasureInput {
            reason: consento_domain::erasure::ErasureReason::Request,
            actor: operator(),
            by: consento_store::AuditActor::System,
            request_id: None,
        }).await.unwrap();
        let h = env.store.held_message(b.id).await.unwrap();
        assert_eq!((h.status, h.drop_cause), (HeldStatus::Dropped, Some(DropCause::Erased)));
        assert_eq!(h.recipient, "");
        assert_eq!(h.contact_name, None);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM held_messages WHERE recipient LIKE '%bruno%'").await, 0);
        // Postfix is to remove it.
        let claimed = env.store.claim_held_handoffs(HeldSource::Postfix, 10, std::time::Duration::from_secs(60)).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].kind, HandoffKind::Drop);
    });
}
