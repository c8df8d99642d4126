//! Data-subject requests and their history: creation with the Art. 12(3) deadline, the checked
//! moves between statuses, the one extension, and the lists the DPO works from (open, overdue,
//! due soon). The rules themselves are `consento_domain::requests`; this module keeps them and
//! their history in one transaction per change.

use consento_domain::requests::{
    HolidayCalendar, RequestChannel, RequestKind, RequestStatus, Transition, check_extension,
    due_date, format_date, parse_date,
};
use consento_domain::{Actor, ActorKind, ContactId, DomainError, RequestId, Timestamp};
use time::Date;

use crate::flags::{ContactFlag, FlagChange, apply_flag};
use crate::row::Cols;
use crate::{Store, StoreError, in_write_tx, on_read_pool};

/// A request to log.
#[derive(Debug, Clone)]
pub struct NewDataRequest {
    /// The person, when already identified.
    pub contact_id: Option<ContactId>,
    /// The right exercised.
    pub kind: RequestKind,
    /// How it arrived.
    pub channel: RequestChannel,
    /// What the person asked, in the operator's words.
    pub description: String,
    /// When it arrived (a letter logged the next day); `None` is now. Never in the future.
    pub received_at: Option<Timestamp>,
    /// Who logs it.
    pub actor: Actor,
}

/// A data-subject request as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataRequest {
    /// Its id.
    pub id: RequestId,
    /// The person, when identified.
    pub contact_id: Option<ContactId>,
    /// The right exercised.
    pub kind: RequestKind,
    /// Where it stands.
    pub status: RequestStatus,
    /// How it arrived.
    pub channel: RequestChannel,
    /// What the person asked.
    pub description: String,
    /// When it arrived: the deadline runs from here.
    pub received_at: Timestamp,
    /// The Art. 12(3) deadline (one month, next working day), `YYYY-MM-DD`.
    pub due_on: String,
    /// The extended deadline, when extended.
    pub extended_due_on: Option<String>,
    /// Why it was extended (told to the person).
    pub extension_reason: Option<String>,
    /// The deadline in force: the extended one if any.
    pub deadline: String,
    /// Who last changed it.
    pub handled_by: Actor,
    /// When it was completed or rejected.
    pub closed_at: Option<Timestamp>,
    /// What was done (the note given on completion).
    pub outcome: Option<String>,
    /// Why it was refused.
    pub rejection_reason: Option<String>,
    /// The remedies the person was told about on refusal (Art. 12(4)).
    pub remedies: Option<String>,
}

/// One entry of a request's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataRequestEvent {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// The status before (none for the creation).
    pub from_status: Option<RequestStatus>,
    /// The status after (unchanged for an extension).
    pub to_status: RequestStatus,
    /// What was said.
    pub note: String,
}

/// Which requests to list, by deadline in force (earliest first), then id.
#[derive(Debug, Clone, Default)]
pub struct DataRequestFilter {
    /// Only open requests (received, identity verification, in progress).
    pub open: bool,
    /// Only this status.
    pub status: Option<RequestStatus>,
    /// Only open requests whose deadline is before this day (overdue on it).
    pub overdue_on: Option<Date>,
    /// Only open requests due on or before this day.
    pub due_by: Option<Date>,
    /// Only this kind.
    pub kind: Option<RequestKind>,
    /// Only this person's.
    pub contact_id: Option<ContactId>,
    /// Keyset paging: only requests after this (deadline, id).
    pub after: Option<(String, RequestId)>,
    /// At most this many (1..=500).
    pub limit: u32,
}

/// A move asked for.
#[derive(Debug, Clone)]
pub struct RequestMove {
    /// The new status.
    pub to: RequestStatus,
    /// A note for the history (on completion: what was done).
    pub note: String,
    /// On refusal: why.
    pub reason: Option<String>,
    /// On refusal: the remedies told to the person.
    pub remedies: Option<String>,
    /// Who moves it.
    pub actor: Actor,
}

