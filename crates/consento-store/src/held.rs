//! Held messages (`held_messages`, migration 0029): an email to a contact that needs a
//! justification and came without one, waiting in its mail system until an operator gives a
//! reason or drops it, or until its hold runs out. One row per held recipient; the rows of one
//! message share its source and queue id.
//!
//! Each change is one transaction with what belongs to it: a hold with the email that tells
//! the sender; a release with the justified contact it records (the store's justify path, rule 7
//! of `consento_domain::decide`); a drop with the email that tells the sender. What the mail
//! system must still be told (release the message, remove it) waits as the row's `handoff`, which
//! the source's worker claims under a lease, as the outboxes' messages are claimed (outbox.rs).
//! A relay copy (`relay_deliveries.held_id`, relay.rs) needs no worker: the release queues it
//! and the drop drops it (purging its message's body when no copy waits) in the same
//! transaction, and each relay copy is held, released and dropped on its own.
//!
//! The addresses are personal data (GDPR Art. 4(1)): nothing here puts one into an error or a
//! `Debug` output.

use std::time::Duration;

use consento_domain::held::{DropCause, HeldSource, HeldStatus, QueueId};
use consento_domain::{Action, ContactId, ReasonId, Timestamp};
use uuid::Uuid;

use crate::decide::insert_interaction;
use crate::mail::{INSERT_EMAIL, NewEmail, validate_email};
use crate::outbox::{NextAttempt, lease_until, skip_locked};
use crate::relay::purge_if_done;
use crate::row::Cols;
use crate::{
    ContactRef, DecisionReport, Interaction, Store, StoreError, in_write_tx, on_read_pool,
};

/// A recipient to hold.
#[derive(Clone, PartialEq, Eq)]
pub struct NewHeld {
    /// Its id (UUIDv7), drawn by the caller: the sender's link names it.
    pub id: Uuid,
    /// Where the message waits.
    pub source: HeldSource,
    /// The mail system's id of the message, when already known.
    pub queue_id: Option<QueueId>,
    /// The SMTP transaction it belongs to (Postfix's `instance`), to learn the queue id later.
    pub transaction_ref: Option<String>,
    /// The envelope sender (empty for a bounce, `<>`).
    pub sender: String,
    /// The language the sender is written to in (`it`, `en`).
    pub sender_locale: String,
    /// The envelope recipient.
    pub recipient: String,
    /// The recipient's contact.
    pub contact_id: ContactId,
    /// The action decided (`email.single`, `email.bulk`).
    pub action: Action,
    /// The rule that asked for a reason (the decision's cause code).
    pub rule: String,
    /// When it is dropped if nobody gave a reason.
    pub hold_until: Timestamp,
}

/// Hides the addresses.
impl std::fmt::Debug for NewHeld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewHeld")
            .field("id", &self.id)
            .field("source", &self.source)
            .field("queue_id", &self.queue_id)
            .field("contact_id", &self.contact_id)
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// A held recipient as recorded.
#[derive(Clone, PartialEq, Eq)]
pub struct HeldMessage {
    /// Its id.
    pub id: Uuid,
    /// Where the message waits.
    pub source: HeldSource,
    /// The mail system's id of the message, once known.
    pub queue_id: Option<String>,
    /// The envelope sender (empty for a bounce).
    pub sender: String,
    /// The language the sender is written to in.
    pub sender_locale: String,
    /// The envelope recipient (blank once the contact is erased).
    pub recipient: String,
    /// The recipient's contact.
    pub contact_id: ContactId,
    /// The contact's name, if it has one (none once erased).
    pub contact_name: Option<String>,
    /// The action decided.
    pub action: Action,
    /// The rule that asked for a reason.
    pub rule: String,
    /// When it was held.
    pub held_at: Timestamp,
    /// When it is dropped if nobody gives a reason.
    pub hold_until: Timestamp,
    /// When the sender was told it is held (once the message was known by its queue id).
    pub notified_at: Option<Timestamp>,
    /// What became of it.
    pub status: HeldStatus,
    /// When a reason released it.
    pub released_at: Option<Timestamp>,
    /// The reason given.
    pub reason_id: Option<ReasonId>,
    /// The reason's label.
    pub reason_label: Option<String>,
    /// The justified contact recorded with the release (none when the contact was allowed by
    /// then).
    pub interaction_id: Option<Uuid>,
    /// Who released it.
    pub operator: Option<String>,
    /// When it was dropped.
    pub dropped_at: Option<Timestamp>,
    /// Why it was dropped.
    pub drop_cause: Option<DropCause>,
    /// What the mail system must be told (`release`, `drop`), if anything.
    pub handoff: Option<String>,
    /// When the mail system was told.
    pub handoff_done_at: Option<Timestamp>,
    /// The last failure telling it (a short code, never the tool's output).
    pub handoff_error: Option<String>,
}

