//! The controller as every adapter names it: the configuration's facts over those given on the
//! first run, never an empty name in an export or a receipt, and each change audited.

use consento_app::audit::By;
use consento_app::controller::{Source, UNNAMED_EN, UNNAMED_IT};
use consento_app::export::{ExportFormat, export};
use consento_domain::{
    Actor, ActorKind, CollectionMethod, ControllerDetails, ControllerField, EventKind, Locale,
};
use consento_store::{ConsentEventInput, ContactRef};

use crate::{policy, test_app, test_app_with};

fn name_only(name: &str) -> ControllerDetails {
    ControllerDetails {
        name: Some(name.to_owned()),
        ..ControllerDetails::default()
    }
}

#[tokio::test]
async fn an_unnamed_controller_is_never_named_with_an_empty_string() {
    let mut bare = policy();
    bare.controller_fallback_name = String::new();
    let t = test_app_with(bare.clone()).await;
    let named = t.app.controller().await.unwrap();
    assert!(!named.is_named());
    assert!(!named.name_given);
    assert_eq!(named.name, UNNAMED_IT);
    assert_eq!(named.missing(), ControllerField::ALL.to_vec());
    // In the deployment's language.
    bare.default_locale = Locale::En;
    let t = test_app_with(bare).await;
    assert_eq!(t.app.controller().await.unwrap().name, UNNAMED_EN);
    // With the mail sender's name configured, that name stands in; the name is still missing.
    let t = test_app().await;
    let named = t.app.controller().await.unwrap();
    assert_eq!(named.name, "Titolare di prova");
    assert!(named.name_given);
    assert!(named.missing().contains(&ControllerField::Name));
}

#[tokio::test]
async fn the_configuration_wins_over_the_facts_given_on_the_first_run() {
    let mut configured = policy();
    configured.controller.name = "Rossi Caldaie S.r.l.".to_owned();
    let t = test_app_with(configured).await;
    let named = t
        .app
        .set_controller(
            &By::command_line("bruno"),
            ControllerDetails {
                name: Some("Altro nome".to_owned()),
                email: Some("privacy@rossi.example".to_owned()),
                ..ControllerDetails::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(named.name, "Rossi Caldaie S.r.l.");
    assert_eq!(
        named.source(ControllerField::Name),
        Some(Source::Configuration)
    );
    assert_eq!(named.stored.name.as_deref(), Some("Altro nome"));
    assert_eq!(
        named.details.email.as_deref(),
        Some("privacy@rossi.example")
    );
    assert_eq!(named.source(ControllerField::Email), Some(Source::Database));
    assert_eq!(named.source(ControllerField::Address), None);
    assert_eq!(
        named.contact, "privacy@rossi.example",
        "the email says how to reach it"
    );
}

#[tokio::test]
async fn setting_the_controller_changes_only_the_facts_given_and_is_audited_once() {
    let t = test_app().await;
    let by = By::command_line("bruno");
    t.app
        .set_controller(&by, name_only("Rossi Caldaie S.r.l."))
        .await
        .unwrap();
    let named = t
        .app
        .set_controller(
            &by,
            ControllerDetails {
                address: Some("Via Roma 1, 20100 Milano".to_owned()),
                ..ControllerDetails::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(named.details.name.as_deref(), Some("Rossi Caldaie S.r.l."));
    assert_eq!(
        named.details.address.as_deref(),
        Some("Via Roma 1, 20100 Milano")
    );
    assert_eq!(
        named.missing(),
        vec![
            ControllerField::Email,
            ControllerField::DpoContact,
            ControllerField::PrivacyNoticeUrl
        ]
    );
    let updates = |trail: Vec<consento_store::AuditEntry>| {
        trail
            .into_iter()
            .filter(|e| e.action == "controller.update")
            .collect::<Vec<_>>()
    };
    let entries = updates(t.trail().await);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].detail["operator"], "bruno");
    assert!(entries[0].detail["before"]["address"].is_null());
    assert_eq!(
        entries[0].detail["after"]["address"],
        "Via Roma 1, 20100 Milano"
    );
    // The same values again write nothing; a refused value changes nothing.
    t.app
        .set_controller(&by, name_only(" Rossi Caldaie S.r.l. "))
        .await
        .unwrap();
    let err = t
        .app
        .set_controller(
            &by,
            ControllerDetails {
                name: Some("Nuovo nome".to_owned()),
                privacy_notice_url: Some("rossi.example/privacy".to_owned()),
                ..ControllerDetails::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("privacy_notice_url"));
    assert_eq!(updates(t.trail().await).len(), 2);
    let stored = t.store.controller_details().await.unwrap();
    assert_eq!(stored.name.as_deref(), Some("Rossi Caldaie S.r.l."));
    // An empty value removes a fact.
    let named = t
        .app
        .set_controller(
            &by,
            ControllerDetails {
                address: Some(String::new()),
                ..ControllerDetails::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(named.details.address, None);
}

#[tokio::test]
async fn exports_and_receipts_name_the_controller_before_and_after_it_is_named() {
    let mut bare = policy();
    bare.controller_fallback_name = String::new();
    let t = test_app_with(bare).await;
    let anna = t.newsletter_and_contact().await;
    let (event, _) = t
        .app
        .record_consent(
            &By::command_line("bruno"),
            ConsentEventInput {
                contact: ContactRef::Id(anna),
                type_code: "NEWS".to_owned(),
                kind: EventKind::Given,
                event_time: None,
                method: CollectionMethod::Paper,
                actor: Actor::new(ActorKind::Operator, "bruno").unwrap(),
                notice_version: None,
                evidence: None,
            },
            None,
        )
        .await
        .unwrap();
    let controller_of_export = |body: Vec<u8>| {
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["controller"].clone()
    };
    let before = export(&t.app, anna, ExportFormat::Json).await.unwrap();
    assert_eq!(controller_of_export(before.body)["name"], UNNAMED_IT);
    let receipt = consento_app::receipts::issue(&t.app, event.id)
        .await
        .unwrap();
    assert_eq!(
        receipt.receipt.pii_controllers[0].pii_controller,
        UNNAMED_IT
    );

    t.app
        .set_controller(
            &By::command_line("bruno"),
            ControllerDetails {
                name: Some("Rossi Caldaie S.r.l.".to_owned()),
                email: Some("privacy@rossi.example".to_owned()),
                dpo_contact: Some("dpo@rossi.example".to_owned()),
                privacy_notice_url: Some("https://rossi.example/privacy".to_owned()),
                ..ControllerDetails::default()
            },
        )
        .await
        .unwrap();
    let after = controller_of_export(export(&t.app, anna, ExportFormat::Json).await.unwrap().body);
    assert_eq!(after["name"], "Rossi Caldaie S.r.l.");
    assert_eq!(after["email"], "privacy@rossi.example");
    assert_eq!(after["dpo_contact"], "dpo@rossi.example");
    assert_eq!(after["privacy_notice_url"], "https://rossi.example/privacy");
    let receipt = consento_app::receipts::issue(&t.app, event.id)
        .await
        .unwrap();
    let c = &receipt.receipt.pii_controllers[0];
    assert_eq!(c.pii_controller, "Rossi Caldaie S.r.l.");
    assert_eq!(c.email.as_deref(), Some("privacy@rossi.example"));
    assert!(receipt.jws.contains('.'));
}
