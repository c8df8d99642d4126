//! Erasure (GDPR Art. 17) and retention: the person removed everywhere with every address
//! suppressed and the ledger still verifying, requests of another kind refused, and retention
//! anonymizing only contacts whose every basis lapsed beyond the period.

use super::*;
use consento_domain::erasure::{ErasedCategory, ErasureReason, RetentionPolicy};
use consento_domain::requests::{HolidayCalendar, RequestChannel, RequestKind, RequestStatus};
use consento_store::{ErasureInput, NewDataRequest, WebhookSubscriptionInput};

impl Env {
    /// How many rows `sql` (a `SELECT COUNT(*)`) counts, read around the store.
    pub(crate) async fn raw_count(&self, sql: &str) -> i64 {
        macro_rules! count {
            ($c:expr) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut $c)
                    .await
                    .unwrap()
            };
        }
        match &self.raw {
            Raw::Sqlite(path) => {
                let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
                    .await
                    .unwrap();
                count!(c)
            }
            Raw::Postgres { url, schema } => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                let search = format!("SET search_path TO {schema}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(search))
                    .execute(&mut c)
                    .await
                    .unwrap();
                count!(c)
            }
        }
    }
}

fn by_operator(request: Option<consento_domain::RequestId>) -> ErasureInput {
    ErasureInput {
        reason: ErasureReason::Request,
        actor: operator(),
        by: consento_store::AuditActor::System,
        request_id: request,
    }
}

fn count(report: &consento_store::ErasureReport, category: ErasedCategory) -> u64 {
    report
        .erased
        .iter()
        .find(|(c, _)| *c == category)
        .map(|(_, n)| *n)
        .unwrap()
}

#[tokio::test]
async fn an_erasure_removes_the_person_everywhere_suppresses_every_address_and_keeps_a_verifying_ledger()
 {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let reason = env.store.create_reason("Assistenza", false).await.unwrap();
        let hook = env.store.create_subscription(WebhookSubscriptionInput {
            url: "https://crm.example.it/hooks".into(), description: None, active: true,
            kinds: vec!["contact.erased".into()],
        }).await.unwrap();
        let c = env.store.create_contact(ContactInput {
            name: Some("Zebedeo Quaglierini".into()),
            external_id: Some("CRM-77".into()),
            emails: vec!["zeb@example.it".into(), "quaglia@example.org".into()],
            phones: vec!["+39 333 765 4321".into(), "02 1234 5678".into()],
            source: Some("fiera".into()),
            ..ContactInput::default()
        }).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.record_consent(ConsentEventInput {
            evidence: Some("zeb@example.it from 203.0.113.7".into()),
            ..event(&r, "NEWS", EventKind::Given, None)
        }).await.unwrap();
        env.store.justify(&r, Action::EmailSingle, reason.id, Some("Zebedeo asked"), "lverdi").await.unwrap();
        env.store.set_channel(&r, consento_domain::Channel::Sms, true, CollectionMethod::PreferenceCenter, &operator(), Some("ua of Zebedeo")).await.unwrap();
        env.store.request_subscription(subscription("quaglia@example.org", "tok", &["NEWS"])).await.unwrap();
        let cal = HolidayCalendar::italy();
        // Logged before the person was identified: the erasure links it, and blanks its words.
        let dsr = env.store.create_request(NewDataRequest {
            contact_id: None, kind: RequestKind::Erasure, channel: RequestChannel::Email,
            description: "Zebedeo Quaglierini wants to be forgotten".into(), received_at: None, actor: operator(),
        }, &cal).await.unwrap();
        env.store.audit(consento_store::AuditInput {
            user_id: None, token_id: None, action: "contact.update".into(), target_kind: Some("contact".into()),
            target_id: Some(c.id.0.to_string()), detail: serde_json::json!({"name": "Zebedeo Quaglierini"}),
        }).await.unwrap();

        let report = env.store.erase_contact(c.id, &by_operator(Some(dsr.id))).await.unwrap();
        assert_eq!(report.suppressed, 4);
        assert_eq!(count(&report, ErasedCategory::Emails), 2);
        assert_eq!(count(&report, ErasedCategory::Phones), 2);
        assert_eq!(count(&report, ErasedCategory::ConsentEvidence), 1);
        assert_eq!(count(&report, ErasedCategory::InteractionNotes), 1);
        assert_eq!(count(&report, ErasedCategory::ChannelEvidence), 1);
        assert_eq!(count(&report, ErasedCategory::Subscriptions), 1);
        assert!(count(&report, ErasedCategory::EmailOutbox) >= 1);
        assert!(count(&report, ErasedCategory::AuditDetails) >= 1);

        let after = env.store.contact(&r).await.unwrap();
        assert!(after.erased_at.is_some());
        assert_eq!((after.name, after.external_id, after.source), (None, None, None));
        assert!(after.emails.is_empty() && after.phones.is_empty());
        for table in ["contact_emails", "contact_phones", "consent_evidence", "email_outbox", "subscription_requests"] {
            assert_eq!(env.raw_count(&format!("SELECT COUNT(*) FROM {table}")).await, 0, "{table}");
        }
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM interactions WHERE note IS NOT NULL").await, 0);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM channel_events WHERE evidence IS NOT NULL").await, 0);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM audit_events WHERE detail LIKE '%Zebedeo%'").await, 0);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM requests WHERE description LIKE '%Zebedeo%'").await, 0);
        // The ledger keeps the proof, pseudonymously, and still verifies.
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 1);
        assert_eq!(env.store.consent_history(&r).await.unwrap()[0].evidence, None);
        // Every address and number is suppressed, in any spelling.
        for value in [ContactRef::Email("ZEB@example.it".into()), ContactRef::Email("quaglia@example.org".into()),
                      ContactRef::Phone("3337654321".into()), ContactRef::Phone("+39 02 12345678".into())] {
            assert!(env.store.is_suppressed(&value).await.unwrap(), "{value:?}");
        }
        // The request is completed; the CRM is told, by its record's id.
        let done = env.store.request(dsr.id).await.unwrap();
        assert_eq!(done.status, RequestStatus::Completed);
        let messages = env.store.outbox_messages(hook.id, 10).await.unwrap();
        assert_eq!(messages.len(), 1);
        assert!(messages[0].payload.contains("CRM-77") && messages[0].event_type == "contact.erased");
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM audit_events WHERE action = 'contact.erase'").await, 1);
        // Decisions say erased; a second erasure is a conflict; nothing can be recorded.
        let d = env.store.decide(&r, Action::EmailSingle, None).await.unwrap();
        assert_eq!(d.decision, Decision::Blocked { cause: Cause::Erased });
        let again = env.store.erase_contact(c.id, &by_operator(None)).await.unwrap_err();
        assert!(matches!(again, StoreError::Conflict { .. }), "{again:?}");
        let unknown = env.store.erase_contact(consento_domain::ContactId(uuid::Uuid::from_u128(9)), &by_operator(None)).await.unwrap_err();
        assert!(matches!(unknown, StoreError::NotFound { .. }), "{unknown:?}");
    });
}

