//! Answering "may I reach this contact now?" from the database in one query (contact flags,
//! suppression, settings and every consent state of the contact), then the domain's rules; and
//! recording a justified contact.

use std::collections::BTreeMap;

use consento_domain::consent::{EventFacts, expiry_of, latest_event_at};
use consento_domain::{
    Action, ConsentCode, ConsentState, ConsentTypeId, ContactId, ContactStatus, Decision,
    DomainError, EventKind, PrivacySettings, ReasonId, Timestamp, decide,
};

use crate::decision_cache::{self, DecisionCache};
use crate::decision_facts::{self, Facts, KeyKind};
use crate::fastread::{FastRead, Param};
use crate::row::Cols;
use crate::types::{marketing_from, permissions_from, validity_from};
use crate::{
    ContactRef, DecisionReport, Interaction, Store, StoreError, in_write_tx, on_read_pool,
};

/// The decision query with its lookup clause: one round trip whatever the caller knows of the
/// contact. Rows: one per consent state (or one with NULL state columns when there is none).
macro_rules! decision_sql {
    ($where:literal) => {
        decision_sql!("", "", $where)
    };
    // With the keys a CRM, a mail sender and a dialer name the contact by (the primary address
    // and number), to remember it under them; `$states` bounds the consent states read.
    (keyed, $states:literal, $where:literal) => {
        decision_sql!(
            "c.external_id AS key_external, c.email AS key_email, c.phone AS key_phone, ",
            $states,
            $where
        )
    };
    ($more:literal, $states:literal, $where:literal) => {
        concat!(
            "SELECT ", $more, "c.id, c.erased_at, c.restricted_at, c.objected_at, c.email_off_at, c.phone_off_at, c.sms_off_at, ",
            "(se.hash IS NOT NULL) AS email_suppressed, (sp.hash IS NOT NULL) AS phone_suppressed, ",
            "st.check_email_single, st.check_email_bulk, st.check_phone, st.check_sms, ",
            "s.consent_type_id, s.kind, s.event_time, s.valid_until, t.code, ",
            "t.allow_email_bulk, t.allow_email_single, t.allow_phone_call, t.allow_sms_single, t.allow_sms_bulk, t.purpose ",
            "FROM contacts c CROSS JOIN settings st ",
            // Joins, not EXISTS subqueries: for EXISTS PostgreSQL may choose a hashed subplan that
            // reads the whole suppression list at every decision (4 ms with 27,000 entries).
            "LEFT JOIN suppression se ON se.hash = c.email_hash ",
            "LEFT JOIN suppression sp ON sp.hash = c.phone_hash ",
            "LEFT JOIN consent_state s ON s.contact_id = c.id ", $states,
            "LEFT JOIN consent_types t ON t.id = s.consent_type_id ",
            $where
        )
    };
}

const BY_ID: &str = decision_sql!("WHERE c.id = $1");
/// [`BY_ID`] with the contact's keys: a contact forgotten after it was asked about by a key is
/// read again with the keys it has now (the cache does not keep their text).
const BY_ID_KEYED: &str = decision_sql!(keyed, "", "WHERE c.id = $1");
/// The ids that bound the next [`PRELOAD_CHUNK`] contacts after `$1`, in id order.
const PRELOAD_IDS: &str = "SELECT id FROM contacts WHERE id > $1 ORDER BY id LIMIT 5000";
/// SQLite: the facts of the contacts with an id after `$1` up to `$2`, with their keys.
const PRELOAD: &str = decision_sql!(
    keyed,
    "AND s.contact_id > $1 AND s.contact_id <= $2 ",
    "WHERE c.id > $1 AND c.id <= $2 ORDER BY c.id"
);
/// PostgreSQL: the facts of the contacts whose ids are in `$1`, with their keys. By the list,
/// on the consent states too, and with a generic plan (see `preload_pg`): PostgreSQL's estimate
/// for a range of 5,000 ids among millions is a single row, and its plan for one then scans the
/// range of states once per contact (8 s a chunk on 10M contacts); a merge join on the contacts
/// alone reads the states from the first contact on (2.7 s for a chunk 600,000 in).
const PRELOAD_PG: &str = decision_sql!(
    keyed,
    "AND s.contact_id = ANY($1) ",
    "WHERE c.id = ANY($1) ORDER BY c.id"
);
/// Contacts read per preload statement (the LIMIT of [`PRELOAD_IDS`]).
const PRELOAD_CHUNK: usize = 5000;
const BY_EXTERNAL: &str = decision_sql!("WHERE c.external_id = $1");
const BY_EMAIL: &str =
    decision_sql!("WHERE c.id = (SELECT contact_id FROM contact_emails WHERE email = $1)");
