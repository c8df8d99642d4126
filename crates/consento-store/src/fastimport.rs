//! The writer of an import on SQLite: a plain SQLite connection of its own, on a thread of its
//! own, in one `BEGIN IMMEDIATE` transaction for the whole file, writing line by line with
//! statements prepared once and reused for every row. It owns the SQLite side of what
//! [`crate::Store::import_rows`] promises: matching, skipping, chaining and projecting exactly as
//! the PostgreSQL path and single appends do.
//!
//! Why not sqlx: sqlx runs each SQLite connection on a worker thread and hands every statement
//! across a channel (≈ 100 µs a statement, and slow binds), and its multi-row INSERTs make
//! SQLite keep a statement journal of every page they touch. Here a line costs what SQLite's
//! own b-tree work costs.
//!
//! What makes that work small:
//! - the ids of the contacts and events an import creates ascend ([`AscendingIds`]), so every
//!   index keyed by them (the contacts, the ledger's ids and contacts, the evidence, the current
//!   states) grows at its right edge, in full pages, instead of at random places: the working
//!   set stays in the cache however long the file, and the file stays compact;
//! - the per-row triggers of the ledger are replaced inside the transaction by checks made once
//!   and a projection per chunk (see [`ready`]);
//! - foreign keys are not checked row by row (`PRAGMA foreign_keys` is off on this connection,
//!   which it can only be outside a transaction): every reference an import writes is one this
//!   transaction has just read or written (see [`Writer`]), and a set-based check per chunk
//!   ([`ORPHANS`]) refuses the import if that ever stopped being true.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use consento_domain::import::ImportRow;
use consento_domain::ledger::{EventRecord, evidence_digest};
use consento_domain::{ContactId, DomainError, EventId, LegalBasis, Timestamp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Statement, TransactionBehavior};

use crate::bulk::{INSERT_CONTACT, INSERT_EMAIL, INSERT_EVIDENCE, INSERT_PHONE};
use crate::import::{EventMaker, ImportChunk, ImportProgress};
use crate::{Entropy, StoreError};

/// Where and how the import's connection opens the database.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The database file.
    pub(crate) path: PathBuf,
    /// `synchronous = FULL` (as the store's own connections), else NORMAL.
    pub(crate) full_sync: bool,
}

/// Everything the writing thread needs, owned (it outlives no borrow of the store).
pub(crate) struct Job {
    pub(crate) target: Target,
    pub(crate) suppression_key: [u8; 32],
    pub(crate) entropy: Arc<dyn Entropy>,
    pub(crate) now: Timestamp,
    pub(crate) events: EventMaker,
    pub(crate) progress: Arc<ImportProgress>,
}

/// The page cache of the import's connection, in KiB (negative: a size, not a page count).
/// With ascending ids only the indexes keyed by the file's own values (external ids,
/// addresses, numbers) are written at random places; this bound keeps them in memory for
/// millions of lines. A bound, not a growth: memory stays flat whatever the file's length.
const IMPORT_CACHE_KIB: i64 = 262_144;

/// The ledger triggers an import does set-based instead of row by row.
const CHAIN_TRIGGERS: &str = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND ((tbl_name = 'consent_events' AND name IN ('consent_events_chain', 'consent_events_project', 'consent_events_webhooks')) OR (tbl_name = 'consent_state' AND name IN ('decision_changes_state', 'decision_changes_state_new'))) ORDER BY name";

/// The projection of `consent_events_project` (migration 0001) over the events of seq in
/// ($1, $2], in ledger order: the same upsert, so consent_state ends as the trigger leaves it.
const PROJECT_RANGE: &str = "INSERT INTO consent_state (contact_id, consent_type_id, kind, granted, event_seq, event_time, valid_until) SELECT contact_id, consent_type_id, kind, kind IN ('given', 'renewed'), seq, event_time, CASE WHEN kind IN ('given', 'renewed') THEN COALESCE(event_time + validity_days * 86400000000, 9223372036854775807) ELSE event_time END FROM consent_events WHERE seq > $1 AND seq <= $2 ORDER BY seq ON CONFLICT (contact_id, consent_type_id) DO UPDATE SET kind = excluded.kind, granted = excluded.granted, event_seq = excluded.event_seq, event_time = excluded.event_time, valid_until = excluded.valid_until WHERE excluded.event_time >= consent_state.event_time";

