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
async fn a_consent_type_keeps_its_purpose_and_categories_which_cannot_change_once_used() {
    on_every_backend!(env => {
        let third = consento_domain::Purpose::ThirdParty(vec!["energy".into(), "telephony".into()]);
        let mut partners = spec("PARTNERS", Some(365), newsletter());
        partners.purpose = third.clone();
        env.store.create_consent_type(partners.clone()).await.unwrap();
        assert_eq!(env.store.consent_type("PARTNERS").await.unwrap().spec.purpose, third);
        // Types stored before purposes existed read as marketing.
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        assert_eq!(env.store.consent_type("NEWS").await.unwrap().spec.purpose, consento_domain::Purpose::Marketing);
        // An omnibus disclosure is refused naming the field.
        let mut omnibus = spec("OMNI", None, newsletter());
        omnibus.purpose = consento_domain::Purpose::ThirdParty(Vec::new());
        let err = env.store.create_consent_type(omnibus).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "categories"), "{err:?}");
        // Unused: the purpose may still be corrected; used: never.
        partners.purpose = consento_domain::Purpose::ThirdParty(vec!["energy".into()]);
        env.store.update_consent_type("PARTNERS", partners.clone()).await.unwrap();
        let c = env.store.create_contact(contact("a@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "PARTNERS", EventKind::Given, None)).await.unwrap();
        partners.purpose = consento_domain::Purpose::ThirdParty(vec!["energy".into(), "insurance".into()]);
        let err = env.store.update_consent_type("PARTNERS", partners.clone()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "purpose", .. }), "{err:?}");
        partners.purpose = consento_domain::Purpose::ThirdParty(vec!["energy".into()]);
        partners.title = "Partner: energia".into();
        assert_eq!(env.store.update_consent_type("PARTNERS", partners).await.unwrap().spec.title, "Partner: energia");
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
async fn consent_type_codes_differing_only_in_case_are_refused_naming_code() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("promo_sms", None, newsletter())).await.unwrap();
        let clash = env.store.create_consent_type(spec("PROMO_SMS", None, newsletter())).await.unwrap_err();
        assert!(matches!(clash, StoreError::Conflict { field: "code", .. }), "{clash:?}");
        // Renaming another type onto it in another case is the same clash.
        env.store.create_consent_type(spec("CALLS", None, single_email())).await.unwrap();
        let renamed = env.store.update_consent_type("CALLS", spec("Promo_Sms", None, single_email())).await.unwrap_err();
        assert!(matches!(renamed, StoreError::Conflict { field: "code", .. }), "{renamed:?}");
        let codes: Vec<String> = env.store.consent_types().await.unwrap().into_iter().map(|t| t.spec.code.as_str().to_owned()).collect();
        assert_eq!(codes.len(), 2, "{codes:?}");
    });
}

#[tokio::test]
async fn codes_that_already_differed_only_in_case_are_kept_and_no_new_clash_is_let_in() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("promo_sms", None, newsletter())).await.unwrap();
        env.clock.advance(1_000_000);
        // A database written before the rule (an older release): the index is not there yet,
        // and two types differ only in case, the second already cited by the ledger.
        env.raw_sql("DROP INDEX consent_types_code_folded; ALTER TABLE consent_types DROP COLUMN code_case_clash; DELETE FROM schema_migrations WHERE version = 21;").await.unwrap();
        env.store.create_consent_type(spec("PROMO_SMS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("a@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "PROMO_SMS", EventKind::Given, None)).await.unwrap();
        // The next start applies the migration: both types stay, with their proof.
        let migrated = env.second_store().await;
        assert_eq!(migrated.consent_types().await.unwrap().len(), 2);
        migrated.verify_ledger().await.unwrap();
        let third = migrated.create_consent_type(spec("Promo_SMS", None, newsletter())).await.unwrap_err();
        assert!(matches!(third, StoreError::Conflict { field: "code", .. }), "{third:?}");
        // The kept types still change in everything but their case-clashing code.
        migrated.update_consent_type("PROMO_SMS", spec("PROMO_SMS", Some(30), newsletter())).await.unwrap();
        migrated.close().await;
    });
}

#[tokio::test]
async fn a_consent_type_that_permits_nothing_is_refused_naming_permissions() {
    on_every_backend!(env => {
        let err = env.store.create_consent_type(spec("NOTHING", None, Permissions::default())).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "permissions"), "{err:?}");
        assert!(env.store.consent_types().await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn a_nul_in_any_text_field_is_refused_naming_it_on_every_backend() {
    on_every_backend!(env => {
        let field_of = |e: StoreError| match e {
            StoreError::Invalid(d) => d.field().to_owned(),
            other => panic!("not refused as invalid: {other:?}"),
        };
        let mut named = contact("a@example.it");
        named.name = Some("Mario\0Rossi".into());
        assert_eq!(field_of(env.store.create_contact(named).await.unwrap_err()), "name");
        let mut sourced = contact("a@example.it");
        sourced.source = Some("fiera\u{1b}[2J".into());
        assert_eq!(field_of(env.store.create_contact(sourced).await.unwrap_err()), "source");
        let mut attributed = contact("a@example.it");
        attributed.attributes.insert("note".into(), serde_json::Value::from("x\0y"));
        assert_eq!(field_of(env.store.create_contact(attributed).await.unwrap_err()), "attributes");
        let mut titled = spec("NEWS", None, newsletter());
        titled.title = "News\0".into();
        assert_eq!(field_of(env.store.create_consent_type(titled).await.unwrap_err()), "title");
        assert_eq!(field_of(env.store.create_reason("Richiesta\0", false).await.unwrap_err()), "label");
        // Nothing was half-written.
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM contacts").await, 0);
        // Evidence may span lines, but holds no other control character.
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("a@example.it")).await.unwrap();
        let mut e = event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None);
        e.evidence = Some("modulo\0".into());
        assert_eq!(field_of(env.store.record_consent(e.clone()).await.unwrap_err()), "evidence");
        e.evidence = Some("modulo 42\r\nfirmato".into());
        env.store.record_consent(e).await.unwrap();
    });
}

#[tokio::test]
async fn a_consent_dated_before_1900_is_refused_naming_event_time() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("a@example.it")).await.unwrap();
        let at = Timestamp::parse("t", "1899-12-31").unwrap();
        let err = env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, Some(at))).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "event_time"), "{err:?}");
        let at = Timestamp::parse("t", "1900-01-01").unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, Some(at))).await.unwrap();
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