const BY_PHONE: &str =
    decision_sql!("WHERE c.id = (SELECT contact_id FROM contact_phones WHERE phone = $1)");

fn facts_from<R: Cols>(rows: &[R]) -> Result<Option<Facts>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let ts = |v: Option<i64>| v.map(Timestamp::from_micros);
    let mut consents = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(type_id) = row.opt_uuid("consent_type_id")? else {
            continue;
        };
        let kind = EventKind::parse(&row.text("kind")?)?;
        let valid_until = row.int("valid_until")?;
        consents.push(ConsentState {
            type_id: ConsentTypeId(type_id),
            code: ConsentCode::parse(&row.text("code")?)?,
            permissions: permissions_from(row)?,
            marketing: marketing_from(row)?,
            kind,
            event_time: Timestamp::from_micros(row.int("event_time")?),
            expires_at: (kind.grants() && valid_until != i64::MAX)
                .then(|| Timestamp::from_micros(valid_until)),
        });
    }
    Ok(Some(Facts {
        contact_id: ContactId(first.uuid("id")?),
        status: ContactStatus {
            erased_at: ts(first.opt_int("erased_at")?),
            restricted_since: ts(first.opt_int("restricted_at")?),
            objected_since: ts(first.opt_int("objected_at")?),
            email_suppressed: first.flag("email_suppressed")?,
            phone_suppressed: first.flag("phone_suppressed")?,
            email_off_since: ts(first.opt_int("email_off_at")?),
            phone_off_since: ts(first.opt_int("phone_off_at")?),
            sms_off_since: ts(first.opt_int("sms_off_at")?),
        },
        settings: PrivacySettings {
            check_email_single: first.flag("check_email_single")?,
            check_email_bulk: first.flag("check_email_bulk")?,
            check_phone: first.flag("check_phone")?,
            check_sms: first.flag("check_sms")?,
        },
        consents,
    }))
}

/// That the decision it came with was answered after a PostgreSQL fence (pgfence.rs) had
/// brought the decision cache up to every change committed before the decision was asked. The
/// ring's facts of that same decision may then be read from memory without a fence of their
/// own: the one taken already started after the question arrived, and the cache only moves
/// forward. It proves nothing for a later question; the store alone makes one.
#[derive(Debug)]
pub struct Fenced(pub(crate) bool);

impl Fenced {
    /// No proof: the ring's facts fence for themselves.
    pub const NONE: Fenced = Fenced(false);
}