/// The events of seq in ($1, $2] whose contact or consent type is missing: what the foreign
/// keys of consent_events would have refused, checked per chunk on the rows just written (in
/// the cache). The channels, the evidence and the projection reference only those events and
/// the contacts created with them, by the same ids.
const ORPHANS: &str = "SELECT count(*) FROM consent_events e WHERE e.seq > $1 AND e.seq <= $2 AND (NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = e.contact_id) OR NOT EXISTS (SELECT 1 FROM consent_types t WHERE t.id = e.consent_type_id))";

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!("sqlite: {e}")))
}

/// Ids for the rows an import creates: UUIDv7 of the import's instant whose 74 random bits
/// ascend, each the previous one plus a random step of 1 to 2^32 (RFC 9562 §6.2, method 2,
/// "monotonic random"), starting from a random point in the lower quarter of the range, so a
/// run of 2^40 ids cannot overflow. Random ids of one instant would land all over every index
/// keyed by them.
pub(crate) struct AscendingIds {
    millis: u128,
    last: u128,
}

impl AscendingIds {
    const RANDOM_BITS: u32 = 74;

    pub(crate) fn new(at: Timestamp, entropy: &dyn Entropy) -> Result<Self, StoreError> {
        let mut start = [0u8; 16];
        entropy.fill(&mut start)?;
        let millis = u128::try_from(at.as_micros() / 1_000).unwrap_or(0) & ((1 << 48) - 1);
        Ok(Self {
            millis,
            last: u128::from_be_bytes(start) >> (128 - (Self::RANDOM_BITS - 2)),
        })
    }

    /// The next `n` ids, ascending after the ones before.
    pub(crate) fn take(
        &mut self,
        n: usize,
        entropy: &dyn Entropy,
    ) -> Result<Vec<uuid::Uuid>, StoreError> {
        let mut steps = vec![0u8; 4 * n];
        entropy.fill(&mut steps)?;
        let mut ids = Vec::with_capacity(n);
        for step in steps.chunks_exact(4) {
            let step = u32::from_be_bytes([step[0], step[1], step[2], step[3]]);
            self.last += 1 + u128::from(step);
            if self.last >> Self::RANDOM_BITS != 0 {
                return Err(StoreError::Entropy);
            }
            let rand_a = (self.last >> 62) & 0xFFF;
            let rand_b = self.last & ((1 << 62) - 1);
            ids.push(uuid::Uuid::from_u128(
                (self.millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b,
            ));
        }
        Ok(ids)
    }
}

/// Runs the import: reads `rx` to its end and commits when [`ImportChunk::Commit`] arrives,
/// else writes nothing. Called on a blocking thread.
pub(crate) fn run(
    job: Job,
    mut rx: tokio::sync::mpsc::Receiver<ImportChunk>,
) -> Result<(), StoreError> {
    let mut conn = Connection::open_with_flags(
        &job.target.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error)?;
    // As the store's own connections (lib.rs), but: foreign keys checked per chunk (above), no
    // checkpoint inside the commit (the store's checkpoint thread does it), and the cache above.
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF; PRAGMA synchronous = {}; PRAGMA secure_delete = ON; PRAGMA temp_store = memory; PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -{IMPORT_CACHE_KIB};",
        if job.target.full_sync { "FULL" } else { "NORMAL" }
    ))
    .map_err(sqlite_error)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;
    // The head is this import's until it commits: BEGIN IMMEDIATE holds SQLite's one write lock.
    let (seq, hash): (i64, Vec<u8>) = tx
        .query_row("SELECT seq, hash FROM ledger_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(sqlite_error)?;
    let prev = crate::row::hash32(hash)?;
    let restore = ready(&tx, &job.events)?;
    let mut writer = Writer::new(&tx, &job, seq, prev)?;
    let mut committed = false;
    while let Some(message) = rx.blocking_recv() {
        match message {
            ImportChunk::Commit => {
                committed = true;
                break;
            }
            ImportChunk::Rows(rows) => writer.chunk(&rows)?,
        }
    }
    let (seq, prev) = (writer.seq, writer.prev);
    drop(writer);
    if !committed {
        // Rolled back as the transaction is dropped: a bad line anywhere writes nothing.
        return Err(
            DomainError::invalid("file", "the file has errors: nothing was imported").into(),
        );
    }
    tx.execute(
        "UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1",
        rusqlite::params![seq, prev.as_slice()],
    )
    .map_err(sqlite_error)?;
    // The decision change log's per-row triggers on consent_state were dropped with the
    // ledger's: one row for everyone instead, so that every process forgets what it remembered
    // of the decisions an import may have changed (migration 0017).
    tx.execute(
        "INSERT INTO decision_changes (contact_id) VALUES (NULL)",
        [],
    )
    .map_err(sqlite_error)?;
    for sql in restore {
        tx.execute_batch(&sql).map_err(sqlite_error)?;
    }
    tx.commit().map_err(sqlite_error)
}

