//! The dialer's call outcomes (migration 0027): recording one, with the objection a refusal
//! raises in the same transaction ("basta un no", GDPR Art. 21(3)); a campaign's counts per
//! outcome; a number's latest silent call (Garante, general provision n. 83 of 20 February 2014);
//! a contact's calls. The rows are append-only: the database refuses to change or remove them,
//! except the number, which only an erasure blanks.

use consento_domain::calls::{self, CallOutcome, CampaignTally};
use consento_domain::{Actor, ActorKind, ContactId, Phone, Timestamp};
use serde::Serialize;

use crate::flags::{ContactFlag, FlagChange};
use crate::row::Cols;
use crate::users::AuditInput;
use crate::{Store, StoreError, in_write_tx, on_read_pool};

/// A call outcome the dialer reports.
#[derive(Debug, Clone)]
pub struct NewCallOutcome {
    /// The number dialled, in any common format: it must be one of a contact's numbers.
    pub phone: String,
    /// How the call ended.
    pub outcome: CallOutcome,
    /// The campaign the call belongs to (1 to 200 characters).
    pub campaign: String,
    /// Who placed the call (the dialer's operator handle, 1 to 128 characters).
    pub operator: String,
    /// When the call took place, by the dialer's clock: neither in the future (beyond 5 minutes
    /// of clock skew) nor more than 30 days ago.
    pub called_at: Timestamp,
    /// Who records it (the integration's token).
    pub actor: Actor,
    /// The audit entry of the objection a refusal raises (`contact.objection`), written in the
    /// same transaction when the refusal does raise one; the store names the contact and adds
    /// the dates and the call's id to its detail.
    pub objection_entry: Option<AuditInput>,
}

/// A recorded call outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// Its id.
    pub id: uuid::Uuid,
    /// The contact whose number was dialled.
    pub contact_id: ContactId,
    /// The number, E.164 (empty once the contact is erased).
    pub phone: String,
    /// How the call ended.
    pub outcome: CallOutcome,
    /// The campaign.
    pub campaign: String,
    /// Who placed the call.
    pub operator: String,
    /// When the call took place (the dialer's clock).
    pub called_at: Timestamp,
    /// When it was recorded (ours).
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub actor: Actor,
}

/// What recording a call outcome did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    /// The row written.
    pub call: CallRecord,
    /// Since when the contact objects to direct marketing, after this call: the instant of this
    /// call when its refusal raised the objection, the earlier date when the person already
    /// objected; `None` when they do not object.
    pub objected_at: Option<Timestamp>,
    /// Whether this call's refusal raised the objection (false: no refusal, or already
    /// objecting).
    pub objection_raised: bool,
}

/// A campaign's calls: the counts per outcome and the first and last call.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignReport {
    /// The campaign.
    pub campaign: String,
    /// The calls per outcome.
    pub tally: CampaignTally,
    /// The earliest call's instant.
    pub first_call_at: Timestamp,
    /// The latest call's instant.
    pub last_call_at: Timestamp,
}

const INSERT_CALL: &str = "INSERT INTO call_outcomes (id, contact_id, phone, outcome, campaign, operator, called_at, recorded_at, actor_kind, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

impl Store {
    /// Records a call outcome the dialer reports, for the contact that has the number (404
    /// otherwise: an outcome must name a known contact's number). A `refused_marketing` outcome
    /// raises the contact's objection to direct marketing in the same transaction, as
    /// `PUT /v1/contacts/{id}/objection` does (the flag, its history row, the primary address
    /// and number on the suppression list), since the instant of the call, with no
    /// confirmation asked; an objection already recorded keeps its date.
    pub async fn record_call_outcome(
        &self,
        input: &NewCallOutcome,
    ) -> Result<RecordedCall, StoreError> {
        let now = self.now();
        calls::check_called_at(input.called_at, now)?;
        let campaign = calls::campaign(&input.campaign)?;
        let operator = calls::operator(&input.operator)?;
        let phone = Phone::parse(&input.phone, &self.country_code)?;
        let id = self.new_uuid(now)?;
        let event_id = self.new_uuid(now)?;
        let email_id = self.new_uuid(now)?;
        let audit_id = self.new_uuid(now)?;
        let objection_entry = input
            .objection_entry
            .clone()
            .filter(|_| input.outcome.objects());
        let (call, objected_at, raised) = in_write_tx!(self, tx => {
            // The number is looked up in the transaction that writes: a number moved to
            // another contact meanwhile is recorded for the contact that has it now.
            let contact: uuid::Uuid = sqlx::query_scalar("SELECT contact_id FROM contact_phones WHERE phone = $1")
                .bind(phone.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::not_found("contact"))?;
            sqlx::query(INSERT_CALL)
                .bind(id).bind(contact).bind(phone.as_str()).bind(input.outcome.code())
                .bind(&campaign).bind(&operator).bind(input.called_at.as_micros()).bind(now.as_micros())
                .bind(input.actor.kind.code()).bind(&input.actor.id)
                .execute(&mut *tx).await?;
            crate::audit::set_target_id("contact", contact);
            crate::audit::add_detail("call_id", serde_json::json!(id));
            let mut raised = false;
            if input.outcome.objects() {
                let change = FlagChange {
                    flag: ContactFlag::Objection,
                    raised: true,
                    actor: input.actor.clone(),
                    request_id: None,
                    notice: None,
                };
                raised = crate::flags::apply_flag!(self, tx, contact, &change, now.as_micros(), event_id, email_id, since = input.called_at.as_micros())
                    .await?
                    .changed;
                if let (true, Some(mut entry)) = (raised, objection_entry) {
                    entry.target_kind = Some("contact".to_owned());
                    entry.target_id = Some(contact.to_string());
                    if let Some(map) = entry.detail.as_object_mut() {
                        map.insert("before".to_owned(), serde_json::Value::Null);
                        map.insert("after".to_owned(), serde_json::json!(input.called_at));
                        map.insert("call_id".to_owned(), serde_json::json!(id));
                    }
                    let detail = serde_json::to_string(&entry.detail)
                        .map_err(|_| StoreError::Corrupt("audit detail"))?;
                    crate::users::insert_audit!(tx, audit_id, now, entry, detail);
                }
            }
            let objected_at: Option<i64> = sqlx::query_scalar("SELECT objected_at FROM contacts WHERE id = $1")
                .bind(contact)
                .fetch_one(&mut *tx)
                .await?;
            let call = CallRecord {
                id,
                contact_id: ContactId(contact),
                phone: phone.as_str().to_owned(),
                outcome: input.outcome,
                campaign,
                operator,
                called_at: input.called_at,
                recorded_at: now,
                actor: input.actor.clone(),
            };
            (call, objected_at.map(Timestamp::from_micros), raised)
        });
        Ok(RecordedCall {
            call,
            objected_at,
            objection_raised: raised,
        })
    }

