//! The newsletter audience kept in memory: per contact only what rules 1–7 of
//! `consento_domain::decide` read for `email.bulk` (the contact's flags as bits, and its consent
//! states), so that counting a million contacts by cause is one pass over a few dozen megabytes
//! instead of a query that visits every consent. The same pass gives the console's overview of
//! every type (how many consents are active, held by a restriction, expired, withdrawn, refused,
//! about to expire), so the index keeps the states of every type, and a newsletter's query masks
//! out those that do not permit bulk email.
//!
//! Never stale: before each answer the index fences on the decision change log, as a decision
//! does (SQLite: the positions of `decision_changes`, migration 0017, in commit order;
//! PostgreSQL: the transactions the last snapshot did not see, migration 0035, with pgfence.rs's
//! statement), and reads again every contact logged since. A new contact is logged too (migration
//! 0036). A row of the log without a contact (settings, consent types, the suppression list, a
//! bulk load), a gap (the log was pruned while the index was idle) or a long run of changes makes
//! it read everything again. The position is read before the contacts, so what is read is never
//! older than it: a change committed before the audience was asked is always counted, whichever
//! process committed it. The index keeps its own position, so it holds whether the decision
//! cache is on or not.
//!
//! The classification mirrors the reference query in SQL (`audience.rs`, `COUNTS`), which the
//! contract tests compare it with after every kind of change.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::TryStreamExt;
use sqlx::{PgPool, Row as _};
use uuid::Uuid;

use crate::StoreError;
use crate::decision_facts::{CHANGES_SQL, HEAD_SQL, MAX_CHANGES};
use crate::fastread::FastRead;

/// The contact's flags, one bit each.
const ERASED: u8 = 1;
const RESTRICTED: u8 = 2;
const OBJECTED: u8 = 4;
const EMAIL_OFF: u8 = 8;
const SUPPRESSED: u8 = 16;
const HAS_EMAIL: u8 = 32;
/// The contact no longer exists (its slot is kept, the index stays sorted).
const GONE: u8 = 64;

/// The kinds of a consent state, as the reference query tells them apart.
const GRANTED: u8 = 0;
const WITHDRAWN: u8 = 1;
const REFUSED: u8 = 2;
const OTHER: u8 = 3;

/// The most consent types that permit bulk email the index keeps apart (one bit each in a
/// query's mask, those types first); with more, the audience is computed in SQL.
const MAX_BULK: usize = 64;
/// The most consent types in all (a state records its type's place in a byte).
const MAX_TYPES: usize = 255;

/// Every type, those that permit bulk email first, in a stable order.
const TYPES_SQL: &str = "SELECT id, code, title, allow_email_bulk FROM consent_types ORDER BY allow_email_bulk DESC, code";
const SUPPRESSION_SQL: &str = "SELECT hash FROM suppression";

macro_rules! contacts_sql {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, CAST((CASE WHEN c.erased_at IS NULL THEN 0 ELSE 1 END) + (CASE WHEN c.restricted_at IS NULL THEN 0 ELSE 2 END) + (CASE WHEN c.objected_at IS NULL THEN 0 ELSE 4 END) + (CASE WHEN c.email_off_at IS NULL THEN 0 ELSE 8 END) + (CASE WHEN c.email IS NULL THEN 0 ELSE 32 END) AS BIGINT) AS flags, ",
            "(c.email_hash IS NOT NULL AND EXISTS (SELECT 1 FROM suppression x WHERE x.hash = c.email_hash)) AS suppressed FROM contacts c ",
            $tail
        )
    };
}
macro_rules! states_sql {
    ($tail:literal) => {
        concat!(
            "SELECT s.contact_id, s.consent_type_id, CAST(CASE WHEN s.granted THEN 0 WHEN s.kind IN ('withdrawn', 'revoked') THEN 1 WHEN s.kind = 'refused' THEN 2 ELSE 3 END AS BIGINT) AS k, s.valid_until FROM consent_state s",
            $tail
        )
    };
}

/// SQLite, building: every contact in key order, with its address's hash.
const ALL_CONTACTS_SQLITE: &str = "SELECT c.id, CAST((CASE WHEN c.erased_at IS NULL THEN 0 ELSE 1 END) + (CASE WHEN c.restricted_at IS NULL THEN 0 ELSE 2 END) + (CASE WHEN c.objected_at IS NULL THEN 0 ELSE 4 END) + (CASE WHEN c.email_off_at IS NULL THEN 0 ELSE 8 END) + (CASE WHEN c.email IS NULL THEN 0 ELSE 32 END) AS BIGINT) AS flags, c.email_hash FROM contacts c ORDER BY c.id";
/// SQLite, building: every consent state, in the order of the table's key (contact first): one
/// sequential pass.
const ALL_STATES_SQLITE: &str = states_sql!("");
/// SQLite: one contact read again.
const ONE_CONTACT_SQLITE: &str = contacts_sql!("WHERE c.id = ?1");
const ONE_STATES_SQLITE: &str = states_sql!(" WHERE s.contact_id = ?1");
/// PostgreSQL, building.
const ALL_CONTACTS_PG: &str = "SELECT c.id, CAST((CASE WHEN c.erased_at IS NULL THEN 0 ELSE 1 END) + (CASE WHEN c.restricted_at IS NULL THEN 0 ELSE 2 END) + (CASE WHEN c.objected_at IS NULL THEN 0 ELSE 4 END) + (CASE WHEN c.email_off_at IS NULL THEN 0 ELSE 8 END) + (CASE WHEN c.email IS NULL THEN 0 ELSE 32 END) AS BIGINT) AS flags, c.email_hash FROM contacts c";
const ALL_STATES_PG: &str = states_sql!("");
/// PostgreSQL: contacts read again, by the array of their ids.
const SOME_CONTACTS_PG: &str = contacts_sql!("WHERE c.id = ANY($1)");
const SOME_STATES_PG: &str = states_sql!(" WHERE s.contact_id = ANY($1)");

