//! Channels a person switches off: the newsletter stops, and every switch stays in the history.

use super::*;

#[tokio::test]
async fn a_channel_the_person_switched_off_stops_the_newsletter_and_is_kept_in_its_history() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("ch@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
        let person = Actor { kind: ActorKind::Subject, id: String::new() };
        let before = env.store.audience_counts(&AudienceQuery { type_code: Some("NEWS".into()), ..Default::default() }).await.unwrap();
        assert_eq!(before.eligible, 1);
        env.clock.advance(DAY);
        let off = env.store.set_channel(&r, consento_domain::Channel::Email, true, CollectionMethod::PreferenceCenter, &person, Some("ua=test")).await.unwrap();
        assert_eq!(off.email_off_at, Some(env.store.now()));
        // Switching off again records nothing new and keeps the first date.
        env.clock.advance(DAY);
        let again = env.store.set_channel(&r, consento_domain::Channel::Email, true, CollectionMethod::PreferenceCenter, &person, None).await.unwrap();
        assert_eq!(again.email_off_at, off.email_off_at);
        let bulk = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert_eq!(bulk.decision.outcome(), "blocked");
        assert!(matches!(bulk.decision, Decision::Blocked { cause: Cause::ChannelOff { channel: consento_domain::Channel::Email, .. } }));
        let counts = env.store.audience_counts(&AudienceQuery { type_code: Some("NEWS".into()), ..Default::default() }).await.unwrap();
        assert_eq!((counts.eligible, counts.excluded.get("channel_off").copied()), (0, Some(1)));
        let listed: Vec<_> = env.store.audience(&AudienceQuery { type_code: Some("NEWS".into()), ..Default::default() }).await.unwrap().try_collect().await.unwrap();
        assert!(listed.is_empty());
        // A call is another channel: untouched.
        assert_ne!(env.store.decide(&r, Action::PhoneCall, None).await.unwrap().decision.outcome(), "blocked");
        env.store.set_channel(&r, consento_domain::Channel::Email, false, CollectionMethod::Phone, &operator(), Some("call 12")).await.unwrap();
        let history = env.store.channel_history(&r).await.unwrap();
        assert_eq!(history.iter().map(|h| (h.switched_off, h.method)).collect::<Vec<_>>(),
            [(true, CollectionMethod::PreferenceCenter), (false, CollectionMethod::Phone)]);
        assert_eq!(history[0].evidence.as_deref(), Some("ua=test"));
        assert_eq!(env.store.audience_counts(&AudienceQuery { type_code: Some("NEWS".into()), ..Default::default() }).await.unwrap().eligible, 1);
        let rewrite = env.raw_sql("UPDATE channel_events SET switched_off = NOT switched_off").await.unwrap_err();
        assert!(rewrite.to_string().contains("append-only"), "{rewrite}");
    });
}