const COLS: &str = "id, contact_id, kind, status, channel, description, received_at, due_on, \
    extended_due_on, extension_reason, deadline, handled_by_kind, handled_by_id, closed_at, outcome, \
    rejection_reason, remedies";

fn corrupt(_: DomainError) -> StoreError {
    StoreError::Corrupt("request")
}

fn actor_from(kind: &str, id: &str) -> Result<Actor, StoreError> {
    Ok(Actor {
        kind: ActorKind::parse(kind).map_err(corrupt)?,
        id: id.to_owned(),
    })
}

fn request_from(row: &impl Cols) -> Result<DataRequest, StoreError> {
    Ok(DataRequest {
        id: RequestId(row.uuid("id")?),
        contact_id: row.opt_uuid("contact_id")?.map(ContactId),
        kind: RequestKind::parse(&row.text("kind")?).map_err(corrupt)?,
        status: RequestStatus::parse(&row.text("status")?).map_err(corrupt)?,
        channel: RequestChannel::parse(&row.text("channel")?).map_err(corrupt)?,
        description: row.text("description")?,
        received_at: Timestamp::from_micros(row.int("received_at")?),
        due_on: row.text("due_on")?,
        extended_due_on: row.opt_text("extended_due_on")?,
        extension_reason: row.opt_text("extension_reason")?,
        deadline: row.text("deadline")?,
        handled_by: actor_from(&row.text("handled_by_kind")?, &row.text("handled_by_id")?)?,
        closed_at: row.opt_int("closed_at")?.map(Timestamp::from_micros),
        outcome: row.opt_text("outcome")?,
        rejection_reason: row.opt_text("rejection_reason")?,
        remedies: row.opt_text("remedies")?,
    })
}

fn event_from(row: &impl Cols) -> Result<DataRequestEvent, StoreError> {
    Ok(DataRequestEvent {
        at: Timestamp::from_micros(row.int("at")?),
        actor: actor_from(&row.text("actor_kind")?, &row.text("actor_id")?)?,
        from_status: row
            .opt_text("from_status")?
            .map(|s| RequestStatus::parse(&s))
            .transpose()
            .map_err(corrupt)?,
        to_status: RequestStatus::parse(&row.text("to_status")?).map_err(corrupt)?,
        note: row.text("note")?,
    })
}

/// The local date of `at` in the calendar's zone (Art. 12(3) counts from the day of receipt).
fn day(field: &'static str, at: Timestamp, calendar: &HolidayCalendar) -> Result<Date, StoreError> {
    calendar
        .date_of(at)
        .ok_or_else(|| DomainError::invalid(field, "the instant is out of range").into())
}

const DESCRIPTION_MAX: usize = 4000;

/// How a request's history notes a link to its contact: this, then the contact's id. Stored as
/// is (the API returns it); the console puts it in the reader's language.
pub const LINKED_NOTE: &str = "linked to contact ";

/// How a request's history notes its extension (Art. 12(3)): this, the new deadline
/// (`YYYY-MM-DD`), `: ` and the reason given. Stored as is; the console puts it in words.
pub const EXTENDED_NOTE: &str = "extended to ";

/// A request's free text (a description, a note, a reason): several lines allowed, no other
/// control characters ([`consento_domain::text`]).
fn bounded(field: &'static str, text: &str) -> Result<String, StoreError> {
    let text = text.trim();
    consento_domain::text::check(field, text, consento_domain::text::Lines::Many)?;
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(
            DomainError::invalid(field, format!("at most {DESCRIPTION_MAX} characters")).into(),
        );
    }
    Ok(text.to_owned())
}