/// One contact: 24 bytes, its states in [`Index::states`].
#[derive(Debug, Clone, Copy)]
struct Row {
    id: Uuid,
    start: u32,
    len: u8,
    flags: u8,
}

/// One consent state in 8 bytes: `valid_until` of the projection (when a granted consent stops
/// being valid) in the top 54 bits, the type's place in [`Index::types`] in the next 8, its kind
/// in the last 2. An instant is kept exactly between [`FIRST_UNTIL`] and [`LAST_UNTIL`] (1685 to
/// 2255); one before or after is kept as that bound, which compares with any instant in between
/// as the instant itself would, and the index answers only for instants in between
/// ([`exact`]): a question about another is answered by SQL.
#[derive(Debug, Clone, Copy)]
struct State(u64);

/// The bounds of an instant a [`State`] keeps exactly, in microseconds; "never" (`i64::MAX` in
/// the projection) is kept as the value after the last.
const FIRST_UNTIL: i64 = -(1 << 53);
const LAST_UNTIL: i64 = (1 << 53) - 2;
const NEVER_UNTIL: i64 = (1 << 53) - 1;
const UNTIL_SHIFT: u32 = 10;

impl State {
    fn new(until: i64, ty: u8, kind: u8) -> Self {
        let until = if until == i64::MAX {
            NEVER_UNTIL
        } else {
            until.clamp(FIRST_UNTIL, LAST_UNTIL)
        };
        Self(((until as u64) << UNTIL_SHIFT) | (u64::from(ty) << 2) | u64::from(kind & 3))
    }

    /// `valid_until`, or the bound it was kept as.
    fn until(self) -> i64 {
        // An arithmetic shift brings the sign back.
        match (self.0 as i64) >> UNTIL_SHIFT {
            NEVER_UNTIL => i64::MAX,
            until => until,
        }
    }

    fn ty(self) -> u8 {
        (self.0 >> 2) as u8
    }

    fn kind(self) -> u8 {
        (self.0 & 3) as u8
    }
}

/// Whether the index answers exactly about instant `at` (see [`State`]).
fn exact(at: i64) -> bool {
    (FIRST_UNTIL < at) && (at < LAST_UNTIL)
}

/// Where in the change log the index is.
#[derive(Debug, Clone)]
enum Position {
    Sqlite(i64),
    Postgres(crate::pgfence::Seen),
}

/// What a fence tells the index to do.
enum Catch {
    /// Nothing changed.
    Nothing,
    /// These contacts changed.
    Contacts(Vec<Uuid>),
    /// Read everything again.
    Everything,
}

/// A contact as read again: `None` when it no longer exists.
struct Fresh {
    id: Uuid,
    found: Option<(u8, Vec<State>)>,
}

/// The index itself.
#[derive(Debug)]
struct Index {
    at: Position,
    /// Every type, by place: those that permit bulk email first.
    types: Vec<Type>,
    /// Contacts; the first `sorted` are in the order of their id, the rest were added since.
    rows: Vec<Row>,
    sorted: usize,
    /// The places of the contacts added since the index was built.
    added: HashMap<Uuid, u32>,
    states: Vec<State>,
    /// States no longer used by any row (replaced by a longer list).
    garbage: usize,
}

/// The causes, in the order of [`AudienceCounts`](crate::AudienceCounts)'s codes.
const CAUSES: [&str; 11] = [
    "eligible",
    "no_email",
    "erased",
    "restricted",
    "objected",
    "channel_off",
    "suppressed",
    "withdrawn",
    "expired",
    "refused",
    "no_consent",
];

/// A consent type as the index knows it.
#[derive(Debug, Clone)]
struct Type {
    id: Uuid,
    code: String,
    title: String,
    /// Whether it permits bulk email (it counts for a newsletter).
    bulk: bool,
}

/// One type's figures in the console's overview: its consents at an instant by state, and those
/// about to expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeFigures {
    /// By state; a state not granted that is not a refusal counts as withdrawn.
    pub counts: crate::ConsentStateCounts,
    /// Of the active ones, those that stop being valid by the window's end.
    pub expiring: i64,
}

impl TypeFigures {
    /// The type's count of consents about to expire, as the console's "expiring" list shows it.
    pub(crate) fn expiring_count(&self) -> crate::ExpiringCount {
        crate::ExpiringCount {
            code: self.counts.code.clone(),
            title: self.counts.title.clone(),
            count: self.expiring,
        }
    }
}