/// Readies the import's transaction and returns the SQL that recreates the triggers it dropped
/// (run before commit).
///
/// The per-row triggers on consent_events cost most of an import's time; inside the import's
/// one transaction they are replaced by checks made once and a projection made per chunk, with
/// the same outcome:
/// - the chain check (`consent_events_chain`): the head was taken in this transaction, which
///   holds SQLite's one write lock, and the writer chains every event from it;
/// - the consent type check: made here once for every type of the mapping;
/// - the erased check: the contacts are matched (with their erasure) in this transaction, and
///   erased people are skipped (GDPR Art. 17);
/// - the projection into consent_state: [`PROJECT_RANGE`] per chunk, and the head at the end;
/// - the decision change log on consent_state (migration 0017): one row for everyone at the end;
/// - the webhook emission: dropped only when no subscription is active (the trigger would emit
///   nothing); with one it stays and emits row by row as for any append.
///
/// SQLite's DDL is transactional: a failed or abandoned import rolls the DROP back with
/// everything else, and other connections never see the ledger without its triggers.
fn ready(tx: &Connection, events: &EventMaker) -> Result<Vec<String>, StoreError> {
    for (id, validity, code) in &events.types {
        let current: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM consent_types WHERE id = $1 AND code = $2 AND validity_days IS $3",
                rusqlite::params![id.0.as_bytes().as_slice(), code, validity.map(i64::from)],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite_error)?;
        if current.is_none() {
            return Err(StoreError::Stale);
        }
    }
    let webhooks: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active)",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite_error)?;
    let mut triggers: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = tx.prepare(CHAIN_TRIGGERS).map_err(sqlite_error)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sqlite_error)?;
        for row in rows {
            triggers.push(row.map_err(sqlite_error)?);
        }
    }
    let mut restore = Vec::new();
    for (name, sql) in triggers {
        if webhooks && name == "consent_events_webhooks" {
            continue;
        }
        tx.execute_batch(&format!("DROP TRIGGER {name}"))
            .map_err(sqlite_error)?;
        restore.push(sql);
    }
    if restore.len() < 2 {
        return Err(StoreError::Corrupt("ledger triggers"));
    }
    Ok(restore)
}

/// "VALUES ($1, …, $n)".
fn values(n: usize) -> String {
    let list: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!("VALUES ({})", list.join(", "))
}

/// A contact already in the database: its id and whether it was erased.
type Found = (uuid::Uuid, bool);

