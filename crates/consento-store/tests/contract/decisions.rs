//! Decisions: the consent and dates a decision cites, decisions at a past instant, restriction
//! and objection (GDPR Art. 18, 21(3)) that nothing overrides, and justified contacts.

use super::*;

#[tokio::test]
async fn a_decision_cites_the_consent_and_its_dates_until_it_expires() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("d@example.it")).await.unwrap();
        let r = ContactRef::Email("D@example.it".into());
        let given = days_before(start(), 10);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(given))).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert_eq!(d.contact_id, c.id);
        assert_eq!(
            d.decision,
            Decision::Allowed { allowed_by: AllowedBy::Consent { code: ConsentCode::parse("NEWS").unwrap(), given_at: given, expires_at: Some(given.plus_days(30)), marketing: true } }
        );
        // At the expiry instant itself the consent no longer holds.
        env.clock.set(given.plus_days(30));
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Expired { .. } }), "{d:?}");
        // A single email without consent needs a reason.
        let d = env.store.decide(&r, Action::EmailSingle, None).await.unwrap();
        assert!(matches!(d.decision, Decision::NeedsJustification { cause: Cause::NoConsent, marketing_reasons_allowed: true }), "{d:?}");
    });
}

#[tokio::test]
async fn a_decision_at_a_past_instant_reads_the_ledger_as_it_stood_then() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        env.store.create_contact(contact("p@example.it")).await.unwrap();
        let r = ContactRef::Email("p@example.it".into());
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 20)))).await.unwrap();
        env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, Some(days_before(start(), 5)))).await.unwrap();
        let then = env.store.decide(&r, Action::EmailBulk, Some(days_before(start(), 10))).await.unwrap();
        assert!(then.decision.is_allowed(), "{then:?}");
        let before = env.store.decide(&r, Action::EmailBulk, Some(days_before(start(), 30))).await.unwrap();
        assert!(matches!(before.decision, Decision::Blocked { cause: Cause::NoConsent }), "{before:?}");
        let now = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(now.decision, Decision::Blocked { cause: Cause::Withdrawn { .. } }), "{now:?}");
    });
}

#[tokio::test]
async fn restriction_and_objection_cannot_be_overridden() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("ALL", None, Permissions { email_bulk: true, email_single: true, phone_call: true, sms_single: true, sms_bulk: true })).await.unwrap();
        let service = env.store.create_reason("Richiesta del cliente", false).await.unwrap();
        let offer = env.store.create_reason("Offerta commerciale", true).await.unwrap();
        env.store.create_contact(contact("o@example.it")).await.unwrap();
        let r = ContactRef::Email("o@example.it".into());
        env.store.record_consent(event(&r, "ALL", EventKind::Given, None)).await.unwrap();

        env.store.set_objected(&r, true).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Objected { .. } }), "{d:?}");
        let err = env.store.justify(&r, Action::PhoneCall, offer.id, None, "mrossi").await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "reason"), "{err:?}");
        let (_, recorded) = env.store.justify(&r, Action::PhoneCall, service.id, Some("richiamata"), "mrossi").await.unwrap();
        assert!(recorded.is_some());

        env.store.set_restricted(&r, true).await.unwrap();
        let err = env.store.justify(&r, Action::PhoneCall, service.id, None, "mrossi").await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "action"), "{err:?}");
        env.store.update_settings(PrivacySettings { check_email_single: false, check_email_bulk: false, check_phone: false, check_sms: false }).await.unwrap();
        for action in Action::ALL {
            let d = env.store.decide(&r, *action, None).await.unwrap();
            assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Restricted { .. } }), "{action}: {d:?}");
        }
        assert_eq!(env.store.interactions(&r).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn a_justified_contact_is_recorded_with_operator_reason_and_note() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("MAIL", Some(365), single_email())).await.unwrap();
        let reason = env.store.create_reason("Assistenza post-vendita", false).await.unwrap();
        env.store.create_contact(contact("j@example.it")).await.unwrap();
        let r = ContactRef::Email("j@example.it".into());
        let (report, interaction) = env.store.justify(&r, Action::EmailSingle, reason.id, Some("guasto caldaia"), "lverdi").await.unwrap();
        assert_eq!(report.decision.outcome(), "needs_justification");
        let interaction = interaction.unwrap();
        let stored = env.store.interactions(&r).await.unwrap();
        assert_eq!(stored, vec![interaction.clone()]);
        assert_eq!(stored[0].operator, "lverdi");
        assert_eq!(stored[0].reason_label.as_deref(), Some("Assistenza post-vendita"));
        assert_eq!(stored[0].note.as_deref(), Some("guasto caldaia"));
        assert_eq!(stored[0].occurred_at, start());
        // An inactive reason is refused and nothing more is recorded.
        env.store.update_reason(reason.id, None, Some(false), None).await.unwrap();
        let err = env.store.justify(&r, Action::EmailSingle, reason.id, None, "lverdi").await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "reason"), "{err:?}");
        assert_eq!(env.store.interactions(&r).await.unwrap().len(), 1);
    });
}
