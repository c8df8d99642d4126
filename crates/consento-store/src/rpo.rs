//! The Registro pubblico delle opposizioni (RPO; L. 5/2018, DPR 26/2022): the numbers due for a
//! check, the register's answers imported as checks, and what a number's latest answer says at
//! the ring. The first time a number is found enrolled, every earlier consent of its contacts to
//! telephone marketing or to disclosure to third parties is revoked in the ledger (method `rpo`,
//! the system as actor, the check as evidence), in the import's transaction: enrolment annuls
//! them (L. 5/2018, art. 1), while consents given after it was found stay valid.

use std::collections::HashSet;

use consento_domain::ledger::{EventRecord, evidence_digest};
use consento_domain::{
    Actor, CollectionMethod, ConsentTypeId, ContactId, DomainError, EventId, EventKind, Timestamp,
};
use serde::Serialize;
use sqlx::QueryBuilder;

use crate::bulk::{leave_head, take_head};
use crate::decide::Fenced;
use crate::fastread::FastRead;
use crate::import::micros;
use crate::inserts::{INSERT_EVENTS, INSERT_EVIDENCE, push_event_values};
use crate::ring::{CustomerContract, reached, rpo_columns, rpo_number_from};
use crate::row::{Cols, hex};
use crate::types::validity_from;
use crate::{Store, StoreError, in_write_tx, on_read_pool};

/// Rows per multi-row statement: under both backends' bound-parameter limits.
const CHUNK: usize = 1_000;

/// The numbers of the contacts that may be called for marketing at all: not erased, restricted
/// or objecting (GDPR Arts. 17, 18, 21(3)), calls not switched off, the number not suppressed.
/// Italian numbers only: the register covers them alone. With `$1` every one, else those whose
/// latest check is missing or no longer counts at `$2` (or was answered at or before `$3`, by
/// the validity configured now). One text for the list and its count, so
/// that the count shown is the list's.
macro_rules! due_numbers {
    ($select:literal, $tail:literal) => {
        concat!(
            $select,
            " FROM contact_phones p JOIN contacts c ON c.id = p.contact_id LEFT JOIN rpo_numbers r ON r.phone = p.phone WHERE c.erased_at IS NULL AND c.restricted_at IS NULL AND c.objected_at IS NULL AND c.phone_off_at IS NULL AND p.phone LIKE '+39%' AND ($1 OR r.phone IS NULL OR r.valid_until <= $2 OR r.answered_at <= $3)",
            $tail
        )
    };
}

/// The numbers due, in order.
const CALLABLE_NUMBERS: &str = due_numbers!("SELECT DISTINCT p.phone", " ORDER BY p.phone");

/// How many numbers are due.
const CALLABLE_COUNT: &str = due_numbers!("SELECT COUNT(DISTINCT p.phone)", "");

/// The latest `$1` checks, the latest answer first (an older answer imported later after it).
const RECENT_CHECKS: &str = "SELECT id, answered_at, valid_until, file_name, file_sha256, answer_mode, imported_by, imported_at, numbers, enrolled, newly_enrolled, revoked FROM rpo_checks ORDER BY answered_at DESC, imported_at DESC LIMIT $1";

/// The instant at or before which an answer no longer counts at `at` under a validity of
/// `validity_days`.
fn stale_before(at: Timestamp, validity_days: u32) -> i64 {
    at.as_micros().saturating_sub(
        i64::from(validity_days).saturating_mul(consento_domain::time::MICROS_PER_DAY),
    )
}

/// A register's answer to record.
#[derive(Debug, Clone)]
pub struct NewRpoCheck {
    /// When the register answered (the check's instant; not in the future).
    pub answered_at: Timestamp,
    /// Until when the answer counts (`answered_at` + the policy's validity).
    pub valid_until: Timestamp,
    /// The answer file's name.
    pub file_name: String,
    /// Its SHA-256.
    pub file_sha256: [u8; 32],
    /// How the file was read: `enrolled` or `callable`.
    pub answer_mode: &'static str,
    /// Who imported it (an operator or an account).
    pub imported_by: String,
}

