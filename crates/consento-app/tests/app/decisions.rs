//! Decisions and justified contacts: counted for every caller, and a justified contact audited
//! with its actor in its own transaction.

use consento_app::audit::By;
use consento_domain::{Action, ReasonId};
use consento_store::ContactRef;

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
