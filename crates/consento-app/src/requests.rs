//! Data-subject requests (GDPR Arts. 15–22) and their Art. 12(3) deadlines, for the API, the
//! console and the command line alike: logging one, listing the open, overdue and due-soon ones,
//! reading one with its history, moving it through its statuses, extending it, and linking it to
//! its person. Deadlines are counted on the policy's calendar (Italy's holidays plus the
//! configured ones); "overdue" is judged on today's date. Every change is audited
//! (`request.create`, `request.move`, `request.extend`, `request.link`) in its transaction.

use consento_domain::requests::{
    HolidayCalendar, RequestKind, RequestStatus, format_date, plus_days,
};
use consento_domain::{Actor, ContactId, RequestId, Timestamp};
use consento_store::{
    DataRequest, DataRequestEvent, DataRequestFilter, NewDataRequest, RequestMove,
};
use serde::Serialize;
use serde_json::json;
use time::Date;

use crate::audit::By;
use crate::{App, AppError};

/// Who changed a request: an operator (by username) or an API token (by id).
#[derive(Debug, Clone, Serialize)]
pub struct HandledBy {
    /// `operator` or `token`.
    pub kind: String,
    /// The username or the token id.
    pub id: String,
}

/// A data-subject request as every adapter answers it.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// Its id.
    pub id: uuid::Uuid,
    /// The person, once identified.
    pub contact_id: Option<uuid::Uuid>,
    /// The right exercised.
    pub kind: String,
    /// Where it stands.
    pub status: String,
    /// How it arrived.
    pub channel: String,
    /// What the person asked.
    pub description: String,
    /// When it arrived: the deadline runs from here.
    pub received_at: Timestamp,
    /// One month from receipt, moved to the next working day (Art. 12(3)), `YYYY-MM-DD`.
    pub due_on: String,
    /// Three months from receipt, by the same rules, once extended.
    pub extended_due_on: Option<String>,
    /// Why it was extended.
    pub extension_reason: Option<String>,
    /// The deadline in force.
    pub deadline: String,
    /// Open and past its deadline today.
    pub overdue: bool,
    /// Who last changed it.
    pub handled_by: HandledBy,
    /// When it was completed or rejected.
    pub closed_at: Option<Timestamp>,
    /// What was done.
    pub outcome: Option<String>,
    /// Why it was refused.
    pub rejection_reason: Option<String>,
    /// The remedies the person was told about (Art. 12(4)).
    pub remedies: Option<String>,
}

/// Whether `r` is open and past its deadline on `today` (`YYYY-MM-DD`).
pub fn is_overdue(r: &DataRequest, today: &str) -> bool {
    r.status.is_open() && r.deadline.as_str() < today
}

impl Request {
    /// The answer for `r`, as of the day `today` (`YYYY-MM-DD`).
    pub fn new(r: DataRequest, today: &str) -> Self {
        Self {
            overdue: is_overdue(&r, today),
            id: r.id.0,
            contact_id: r.contact_id.map(|c| c.0),
            kind: r.kind.code().to_owned(),
            status: r.status.code().to_owned(),
            channel: r.channel.code().to_owned(),
            description: r.description,
            received_at: r.received_at,
            due_on: r.due_on,
            extended_due_on: r.extended_due_on,
            extension_reason: r.extension_reason,
            deadline: r.deadline,
            handled_by: HandledBy {
                kind: r.handled_by.kind.code().to_owned(),
                id: r.handled_by.id,
            },
            closed_at: r.closed_at,
            outcome: r.outcome,
            rejection_reason: r.rejection_reason,
            remedies: r.remedies,
        }
    }
}

/// One entry of a request's history.
#[derive(Debug, Clone, Serialize)]
pub struct RequestEvent {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: HandledBy,
    /// The status before (none when it was logged).
    pub from_status: Option<String>,
    /// The status after.
    pub to_status: String,
    /// What was said.
    pub note: String,
}

impl From<DataRequestEvent> for RequestEvent {
    fn from(e: DataRequestEvent) -> Self {
        Self {
            at: e.at,
            by: HandledBy {
                kind: e.actor.kind.code().to_owned(),
                id: e.actor.id,
            },
            from_status: e.from_status.map(|s| s.code().to_owned()),
            to_status: e.to_status.code().to_owned(),
            note: e.note,
        }
    }
}

/// A request with its history.
#[derive(Debug, Clone, Serialize)]
pub struct RequestDetail {
    /// The request.
    #[serde(flatten)]
    pub request: Request,
    /// Every change, oldest first.
    pub history: Vec<RequestEvent>,
}

/// Which requests to list, as typed (the API's query, the command line's flags).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `open` (received, identity verification, in progress) or one status.
    pub status: Option<String>,
    /// Only open requests due within this many days from today (overdue ones included).
    pub due_within_days: Option<u16>,
    /// Only open requests past their deadline.
    pub overdue: bool,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this person's.
    pub contact_id: Option<ContactId>,
    /// The `next` of the previous page (`YYYY-MM-DD.uuid`).
    pub after: Option<String>,
    /// At most this many (1 to 500; 100 if absent).
    pub limit: Option<u32>,
}