/// What an import of an answer wrote.
#[derive(Debug, Clone, Serialize)]
pub struct RpoImportReport {
    /// The check's id (the evidence of the revocations).
    pub check_id: uuid::Uuid,
    /// Numbers answered.
    pub numbers: u64,
    /// Of which enrolled.
    pub enrolled: u64,
    /// Of which found enrolled for the first time by this check.
    pub newly_enrolled: u64,
    /// Consents revoked because of those.
    pub revoked: u64,
    /// Until when the check counts.
    pub valid_until: Timestamp,
}

/// A recorded check: one answer of the register, as imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpoCheckRecord {
    /// Its id (the evidence of the revocations it made).
    pub id: uuid::Uuid,
    /// When the register answered.
    pub answered_at: Timestamp,
    /// Until when the answer counts.
    pub valid_until: Timestamp,
    /// The answer file's name.
    pub file_name: String,
    /// Its SHA-256, lower-case hexadecimal.
    pub file_sha256: String,
    /// How the file was read: `enrolled` or `callable`.
    pub answer_mode: String,
    /// Who imported it.
    pub imported_by: String,
    /// When it was imported.
    pub imported_at: Timestamp,
    /// Numbers answered.
    pub numbers: u64,
    /// Of which enrolled.
    pub enrolled: u64,
    /// Of which found enrolled for the first time by this check.
    pub newly_enrolled: u64,
    /// Consents revoked because of those.
    pub revoked: u64,
}

/// Where the checks against the register stand at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpoStatus {
    /// The instant counted at.
    pub at: Timestamp,
    /// The latest checks, the latest answer first (by when the register answered).
    pub recent: Vec<RpoCheckRecord>,
    /// Numbers due for a check: those of contacts that may be called for marketing at all
    /// whose latest check is missing or no longer counts (what an export without `all` lists).
    pub due: u64,
    /// Numbers whose latest answer says they are enrolled.
    pub enrolled: u64,
    /// Numbers whose latest answer still counts.
    pub checked_valid: u64,
}

impl RpoStatus {
    /// The latest check, if any.
    pub fn latest(&self) -> Option<&RpoCheckRecord> {
        self.recent.first()
    }
}

fn check_from(row: &impl Cols) -> Result<RpoCheckRecord, StoreError> {
    let count = |col: &str| {
        u64::try_from(row.int(col)?).map_err(|_| StoreError::Corrupt("opt-out register check"))
    };
    Ok(RpoCheckRecord {
        id: row.uuid("id")?,
        answered_at: Timestamp::from_micros(row.int("answered_at")?),
        valid_until: Timestamp::from_micros(row.int("valid_until")?),
        file_name: row.text("file_name")?,
        file_sha256: hex(&row.bytes("file_sha256")?),
        answer_mode: row.text("answer_mode")?,
        imported_by: row.text("imported_by")?,
        imported_at: Timestamp::from_micros(row.int("imported_at")?),
        numbers: count("numbers")?,
        enrolled: count("enrolled")?,
        newly_enrolled: count("newly_enrolled")?,
        revoked: count("revoked")?,
    })
}

/// The register's latest answer about one number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpoNumber {
    /// The number (E.164).
    pub phone: String,
    /// When the register answered.
    pub answered_at: Timestamp,
    /// Until when that answer counts.
    pub valid_until: Timestamp,
    /// Whether the number is enrolled.
    pub enrolled: bool,
    /// When its enrolment was first found (while enrolled).
    pub enrolled_found_at: Option<Timestamp>,
}