impl Store {
    /// The facts a decision about `contact` reads, and whether a PostgreSQL fence had brought
    /// the cache up to date before they were read (see [`Fenced`]).
    async fn facts(&self, contact: &ContactRef) -> Result<(Facts, Fenced), StoreError> {
        let (sql, key): (&'static str, Key) = match contact {
            ContactRef::Id(id) => (BY_ID, Key::Id(id.0)),
            ContactRef::External(e) => (BY_EXTERNAL, Key::Text(e.trim().to_owned())),
            ContactRef::Email(e) => (
                BY_EMAIL,
                Key::Text(consento_domain::Email::parse(e)?.as_str().to_owned()),
            ),
            ContactRef::Phone(p) => (
                BY_PHONE,
                Key::Text(
                    consento_domain::Phone::parse(p, &self.country_code)?
                        .as_str()
                        .to_owned(),
                ),
            ),
        };
        let cache_key = match (contact, &key) {
            (ContactRef::External(_), Key::Text(t)) => Some((KeyKind::External, t.as_str())),
            (ContactRef::Email(_), Key::Text(t)) => Some((KeyKind::Email, t.as_str())),
            (ContactRef::Phone(_), Key::Text(t)) => Some((KeyKind::Phone, t.as_str())),
            _ => None,
        };
        let remembered = |cache: &DecisionCache| match (cache_key, &key) {
            (Some((kind, text)), _) => cache.by_key(kind, text),
            (None, Key::Id(id)) => cache.by_id(*id),
            (None, Key::Text(_)) => None,
        };
        if let Some(fast) = &self.fast {
            let param = match &key {
                Key::Id(id) => Param::Blob(id.as_bytes()),
                Key::Text(t) => Param::Text(t),
            };
            let Some(cache) = &self.decision_cache else {
                let facts = fast.query(sql, param, |rows| facts_from(rows))?;
                return Ok((
                    facts.ok_or_else(|| StoreError::not_found("contact"))?,
                    Fenced(false),
                ));
            };
            // The change log's position first, then the facts: what is remembered is never
            // older than a change committed before this decision was asked.
            let head = fence(fast, cache)?;
            if let Some(facts) = remembered(cache) {
                return Ok((facts, Fenced(false)));
            }
            let facts = fast
                .query(sql, param, |rows| facts_from(rows))?
                .ok_or_else(|| StoreError::not_found("contact"))?;
            cache.remember(head, cache_key.as_slice(), &facts);
            return Ok((facts, Fenced(false)));
        }
        // Boxed: the pool's future is large, and an unboxed one would make every decision's
        // future (allocated per request by the HTTP stack) that large, fast path or not.
        Box::pin(async {
            // PostgreSQL: the fence first, then the facts, as on SQLite (pgfence.rs).
            let remembering = match (&self.pg_fence, &self.decision_cache) {
                (Some(fence), Some(cache)) => {
                    let head = fence.fence().await?;
                    if let Some(facts) = remembered(cache) {
                        return Ok((facts, Fenced(true)));
                    }
                    Some((cache, head))
                }
                _ => None,
            };
            let facts = on_read_pool!(self, pool => {
                let q = sqlx::query(sql);
                let q = match &key { Key::Id(id) => q.bind(*id), Key::Text(t) => q.bind(t.as_str()) };
                facts_from(&q.fetch_all(pool).await?)?
            })
            .ok_or_else(|| StoreError::not_found("contact"))?;
            let fenced = Fenced(remembering.is_some());
            if let Some((cache, head)) = remembering {
                cache.remember(head, cache_key.as_slice(), &facts);
            }
            Ok((facts, fenced))
        })
        .await
    }

    /// How many contacts this process remembers for its decisions (see `decision_cache`): all
    /// of them up to `decision_cache_entries` once the cache is filled at start.
    pub fn remembered_contacts(&self) -> usize {
        self.decision_cache.as_ref().map_or(0, |c| c.len())
    }

    /// What the remembered contacts take in memory, in bytes (their records and the tables that
    /// find them by id and by key).
    pub fn remembered_bytes(&self) -> usize {
        self.decision_cache.as_ref().map_or(0, |c| c.bytes())
    }

    /// Decides whether `action` may reach the contact at `at` (now if `None`), with the rule that
    /// decided (the first match among the rules of `consento_domain::decide`). For an instant in
    /// the past, the consents are rebuilt from the ledger as they stood then (what was known by
    /// now about that moment).
    pub async fn decide(
        &self,
        contact: &ContactRef,
        action: Action,
        at: Option<Timestamp>,
    ) -> Result<DecisionReport, StoreError> {
        Ok(self.decide_fenced(contact, action, at).await?.0)
    }

    /// [`Self::decide`], with the proof of its fence for the ring's facts of the same decision
    /// ([`Self::ring_facts_after`]).
    pub async fn decide_fenced(
        &self,
        contact: &ContactRef,
        action: Action,
        at: Option<Timestamp>,
    ) -> Result<(DecisionReport, Fenced), StoreError> {
        let now = self.now();
        let at = at.unwrap_or(now);
        let (mut facts, fenced) = self.facts(contact).await?;
        if at < now {
            // Boxed, as the pool's path in `facts`: rare, and its future is large.
            facts.consents = Box::pin(self.consents_at(facts.contact_id, at)).await?;
            let before = |since: Option<Timestamp>| since.filter(|s| *s <= at);
            facts.status.restricted_since = before(facts.status.restricted_since);
            facts.status.objected_since = before(facts.status.objected_since);
        }
        let decision = decide(&facts.status, &facts.settings, &facts.consents, action, at);
        let report = DecisionReport {
            contact_id: facts.contact_id,
            action,
            at,
            decision,
        };
        Ok((report, fenced))
    }

