//! Restriction (GDPR Art. 18) and objection (Art. 21) flags: who set or lifted them, the
//! person's notice, the suppression an objection adds, and restriction requests completed.

use super::*;
use consento_domain::ActorKind;
use consento_domain::requests::{HolidayCalendar, RequestChannel, RequestKind, RequestStatus};
use consento_store::{ContactFlag, FlagChange, FlagNotice, NewDataRequest};

use super::data_requests::to;

fn change(flag: ContactFlag, raised: bool) -> FlagChange {
    FlagChange {
        flag,
        raised,
        actor: operator(),
        request_id: None,
        notice: Some(FlagNotice {
            locale: "it".into(),
            template: "restriction_lifted".into(),
            payload: serde_json::json!({"lifted_at": 1}),
        }),
    }
}

#[tokio::test]
async fn lifting_a_restriction_records_who_did_it_and_writes_the_persons_notice_once() {
    on_every_backend!(env => {
        let c = env.store.create_contact(contact("limitata@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        assert_eq!(env.store.change_flag(&r, &change(ContactFlag::Restriction, true)).await.unwrap(), (true, None));
        // Already set: nothing recorded, nothing sent.
        assert_eq!(env.store.change_flag(&r, &change(ContactFlag::Restriction, true)).await.unwrap(), (false, None));
        env.clock.advance(1_000);
        let (changed, notice) = env.store.change_flag(&r, &change(ContactFlag::Restriction, false)).await.unwrap();
        assert!(changed);
        let notice = notice.expect("the person is told");
        assert_eq!(env.store.change_flag(&r, &change(ContactFlag::Restriction, false)).await.unwrap(), (false, None));
        assert!(env.store.contact(&r).await.unwrap().restricted_at.is_none());

        let mail = env.store.claim_emails(10, std::time::Duration::from_secs(60)).await.unwrap();
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].id, notice);
        assert_eq!(mail[0].to, "limitata@example.it");
        assert_eq!(mail[0].template, "restriction_lifted");

        let history = env.store.flag_history(c.id).await.unwrap();
        let rows: Vec<_> = history.iter().map(|e| (e.flag, e.raised, e.actor.kind)).collect();
        assert_eq!(rows, vec![
            (ContactFlag::Restriction, true, ActorKind::Operator),
            (ContactFlag::Restriction, false, ActorKind::Operator),
        ]);
        assert!(history[0].at < history[1].at);
        // The history is append-only, by the database itself.
        assert!(env.raw_sql("UPDATE flag_events SET raised = FALSE").await.is_err());
        assert!(env.raw_sql("DELETE FROM flag_events").await.is_err());
    });
}

#[tokio::test]
async fn an_objection_suppresses_the_address_and_lifting_an_objection_writes_no_email() {
    on_every_backend!(env => {
        let c = env.store.create_contact(contact("obietta@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.change_flag(&r, &change(ContactFlag::Objection, true)).await.unwrap();
        assert!(env.store.is_suppressed(&ContactRef::Email("obietta@example.it".into())).await.unwrap());
        let (changed, notice) = env.store.change_flag(&r, &change(ContactFlag::Objection, false)).await.unwrap();
        assert!(changed);
        assert_eq!(notice, None, "only a lifted restriction is told (Art. 18(3))");
        assert!(!env.store.is_suppressed(&ContactRef::Email("obietta@example.it".into())).await.unwrap());
        assert!(env.store.claim_emails(10, std::time::Duration::from_secs(60)).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn completing_a_restriction_request_restricts_its_contact_and_one_without_a_contact_is_refused_whole()
 {
    on_every_backend!(env => {
        let cal = HolidayCalendar::italy();
        let c = env.store.create_contact(contact("richiesta@example.it")).await.unwrap();
        let new = |contact_id| NewDataRequest {
            contact_id,
            kind: RequestKind::Restriction,
            channel: RequestChannel::Letter,
            description: String::new(),
            received_at: None,
            actor: operator(),
        };
        let unlinked = env.store.create_request(new(None), &cal).await.unwrap();
        env.store.move_request(unlinked.id, to(RequestStatus::InProgress)).await.unwrap();
        let err = env.store.move_request(unlinked.id, to(RequestStatus::Completed)).await.unwrap_err();
        assert!(matches!(&err, StoreError::Conflict { field: "contact_id", .. }), "{err:?}");
        assert_eq!(env.store.request(unlinked.id).await.unwrap().status, RequestStatus::InProgress);
        assert_eq!(env.store.request_history(unlinked.id).await.unwrap().len(), 2, "no move recorded");

        // Linked once identified (Art. 12(6)), it completes and restricts.
        let linked = env.store.link_request(unlinked.id, c.id, operator()).await.unwrap();
        assert_eq!(linked.contact_id, Some(c.id));
        assert_eq!(env.store.link_request(unlinked.id, c.id, operator()).await.unwrap().contact_id, Some(c.id));
        let other = env.store.create_contact(contact("altra@example.it")).await.unwrap();
        let err = env.store.link_request(unlinked.id, other.id, operator()).await.unwrap_err();
        assert!(matches!(&err, StoreError::Conflict { field: "contact_id", .. }), "{err:?}");
        let done = env.store.move_request(unlinked.id, to(RequestStatus::Completed)).await.unwrap();
        assert_eq!(done.status, RequestStatus::Completed);
        assert!(env.store.contact(&ContactRef::Id(c.id)).await.unwrap().restricted_at.is_some());
        let history = env.store.flag_history(c.id).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].request_id, Some(unlinked.id));
        // A closed request cannot be linked.
        let err = env.store.link_request(unlinked.id, other.id, operator()).await.unwrap_err();
        assert!(matches!(&err, StoreError::Conflict { .. }), "{err:?}");

        // Rejecting a restriction request sets nothing.
        let refused = env.store.create_request(new(Some(other.id)), &cal).await.unwrap();
        let mut reject = to(RequestStatus::Rejected);
        reject.reason = Some("manifestly unfounded".into());
        reject.remedies = Some("complaint to the Garante".into());
        env.store.move_request(refused.id, reject).await.unwrap();
        assert!(env.store.contact(&ContactRef::Id(other.id)).await.unwrap().restricted_at.is_none());
        assert!(env.store.flag_history(other.id).await.unwrap().is_empty());
    });
}