/// What a query asks of the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask {
    /// The instant, in microseconds.
    pub at: i64,
    /// Whether the newsletter check is on (rule 5).
    pub checked: bool,
}

impl Index {
    fn type_of(&self, id: &Uuid) -> Option<u8> {
        self.types
            .iter()
            .position(|t| t.id == *id)
            .and_then(|p| u8::try_from(p).ok())
    }

    /// The mask of the types a newsletter counts: those that permit bulk email (the first
    /// [`MAX_BULK`] places), one by code or all.
    fn mask(&self, code: Option<&str>) -> u64 {
        self.types
            .iter()
            .take(MAX_BULK)
            .enumerate()
            .filter(|(_, t)| t.bulk && code.is_none_or(|code| t.code == code))
            .fold(0, |m, (i, _)| m | (1u64 << i))
    }

    fn place(&self, id: &Uuid) -> Option<usize> {
        let sorted = self.rows.get(..self.sorted)?;
        match sorted.binary_search_by(|r| r.id.cmp(id)) {
            Ok(p) => Some(p),
            Err(_) => self.added.get(id).and_then(|p| usize::try_from(*p).ok()),
        }
    }

    /// The cause of a contact (its index in [`CAUSES`]), `None` for one that no longer exists.
    /// The order of the reference query (`COUNTS`, audience.rs), rule by rule.
    fn cause(&self, row: &Row, mask: u64, ask: Ask) -> Option<usize> {
        let f = row.flags;
        if f & GONE != 0 {
            return None;
        }
        if f & ERASED != 0 {
            return Some(2);
        }
        if f & RESTRICTED != 0 {
            return Some(3);
        }
        if f & OBJECTED != 0 {
            return Some(4);
        }
        if f & EMAIL_OFF != 0 {
            return Some(5);
        }
        if f & SUPPRESSED != 0 {
            return Some(6);
        }
        let states = self.states_of(row);
        let (mut valid, mut withdrawn, mut granted, mut refused) = (false, false, false, false);
        for s in states {
            if mask.checked_shr(u32::from(s.ty())).unwrap_or(0) & 1 == 0 {
                continue;
            }
            match s.kind() {
                GRANTED => {
                    granted = true;
                    valid |= s.until() > ask.at;
                }
                WITHDRAWN => withdrawn = true,
                REFUSED => refused = true,
                _ => {}
            }
        }
        Some(if !ask.checked || valid {
            if f & HAS_EMAIL != 0 { 0 } else { 1 }
        } else if withdrawn {
            7
        } else if granted {
            8
        } else if refused {
            9
        } else {
            10
        })
    }

    fn counts(&self, code: Option<&str>, ask: Ask) -> crate::AudienceCounts {
        let mask = self.mask(code);
        let mut n = [0i64; CAUSES.len()];
        for row in &self.rows {
            if let Some(c) = self.cause(row, mask, ask)
                && let Some(slot) = n.get_mut(c)
            {
                *slot += 1;
            }
        }
        let mut counts = crate::AudienceCounts {
            eligible: n[0],
            ..Default::default()
        };
        for (cause, n) in CAUSES.iter().zip(n).skip(1) {
            if n > 0 {
                counts.excluded.insert((*cause).to_owned(), n);
            }
        }
        counts
    }

    /// Every type's figures at `at` (microseconds), with the consents that stop being valid
    /// after `at` and by `until`; in the order of the types' titles. The reference is SQL's
    /// (stats.rs, `STATE_COUNTS`, `EXPIRING_COUNTS`, `SUSPENDED_COUNTS`).
    fn overview(&self, at: i64, until: i64) -> Vec<TypeFigures> {
        let mut figures: Vec<TypeFigures> = self
            .types
            .iter()
            .map(|t| TypeFigures {
                counts: crate::ConsentStateCounts {
                    code: t.code.clone(),
                    title: t.title.clone(),
                    active: 0,
                    suspended: 0,
                    expired: 0,
                    withdrawn: 0,
                    refused: 0,
                },
                expiring: 0,
            })
            .collect();
        for row in &self.rows {
            if row.flags & GONE != 0 {
                continue;
            }
            let held = row.flags & (ERASED | RESTRICTED | OBJECTED) != 0;
            for s in self.states_of(row) {
                let Some(f) = figures.get_mut(usize::from(s.ty())) else {
                    continue;
                };
                let c = &mut f.counts;
                match s.kind() {
                    GRANTED if s.until() <= at => c.expired += 1,
                    GRANTED if held => c.suspended += 1,
                    GRANTED => {
                        c.active += 1;
                        if s.until() <= until {
                            f.expiring += 1;
                        }
                    }
                    REFUSED => c.refused += 1,
                    _ => c.withdrawn += 1,
                }
            }
        }
        figures.sort_by_cached_key(|f| (f.counts.title.to_lowercase(), f.counts.code.clone()));
        figures
    }

