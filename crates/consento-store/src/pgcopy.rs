//! How bulk loads write on PostgreSQL (imports, and the demo data set through
//! [`crate::Store::bulk_load`]): `COPY … FROM STDIN` in binary format into the contacts, their
//! channels, the ledger, its evidence and the current states, in the load's one transaction.
//! It owns the PostgreSQL side of what fastimport.rs does for SQLite: the ledger's per-row
//! triggers step aside for the load (migration 0034), and their work is done here once for
//! the whole load with the same outcome:
//! - the chain (`consent_events_chain`'s compare-and-set of the head): the load takes the
//!   head's row lock first ([`begin`]) and holds it to its commit, chains every event from it
//!   exactly as single appends do, and moves the head once at the end ([`finish`]);
//! - the consent type check: made once per type at the start, with the types' rows locked
//!   (`FOR SHARE`) until the commit, so that no type can change under the load;
//! - the erased check: the loader matches its lines with the contacts' erasure (locked the same
//!   way) and skips erased people (GDPR Art. 17); a bulk load only creates contacts;
//! - the projection (`consent_events_project`): [`Projection`] keeps, for each contact and type,
//!   the event the trigger would have left, the latest by event time and then by position, and
//!   writes it with the trigger's own upsert (a contact created by the load gets it by COPY);
//! - the webhooks (`consent_events_webhooks`) stay: a statement trigger over the copied rows.
//!
//! The append-only triggers (no UPDATE, DELETE or TRUNCATE) stay in force for everyone else, and
//! every setting a load changes is `SET LOCAL`: it ends with the load's transaction, rolled back
//! or committed.
//!
//! Foreign keys: PostgreSQL checks them with a query per inserted row and per key, which costs a
//! load several times its own writes (measured: 100,000 current states with their two keys
//! checked took 3.6 times as long as without). A role that may set `session_replication_role`
//! (a superuser, or one granted `SET ON PARAMETER session_replication_role`, PostgreSQL 15)
//! loads with it at `replica` for the transaction, which sets aside every trigger, those of the
//! foreign keys included, as SQLite's import does with `PRAGMA foreign_keys` (fastimport.rs)
//! and for the same reason: every reference a load writes is one it has just read and locked
//! (a matched contact `FOR SHARE`, its consent types `FOR SHARE`; privacy notices are never
//! deleted) or just written itself (its contacts, its events). Unique keys and CHECK
//! constraints are indexes and constraints, not triggers: they hold as always (a trigger an
//! operator adds to these tables is set aside too: a rule of their own belongs in a constraint).
//! With an active webhook subscription a load keeps the triggers (the webhooks' statement
//! trigger emits the load's events), and so does a role without that right: the keys are then
//! checked row by row.

use std::collections::HashMap;

use consento_domain::ledger::EventRecord;
use consento_domain::{ConsentTypeId, DomainError};
use sqlx::PgConnection;

use crate::StoreError;
use crate::row::Cols;

/// The columns of `INSERT_CONTACT` (inserts.rs), in its order.
pub(crate) const COPY_CONTACTS: &str = "COPY contacts (id, external_id, name, email, email_hash, phone, phone_hash, attributes, source, legal_basis, purposes, created_at, updated_at, name_folded) FROM STDIN (FORMAT binary)";
/// The columns of `INSERT_EMAIL`.
pub(crate) const COPY_EMAILS: &str =
    "COPY contact_emails (email, contact_id, position) FROM STDIN (FORMAT binary)";
/// The columns of `INSERT_PHONE`.
pub(crate) const COPY_PHONES: &str =
    "COPY contact_phones (phone, contact_id, position) FROM STDIN (FORMAT binary)";
/// The columns of `INSERT_EVENTS`, in its order (see [`CopyRows::event`]).
pub(crate) const COPY_EVENTS: &str = "COPY consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash) FROM STDIN (FORMAT binary)";
/// The columns of `INSERT_EVIDENCE`.
pub(crate) const COPY_EVIDENCE: &str =
    "COPY consent_evidence (event_seq, salt, content) FROM STDIN (FORMAT binary)";
/// The columns of the current states.
const COPY_STATES: &str = "COPY consent_state (contact_id, consent_type_id, kind, granted, event_seq, event_time, valid_until) FROM STDIN (FORMAT binary)";

/// The upsert of `consento_project_event` (migrations 0001), for many states at once: each row
/// is the one event of its contact and type that the trigger, run event by event in ledger
/// order, would have left, and it replaces the stored state on the same condition.
const UPSERT_STATES: &str = "INSERT INTO consent_state (contact_id, consent_type_id, kind, granted, event_seq, event_time, valid_until) SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::boolean[], $5::bigint[], $6::bigint[], $7::bigint[]) ON CONFLICT (contact_id, consent_type_id) DO UPDATE SET kind = excluded.kind, granted = excluded.granted, event_seq = excluded.event_seq, event_time = excluded.event_time, valid_until = excluded.valid_until WHERE excluded.event_time >= consent_state.event_time";

