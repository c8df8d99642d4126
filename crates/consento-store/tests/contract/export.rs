//! The export of a contact (GDPR Art. 15): the contact, its consent history, its justified
//! contacts and its channel switches.

use super::*;

#[tokio::test]
async fn an_export_gathers_the_contact_its_consent_history_justified_contacts_and_channel_switches()
{
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        env.store.create_consent_type(spec("MAIL", None, single_email())).await.unwrap();
        let reason = env.store.create_reason("Assistenza", false).await.unwrap();
        let created = env.store.create_contact(ContactInput {
            source: Some("fiera Milano 2025".into()),
            phones: vec!["+39 333 123 4567".into()],
            ..contact("export@example.it")
        }).await.unwrap();
        let r = ContactRef::Email("export@example.it".into());
        env.store.record_consent(ConsentEventInput {
            evidence: Some("modulo firmato n. 12".into()),
            ..event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 10)))
        }).await.unwrap();
        env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        env.store.justify(&r, Action::EmailSingle, reason.id, Some("reclamo"), "lverdi").await.unwrap();
        env.clock.advance(60_000_000);
        env.store.justify(&r, Action::EmailSingle, reason.id, None, "lverdi").await.unwrap();
        env.store.set_channel(&r, consento_domain::Channel::Sms, true, CollectionMethod::PreferenceCenter, &operator(), Some("ua")).await.unwrap();

        let export = env.store.export_contact(&r).await.unwrap();
        assert_eq!(export.contact.id, created.id);
        assert_eq!(export.contact.source.as_deref(), Some("fiera Milano 2025"));
        assert_eq!(export.contact.phones.len(), 1);
        assert!(export.contact.sms_off_at.is_some());
        // Every type has a line; the newsletter's latest event is the withdrawal.
        assert_eq!(export.consents.len(), 2);
        let news = export.consents.iter().find(|c| c.code.as_str() == "NEWS").unwrap();
        assert_eq!(news.kind, Some(EventKind::Withdrawn));
        let kinds: Vec<_> = export.consent_events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::Given, EventKind::Withdrawn]);
        assert_eq!(export.consent_events[0].evidence.as_deref(), Some("modulo firmato n. 12"));
        assert_eq!(export.consent_events[0].hash.len(), 64);
        // Justified contacts read oldest first in an export.
        assert_eq!(export.interactions.len(), 2);
        assert_eq!(export.interactions[0].note.as_deref(), Some("reclamo"));
        assert!(export.interactions[0].occurred_at < export.interactions[1].occurred_at);
        assert_eq!(export.channel_events.len(), 1);
        assert!(export.channel_events[0].switched_off);

        let err = env.store.export_contact(&ContactRef::Email("nobody@example.it".into())).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    });
}