    /// A contact's states.
    fn states_of(&self, row: &Row) -> &[State] {
        let start = usize::try_from(row.start).unwrap_or(usize::MAX);
        self.states
            .get(start..start.saturating_add(usize::from(row.len)))
            .unwrap_or(&[])
    }

    /// The ids of the recipients, in ascending order.
    fn eligible(&self, code: Option<&str>, ask: Ask) -> Vec<Uuid> {
        let mask = self.mask(code);
        let mut ids: Vec<Uuid> = self
            .rows
            .iter()
            .filter(|r| self.cause(r, mask, ask) == Some(0))
            .map(|r| r.id)
            .collect();
        if self.rows.len() > self.sorted {
            ids.sort_unstable();
        }
        ids
    }

    /// Puts what was read again of a contact in place.
    fn apply(&mut self, fresh: Fresh) {
        let (flags, states) = fresh.found.unwrap_or((GONE, Vec::new()));
        let len = u8::try_from(states.len()).unwrap_or(u8::MAX);
        let place = self.place(&fresh.id);
        let Some(p) = place.or_else(|| {
            // A contact the index has not seen: added at the end.
            if flags & GONE != 0 {
                return None;
            }
            let p = self.rows.len();
            self.rows.push(Row {
                id: fresh.id,
                start: 0,
                len: 0,
                flags,
            });
            self.added.insert(fresh.id, u32::try_from(p).ok()?);
            Some(p)
        }) else {
            return;
        };
        let Some(row) = self.rows.get(p).copied() else {
            return;
        };
        let start = if len <= row.len {
            self.garbage += usize::from(row.len - len);
            row.start
        } else {
            self.garbage += usize::from(row.len);
            let s = u32::try_from(self.states.len()).unwrap_or(u32::MAX);
            self.states
                .resize(self.states.len() + usize::from(len), placeholder());
            s
        };
        let first = usize::try_from(start).unwrap_or(usize::MAX);
        for (i, s) in states.into_iter().take(usize::from(len)).enumerate() {
            if let Some(slot) = self.states.get_mut(first + i) {
                *slot = s;
            }
        }
        if let Some(r) = self.rows.get_mut(p) {
            r.flags = flags;
            r.start = start;
            r.len = len;
        }
    }

    /// Packs the states again once more than half of them are unused.
    fn compact(&mut self) {
        if self.garbage < 4096 || self.garbage * 2 < self.states.len() {
            return;
        }
        let mut states = Vec::with_capacity(self.states.len().saturating_sub(self.garbage));
        for row in &mut self.rows {
            let start = usize::try_from(row.start).unwrap_or(usize::MAX);
            let from = self
                .states
                .get(start..start.saturating_add(usize::from(row.len)))
                .unwrap_or(&[]);
            row.start = u32::try_from(states.len()).unwrap_or(u32::MAX);
            states.extend_from_slice(from);
        }
        self.states = states;
        self.garbage = 0;
    }

    /// Bytes held.
    fn bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Row>()
            + self.states.capacity() * std::mem::size_of::<State>()
            + self.added.capacity() * (std::mem::size_of::<(Uuid, u32)>() + 1)
    }
}

fn placeholder() -> State {
    State::new(0, 0, OTHER)
}

/// Builds the index from contacts in id order and their states (of the known types), grouping the
/// states per contact. `states` need not be in contact order.
fn assemble(
    at: Position,
    types: Vec<Type>,
    mut rows: Vec<Row>,
    states: Vec<(Uuid, State)>,
) -> Index {
    if !rows.is_sorted_by(|a, b| a.id <= b.id) {
        rows.sort_unstable_by_key(|r| r.id);
    }
    // The place of each state's contact: a walk when the states come in contact order, a search
    // otherwise.
    let mut places: Vec<u32> = Vec::with_capacity(states.len());
    let mut cursor = 0usize;
    for (id, _) in &states {
        let hit = match rows.get(cursor) {
            Some(r) if r.id == *id => Some(cursor),
            _ => match rows.get(cursor + 1) {
                Some(r) if r.id == *id => Some(cursor + 1),
                _ => rows.binary_search_by(|r| r.id.cmp(id)).ok(),
            },
        };
        match hit {
            Some(p) => {
                cursor = p;
                places.push(u32::try_from(p).unwrap_or(u32::MAX));
            }
            // A state of a contact created after the contacts were read: read again at the next
            // fence, as its creation is logged.
            None => places.push(u32::MAX),
        }
    }
    // Counting sort by contact.
    let mut len = vec![0u32; rows.len() + 1];
    for p in &places {
        if let Some(l) = len.get_mut(usize::try_from(*p).unwrap_or(usize::MAX)) {
            *l += 1;
        }
    }
    let mut start = 0u32;
    for (row, l) in rows.iter_mut().zip(&len) {
        row.start = start;
        row.len = u8::try_from(*l).unwrap_or(u8::MAX);
        start += *l;
    }
    let mut packed = vec![placeholder(); usize::try_from(start).unwrap_or(0)];
    let mut fill: Vec<u32> = rows.iter().map(|r| r.start).collect();
    for ((_, s), p) in states.into_iter().zip(places) {
        if let Some(next) = fill.get_mut(usize::try_from(p).unwrap_or(usize::MAX)) {
            if let Some(slot) = packed.get_mut(usize::try_from(*next).unwrap_or(usize::MAX)) {
                *slot = s;
            }
            *next += 1;
        }
    }
    rows.shrink_to_fit();
    Index {
        at,
        types,
        sorted: rows.len(),
        rows,
        added: HashMap::new(),
        states: packed,
        garbage: 0,
    }
}