/// A microsecond count of `validity_days` days, as the trigger computes it.
const DAY_MICROS: i64 = 86_400_000_000;

/// The rows of one `COPY … (FORMAT binary)`, encoded as PostgreSQL's binary copy format: a
/// signature and header, then per row its field count and each field's length and bytes
/// (length -1 for NULL), then a trailer. Binary: no escaping, and hashes and ids go as bytes.
pub(crate) struct CopyRows {
    buf: Vec<u8>,
    rows: usize,
}

impl CopyRows {
    const SIGNATURE: &'static [u8] = b"PGCOPY\n\xff\r\n\0";

    pub(crate) fn new() -> Self {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(Self::SIGNATURE);
        // Flags (no OIDs), then the length of the header extension (none).
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        Self { buf, rows: 0 }
    }

    /// Starts a row of `fields` fields.
    pub(crate) fn row(&mut self, fields: i16) -> &mut Self {
        self.rows += 1;
        self.buf.extend_from_slice(&fields.to_be_bytes());
        self
    }

    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        // No field of a load comes near 1 GiB (PostgreSQL's own limit for one value); a longer
        // one would be refused by the server as a malformed row, never written cut.
        let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
        self
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }

    pub(crate) fn uuid(&mut self, id: uuid::Uuid) -> &mut Self {
        self.field(id.as_bytes())
    }

    pub(crate) fn opt_uuid(&mut self, id: Option<uuid::Uuid>) -> &mut Self {
        match id {
            Some(id) => self.uuid(id),
            None => self.null(),
        }
    }

    pub(crate) fn int(&mut self, n: i64) -> &mut Self {
        self.field(&n.to_be_bytes())
    }

    pub(crate) fn opt_int(&mut self, n: Option<i64>) -> &mut Self {
        match n {
            Some(n) => self.int(n),
            None => self.null(),
        }
    }

    pub(crate) fn flag(&mut self, b: bool) -> &mut Self {
        self.field(&[u8::from(b)])
    }

    /// A TEXT field (UTF-8, as the connection's client encoding).
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        self.field(s.as_bytes())
    }

    pub(crate) fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A BYTEA field.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.field(b)
    }

    pub(crate) fn opt_bytes(&mut self, b: Option<&[u8]>) -> &mut Self {
        match b {
            Some(b) => self.bytes(b),
            None => self.null(),
        }
    }

    /// One `consent_events` row (the columns of [`COPY_EVENTS`]).
    pub(crate) fn event(&mut self, r: &EventRecord, hash: &[u8; 32]) -> &mut Self {
        self.row(16)
            .int(r.seq)
            .uuid(r.id.0)
            .uuid(r.contact_id.0)
            .uuid(r.consent_type_id.0)
            .text(&r.type_code)
            .text(r.kind.code())
            .int(r.event_time.as_micros())
            .int(r.recorded_at.as_micros())
            .text(r.method.code())
            .text(r.actor_kind.code())
            .text(&r.actor_id)
            .opt_uuid(r.notice_id.map(|n| n.0))
            .opt_int(r.validity_days.map(i64::from))
            .opt_bytes(r.evidence_digest.as_ref().map(|d| d.as_slice()))
            .bytes(&r.prev_hash)
            .bytes(hash)
    }

    /// Sends the rows with `statement` (one of this module's `COPY_…`) on `conn`; nothing when
    /// there are none.
    pub(crate) async fn copy(
        mut self,
        conn: &mut PgConnection,
        statement: &str,
    ) -> Result<(), StoreError> {
        if self.rows == 0 {
            return Ok(());
        }
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        let mut copy = conn.copy_in_raw(statement).await?;
        copy.send(self.buf).await?;
        copy.finish().await?;
        Ok(())
    }
}

/// Begins a load in the transaction on `conn`: takes the ledger head (its row lock, held to the
/// commit), sets the per-row triggers of the ledger aside for this transaction (see the
/// module's documentation), and checks that each of `types` (id, code, validity) is what the
/// load's events will say, locking those rows until the commit. Returns the head (seq, hash).
pub(crate) async fn begin(
    conn: &mut PgConnection,
    types: &[(ConsentTypeId, &str, Option<u32>)],
) -> Result<(i64, [u8; 32]), StoreError> {
    let head = sqlx::query("UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("SET LOCAL consento.bulk_load = 'copy'")
        .execute(&mut *conn)
        .await?;
    if may_set_triggers_aside(&mut *conn).await? {
        sqlx::query("SET LOCAL session_replication_role = replica")
            .execute(&mut *conn)
            .await?;
    }
    for (id, code, validity) in types {
        let current = sqlx::query("SELECT 1 AS one FROM consent_types WHERE id = $1 AND code = $2 AND validity_days IS NOT DISTINCT FROM $3 FOR SHARE")
            .bind(id.0)
            .bind(*code)
            .bind(validity.map(i64::from))
            .fetch_optional(&mut *conn)
            .await?;
        // As the trigger's own check: the type changed since the load read it.
        if current.is_none() {
            return Err(StoreError::Stale);
        }
    }
    Ok((head.int("seq")?, crate::row::hash32(head.bytes("hash")?)?))
}

/// Whether a load may set every trigger aside for its transaction (see the module's
/// documentation): its role may set `session_replication_role`, and no webhook subscription is
/// active (their statement trigger is one of the triggers that would be set aside).
async fn may_set_triggers_aside(conn: &mut PgConnection) -> Result<bool, StoreError> {
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut *conn)
        .await?;
    // Before PostgreSQL 15 only a superuser may; since, also a role granted the parameter.
    let sql = if version >= 150_000 {
        "SELECT has_parameter_privilege('session_replication_role', 'SET')"
    } else {
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    };
    let allowed: Option<bool> = sqlx::query_scalar(sql).fetch_optional(&mut *conn).await?;
    if allowed != Some(true) {
        return Ok(false);
    }
    let webhooks: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active)")
            .fetch_one(&mut *conn)
            .await?;
    Ok(!webhooks)
}

