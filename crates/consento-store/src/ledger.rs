//! The consent ledger: appending events (hash-chained, under the head lock, with the projection
//! of the current state updated in the same transaction), reading a contact's history and current
//! consents, and verifying the whole chain.

use consento_domain::consent::expiry_of;
use consento_domain::ledger::{EventRecord, Verifier, evidence_digest};
use consento_domain::{
    ActorKind, CollectionMethod, ConsentCode, ConsentTypeId, ContactId, DomainError, EventId,
    EventKind, NoticeId, Timestamp,
};
use futures_util::TryStreamExt;

use crate::row::{Cols, hash32, hex};
use crate::types::{permissions_from, validity_from};
use crate::{
    Backend, ConsentEventInput, ContactRef, CurrentConsent, HistoryEntry, LedgerReport,
    RecordedEvent, Store, StoreError, in_write_tx, on_read_pool,
};

/// Reads, in one statement, what an append needs: the consent type and the validity in force,
/// whether the contact exists and is not erased, the notice version's id, and the ledger head.
/// On PostgreSQL `FOR UPDATE OF h` locks the head row until commit, so concurrent appends (from any
/// process) chain one after the other; SQLite has no row locks and needs none, as the append runs
/// under `BEGIN IMMEDIATE`, which holds the database's one write lock.
const APPEND_CONTEXT_SQLITE: &str = "SELECT t.id AS type_id, t.validity_days, c.id AS contact_id, c.erased_at, n.id AS notice_id, h.seq AS head_seq, h.hash AS head_hash FROM ledger_head h JOIN consent_types t ON t.code = $1 LEFT JOIN contacts c ON c.id = $2 LEFT JOIN privacy_notices n ON n.version = $3 WHERE h.id = 1";
const APPEND_CONTEXT_POSTGRES: &str = "SELECT t.id AS type_id, t.validity_days, c.id AS contact_id, c.erased_at, n.id AS notice_id, h.seq AS head_seq, h.hash AS head_hash FROM ledger_head h JOIN consent_types t ON t.code = $1 LEFT JOIN contacts c ON c.id = $2 LEFT JOIN privacy_notices n ON n.version = $3 WHERE h.id = 1 FOR UPDATE OF h";

/// Appends one event. The trigger `consent_events_project` then moves the ledger head and the
/// current consent state in the same transaction.
pub(crate) const INSERT_EVENT: &str = "INSERT INTO consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

fn record_from(row: &impl Cols) -> Result<(EventRecord, [u8; 32]), StoreError> {
    let record = EventRecord {
        seq: row.int("seq")?,
        id: EventId(row.uuid("id")?),
        contact_id: ContactId(row.uuid("contact_id")?),
        consent_type_id: ConsentTypeId(row.uuid("consent_type_id")?),
        type_code: row.text("type_code")?,
        kind: EventKind::parse(&row.text("kind")?)?,
        event_time: Timestamp::from_micros(row.int("event_time")?),
        recorded_at: Timestamp::from_micros(row.int("recorded_at")?),
        method: CollectionMethod::parse(&row.text("method")?)?,
        actor_kind: ActorKind::parse(&row.text("actor_kind")?)?,
        actor_id: row.text("actor_id")?,
        notice_id: row.opt_uuid("notice_id")?.map(NoticeId),
        validity_days: validity_from(row.opt_int("validity_days")?)?,
        evidence_digest: row.opt_bytes("evidence_digest")?.map(hash32).transpose()?,
        prev_hash: hash32(row.bytes("prev_hash")?)?,
    };
    Ok((record, hash32(row.bytes("hash")?)?))
}

