//! The consent ledger: appending events (hash-chained, under the head lock, with the projection
//! of the current state updated in the same transaction), reading a contact's history and current
//! consents, and verifying the whole chain.

use consento_domain::consent::expiry_of;
use consento_domain::ledger::{EventRecord, Verifier, evidence_digest};
use consento_domain::text::{Lines, check};
use consento_domain::{
    ActorKind, CollectionMethod, ConsentCode, ConsentTypeId, ContactId, ContactStatus, DomainError,
    EventId, EventKind, NoticeId, Timestamp,
};
use std::collections::HashMap;

use futures_util::TryStreamExt;

use crate::inserts::{INSERT_EVIDENCE, push_event_values};
use crate::row::{Cols, hash32, hex};
use crate::types::{permissions_from, validity_from};
use crate::{
    Backend, ConsentEventInput, ContactRef, CurrentConsent, Db, HistoryEntry, LedgerReport,
    RecordedEvent, Store, StoreError, in_write_tx, on_read_pool,
};

/// What an append needs from the database: the ledger head, and each consent type's id and
/// validity. Kept in memory between appends; the chain trigger refuses an append built on a stale
/// value, which then refreshes it. Notice versions never change once published.
#[derive(Debug, Default)]
pub(crate) struct AppendCache {
    head: Option<(i64, [u8; 32])>,
    types: HashMap<String, (ConsentTypeId, Option<u32>)>,
    notices: HashMap<String, NoticeId>,
}

impl AppendCache {
    /// Forgets what another writer may have changed.
    pub(crate) fn invalidate(&mut self) {
        self.head = None;
        self.types.clear();
    }
}

/// An idempotency key of a consent write (the `Idempotency-Key` header), scoped to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The API token that sent it: keys of different callers never collide.
    pub token_id: uuid::Uuid,
    /// The key as sent.
    pub key: String,
    /// SHA-256 of the request it came with (method, path, body).
    pub request_sha256: [u8; 32],
}

/// A consent event checked and ready to append, waiting only for the ledger's head.
#[derive(Debug)]
pub(crate) struct PreparedAppend {
    id: EventId,
    contact_id: ContactId,
    code: ConsentCode,
    kind: EventKind,
    event_time: Timestamp,
    recorded_at: Timestamp,
    method: CollectionMethod,
    actor: consento_domain::Actor,
    notice_version: Option<String>,
    evidence: Option<([u8; 32], String)>,
    key: Option<IdempotencyKey>,
    /// The audit row of the caller's [`Store::audited`] scope: written in the event's
    /// transaction, whichever task commits it.
    audit: Option<crate::audit::AuditRow>,
}

impl PreparedAppend {
    /// The event's id (known before it is appended).
    pub(crate) fn id(&self) -> EventId {
        self.id
    }

    /// Whether the event comes alone, without evidence, idempotency key or audit row: then its
    /// append is one plain INSERT.
    pub(crate) fn is_bare(&self) -> bool {
        self.evidence.is_none() && self.key.is_none() && self.audit.is_none()
    }

    fn record(
        &self,
        (seq, prev_hash): (i64, [u8; 32]),
        (consent_type_id, validity_days): (ConsentTypeId, Option<u32>),
        notice_id: Option<NoticeId>,
    ) -> EventRecord {
        EventRecord {
            seq: seq + 1,
            id: self.id,
            contact_id: self.contact_id,
            consent_type_id,
            type_code: self.code.as_str().to_owned(),
            kind: self.kind,
            event_time: self.event_time,
            recorded_at: self.recorded_at,
            method: self.method,
            actor_kind: self.actor.kind,
            actor_id: self.actor.id.clone(),
            notice_id,
            validity_days,
            evidence_digest: self
                .evidence
                .as_ref()
                .map(|(salt, e)| evidence_digest(salt, e)),
            prev_hash,
        }
    }

    fn recorded(&self, r: &EventRecord, hash: &[u8; 32]) -> RecordedEvent {
        RecordedEvent {
            seq: r.seq,
            id: self.id,
            contact_id: self.contact_id,
            expires_at: expiry_of(r.kind, r.event_time, r.validity_days),
            type_code: r.type_code.clone(),
            kind: r.kind,
            event_time: r.event_time,
            recorded_at: r.recorded_at,
            hash: hex(hash),
        }
    }
}

