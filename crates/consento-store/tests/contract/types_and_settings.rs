//! Privacy settings and consent types: the checks a store starts with, a type's code unique and
//! fixed once the ledger cites it.

use super::*;

#[tokio::test]
async fn settings_start_with_every_check_on_and_can_be_switched() {
    on_every_backend!(env => {
        assert_eq!(env.store.settings().await.unwrap(), PrivacySettings::default());
        let off = PrivacySettings { check_email_bulk: false, ..PrivacySettings::default() };
        env.store.update_settings(off).await.unwrap();
        assert_eq!(env.store.settings().await.unwrap(), off);
    });
}

#[tokio::test]
async fn a_consent_type_code_is_unique_and_cannot_change_once_used() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let dup = env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap_err();
        assert!(matches!(dup, StoreError::Conflict { field: "code", .. }), "{dup:?}");
        // Unused: the code may still be corrected.
        env.store.update_consent_type("NEWS", spec("NEWSLETTER", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("a@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "NEWSLETTER", EventKind::Given, None)).await.unwrap();
        let err = env.store.update_consent_type("NEWSLETTER", spec("NL", Some(365), newsletter())).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "code", .. }), "{err:?}");
        // Other fields still change.
        let t = env.store.update_consent_type("NEWSLETTER", spec("NEWSLETTER", Some(30), newsletter())).await.unwrap();
        assert_eq!(t.spec.validity_days, Some(30));
    });
}

#[tokio::test]
async fn a_consent_type_is_in_use_once_the_ledger_cites_it() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("CALLS", None, single_email())).await.unwrap();
        assert!(!env.store.consent_type_in_use("CALLS").await.unwrap());
        assert!(!env.store.consent_type_in_use("NOSUCHTYPE").await.unwrap());
        let c = env.store.create_contact(contact("b@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "CALLS", EventKind::Refused, None)).await.unwrap();
        assert!(env.store.consent_type_in_use("CALLS").await.unwrap());
    });
}

#[tokio::test]
async fn the_controller_starts_unnamed_and_keeps_the_facts_it_is_given_checked() {
    on_every_backend!(env => {
        let none = env.store.controller_details().await.unwrap();
        assert_eq!(none, consento_domain::ControllerDetails::default());
        assert_eq!(none.missing().len(), 5);
        let typed = consento_domain::ControllerDetails {
            name: Some("  Rossi Caldaie S.r.l. ".into()),
            address: Some("Via Roma 1\n20100 Milano".into()),
            email: Some("Privacy@RossiCaldaie.example".into()),
            dpo_contact: Some(String::new()),
            privacy_notice_url: Some("https://rossicaldaie.example/privacy".into()),
        };
        let kept = env.store.set_controller_details(typed).await.unwrap();
        assert_eq!(kept.name.as_deref(), Some("Rossi Caldaie S.r.l."));
        assert_eq!(kept.dpo_contact, None, "an empty fact is not given");
        assert_eq!(env.store.controller_details().await.unwrap(), kept);
        // A refused value changes nothing.
        let bad = consento_domain::ControllerDetails {
            email: Some("not an address".into()),
            ..kept.clone()
        };
        let err = env.store.set_controller_details(bad).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "email"), "{err:?}");
        assert_eq!(env.store.controller_details().await.unwrap(), kept);
        // Another process sees the same.
        let other = env.second_store().await;
        assert_eq!(other.controller_details().await.unwrap(), kept);
        other.close().await;
    });
}
