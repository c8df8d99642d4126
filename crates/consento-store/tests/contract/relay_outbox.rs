//! The relay's outbox (migration 0030): a message stored with its recipients' decisions and its
//! justified contacts in one transaction, the body sealed at rest, copies claimed once under a
//! lease by claimers on two stores, the body and addresses gone with the last copy, re-sealed by
//! a master key rotation, and an erasure stopping a copy under way.

use std::time::Duration;

use consento_domain::relay::DeliveryStatus;
use consento_store::{NewRelayMessage, NewRelayRecipient, NextAttempt, RecipientOutcome};

use super::*;

const BODY: &[u8] =
    b"From: vendite@example.com\r\nSubject: Offerta riservata\r\n\r\nGentile cliente\r\n";

/// A relay token, two contacts (one with a consent for single emails, one without) and a
/// reason: (token, allowed, needs a reason, reason).
async fn setup(
    store: &Store,
) -> (
    uuid::Uuid,
    consento_domain::ContactId,
    consento_domain::ContactId,
    consento_domain::ContactReason,
) {
    let (token, _) = store
        .create_token("crm", &["relay".to_owned()], None, None)
        .await
        .unwrap();
    store
        .create_consent_type(spec("email", Some(365), single_email()))
        .await
        .unwrap();
    let allowed = store
        .create_contact(contact("anna@example.it"))
        .await
        .unwrap();
    let needs = store
        .create_contact(contact("bruno@example.it"))
        .await
        .unwrap();
    store
        .record_consent(event(
            &ContactRef::Id(allowed.id),
            "email",
            EventKind::Given,
            None,
        ))
        .await
        .unwrap();
    let reason = store
        .create_reason("Richiesta del cliente", false)
        .await
        .unwrap();
    (token.id, allowed.id, needs.id, reason)
}

fn message(
    token: uuid::Uuid,
    allowed: consento_domain::ContactId,
    needs: consento_domain::ContactId,
    reason: &consento_domain::ContactReason,
    justified: bool,
) -> NewRelayMessage {
    NewRelayMessage {
        id: None,
        token_id: token,
        envelope_from: "vendite@example.com".into(),
        action: Action::EmailSingle,
        body: BODY.to_vec(),
        recipients: vec![
            NewRelayRecipient {
                address: "anna@example.it".into(),
                contact_id: Some(allowed),
                rule: "consent".into(),
                outcome: RecipientOutcome::Deliver,
            },
            NewRelayRecipient {
                address: "bruno@example.it".into(),
                contact_id: Some(needs),
                rule: "no_consent".into(),
                outcome: if justified {
                    RecipientOutcome::Justify {
                        reason: reason.id,
                        note: Some("ordine 1182".into()),
                        operator: "m.bianchi".into(),
                    }
                } else {
                    RecipientOutcome::Refused
                },
            },
        ],
    }
}

