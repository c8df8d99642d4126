//! Data-subject requests (GDPR Art. 12(3)): due dates and extensions, refusals with their reason
//! and remedies, the lists of overdue and due-soon requests, and a history no one can rewrite.

use super::*;
use consento_domain::RequestId;
use consento_domain::requests::{
    HolidayCalendar, RequestChannel, RequestKind, RequestStatus, parse_date,
};
use consento_store::{DataRequestFilter, NewDataRequest, RequestMove};

fn new_request(kind: RequestKind, received: &str) -> NewDataRequest {
    NewDataRequest {
        contact_id: None,
        kind,
        channel: RequestChannel::Email,
        description: "  please send my data  ".into(),
        received_at: Some(Timestamp::parse("t", received).unwrap()),
        actor: operator(),
    }
}

pub(super) fn to(status: RequestStatus) -> RequestMove {
    RequestMove {
        to: status,
        note: String::new(),
        reason: None,
        remedies: None,
        actor: operator(),
    }
}

#[tokio::test]
async fn a_request_is_due_one_month_after_receipt_and_keeps_the_history_of_every_move() {
    on_every_backend!(env => {
        let cal = HolidayCalendar::italy();
        let c = env.store.create_contact(contact("dsr@example.it")).await.unwrap();
        let mut new = new_request(RequestKind::Access, "2025-05-02T09:00:00Z");
        new.contact_id = Some(c.id);
        let r = env.store.create_request(new, &cal).await.unwrap();
        // 2 June is the Republic's day: the deadline moves to the 3rd.
        assert_eq!((r.due_on.as_str(), r.deadline.as_str()), ("2025-06-03", "2025-06-03"));
        assert_eq!(r.description, "please send my data");
        assert_eq!(env.store.request(r.id).await.unwrap(), r);

        env.store.move_request(r.id, to(RequestStatus::IdentityVerification)).await.unwrap();
        let wrong = env.store.move_request(r.id, to(RequestStatus::Completed)).await.unwrap_err();
        assert!(matches!(&wrong, StoreError::Invalid(e) if e.field() == "to"), "{wrong}");
        env.store.move_request(r.id, to(RequestStatus::InProgress)).await.unwrap();
        let mut done = to(RequestStatus::Completed);
        done.note = "copy sent by email".into();
        let closed = env.store.move_request(r.id, done).await.unwrap();
        assert_eq!(closed.closed_at, Some(start()));
        assert_eq!(closed.outcome.as_deref(), Some("copy sent by email"));
        assert_eq!(env.store.request(r.id).await.unwrap(), closed);

        let history = env.store.request_history(r.id).await.unwrap();
        let moves: Vec<_> = history.iter().map(|e| (e.from_status, e.to_status)).collect();
        assert_eq!(moves, vec![
            (None, RequestStatus::Received),
            (Some(RequestStatus::Received), RequestStatus::IdentityVerification),
            (Some(RequestStatus::IdentityVerification), RequestStatus::InProgress),
            (Some(RequestStatus::InProgress), RequestStatus::Completed),
        ]);
        assert!(history.iter().all(|e| e.actor == operator()));
    });
}

#[tokio::test]
async fn a_refusal_needs_its_reason_and_the_remedies_and_keeps_them() {
    on_every_backend!(env => {
        let cal = HolidayCalendar::italy();
        let r = env.store.create_request(new_request(RequestKind::Erasure, "2025-05-20"), &cal).await.unwrap();
        let mut no_remedies = to(RequestStatus::Rejected);
        no_remedies.reason = Some("legal obligation to keep invoices".into());
        let err = env.store.move_request(r.id, no_remedies.clone()).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "remedies"), "{err}");
        assert_eq!(env.store.request(r.id).await.unwrap().status, RequestStatus::Received);
        no_remedies.remedies = Some("complaint to the Garante; judicial remedy".into());
        let rejected = env.store.move_request(r.id, no_remedies).await.unwrap();
        assert_eq!(rejected.rejection_reason.as_deref(), Some("legal obligation to keep invoices"));
        let stored = env.store.request(r.id).await.unwrap();
        assert_eq!(stored.remedies.as_deref(), Some("complaint to the Garante; judicial remedy"));
        assert!(stored.closed_at.is_some());
    });
}

#[tokio::test]
async fn an_extension_runs_three_months_from_receipt_once_and_only_within_the_first_month() {
    on_every_backend!(env => {
        let cal = HolidayCalendar::italy();
        env.clock.set(Timestamp::parse("t", "2025-01-10").unwrap());
        let r = env.store.create_request(new_request(RequestKind::Portability, "2025-01-01"), &cal).await.unwrap();
        let late = env.store.create_request(new_request(RequestKind::Access, "2024-12-01"), &cal).await.unwrap();
        let blank = env.store.extend_request(r.id, " ", operator(), &cal).await.unwrap_err();
        assert!(matches!(&blank, StoreError::Invalid(e) if e.field() == "reason"), "{blank}");
        let extended = env.store.extend_request(r.id, "many archives to search", operator(), &cal).await.unwrap();
        assert_eq!(extended.due_on, "2025-02-03");
        assert_eq!(extended.extended_due_on.as_deref(), Some("2025-04-01"));
        assert_eq!(env.store.request(r.id).await.unwrap().deadline, "2025-04-01");
        assert!(env.store.extend_request(r.id, "again", operator(), &cal).await.is_err());
        // Received 1 December, due 2 January (1 January is a holiday): too late on the 10th.
        assert!(env.store.extend_request(late.id, "busy", operator(), &cal).await.is_err());
        let history = env.store.request_history(r.id).await.unwrap();
        assert!(history[1].note.contains("many archives to search"), "{history:?}");
    });
}