impl Store {
    /// Records one consent event (GDPR Art. 7(1): the controller must be able to show that the
    /// person consented). The event time may be in the past (a paper form entered today) but never
    /// in the future. The ledger append, the evidence and the current state are one transaction.
    pub async fn record_consent(
        &self,
        input: ConsentEventInput,
    ) -> Result<RecordedEvent, StoreError> {
        let now = self.now();
        let event_time = input.event_time.unwrap_or(now);
        if event_time > now {
            return Err(DomainError::invalid(
                "event_time",
                "a consent cannot be dated in the future",
            )
            .into());
        }
        let code = ConsentCode::parse(&input.type_code)?;
        let contact_id = self.contact_key(&input.contact).await?;
        let evidence = input
            .evidence
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        if evidence.as_ref().is_some_and(|e| e.len() > 16_384) {
            return Err(DomainError::invalid("evidence", "must be at most 16 KiB").into());
        }
        let salt: [u8; 32] = self.random()?;
        let id = EventId(self.new_uuid(now)?);
        let context_sql = match self.backend() {
            Backend::Sqlite => APPEND_CONTEXT_SQLITE,
            Backend::Postgres => APPEND_CONTEXT_POSTGRES,
        };
        in_write_tx!(self, tx => {
            // The type's validity is read inside the transaction: the event keeps the validity in
            // force when it was recorded, whatever the type becomes later.
            let row = sqlx::query(context_sql)
                .bind(code.as_str())
                .bind(contact_id.0)
                .bind(&input.notice_version)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::not_found("consent type"))?;
            if row.opt_uuid("contact_id")?.is_none() {
                return Err(StoreError::not_found("contact"));
            }
            if row.opt_int("erased_at")?.is_some() {
                return Err(StoreError::conflict("contact", "the contact was erased"));
            }
            let notice_id = row.opt_uuid("notice_id")?.map(NoticeId);
            if input.notice_version.is_some() && notice_id.is_none() {
                return Err(StoreError::not_found("privacy notice version"));
            }
            let validity_days = validity_from(row.opt_int("validity_days")?)?;
            let record = EventRecord {
                seq: row.int("head_seq")? + 1,
                id,
                contact_id,
                consent_type_id: ConsentTypeId(row.uuid("type_id")?),
                type_code: code.as_str().to_owned(),
                kind: input.kind,
                event_time,
                recorded_at: now,
                method: input.method,
                actor_kind: input.actor.kind,
                actor_id: input.actor.id.clone(),
                notice_id,
                validity_days,
                evidence_digest: evidence.as_deref().map(|e| evidence_digest(&salt, e)),
                prev_hash: hash32(row.bytes("head_hash")?)?,
            };
            let hash = record.hash();
            sqlx::query(INSERT_EVENT)
                .bind(record.seq)
                .bind(record.id.0)
                .bind(record.contact_id.0)
                .bind(record.consent_type_id.0)
                .bind(&record.type_code)
                .bind(record.kind.code())
                .bind(event_time.as_micros())
                .bind(now.as_micros())
                .bind(record.method.code())
                .bind(record.actor_kind.code())
                .bind(&record.actor_id)
                .bind(notice_id.map(|n| n.0))
                .bind(validity_days.map(i64::from))
                .bind(record.evidence_digest.map(|d| d.to_vec()))
                .bind(record.prev_hash.to_vec())
                .bind(hash.to_vec())
                .execute(&mut *tx)
                .await?;
            if let Some(content) = &evidence {
                sqlx::query("INSERT INTO consent_evidence (event_id, contact_id, salt, content) VALUES ($1, $2, $3, $4)")
                    .bind(id.0).bind(contact_id.0).bind(salt.to_vec()).bind(content)
                    .execute(&mut *tx).await?;
            }
            Ok(RecordedEvent {
                seq: record.seq,
                id,
                contact_id,
                type_code: record.type_code,
                kind: input.kind,
                event_time,
                recorded_at: now,
                expires_at: expiry_of(input.kind, event_time, validity_days),
                hash: hex(&hash),
            })
        })
    }

    /// A contact's consents, one line per consent type (those never recorded included), as the
    /// contact card shows them.
    pub async fn current_consents(
        &self,
        contact: &ContactRef,
    ) -> Result<Vec<CurrentConsent>, StoreError> {
        let id = self.resolve_contact(contact).await?;
        let now = self.now();
        on_read_pool!(self, pool => {
            sqlx::query(
                "SELECT t.id, t.code, t.title, t.allow_email_bulk, t.allow_email_single, t.allow_phone_call, t.allow_sms_single, t.allow_sms_bulk, s.kind, s.granted, s.event_time, s.valid_until FROM consent_types t LEFT JOIN consent_state s ON s.consent_type_id = t.id AND s.contact_id = $1 ORDER BY t.title, t.code",
            )
            .bind(id.0)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                let kind = row.opt_text("kind")?.as_deref().map(EventKind::parse).transpose()?;
                let valid_until = row.opt_int("valid_until")?;
                let granted = kind.is_some_and(EventKind::grants);
                let expires_at = valid_until
                    .filter(|v| granted && *v != i64::MAX)
                    .map(Timestamp::from_micros);
                Ok(CurrentConsent {
                    type_id: ConsentTypeId(row.uuid("id")?),
                    code: ConsentCode::parse(&row.text("code")?)?,
                    title: row.text("title")?,
                    permissions: permissions_from(row)?,
                    kind,
                    event_time: row.opt_int("event_time")?.map(Timestamp::from_micros),
                    expires_at,
                    valid: granted && valid_until.is_some_and(|v| now.as_micros() < v),
                })
            })
            .collect()
        })
    }

    /// Every consent event of a contact with its proof, in ledger order.
    pub async fn consent_history(
        &self,
        contact: &ContactRef,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let id = self.resolve_contact(contact).await?;
        on_read_pool!(self, pool => {
            sqlx::query(
                "SELECT e.seq, e.id, e.type_code, e.kind, e.event_time, e.recorded_at, e.method, e.actor_kind, e.actor_id, n.version AS notice_version, e.validity_days, v.content AS evidence, e.hash FROM consent_events e LEFT JOIN privacy_notices n ON n.id = e.notice_id LEFT JOIN consent_evidence v ON v.event_id = e.id WHERE e.contact_id = $1 ORDER BY e.seq",
            )
            .bind(id.0)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                let kind = EventKind::parse(&row.text("kind")?)?;
                let event_time = Timestamp::from_micros(row.int("event_time")?);
                let validity_days = validity_from(row.opt_int("validity_days")?)?;
                Ok(HistoryEntry {
                    seq: row.int("seq")?,
                    id: EventId(row.uuid("id")?),
                    type_code: row.text("type_code")?,
                    kind,
                    event_time,
                    recorded_at: Timestamp::from_micros(row.int("recorded_at")?),
                    method: CollectionMethod::parse(&row.text("method")?)?,
                    actor_kind: ActorKind::parse(&row.text("actor_kind")?)?,
                    actor_id: row.text("actor_id")?,
                    notice_version: row.opt_text("notice_version")?,
                    validity_days,
                    expires_at: expiry_of(kind, event_time, validity_days),
                    evidence: row.opt_text("evidence")?,
                    hash: hex(&row.bytes("hash")?),
                })
            })
            .collect()
        })
    }

    /// Verifies the whole ledger, streaming it in order (memory stays flat), and names the first
    /// event that was altered, removed, inserted or moved.
    pub async fn verify_ledger(&self) -> Result<LedgerReport, StoreError> {
        on_read_pool!(self, pool => {
            let mut verifier = Verifier::new();
            let mut rows = sqlx::query(
                "SELECT seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash FROM consent_events ORDER BY seq",
            )
            .fetch(pool);
            while let Some(row) = rows.try_next().await? {
                let (record, stored) = record_from(&row)?;
                verifier.check(&record, &stored).map_err(StoreError::Chain)?;
            }
            drop(rows);
            let head = sqlx::query("SELECT seq, hash FROM ledger_head WHERE id = 1").fetch_one(pool).await?;
            let head_hash = hash32(head.bytes("hash")?)?;
            let events = verifier.finish(head.int("seq")?, &head_hash).map_err(StoreError::Chain)?;
            Ok(LedgerReport { events, head_hash: hex(&head_hash) })
        })
    }
}