    /// A contact's consent states at a past instant, projected from its ledger events.
    async fn consents_at(
        &self,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Vec<ConsentState>, StoreError> {
        let rows: Vec<(ConsentState, EventFacts)> = on_read_pool!(self, pool => {
            sqlx::query(
                "SELECT e.seq, e.consent_type_id, t.code, e.kind, e.event_time, e.validity_days, t.allow_email_bulk, t.allow_email_single, t.allow_phone_call, t.allow_sms_single, t.allow_sms_bulk, t.purpose FROM consent_events e JOIN consent_types t ON t.id = e.consent_type_id WHERE e.contact_id = $1 AND e.event_time <= $2",
            )
            .bind(contact.0)
            .bind(at.as_micros())
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                let kind = EventKind::parse(&row.text("kind")?)?;
                let event_time = Timestamp::from_micros(row.int("event_time")?);
                let validity_days = validity_from(row.opt_int("validity_days")?)?;
                Ok((
                    ConsentState {
                        type_id: ConsentTypeId(row.uuid("consent_type_id")?),
                        code: ConsentCode::parse(&row.text("code")?)?,
                        permissions: permissions_from(row)?,
                        marketing: marketing_from(row)?,
                        kind,
                        event_time,
                        expires_at: expiry_of(kind, event_time, validity_days),
                    },
                    EventFacts { seq: row.int("seq")?, kind, event_time, validity_days },
                ))
            })
            .collect::<Result<_, StoreError>>()?
        });
        let mut by_type: BTreeMap<ConsentTypeId, Vec<(ConsentState, EventFacts)>> = BTreeMap::new();
        for (state, facts) in rows {
            by_type
                .entry(state.type_id)
                .or_default()
                .push((state, facts));
        }
        // Per type, the state of the event the domain's ordering rule picks.
        Ok(by_type
            .into_values()
            .filter_map(|events| {
                let facts: Vec<EventFacts> = events.iter().map(|(_, f)| f.clone()).collect();
                let latest = latest_event_at(&facts, at)?.seq;
                events
                    .into_iter()
                    .find(|(_, f)| f.seq == latest)
                    .map(|(s, _)| s)
            })
            .collect())
    }

    /// Records a justified contact: the operator reaches someone without a valid consent for a
    /// reason from the active list (rule 7 of `consento_domain::decide`). Refused when the
    /// contact is blocked, when the reason is inactive, and for a marketing reason under an
    /// objection (Art. 21(3)). When the contact is allowed anyway, nothing is recorded and the
    /// decision is returned.
    pub async fn justify(
        &self,
        contact: &ContactRef,
        action: Action,
        reason: ReasonId,
        note: Option<&str>,
        operator: &str,
    ) -> Result<(DecisionReport, Option<Interaction>), StoreError> {
        let (report, interaction) = self
            .justification(contact, action, reason, note, operator)
            .await?;
        let Some(interaction) = interaction else {
            return Ok((report, None));
        };
        crate::audit::set_target_id("contact", report.contact_id.0);
        crate::audit::add_detail("interaction_id", serde_json::json!(interaction.id));
        in_write_tx!(self, tx => {
            insert_interaction!(tx, interaction);
        });
        Ok((report, Some(interaction)))
    }

    /// The justified contact [`Store::justify`] records, checked and made but not written: the
    /// decision now, and the interaction to insert (none when the contact is allowed anyway).
    /// A write that records it with other rows (a relayed message) inserts it in its own
    /// transaction with `insert_interaction!`.
    pub(crate) async fn justification(
        &self,
        contact: &ContactRef,
        action: Action,
        reason: ReasonId,
        note: Option<&str>,
        operator: &str,
    ) -> Result<(DecisionReport, Option<Interaction>), StoreError> {
        let operator = operator.trim();
        consento_domain::text::check("operator", operator, consento_domain::text::Lines::One)?;
        if operator.is_empty() || operator.len() > 128 {
            return Err(DomainError::invalid("operator", "must be 1 to 128 characters").into());
        }
        // A note may run over several lines (it is typed in a textarea).
        let note = consento_domain::text::optional(
            "note",
            note,
            2000,
            consento_domain::text::Lines::Many,
        )?;
        let report = self.decide(contact, action, None).await?;
        let reason = self.reason(reason).await?;
        report.decision.accept_reason(&reason)?;
        let Decision::NeedsJustification { cause, .. } = &report.decision else {
            return Ok((report, None));
        };
        let now = self.now();
        let interaction = Interaction {
            id: self.new_uuid(now)?,
            contact_id: report.contact_id,
            action,
            cause: Some(cause.code().to_owned()),
            reason_id: Some(reason.id),
            reason_label: Some(reason.label.clone()),
            note,
            operator: operator.to_owned(),
            occurred_at: now,
        };
        Ok((report, Some(interaction)))
    }

    /// A contact's justified contacts, newest first.
    pub async fn interactions(&self, contact: &ContactRef) -> Result<Vec<Interaction>, StoreError> {
        let id = self.resolve_contact(contact).await?;
        on_read_pool!(self, pool => {
            sqlx::query(
                "SELECT i.id, i.action, i.cause, i.reason_id, r.label, i.note, i.operator, i.occurred_at FROM interactions i LEFT JOIN contact_reasons r ON r.id = i.reason_id WHERE i.contact_id = $1 ORDER BY i.occurred_at DESC, i.id DESC",
            )
            .bind(id.0)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| Ok(Interaction {
                id: row.uuid("id")?,
                contact_id: id,
                action: Action::parse(&row.text("action")?)?,
                cause: row.opt_text("cause")?,
                reason_id: row.opt_uuid("reason_id")?.map(ReasonId),
                reason_label: row.opt_text("label")?,
                note: row.opt_text("note")?,
                operator: row.text("operator")?,
                occurred_at: Timestamp::from_micros(row.int("occurred_at")?),
            }))
            .collect()
        })
    }
}