#[tokio::test]
async fn the_lists_find_overdue_and_due_soon_requests_most_urgent_first_page_by_page() {
    on_every_backend!(env => {
        let cal = HolidayCalendar::italy();
        // Now is 1 June 2025. Due: 2025-05-05 (overdue), 2025-06-03, 2025-06-23, 2025-07-01.
        let overdue = env.store.create_request(new_request(RequestKind::Access, "2025-04-05"), &cal).await.unwrap();
        let soon = env.store.create_request(new_request(RequestKind::Erasure, "2025-05-02"), &cal).await.unwrap();
        let later = env.store.create_request(new_request(RequestKind::Objection, "2025-05-23"), &cal).await.unwrap();
        let fresh = env.store.create_request(new_request(RequestKind::Access, "2025-06-01"), &cal).await.unwrap();
        let done = env.store.create_request(new_request(RequestKind::Access, "2025-04-06"), &cal).await.unwrap();
        let mut reject = to(RequestStatus::Rejected);
        reject.reason = Some("unfounded".into());
        reject.remedies = Some("Garante".into());
        env.store.move_request(done.id, reject).await.unwrap();
        let ids = |list: Vec<consento_store::DataRequest>| list.into_iter().map(|r| r.id).collect::<Vec<RequestId>>();
        let today = parse_date("d", "2025-06-01").unwrap();
        let all = |f: DataRequestFilter| DataRequestFilter { limit: 100, ..f };

        let open = env.store.requests(&all(DataRequestFilter { open: true, ..Default::default() })).await.unwrap();
        assert_eq!(ids(open), vec![overdue.id, soon.id, later.id, fresh.id]);
        let late = env.store.requests(&all(DataRequestFilter { overdue_on: Some(today), ..Default::default() })).await.unwrap();
        assert_eq!(ids(late), vec![overdue.id]);
        let week = parse_date("d", "2025-06-08").unwrap();
        let due_soon = env.store.requests(&all(DataRequestFilter { due_by: Some(week), ..Default::default() })).await.unwrap();
        assert_eq!(ids(due_soon), vec![overdue.id, soon.id]);
        let access = env.store.requests(&all(DataRequestFilter { kind: Some(RequestKind::Access), ..Default::default() })).await.unwrap();
        assert_eq!(ids(access), vec![overdue.id, done.id, fresh.id]);
        let rejected = env.store.requests(&all(DataRequestFilter { status: Some(RequestStatus::Rejected), ..Default::default() })).await.unwrap();
        assert_eq!(ids(rejected), vec![done.id]);

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = env.store.requests(&DataRequestFilter { after: after.clone(), limit: 2, ..Default::default() }).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some((last.deadline.clone(), last.id));
            seen.extend(page.into_iter().map(|r| r.id));
        }
        assert_eq!(seen, vec![overdue.id, done.id, soon.id, later.id, fresh.id]);
    });
}

#[tokio::test]
async fn a_request_for_an_unknown_person_or_from_the_future_is_refused() {
    on_every_backend!(env => {
        let cal = HolidayCalendar::italy();
        let mut new = new_request(RequestKind::Access, "2025-05-02");
        new.contact_id = Some(consento_domain::ContactId(uuid::Uuid::nil()));
        let err = env.store.create_request(new, &cal).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { entity: "contact" }), "{err}");
        let future = env.store.create_request(new_request(RequestKind::Access, "2025-06-02"), &cal).await.unwrap_err();
        assert!(matches!(&future, StoreError::Invalid(e) if e.field() == "received_at"), "{future}");
        let unknown = env.store.request(RequestId(uuid::Uuid::nil())).await.unwrap_err();
        assert!(matches!(unknown, StoreError::NotFound { entity: "request" }), "{unknown}");
    });
}

#[tokio::test]
async fn the_database_refuses_to_change_or_remove_request_history() {
    on_every_backend!(env => {
        let cal = HolidayCalendar::italy();
        env.store.create_request(new_request(RequestKind::Access, "2025-05-02"), &cal).await.unwrap();
        // The note alone may be blanked, by erasure (migration 0012); nothing else changes.
        let update = env.raw_sql("UPDATE request_events SET to_status = 'completed'").await.unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = env.raw_sql("DELETE FROM request_events").await.unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
    });
}
