//! Every write of a use case and its audit row are one transaction, whoever asked.

use consento_app::audit::By;
use consento_domain::{Actor, ActorKind};
use consento_store::{ContactFlag, ContactRef};

use crate::test_app;

#[tokio::test]
async fn a_use_case_whose_audit_row_cannot_be_written_changes_nothing() {
    let t = test_app().await;
    let anna = ContactRef::Id(t.newsletter_and_contact().await);
    t.refuse_audit_rows().await;
    let refused = t
        .app
        .change_flag(
            &By::user(t.user().await),
            &anna,
            ContactFlag::Restriction,
            true,
            Actor::new(ActorKind::Operator, "anna").unwrap(),
            None,
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let contact = t.store.contact(&anna).await.unwrap();
    assert_eq!(
        contact.restricted_at, None,
        "the restriction went with its audit row"
    );
}

#[tokio::test]
async fn a_change_from_the_command_line_names_its_operator() {
    let t = test_app().await;
    let anna = ContactRef::Id(t.newsletter_and_contact().await);
    t.app
        .change_flag(
            &By::command_line("bruno"),
            &anna,
            ContactFlag::Objection,
            true,
            Actor::new(ActorKind::Operator, "bruno").unwrap(),
            None,
        )
        .await
        .unwrap();
    let trail = t.trail().await;
    let entry = trail
        .iter()
        .find(|e| e.action == "contact.objection")
        .unwrap();
    assert_eq!((entry.user_id, entry.token_id), (None, None));
    assert_eq!(entry.detail["via"], "command_line");
    assert_eq!(entry.detail["operator"], "bruno");
    assert!(entry.detail["before"].is_null());
    assert!(entry.detail["after"].is_string());
}
