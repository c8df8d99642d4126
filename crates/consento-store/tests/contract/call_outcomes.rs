//! The dialer's call outcomes: a refusal objects at once since the instant it was said, in the
//! outcome's own transaction and audited; an earlier objection keeps its date; a number no contact
//! has records nothing; the rows can be neither changed nor removed (erasure blanks the number
//! only); a campaign's counts and a number's latest silent call.

use super::*;
use consento_domain::calls::CallOutcome;
use consento_domain::erasure::{ErasedCategory, ErasureReason};
use consento_store::{
    AuditActor, AuditFilter, ContactFlag, ErasureInput, FlagChange, NewCallOutcome,
};

const MINUTE: i64 = 60_000_000;

fn token() -> Actor {
    Actor::new(ActorKind::Token, "0190a0a0-0000-7000-8000-000000000009").unwrap()
}

fn call(phone: &str, outcome: CallOutcome, campaign: &str, called_at: Timestamp) -> NewCallOutcome {
    NewCallOutcome {
        phone: phone.into(),
        outcome,
        campaign: campaign.into(),
        operator: "m.bianchi".into(),
        called_at,
        actor: token(),
        objection_entry: Some(AuditActor::System.entry(
            "contact.objection",
            None,
            serde_json::json!({}),
        )),
    }
}

fn minutes_before(t: Timestamp, minutes: i64) -> Timestamp {
    Timestamp::from_micros(t.as_micros() - minutes * MINUTE)
}