/// What the rules at the ring read about the number dialled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RingFacts {
    /// The number (E.164), if the contact has one.
    pub phone: Option<String>,
    /// The register's latest answer about it, if it was ever checked.
    pub rpo: Option<RpoNumber>,
    /// Its latest silent call, if any.
    pub last_silent_call: Option<Timestamp>,
    /// The contact's customer contract, if recorded.
    pub customer: Option<CustomerContract>,
    /// Whether the number is recorded as listed in a public directory.
    pub listed: bool,
    /// The latest request of the contact for a call to the number that no call has answered
    /// yet, as (when the person asked, until when it holds).
    pub call_request: Option<(Timestamp, Timestamp)>,
    /// Whether the consent type the call relies on is for disclosure to third parties (whose
    /// marketing the contract exception does not cover).
    pub third_party: bool,
}

/// What the rules at the ring read (see [`Store::ring_facts`]): `$1` the contact, `$2` the number
/// dialled or NULL for its primary one, `$3` the code of the consent type relied on or NULL. One
/// row, none for an unknown contact.
const RING_SQL: &str = concat!(
    "SELECT n.phone, n.customer_contract, n.customer_until, ",
    rpo_columns!(),
    ", COALESCE(d.listed, FALSE) AS listed, \
    (SELECT MAX(o.called_at) FROM call_outcomes o WHERE o.phone = n.phone AND o.outcome = 'silent') AS last_silent, \
    q.requested_at AS request_at, q.valid_until AS request_until, \
    CASE WHEN EXISTS (SELECT 1 FROM consent_types t WHERE t.code = $3 AND t.purpose = 'third_party') THEN TRUE ELSE FALSE END AS third_party \
    FROM (SELECT COALESCE($2, c.phone) AS phone, c.customer_contract, c.customer_until FROM contacts c WHERE c.id = $1) n \
    LEFT JOIN rpo_numbers r ON r.phone = n.phone LEFT JOIN phone_directory d ON d.phone = n.phone \
    LEFT JOIN call_requests q ON q.id = (SELECT q2.id FROM call_requests q2 WHERE q2.contact_id = $1 AND q2.phone = n.phone \
        AND NOT EXISTS (SELECT 1 FROM call_outcomes o WHERE o.phone = q2.phone AND o.called_at >= q2.requested_at AND o.outcome IN ",
    reached!(),
    ") \
        ORDER BY q2.valid_until DESC LIMIT 1)"
);

/// The ring facts of a row of [`RING_SQL`] (the default ones without a row).
fn ring_from<R: Cols>(row: Option<&R>) -> Result<RingFacts, StoreError> {
    let Some(row) = row else {
        return Ok(RingFacts::default());
    };
    let phone = row.opt_text("phone")?;
    let rpo = match &phone {
        Some(phone) => rpo_number_from(row, phone)?,
        None => None,
    };
    let customer = match row.opt_text("customer_contract")?.as_deref() {
        None => None,
        Some("in_force") => Some(CustomerContract::InForce),
        Some(_) => Some(CustomerContract::Until(Timestamp::from_micros(
            row.int("customer_until")?,
        ))),
    };
    let call_request = match row.opt_int("request_at")? {
        Some(at) => Some((
            Timestamp::from_micros(at),
            Timestamp::from_micros(row.int("request_until")?),
        )),
        None => None,
    };
    Ok(RingFacts {
        last_silent_call: row.opt_int("last_silent")?.map(Timestamp::from_micros),
        phone,
        rpo,
        customer,
        listed: row.flag("listed")?,
        call_request,
        third_party: row.flag("third_party")?,
    })
}

/// [`RING_SQL`] on SQLite's hot read path. Its parameters are bound by name: SQLite numbers
/// `$N` parameters in the order they first appear, and `$3` comes first.
pub(crate) fn read_ring(
    fast: &FastRead,
    contact: ContactId,
    dialed: Option<&str>,
    relied_on: Option<&str>,
) -> Result<RingFacts, StoreError> {
    let id: &[u8] = contact.0.as_bytes();
    let params: [(&str, &dyn rusqlite::ToSql); 3] =
        [("$1", &id), ("$2", &dialed), ("$3", &relied_on)];
    fast.query_with(RING_SQL, params.as_slice(), |rows| ring_from(rows.first()))
}