#[tokio::test]
async fn a_relayed_message_is_stored_sealed_with_its_justified_contact_and_claimed_once_under_a_lease()
 {
    on_every_backend!(env => {
        let (token, anna, bruno, reason) = setup(&env.store).await;
        let accepted = env
            .store
            .accept_relay_message(message(token, anna, bruno, &reason, true))
            .await
            .unwrap();
        // The justified contact is recorded with the message.
        assert_eq!(accepted.interactions.len(), 1);
        let recorded = env.store.interactions(&ContactRef::Id(bruno)).await.unwrap();
        assert_eq!(recorded, accepted.interactions);
        assert_eq!(recorded[0].operator, "m.bianchi");
        let x = env.bytes_literal(b"x");
        let addresses = format!("SELECT {x} FROM relay_deliveries WHERE recipient IS NOT NULL");
        assert_eq!(env.raw_bytes(&addresses).await.len(), 2);
        // Sealed at rest: the body's words are nowhere in the column.
        let stored = env.raw_bytes("SELECT body FROM relay_messages").await;
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].windows(8).any(|w| w == b"riservat"));
        // Claimed once, by one of two stores; both copies share the opened body.
        let lease = Duration::from_secs(60);
        let other = env.second_store().await;
        let (a, b) = tokio::join!(
            env.store.claim_relay_copies(10, lease),
            other.claim_relay_copies(10, lease)
        );
        let mut copies = a.unwrap();
        copies.extend(b.unwrap());
        assert_eq!(copies.len(), 2, "{copies:?}");
        assert!(copies.iter().all(|c| c.body.as_slice() == BODY && c.attempts == 1));
        assert!(copies.iter().any(|c| c.justified && c.contact_id == Some(bruno)));
        assert!(!format!("{copies:?}").contains("example"), "no address or body in Debug");
        assert!(env.store.claim_relay_copies(10, lease).await.unwrap().is_empty());
        // The lease runs out: a copy not recorded is claimed again, a second attempt.
        let (first, second) = (copies[0].id, copies[1].id);
        env.store.mark_relay_delivered(first).await.unwrap();
        env.clock.advance(61_000_000);
        let again = env.store.claim_relay_copies(10, lease).await.unwrap();
        assert_eq!((again.len(), again[0].id, again[0].attempts), (1, second, 2));
        let later = Timestamp::from_micros(env.store.now().as_micros() + 300_000_000);
        env.store.mark_relay_failed(second, "smtp_451", NextAttempt::At(later)).await.unwrap();
        let record = env.store.relay_record(accepted.id).await.unwrap().unwrap();
        assert!(record.body_kept, "a copy is still under way");
        assert_eq!(env.store.relay_outbox_stats().await.unwrap().pending, 1);
        env.clock.advance(300_000_000);
        let last = env.store.claim_relay_copies(10, lease).await.unwrap();
        // Given up: the sender is told in the same transaction, from the null sender.
        env.store.bounce_relay_copy(last[0].id, "smtp_550", b"Subject: Not delivered\r\n\r\n").await.unwrap();
        let notice = env.store.claim_relay_copies(10, lease).await.unwrap();
        assert_eq!(notice.len(), 1);
        assert!(notice[0].notice && notice[0].contact_id.is_none());
        assert_eq!((notice[0].envelope_from.as_str(), notice[0].recipient.as_str()), ("", "vendite@example.com"));
        assert_eq!(notice[0].body.as_slice(), b"Subject: Not delivered\r\n\r\n");
        // A notice given up tells nobody (RFC 5321 §4.5.5: never a notice about a notice).
        env.store.bounce_relay_copy(notice[0].id, "smtp_550", b"x").await.unwrap();
        assert!(env.store.claim_relay_copies(10, lease).await.unwrap().is_empty());
        assert_eq!(env.store.relay_outbox_stats().await.unwrap().pending, 0);
        // The last outcome takes the body, the sender and the addresses; the record stays.
        let record = env.store.relay_record(accepted.id).await.unwrap().unwrap();
        assert!(!record.body_kept && record.purged_at.is_some());
        let statuses: Vec<_> = record.deliveries.iter().map(|d| (d.status, d.last_error.clone())).collect();
        assert!(statuses.contains(&(DeliveryStatus::Delivered, None)));
        assert!(statuses.contains(&(DeliveryStatus::Bounced, Some("smtp_550".into()))));
        let justified = record.deliveries.iter().find(|d| d.contact_id == Some(bruno)).unwrap();
        assert_eq!(justified.reason_id, Some(reason.id));
        assert_eq!(justified.interaction_id, Some(recorded[0].id));
        let x = env.bytes_literal(b"x");
        let kept = format!("SELECT {x} FROM relay_messages WHERE envelope_from IS NOT NULL OR body IS NOT NULL UNION ALL SELECT {x} FROM relay_deliveries WHERE recipient IS NOT NULL");
        assert!(env.raw_bytes(&kept).await.is_empty(), "no address kept");
        assert_eq!(env.store.relay_outbox_stats().await.unwrap().pending, 0);
        other.close().await;
    });
}

