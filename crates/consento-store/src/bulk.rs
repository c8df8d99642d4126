//! Loading many new contacts with their consent history in one transaction: the demo data set,
//! the benchmarks, and imports of contacts not yet known. Multi-row inserts on SQLite and COPY on
//! PostgreSQL (pgcopy.rs) keep it at hundreds of thousands of rows per second; the ledger is
//! chained event by event exactly as single appends do, so `ledger verify` cannot tell the
//! difference.

use std::collections::HashMap;

use consento_domain::ledger::{EventRecord, evidence_digest};
use consento_domain::{
    Actor, CollectionMethod, ConsentTypeId, ContactId, DomainError, Email, EventId, EventKind,
    LegalBasis, NoticeId, Phone, Timestamp,
};
use sqlx::QueryBuilder;

use crate::fastimport::AscendingIds;
use crate::inserts::{
    INSERT_CONTACT, INSERT_EMAIL, INSERT_EVENTS, INSERT_EVIDENCE, INSERT_PHONE, push_event_values,
};
use crate::pgcopy::{
    COPY_CONTACTS, COPY_EMAILS, COPY_EVENTS, COPY_EVIDENCE, COPY_PHONES, CopyRows, Projection,
};
use crate::row::Cols;
use crate::{ContactInput, Store, StoreError, in_write_tx};

/// A new contact and its consent history.
#[derive(Debug, Clone)]
pub struct BulkContact {
    /// The contact's fields.
    pub input: ContactInput,
    /// Its consent events, in any order.
    pub events: Vec<BulkEvent>,
}

/// One historical consent event of a [`BulkContact`].
#[derive(Debug, Clone)]
pub struct BulkEvent {
    /// The consent type's code.
    pub type_code: String,
    /// What happened.
    pub kind: EventKind,
    /// When (not in the future).
    pub event_time: Timestamp,
    /// How it was collected.
    pub method: CollectionMethod,
    /// Who records it.
    pub actor: Actor,
    /// Evidence (e.g. the import file and line).
    pub evidence: Option<String>,
    /// The privacy-notice version the person was shown, if known.
    pub notice_version: Option<String>,
}

/// What a bulk load wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkReport {
    /// Contacts created.
    pub contacts: usize,
    /// Ledger events appended.
    pub events: usize,
    /// The new contacts' ids, in the order given.
    pub contact_ids: Vec<ContactId>,
}

/// Rows per multi-row INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
const CHUNK: usize = 1_000;

/// A validated contact with its id and the keyed hashes of its primary address and number.
type PreparedContact = (
    ContactId,
    crate::contacts::ValidContact,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);
/// A chained event with its hash and its evidence (salt, text).
type PreparedEvent = (EventRecord, [u8; 32], Option<(Vec<u8>, String)>);

struct Prepared {
    contacts: Vec<PreparedContact>,
    events: Vec<PreparedEvent>,
}