    /// A campaign's calls counted per outcome, with its first and last call; not found when no
    /// call of the campaign was recorded.
    pub async fn campaign_report(&self, campaign: &str) -> Result<CampaignReport, StoreError> {
        let campaign = calls::campaign(campaign)?;
        let rows = on_read_pool!(self, pool => {
            sqlx::query("SELECT outcome, COUNT(*) AS calls, MIN(called_at) AS first_at, MAX(called_at) AS last_at FROM call_outcomes WHERE campaign = $1 GROUP BY outcome")
                .bind(&campaign)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok((
                    CallOutcome::parse(&row.text("outcome")?)?,
                    u64::try_from(row.int("calls")?).map_err(|_| StoreError::Corrupt("call_outcomes count"))?,
                    row.int("first_at")?,
                    row.int("last_at")?,
                )))
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        let mut tally = CampaignTally::default();
        let mut span: Option<(i64, i64)> = None;
        for (outcome, count, first, last) in rows {
            tally.add(outcome, count);
            span = Some(span.map_or((first, last), |(f, l)| (f.min(first), l.max(last))));
        }
        let (first, last) = span.ok_or_else(|| StoreError::not_found("campaign"))?;
        Ok(CampaignReport {
            campaign,
            tally,
            first_call_at: Timestamp::from_micros(first),
            last_call_at: Timestamp::from_micros(last),
        })
    }

    /// The instant of the latest silent call to `phone` (any common format), whichever contact
    /// had the number; `None` when it never had one. A number a silent call reached must not be
    /// called again by an automated dialer for a while (general provision n. 83 of 20 February
    /// 2014); this is what such a check reads.
    pub async fn last_silent_call(&self, phone: &str) -> Result<Option<Timestamp>, StoreError> {
        let phone = Phone::parse(phone, &self.country_code)?;
        let last: Option<i64> = on_read_pool!(self, pool => {
            sqlx::query_scalar("SELECT MAX(called_at) FROM call_outcomes WHERE phone = $1 AND outcome = 'silent'")
                .bind(phone.as_str())
                .fetch_one(pool)
                .await?
        });
        Ok(last.map(Timestamp::from_micros))
    }

    /// A contact's call outcomes, the latest call first.
    pub async fn call_outcomes(&self, contact: ContactId) -> Result<Vec<CallRecord>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT id, phone, outcome, campaign, operator, called_at, recorded_at, actor_kind, actor_id FROM call_outcomes WHERE contact_id = $1 ORDER BY called_at DESC, id DESC")
                .bind(contact.0)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok(CallRecord {
                    id: row.uuid("id")?,
                    contact_id: contact,
                    phone: row.text("phone")?,
                    outcome: CallOutcome::parse(&row.text("outcome")?)?,
                    campaign: row.text("campaign")?,
                    operator: row.text("operator")?,
                    called_at: Timestamp::from_micros(row.int("called_at")?),
                    recorded_at: Timestamp::from_micros(row.int("recorded_at")?),
                    actor: Actor {
                        kind: ActorKind::parse(&row.text("actor_kind")?)?,
                        id: row.text("actor_id")?,
                    },
                }))
                .collect()
        })
    }
}