fn uuid_of(bytes: &[u8]) -> Result<Uuid, rusqlite::Error> {
    Uuid::from_slice(bytes).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn kind_of(k: i64) -> u8 {
    u8::try_from(k).unwrap_or(OTHER)
}

fn flags_of(f: i64) -> u8 {
    u8::try_from(f).unwrap_or(GONE)
}

/// The types, or `None` when there are too many to index.
fn indexable(types: Vec<Type>) -> Option<Vec<Type>> {
    let bulk = types.iter().filter(|t| t.bulk).count();
    (types.len() <= MAX_TYPES && bulk <= MAX_BULK).then_some(types)
}

/// SQLite: the types, or `None` when there are too many to index.
fn types_sqlite(fast: &FastRead) -> Result<Option<Vec<Type>>, StoreError> {
    let types = fast.rows(TYPES_SQL, [], |r| {
        Ok(Type {
            id: uuid_of(r.get_ref(0)?.as_blob()?)?,
            code: r.get(1)?,
            title: r.get(2)?,
            bulk: r.get(3)?,
        })
    })?;
    Ok(indexable(types))
}

/// Each type's index in `types` (at most [`MAX_TYPES`]), as the states record it.
fn type_indexes(types: &[Type]) -> HashMap<Uuid, u8> {
    types
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Some((t.id, u8::try_from(i).ok()?)))
        .collect()
}

/// SQLite: reads everything, after reading the log's position.
fn build_sqlite(fast: &FastRead) -> Result<Option<Index>, StoreError> {
    let head = head_sqlite(fast)?;
    let Some(types) = types_sqlite(fast)? else {
        return Ok(None);
    };
    let type_ids = type_indexes(&types);
    // The list in memory: one probe per contact with an address, instead of one B-tree descent.
    let suppressed: HashSet<Vec<u8>> = fast
        .rows(SUPPRESSION_SQL, [], |r| {
            Ok(r.get_ref(0)?.as_blob()?.to_vec())
        })?
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    fast.rows(ALL_CONTACTS_SQLITE, [], |r| {
        let mut flags = flags_of(r.get(1)?);
        if let Some(hash) = r.get_ref(2)?.as_blob_or_null()?
            && suppressed.contains(hash)
        {
            flags |= SUPPRESSED;
        }
        rows.push(Row {
            id: uuid_of(r.get_ref(0)?.as_blob()?)?,
            start: 0,
            len: 0,
            flags,
        });
        Ok(())
    })?;
    let mut states = Vec::new();
    fast.rows(ALL_STATES_SQLITE, [], |r| {
        if let Some(ty) = type_ids.get(&uuid_of(r.get_ref(1)?.as_blob()?)?) {
            states.push((
                uuid_of(r.get_ref(0)?.as_blob()?)?,
                State::new(r.get(3)?, *ty, kind_of(r.get(2)?)),
            ));
        }
        Ok(())
    })?;
    Ok(Some(assemble(Position::Sqlite(head), types, rows, states)))
}

fn head_sqlite(fast: &FastRead) -> Result<i64, StoreError> {
    Ok(fast
        .rows(HEAD_SQL, [], |r| r.get::<_, Option<i64>>(0))?
        .first()
        .copied()
        .flatten()
        .unwrap_or(0))
}

/// SQLite: one contact as it is now.
fn read_sqlite(fast: &FastRead, index: &Index, id: Uuid) -> Result<Fresh, StoreError> {
    let flags = fast.rows(ONE_CONTACT_SQLITE, [id.as_bytes().as_slice()], |r| {
        let mut f = flags_of(r.get(1)?);
        if r.get::<_, bool>(2)? {
            f |= SUPPRESSED;
        }
        Ok(f)
    })?;
    let Some(flags) = flags.first().copied() else {
        return Ok(Fresh { id, found: None });
    };
    let mut states = Vec::new();
    fast.rows(ONE_STATES_SQLITE, [id.as_bytes().as_slice()], |r| {
        if let Some(ty) = index.type_of(&uuid_of(r.get_ref(1)?.as_blob()?)?) {
            states.push(State::new(r.get(3)?, ty, kind_of(r.get(2)?)));
        }
        Ok(())
    })?;
    Ok(Fresh {
        id,
        found: Some((flags, states)),
    })
}