#[tokio::test]
async fn a_message_nobody_gets_is_refused_and_a_reason_that_cannot_justify_stores_nothing() {
    on_every_backend!(env => {
        let (token, anna, bruno, reason) = setup(&env.store).await;
        let mut nobody = message(token, anna, bruno, &reason, false);
        nobody.recipients.remove(0);
        let e = env.store.accept_relay_message(nobody).await.unwrap_err();
        assert!(e.to_string().contains("recipients"), "{e}");
        // The reason retired since the relay decided: the whole message is refused.
        env.store.update_reason(reason.id, None, Some(false), None).await.unwrap();
        let e = env
            .store
            .accept_relay_message(message(token, anna, bruno, &reason, true))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("reason"), "{e}");
        assert!(env.raw_bytes("SELECT body FROM relay_messages").await.is_empty());
        assert!(env.store.interactions(&ContactRef::Id(bruno)).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn a_master_key_rotation_reseals_a_waiting_body_and_an_erasure_stops_its_copy() {
    on_every_backend!(env => {
        let (token, anna, bruno, reason) = setup(&env.store).await;
        let accepted = env
            .store
            .accept_relay_message(message(token, anna, bruno, &reason, false))
            .await
            .unwrap();
        let new_key = MasterKey::from_bytes([9; 32]);
        let counts = env.store.rotate_master_key(&new_key).await.unwrap();
        assert_eq!(counts.relay_bodies, 1);
        let rotated = env
            .second_store_with(|c| c.master_key = new_key.clone())
            .await;
        let copies = rotated.claim_relay_copies(10, Duration::from_secs(60)).await.unwrap();
        assert_eq!(copies.len(), 1);
        assert_eq!(copies[0].body.as_slice(), BODY);
        // Erased before it left: the copy is refused, the body and address go.
        rotated
            .erase_contact(anna, &consento_store::ErasureInput {
                reason: consento_domain::erasure::ErasureReason::Request,
                request_id: None,
                actor: operator(),
                by: consento_store::AuditActor::System,
            })
            .await
            .unwrap();
        let record = rotated.relay_record(accepted.id).await.unwrap().unwrap();
        let copy = record.deliveries.iter().find(|d| d.contact_id == Some(anna)).unwrap();
        assert_eq!((copy.status, copy.rule.as_str()), (DeliveryStatus::Refused, "erased"));
        assert!(!record.body_kept);
        // Recorded later by a worker that still held it: nothing changes.
        rotated.mark_relay_delivered(copy.id).await.unwrap();
        let record = rotated.relay_record(accepted.id).await.unwrap().unwrap();
        assert_eq!(record.deliveries.iter().find(|d| d.contact_id == Some(anna)).unwrap().status, DeliveryStatus::Refused);
        rotated.close().await;
    });
}

#[tokio::test]
async fn an_erasure_stops_the_persons_held_copy_and_keeps_the_body_another_recipients_copy_waits_for()
 {
    on_every_backend!(env => {
        let (token, anna, bruno, reason) = setup(&env.store).await;
        let mut held_message = message(token, anna, bruno, &reason, false);
        let message_id = consento_domain::EventId::new_v7(env.store.now(), env.store.random_bytes().unwrap()).0;
        held_message.id = Some(message_id);
        let held_id = consento_domain::EventId::new_v7(env.store.now(), env.store.random_bytes().unwrap()).0;
        held_message.recipients[1].outcome = RecipientOutcome::Hold {
            held: Box::new(consento_store::NewHeld {
                id: held_id,
                source: consento_domain::held::HeldSource::Relay,
                queue_id: Some(consento_domain::held::QueueId::parse(&message_id.simple().to_string()).unwrap()),
                transaction_ref: None,
                sender: "vendite@example.com".into(),
                sender_locale: "it".into(),
                recipient: "bruno@example.it".into(),
                contact_id: bruno,
                action: Action::EmailSingle,
                rule: "no_consent".into(),
                hold_until: consento_domain::held::hold_until(env.store.now(), 48),
            }),
            notice: None,
        };
        let accepted = env.store.accept_relay_message(held_message).await.unwrap();
        let erase = consento_store::ErasureInput {
            reason: consento_domain::erasure::ErasureReason::Request,
            request_id: None,
            actor: operator(),
            by: consento_store::AuditActor::System,
        };
        // Anna is erased while Bruno's copy waits for a reason: the body stays for Bruno's.
        env.store.erase_contact(anna, &erase).await.unwrap();
        let record = env.store.relay_record(accepted.id).await.unwrap().unwrap();
        let status = |r: &consento_store::RelayRecord, c| {
            let d = r.deliveries.iter().find(|d| d.contact_id == Some(c)).unwrap();
            (d.status, d.rule.clone())
        };
        assert_eq!(status(&record, anna), (DeliveryStatus::Refused, "erased".to_owned()));
        assert_eq!(status(&record, bruno).0, DeliveryStatus::Held);
        assert!(record.body_kept, "Bruno's held copy still needs the body");
        // Bruno is erased: his held copy will never go, and the body goes with it.
        env.store.erase_contact(bruno, &erase).await.unwrap();
        let record = env.store.relay_record(accepted.id).await.unwrap().unwrap();
        assert_eq!(status(&record, bruno), (DeliveryStatus::Refused, "erased".to_owned()));
        assert!(!record.body_kept && record.purged_at.is_some());
        let held = env.store.held_message(held_id).await.unwrap();
        assert_eq!(held.status, consento_domain::held::HeldStatus::Dropped);
        assert!(env.store.claim_relay_copies(10, Duration::from_secs(60)).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn messages_accepted_at_once_share_a_commit_each_with_its_audit_entry_and_a_bad_one_fails_alone()
 {
    on_every_backend!(env => {
        let (token, anna, bruno, reason) = setup(&env.store).await;
        let accept = |i: usize, id: Option<uuid::Uuid>| {
            let mut m = message(token, anna, bruno, &reason, false);
            m.id = id;
            let entry = consento_store::AuditInput {
                user_id: None,
                token_id: Some(token),
                action: "relay.accept".into(),
                target_kind: None,
                target_id: None,
                detail: serde_json::json!({ "n": i }),
            };
            let store = &env.store;
            async move { store.audited(entry, store.accept_relay_message(m)).await }
        };
        // Sixteen at once: those that wait while one is written share the next commit.
        let results = futures_util::future::join_all((0..16).map(|i| accept(i, None))).await;
        assert!(results.iter().all(Result::is_ok));
        let shared = env.store.relay_shared_commits();
        assert!(shared > 0, "messages waiting shared a commit");
        // Two of another sixteen claim the same id: the second to be written cannot be, and
        // fails alone.
        let duplicate = consento_domain::EventId::new_v7(env.store.now(), env.store.random_bytes().unwrap()).0;
        let second = (16..32).map(|i| accept(i, (i == 19 || i == 25).then_some(duplicate)));
        let results = futures_util::future::join_all(second).await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        assert_eq!(failed, 1, "only one of the two with the same id fails");
        for r in results.into_iter().flatten() {
            let (accepted, audited) = r;
            assert!(audited, "each message's own entry is recorded");
            assert!(env.store.relay_record(accepted.id).await.unwrap().is_some());
        }
        let copies = env.store.claim_relay_copies(100, Duration::from_secs(60)).await.unwrap();
        assert_eq!(copies.len(), 31, "one copy for Anna in each message written");
        let entries = env.raw_count("SELECT COUNT(*) FROM audit_events WHERE action = 'relay.accept'").await;
        assert_eq!(entries, 31, "an entry for each message written, none for the one refused");
    });
}

#[tokio::test]
async fn a_message_whose_body_went_after_the_claim_is_left_out_and_the_rest_of_the_batch_goes() {
    on_every_backend!(env => {
        let (token, anna, bruno, reason) = setup(&env.store).await;
        let first = env.store.accept_relay_message(message(token, anna, bruno, &reason, false)).await.unwrap();
        let second = env.store.accept_relay_message(message(token, anna, bruno, &reason, false)).await.unwrap();
        // As an erasure between the claim's commit and the reading of the bodies leaves it.
        let x = env.bytes_literal(b"x");
        let first_id = env.bytes_literal(first.id.as_bytes());
        let first_id = match env.store.backend() {
            consento_store::Backend::Sqlite => first_id,
            consento_store::Backend::Postgres => format!("'{}'::uuid", first.id),
        };
        let gone = env.raw_bytes(&format!("UPDATE relay_messages SET body = NULL, envelope_from = NULL, purged_at = received_at WHERE id = {first_id} RETURNING {x}")).await;
        assert_eq!(gone.len(), 1);
        let copies = env.store.claim_relay_copies(10, Duration::from_secs(60)).await.unwrap();
        assert_eq!(copies.len(), 1, "{copies:?}");
        assert_eq!(copies[0].message_id, second.id);
        assert_eq!(copies[0].body.as_slice(), BODY);
    });
}
