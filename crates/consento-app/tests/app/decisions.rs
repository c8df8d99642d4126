//! Decisions and justified contacts: counted for every caller, and a justified contact audited
//! with its actor in its own transaction.

use consento_app::audit::By;
use consento_domain::{Action, ReasonId};
use consento_store::ContactRef;

use std::sync::Arc;

use crate::test_app;

#[tokio::test]
async fn every_decision_asked_through_the_app_is_counted_by_its_hooks() {
    let t = test_app().await;
    let anna = ContactRef::Id(t.newsletter_and_contact().await);
    t.app.decide(&anna, Action::EmailBulk, None).await.unwrap();
    t.app
        .decide(&anna, Action::EmailSingle, None)
        .await
        .unwrap();
    assert_eq!(
        *t.counted.0.lock().unwrap(),
        vec!["blocked", "needs_justification"]
    );
}

#[tokio::test]
async fn a_justified_contact_is_recorded_with_its_audit_row_naming_who_and_the_interaction() {
    let t = test_app().await;
    let anna = t.newsletter_and_contact().await;
    let reason = t
        .store
        .create_reason("Richiesta del cliente", false)
        .await
        .unwrap();
    let operator = t.user().await;
    let (report, interaction) = t
        .app
        .justify(
            &By::user(operator),
            &ContactRef::Id(anna),
            Action::PhoneCall,
            ReasonId(reason.id.0),
            Some("richiamata"),
            "operator:anna",
        )
        .await
        .unwrap();
    let interaction = interaction.expect("recorded");
    assert_eq!(report.decision.outcome(), "needs_justification");
    let trail = t.trail().await;
    let entry = trail
        .iter()
        .find(|e| e.action == "contact.justify")
        .unwrap();
    assert_eq!(entry.user_id, Some(operator));
    assert_eq!(entry.target_id, Some(anna.0.to_string()));
    assert_eq!(entry.detail["recorded"], true);
    assert_eq!(entry.detail["interaction_id"], interaction.id.to_string());
    assert_eq!(*t.counted.0.lock().unwrap(), vec!["needs_justification"]);
}

#[tokio::test]
async fn a_dialer_asking_again_sees_the_register_check_and_the_silent_call_another_process_recorded()
 {
    use consento_domain::calls::CallOutcome;
    use consento_domain::{
        Actor, ActorKind, Cause, Clock, CollectionMethod, ConsentCode, ConsentTypeSpec, Decision,
        EventKind, Permissions, Timestamp,
    };
    use consento_store::{
        AuditActor, ConsentEventInput, ContactInput, NewCallOutcome, NewRpoCheck, Store,
        StoreConfig,
    };

    let t = test_app().await;
    t.store
        .create_consent_type(ConsentTypeSpec {
            title: "Chiamate".to_owned(),
            code: ConsentCode::parse("CALLS").unwrap(),
            description: None,
            validity_days: Some(365),
            permissions: Permissions {
                phone_call: true,
                ..Permissions::default()
            },
            show_in_preference_center: true,
            purpose: Default::default(),
        })
        .await
        .unwrap();
    let anna = ContactRef::Phone("+393331112222".to_owned());
    t.store
        .create_contact(ContactInput {
            phones: vec!["333 111 2222".to_owned()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    t.store
        .record_consent(ConsentEventInput {
            contact: anna.clone(),
            type_code: "CALLS".to_owned(),
            kind: EventKind::Given,
            event_time: None,
            method: CollectionMethod::Phone,
            actor: Actor::new(ActorKind::Operator, "mrossi").unwrap(),
            notice_version: None,
            evidence: None,
        })
        .await
        .unwrap();
    let ring = || t.app.decide(&anna, Action::PhoneCall, None);
    // Asked twice: the second answer comes from what the first remembered.
    for _ in 0..2 {
        let never_checked = ring().await.unwrap().decision;
        assert_eq!(
            never_checked,
            Decision::Blocked {
                cause: Cause::RpoCheckMissing
            }
        );
    }

    // Another process on the same file: the command line importing the register's answer, the
    // dialer's outcomes arriving at another server.
    let other = Store::open(
        &StoreConfig::new(
            format!("sqlite:{}", t.path.display()),
            consento_domain::sealed::MasterKey::from_bytes([7; 32]),
        ),
        t.clock.clone(),
        Arc::new(consento_store::OsEntropy),
    )
    .await
    .unwrap();
    let now = t.clock.now();
    let answered_at = Timestamp::from_micros(now.as_micros() - 3_600_000_000);
    other
        .import_rpo_answer(
            NewRpoCheck {
                answered_at,
                valid_until: answered_at.plus_days(15),
                file_name: "risposta.csv".to_owned(),
                file_sha256: [1; 32],
                answer_mode: "enrolled",
                imported_by: "mrossi".to_owned(),
            },
            &[],
            &["+393331112222".to_owned()],
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let checked = ring().await.unwrap().decision;
        assert!(checked.is_allowed(), "{checked:?}");
    }

    other
        .record_call_outcome(&NewCallOutcome {
            phone: "+393331112222".to_owned(),
            outcome: CallOutcome::Silent,
            campaign: "Primavera".to_owned(),
            operator: "m.bianchi".to_owned(),
            called_at: now,
            actor: Actor::new(ActorKind::System, "dialer").unwrap(),
            objection_entry: Some(AuditActor::System.entry(
                "contact.objection",
                None,
                serde_json::json!({}),
            )),
        })
        .await
        .unwrap();
    for _ in 0..2 {
        let after_silence = ring().await.unwrap().decision;
        assert_eq!(
            after_silence,
            Decision::Blocked {
                cause: Cause::SilentCallCooldown {
                    until: now.plus_days(7)
                }
            }
        );
    }
    other.close().await;
}
