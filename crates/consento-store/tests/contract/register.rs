//! The opt-out register's facts in the store: numbers fall due by the validity they were
//! imported with or by a shortened one; the ring reads a contact's customer contract, a number's
//! directory listing and an open call request in one read, and a call that reached the person
//! closes the request; call requests can be neither changed nor removed, except by an erasure,
//! which also removes the number's directory listing.

use super::*;
use consento_domain::calls::CallOutcome;
use consento_domain::erasure::ErasureReason;
use consento_store::{
    AuditActor, CustomerContract, ErasureInput, NewCallOutcome, NewCallRequest, NewRpoCheck,
};

const DAY: i64 = 86_400_000_000;

fn days_before(t: Timestamp, days: i64) -> Timestamp {
    Timestamp::from_micros(t.as_micros() - days * DAY)
}

async fn anna(env: &Env) -> consento_store::Contact {
    env.store
        .create_contact(ContactInput {
            name: Some("Anna Rossi".into()),
            phones: vec!["+39 333 1234567".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap()
}

fn check(answered_at: Timestamp) -> NewRpoCheck {
    NewRpoCheck {
        answered_at,
        valid_until: answered_at.plus_days(15),
        file_name: "esito.csv".into(),
        file_sha256: [7; 32],
        answer_mode: "enrolled",
        imported_by: "m.bianchi".into(),
    }
}

#[tokio::test]
async fn a_number_falls_due_by_the_validity_it_was_imported_with_or_by_a_shorter_one_now() {
    on_every_backend!(env => {
        anna(env).await;
        let due = |days: u32| env.store.rpo_due_numbers(false, start(), days);
        assert_eq!(due(15).await.unwrap(), vec!["+393331234567".to_owned()]);
        // Checked eleven days ago, imported as valid fifteen.
        env.store.import_rpo_answer(check(days_before(start(), 11)), &[], &["+393331234567".into()]).await.unwrap();
        assert!(due(15).await.unwrap().is_empty());
        // A validity shortened to ten days applies to that check too.
        assert_eq!(due(10).await.unwrap(), vec!["+393331234567".to_owned()]);
        assert_eq!(env.store.rpo_due_numbers(true, start(), 15).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn the_ring_reads_the_contract_the_listing_and_an_open_request_until_a_call_reaches_the_person()
 {
    on_every_backend!(env => {
        let c = anna(env).await;
        let facts = env.store.ring_facts(c.id, None, None).await.unwrap();
        assert_eq!((facts.customer, facts.listed, facts.call_request), (None, false, None));
        let until = start().plus_days(3);
        env.store.set_customer(c.id, Some((CustomerContract::Until(until), "contratto 4711")), "m.bianchi").await.unwrap();
        env.store.set_directory_listing(c.id, None, true, "elenco 2026", "m.bianchi").await.unwrap();
        let asked = days_before(start(), 1);
        env.store.record_call_request(c.id, NewCallRequest {
            phone: None, requested_at: asked, valid_until: asked.plus_days(7),
            source: "modulo web".into(), recorded_by: "m.bianchi".into(),
        }).await.unwrap();
        let facts = env.store.ring_facts(c.id, None, None).await.unwrap();
        assert_eq!(facts.customer, Some(CustomerContract::Until(until)));
        assert!(facts.listed);
        assert_eq!(facts.call_request, Some((asked, asked.plus_days(7))));
        // Another number of nobody's: nothing of Anna's number applies to it.
        let other = env.store.ring_facts(c.id, Some("+393470000000"), None).await.unwrap();
        assert_eq!((other.listed, other.call_request), (false, None));
        // A call nobody answered leaves the request open; one that reached her closes it.
        for (outcome, open) in [(CallOutcome::NoAnswer, true), (CallOutcome::Answered, false)] {
            env.store.record_call_outcome(&NewCallOutcome {
                phone: "+393331234567".into(), outcome, campaign: "Richiami".into(),
                operator: "m.bianchi".into(), called_at: start(),
                actor: Actor::new(ActorKind::System, "dialer").unwrap(), objection_entry: None,
            }).await.unwrap();
            let facts = env.store.ring_facts(c.id, None, None).await.unwrap();
            assert_eq!(facts.call_request.is_some(), open, "after {outcome:?}");
        }
        let summary = env.store.telemarketing_summary(c.id).await.unwrap();
        assert_eq!(summary.call_requests[0].used_at, Some(start()));
        assert_eq!(summary.numbers[0].directory.as_ref().map(|d| d.listed), Some(true));
        // Clearing the relationship.
        env.store.set_customer(c.id, None, "m.bianchi").await.unwrap();
        assert_eq!(env.store.ring_facts(c.id, None, None).await.unwrap().customer, None);
    });
}

#[tokio::test]
async fn call_requests_are_append_only_and_an_erasure_removes_them_with_the_listing() {
    on_every_backend!(env => {
        let c = anna(env).await;
        env.store.set_directory_listing(c.id, None, true, "elenco 2026", "m.bianchi").await.unwrap();
        env.store.record_call_request(c.id, NewCallRequest {
            phone: None, requested_at: start(), valid_until: start().plus_days(7),
            source: "modulo web".into(), recorded_by: "m.bianchi".into(),
        }).await.unwrap();
        for sql in ["UPDATE call_requests SET valid_until = valid_until + 1", "DELETE FROM call_requests"] {
            assert!(env.raw_sql(sql).await.is_err(), "{sql} must be refused");
        }
        env.store.set_customer(c.id, Some((CustomerContract::InForce, "contratto 4711")), "m.bianchi").await.unwrap();
        env.store.erase_contact(c.id, &ErasureInput {
            reason: ErasureReason::Request,
            actor: Actor::new(ActorKind::Operator, "dpo").unwrap(),
            by: AuditActor::System,
            request_id: None,
        }).await.unwrap();
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM call_requests").await, 0);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM phone_directory").await, 0);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM contacts WHERE customer_source IS NOT NULL OR customer_contract IS NOT NULL").await, 0);
    });
}