async fn anna(env: &Env) -> consento_store::Contact {
    env.store
        .create_contact(ContactInput {
            name: Some("Anna Rossi".into()),
            emails: vec!["anna@example.it".into()],
            phones: vec!["+39 333 1234567".into(), "02 8765 4321".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refusal_objects_at_once_since_the_instant_it_was_said_with_its_audit_entries() {
    on_every_backend!(env => {
        let c = anna(env).await;
        let said = minutes_before(start(), 20);
        let entry = AuditActor::System.entry("call.outcome", None, serde_json::json!({"outcome": "refused_marketing"}));
        let (recorded, audited) = env.store.audited(
            entry,
            env.store.record_call_outcome(&call("333 123 4567", CallOutcome::RefusedMarketing, "Spring", said)),
        ).await.unwrap();
        assert!(audited);
        assert_eq!(recorded.call.contact_id, c.id);
        assert_eq!(recorded.call.phone, "+393331234567");
        assert_eq!((recorded.call.called_at, recorded.call.recorded_at), (said, start()));
        assert_eq!(recorded.objected_at, Some(said));
        assert!(recorded.objection_raised);

        let after = env.store.contact(&ContactRef::Id(c.id)).await.unwrap();
        assert_eq!(after.objected_at, Some(said), "objecting since the instant the person said it");
        // The same objection as PUT /v1/contacts/{id}/objection: its history row (written now)
        // and the primary address and number on the suppression list.
        let history = env.store.flag_history(c.id).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!((history[0].flag, history[0].raised, history[0].at), (ContactFlag::Objection, true, start()));
        assert_eq!(history[0].actor, token());
        assert!(env.store.is_suppressed(&ContactRef::Phone("+39 333 1234567".into())).await.unwrap());
        assert!(env.store.is_suppressed(&ContactRef::Email("anna@example.it".into())).await.unwrap());
        // Every later marketing decision meets the objection.
        let d = env.store.decide(&ContactRef::Phone("3331234567".into()), Action::SmsBulk, None).await.unwrap();
        assert_eq!(d.decision, Decision::Blocked { cause: Cause::Objected { since: said } });

        // Both entries in the outcome's transaction, naming the contact: the outcome with the
        // call's id, the objection with its dates.
        let entries = env.store.audit_entries(&AuditFilter {
            user_id: None, from: None, until: None,
            target: Some(("contact".into(), c.id.0.to_string())), before: None, limit: 10,
        }).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["call.outcome", "contact.objection"]);
        assert_eq!(entries[0].detail["call_id"], serde_json::json!(recorded.call.id));
        assert_eq!(entries[1].detail["after"], serde_json::json!(said));
        assert_eq!(entries[1].detail["before"], serde_json::Value::Null);
    });
}

#[tokio::test]
async fn an_objection_recorded_before_the_call_keeps_its_date_and_other_outcomes_object_to_nothing()
{
    on_every_backend!(env => {
        let c = anna(env).await;
        let r = ContactRef::Id(c.id);
        let answered = env.store.record_call_outcome(&call("+39 02 8765 4321", CallOutcome::Answered, "Spring", minutes_before(start(), 90))).await.unwrap();
        assert_eq!((answered.objected_at, answered.objection_raised), (None, false));
        assert_eq!(answered.call.phone, "+390287654321", "the second number finds the contact too");
        assert!(env.store.contact(&r).await.unwrap().objected_at.is_none());

        env.clock.set(minutes_before(start(), 60));
        env.store.change_flag(&r, &FlagChange::system(ContactFlag::Objection, true)).await.unwrap();
        env.clock.set(start());
        let refused = env.store.record_call_outcome(&call("+393331234567", CallOutcome::RefusedMarketing, "Summer", minutes_before(start(), 5))).await.unwrap();
        assert_eq!(refused.objected_at, Some(minutes_before(start(), 60)));
        assert!(!refused.objection_raised);
        assert_eq!(env.store.flag_history(c.id).await.unwrap().len(), 1, "nothing more to record");
    });
}

#[tokio::test]
async fn an_outcome_for_a_number_no_contact_has_is_not_found_and_a_bad_field_is_named() {
    on_every_backend!(env => {
        anna(env).await;
        let err = env.store.record_call_outcome(&call("+39 347 000 0000", CallOutcome::RefusedMarketing, "Spring", start())).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { entity: "contact" }), "{err:?}");
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM call_outcomes").await, 0);

        let field = |e: StoreError| match e {
            StoreError::Invalid(d) => d.field().to_owned(),
            other => panic!("{other:?}"),
        };
        let future = Timestamp::from_micros(start().as_micros() + 6 * MINUTE);
        assert_eq!(field(env.store.record_call_outcome(&call("+393331234567", CallOutcome::Answered, "Spring", future)).await.unwrap_err()), "called_at");
        let old = days_before(start(), 31);
        assert_eq!(field(env.store.record_call_outcome(&call("+393331234567", CallOutcome::Answered, "Spring", old)).await.unwrap_err()), "called_at");
        assert_eq!(field(env.store.record_call_outcome(&call("+393331234567", CallOutcome::Answered, " ", start())).await.unwrap_err()), "campaign");
        assert_eq!(field(env.store.record_call_outcome(&call("not a number", CallOutcome::Answered, "Spring", start())).await.unwrap_err()), "phone");
        assert_eq!(field(env.store.record_call_outcome(&NewCallOutcome { operator: String::new(), ..call("+393331234567", CallOutcome::Answered, "Spring", start()) }).await.unwrap_err()), "operator");
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM call_outcomes").await, 0);
    });
}

#[tokio::test]
async fn call_outcomes_can_be_neither_changed_nor_removed_and_an_erasure_blanks_only_their_number()
{
    on_every_backend!(env => {
        let c = anna(env).await;
        env.store.record_call_outcome(&call("+393331234567", CallOutcome::Silent, "Spring", minutes_before(start(), 3))).await.unwrap();
        for sql in [
            "UPDATE call_outcomes SET outcome = 'answered'",
            "UPDATE call_outcomes SET called_at = called_at + 1",
            "UPDATE call_outcomes SET campaign = 'Other'",
            "UPDATE call_outcomes SET phone = '+393470000000'",
            // Blanking the number is the erasure's alone, once the contact is erased.
            "UPDATE call_outcomes SET phone = ''",
            "DELETE FROM call_outcomes",
        ] {
            assert!(env.raw_sql(sql).await.is_err(), "{sql} must be refused");
        }
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM call_outcomes WHERE outcome = 'silent' AND phone = '+393331234567'").await, 1);

        let report = env.store.erase_contact(c.id, &ErasureInput {
            reason: ErasureReason::Request, actor: operator(), by: AuditActor::System, request_id: None,
        }).await.unwrap();
        let blanked = report.erased.iter().find(|(k, _)| *k == ErasedCategory::CallNumbers).map(|(_, n)| *n);
        assert_eq!(blanked, Some(1));
        let calls = env.store.call_outcomes(c.id).await.unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].phone.as_str(), calls[0].outcome, calls[0].campaign.as_str()), ("", CallOutcome::Silent, "Spring"));
        assert_eq!(env.store.last_silent_call("+393331234567").await.unwrap(), None);
        // Erased or not, the rest stays as it was.
        assert!(env.raw_sql("UPDATE call_outcomes SET outcome = 'answered'").await.is_err());
        assert!(env.raw_sql("UPDATE call_outcomes SET phone = '+393331234567'").await.is_err());
        assert!(env.raw_sql("DELETE FROM call_outcomes").await.is_err());
    });
}