/// Ends a load: moves the ledger head to its last event (`seq`, `hash`), and tells every process
/// deciding from memory to forget what it remembers (the decision change log's per-row triggers
/// stepped aside for the load, migration 0035). The setting of [`begin`] ends with the
/// transaction.
pub(crate) async fn finish(
    conn: &mut PgConnection,
    seq: i64,
    hash: &[u8; 32],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash.to_vec())
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO decision_changes (contact_id) VALUES (NULL)")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A current state as `consento_project_event` computes it from an event.
#[derive(Debug, Clone, Copy)]
struct State {
    kind: consento_domain::EventKind,
    seq: i64,
    time: i64,
    valid_until: i64,
}

/// The current states a part of a load leaves, as the projection trigger would have left them
/// had it run event by event: per contact and type, the latest event by event time, the later
/// in the ledger among equal times. Events are added in ledger order.
#[derive(Default)]
pub(crate) struct Projection {
    /// States of contacts created in this part: no state of theirs is stored yet.
    fresh: HashMap<(uuid::Uuid, uuid::Uuid), State>,
    /// States of contacts that were stored before: merged with the stored state.
    stored: HashMap<(uuid::Uuid, uuid::Uuid), State>,
}

impl Projection {
    /// Adds an event (after every event of smaller seq); `fresh` when its contact was created in
    /// this part.
    pub(crate) fn add(&mut self, r: &EventRecord, fresh: bool) -> Result<(), StoreError> {
        let time = r.event_time.as_micros();
        let valid_until = if r.kind.grants() {
            match r.validity_days {
                Some(days) => i64::from(days)
                    .checked_mul(DAY_MICROS)
                    .and_then(|d| time.checked_add(d))
                    .ok_or_else(|| DomainError::invalid("event_time", "out of range"))?,
                None => i64::MAX,
            }
        } else {
            time
        };
        let state = State {
            kind: r.kind,
            seq: r.seq,
            time,
            valid_until,
        };
        let map = if fresh {
            &mut self.fresh
        } else {
            &mut self.stored
        };
        // The trigger's condition: a later event replaces the state unless it is older.
        map.entry((r.contact_id.0, r.consent_type_id.0))
            .and_modify(|s| {
                if time >= s.time {
                    *s = state;
                }
            })
            .or_insert(state);
        Ok(())
    }

    /// Writes the states: the fresh ones by COPY (in key order, so that the table's key grows
    /// where the load's ascending contact ids put it), the others with the trigger's upsert.
    pub(crate) async fn write(self, conn: &mut PgConnection) -> Result<(), StoreError> {
        let mut fresh: Vec<_> = self.fresh.into_iter().collect();
        fresh.sort_unstable_by_key(|(k, _)| *k);
        let mut rows = CopyRows::new();
        for ((contact, ty), s) in fresh {
            rows.row(7)
                .uuid(contact)
                .uuid(ty)
                .text(s.kind.code())
                .flag(s.kind.grants())
                .int(s.seq)
                .int(s.time)
                .int(s.valid_until);
        }
        rows.copy(&mut *conn, COPY_STATES).await?;
        if self.stored.is_empty() {
            return Ok(());
        }
        let mut stored: Vec<_> = self.stored.into_iter().collect();
        stored.sort_unstable_by_key(|(k, _)| *k);
        let n = stored.len();
        let (mut contacts, mut types, mut kinds, mut granted) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut seqs, mut times, mut until) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for ((contact, ty), s) in stored {
            contacts.push(contact);
            types.push(ty);
            kinds.push(s.kind.code().to_owned());
            granted.push(s.kind.grants());
            seqs.push(s.seq);
            times.push(s.time);
            until.push(s.valid_until);
        }
        sqlx::query(UPSERT_STATES)
            .bind(contacts)
            .bind(types)
            .bind(kinds)
            .bind(granted)
            .bind(seqs)
            .bind(times)
            .bind(until)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