impl Store {
    /// Logs a request, computing its Art. 12(3) deadline on `calendar`; its history starts with
    /// "received".
    pub async fn create_request(
        &self,
        new: NewDataRequest,
        calendar: &HolidayCalendar,
    ) -> Result<DataRequest, StoreError> {
        let now = self.now();
        let received_at = new.received_at.unwrap_or(now);
        if received_at > now {
            return Err(DomainError::invalid(
                "received_at",
                "a request cannot arrive in the future",
            )
            .into());
        }
        let due =
            due_date(day("received_at", received_at, calendar)?, calendar).ok_or_else(|| {
                StoreError::from(DomainError::invalid(
                    "received_at",
                    "the date is out of range",
                ))
            })?;
        let request = DataRequest {
            id: RequestId(self.new_uuid(now)?),
            contact_id: new.contact_id,
            kind: new.kind,
            status: RequestStatus::Received,
            channel: new.channel,
            description: bounded("description", &new.description)?,
            received_at,
            due_on: format_date(due),
            extended_due_on: None,
            extension_reason: None,
            deadline: format_date(due),
            handled_by: new.actor,
            closed_at: None,
            outcome: None,
            rejection_reason: None,
            remedies: None,
        };
        crate::audit::set_target_id("request", request.id.0);
        let contact = request.contact_id.map(|c| c.0);
        in_write_tx!(self, tx => {
            if let Some(contact) = contact {
                let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE id = $1")
                    .bind(contact).fetch_one(&mut *tx).await?;
                if found == 0 {
                    return Err(StoreError::not_found("contact"));
                }
            }
            sqlx::query("INSERT INTO requests (id, contact_id, kind, status, channel, description, received_at, due_on, deadline, handled_by_kind, handled_by_id) \
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)")
                .bind(request.id.0).bind(contact).bind(request.kind.code()).bind(request.status.code())
                .bind(request.channel.code()).bind(&request.description).bind(received_at.as_micros())
                .bind(&request.due_on).bind(request.handled_by.kind.code()).bind(&request.handled_by.id)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO request_events (request_id, at, actor_kind, actor_id, from_status, to_status, note) VALUES ($1, $2, $3, $4, NULL, $5, '')")
                .bind(request.id.0).bind(now.as_micros()).bind(request.handled_by.kind.code())
                .bind(&request.handled_by.id).bind(request.status.code())
                .execute(&mut *tx).await?;
        });
        Ok(request)
    }