#[tokio::test]
async fn an_erasure_refuses_a_request_of_another_kind_and_changes_nothing() {
    on_every_backend!(env => {
        let c = env.store.create_contact(contact("keep@example.it")).await.unwrap();
        let access = env.store.create_request(NewDataRequest {
            contact_id: Some(c.id), kind: RequestKind::Access, channel: RequestChannel::Email,
            description: String::new(), received_at: None, actor: operator(),
        }, &HolidayCalendar::italy()).await.unwrap();
        let err = env.store.erase_contact(c.id, &by_operator(Some(access.id))).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        let still = env.store.contact(&ContactRef::Id(c.id)).await.unwrap();
        assert_eq!((still.erased_at, still.emails.len()), (None, 1));
        assert!(!env.store.is_suppressed(&ContactRef::Email("keep@example.it".into())).await.unwrap());
    });
}

#[tokio::test]
async fn retention_lists_and_anonymizes_only_contacts_whose_every_basis_lapsed_beyond_the_period() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let marketing = |email: &str| ContactInput { purposes: vec!["marketing diretto".into()], ..contact(email) };
        let month = 30 * DAY;
        let old = env.store.create_contact(marketing("old@example.it")).await.unwrap();
        let recent = env.store.create_contact(marketing("recent@example.it")).await.unwrap();
        let valid = env.store.create_contact(marketing("valid@example.it")).await.unwrap();
        let asking = env.store.create_contact(marketing("asking@example.it")).await.unwrap();
        let held = env.store.create_contact(marketing("held@example.it")).await.unwrap();
        for c in [&old, &recent, &valid, &asking, &held] {
            env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, Some(days_before(start(), 900)))).await.unwrap();
        }
        let withdraw = |c: &consento_store::Contact, months: i64| event(&ContactRef::Id(c.id), "NEWS", EventKind::Withdrawn, Some(Timestamp::from_micros(start().as_micros() - months * month)));
        env.store.record_consent(withdraw(&old, 25)).await.unwrap();
        env.store.record_consent(withdraw(&recent, 23)).await.unwrap();
        env.store.record_consent(withdraw(&asking, 25)).await.unwrap();
        // Restricted (Art. 18(1)(c)): kept for the person's legal claim, never anonymised.
        env.store.record_consent(withdraw(&held, 25)).await.unwrap();
        env.store.set_restricted(&ContactRef::Id(held.id), true).await.unwrap();
        env.store.create_request(NewDataRequest {
            contact_id: Some(asking.id), kind: RequestKind::Access, channel: RequestChannel::Email,
            description: String::new(), received_at: None, actor: operator(),
        }, &HolidayCalendar::italy()).await.unwrap();

        let policy = RetentionPolicy::default();
        let listed = env.store.retention_candidates(&policy, None, 100).await.unwrap();
        assert_eq!(listed.iter().map(|c| c.contact_id).collect::<Vec<_>>(), vec![old.id]);
        assert_eq!(listed[0].months, 24);
        // The console's overview counts every candidate but keeps only those it shows.
        let (shown, total) = env.store.retention_overview(&policy, 0).await.unwrap();
        assert_eq!((shown.len(), total), (0, 1));
        let (shown, total) = env.store.retention_overview(&policy, 5).await.unwrap();
        assert_eq!((shown, total), (listed.clone(), 1));
        let run = env.store.anonymize_lapsed(&policy, 1, Actor::new(ActorKind::System, "retention").unwrap(), consento_store::AuditActor::System).await.unwrap();
        assert_eq!((run.anonymized.len(), run.batches), (1, 1));
        assert_eq!(run.anonymized[0].reason, ErasureReason::Retention);
        assert!(env.store.contact(&ContactRef::Id(old.id)).await.unwrap().erased_at.is_some());
        for kept in [&recent, &valid, &asking, &held] {
            assert!(env.store.contact(&ContactRef::Id(kept.id)).await.unwrap().erased_at.is_none());
        }
        assert!(env.store.retention_candidates(&policy, None, 100).await.unwrap().is_empty());
        assert!(env.store.verify_ledger().await.is_ok());
    });
}