/// Hides the addresses.
impl std::fmt::Debug for HeldMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldMessage")
            .field("id", &self.id)
            .field("source", &self.source)
            .field("queue_id", &self.queue_id)
            .field("contact_id", &self.contact_id)
            .field("rule", &self.rule)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// What a mail system must be told about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffKind {
    /// Let it go (Postfix: `postsuper -H`).
    Release,
    /// Remove it (Postfix: `postsuper -d`).
    Drop,
}

impl HandoffKind {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Drop => "drop",
        }
    }

    fn parse(code: &str) -> Result<Self, StoreError> {
        match code {
            "release" => Ok(Self::Release),
            "drop" => Ok(Self::Drop),
            _ => Err(StoreError::Corrupt("held message handoff")),
        }
    }
}

/// A handoff claimed by a source's worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    /// The held recipient it was recorded on.
    pub id: Uuid,
    /// The message, as the mail system names it.
    pub queue_id: QueueId,
    /// What to tell it.
    pub kind: HandoffKind,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Held messages by state, for metrics and the console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldCounts {
    /// Waiting for a reason.
    pub held: i64,
    /// Released.
    pub released: i64,
    /// Dropped.
    pub dropped: i64,
}

const COLUMNS: &str = "h.id, h.source, h.queue_id, h.sender, h.sender_locale, h.recipient, h.contact_id, c.name, h.action, h.rule, h.held_at, h.hold_until, h.notified_at, h.status, h.released_at, h.reason_id, r.label, h.interaction_id, h.operator, h.dropped_at, h.drop_cause, h.handoff, h.handoff_done_at, h.handoff_error";

const FROM: &str = "FROM held_messages h JOIN contacts c ON c.id = h.contact_id LEFT JOIN contact_reasons r ON r.id = h.reason_id";

fn held_from(row: &impl Cols) -> Result<HeldMessage, StoreError> {
    let ts = |v: Option<i64>| v.map(Timestamp::from_micros);
    Ok(HeldMessage {
        id: row.uuid("id")?,
        source: HeldSource::parse(&row.text("source")?)?,
        queue_id: row.opt_text("queue_id")?,
        sender: row.text("sender")?,
        sender_locale: row.text("sender_locale")?,
        recipient: row.text("recipient")?,
        contact_id: ContactId(row.uuid("contact_id")?),
        contact_name: row.opt_text("name")?,
        action: Action::parse(&row.text("action")?)?,
        rule: row.text("rule")?,
        held_at: Timestamp::from_micros(row.int("held_at")?),
        hold_until: Timestamp::from_micros(row.int("hold_until")?),
        notified_at: ts(row.opt_int("notified_at")?),
        status: HeldStatus::parse(&row.text("status")?)?,
        released_at: ts(row.opt_int("released_at")?),
        reason_id: row.opt_uuid("reason_id")?.map(ReasonId),
        reason_label: row.opt_text("label")?,
        interaction_id: row.opt_uuid("interaction_id")?,
        operator: row.opt_text("operator")?,
        dropped_at: ts(row.opt_int("dropped_at")?),
        drop_cause: row
            .opt_text("drop_cause")?
            .map(|c| DropCause::parse(&c))
            .transpose()?,
        handoff: row.opt_text("handoff")?,
        handoff_done_at: ts(row.opt_int("handoff_done_at")?),
        handoff_error: row.opt_text("handoff_error")?,
    })
}

