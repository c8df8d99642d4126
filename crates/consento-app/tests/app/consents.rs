//! Recording consents: the date rule for every caller, and each event audited with who
//! recorded it.

use consento_app::audit::By;
use consento_domain::{Actor, ActorKind, CollectionMethod, EventKind, Timestamp};
use consento_store::{ConsentEventInput, ContactRef};

use crate::test_app;

fn event(contact: &ContactRef, kind: EventKind, at: &str) -> ConsentEventInput {
    ConsentEventInput {
        contact: contact.clone(),
        type_code: "NEWS".to_owned(),
        kind,
        event_time: Some(Timestamp::parse("event_time", at).unwrap()),
        method: CollectionMethod::Paper,
        actor: Actor::new(ActorKind::Operator, "anna").unwrap(),
        notice_version: None,
        evidence: None,
    }
}

#[tokio::test]
async fn a_consent_dated_before_its_last_change_is_refused_and_nothing_is_recorded() {
    let t = test_app().await;
    let anna = ContactRef::Id(t.newsletter_and_contact().await);
    let by = By::command_line("anna");
    t.app
        .record_consent(&by, event(&anna, EventKind::Withdrawn, "2026-05-10"), None)
        .await
        .unwrap();
    let err = t
        .app
        .record_consent(&by, event(&anna, EventKind::Given, "2026-05-01"), None)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("event_time"), "{err}");
    assert_eq!(t.store.consent_history(&anna).await.unwrap().len(), 1);
    // The same day as the last change is not before it.
    t.app
        .record_consent(&by, event(&anna, EventKind::Given, "2026-05-10"), None)
        .await
        .unwrap();
    assert_eq!(t.store.consent_history(&anna).await.unwrap().len(), 2);
}

#[tokio::test]
async fn each_consent_event_is_audited_with_the_token_that_recorded_it() {
    let t = test_app().await;
    let id = t.newsletter_and_contact().await;
    let anna = ContactRef::Id(id);
    let token = t.token().await;
    let events = vec![
        (event(&anna, EventKind::Given, "2026-05-01"), None),
        (event(&anna, EventKind::Withdrawn, "2026-05-20"), None),
    ];
    t.app
        .record_consents(&By::token(token), events)
        .await
        .unwrap();
    let trail = t.trail().await;
    let consents: Vec<_> = trail
        .iter()
        .filter(|e| e.action == "contact.consent")
        .collect();
    assert_eq!(consents.len(), 2);
    assert!(
        consents
            .iter()
            .all(|e| e.token_id == Some(token) && e.user_id.is_none())
    );
    assert!(
        consents
            .iter()
            .all(|e| e.target_id == Some(id.0.to_string()))
    );
    assert_eq!(consents[0].detail["events"][0]["kind"], "withdrawn");
    assert_eq!(consents[1].detail["events"][0]["kind"], "given");
}

#[tokio::test]
async fn a_token_an_account_or_the_command_line_cannot_claim_a_method_only_consento_produces() {
    let t = test_app().await;
    let anna = ContactRef::Id(t.newsletter_and_contact().await);
    let callers = [
        By::token(t.token().await),
        By::user(t.user().await),
        By::command_line("anna"),
    ];
    for by in &callers {
        for method in [
            CollectionMethod::DoubleOptIn,
            CollectionMethod::OneClickUnsubscribe,
            CollectionMethod::PreferenceCenter,
            CollectionMethod::Import,
        ] {
            let mut e = event(&anna, EventKind::Given, "2026-05-01");
            e.method = method;
            let err = t.app.record_consent(by, e, None).await.unwrap_err();
            assert_eq!(err.field(), Some("method"), "{by:?} {method}: {err}");
        }
    }
    assert!(t.store.consent_history(&anna).await.unwrap().is_empty());
    // The person on Consento's own pages records them.
    let mut e = event(&anna, EventKind::Given, "2026-05-01");
    e.method = CollectionMethod::PreferenceCenter;
    e.actor = Actor::new(ActorKind::Subject, "").unwrap();
    t.app.record_consent(&By::person(), e, None).await.unwrap();
    assert_eq!(t.store.consent_history(&anna).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_backdated_consent_already_expired_is_recorded_with_a_warning() {
    let t = test_app().await;
    let anna = ContactRef::Id(t.newsletter_and_contact().await);
    let by = By::command_line("anna");
    // NEWS lasts 365 days; given two years before the clock's 2026-06-01.
    let (old, _) = t
        .app
        .record_consent(&by, event(&anna, EventKind::Given, "2024-05-01"), None)
        .await
        .unwrap();
    assert_eq!(
        old.warnings(),
        vec![consento_domain::consent::EventWarning::AlreadyExpired]
    );
    let (live, _) = t
        .app
        .record_consent(&by, event(&anna, EventKind::Renewed, "2026-05-01"), None)
        .await
        .unwrap();
    assert!(live.warnings().is_empty());
}