/// SQLite: brings `index` (none: build it) up to every change committed so far. `None` when the
/// audience cannot be indexed (too many types).
fn sync_sqlite(fast: &FastRead, index: Option<Index>) -> Result<Option<Index>, StoreError> {
    let Some(mut index) = index else {
        return build_sqlite(fast);
    };
    let Position::Sqlite(seen) = index.at else {
        return build_sqlite(fast);
    };
    let head = head_sqlite(fast)?;
    if head == seen {
        return Ok(Some(index));
    }
    let catch = if head < seen || head - seen > MAX_CHANGES {
        Catch::Everything
    } else {
        let log = fast.rows(CHANGES_SQL, (seen, MAX_CHANGES + 1), |r| {
            let contact: Option<Vec<u8>> = r.get(1)?;
            Ok((r.get(0)?, contact.and_then(|b| Uuid::from_slice(&b).ok())))
        })?;
        if crate::decision_cache::complete(&log, seen, head) {
            let mut ids: Vec<Uuid> = log
                .iter()
                .filter(|(seq, _)| *seq <= head)
                .filter_map(|(_, c)| *c)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            Catch::Contacts(ids)
        } else {
            Catch::Everything
        }
    };
    match catch {
        Catch::Nothing => {}
        Catch::Everything => return build_sqlite(fast),
        Catch::Contacts(ids) => {
            for id in ids {
                let fresh = read_sqlite(fast, &index, id)?;
                index.apply(fresh);
            }
        }
    }
    index.compact();
    index.at = Position::Sqlite(head);
    Ok(Some(index))
}

/// PostgreSQL: a fence from `from` (none: the first), with the decision cache's statement
/// (pgfence.rs): the new snapshot and what the transactions it sees and the previous did not
/// changed.
async fn fence_pg(
    pool: &PgPool,
    from: Option<&crate::pgfence::Seen>,
) -> Result<(Position, Catch), StoreError> {
    use crate::pgfence::Changes;
    let (seen, changes) = crate::pgfence::changes_since(pool, from).await?;
    let catch = match changes {
        Changes::Nothing => Catch::Nothing,
        Changes::Everyone => Catch::Everything,
        Changes::Contacts(ids) => Catch::Contacts(ids),
    };
    Ok((Position::Postgres(seen), catch))
}

async fn types_pg(pool: &PgPool) -> Result<Option<Vec<Type>>, StoreError> {
    let types: Vec<(Uuid, String, String, bool)> =
        sqlx::query_as(TYPES_SQL).fetch_all(pool).await?;
    Ok(indexable(
        types
            .into_iter()
            .map(|(id, code, title, bulk)| Type {
                id,
                code,
                title,
                bulk,
            })
            .collect(),
    ))
}

/// PostgreSQL: reads everything, after the fence that gave `at`.
async fn build_pg(pool: &PgPool, at: Position) -> Result<Option<Index>, StoreError> {
    let Some(types) = types_pg(pool).await? else {
        return Ok(None);
    };
    let type_ids = type_indexes(&types);
    let suppressed: HashSet<Vec<u8>> = sqlx::query_scalar(SUPPRESSION_SQL)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    {
        let mut stream = sqlx::query(ALL_CONTACTS_PG).fetch(pool);
        while let Some(r) = stream.try_next().await? {
            let mut flags = flags_of(r.try_get(1)?);
            let hash: Option<&[u8]> = r.try_get(2)?;
            if hash.is_some_and(|h| suppressed.contains(h)) {
                flags |= SUPPRESSED;
            }
            rows.push(Row {
                id: r.try_get(0)?,
                start: 0,
                len: 0,
                flags,
            });
        }
    }
    let mut states = Vec::new();
    {
        let mut stream = sqlx::query(ALL_STATES_PG).fetch(pool);
        while let Some(r) = stream.try_next().await? {
            let ty: Uuid = r.try_get(1)?;
            if let Some(ty) = type_ids.get(&ty) {
                states.push((
                    r.try_get::<Uuid, _>(0)?,
                    State::new(r.try_get(3)?, *ty, kind_of(r.try_get(2)?)),
                ));
            }
        }
    }
    Ok(Some(assemble(at, types, rows, states)))
}

/// PostgreSQL: the contacts `ids` as they are now.
async fn read_pg(pool: &PgPool, index: &Index, ids: &[Uuid]) -> Result<Vec<Fresh>, StoreError> {
    let mut found: HashMap<Uuid, (u8, Vec<State>)> = HashMap::with_capacity(ids.len());
    for r in sqlx::query(SOME_CONTACTS_PG)
        .bind(ids)
        .fetch_all(pool)
        .await?
    {
        let mut flags = flags_of(r.try_get(1)?);
        if r.try_get::<bool, _>(2)? {
            flags |= SUPPRESSED;
        }
        found.insert(r.try_get(0)?, (flags, Vec::new()));
    }
    for r in sqlx::query(SOME_STATES_PG)
        .bind(ids)
        .fetch_all(pool)
        .await?
    {
        let id: Uuid = r.try_get(0)?;
        let ty: Uuid = r.try_get(1)?;
        if let (Some(ty), Some((_, states))) = (index.type_of(&ty), found.get_mut(&id)) {
            states.push(State::new(r.try_get(3)?, ty, kind_of(r.try_get(2)?)));
        }
    }
    Ok(ids
        .iter()
        .map(|id| Fresh {
            id: *id,
            found: found.remove(id),
        })
        .collect())
}

/// Contacts read again per statement on PostgreSQL.
const PG_BATCH: usize = 5_000;