/// A recorded event from a `consent_events` row (columns seq, id, contact_id, type_code, kind,
/// event_time, recorded_at, validity_days, hash).
pub(crate) fn recorded_from(row: &impl Cols) -> Result<RecordedEvent, StoreError> {
    let kind = EventKind::parse(&row.text("kind")?)?;
    let event_time = Timestamp::from_micros(row.int("event_time")?);
    Ok(RecordedEvent {
        seq: row.int("seq")?,
        id: EventId(row.uuid("id")?),
        contact_id: ContactId(row.uuid("contact_id")?),
        type_code: row.text("type_code")?,
        kind,
        event_time,
        recorded_at: Timestamp::from_micros(row.int("recorded_at")?),
        expires_at: expiry_of(
            kind,
            event_time,
            validity_from(row.opt_int("validity_days")?)?,
        ),
        hash: hex(&hash32(row.bytes("hash")?)?),
    })
}

/// A second use of an idempotency key, caught by the key's primary key.
fn idempotency_conflict(e: sqlx::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict { .. } => StoreError::conflict(
            "idempotency_key",
            "this key is being used by another request",
        ),
        other => other,
    }
}

/// Reads the head, a consent type and a notice version in one statement.
const APPEND_CONTEXT: &str = "SELECT h.seq AS head_seq, h.hash AS head_hash, t.id AS type_id, t.validity_days, n.id AS notice_id FROM ledger_head h LEFT JOIN consent_types t ON t.code = $1 LEFT JOIN privacy_notices n ON n.version = $2 WHERE h.id = 1";

/// The same, locking the head row until commit (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already
/// holds the database's one write lock).
const APPEND_CONTEXT_LOCKED: &str = "SELECT h.seq AS head_seq, h.hash AS head_hash, t.id AS type_id, t.validity_days, n.id AS notice_id FROM ledger_head h LEFT JOIN consent_types t ON t.code = $1 LEFT JOIN privacy_notices n ON n.version = $2 WHERE h.id = 1 FOR UPDATE OF h";

/// Appends under the lock retried when a consent type changed between reading and inserting.
const LOCKED_ATTEMPTS: usize = 3;

/// The INSERT of one event with every field bound; the triggers check the chain and keep the
/// head and the current state.
macro_rules! bind_event {
    ($r:expr, $hash:expr) => {
        sqlx::query(INSERT_EVENT)
            .bind($r.seq)
            .bind($r.id.0)
            .bind($r.contact_id.0)
            .bind($r.consent_type_id.0)
            .bind(&$r.type_code)
            .bind($r.kind.code())
            .bind($r.event_time.as_micros())
            .bind($r.recorded_at.as_micros())
            .bind($r.method.code())
            .bind($r.actor_kind.code())
            .bind(&$r.actor_id)
            .bind($r.notice_id.map(|n| n.0))
            .bind($r.validity_days.map(i64::from))
            .bind($r.evidence_digest.map(|d| d.to_vec()))
            .bind($r.prev_hash.to_vec())
            .bind($hash.to_vec())
    };
}

/// Appends one event. The trigger `consent_events_project` then moves the ledger head and the
/// current consent state in the same transaction.
pub(crate) const INSERT_EVENT: &str = "INSERT INTO consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

/// A group of events chained from a head: each event's record and hash, and the new head.
type GroupChain = (Vec<(EventRecord, [u8; 32])>, (i64, [u8; 32]));

/// PostgreSQL: a group of appends in one statement, each table's rows as arrays (one prepared
/// statement whatever the group's size): the events in ledger order (the chain trigger moves
/// the head row by row, so each must follow the one before), their evidence, their idempotency
/// keys and their audit rows. Data-modifying sub-statements all run, and the foreign keys
/// between them are checked at the statement's end; the statement's own transaction commits
/// them together or not at all. Returns the events written.
const APPEND_GROUP_PG: &str = "WITH ev AS (INSERT INTO consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash) SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::uuid[], $13::bigint[], $14::bytea[], $15::bytea[], $16::bytea[]) ORDER BY 1 RETURNING seq), \
evidence AS (INSERT INTO consent_evidence (event_seq, salt, content) SELECT * FROM unnest($17::bigint[], $18::bytea[], $19::text[])), \
idem AS (INSERT INTO idempotency_keys (token_id, idem_key, request_sha256, event_id, created_at) SELECT * FROM unnest($20::uuid[], $21::text[], $22::bytea[], $23::uuid[], $24::bigint[])), \
audit AS (INSERT INTO audit_events (id, at, user_id, token_id, action, target_kind, target_id, detail) SELECT * FROM unnest($25::uuid[], $26::bigint[], $27::uuid[], $28::uuid[], $29::text[], $30::text[], $31::text[], $32::text[])) \
SELECT count(*) AS appended FROM ev";