/// A notice to the sender, checked and sealed for the outbox: (id, address, locale, payload).
pub(crate) struct Notice {
    pub(crate) id: Uuid,
    pub(crate) contact_id: Option<Uuid>,
    pub(crate) to: String,
    pub(crate) locale: String,
    pub(crate) template: String,
    pub(crate) payload: String,
}

/// Inserts a held recipient, `held`: $1 id … $12 hold_until, $13 when its sender was told.
pub(crate) const INSERT_HELD: &str = "INSERT INTO held_messages (id, source, queue_id, transaction_ref, sender, sender_locale, recipient, contact_id, action, rule, held_at, hold_until, notified_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'held')";

impl Store {
    /// `email` checked and sealed, ready for [`INSERT_EMAIL`].
    pub(crate) fn notice(&self, email: &NewEmail) -> Result<Notice, StoreError> {
        let (to, locale) = validate_email(email)?;
        let id = self.new_uuid(self.now())?;
        Ok(Notice {
            id,
            contact_id: email.contact_id.map(|c| c.0),
            to: to.as_str().to_owned(),
            locale,
            template: email.template.clone(),
            payload: self.seal_email_payload(id, &email.payload)?,
        })
    }

    /// Holds one recipient, and with it, in the same transaction, writes `notice` (the email
    /// that tells the sender) to the outbox when given: only for a message known by its queue
    /// id, which certainly exists.
    pub async fn hold_message(
        &self,
        held: &NewHeld,
        notice: Option<&NewEmail>,
    ) -> Result<(), StoreError> {
        let notice = notice.map(|n| self.notice(n)).transpose()?;
        let now = self.now().as_micros();
        crate::audit::set_target_id("contact", held.contact_id.0);
        in_write_tx!(self, tx => {
            sqlx::query(INSERT_HELD)
                .bind(held.id).bind(held.source.code()).bind(held.queue_id.as_ref().map(QueueId::as_str))
                .bind(&held.transaction_ref).bind(&held.sender).bind(&held.sender_locale)
                .bind(&held.recipient).bind(held.contact_id.0).bind(held.action.code()).bind(&held.rule)
                .bind(now).bind(held.hold_until.as_micros()).bind(notice.as_ref().map(|_| now))
                .execute(&mut *tx).await?;
            if let Some(n) = &notice {
                sqlx::query(INSERT_EMAIL)
                    .bind(n.id).bind(n.contact_id).bind(&n.to).bind(&n.locale)
                    .bind(&n.template).bind(&n.payload).bind(now)
                    .execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// The recipients of SMTP transaction `transaction_ref` held in `source` and still waiting
    /// for their message's queue id.
    pub async fn held_without_queue_id(
        &self,
        source: HeldSource,
        transaction_ref: &str,
    ) -> Result<Vec<HeldMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} {FROM} WHERE h.source = $1 AND h.transaction_ref = $2 AND h.queue_id IS NULL ORDER BY h.held_at, h.id"
        );
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(source.code()).bind(transaction_ref)
                .fetch_all(pool).await?
                .iter().map(held_from).collect()
        })
    }

    /// Names the message of held recipients `ids` by `queue_id` (those already named are left
    /// alone), and writes each one's notice to the sender in the same transaction. Returns how
    /// many were named.
    pub async fn name_held_message(
        &self,
        queue_id: &QueueId,
        ids: &[(Uuid, Option<NewEmail>)],
    ) -> Result<u64, StoreError> {
        let notices = ids
            .iter()
            .map(|(id, n)| Ok((*id, n.as_ref().map(|n| self.notice(n)).transpose()?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let now = self.now().as_micros();
        let named = in_write_tx!(self, tx => {
            let mut named = 0;
            for (id, notice) in &notices {
                let n = sqlx::query("UPDATE held_messages SET queue_id = $2, notified_at = CASE WHEN $3 THEN $4 ELSE notified_at END WHERE id = $1 AND queue_id IS NULL")
                    .bind(id).bind(queue_id.as_str()).bind(notice.is_some()).bind(now)
                    .execute(&mut *tx).await?.rows_affected();
                named += n;
                if let (1, Some(n)) = (n, notice) {
                    sqlx::query(INSERT_EMAIL)
                        .bind(n.id).bind(n.contact_id).bind(&n.to).bind(&n.locale)
                        .bind(&n.template).bind(&n.payload).bind(now)
                        .execute(&mut *tx).await?;
                }
            }
            named
        });
        Ok(named)
    }

    /// One held recipient.
    pub async fn held_message(&self, id: Uuid) -> Result<HeldMessage, StoreError> {
        let sql = format!("SELECT {COLUMNS} {FROM} WHERE h.id = $1");
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool).await?
                .as_ref().map(held_from).transpose()?
                .ok_or_else(|| StoreError::not_found("held message"))
        })
    }

    /// Held recipients in `status` (any if `None`), the oldest held first, at most `limit`.
    pub async fn held_messages(
        &self,
        status: Option<HeldStatus>,
        limit: i64,
    ) -> Result<Vec<HeldMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} {FROM} WHERE ($1 IS NULL OR h.status = $1) ORDER BY h.held_at, h.id LIMIT $2"
        );
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(status.map(HeldStatus::code)).bind(limit.clamp(1, 10_000))
                .fetch_all(pool).await?
                .iter().map(held_from).collect()
        })
    }

    /// The other recipients of `held`'s message (same source and queue id); none while its queue
    /// id is not known, and none for the relay, which holds each recipient's copy on its own.
    pub async fn held_siblings(&self, held: &HeldMessage) -> Result<Vec<HeldMessage>, StoreError> {
        let Some(queue_id) = &held.queue_id else {
            return Ok(Vec::new());
        };
        if held.source == HeldSource::Relay {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} {FROM} WHERE h.source = $1 AND h.queue_id = $2 AND h.id <> $3 ORDER BY h.held_at, h.id"
        );
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(held.source.code()).bind(queue_id).bind(held.id)
                .fetch_all(pool).await?
                .iter().map(held_from).collect()
        })
    }

    /// Held recipients whose hold ran out by `now`, the oldest first, at most `limit`.
    pub async fn expired_held(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<HeldMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} {FROM} WHERE h.status = 'held' AND h.hold_until <= $1 ORDER BY h.hold_until, h.id LIMIT $2"
        );
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now.as_micros()).bind(limit.clamp(1, 10_000))
                .fetch_all(pool).await?
                .iter().map(held_from).collect()
        })
    }

    /// Releases held recipient `id` with `reason`: the justified contact (the store's justify
    /// path: refused when the contact is blocked by now, for an inactive reason, and for a
    /// marketing reason under an objection, GDPR Art. 21(3)) is recorded with `operator` in the
    /// same transaction as the release, and the mail system is to be told to let the message go
    /// once none of its recipients is held. When the contact is allowed by now, the release
    /// records no justified contact. A recipient no longer held is a conflict on `status`.
    pub async fn release_held(
        &self,
        id: Uuid,
        reason: ReasonId,
        note: Option<&str>,
        operator: &str,
    ) -> Result<(DecisionReport, Option<Interaction>), StoreError> {
        let held = self.held_message(id).await?;
        if held.status != HeldStatus::Held {
            return Err(StoreError::conflict(
                "status",
                format!("the message is {}, no longer held", held.status.code()),
            ));
        }
        let (report, interaction) = self
            .justification(
                &ContactRef::Id(held.contact_id),
                held.action,
                reason,
                note,
                operator,
            )
            .await?;
        crate::audit::set_target_id("contact", held.contact_id.0);
        if let Some(i) = &interaction {
            crate::audit::add_detail("interaction_id", serde_json::json!(i.id));
        }
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            let n = sqlx::query("UPDATE held_messages SET status = 'released', released_at = $2, reason_id = $3, operator = $4, interaction_id = $5, handoff = 'release' WHERE id = $1 AND status = 'held'")
                .bind(id).bind(now).bind(reason.0).bind(operator.trim())
                .bind(interaction.as_ref().map(|i| i.id))
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                // Released or dropped meanwhile, by another operator or the expiry.
                return Err(StoreError::conflict("status", "the message is no longer held"));
            }
            if let Some(i) = &interaction {
                insert_interaction!(tx, i);
            }
            if held.source == HeldSource::Relay {
                // The relay's copy is the message: it is queued now, with the reason that let it
                // go, and there is nothing left to tell another mail system.
                sqlx::query("UPDATE relay_deliveries SET status = 'queued', next_attempt_at = $2, reason_id = $3, interaction_id = $4, updated_at = $2 WHERE held_id = $1 AND status = 'held'")
                    .bind(id).bind(now).bind(reason.0).bind(interaction.as_ref().map(|i| i.id))
                    .execute(&mut *tx).await?;
                sqlx::query("UPDATE held_messages SET handoff_done_at = $2 WHERE id = $1")
                    .bind(id).bind(now)
                    .execute(&mut *tx).await?;
            }
        });
        Ok((report, interaction))
    }

    /// Drops held recipients `ids` for `cause`, each with its notice to the sender when given,
    /// in one transaction: a recipient still held, or released but not yet let go by its mail
    /// system, is dropped, and its mail system is to be told to remove the message. Returns the
    /// ids dropped (those already dropped or let go are left alone).
    pub async fn drop_held(
        &self,
        ids: &[(Uuid, Option<NewEmail>)],
        cause: DropCause,
    ) -> Result<Vec<Uuid>, StoreError> {
        let notices = ids
            .iter()
            .map(|(id, n)| Ok((*id, n.as_ref().map(|n| self.notice(n)).transpose()?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let now = self.now().as_micros();
        let dropped = in_write_tx!(self, tx => {
            let mut dropped = Vec::new();
            for (id, notice) in &notices {
                let n = sqlx::query("UPDATE held_messages SET status = 'dropped', dropped_at = $2, drop_cause = $3, handoff = 'drop', handoff_lease_until = NULL, handoff_attempts = 0, handoff_error = NULL WHERE id = $1 AND (status = 'held' OR (status = 'released' AND handoff_done_at IS NULL))")
                    .bind(id).bind(now).bind(cause.code())
                    .execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    continue;
                }
                dropped.push(*id);
                // A relay copy held is dropped with it, and its message's body goes once no copy
                // waits (GDPR Art. 5(1)(e)); the relay has nothing left to be told.
                let message: Option<Uuid> = sqlx::query_scalar("UPDATE relay_deliveries SET status = 'dropped', next_attempt_at = NULL, lease_until = NULL, updated_at = $2 WHERE held_id = $1 AND status = 'held' RETURNING message_id")
                    .bind(id).bind(now)
                    .fetch_optional(&mut *tx).await?;
                if let Some(message) = message {
                    sqlx::query("UPDATE held_messages SET handoff_done_at = $2 WHERE id = $1")
                        .bind(id).bind(now)
                        .execute(&mut *tx).await?;
                    purge_if_done!(tx, message, now);
                }
                if let Some(n) = notice {
                    sqlx::query(INSERT_EMAIL)
                        .bind(n.id).bind(n.contact_id).bind(&n.to).bind(&n.locale)
                        .bind(&n.template).bind(&n.payload).bind(now)
                        .execute(&mut *tx).await?;
                }
            }
            dropped
        });
        Ok(dropped)
    }

    /// Claims up to `batch` handoffs of `source` for `lease`: a removal at once, a release once
    /// no recipient of its message is still held. Several workers, in this process or others,
    /// claim different ones; a worker that dies leaves its claims to the next when the lease
    /// ends.
    pub async fn claim_held_handoffs(
        &self,
        source: HeldSource,
        batch: i64,
        lease: Duration,
    ) -> Result<Vec<Handoff>, StoreError> {
        let now = self.now();
        let until = lease_until(now, lease);
        let now = now.as_micros();
        const DUE: &str = "FROM held_messages h WHERE h.source = $1 AND h.handoff IS NOT NULL AND h.handoff_done_at IS NULL AND h.queue_id IS NOT NULL AND (h.handoff_lease_until IS NULL OR h.handoff_lease_until <= $2) AND (h.handoff = 'drop' OR NOT EXISTS (SELECT 1 FROM held_messages s WHERE s.source = h.source AND s.queue_id = h.queue_id AND s.status = 'held'))";
        // Read first: most polls find nothing to do, and should not take the write lock.
        let due: Option<Uuid> = on_read_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT h.id {DUE} LIMIT 1")))
                .bind(source.code()).bind(now)
                .fetch_optional(pool).await?
        });
        if due.is_none() {
            return Ok(Vec::new());
        }
        let lock = skip_locked(self.backend(), Some("h"));
        let sql = format!(
            "UPDATE held_messages SET handoff_lease_until = $3, handoff_attempts = handoff_attempts + 1 WHERE id IN (SELECT h.id {DUE} ORDER BY h.held_at, h.id LIMIT $4 {lock}) RETURNING id, queue_id, handoff, handoff_attempts"
        );
        in_write_tx!(self, tx => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(source.code()).bind(now).bind(until).bind(batch.clamp(1, 1000))
                .fetch_all(&mut *tx).await?
                .iter()
                .map(|row| Ok(Handoff {
                    id: row.uuid("id")?,
                    queue_id: QueueId::parse(&row.text("queue_id")?)?,
                    kind: HandoffKind::parse(&row.text("handoff")?)?,
                    attempts: row.int("handoff_attempts")?,
                }))
                .collect::<Result<Vec<_>, StoreError>>()
        })
    }

    /// Records that the mail system was told `handoff`: every pending handoff of the same kind
    /// for its message is done with it (one `postsuper` run serves every recipient).
    pub async fn handoff_done(
        &self,
        source: HeldSource,
        handoff: &Handoff,
    ) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query("UPDATE held_messages SET handoff_done_at = $4, handoff_lease_until = NULL, handoff_error = NULL WHERE source = $1 AND queue_id = $2 AND handoff = $3 AND handoff_done_at IS NULL")
                .bind(source.code()).bind(handoff.queue_id.as_str()).bind(handoff.kind.code()).bind(now)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Records a failed attempt at `handoff` with a short error code (never the tool's output,
    /// which may quote an address), and when to try again, or that it is given up (done, with
    /// its error kept for the administrator).
    pub async fn handoff_failed(
        &self,
        handoff: &Handoff,
        error_code: &str,
        next: NextAttempt,
    ) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        let code: String = error_code.chars().take(64).collect();
        in_write_tx!(self, tx => {
            match next {
                NextAttempt::At(at) => sqlx::query("UPDATE held_messages SET handoff_error = $2, handoff_lease_until = $3 WHERE id = $1 AND handoff_done_at IS NULL")
                    .bind(handoff.id).bind(&code).bind(at.as_micros()),
                NextAttempt::Dead => sqlx::query("UPDATE held_messages SET handoff_error = $2, handoff_done_at = $3, handoff_lease_until = NULL WHERE id = $1 AND handoff_done_at IS NULL")
                    .bind(handoff.id).bind(&code).bind(now),
            }
            .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Held recipients by state.
    pub async fn held_counts(&self) -> Result<HeldCounts, StoreError> {
        let rows = on_read_pool!(self, pool => {
            sqlx::query("SELECT status, COUNT(*) AS n FROM held_messages GROUP BY status")
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok((row.text("status")?, row.int("n")?)))
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        let mut counts = HeldCounts::default();
        for (status, n) in rows {
            match status.as_str() {
                "held" => counts.held = n,
                "released" => counts.released = n,
                "dropped" => counts.dropped = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}