impl App {
    /// The policy's calendar with `extra_holidays` besides.
    fn calendar(&self, extra_holidays: &[Date]) -> HolidayCalendar {
        self.policy
            .calendar
            .clone()
            .with_extra(extra_holidays.to_vec())
    }

    /// Today's local date, `YYYY-MM-DD`: what "overdue" is judged against.
    pub fn today(&self) -> String {
        self.today_date().map(format_date).unwrap_or_default()
    }

    /// The store's filter for `q`, as of today.
    pub fn request_filter(&self, q: &ListQuery) -> Result<DataRequestFilter, AppError> {
        let today = self.today_date()?;
        let (open, status) = match q.status.as_deref().map(str::trim) {
            None | Some("") => (false, None),
            Some("open") => (true, None),
            Some(s) => (
                false,
                Some(
                    RequestStatus::parse(s)
                        .map_err(|e| AppError::malformed("status", e.to_string()))?,
                ),
            ),
        };
        let after = q
            .after
            .as_deref()
            .map(|a| {
                a.split_once('.')
                    .and_then(|(d, id)| {
                        Some((d.to_owned(), RequestId(uuid::Uuid::parse_str(id).ok()?)))
                    })
                    .ok_or_else(|| AppError::malformed("after", "not a `next` value of this list"))
            })
            .transpose()?;
        Ok(DataRequestFilter {
            open,
            status,
            overdue_on: q.overdue.then_some(today),
            due_by: q
                .due_within_days
                .and_then(|d| plus_days(today, i64::from(d))),
            kind: q
                .kind
                .as_deref()
                .map(|k| {
                    RequestKind::parse(k).map_err(|e| AppError::malformed("kind", e.to_string()))
                })
                .transpose()?,
            contact_id: q.contact_id,
            after,
            limit: q.limit.unwrap_or(100),
        })
    }

    /// Logs a request; its deadline is one month from its local receipt, moved to the next
    /// working day of the policy's calendar and of `extra_holidays` (Art. 12(3)).
    pub async fn log_request(
        &self,
        by: &By,
        new: NewDataRequest,
        extra_holidays: &[Date],
    ) -> Result<Request, AppError> {
        let calendar = self.calendar(extra_holidays);
        let detail = json!({ "kind": new.kind.code(), "channel": new.channel.code() });
        let write = self.store.create_request(new, &calendar);
        let r = self
            .audited(by, "request.create", None, detail, write)
            .await?;
        Ok(Request::new(r, &self.today()))
    }

    /// The requests `q` asks for, most urgent first.
    pub async fn list_requests(&self, q: &ListQuery) -> Result<Vec<Request>, AppError> {
        let items = self.store.requests(&self.request_filter(q)?).await?;
        let today = self.today();
        Ok(items.into_iter().map(|r| Request::new(r, &today)).collect())
    }

    /// One request with its history.
    pub async fn request_detail(&self, id: RequestId) -> Result<RequestDetail, AppError> {
        let r = self.store.request(id).await?;
        let history = self.store.request_history(id).await?;
        Ok(RequestDetail {
            request: Request::new(r, &self.today()),
            history: history.into_iter().map(Into::into).collect(),
        })
    }

    /// Moves a request to another status (completing a restriction or objection request sets
    /// its contact's flag in the same transaction, the store's).
    pub async fn move_request(
        &self,
        by: &By,
        id: RequestId,
        change: RequestMove,
    ) -> Result<Request, AppError> {
        let detail = json!({ "to": change.to.code(), "reason": change.reason });
        let target = Some(("request", id.0.to_string()));
        let r = self
            .audited(
                by,
                "request.move",
                target,
                detail,
                self.store.move_request(id, change),
            )
            .await?;
        Ok(Request::new(r, &self.today()))
    }

    /// Extends a request by two further months, once, within the first month (Art. 12(3)).
    pub async fn extend_request(
        &self,
        by: &By,
        id: RequestId,
        reason: &str,
        actor: Actor,
        extra_holidays: &[Date],
    ) -> Result<Request, AppError> {
        let calendar = self.calendar(extra_holidays);
        let target = Some(("request", id.0.to_string()));
        let r = self
            .audited(
                by,
                "request.extend",
                target,
                json!({ "reason": reason }),
                self.store.extend_request(id, reason, actor, &calendar),
            )
            .await?;
        Ok(Request::new(r, &self.today()))
    }

    /// Links a request logged before the person was identified (Art. 12(6)) to their contact.
    pub async fn link_request(
        &self,
        by: &By,
        id: RequestId,
        contact: ContactId,
        actor: Actor,
    ) -> Result<Request, AppError> {
        let target = Some(("request", id.0.to_string()));
        let detail = json!({ "contact": contact.0.to_string() });
        let r = self
            .audited(
                by,
                "request.link",
                target,
                detail,
                self.store.link_request(id, contact, actor),
            )
            .await?;
        Ok(Request::new(r, &self.today()))
    }
}