    /// One request.
    pub async fn request(&self, id: RequestId) -> Result<DataRequest, StoreError> {
        let sql = format!("SELECT {COLS} FROM requests WHERE id = $1");
        let found = on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(pool).await?
                .as_ref().map(request_from).transpose()?
        });
        found.ok_or_else(|| StoreError::not_found("request"))
    }

    /// A request's history, oldest first.
    pub async fn request_history(
        &self,
        id: RequestId,
    ) -> Result<Vec<DataRequestEvent>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT at, actor_kind, actor_id, from_status, to_status, note FROM request_events WHERE request_id = $1 ORDER BY seq")
                .bind(id.0).fetch_all(pool).await?.iter().map(event_from).collect()
        })
    }

    /// Requests matching `filter`, by deadline in force then id (the most urgent first).
    pub async fn requests(
        &self,
        filter: &DataRequestFilter,
    ) -> Result<Vec<DataRequest>, StoreError> {
        // Unused filters compare against NULL and drop out: one SQL text for every combination.
        // Deadlines are 'YYYY-MM-DD' text, so text comparison is date comparison.
        let sql = format!(
            "SELECT {COLS} FROM requests WHERE \
            ($1 = 0 OR status IN ('received', 'identity_verification', 'in_progress')) \
            AND ($2 IS NULL OR status = $2) \
            AND ($3 IS NULL OR (deadline < $3 AND status IN ('received', 'identity_verification', 'in_progress'))) \
            AND ($4 IS NULL OR (deadline <= $4 AND status IN ('received', 'identity_verification', 'in_progress'))) \
            AND ($5 IS NULL OR kind = $5) AND ($6 IS NULL OR contact_id = $6) \
            AND ($7 IS NULL OR deadline > $7 OR (deadline = $7 AND id > $8)) \
            ORDER BY deadline, id LIMIT $9"
        );
        let (after_deadline, after_id) = filter.after.clone().unzip();
        let limit = i64::from(filter.limit.clamp(1, 500));
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(i64::from(filter.open))
                .bind(filter.status.map(RequestStatus::code))
                .bind(filter.overdue_on.map(format_date))
                .bind(filter.due_by.map(format_date))
                .bind(filter.kind.map(RequestKind::code))
                .bind(filter.contact_id.map(|c| c.0))
                .bind(after_deadline)
                .bind(after_id.map(|r| r.0))
                .bind(limit)
                .fetch_all(pool).await?.iter().map(request_from).collect()
        })
    }

    /// Moves a request to another status, checking the move (and a refusal's reason and
    /// remedies), and appends it to the history, in one transaction.
    pub async fn move_request(
        &self,
        id: RequestId,
        change: RequestMove,
    ) -> Result<DataRequest, StoreError> {
        let now = self.now();
        let note = bounded("note", &change.note)?;
        let sql = format!("SELECT {COLS} FROM requests WHERE id = $1");
        let updated = in_write_tx!(self, tx => {
            let current = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(id.0).fetch_optional(&mut *tx).await?
                .as_ref().map(request_from).transpose()?
                .ok_or_else(|| StoreError::not_found("request"))?;
            let t = Transition::check(current.status, change.to, change.reason.as_deref(), change.remedies.as_deref())?;
            // Completing a restriction (Art. 18) or objection (Art. 21) request sets the flag the
            // decision rules honour, in the same transaction: a completed request is never
            // without its effect.
            let flag = match current.kind {
                RequestKind::Restriction => Some(ContactFlag::Restriction),
                RequestKind::Objection => Some(ContactFlag::Objection),
                _ => None,
            };
            if let (RequestStatus::Completed, Some(flag)) = (t.to, flag) {
                let contact = current.contact_id.ok_or_else(|| {
                    StoreError::conflict("contact_id", "link the request to its contact before completing it: completing it sets the contact's flag")
                })?;
                let set = FlagChange { flag, raised: true, actor: change.actor.clone(), request_id: Some(id), notice: None };
                // No notice when a flag is set: the email id is drawn only for the macro's sake.
                let (event_id, email_id) = (self.new_uuid(now)?, self.new_uuid(now)?);
                apply_flag!(self, tx, contact.0, &set, now.as_micros(), event_id, email_id).await?;
            }
            let closed = !t.to.is_open();
            let outcome = (t.to == RequestStatus::Completed && !note.is_empty()).then(|| note.clone());
            sqlx::query("UPDATE requests SET status = $2, handled_by_kind = $3, handled_by_id = $4, closed_at = $5, \
                outcome = $6, rejection_reason = $7, remedies = $8 WHERE id = $1")
                .bind(id.0).bind(t.to.code()).bind(change.actor.kind.code()).bind(&change.actor.id)
                .bind(closed.then_some(now.as_micros())).bind(&outcome).bind(&t.reason).bind(&t.remedies)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO request_events (request_id, at, actor_kind, actor_id, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(id.0).bind(now.as_micros()).bind(change.actor.kind.code()).bind(&change.actor.id)
                .bind(current.status.code()).bind(t.to.code()).bind(&note)
                .execute(&mut *tx).await?;
            DataRequest {
                status: t.to,
                handled_by: change.actor,
                closed_at: closed.then_some(now),
                outcome,
                rejection_reason: t.reason,
                remedies: t.remedies,
                ..current
            }
        });
        Ok(updated)
    }

    /// Links a request logged before the person was identified (Art. 12(6)) to their contact,
    /// recorded in its history. A request keeps the contact it was linked to: linking it again to
    /// another one is refused, as is linking a closed request or an erased contact.
    pub async fn link_request(
        &self,
        id: RequestId,
        contact: ContactId,
        actor: Actor,
    ) -> Result<DataRequest, StoreError> {
        let now = self.now();
        let sql = format!("SELECT {COLS} FROM requests WHERE id = $1");
        let updated = in_write_tx!(self, tx => {
            let current = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(id.0).fetch_optional(&mut *tx).await?
                .as_ref().map(request_from).transpose()?
                .ok_or_else(|| StoreError::not_found("request"))?;
            if current.contact_id == Some(contact) {
                return Ok(current);
            }
            if current.contact_id.is_some() {
                return Err(StoreError::conflict("contact_id", "the request is linked to another contact"));
            }
            if !current.status.is_open() {
                return Err(StoreError::conflict("contact_id", "the request is closed"));
            }
            let erased: Option<Option<i64>> = sqlx::query_scalar("SELECT erased_at FROM contacts WHERE id = $1")
                .bind(contact.0).fetch_optional(&mut *tx).await?;
            match erased {
                None => return Err(StoreError::not_found("contact")),
                Some(Some(_)) => return Err(StoreError::conflict("contact_id", "the contact was erased")),
                Some(None) => {}
            }
            sqlx::query("UPDATE requests SET contact_id = $2, handled_by_kind = $3, handled_by_id = $4 WHERE id = $1")
                .bind(id.0).bind(contact.0).bind(actor.kind.code()).bind(&actor.id)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO request_events (request_id, at, actor_kind, actor_id, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $5, $6)")
                .bind(id.0).bind(now.as_micros()).bind(actor.kind.code()).bind(&actor.id)
                .bind(current.status.code()).bind(format!("{LINKED_NOTE}{}", contact.0))
                .execute(&mut *tx).await?;
            DataRequest { contact_id: Some(contact), handled_by: actor, ..current }
        });
        Ok(updated)
    }

    /// Extends a request's deadline by two further months (Art. 12(3)): once, while open, within
    /// the first month, with its reason; recorded in the history.
    pub async fn extend_request(
        &self,
        id: RequestId,
        reason: &str,
        actor: Actor,
        calendar: &HolidayCalendar,
    ) -> Result<DataRequest, StoreError> {
        let now = self.now();
        let today = day("now", now, calendar)?;
        let reason = bounded("reason", reason)?;
        let sql = format!("SELECT {COLS} FROM requests WHERE id = $1");
        let updated = in_write_tx!(self, tx => {
            let current = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(id.0).fetch_optional(&mut *tx).await?
                .as_ref().map(request_from).transpose()?
                .ok_or_else(|| StoreError::not_found("request"))?;
            let received = day("received_at", current.received_at, calendar)?;
            let due = parse_date("due_on", &current.due_on).map_err(corrupt)?;
            let (extended, reason) = check_extension(
                current.status, received, due, current.extended_due_on.is_some(), today, &reason, calendar,
            )?;
            let extended = format_date(extended);
            sqlx::query("UPDATE requests SET extended_due_on = $2, deadline = $2, extension_reason = $3, handled_by_kind = $4, handled_by_id = $5 WHERE id = $1")
                .bind(id.0).bind(&extended).bind(&reason).bind(actor.kind.code()).bind(&actor.id)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO request_events (request_id, at, actor_kind, actor_id, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $5, $6)")
                .bind(id.0).bind(now.as_micros()).bind(actor.kind.code()).bind(&actor.id)
                .bind(current.status.code()).bind(format!("{EXTENDED_NOTE}{extended}: {reason}"))
                .execute(&mut *tx).await?;
            DataRequest {
                extended_due_on: Some(extended.clone()),
                deadline: extended,
                extension_reason: Some(reason),
                handled_by: actor,
                ..current
            }
        });
        Ok(updated)
    }
}