/// Inside a write transaction `$tx`: takes the ledger head for a load that chains many events
/// itself, and evaluates to its (seq, hash). An UPDATE that changes nothing takes the head's row
/// lock (PostgreSQL) with the same text on both backends; on PostgreSQL the chain trigger then
/// leaves the head to the load (see the 0001 migration), where SQLite updates a row in place and
/// needs no such care.
macro_rules! take_head {
    ($store:expr, $tx:ident) => {{
        let head = sqlx::query("UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *$tx)
            .await?;
        if matches!($store.db, crate::Db::Postgres(_)) {
            sqlx::query("SET LOCAL consento.bulk_load = 'on'")
                .execute(&mut *$tx)
                .await?;
        }
        (head.int("seq")?, crate::row::hash32(head.bytes("hash")?)?)
    }};
}

/// Moves the ledger head to the last event a load appended (`$seq`, `$hash`).
macro_rules! leave_head {
    ($tx:ident, $seq:expr, $hash:expr) => {
        sqlx::query("UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind($seq)
            .bind($hash.to_vec())
            .execute(&mut *$tx)
            .await?;
    };
}
pub(crate) use {leave_head, take_head};

/// Writes a chained batch by COPY (pgcopy.rs) in the transaction on `conn`: its contacts and
/// their channels, its events and their evidence, and the current states they leave (every
/// contact is new, so no state of theirs is stored yet).
async fn copy_prepared(
    conn: &mut sqlx::PgConnection,
    prepared: &Prepared,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut contacts = CopyRows::new();
    let mut emails = CopyRows::new();
    let mut phones = CopyRows::new();
    for (id, v, eh, ph) in &prepared.contacts {
        contacts
            .row(14)
            .uuid(id.0)
            .opt_text(v.external_id.as_deref())
            .opt_text(v.name.as_deref())
            .opt_text(v.emails.first().map(Email::as_str))
            .opt_bytes(eh.as_deref())
            .opt_text(v.phones.first().map(Phone::as_str))
            .opt_bytes(ph.as_deref())
            .text(&v.attributes)
            .opt_text(v.source.as_deref())
            .opt_text(v.legal_basis.map(LegalBasis::code))
            .text(&v.purposes)
            .int(now.as_micros())
            .int(now.as_micros())
            .opt_text(
                v.name
                    .as_deref()
                    .map(consento_domain::fold_for_search)
                    .as_deref(),
            );
        for (position, e) in v.emails.iter().enumerate() {
            emails
                .row(3)
                .text(e.as_str())
                .uuid(id.0)
                .int(position as i64);
        }
        for (position, p) in v.phones.iter().enumerate() {
            phones
                .row(3)
                .text(p.as_str())
                .uuid(id.0)
                .int(position as i64);
        }
    }
    let mut events = CopyRows::new();
    let mut evidence = CopyRows::new();
    let mut states = Projection::default();
    for (record, hash, proof) in &prepared.events {
        events.event(record, hash);
        if let Some((salt, text)) = proof {
            evidence.row(3).int(record.seq).bytes(salt).text(text);
        }
        states.add(record, true)?;
    }
    contacts.copy(&mut *conn, COPY_CONTACTS).await?;
    emails.copy(&mut *conn, COPY_EMAILS).await?;
    phones.copy(&mut *conn, COPY_PHONES).await?;
    events.copy(&mut *conn, COPY_EVENTS).await?;
    evidence.copy(&mut *conn, COPY_EVIDENCE).await?;
    states.write(&mut *conn).await
}

impl Store {
    /// Every consent type's id and validity, by code: what a load chains its events with.
    pub(crate) async fn type_index(
        &self,
    ) -> Result<HashMap<String, (ConsentTypeId, Option<u32>)>, StoreError> {
        Ok(self
            .consent_types()
            .await?
            .into_iter()
            .map(|t| {
                (
                    t.spec.code.as_str().to_owned(),
                    (t.id, t.spec.validity_days),
                )
            })
            .collect())
    }

    /// Creates `batch` contacts with their events, all or nothing. A bad contact or event fails
    /// the whole batch with the error of the first one, naming its position in the batch.
    pub async fn bulk_load(&self, batch: Vec<BulkContact>) -> Result<BulkReport, StoreError> {
        let now = self.now();
        let types = self.type_index().await?;
        let notices: HashMap<String, NoticeId> = self
            .notices()
            .await?
            .into_iter()
            .map(|n| (n.version, n.id))
            .collect();
        // Validate everything before the transaction: nothing is written when any line is bad.
        let mut valid = Vec::with_capacity(batch.len());
        for (i, item) in batch.into_iter().enumerate() {
            let at_line = |e: DomainError| match e {
                DomainError::Invalid { field, reason } => DomainError::Invalid {
                    field,
                    reason: format!("contact {}: {reason}", i + 1),
                },
            };
            let v = self.validate_contact(item.input).map_err(at_line)?;
            for e in &item.events {
                consento_domain::consent::check_event_time(e.event_time, now).map_err(at_line)?;
                if !types.contains_key(&e.type_code) {
                    return Err(at_line(DomainError::invalid(
                        "type_code",
                        format!("no consent type `{}`", e.type_code),
                    ))
                    .into());
                }
                if let Some(version) = &e.notice_version
                    && !notices.contains_key(version)
                {
                    return Err(at_line(DomainError::invalid(
                        "notice_version",
                        format!("no privacy notice version `{version}`"),
                    ))
                    .into());
                }
            }
            let (eh, ph) = self.primary_hashes(&v)?;
            valid.push((v, eh, ph, item.events));
        }
        // The types the batch's events are of: checked (and locked) once by a load through COPY.
        let mut used_types: Vec<(ConsentTypeId, &str, Option<u32>)> = Vec::new();
        for e in valid.iter().flat_map(|v| &v.3) {
            if let Some((code, (id, validity))) = types.get_key_value(&e.type_code)
                && !used_types.iter().any(|(used, _, _)| used == id)
            {
                used_types.push((*id, code.as_str(), *validity));
            }
        }
        let n_contacts = valid.len();
        let n_events: usize = valid.iter().map(|v| v.3.len()).sum();
        let n_evidence = valid
            .iter()
            .flat_map(|v| &v.3)
            .filter(|e| e.evidence.is_some())
            .count();
        // On PostgreSQL the ids ascend (see `fastimport::AscendingIds`): every index keyed by
        // them then grows at its right edge instead of at random places.
        let (contact_ids, event_ids) = match &self.db {
            crate::Db::Postgres(_) => {
                let entropy = self.entropy.as_ref();
                (
                    AscendingIds::new(now, entropy)?.take(n_contacts, entropy)?,
                    AscendingIds::new(now, entropy)?.take(n_events, entropy)?,
                )
            }
            crate::Db::Sqlite { .. } => (
                self.new_uuids(now, n_contacts)?,
                self.new_uuids(now, n_events)?,
            ),
        };
        let contact_ids: Vec<ContactId> = contact_ids.into_iter().map(ContactId).collect();
        let mut event_ids = event_ids.into_iter().map(EventId);
        let mut salts = vec![0u8; 32 * n_evidence];
        self.entropy.fill(&mut salts)?;
        let mut salts = salts.chunks_exact(32).map(|c| {
            let mut salt = [0u8; 32];
            salt.copy_from_slice(c);
            salt
        });
        // The batch's events chained from the head (seq, hash), each contact's in time order;
        // returns them with the new head.
        let ids = contact_ids.clone();
        let chain = |(mut seq, mut prev): (i64, [u8; 32])| {
            let mut prepared = Prepared {
                contacts: Vec::with_capacity(n_contacts),
                events: Vec::with_capacity(n_events),
            };
            for ((v, eh, ph, mut events), contact_id) in valid.into_iter().zip(ids) {
                events.sort_by_key(|e| e.event_time);
                for e in events {
                    let Some((type_id, validity)) = types.get(&e.type_code).copied() else {
                        continue;
                    };
                    let Some(id) = event_ids.next() else { break };
                    let evidence = match e.evidence {
                        Some(text) => salts.next().map(|salt| (salt, text)),
                        None => None,
                    };
                    seq += 1;
                    let record = EventRecord {
                        seq,
                        id,
                        contact_id,
                        consent_type_id: type_id,
                        type_code: e.type_code.clone(),
                        kind: e.kind,
                        event_time: e.event_time,
                        recorded_at: now,
                        method: e.method,
                        actor_kind: e.actor.kind,
                        actor_id: e.actor.id.clone(),
                        notice_id: e
                            .notice_version
                            .as_ref()
                            .and_then(|v| notices.get(v).copied()),
                        validity_days: validity,
                        evidence_digest: evidence
                            .as_ref()
                            .map(|(salt, x)| evidence_digest(salt, x)),
                        prev_hash: prev,
                    };
                    prev = record.hash();
                    prepared.events.push((
                        record,
                        prev,
                        evidence.map(|(salt, x)| (salt.to_vec(), x)),
                    ));
                }
                prepared.contacts.push((contact_id, v, eh, ph));
            }
            (prepared, seq, prev)
        };
        // Appends in this process wait for the load, and then read the head it leaves.
        let mut cache = self.append.lock().await;
        cache.invalidate();
        if let crate::Db::Postgres(pool) = &self.db {
            let mut tx = pool.begin().await?;
            let head = crate::pgcopy::begin(&mut tx, &used_types).await?;
            let (prepared, seq, prev) = chain(head);
            copy_prepared(&mut tx, &prepared, now).await?;
            crate::pgcopy::finish(&mut tx, seq, &prev).await?;
            if let Some(row) = self.pending_audit()? {
                crate::users::insert_audit!(tx, row.id, row.at, row.input, row.detail);
            }
            tx.commit().await?;
            crate::audit::committed();
            return Ok(BulkReport {
                contacts: n_contacts,
                events: n_events,
                contact_ids,
            });
        }
        in_write_tx!(self, tx, DB => {
            let (prepared, seq, prev) = chain(take_head!(self, tx));
            for chunk in prepared.contacts.chunks(CHUNK) {
                let mut qb = QueryBuilder::<DB>::new(INSERT_CONTACT);
                qb.push_values(chunk, |mut b, (id, v, eh, ph)| {
                    b.push_bind(id.0)
                        .push_bind(v.external_id.clone())
                        .push_bind(v.name.clone())
                        .push_bind(v.emails.first().map(|e| e.as_str().to_owned()))
                        .push_bind(eh.clone())
                        .push_bind(v.phones.first().map(|p| p.as_str().to_owned()))
                        .push_bind(ph.clone())
                        .push_bind(v.attributes.clone())
                        .push_bind(v.source.clone())
                        .push_bind(v.legal_basis.map(LegalBasis::code))
                        .push_bind(v.purposes.clone())
                        .push_bind(now.as_micros())
                        .push_bind(now.as_micros())
                        .push_bind(v.name.as_deref().map(consento_domain::fold_for_search));
                });
                qb.build().execute(&mut *tx).await?;
            }
            let emails: Vec<(String, ContactId, i64)> = prepared.contacts.iter()
                .flat_map(|(id, v, _, _)| v.emails.iter().enumerate().map(move |(i, e)| (Email::as_str(e).to_owned(), *id, i as i64)))
                .collect();
            for chunk in emails.chunks(CHUNK) {
                let mut qb = QueryBuilder::<DB>::new(INSERT_EMAIL);
                qb.push_values(chunk, |mut b, (e, id, i)| {
                    b.push_bind(e.clone()).push_bind(id.0).push_bind(*i);
                });
                qb.build().execute(&mut *tx).await?;
            }
            let phones: Vec<(String, ContactId, i64)> = prepared.contacts.iter()
                .flat_map(|(id, v, _, _)| v.phones.iter().enumerate().map(move |(i, p)| (Phone::as_str(p).to_owned(), *id, i as i64)))
                .collect();
            for chunk in phones.chunks(CHUNK) {
                let mut qb = QueryBuilder::<DB>::new(INSERT_PHONE);
                qb.push_values(chunk, |mut b, (p, id, i)| {
                    b.push_bind(p.clone()).push_bind(id.0).push_bind(*i);
                });
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in prepared.events.chunks(CHUNK) {
                let mut qb = QueryBuilder::<DB>::new(INSERT_EVENTS);
                push_event_values!(qb, chunk, (r, hash, _) => r, hash);
                qb.build().execute(&mut *tx).await?;
            }
            let evidence: Vec<(i64, &Vec<u8>, &String)> = prepared.events.iter()
                .filter_map(|(r, _, ev)| ev.as_ref().map(|(salt, text)| (r.seq, salt, text)))
                .collect();
            for chunk in evidence.chunks(CHUNK) {
                let mut qb = QueryBuilder::<DB>::new(INSERT_EVIDENCE);
                qb.push_values(chunk, |mut b, (seq, salt, text)| {
                    b.push_bind(*seq).push_bind((*salt).clone()).push_bind((*text).clone());
                });
                qb.build().execute(&mut *tx).await?;
            }
            // The triggers on consent_events have kept the current states row by row in ledger
            // order, as for single appends; the head moves to the last event here.
            leave_head!(tx, seq, prev);
        });
        // Loads come in many batches, one after another: between two, the WAL is copied into
        // the file and cut back, or it would grow by every batch (wal.rs).
        self.bound_wal().await;
        Ok(BulkReport {
            contacts: n_contacts,
            events: n_events,
            contact_ids,
        })
    }

    /// Refreshes the planner's statistics after a bulk load. PostgreSQL plans the audience from
    /// them (without, a million fresh rows look like a few thousand, and the plan spills to
    /// disk); autovacuum would get there too, later. SQLite is left alone on purpose: with the
    /// bundled STAT4 build, ANALYZE makes every statement with bound parameters on an indexed
    /// column re-prepare at each run (<https://sqlite.org/c3ref/prepare.html>, on
    /// `SQLITE_ENABLE_STAT4`), and point lookups fall to a third.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        if let crate::Db::Postgres(pool) = &self.db {
            sqlx::raw_sql("ANALYZE contacts, contact_emails, contact_phones, consent_state, consent_events, suppression")
                .execute(pool)
                .await?;
        }
        Ok(())
    }
}