/// The statements of the run, prepared once, and where the chain is.
///
/// Every reference it writes is one it has just read or written in this transaction: a line's
/// contact is one its lookups found or one it created; its channels and events name that
/// contact; each evidence row names the event inserted just before it; consent types were
/// checked by [`ready`]. That is why the foreign keys are not checked row by row.
struct Writer<'c> {
    job: &'c Job,
    suppressed: Statement<'c>,
    by_external: Statement<'c>,
    by_email: Statement<'c>,
    by_phone: Statement<'c>,
    has_event: Statement<'c>,
    contact: Statement<'c>,
    email: Statement<'c>,
    phone: Statement<'c>,
    event: Statement<'c>,
    evidence: Statement<'c>,
    project: Statement<'c>,
    orphans: Statement<'c>,
    /// Whether the suppression list has any entry: nothing but this transaction, which holds
    /// the write lock and adds none, could change that, so an empty list is not searched.
    any_suppressed: bool,
    contact_ids: AscendingIds,
    event_ids: AscendingIds,
    seq: i64,
    prev: [u8; 32],
}

impl<'c> Writer<'c> {
    fn new(tx: &'c Connection, job: &'c Job, seq: i64, prev: [u8; 32]) -> Result<Self, StoreError> {
        let p = |sql: &str| tx.prepare(sql).map_err(sqlite_error);
        Ok(Self {
            job,
            suppressed: p("SELECT 1 FROM suppression WHERE hash = $1")?,
            by_external: p(
                "SELECT id, erased_at IS NOT NULL FROM contacts WHERE external_id = $1",
            )?,
            by_email: p(
                "SELECT c.id, c.erased_at IS NOT NULL FROM contact_emails e JOIN contacts c ON c.id = e.contact_id WHERE e.email = $1",
            )?,
            by_phone: p(
                "SELECT c.id, c.erased_at IS NOT NULL FROM contact_phones p JOIN contacts c ON c.id = p.contact_id WHERE p.phone = $1",
            )?,
            has_event: p(
                "SELECT 1 FROM consent_events WHERE contact_id = $1 AND consent_type_id = $2 AND event_time = $3 AND kind = $4",
            )?,
            contact: p(&format!("{INSERT_CONTACT}{}", values(14)))?,
            email: p(&format!("{INSERT_EMAIL}{}", values(3)))?,
            phone: p(&format!("{INSERT_PHONE}{}", values(3)))?,
            event: p(crate::ledger::INSERT_EVENT)?,
            evidence: p(&format!("{INSERT_EVIDENCE}{}", values(4)))?,
            project: p(PROJECT_RANGE)?,
            orphans: p(ORPHANS)?,
            any_suppressed: tx
                .query_row("SELECT EXISTS (SELECT 1 FROM suppression)", [], |r| {
                    r.get(0)
                })
                .map_err(sqlite_error)?,
            contact_ids: AscendingIds::new(job.now, job.entropy.as_ref())?,
            event_ids: AscendingIds::new(job.now, job.entropy.as_ref())?,
            seq,
            prev,
        })
    }