/// PostgreSQL: brings `index` (none: build it) up to every change committed so far.
async fn sync_pg(pool: &PgPool, index: Option<Index>) -> Result<Option<Index>, StoreError> {
    let from = match &index {
        Some(Index {
            at: Position::Postgres(seen),
            ..
        }) => Some(seen.clone()),
        _ => None,
    };
    let (at, catch) = fence_pg(pool, from.as_ref()).await?;
    let mut index = match (index, catch) {
        (Some(index), Catch::Nothing) => index,
        (Some(mut index), Catch::Contacts(ids)) => {
            for batch in ids.chunks(PG_BATCH) {
                for fresh in read_pg(pool, &index, batch).await? {
                    index.apply(fresh);
                }
            }
            index.compact();
            index
        }
        _ => return build_pg(pool, at).await,
    };
    index.at = at;
    Ok(Some(index))
}

/// The index of one store: built at the first audience asked for, then kept up to date at each.
#[derive(Debug, Default)]
pub(crate) struct AudienceIndex {
    /// Taken by one request at a time while it brings the index up to date; `None` until built
    /// (and after a failed update: the next request builds it again).
    index: tokio::sync::Mutex<Option<Index>>,
}

/// Where the index reads from.
pub(crate) enum Source<'a> {
    Sqlite(&'a Arc<FastRead>),
    Postgres(&'a PgPool),
}

/// Size of the index, for benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AudienceIndexSize {
    /// Contacts held.
    pub contacts: usize,
    /// Consent states held.
    pub states: usize,
    /// Bytes held.
    pub bytes: usize,
}