/// The head, locked until commit, with the consent types of a group ($1, their codes): one row
/// per type found, or one row with no type.
const GROUP_CONTEXT_LOCKED: &str = "SELECT h.seq AS head_seq, h.hash AS head_hash, t.code, t.id AS type_id, t.validity_days FROM ledger_head h LEFT JOIN consent_types t ON t.code = ANY($1) WHERE h.id = 1 FOR UPDATE OF h";

/// [`APPEND_GROUP_PG`] with the group's values bound; `records[i]` is `batch[i]`'s event.
fn group_statement<'q>(
    batch: &'q [PreparedAppend],
    records: &'q [(EventRecord, [u8; 32])],
) -> Result<sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>, StoreError> {
    let n = records.len();
    if batch.len() != n {
        return Err(StoreError::Corrupt(
            "a group's events and records differ in number",
        ));
    }
    let mut seq = Vec::with_capacity(n);
    let mut id = Vec::with_capacity(n);
    let mut contact = Vec::with_capacity(n);
    let mut type_id = Vec::with_capacity(n);
    let mut code = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut event_time = Vec::with_capacity(n);
    let mut recorded_at = Vec::with_capacity(n);
    let mut method = Vec::with_capacity(n);
    let mut actor_kind = Vec::with_capacity(n);
    let mut actor_id = Vec::with_capacity(n);
    let mut notice = Vec::with_capacity(n);
    let mut validity = Vec::with_capacity(n);
    let mut digest = Vec::with_capacity(n);
    let mut prev = Vec::with_capacity(n);
    let mut hashes = Vec::with_capacity(n);
    let (mut ev_seq, mut ev_salt, mut ev_content) = (Vec::new(), Vec::new(), Vec::new());
    let (mut k_token, mut k_key, mut k_sha, mut k_event, mut k_at) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut a_id, mut a_at, mut a_user, mut a_token) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut a_action, mut a_kind, mut a_target, mut a_detail) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (p, (r, hash)) in batch.iter().zip(records) {
        seq.push(r.seq);
        id.push(r.id.0);
        contact.push(r.contact_id.0);
        type_id.push(r.consent_type_id.0);
        code.push(r.type_code.as_str());
        kind.push(r.kind.code());
        event_time.push(r.event_time.as_micros());
        recorded_at.push(r.recorded_at.as_micros());
        method.push(r.method.code());
        actor_kind.push(r.actor_kind.code());
        actor_id.push(r.actor_id.as_str());
        notice.push(r.notice_id.map(|n| n.0));
        validity.push(r.validity_days.map(i64::from));
        digest.push(r.evidence_digest);
        prev.push(r.prev_hash);
        hashes.push(*hash);
        if let Some((salt, content)) = &p.evidence {
            ev_seq.push(r.seq);
            ev_salt.push(*salt);
            ev_content.push(content.as_str());
        }
        if let Some(k) = &p.key {
            k_token.push(k.token_id);
            k_key.push(k.key.as_str());
            k_sha.push(k.request_sha256);
            k_event.push(p.id.0);
            k_at.push(p.recorded_at.as_micros());
        }
        if let Some(a) = &p.audit {
            a_id.push(a.id);
            a_at.push(a.at.as_micros());
            a_user.push(a.input.user_id);
            a_token.push(a.input.token_id);
            a_action.push(a.input.action.as_str());
            a_kind.push(a.input.target_kind.as_deref());
            a_target.push(a.input.target_id.as_deref());
            a_detail.push(a.detail.as_str());
        }
    }
    Ok(sqlx::query(APPEND_GROUP_PG)
        .bind(seq)
        .bind(id)
        .bind(contact)
        .bind(type_id)
        .bind(code)
        .bind(kind)
        .bind(event_time)
        .bind(recorded_at)
        .bind(method)
        .bind(actor_kind)
        .bind(actor_id)
        .bind(notice)
        .bind(validity)
        .bind(digest)
        .bind(prev)
        .bind(hashes)
        .bind(ev_seq)
        .bind(ev_salt)
        .bind(ev_content)
        .bind(k_token)
        .bind(k_key)
        .bind(k_sha)
        .bind(k_event)
        .bind(k_at)
        .bind(a_id)
        .bind(a_at)
        .bind(a_user)
        .bind(a_token)
        .bind(a_action)
        .bind(a_kind)
        .bind(a_target)
        .bind(a_detail))
}

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
    ///
    /// Appends arriving together share one transaction (group commit, [`crate::commit`]): one
    /// durable commit for many events, each still its own link of the chain.
    pub async fn record_consent(
        &self,
        input: ConsentEventInput,
    ) -> Result<RecordedEvent, StoreError> {
        let prepared = self.prepare_append(input, None).await?;
        self.append_grouped(prepared).await
    }

    /// Records a consent event once per idempotency key: a retry with the same key and the same
    /// request (`key.request_sha256`) returns the first result and records nothing; the same key
    /// with another request is a conflict naming `Idempotency-Key`. The key is stored in the
    /// event's own transaction, so a crash cannot leave one without the other.
    pub async fn record_consent_once(
        &self,
        input: ConsentEventInput,
        key: IdempotencyKey,
    ) -> Result<(RecordedEvent, bool), StoreError> {
        if key.key.is_empty()
            || key.key.len() > 255
            || !key.key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(DomainError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
            .into());
        }
        if let Some(first) = self.replay(&key).await? {
            return Ok((first, true));
        }
        let prepared = self.prepare_append(input, Some(key.clone())).await?;
        match self.append_grouped(prepared).await {
            Ok(recorded) => Ok((recorded, false)),
            // The same key raced in from another request: the first one's answer stands.
            Err(StoreError::Conflict {
                field: "idempotency_key",
                ..
            }) => self
                .replay(&key)
                .await?
                .map(|first| (first, true))
                .ok_or(StoreError::Stale),
            Err(e) => Err(e),
        }
    }

    /// The event first recorded under `key`, if any; a conflict if the key answered another request.
    async fn replay(&self, key: &IdempotencyKey) -> Result<Option<RecordedEvent>, StoreError> {
        let found = on_read_pool!(self, pool => {
            let row = sqlx::query("SELECT k.request_sha256, e.seq, e.id, e.contact_id, e.type_code, e.kind, e.event_time, e.recorded_at, e.validity_days, e.hash FROM idempotency_keys k JOIN consent_events e ON e.id = k.event_id WHERE k.token_id = $1 AND k.idem_key = $2")
                .bind(key.token_id).bind(&key.key).fetch_optional(pool).await?;
            match row {
                Some(row) => Some((row.bytes("request_sha256")?, recorded_from(&row)?)),
                None => None,
            }
        });
        let Some((request_sha256, first)) = found else {
            return Ok(None);
        };
        if request_sha256 != key.request_sha256 {
            return Err(StoreError::conflict(
                "Idempotency-Key",
                "this key was already used for a different request",
            ));
        }
        Ok(Some(first))
    }

    /// Checks an event's input and fixes what does not depend on the ledger's head: its id, its
    /// instants, its contact, the evidence's salt.
    async fn prepare_append(
        &self,
        input: ConsentEventInput,
        key: Option<IdempotencyKey>,
    ) -> Result<PreparedAppend, StoreError> {
        let now = self.now();
        let event_time = input.event_time.unwrap_or(now);
        consento_domain::consent::check_event_time(event_time, now)?;
        let code = ConsentCode::parse(&input.type_code)?;
        let contact_id = self.contact_key(&input.contact).await?;
        crate::audit::set_target_id("contact", contact_id.0);
        let evidence = input
            .evidence
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        // Evidence may be a transcript or a pasted message: several lines, no other controls.
        if let Some(e) = &evidence {
            check("evidence", e, Lines::Many)?;
        }
        if let Some(v) = &input.notice_version {
            check("notice_version", v, Lines::One)?;
        }
        if evidence.as_ref().is_some_and(|e| e.len() > 16_384) {
            return Err(DomainError::invalid("evidence", "must be at most 16 KiB").into());
        }
        // A salt only where there is evidence to digest: one read of the random source less.
        let evidence = match evidence {
            Some(text) => Some((self.random::<32>()?, text)),
            None => None,
        };
        Ok(PreparedAppend {
            id: EventId(self.new_uuid(now)?),
            contact_id,
            code,
            kind: input.kind,
            event_time,
            recorded_at: now,
            method: input.method,
            actor: input.actor,
            notice_version: input.notice_version,
            evidence,
            key,
            audit: crate::audit::take_pending()
                .map(|entry| self.audit_row(entry))
                .transpose()?,
        })
    }

    /// Appends one prepared event on its own: a single INSERT from what the cache knows when
    /// there is nothing else to write with it, else a transaction under the head's lock.
    pub(crate) async fn append_one(
        &self,
        cache: &mut AppendCache,
        p: &PreparedAppend,
    ) -> Result<RecordedEvent, StoreError> {
        let notice_version = p.notice_version.as_deref();
        // First from what this process knows: one statement, which the chain trigger refuses if
        // another writer appended (or changed the type) since.
        let cached = cache.head.zip(cache.types.get(p.code.as_str()).copied());
        let notice_cached = notice_version.is_none_or(|v| cache.notices.contains_key(v));
        let (head, ty) = match cached {
            Some(c) if notice_cached => c,
            _ => {
                self.refresh_append_cache(cache, p.code.as_str(), notice_version)
                    .await?
            }
        };
        let notice_id = notice_version.and_then(|v| cache.notices.get(v).copied());
        // Without evidence or a key the append is that one statement; they go with their event
        // in one transaction, under the lock below.
        if p.is_bare() {
            let record = p.record(head, ty, notice_id);
            let hash = record.hash();
            let first = match &self.db {
                Db::Sqlite { write, .. } => {
                    bind_event!(record, hash).execute(write).await.map(drop)
                }
                Db::Postgres(pool) => bind_event!(record, hash).execute(pool).await.map(drop),
            };
            match first.map_err(StoreError::from) {
                Ok(_) => {
                    cache.head = Some((record.seq, hash));
                    return Ok(p.recorded(&record, &hash));
                }
                // Another writer got there first: append under the head's lock, so that a busy
                // writer elsewhere cannot make this one lose race after race.
                Err(StoreError::Stale) => cache.invalidate(),
                // The only reference the store did not check itself is the contact.
                Err(StoreError::NotFound { .. }) => return Err(StoreError::not_found("contact")),
                Err(e) => return Err(e),
            }
        }
        let context_sql = match self.backend() {
            Backend::Sqlite => APPEND_CONTEXT,
            Backend::Postgres => APPEND_CONTEXT_LOCKED,
        };
        let mut last = StoreError::Stale;
        // The lock holds the head still; a retry is left only for a type changed mid-way.
        for _ in 0..LOCKED_ATTEMPTS {
            let attempt: Result<(EventRecord, [u8; 32]), StoreError> = async {
                Ok(in_write_tx!(self, tx => {
                    let row = sqlx::query(context_sql).bind(p.code.as_str()).bind(notice_version).fetch_one(&mut *tx).await?;
                    let head = (row.int("head_seq")?, hash32(row.bytes("head_hash")?)?);
                    let type_id = row.opt_uuid("type_id")?.ok_or_else(|| StoreError::not_found("consent type"))?;
                    let ty = (ConsentTypeId(type_id), validity_from(row.opt_int("validity_days")?)?);
                    let notice_id = row.opt_uuid("notice_id")?.map(NoticeId);
                    if notice_version.is_some() && notice_id.is_none() {
                        return Err(StoreError::not_found("privacy notice version"));
                    }
                    let record = p.record(head, ty, notice_id);
                    let hash = record.hash();
                    bind_event!(record, hash).execute(&mut *tx).await?;
                    if let Some((salt, content)) = &p.evidence {
                        sqlx::query("INSERT INTO consent_evidence (event_seq, salt, content) VALUES ($1, $2, $3)")
                            .bind(record.seq).bind(salt.to_vec()).bind(content)
                            .execute(&mut *tx).await?;
                    }
                    if let Some(key) = &p.key {
                        sqlx::query("INSERT INTO idempotency_keys (token_id, idem_key, request_sha256, event_id, created_at) VALUES ($1, $2, $3, $4, $5)")
                            .bind(key.token_id).bind(&key.key).bind(key.request_sha256.to_vec()).bind(p.id.0).bind(p.recorded_at.as_micros())
                            .execute(&mut *tx).await.map_err(idempotency_conflict)?;
                    }
                    if let Some(row) = &p.audit {
                        crate::users::insert_audit!(tx, row.id, row.at, row.input, row.detail.as_str());
                    }
                    (record, hash)
                }))
            }
            .await;
            match attempt {
                Ok((record, hash)) => {
                    cache.head = Some((record.seq, hash));
                    return Ok(p.recorded(&record, &hash));
                }
                Err(StoreError::Stale) => last = StoreError::Stale,
                Err(StoreError::NotFound {
                    entity: "referenced record",
                }) => return Err(StoreError::not_found("contact")),
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Makes sure the cache knows the head and every type and notice version `batch` names,
    /// reading what it lacks.
    async fn know_group(
        &self,
        cache: &mut AppendCache,
        batch: &[PreparedAppend],
    ) -> Result<(), StoreError> {
        for p in batch {
            let known = cache.head.is_some()
                && cache.types.contains_key(p.code.as_str())
                && p.notice_version
                    .as_deref()
                    .is_none_or(|v| cache.notices.contains_key(v));
            if !known {
                self.refresh_append_cache(cache, p.code.as_str(), p.notice_version.as_deref())
                    .await?;
            }
        }
        Ok(())
    }

    /// Chains `batch` one event after the other from `head`, with the types and notices the
    /// cache knows: each event's record and hash, in the batch's order, and the new head.
    fn chain_group(
        cache: &AppendCache,
        mut head: (i64, [u8; 32]),
        batch: &[PreparedAppend],
    ) -> Result<GroupChain, StoreError> {
        let mut records = Vec::with_capacity(batch.len());
        for p in batch {
            let ty = *cache.types.get(p.code.as_str()).ok_or(StoreError::Stale)?;
            let notice_id = p
                .notice_version
                .as_deref()
                .and_then(|v| cache.notices.get(v).copied());
            let record = p.record(head, ty, notice_id);
            let hash = record.hash();
            head = (record.seq, hash);
            records.push((record, hash));
        }
        Ok((records, head))
    }

    /// Appends several prepared events in one transaction, chained one after the other from the
    /// cached head: one multi-row INSERT per table and one commit. Any failure leaves nothing
    /// written; the caller then appends them one by one, so one bad event fails alone. (SQLite:
    /// PostgreSQL writes a group with [`Store::append_group_pg`].)
    pub(crate) async fn append_many(
        &self,
        cache: &mut AppendCache,
        batch: &[PreparedAppend],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.know_group(cache, batch).await?;
        let (records, head) =
            Self::chain_group(cache, cache.head.ok_or(StoreError::Stale)?, batch)?;
        let result: Result<(), StoreError> = async {
            in_write_tx!(self, tx, DB => {
                let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash) ");
                push_event_values!(qb, &records, (r, hash) => r, hash);
                qb.build().execute(&mut *tx).await?;
                // records[i] is batch[i]'s event, chained in the same order.
                let evidence: Vec<(i64, &PreparedAppend)> = batch.iter().zip(&records).filter(|(p, _)| p.evidence.is_some()).map(|(p, (r, _))| (r.seq, p)).collect();
                if !evidence.is_empty() {
                    let mut qb = sqlx::QueryBuilder::<DB>::new(INSERT_EVIDENCE);
                    qb.push_values(&evidence, |mut b, (seq, p)| {
                        if let Some((salt, content)) = &p.evidence {
                            b.push_bind(*seq).push_bind(salt.to_vec()).push_bind(content.clone());
                        }
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                let keyed: Vec<(&PreparedAppend, &IdempotencyKey)> = batch.iter().filter_map(|p| p.key.as_ref().map(|k| (p, k))).collect();
                if !keyed.is_empty() {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO idempotency_keys (token_id, idem_key, request_sha256, event_id, created_at) ");
                    qb.push_values(&keyed, |mut b, (p, k)| {
                        b.push_bind(k.token_id).push_bind(k.key.clone()).push_bind(k.request_sha256.to_vec()).push_bind(p.id.0).push_bind(p.recorded_at.as_micros());
                    });
                    qb.build().execute(&mut *tx).await.map_err(idempotency_conflict)?;
                }
                let audited: Vec<&crate::audit::AuditRow> = batch.iter().filter_map(|p| p.audit.as_ref()).collect();
                if !audited.is_empty() {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO audit_events (id, at, user_id, token_id, action, target_kind, target_id, detail) ");
                    qb.push_values(&audited, |mut b, row| {
                        b.push_bind(row.id).push_bind(row.at.as_micros()).push_bind(row.input.user_id).push_bind(row.input.token_id)
                            .push_bind(row.input.action.clone()).push_bind(row.input.target_kind.clone()).push_bind(row.input.target_id.clone())
                            .push_bind(row.detail.clone());
                    });
                    qb.build().execute(&mut *tx).await?;
                }
            });
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                cache.head = Some(head);
                Ok(batch
                    .iter()
                    .zip(&records)
                    .map(|(p, (r, hash))| p.recorded(r, hash))
                    .collect())
            }
            Err(e) => {
                cache.invalidate();
                Err(e)
            }
        }
    }

    /// Appends a group of prepared events on PostgreSQL (one or more), chained one after the
    /// other from the cached head, in one statement that commits on its own: one round trip and
    /// one durable commit for the whole group, whatever its size. When another process moved
    /// the head (or changed a type) since this one cached it, the chain trigger refuses the
    /// statement and the group is written again under the head's row lock, which holds every
    /// other writer of the database back until it commits. Any other failure leaves nothing
    /// written; the caller then appends the events one by one, so one bad event fails alone.
    pub(crate) async fn append_group_pg(
        &self,
        cache: &mut AppendCache,
        batch: &[PreparedAppend],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Err(StoreError::Corrupt(
                "a PostgreSQL group append on another database",
            ));
        };
        self.know_group(cache, batch).await?;
        let first = match Self::chain_group(cache, cache.head.ok_or(StoreError::Stale)?, batch) {
            Ok((records, head)) => {
                let written = group_statement(batch, &records)?.fetch_one(pool).await;
                match written.map_err(StoreError::from) {
                    Ok(_) => Ok((records, head)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let (records, head) = match first {
            Ok(done) => done,
            Err(StoreError::Stale) => {
                cache.invalidate();
                let mut last = StoreError::Stale;
                let mut done = None;
                // Under the lock the head stays still: a retry is left only for a type changed
                // between reading it and inserting.
                for _ in 0..LOCKED_ATTEMPTS {
                    match self.append_group_locked(pool, cache, batch).await {
                        Ok(d) => {
                            done = Some(d);
                            break;
                        }
                        Err(StoreError::Stale) => {
                            cache.invalidate();
                            last = StoreError::Stale;
                        }
                        Err(e) => {
                            cache.invalidate();
                            return Err(e);
                        }
                    }
                }
                done.ok_or(last)?
            }
            Err(e) => {
                cache.invalidate();
                return Err(e);
            }
        };
        cache.head = Some(head);
        Ok(batch
            .iter()
            .zip(&records)
            .map(|(p, (r, hash))| p.recorded(r, hash))
            .collect())
    }

    /// [`Store::append_group_pg`] under the head's row lock, with the head and the group's
    /// types read in the same transaction.
    async fn append_group_locked(
        &self,
        pool: &sqlx::PgPool,
        cache: &mut AppendCache,
        batch: &[PreparedAppend],
    ) -> Result<GroupChain, StoreError> {
        let mut codes: Vec<&str> = batch.iter().map(|p| p.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        let mut tx = pool.begin().await?;
        let rows = sqlx::query(GROUP_CONTEXT_LOCKED)
            .bind(&codes)
            .fetch_all(&mut *tx)
            .await?;
        let mut head = None;
        for row in &rows {
            head = Some((row.int("head_seq")?, hash32(row.bytes("head_hash")?)?));
            if let (Some(code), Some(id)) = (row.opt_text("code")?, row.opt_uuid("type_id")?) {
                let validity = validity_from(row.opt_int("validity_days")?)?;
                cache.types.insert(code, (ConsentTypeId(id), validity));
            }
        }
        let head = head.ok_or(StoreError::Corrupt("the ledger head is missing"))?;
        if codes.iter().any(|c| !cache.types.contains_key(*c)) {
            return Err(StoreError::not_found("consent type"));
        }
        cache.head = Some(head);
        let (records, head) = Self::chain_group(cache, head, batch)?;
        group_statement(batch, &records)?
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((records, head))
    }

    /// Reads the head, the type and the notice into the cache and returns the first two.
    async fn refresh_append_cache(
        &self,
        cache: &mut AppendCache,
        code: &str,
        notice_version: Option<&str>,
    ) -> Result<((i64, [u8; 32]), (ConsentTypeId, Option<u32>)), StoreError> {
        let (head, ty, notice) = on_read_pool!(self, pool => {
            let row = sqlx::query(APPEND_CONTEXT).bind(code).bind(notice_version).fetch_one(pool).await?;
            let head = (row.int("head_seq")?, hash32(row.bytes("head_hash")?)?);
            let ty = match row.opt_uuid("type_id")? {
                Some(id) => Some((ConsentTypeId(id), validity_from(row.opt_int("validity_days")?)?)),
                None => None,
            };
            (head, ty, row.opt_uuid("notice_id")?.map(NoticeId))
        });
        let ty = ty.ok_or_else(|| StoreError::not_found("consent type"))?;
        if let Some(version) = notice_version {
            let notice = notice.ok_or_else(|| StoreError::not_found("privacy notice version"))?;
            cache.notices.insert(version.to_owned(), notice);
        }
        cache.head = Some(head);
        cache.types.insert(code.to_owned(), ty);
        Ok((head, ty))
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
            // The contact's flags ride along on every line (one read): rules 1–3 suspend them all.
            sqlx::query(
                "SELECT t.id, t.code, t.title, t.allow_email_bulk, t.allow_email_single, t.allow_phone_call, t.allow_sms_single, t.allow_sms_bulk, s.kind, s.granted, s.event_time, s.valid_until, c.erased_at, c.restricted_at, c.objected_at FROM consent_types t LEFT JOIN consent_state s ON s.consent_type_id = t.id AND s.contact_id = $1 LEFT JOIN contacts c ON c.id = $1 ORDER BY t.title, t.code",
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
                    suspended_by: consento_domain::suspension(&ContactStatus {
                        erased_at: row.opt_int("erased_at")?.map(Timestamp::from_micros),
                        restricted_since: row.opt_int("restricted_at")?.map(Timestamp::from_micros),
                        objected_since: row.opt_int("objected_at")?.map(Timestamp::from_micros),
                        ..ContactStatus::default()
                    }),
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
        // On SQLite, straight on a plain connection: sqlx hands each row across a channel from
        // its worker thread, which cost 7 µs a row (74 ms for a contact with 10,000 events,
        // against an export budget of 50 ms); the statement is the same, only the driver differs.
        if let Some(fast) = &self.fast {
            return fast.query(
                HISTORY,
                crate::fastread::Param::Blob(id.0.as_bytes()),
                |rows| rows.iter().map(history_entry).collect(),
            );
        }
        on_read_pool!(self, pool => {
            sqlx::query(HISTORY)
                .bind(id.0)
                .fetch_all(pool)
                .await?
                .iter()
                .map(history_entry)
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

/// A contact's consent history with its proof, in ledger order. $1 the contact.
const HISTORY: &str = "SELECT e.seq, e.id, e.type_code, e.kind, e.event_time, e.recorded_at, e.method, e.actor_kind, e.actor_id, n.version AS notice_version, e.validity_days, v.content AS evidence, e.hash FROM consent_events e LEFT JOIN privacy_notices n ON n.id = e.notice_id LEFT JOIN consent_evidence v ON v.event_seq = e.seq WHERE e.contact_id = $1 ORDER BY e.seq";

/// One row of [`HISTORY`].
fn history_entry(row: &impl Cols) -> Result<HistoryEntry, StoreError> {
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
}