    /// The first known contact with one of `keys`, looked up with `stmt`.
    fn find<'k>(
        stmt: &mut Statement<'c>,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<Option<Found>, StoreError> {
        for k in keys {
            let found = stmt
                .query_row([k], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, bool>(1)?)))
                .optional()
                .map_err(sqlite_error)?;
            if let Some((id, erased)) = found {
                let id =
                    uuid::Uuid::from_slice(&id).map_err(|_| StoreError::Corrupt("contact id"))?;
                return Ok(Some((id, erased)));
            }
        }
        Ok(None)
    }

    /// Writes one chunk of lines, in file order.
    fn chunk(&mut self, rows: &[ImportRow]) -> Result<(), StoreError> {
        let job = self.job;
        let key = &job.suppression_key;
        let first_seq = self.seq;
        let mut new_ids = self
            .contact_ids
            .take(rows.len(), job.entropy.as_ref())?
            .into_iter();
        let n_events: usize = rows.iter().map(|r| r.consents.len()).sum();
        let mut event_ids = self
            .event_ids
            .take(n_events, job.entropy.as_ref())?
            .into_iter()
            .map(EventId);
        let mut salts = vec![0u8; 32 * n_events];
        job.entropy.fill(&mut salts)?;
        let mut salts = salts.chunks_exact(32);
        let (mut written, mut created, mut matched, mut skipped, mut events) =
            (0usize, 0usize, 0usize, 0usize, 0usize);
        for r in rows {
            // 1. The suppression list, by keyed hash of every address and number.
            let email_hashes = r
                .emails
                .iter()
                .map(|e| crate::contacts::keyed_hash(key, "email", e.as_str()))
                .collect::<Result<Vec<_>, _>>()?;
            let phone_hashes = r
                .phones
                .iter()
                .map(|p| crate::contacts::keyed_hash(key, "phone", p.as_str()))
                .collect::<Result<Vec<_>, _>>()?;
            let mut suppressed = false;
            for h in email_hashes
                .iter()
                .chain(&phone_hashes)
                .filter(|_| self.any_suppressed)
            {
                if self
                    .suppressed
                    .exists([h.as_slice()])
                    .map_err(sqlite_error)?
                {
                    suppressed = true;
                    break;
                }
            }
            if suppressed {
                skipped += 1;
                continue;
            }
            // 2. The known contact by external id, then email, then phone: earlier lines of the
            // file are in the database already (this transaction wrote them).
            let mut found = Self::find(&mut self.by_external, r.external_id.as_deref())?;
            if found.is_none() {
                found = Self::find(&mut self.by_email, r.emails.iter().map(|e| e.as_str()))?;
            }
            if found.is_none() {
                found = Self::find(&mut self.by_phone, r.phones.iter().map(|p| p.as_str()))?;
            }
            let (contact_id, known) = match found {
                // An erased person is never brought back (GDPR Art. 17).
                Some((_, true)) => {
                    skipped += 1;
                    continue;
                }
                Some((id, false)) => {
                    matched += 1;
                    (ContactId(id), true)
                }
                None => {
                    let id = new_ids.next().ok_or(StoreError::Entropy)?;
                    self.insert_contact(r, id, email_hashes.first(), phone_hashes.first())?;
                    created += 1;
                    (ContactId(id), false)
                }
            };
            written += 1;
            // 3. The line's events, chained from the head. An event the contact already has
            // (same type, kind and time) is not recorded again, so a re-import adds nothing; a
            // contact this line created has only the line's own events.
            let mut own: HashSet<(usize, i64, &str)> = HashSet::new();
            for c in &r.consents {
                let Some((type_id, _, _)) = job.events.types.get(c.type_index) else {
                    continue;
                };
                let time = c.event_time.as_micros();
                let repeated = if known {
                    self.has_event
                        .exists(rusqlite::params![
                            contact_id.0.as_bytes().as_slice(),
                            type_id.0.as_bytes().as_slice(),
                            time,
                            c.kind.code()
                        ])
                        .map_err(sqlite_error)?
                } else {
                    !own.insert((c.type_index, time, c.kind.code()))
                };
                if repeated {
                    continue;
                }
                let (Some(id), Some(salt)) = (event_ids.next(), salts.next()) else {
                    break;
                };
                let mut s = [0u8; 32];
                s.copy_from_slice(salt);
                let text = job.events.evidence(r.line);
                let digest = evidence_digest(&s, &text);
                let Some(record) =
                    job.events
                        .record(self.seq + 1, id, contact_id, c, digest, self.prev)
                else {
                    continue;
                };
                let hash = record.hash();
                self.insert_event(&record, &hash, &s, &text)?;
                self.seq = record.seq;
                self.prev = hash;
                events += 1;
            }
        }
        if events > 0 {
            // The projection the trigger would have made, event by event in ledger order (ORDER
            // BY seq): an older backdated event does not override a newer state.
            self.project
                .execute([first_seq, self.seq])
                .map_err(sqlite_error)?;
            let orphans: i64 = self
                .orphans
                .query_row([first_seq, self.seq], |r| r.get(0))
                .map_err(sqlite_error)?;
            if orphans != 0 {
                return Err(StoreError::Corrupt(
                    "an imported event names a missing contact or consent type",
                ));
            }
        }
        let p = &job.progress;
        ImportProgress::add(&p.rows_written, written);
        ImportProgress::add(&p.contacts_created, created);
        ImportProgress::add(&p.contacts_matched, matched);
        ImportProgress::add(&p.skipped_suppressed, skipped);
        ImportProgress::add(&p.events_written, events);
        Ok(())
    }

    fn insert_contact(
        &mut self,
        r: &ImportRow,
        id: uuid::Uuid,
        email_hash: Option<&Vec<u8>>,
        phone_hash: Option<&Vec<u8>>,
    ) -> Result<(), StoreError> {
        let job = self.job;
        let now = job.now.as_micros();
        let attributes: serde_json::Map<String, serde_json::Value> = r
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let source = r.source.as_deref().unwrap_or(&job.events.source);
        self.contact
            .execute(rusqlite::params![
                id.as_bytes().as_slice(),
                r.external_id,
                r.name,
                r.emails.first().map(|e| e.as_str()),
                email_hash.map(Vec::as_slice),
                r.phones.first().map(|p| p.as_str()),
                phone_hash.map(Vec::as_slice),
                serde_json::Value::Object(attributes).to_string(),
                source,
                r.legal_basis.map(LegalBasis::code),
                serde_json::Value::from(r.purposes.clone()).to_string(),
                now,
                now,
                r.name.as_deref().map(consento_domain::fold_for_search),
            ])
            .map_err(sqlite_error)?;
        for (i, e) in r.emails.iter().enumerate() {
            self.email
                .execute(rusqlite::params![
                    e.as_str(),
                    id.as_bytes().as_slice(),
                    i as i64
                ])
                .map_err(sqlite_error)?;
        }
        for (i, p) in r.phones.iter().enumerate() {
            self.phone
                .execute(rusqlite::params![
                    p.as_str(),
                    id.as_bytes().as_slice(),
                    i as i64
                ])
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    fn insert_event(
        &mut self,
        r: &EventRecord,
        hash: &[u8; 32],
        salt: &[u8; 32],
        evidence: &str,
    ) -> Result<(), StoreError> {
        self.event
            .execute(rusqlite::params![
                r.seq,
                r.id.0.as_bytes().as_slice(),
                r.contact_id.0.as_bytes().as_slice(),
                r.consent_type_id.0.as_bytes().as_slice(),
                r.type_code,
                r.kind.code(),
                r.event_time.as_micros(),
                r.recorded_at.as_micros(),
                r.method.code(),
                r.actor_kind.code(),
                r.actor_id,
                r.notice_id.map(|n| n.0.into_bytes().to_vec()),
                r.validity_days.map(i64::from),
                r.evidence_digest.as_ref().map(|d| d.as_slice()),
                r.prev_hash.as_slice(),
                hash.as_slice(),
            ])
            .map_err(sqlite_error)?;
        self.evidence
            .execute(rusqlite::params![
                r.id.0.as_bytes().as_slice(),
                r.contact_id.0.as_bytes().as_slice(),
                salt.as_slice(),
                evidence,
            ])
            .map_err(sqlite_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(std::sync::atomic::AtomicU8);

    impl Entropy for Counter {
        fn fill(&self, buf: &mut [u8]) -> Result<(), StoreError> {
            for b in buf {
                *b = self.0.fetch_add(97, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(())
        }
    }

    #[test]
    fn ascending_ids_are_uuidv7_of_the_instant_and_ascend_across_takes() {
        let at = Timestamp::from_micros(1_717_000_000_123_456);
        let entropy = Counter(std::sync::atomic::AtomicU8::new(255));
        let mut ids = AscendingIds::new(at, &entropy).unwrap();
        let mut all = ids.take(1_000, &entropy).unwrap();
        all.extend(ids.take(1_000, &entropy).unwrap());
        assert_eq!(all.len(), 2_000);
        for pair in all.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
            // As SQLite compares them: the bytes of the blob.
            assert!(pair[0].as_bytes() < pair[1].as_bytes());
        }
        for id in &all {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            assert_eq!((secs, nanos / 1_000_000), (1_717_000_000, 123));
        }
    }
}