/// Inserts justified contact `$i` (an [`Interaction`] made by [`Store::justification`]) in
/// transaction `$tx`: a justified contact is written in the transaction of whatever it belongs
/// to (the contact moment alone, the release of a held message, a relayed message).
macro_rules! insert_interaction {
    ($tx:ident, $i:expr) => {{
        let i: &$crate::Interaction = &$i;
        sqlx::query(
            "INSERT INTO interactions (id, contact_id, action, outcome, cause, reason_id, note, operator, occurred_at) VALUES ($1, $2, $3, 'justified', $4, $5, $6, $7, $8)",
        )
        .bind(i.id)
        .bind(i.contact_id.0)
        .bind(i.action.code())
        .bind(&i.cause)
        .bind(i.reason_id.map(|r| r.0))
        .bind(&i.note)
        .bind(&i.operator)
        .bind(i.occurred_at.as_micros())
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use insert_interaction;

enum Key {
    Id(uuid::Uuid),
    Text(String),
}

/// Brings `cache` up to every change committed so far and returns the log position it is at.
/// The WAL header is read before the position, so that while it is the same the position is
/// too, and the position need not be read again.
pub(crate) fn fence(fast: &FastRead, cache: &DecisionCache) -> Result<i64, StoreError> {
    Ok(fence_forgetting(fast, cache)?.0)
}

/// [`fence`], also returning the contacts it forgot.
fn fence_forgetting(
    fast: &FastRead,
    cache: &DecisionCache,
) -> Result<(i64, Vec<decision_cache::Forgotten>), StoreError> {
    let header = fast.wal_header();
    if let Some(head) = header.as_ref().and_then(|h| cache.fresh(h)) {
        return Ok((head, Vec::new()));
    }
    let head = fast
        .rows(decision_facts::HEAD_SQL, [], |r| r.get::<_, Option<i64>>(0))?
        .first()
        .copied()
        .flatten()
        .unwrap_or(0);
    let forgotten = cache.catch_up(head, |seen| {
        fast.rows(
            decision_facts::CHANGES_SQL,
            (seen, decision_facts::MAX_CHANGES + 1),
            |r| {
                let contact: Option<Vec<u8>> = r.get(1)?;
                Ok((
                    r.get(0)?,
                    contact.and_then(|b| uuid::Uuid::from_slice(&b).ok()),
                ))
            },
        )
    })?;
    if let Some(h) = header {
        cache.fenced(h, head);
    }
    Ok((head, forgotten))
}

/// Reads again, as a decision asked the same way would, the contacts a fence forgot, and
/// remembers them, with the ring facts a call had asked for: a changed contact is then a hit at
/// its next decision instead of a read.
fn refresh(
    fast: &FastRead,
    cache: &DecisionCache,
    head: i64,
    forgotten: &[decision_cache::Forgotten],
) -> Result<(), StoreError> {
    for decision_cache::Forgotten { id, by_key, ring } in forgotten {
        let id_param = Param::Blob(id.as_bytes());
        if *by_key {
            fast.query(BY_ID_KEYED, id_param, |rows| {
                remember_with_keys(cache, head, rows)
            })?;
        } else if let Some(facts) = fast.query(BY_ID, id_param, |rows| facts_from(rows))? {
            cache.remember(head, &[], &facts);
        }
        // Kept only if the contact was remembered again above (see `remember_ring`).
        for code in ring {
            let facts = crate::rpo::read_ring(fast, ContactId(*id), None, code.as_deref())?;
            cache.remember_ring(head, *id, code.as_deref(), &facts);
        }
    }
    Ok(())
}

/// [`refresh`] on PostgreSQL, through the pool (pgfence.rs's follower calls it).
pub(crate) async fn refresh_pg(
    pool: &sqlx::PgPool,
    cache: &DecisionCache,
    head: i64,
    forgotten: &[decision_cache::Forgotten],
) -> Result<(), StoreError> {
    for decision_cache::Forgotten { id, by_key, ring } in forgotten {
        if *by_key {
            let rows = sqlx::query(BY_ID_KEYED).bind(*id).fetch_all(pool).await?;
            remember_with_keys(cache, head, &rows)?;
        } else {
            let rows = sqlx::query(BY_ID).bind(*id).fetch_all(pool).await?;
            if let Some(facts) = facts_from(&rows)? {
                cache.remember(head, &[], &facts);
            }
        }
        // Kept only if the contact was remembered again above (see `remember_ring`).
        for code in ring {
            let facts =
                crate::rpo::read_ring_pg(pool, ContactId(*id), None, code.as_deref()).await?;
            cache.remember_ring(head, *id, code.as_deref(), &facts);
        }
    }
    Ok(())
}

/// Fills a PostgreSQL store's cache when it starts, contact by contact in id order, until it is
/// full: without it a fresh server reads the database for each contact the first time it is
/// asked about it, a few thousand a second, for millions of questions. Each chunk is read after
/// a fence and remembered at its position, as a decision's facts are: a chunk read while a
/// change was committed is not kept (those contacts are read when asked).
pub(crate) async fn preload_pg(
    pool: &sqlx::PgPool,
    fence: &std::sync::Arc<crate::pgfence::PgFence>,
    cache: &DecisionCache,
) -> Result<(), StoreError> {
    let mut after = uuid::Uuid::nil();
    while !cache.is_full() {
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(PRELOAD_IDS)
            .bind(after)
            .fetch_all(pool)
            .await?;
        let Some(last) = ids.last().copied() else {
            return Ok(());
        };
        let head = fence.fence().await?;
        let mut tx = pool.begin().await?;
        // The planner's estimate for a chunk can be high enough to compile the query (JIT),
        // which took 320 of the 440 ms a chunk cost; it runs 200 times a million contacts. The
        // generic plan (a list of unknown length) looks every contact up by its key, which is
        // what 5,000 of them among millions need.
        sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
        sqlx::query("SET LOCAL plan_cache_mode = force_generic_plan")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(PRELOAD_PG)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        remember_chunk(cache, head, &rows)?;
        if ids.len() < PRELOAD_CHUNK {
            return Ok(());
        }
        after = last;
    }
    Ok(())
}

/// Fills a SQLite store's cache when it starts, as [`preload_pg`] does on PostgreSQL, until it
/// is full or the store stops: a fresh server then answers from memory within seconds instead
/// of reading each contact at its first question.
fn preload(
    fast: &FastRead,
    cache: &DecisionCache,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), StoreError> {
    let mut after = uuid::Uuid::nil();
    while !cache.is_full() && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let ids = fast.rows(PRELOAD_IDS, [after.as_bytes().as_slice()], |r| {
            r.get::<_, Vec<u8>>(0)
        })?;
        let Some(last) = ids.last().and_then(|b| uuid::Uuid::from_slice(b).ok()) else {
            return Ok(());
        };
        let head = fence(fast, cache)?;
        fast.query_with(
            PRELOAD,
            (after.as_bytes().as_slice(), last.as_bytes().as_slice()),
            |rows| remember_chunk(cache, head, rows),
        )?;
        if ids.len() < PRELOAD_CHUNK {
            return Ok(());
        }
        after = last;
    }
    Ok(())
}

/// Remembers the contacts of a chunk of the preload, read after the fence at position `head`.
/// Another process may have committed changes meanwhile, which the follower's fences applied:
/// the contacts they name are left out (read when asked), the others remembered at the position
/// the cache has moved to ([`DecisionCache::rebase`]). Without this, a steady trickle of writes
/// from another process (a fence every 100 ms that finds something) would drop nearly every
/// chunk, and a fresh server would never fill its cache.
fn remember_chunk<R: Cols>(cache: &DecisionCache, head: i64, rows: &[R]) -> Result<(), StoreError> {
    let Some((at, changed)) = cache.rebase(head) else {
        return Ok(());
    };
    for contact in rows.chunk_by(|a, b| a.uuid("id").ok() == b.uuid("id").ok()) {
        match contact.first() {
            Some(first) if !changed.contains(&first.uuid("id")?) => {
                remember_with_keys(cache, at, contact)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Remembers the contact whose facts `rows` hold (read with the keyed columns of
/// `decision_sql!` after position `head`), by its id and under each of its keys.
fn remember_with_keys<R: Cols>(
    cache: &DecisionCache,
    head: i64,
    rows: &[R],
) -> Result<(), StoreError> {
    let (Some(first), Some(facts)) = (rows.first(), facts_from(rows)?) else {
        return Ok(());
    };
    let texts = [
        (KeyKind::External, first.opt_text("key_external")?),
        (KeyKind::Email, first.opt_text("key_email")?),
        (KeyKind::Phone, first.opt_text("key_phone")?),
    ];
    let keys: Vec<(KeyKind, &str)> = texts
        .iter()
        .filter_map(|(kind, text)| Some((*kind, text.as_deref()?)))
        .collect();
    cache.remember(head, &keys, &facts);
    Ok(())
}

/// Keeps a cache caught up from a thread of its own, every [`Follower::EVERY`]: after a burst
/// of writes with no decision in between, the first decision then has a few changes to apply,
/// not the whole burst (which would hold every other decision while it forgets).
#[derive(Debug)]
pub(crate) struct Follower {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Taken by [`Follower::stop`].
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Follower {
    const EVERY: std::time::Duration = std::time::Duration::from_millis(100);

    /// Starts the thread; with `fill`, it first fills the cache ([`preload`]).
    pub(crate) fn start(
        fast: std::sync::Arc<FastRead>,
        cache: std::sync::Arc<DecisionCache>,
        fill: bool,
    ) -> Option<Self> {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("decision-follower".to_owned())
            .spawn(move || {
                // A failed preload leaves the rest to be read when asked.
                if fill {
                    let _ = preload(&fast, &cache, &flag);
                }
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Self::EVERY);
                    // A failed read is tried again at the next tick; decisions fence themselves.
                    // Writes mostly wait on the disk: the follower reads the changed contacts
                    // again then, so decisions after them need not.
                    if let Ok((head, forgotten)) = fence_forgetting(&fast, &cache) {
                        let _ = refresh(&fast, &cache, head, &forgotten);
                    }
                }
            })
            .ok()?;
        Some(Self {
            stop,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Tells the thread to stop; returns it to be waited for (once).
    pub(crate) fn stop(&self) -> Option<std::thread::JoinHandle<()>> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.lock().ok()?.take()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
