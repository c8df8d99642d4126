//! The multi-row INSERTs of contacts and of the consent ledger, before their values, and the
//! macro that adds an event's VALUES row to one: what the ledger's group commit (ledger.rs), bulk
//! loads (bulk.rs) and imports (import.rs, fastimport.rs) write with, below all of them.

/// The INSERTs of a load, before their values: shared by bulk loads and imports (multi-row
/// statements through sqlx, and the SQLite import's one-row statements, see fastimport.rs).
pub(crate) const INSERT_CONTACT: &str = "INSERT INTO contacts (id, external_id, name, email, email_hash, phone, phone_hash, attributes, source, legal_basis, purposes, created_at, updated_at, name_folded) ";
pub(crate) const INSERT_EMAIL: &str = "INSERT INTO contact_emails (email, contact_id, position) ";
pub(crate) const INSERT_PHONE: &str = "INSERT INTO contact_phones (phone, contact_id, position) ";
pub(crate) const INSERT_EVIDENCE: &str = "INSERT INTO consent_evidence (event_seq, salt, content) ";
pub(crate) const INSERT_EVENTS: &str = "INSERT INTO consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash) ";

/// Adds one VALUES row per event to a multi-row `INSERT INTO consent_events (…)` (the columns
/// of [`INSERT_EVENTS`], in its order); `$pat` destructures each row, binding the event to `$r`
/// and its hash to `$hash`.
macro_rules! push_event_values {
    ($qb:ident, $rows:expr, $pat:pat => $r:ident, $hash:ident) => {
        $qb.push_values($rows, |mut b, $pat| {
            b.push_bind($r.seq)
                .push_bind($r.id.0)
                .push_bind($r.contact_id.0)
                .push_bind($r.consent_type_id.0)
                .push_bind($r.type_code.clone())
                .push_bind($r.kind.code())
                .push_bind($r.event_time.as_micros())
                .push_bind($r.recorded_at.as_micros())
                .push_bind($r.method.code())
                .push_bind($r.actor_kind.code())
                .push_bind($r.actor_id.clone())
                .push_bind($r.notice_id.map(|n| n.0))
                .push_bind($r.validity_days.map(i64::from))
                .push_bind($r.evidence_digest.map(|d| d.to_vec()))
                .push_bind($r.prev_hash.to_vec())
                .push_bind($hash.to_vec());
        })
    };
}
pub(crate) use push_event_values;