#[tokio::test]
async fn the_latest_silent_call_of_a_number_is_found_in_any_format_and_other_outcomes_do_not_count()
{
    on_every_backend!(env => {
        anna(env).await;
        assert_eq!(env.store.last_silent_call("+39 333 1234567").await.unwrap(), None);
        for (minutes, outcome) in [(50, CallOutcome::Silent), (30, CallOutcome::Silent), (40, CallOutcome::Silent), (10, CallOutcome::Answered)] {
            env.store.record_call_outcome(&call("+393331234567", outcome, "Spring", minutes_before(start(), minutes))).await.unwrap();
        }
        env.store.record_call_outcome(&call("0287654321", CallOutcome::Busy, "Spring", minutes_before(start(), 1))).await.unwrap();
        assert_eq!(env.store.last_silent_call("333 123 4567").await.unwrap(), Some(minutes_before(start(), 30)));
        assert_eq!(env.store.last_silent_call("+39 02 8765 4321").await.unwrap(), None);
        let err = env.store.last_silent_call("nope").await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(ref d) if d.field() == "phone"), "{err:?}");
    });
}

#[tokio::test]
async fn a_campaign_report_counts_each_outcome_between_its_first_and_last_call() {
    on_every_backend!(env => {
        anna(env).await;
        let calls = [
            (100, CallOutcome::NoAnswer), (90, CallOutcome::Answered), (80, CallOutcome::Silent),
            (70, CallOutcome::Answered), (60, CallOutcome::CallbackRequested), (50, CallOutcome::Busy),
        ];
        for (minutes, outcome) in calls {
            env.store.record_call_outcome(&call("+393331234567", outcome, "Spring", minutes_before(start(), minutes))).await.unwrap();
        }
        env.store.record_call_outcome(&call("+393331234567", CallOutcome::Silent, "Summer", minutes_before(start(), 1))).await.unwrap();
        let report = env.store.campaign_report("Spring").await.unwrap();
        assert_eq!(report.campaign, "Spring");
        let t = report.tally;
        assert_eq!((t.answered, t.no_answer, t.busy, t.silent, t.refused_marketing, t.callback_requested), (2, 1, 1, 1, 0, 1));
        assert_eq!((t.connected(), t.total()), (4, 6));
        assert_eq!((report.first_call_at, report.last_call_at), (minutes_before(start(), 100), minutes_before(start(), 50)));
        // Campaign names are compared as given.
        assert!(matches!(env.store.campaign_report("spring").await.unwrap_err(), StoreError::NotFound { entity: "campaign" }));
    });
}