impl AudienceIndex {
    /// Brings the index up to date and runs `f` on it; `None` when it cannot be built (too many
    /// types): the caller then asks SQL.
    async fn with<T>(
        &self,
        source: Source<'_>,
        f: impl FnOnce(&Index) -> T,
    ) -> Result<Option<T>, StoreError> {
        let mut slot = self.index.lock().await;
        let current = slot.take();
        let updated = match source {
            Source::Sqlite(fast) => {
                let fast = Arc::clone(fast);
                tokio::task::spawn_blocking(move || sync_sqlite(&fast, current))
                    .await
                    .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))??
            }
            Source::Postgres(pool) => sync_pg(pool, current).await?,
        };
        let out = updated.as_ref().map(f);
        *slot = updated;
        Ok(out)
    }

    /// The counts by cause, `None` when the audience cannot be indexed.
    pub(crate) async fn counts(
        &self,
        source: Source<'_>,
        code: Option<&str>,
        ask: Ask,
    ) -> Result<Option<crate::AudienceCounts>, StoreError> {
        if !exact(ask.at) {
            return Ok(None);
        }
        self.with(source, |i| i.counts(code, ask)).await
    }

    /// Every type's figures at `at`, with those expiring by `until` (microseconds); `None` when
    /// the types cannot be indexed.
    pub(crate) async fn overview(
        &self,
        source: Source<'_>,
        at: i64,
        until: i64,
    ) -> Result<Option<Vec<TypeFigures>>, StoreError> {
        if !exact(at) || !exact(until) {
            return Ok(None);
        }
        self.with(source, |i| i.overview(at, until)).await
    }

    /// The recipients' ids in ascending order, `None` when the audience cannot be indexed.
    pub(crate) async fn eligible(
        &self,
        source: Source<'_>,
        code: Option<&str>,
        ask: Ask,
    ) -> Result<Option<Vec<Uuid>>, StoreError> {
        if !exact(ask.at) {
            return Ok(None);
        }
        self.with(source, |i| i.eligible(code, ask)).await
    }

    /// The size of the index, brought up to date (built if need be).
    pub(crate) async fn size(
        &self,
        source: Source<'_>,
    ) -> Result<Option<AudienceIndexSize>, StoreError> {
        self.with(source, |i| AudienceIndexSize {
            contacts: i.rows.iter().filter(|r| r.flags & GONE == 0).count(),
            states: i.states.len().saturating_sub(i.garbage),
            bytes: i.bytes(),
        })
        .await
    }

    /// Forgets the index: the next request builds it again.
    pub(crate) async fn clear(&self) {
        *self.index.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn state(ty: u8, kind: u8, until: i64) -> State {
        State::new(until, ty, kind)
    }

    fn ty(n: u128, code: &str, bulk: bool) -> Type {
        Type {
            id: id(n),
            code: code.into(),
            title: code.to_lowercase(),
            bulk,
        }
    }

    fn index() -> Index {
        let rows = (1..=4)
            .map(|n| Row {
                id: id(n),
                start: 0,
                len: 0,
                flags: HAS_EMAIL,
            })
            .collect();
        let states = vec![
            (id(3), state(0, GRANTED, 100)),
            (id(1), state(0, GRANTED, 100)),
            (id(1), state(1, WITHDRAWN, 5)),
            (id(2), state(1, REFUSED, 5)),
            // A type that does not permit bulk email: no newsletter counts it.
            (id(4), state(2, GRANTED, 100)),
        ];
        assemble(
            Position::Sqlite(1),
            vec![
                ty(10, "NEWS", true),
                ty(11, "PROMO", true),
                ty(12, "CALLS", false),
            ],
            rows,
            states,
        )
    }

    #[test]
    fn states_out_of_order_are_grouped_under_their_contact() {
        let i = index();
        let ask = Ask {
            at: 50,
            checked: true,
        };
        let counts = i.counts(None, ask);
        assert_eq!(counts.eligible, 2);
        assert_eq!(counts.excluded.get("refused"), Some(&1));
        assert_eq!(counts.excluded.get("no_consent"), Some(&1));
        // PROMO only: the first contact withdrew it.
        let promo = i.counts(Some("PROMO"), ask);
        assert_eq!(promo.excluded.get("withdrawn"), Some(&1));
        assert_eq!(i.eligible(None, ask), vec![id(1), id(3)]);
        // Later than the consents last: expired.
        let late = i.counts(Some("NEWS"), Ask { at: 200, ..ask });
        assert_eq!(late.excluded.get("expired"), Some(&2));
    }

    #[test]
    fn a_contact_read_again_replaces_its_states_and_a_new_one_is_added() {
        let mut i = index();
        let ask = Ask {
            at: 50,
            checked: true,
        };
        i.apply(Fresh {
            id: id(4),
            found: Some((
                HAS_EMAIL,
                vec![state(0, GRANTED, 100), state(1, GRANTED, 100)],
            )),
        });
        i.apply(Fresh {
            id: id(9),
            found: Some((HAS_EMAIL | OBJECTED, vec![])),
        });
        i.apply(Fresh {
            id: id(3),
            found: None,
        });
        assert_eq!(i.eligible(None, ask), vec![id(1), id(4)]);
        let counts = i.counts(None, ask);
        assert_eq!(counts.excluded.get("objected"), Some(&1));
        assert_eq!(counts.excluded.values().sum::<i64>() + counts.eligible, 4);
        i.garbage = 1 << 20;
        i.compact();
        assert_eq!(i.eligible(None, ask), vec![id(1), id(4)]);
    }

    #[test]
    fn the_overview_counts_every_type_by_state_and_holds_the_consents_of_a_restricted_contact() {
        let mut i = index();
        // The second contact restricts processing (GDPR Art. 18), with a consent to calls.
        i.apply(Fresh {
            id: id(2),
            found: Some((
                HAS_EMAIL | RESTRICTED,
                vec![state(1, REFUSED, 5), state(2, GRANTED, 100)],
            )),
        });
        let figures = i.overview(50, 100);
        let by_code = |code: &str| {
            figures
                .iter()
                .find(|f| f.counts.code == code)
                .cloned()
                .unwrap()
        };
        let calls = by_code("CALLS");
        assert_eq!(
            (calls.counts.active, calls.counts.suspended, calls.expiring),
            (1, 1, 1)
        );
        let news = by_code("NEWS");
        assert_eq!(
            (news.counts.active, news.counts.expired, news.expiring),
            (2, 0, 2)
        );
        let promo = by_code("PROMO").counts;
        assert_eq!((promo.withdrawn, promo.refused, promo.active), (1, 1, 0));
        // Later: the granted consents have expired, and none is about to.
        let late = i.overview(100, 200);
        let news = late.iter().find(|f| f.counts.code == "NEWS").unwrap();
        assert_eq!(
            (news.counts.active, news.counts.expired, news.expiring),
            (0, 2, 0)
        );
        // Ordered by title.
        let titles: Vec<&str> = figures.iter().map(|f| f.counts.title.as_str()).collect();
        assert_eq!(titles, ["calls", "news", "promo"]);
    }

    #[test]
    fn a_state_keeps_its_end_type_and_kind_in_eight_bytes_and_compares_as_its_end_would() {
        assert_eq!(std::mem::size_of::<State>(), 8);
        for (until, ty, kind) in [
            (i64::MAX, 255, OTHER),
            (0, 0, GRANTED),
            (-5, 7, WITHDRAWN),
            (LAST_UNTIL, 64, REFUSED),
            (FIRST_UNTIL, 1, GRANTED),
            (1_800_000_000_000_000, 254, GRANTED),
        ] {
            let s = State::new(until, ty, kind);
            assert_eq!((s.until(), s.ty(), s.kind()), (until, ty, kind));
        }
        // Beyond the bounds: kept as the bound, which compares with every instant the index
        // answers about as the end itself would.
        let (late, early) = (i64::MAX - 1, i64::MIN);
        let (far, past) = (State::new(late, 3, GRANTED), State::new(early, 3, GRANTED));
        for at in [
            FIRST_UNTIL + 1,
            -1,
            0,
            1_800_000_000_000_000,
            LAST_UNTIL - 1,
        ] {
            assert!(exact(at), "{at}");
            assert_eq!(far.until() > at, late > at);
            assert_eq!(far.until() <= at, late <= at);
            assert_eq!(past.until() > at, early > at);
            assert_eq!(past.until() <= at, early <= at);
        }
        for at in [FIRST_UNTIL, LAST_UNTIL, i64::MAX, i64::MIN] {
            assert!(!exact(at), "{at}");
        }
    }
}