/// [`RING_SQL`] through a PostgreSQL pool.
pub(crate) async fn read_ring_pg(
    pool: &sqlx::PgPool,
    contact: ContactId,
    dialed: Option<&str>,
    relied_on: Option<&str>,
) -> Result<RingFacts, StoreError> {
    let row = sqlx::query(RING_SQL)
        .bind(contact.0)
        .bind(dialed)
        .bind(relied_on)
        .fetch_optional(pool)
        .await?;
    ring_from(row.as_ref())
}

/// A consent to revoke: its contact and type, the number found enrolled and when.
struct Revocation {
    contact: ContactId,
    type_id: ConsentTypeId,
    code: String,
    validity: Option<u32>,
    found_at: Timestamp,
    phone: String,
}

impl Store {
    /// The numbers to send to the register, deduplicated and in order: those of contacts that
    /// may be called for marketing at all, whose latest check is missing or no longer counts at
    /// `due_at`, by the validity it was imported with or by `validity_days` now (a shortened
    /// validity applies to the checks already made, as the ring applies it); every such number
    /// with `all`.
    pub async fn rpo_due_numbers(
        &self,
        all: bool,
        due_at: Timestamp,
        validity_days: u32,
    ) -> Result<Vec<String>, StoreError> {
        let answered_before = stale_before(due_at, validity_days);
        Ok(on_read_pool!(self, pool => {
            sqlx::query_scalar(CALLABLE_NUMBERS)
                .bind(all)
                .bind(due_at.as_micros())
                .bind(answered_before)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Where the checks stand at `at`: the `recent` latest checks (the latest answer first), the
    /// numbers due (as [`Store::rpo_due_numbers`] without `all` lists them), enrolled, and
    /// checked with an answer that still counts (by `validity_days` too). Reads only.
    pub async fn rpo_status(
        &self,
        recent: u32,
        at: Timestamp,
        validity_days: u32,
    ) -> Result<RpoStatus, StoreError> {
        let at_micros = at.as_micros();
        let answered_before = stale_before(at, validity_days);
        let (rows, due, enrolled, valid) = on_read_pool!(self, pool => {
            let rows = sqlx::query(RECENT_CHECKS)
                .bind(i64::from(recent))
                .fetch_all(pool).await?
                .iter().map(check_from).collect::<Result<Vec<_>, _>>()?;
            let due: i64 = sqlx::query_scalar(CALLABLE_COUNT)
                .bind(false).bind(at_micros).bind(answered_before)
                .fetch_one(pool).await?;
            let (enrolled, valid): (i64, i64) = sqlx::query_as("SELECT COUNT(CASE WHEN enrolled THEN 1 END), COUNT(CASE WHEN valid_until > $1 AND answered_at > $2 THEN 1 END) FROM rpo_numbers")
                .bind(at_micros).bind(answered_before)
                .fetch_one(pool).await?;
            (rows, due, enrolled, valid)
        });
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(RpoStatus {
            at,
            recent: rows,
            due: count(due),
            enrolled: count(enrolled),
            checked_valid: count(valid),
        })
    }

    /// Records the register's answer about `enrolled` and `not_enrolled` numbers (E.164) as one
    /// check, in one transaction: each number keeps its latest answer (an older answer imported
    /// later changes nothing), and the consents that a first finding of enrolment annuls are
    /// revoked in the ledger, dated when the register answered.
    pub async fn import_rpo_answer(
        &self,
        check: NewRpoCheck,
        enrolled: &[String],
        not_enrolled: &[String],
    ) -> Result<RpoImportReport, StoreError> {
        let now = self.now();
        if check.answered_at > now {
            return Err(DomainError::invalid(
                "checked_at",
                "the register cannot have answered in the future",
            )
            .into());
        }
        if check.valid_until <= check.answered_at {
            return Err(
                DomainError::invalid("checked_at", "a check must count for some time").into(),
            );
        }
        let id = self.new_uuid(now)?;
        crate::audit::set_target_id("rpo_check", id);
        let answered = check.answered_at.as_micros();
        let valid_until = check.valid_until.as_micros();
        let system = Actor::new(consento_domain::ActorKind::System, "rpo")?;
        let sha = hex(&check.file_sha256);
        // Appends in this process wait for the import, and then read the head it leaves.
        let mut cache = self.append.lock().await;
        cache.invalidate();
        let (newly, revoked) = in_write_tx!(self, tx, DB => {
            // The head first: on PostgreSQL its row lock keeps other appends out until this
            // commits, so the consents read below to revoke are the ones in force.
            let (mut seq, mut prev) = take_head!(self, tx);
            sqlx::query("INSERT INTO rpo_checks (id, answered_at, valid_until, file_name, file_sha256, answer_mode, imported_by, imported_at, numbers, enrolled, newly_enrolled, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0)")
                .bind(id).bind(answered).bind(valid_until).bind(&check.file_name)
                .bind(check.file_sha256.to_vec()).bind(check.answer_mode).bind(&check.imported_by)
                .bind(now.as_micros()).bind(micros((enrolled.len() + not_enrolled.len()) as u64))
                .bind(micros(enrolled.len() as u64))
                .execute(&mut *tx).await?;
            let answers: Vec<(&String, bool)> = enrolled.iter().map(|p| (p, true))
                .chain(not_enrolled.iter().map(|p| (p, false)))
                .collect();
            for chunk in answers.chunks(CHUNK) {
                let mut qb = QueryBuilder::<DB>::new("INSERT INTO rpo_numbers (phone, check_id, answered_at, valid_until, enrolled, enrolled_found_at, found_by) ");
                qb.push_values(chunk, |mut b, (phone, on)| {
                    b.push_bind((*phone).clone()).push_bind(id).push_bind(answered).push_bind(valid_until)
                        .push_bind(*on).push_bind(on.then_some(answered)).push_bind(on.then_some(id));
                });
                // A number still enrolled keeps when that was first found; one found enrolled
                // again after leaving the register is found anew.
                qb.push(" ON CONFLICT (phone) DO UPDATE SET check_id = excluded.check_id, answered_at = excluded.answered_at, valid_until = excluded.valid_until, enrolled = excluded.enrolled, enrolled_found_at = CASE WHEN excluded.enrolled AND rpo_numbers.enrolled THEN rpo_numbers.enrolled_found_at ELSE excluded.enrolled_found_at END, found_by = CASE WHEN excluded.enrolled AND rpo_numbers.enrolled THEN rpo_numbers.found_by ELSE excluded.found_by END WHERE excluded.answered_at >= rpo_numbers.answered_at");
                qb.build().execute(&mut *tx).await?;
            }
            let newly: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rpo_numbers WHERE found_by = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            // The consents in force when the enrolment was found, of types a marketing call or a
            // disclosure to third parties relies on.
            let rows = sqlx::query("SELECT s.contact_id, s.consent_type_id, t.code, t.validity_days, r.enrolled_found_at, r.phone FROM rpo_numbers r JOIN contact_phones p ON p.phone = r.phone JOIN contacts c ON c.id = p.contact_id JOIN consent_state s ON s.contact_id = c.id JOIN consent_types t ON t.id = s.consent_type_id WHERE r.found_by = $1 AND c.erased_at IS NULL AND s.granted AND s.event_time < r.enrolled_found_at AND s.valid_until > r.enrolled_found_at AND ((t.purpose = 'marketing' AND t.allow_phone_call) OR t.purpose = 'third_party') ORDER BY s.contact_id, t.code")
                .bind(id).fetch_all(&mut *tx).await?;
            let mut seen: HashSet<(uuid::Uuid, uuid::Uuid)> = HashSet::new();
            let mut revocations = Vec::new();
            for row in &rows {
                let contact = row.uuid("contact_id")?;
                let type_id = row.uuid("consent_type_id")?;
                // A contact with two enrolled numbers: one revocation per consent.
                if !seen.insert((contact, type_id)) {
                    continue;
                }
                revocations.push(Revocation {
                    contact: ContactId(contact),
                    type_id: ConsentTypeId(type_id),
                    code: row.text("code")?,
                    validity: validity_from(row.opt_int("validity_days")?)?,
                    found_at: Timestamp::from_micros(row.int("enrolled_found_at")?),
                    phone: row.text("phone")?,
                });
            }
            let ids = self.new_uuids(now, revocations.len())?;
            let mut salts = vec![0u8; 32 * revocations.len()];
            self.entropy.fill(&mut salts)?;
            let mut events = Vec::with_capacity(revocations.len());
            for ((r, event_id), chunk) in revocations.iter().zip(ids).zip(salts.chunks_exact(32)) {
                let mut salt = [0u8; 32];
                salt.copy_from_slice(chunk);
                let evidence = serde_json::json!({ "rpo": {
                    "check": id, "file_sha256": sha, "phone": r.phone, "found_at": r.found_at.to_rfc3339(),
                } }).to_string();
                seq += 1;
                let record = EventRecord {
                    seq,
                    id: EventId(event_id),
                    contact_id: r.contact,
                    consent_type_id: r.type_id,
                    type_code: r.code.clone(),
                    kind: EventKind::Revoked,
                    event_time: r.found_at,
                    recorded_at: now,
                    method: CollectionMethod::Rpo,
                    actor_kind: system.kind,
                    actor_id: system.id.clone(),
                    notice_id: None,
                    validity_days: r.validity,
                    evidence_digest: Some(evidence_digest(&salt, &evidence)),
                    prev_hash: prev,
                };
                prev = record.hash();
                events.push((record, prev, salt.to_vec(), evidence));
            }
            for chunk in events.chunks(CHUNK) {
                let mut qb = QueryBuilder::<DB>::new(INSERT_EVENTS);
                push_event_values!(qb, chunk, (r, hash, _, _) => r, hash);
                qb.build().execute(&mut *tx).await?;
                let mut qb = QueryBuilder::<DB>::new(INSERT_EVIDENCE);
                qb.push_values(chunk, |mut b, (r, _, salt, text)| {
                    b.push_bind(r.seq).push_bind(salt.clone()).push_bind(text.clone());
                });
                qb.build().execute(&mut *tx).await?;
            }
            if !events.is_empty() {
                leave_head!(tx, seq, prev);
            }
            sqlx::query("UPDATE rpo_checks SET newly_enrolled = $2, revoked = $3 WHERE id = $1")
                .bind(id).bind(newly).bind(micros(events.len() as u64))
                .execute(&mut *tx).await?;
            (newly, events.len())
        });
        drop(cache);
        self.bound_wal().await;
        Ok(RpoImportReport {
            check_id: id,
            numbers: (enrolled.len() + not_enrolled.len()) as u64,
            enrolled: enrolled.len() as u64,
            newly_enrolled: u64::try_from(newly).unwrap_or(0),
            revoked: revoked as u64,
            valid_until: check.valid_until,
        })
    }

    /// What the rules at the ring read about the number a call to `contact` dials: `dialed`
    /// (E.164) when given, else the contact's primary number; in one read, the register's
    /// latest answer about it, its latest silent call, its directory listing, the contact's
    /// customer contract and its open request for a call to it; and whether the consent type
    /// coded `relied_on`, if any, is for third parties.
    ///
    /// Those of the primary number are remembered with the contact's decision facts (see
    /// `decision_cache`), kept true by the change log: a dialer asks before every ring.
    pub async fn ring_facts(
        &self,
        contact: ContactId,
        dialed: Option<&str>,
        relied_on: Option<&str>,
    ) -> Result<RingFacts, StoreError> {
        self.ring_facts_after(contact, dialed, relied_on, &Fenced::NONE)
            .await
    }

    /// [`Self::ring_facts`] for the decision that `fenced` came with (from
    /// [`Store::decide_fenced`]): on PostgreSQL its fence serves these facts too, one round trip
    /// per call at the ring instead of two.
    pub async fn ring_facts_after(
        &self,
        contact: ContactId,
        dialed: Option<&str>,
        relied_on: Option<&str>,
        fenced: &Fenced,
    ) -> Result<RingFacts, StoreError> {
        if let Some(fast) = &self.fast {
            let read = |dialed: Option<&str>| read_ring(fast, contact, dialed, relied_on);
            let Some(cache) = &self.decision_cache else {
                return read(dialed);
            };
            // The change log's position first, then the facts: what is remembered is never older
            // than a change committed before this call was asked about.
            let head = crate::decide::fence(fast, cache)?;
            let ring = match cache.ring(contact.0, relied_on) {
                // Not remembered: neither can its ring facts be.
                None => return read(dialed),
                Some(Some(ring)) => ring,
                Some(None) => {
                    let ring = read(None)?;
                    cache.remember_ring(head, contact.0, relied_on, &ring);
                    ring
                }
            };
            // Only the primary number's facts are remembered: a dialled number other than the
            // primary one (a contact's second number) is read every time.
            return match dialed {
                Some(d) if ring.phone.as_deref() != Some(d) => read(dialed),
                _ => Ok(ring),
            };
        }
        // Boxed: the pool's future is large (see `Store::facts`).
        Box::pin(async move {
            if let (crate::Db::Postgres(pool), Some(fence), Some(cache)) =
                (&self.db, &self.pg_fence, &self.decision_cache)
            {
                // As on SQLite above, the fence first (pgfence.rs), unless the decision's own
                // fence has run: the position the cache is at is then new enough.
                let head = if fenced.0 {
                    cache.position()
                } else {
                    fence.fence().await?
                };
                let ring = match cache.ring(contact.0, relied_on) {
                    None => return read_ring_pg(pool, contact, dialed, relied_on).await,
                    Some(Some(ring)) => ring,
                    Some(None) => {
                        let ring = read_ring_pg(pool, contact, None, relied_on).await?;
                        cache.remember_ring(head, contact.0, relied_on, &ring);
                        ring
                    }
                };
                return match dialed {
                    Some(d) if ring.phone.as_deref() != Some(d) => {
                        read_ring_pg(pool, contact, dialed, relied_on).await
                    }
                    _ => Ok(ring),
                };
            }
            Ok(on_read_pool!(self, pool => {
                let row = sqlx::query(RING_SQL)
                    .bind(contact.0).bind(dialed).bind(relied_on)
                    .fetch_optional(pool).await?;
                ring_from(row.as_ref())?
            }))
        })
        .await
    }

    /// The contacts a telemarketing campaign could call: those with a primary number and a
    /// consent in force of a marketing or third-party type that permits calls, with that
    /// number, by number. Whether each may be called now is the decision's to say.
    pub async fn telemarketing_candidates(&self) -> Result<Vec<(ContactId, String)>, StoreError> {
        let rows: Vec<(uuid::Uuid, String)> = on_read_pool!(self, pool => {
            sqlx::query_as("SELECT c.id, c.phone FROM contacts c WHERE c.phone IS NOT NULL AND EXISTS (SELECT 1 FROM consent_state s JOIN consent_types t ON t.id = s.consent_type_id WHERE s.contact_id = c.id AND s.granted AND t.allow_phone_call AND t.purpose IN ('marketing', 'third_party')) ORDER BY c.phone")
                .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, phone)| (ContactId(id), phone))
            .collect())
    }
}
