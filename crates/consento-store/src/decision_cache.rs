//! The facts of recent decisions, kept in memory on SQLite, and the rule that keeps them true: a
//! decision first checks whether anything was committed since it last looked (the WAL-index
//! header; when it moved, the last position of the change log `decision_changes`, written by
//! database triggers on everything the decision query reads, in commit order; migration 0017),
//! forgets every contact logged since, and only then answers from memory. A thread of the store
//! (`decide::Follower`) does the same every 100 ms and reads the forgotten contacts again. A
//! withdrawal committed before a decision was asked is therefore always seen, whichever process
//! committed it (the command line, another server on the same file), while the cost of an
//! answer drops from a dozen B-tree descents to one short read (a dialer asks before every
//! ring).
//!
//! What is remembered is read from the database after the position it is filed under, and is
//! filed only if no newer position has been applied meanwhile; so no entry is ever older than the
//! position the cache has caught up to. A gap in the log (pruned while this process was idle), a
//! row without a contact (settings, consent types, the suppression list) or a long run of
//! changes makes it forget everything instead.
//!
//! Beside a contact's facts, the facts a telemarketing call reads at the ring about its primary
//! number (`Store::ring_facts`: the register's latest answer, the latest silent call, the
//! directory listing, the customer relationship, an open call request; migrations 0028 and
//! 0031), once per consent type the call relies on: read at the first such call and forgotten
//! with the contact, which the change log names whenever one of them changes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

use consento_domain::{
    ConsentCode, ConsentState, ConsentTypeId, ContactId, ContactStatus, EventKind, Permissions,
    PrivacySettings, Timestamp,
};
use uuid::Uuid;

use crate::decision_facts::{Facts, KeyKind, MAX_CHANGES, WAL_HEADER};
use crate::rpo::RingFacts;

/// Shards of the maps: a lookup locks one, and growing one rehashes a sixty-fourth of the cache
/// (one map of a million entries would stop every decision for the tens of milliseconds its
/// rehash takes).
const SHARDS: usize = 64;
/// `seen` while a thread forgets what changed: no remembering until it is done.
const CATCHING_UP: i64 = i64::MIN;

/// One consent state, without what its type says (kept once per type, in [`Shard::types`]):
/// 24 bytes.
#[derive(Debug, Clone, Copy)]
struct State {
    /// Microseconds (see `Timestamp`).
    event_time: i64,
    /// Microseconds, or [`NEVER`].
    expires_at: i64,
    /// Its type, as an index into [`Shard::types`].
    type_index: u16,
    kind: EventKind,
}

/// A state's `expires_at` when it does not expire.
const NEVER: i64 = i64::MAX;

/// A key as the cache keeps it: 128 bits of SipHash-1-3 of its kind and text, under two keys
/// drawn at random when the cache is made ([`DecisionCache::key`]). The text itself (a CRM id,
/// an address, a number: personal data, some fifty bytes each with its allocation) is not
/// kept in memory; two keys would have to agree on all 128 bits, under a secret of the
/// process, to be taken for one another.
type KeyHash = [u64; 2];

/// A remembered contact: what the rules read, and the keys that lead to it (forgotten with it).
/// 48 bytes, plus its states and keys.
#[derive(Debug)]
struct Entry {
    /// `None` for the status of nearly every contact (`ContactStatus::default()`: not erased,
    /// restricted, objecting, suppressed or switched off), which then costs no allocation.
    status: Option<Box<ContactStatus>>,
    states: Box<[State]>,
    keys: Box<[KeyHash]>,
    /// The ring facts of its primary number, by the code of the consent type the call relied
    /// on (whether that type is for third parties is one of them); `None` until a call asks.
    ring: Option<Box<RingByType>>,
}

/// A contact's remembered ring facts, by the code of the consent type the call relied on.
type RingByType = Vec<(Option<Box<str>>, RingFacts)>;

/// What a type says that decisions read: its id, code, permissions and whether it is for
/// marketing.
type TypeFacts = (ConsentTypeId, ConsentCode, Permissions, bool);

/// One shard of the remembered contacts, with its own copy of what every decision reads alike
/// (the switches, each type's code and permissions): a hit takes this one lock and no other.
#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<Uuid, Entry>,
    settings: Option<PrivacySettings>,
    /// The types the states of this shard name, by [`State::type_index`]: a few dozen at most.
    types: Vec<TypeFacts>,
}

impl Shard {
    fn type_index(&self, id: ConsentTypeId) -> Option<u16> {
        let i = self.types.iter().position(|t| t.0 == id)?;
        u16::try_from(i).ok()
    }
}

/// The cache of one store; `capacity` contacts at most (a full cache remembers no more until
/// changes make it forget some).
#[derive(Debug)]
pub(crate) struct DecisionCache {
    capacity: usize,
    /// The change-log position every entry is at least as new as, or [`CATCHING_UP`].
    seen: AtomicI64,
    /// Serialises catching up: one thread reads the log and forgets, the others wait for it.
    catching: Mutex<()>,
    /// The last moves of the position, for [`Self::rebase`].
    recent: Mutex<Recent>,
    len: AtomicUsize,
    /// The WAL-index header read before the last position read from the log, and that
    /// position: while the header is the same, nothing was committed since (see
    /// `FastRead::wal_header`) and the position need not be read again.
    fence: RwLock<Option<([u8; WAL_HEADER], i64)>>,
    contacts: Box<[RwLock<Shard>]>,
    keys: Box<[RwLock<HashMap<KeyHash, Uuid>>]>,
    /// The two secret keys of [`KeyHash`].
    hashers: [RandomState; 2],
}

/// The last moves of a cache's position: from where, to where, and the contacts each forgot
/// (`None`: everyone), at most [`Recent::MOVES`] of them naming at most [`MAX_CHANGES`]
/// contacts in all.
#[derive(Debug, Default)]
struct Recent {
    moves: VecDeque<Move>,
    named: usize,
}

/// A move of the position: from, to, and the contacts it forgot (`None`: everyone).
type Move = (i64, i64, Option<Box<[Uuid]>>);

impl Recent {
    const MOVES: usize = 256;

    fn push(&mut self, from: i64, to: i64, changed: Option<Box<[Uuid]>>) {
        self.named += changed.as_ref().map_or(0, |c| c.len());
        self.moves.push_back((from, to, changed));
        while self.moves.len() > Self::MOVES
            || i64::try_from(self.named).unwrap_or(i64::MAX) > MAX_CHANGES
        {
            let Some((_, _, gone)) = self.moves.pop_front() else {
                break;
            };
            self.named -= gone.as_ref().map_or(0, |c| c.len());
        }
    }
}

/// What catching up needs from the database: the changes after a position.
pub(crate) type Change = (i64, Option<Uuid>);

/// A forgotten contact, with how it was asked about: whether by a key (it is then read again
/// with the keys it has now), and the consent types its ring facts were asked for.
#[derive(Debug)]
pub(crate) struct Forgotten {
    pub id: Uuid,
    pub by_key: bool,
    pub ring: Vec<Option<Box<str>>>,
}

impl DecisionCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: AtomicI64::new(0),
            catching: Mutex::new(()),
            recent: Mutex::default(),
            len: AtomicUsize::new(0),
            fence: RwLock::new(None),
            contacts: (0..SHARDS).map(|_| RwLock::default()).collect(),
            keys: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hashers: [RandomState::new(), RandomState::new()],
        }
    }

    /// How the cache keeps `key` of `kind` (see [`KeyHash`]).
    fn key(&self, kind: KeyKind, key: &str) -> KeyHash {
        let [a, b] = &self.hashers;
        [a.hash_one((kind, key)), b.hash_one((kind, key))]
    }

    fn contacts(&self, id: &Uuid) -> Option<&RwLock<Shard>> {
        // A UUIDv7 ends in random bits: its last byte picks the shard, no hashing needed.
        self.contacts.get(usize::from(id.as_bytes()[15]) % SHARDS)
    }

    fn key_shard(&self, key: &KeyHash) -> Option<&RwLock<HashMap<KeyHash, Uuid>>> {
        self.keys
            .get(usize::try_from(key[0] % SHARDS as u64).unwrap_or(0))
    }

    /// The log position to decide at when `header` is the WAL-index header the last fence was
    /// taken with, and the cache has caught up to it: nothing was committed since.
    pub(crate) fn fresh(&self, header: &[u8; WAL_HEADER]) -> Option<i64> {
        let fence = self.fence.read().ok()?;
        let (h, head) = fence.as_ref()?;
        (h == header && self.seen.load(Ordering::SeqCst) >= *head).then_some(*head)
    }

    /// Records that `header`, read before position `head` was read from the log, goes with it;
    /// called once the cache has caught up to `head`.
    pub(crate) fn fenced(&self, header: [u8; WAL_HEADER], head: i64) {
        if let Ok(mut fence) = self.fence.write() {
            *fence = Some((header, head));
        }
    }

    /// Brings the cache to position `head`, reading the changes since the position it is at with
    /// `changes` (positions after the one given, in order, at most `MAX_CHANGES + 1`). Returns
    /// once every change up to `head` is applied, by this thread or another, with the keys of
    /// the entries this call forgot (for the follower to read again).
    pub(crate) fn catch_up<E>(
        &self,
        head: i64,
        changes: impl FnOnce(i64) -> Result<Vec<Change>, E>,
    ) -> Result<Vec<Forgotten>, E> {
        let mut forgotten = Vec::new();
        if self.seen.load(Ordering::SeqCst) >= head {
            return Ok(forgotten);
        }
        // A poisoned lock: nothing is answered from memory any more (see `facts`).
        let Ok(_one) = self.catching.lock() else {
            return Ok(forgotten);
        };
        let seen = self.seen.load(Ordering::SeqCst);
        if seen >= head {
            return Ok(forgotten);
        }
        // Too far behind: no need to know what changed. (Read even with nothing remembered:
        // what a chunk of the preload read meanwhile may be kept but for those, see `rebase`.)
        let log = if head - seen > MAX_CHANGES {
            None
        } else {
            Some(changes(seen)?)
        };
        // From here until `head` is stored, nothing is remembered (see `remember`).
        self.seen.store(CATCHING_UP, Ordering::SeqCst);
        let changed = match log {
            Some(log) if complete(&log, seen, head) => {
                let changed: Box<[Uuid]> = log
                    .iter()
                    .filter(|(seq, _)| *seq <= head)
                    .filter_map(|(_, contact)| *contact)
                    .collect();
                for id in &changed {
                    if let Some(gone) = self.forget(id) {
                        forgotten.push(gone);
                    }
                }
                Some(changed)
            }
            _ => {
                self.forget_all();
                None
            }
        };
        self.moved(seen, head, changed);
        self.seen.store(head, Ordering::SeqCst);
        Ok(forgotten)
    }

    /// The position the cache is at ([`CATCHING_UP`] while changes are being applied, which no
    /// facts are remembered under).
    pub(crate) fn position(&self) -> i64 {
        self.seen.load(Ordering::SeqCst)
    }

    /// PostgreSQL (pgfence.rs): applies what a fence found committed since the last one, the
    /// contacts to forget or, with `None`, everyone; and moves to the next position, so that
    /// facts read before are not remembered. Returns the position and what was forgotten.
    pub(crate) fn advance(&self, changed: Option<&[Uuid]>) -> (i64, Vec<Forgotten>) {
        let mut forgotten = Vec::new();
        let Ok(_one) = self.catching.lock() else {
            return (CATCHING_UP, forgotten);
        };
        let seen = self.seen.load(Ordering::SeqCst);
        self.seen.store(CATCHING_UP, Ordering::SeqCst);
        match changed {
            Some(contacts) => {
                for id in contacts {
                    if let Some(gone) = self.forget(id) {
                        forgotten.push(gone);
                    }
                }
            }
            None => self.forget_all(),
        }
        self.moved(seen, seen + 1, changed.map(Box::from));
        self.seen.store(seen + 1, Ordering::SeqCst);
        (seen + 1, forgotten)
    }

    /// Records a move of the position (under `catching`).
    fn moved(&self, from: i64, to: i64, changed: Option<Box<[Uuid]>>) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.push(from, to, changed);
        }
    }

    /// For facts read after the fence at position `at` while the cache moved on: the position
    /// it is at now, and the contacts changed since `at`. The facts of any other contact may be
    /// remembered at that position: every change to it committed before the fences since was
    /// either seen by the read or would be named here. `None` when the moves since `at` are no
    /// longer known or one of them forgot everyone.
    pub(crate) fn rebase(&self, at: i64) -> Option<(i64, HashSet<Uuid>)> {
        let _one = self.catching.lock().ok()?;
        let now = self.seen.load(Ordering::SeqCst);
        let mut changed = HashSet::new();
        if now == at {
            return Some((now, changed));
        }
        let recent = self.recent.lock().ok()?;
        let first = recent.moves.iter().position(|(from, _, _)| *from == at)?;
        for (_, _, named) in recent.moves.iter().skip(first) {
            changed.extend(named.as_deref()?.iter().copied());
        }
        Some((now, changed))
    }

    fn forget_all(&self) {
        for shard in self.contacts.iter() {
            if let Ok(mut shard) = shard.write() {
                self.len.fetch_sub(shard.entries.len(), Ordering::SeqCst);
                *shard = Shard::default();
            }
        }
        for shard in self.keys.iter() {
            if let Ok(mut keys) = shard.write() {
                *keys = HashMap::new();
            }
        }
    }

    /// Forgets a contact; returns how it was asked about, if it was remembered.
    fn forget(&self, id: &Uuid) -> Option<Forgotten> {
        let entry = self
            .contacts(id)
            .and_then(|shard| shard.write().ok()?.entries.remove(id))?;
        self.len.fetch_sub(1, Ordering::SeqCst);
        for key in &entry.keys {
            if let Some(Ok(mut keys)) = self.key_shard(key).map(RwLock::write)
                && keys.get(key) == Some(id)
            {
                keys.remove(key);
            }
        }
        Some(Forgotten {
            id: *id,
            by_key: !entry.keys.is_empty(),
            ring: entry
                .ring
                .map(|ring| ring.into_iter().map(|(code, _)| code).collect())
                .unwrap_or_default(),
        })
    }

    /// The remembered facts of a contact named by our id.
    pub(crate) fn by_id(&self, id: Uuid) -> Option<Facts> {
        self.facts(id, None)
    }

    /// The remembered facts of a contact named by a key.
    pub(crate) fn by_key(&self, kind: KeyKind, key: &str) -> Option<Facts> {
        let key = self.key(kind, key);
        let id = *self.key_shard(&key)?.read().ok()?.get(&key)?;
        self.facts(id, Some(&key))
    }

    /// Builds the facts of a remembered contact; with `key`, only if the entry still lists it (a
    /// key left behind by a forgotten entry leads nowhere).
    fn facts(&self, id: Uuid, key: Option<&KeyHash>) -> Option<Facts> {
        let shard = self.contacts(&id)?.read().ok()?;
        let entry = shard.entries.get(&id)?;
        if let Some(key) = key
            && !entry.keys.contains(key)
        {
            return None;
        }
        let mut consents = Vec::with_capacity(entry.states.len());
        for s in entry.states.iter() {
            let (type_id, code, permissions, marketing) =
                shard.types.get(usize::from(s.type_index))?;
            consents.push(ConsentState {
                type_id: *type_id,
                code: code.clone(),
                permissions: *permissions,
                marketing: *marketing,
                kind: s.kind,
                event_time: Timestamp::from_micros(s.event_time),
                expires_at: (s.expires_at != NEVER).then(|| Timestamp::from_micros(s.expires_at)),
            });
        }
        Some(Facts {
            contact_id: ContactId(id),
            status: entry.status.as_deref().cloned().unwrap_or_default(),
            settings: shard.settings?,
            consents,
        })
    }

    /// Remembers facts read from the database after position `at` was read, under the key they
    /// were asked by (if not our id). Not kept if the cache has moved past `at` meanwhile (what
    /// was read may predate a change it has already forgotten), nor if they disagree with what
    /// every decision reads (a change of settings or types the log will show), nor when full.
    pub(crate) fn remember(&self, at: i64, key: Option<(KeyKind, &str)>, facts: &Facts) {
        let id = facts.contact_id.0;
        let key = key.map(|(kind, k)| self.key(kind, k));
        {
            let Some(Ok(mut shard)) = self.contacts(&id).map(RwLock::write) else {
                return;
            };
            // Checked under the lock that catching up takes to forget this contact: either the
            // check comes first, and what is stored here is then forgotten, or it sees the change.
            if self.seen.load(Ordering::SeqCst) != at
                || shard.settings.is_some_and(|s| s != facts.settings)
                || facts.consents.iter().any(|c| {
                    shard.types.iter().any(|(t, code, p, m)| {
                        *t == c.type_id
                            && (*code != c.code || *p != c.permissions || *m != c.marketing)
                    })
                })
                // A consent whose expiry could not be told from "never" is read every time.
                || facts
                    .consents
                    .iter()
                    .any(|c| c.expires_at.is_some_and(|e| e.as_micros() == NEVER))
            {
                return;
            }
            // An entry asked again by another key keeps its ring facts: nothing logged since
            // they were read (they would be gone with the entry), so they still hold.
            let mut states = Vec::with_capacity(facts.consents.len());
            for c in &facts.consents {
                let type_index = match shard.type_index(c.type_id) {
                    Some(i) => i,
                    None => {
                        let Ok(i) = u16::try_from(shard.types.len()) else {
                            return;
                        };
                        shard
                            .types
                            .push((c.type_id, c.code.clone(), c.permissions, c.marketing));
                        i
                    }
                };
                states.push(State {
                    event_time: c.event_time.as_micros(),
                    expires_at: c.expires_at.map_or(NEVER, Timestamp::as_micros),
                    type_index,
                    kind: c.kind,
                });
            }
            let (keys, ring) = match shard.entries.remove(&id) {
                Some(e) => (e.keys, e.ring),
                None if self.len.load(Ordering::SeqCst) >= self.capacity => return,
                None => {
                    self.len.fetch_add(1, Ordering::SeqCst);
                    (Box::default(), None)
                }
            };
            shard.settings = Some(facts.settings);
            let keys = match &key {
                Some(k) if !keys.contains(k) => keys.iter().chain([k]).copied().collect(),
                _ => keys,
            };
            let status =
                (facts.status != ContactStatus::default()).then(|| Box::new(facts.status.clone()));
            shard.entries.insert(
                id,
                Entry {
                    status,
                    states: states.into_boxed_slice(),
                    keys,
                    ring,
                },
            );
        }
        // The key last: a key that outlives its entry (forgotten meanwhile) leads nowhere, as
        // `facts` checks the entry still lists it.
        if let Some(k) = key
            && let Some(Ok(mut keys)) = self.key_shard(&k).map(RwLock::write)
        {
            keys.insert(k, id);
        }
    }

    /// The remembered ring facts of contact `id`'s primary number for a call relying on the
    /// consent type coded `relied_on`: `None` when the contact is not remembered (nothing about
    /// it can be), `Some(None)` when it is but these are not yet.
    pub(crate) fn ring(&self, id: Uuid, relied_on: Option<&str>) -> Option<Option<RingFacts>> {
        let shard = self.contacts(&id)?.read().ok()?;
        let entry = shard.entries.get(&id)?;
        Some(
            entry
                .ring
                .iter()
                .flat_map(|ring| ring.iter())
                .find(|(code, _)| code.as_deref() == relied_on)
                .map(|(_, ring)| ring.clone()),
        )
    }

    /// Remembers the ring facts of contact `id`'s primary number for a call relying on
    /// `relied_on`, read from the database after position `at` was read. As [`Self::remember`]:
    /// not kept if the cache has moved past `at` meanwhile; nor if the contact is not
    /// remembered, since they are forgotten with it.
    pub(crate) fn remember_ring(
        &self,
        at: i64,
        id: Uuid,
        relied_on: Option<&str>,
        ring: &RingFacts,
    ) {
        let Some(Ok(mut shard)) = self.contacts(&id).map(RwLock::write) else {
            return;
        };
        // Under the lock catching up takes to forget the contact, as in `remember`.
        if self.seen.load(Ordering::SeqCst) != at {
            return;
        }
        let Some(entry) = shard.entries.get_mut(&id) else {
            return;
        };
        let kept = entry.ring.get_or_insert_default();
        match kept
            .iter_mut()
            .find(|(code, _)| code.as_deref() == relied_on)
        {
            Some((_, kept)) => *kept = ring.clone(),
            None => kept.push((relied_on.map(Box::from), ring.clone())),
        }
    }

    /// Whether the cache holds as many contacts as it may.
    pub(crate) fn is_full(&self) -> bool {
        self.len.load(Ordering::SeqCst) >= self.capacity
    }

    /// Contacts remembered now.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }
}

/// Whether `log` holds every position after `seen` up to `head`, each once and each naming a
/// contact (the audience index checks its catching up with it too): the log's positions
/// are consecutive (SQLite's one writer gives the next rowid at each commit), so a pruned or
/// truncated stretch shows as a gap.
pub(crate) fn complete(log: &[Change], seen: i64, head: i64) -> bool {
    let mut expected = seen + 1;
    for (seq, contact) in log {
        if *seq > head {
            break;
        }
        if *seq != expected || contact.is_none() {
            return false;
        }
        expected += 1;
    }
    expected == head + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(id: Uuid, restricted: bool) -> Facts {
        Facts {
            contact_id: ContactId(id),
            status: ContactStatus {
                restricted_since: restricted.then(|| Timestamp::from_micros(5)),
                ..ContactStatus::default()
            },
            settings: PrivacySettings {
                check_email_single: true,
                check_email_bulk: true,
                check_phone: true,
                check_sms: true,
            },
            consents: Vec::new(),
        }
    }

    fn no_log(_: i64) -> Result<Vec<Change>, ()> {
        Ok(Vec::new())
    }

    #[test]
    fn facts_read_before_the_cache_moved_on_are_kept_but_for_the_contacts_changed_since() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        // PostgreSQL: fences.
        let cache = DecisionCache::new(10);
        let (read_at, _) = cache.advance(Some(&[]));
        cache.advance(Some(&[a]));
        let (now, changed) = cache.rebase(read_at).unwrap();
        assert_eq!(now, read_at + 1);
        assert!(changed.contains(&a) && !changed.contains(&b));
        assert_eq!(cache.rebase(now).unwrap(), (now, HashSet::new()));
        // A move that forgot everyone: nothing read before it can be kept.
        cache.advance(None);
        assert!(cache.rebase(read_at).is_none());
        assert!(cache.rebase(now).is_none());
        // SQLite: the log's positions.
        let cache = DecisionCache::new(10);
        cache.catch_up(3, no_log).ok();
        cache
            .catch_up(5, |_| -> Result<_, ()> {
                Ok(vec![(4, Some(a)), (5, Some(a))])
            })
            .ok();
        let (now, changed) = cache.rebase(3).unwrap();
        assert_eq!((now, changed.len()), (5, 1));
        assert!(changed.contains(&a));
        // Moves no longer kept are not known.
        let cache = DecisionCache::new(10);
        for _ in 0..=Recent::MOVES {
            cache.advance(Some(&[]));
        }
        assert!(cache.rebase(0).is_none());
        assert!(cache.rebase(1).is_some());
    }

    #[test]
    fn a_contact_comes_back_from_its_compact_form_as_it_was_read() {
        let cache = DecisionCache::new(10);
        let a = Uuid::from_u128(1);
        let state = |t: u128, code: &str, kind, expires: Option<i64>| ConsentState {
            type_id: ConsentTypeId(Uuid::from_u128(t)),
            code: ConsentCode::parse(code).unwrap(),
            permissions: Permissions {
                email_bulk: t == 7,
                ..Permissions::default()
            },
            marketing: t == 8,
            kind,
            event_time: Timestamp::from_micros(-5),
            expires_at: expires.map(Timestamp::from_micros),
        };
        let mut read = facts(a, true);
        read.status.email_suppressed = true;
        read.status.sms_off_since = Some(Timestamp::from_micros(9));
        read.consents = vec![
            state(7, "NEWS", EventKind::Given, Some(1_000)),
            state(8, "CALLS", EventKind::Withdrawn, None),
        ];
        cache.catch_up(1, no_log).ok();
        cache.remember(1, Some((KeyKind::Email, "a@example.it")), &read);
        for back in [cache.by_id(a), cache.by_key(KeyKind::Email, "a@example.it")] {
            let back = back.unwrap();
            assert_eq!(back.status, read.status);
            assert_eq!(back.consents, read.consents);
            assert_eq!(back.settings, read.settings);
        }
        // The same text as another kind of key is another key.
        assert!(cache.by_key(KeyKind::Phone, "a@example.it").is_none());
        assert!(cache.by_key(KeyKind::Email, "b@example.it").is_none());
        // A plain status is kept without its fields, and still comes back whole.
        let b = Uuid::from_u128(2);
        cache.remember(1, None, &facts(b, false));
        assert_eq!(cache.by_id(b).unwrap().status, ContactStatus::default());
    }

    #[test]
    fn a_contact_logged_since_is_forgotten_and_others_are_kept() {
        let cache = DecisionCache::new(10);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        cache.catch_up(3, no_log).ok();
        cache.remember(3, Some((KeyKind::External, "A")), &facts(a, false));
        cache.remember(3, None, &facts(b, false));
        assert!(cache.by_key(KeyKind::External, "A").is_some());
        cache
            .catch_up(5, |seen| -> Result<_, ()> {
                assert_eq!(seen, 3);
                Ok(vec![(4, Some(a)), (5, Some(a))])
            })
            .ok();
        assert!(cache.by_key(KeyKind::External, "A").is_none());
        assert!(cache.by_id(a).is_none());
        assert!(cache.by_id(b).is_some());
    }

    #[test]
    fn a_gap_or_a_change_for_everyone_forgets_everything() {
        let cache = DecisionCache::new(10);
        let a = Uuid::from_u128(1);
        cache.catch_up(3, no_log).ok();
        cache.remember(3, None, &facts(a, false));
        // Position 4 was pruned before this process read it.
        cache
            .catch_up(6, |_| -> Result<_, ()> {
                Ok(vec![(5, Some(Uuid::from_u128(9))), (6, None)])
            })
            .ok();
        assert_eq!(cache.len(), 0);
        cache.remember(6, None, &facts(a, false));
        cache
            .catch_up(7, |_| -> Result<_, ()> { Ok(vec![(7, None)]) })
            .ok();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn facts_read_before_a_newer_position_was_applied_are_not_kept() {
        let cache = DecisionCache::new(10);
        let a = Uuid::from_u128(1);
        cache.catch_up(3, no_log).ok();
        cache.remember(3, None, &facts(a, false));
        cache
            .catch_up(4, |_| -> Result<_, ()> { Ok(vec![(4, Some(a))]) })
            .ok();
        // Read when the head was 3: it may predate the change at 4.
        cache.remember(3, None, &facts(a, false));
        assert!(cache.by_id(a).is_none());
        cache.remember(4, None, &facts(a, true));
        assert!(
            cache
                .by_id(a)
                .is_some_and(|f| f.status.restricted_since.is_some())
        );
    }

    #[test]
    fn a_key_that_now_leads_elsewhere_leads_to_the_contact_read_last() {
        let cache = DecisionCache::new(10);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        cache.catch_up(1, no_log).ok();
        cache.remember(1, Some((KeyKind::Email, "x@example.org")), &facts(a, false));
        cache.remember(1, Some((KeyKind::Email, "x@example.org")), &facts(b, false));
        assert_eq!(
            cache
                .by_key(KeyKind::Email, "x@example.org")
                .map(|f| f.contact_id.0),
            Some(b)
        );
        // Anna is still remembered by her id; the address leads to Bruno.
        assert!(cache.by_id(a).is_some());
    }

    #[test]
    fn a_fence_on_postgresql_forgets_whom_it_names_and_refuses_facts_read_before_it() {
        let cache = DecisionCache::new(10);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let at = cache.position();
        cache.remember(at, None, &facts(a, false));
        cache.remember(at, None, &facts(b, false));
        let (next, forgotten) = cache.advance(Some(&[a]));
        assert_eq!(next, at + 1);
        assert_eq!(forgotten.iter().map(|f| f.id).collect::<Vec<_>>(), [a]);
        assert!(cache.by_id(a).is_none());
        assert!(cache.by_id(b).is_some());
        // Read before the fence: it may predate the change the fence applied.
        cache.remember(at, None, &facts(a, true));
        assert!(cache.by_id(a).is_none());
        cache.remember(next, None, &facts(a, true));
        assert!(cache.by_id(a).is_some());
        let (_, forgotten) = cache.advance(None);
        assert!(forgotten.is_empty());
        assert_eq!(cache.len(), 0);
    }

    fn ring(phone: &str) -> RingFacts {
        RingFacts {
            phone: Some(phone.to_owned()),
            listed: true,
            ..RingFacts::default()
        }
    }

    #[test]
    fn ring_facts_are_kept_per_relied_on_type_and_forgotten_with_their_contact() {
        let cache = DecisionCache::new(10);
        let a = Uuid::from_u128(1);
        cache.catch_up(3, no_log).ok();
        // Nothing about a contact not remembered.
        cache.remember_ring(3, a, Some("CALLS"), &ring("+393331112222"));
        assert!(cache.ring(a, Some("CALLS")).is_none());
        cache.remember(3, Some((KeyKind::Phone, "+393331112222")), &facts(a, false));
        assert_eq!(cache.ring(a, Some("CALLS")), Some(None));
        cache.remember_ring(3, a, Some("CALLS"), &ring("+393331112222"));
        cache.remember_ring(
            3,
            a,
            None,
            &RingFacts {
                third_party: true,
                ..ring("+393331112222")
            },
        );
        assert_eq!(
            cache.ring(a, Some("CALLS")),
            Some(Some(ring("+393331112222")))
        );
        assert!(
            cache
                .ring(a, None)
                .is_some_and(|r| r.is_some_and(|r| r.third_party))
        );
        assert_eq!(cache.ring(a, Some("PARTNERS")), Some(None));
        // Asked again by another key: the ring facts stay.
        cache.remember(3, None, &facts(a, false));
        assert!(cache.ring(a, Some("CALLS")).is_some_and(|r| r.is_some()));
        let mut forgotten = cache
            .catch_up(4, |_| -> Result<_, ()> { Ok(vec![(4, Some(a))]) })
            .unwrap_or_default();
        assert!(cache.ring(a, Some("CALLS")).is_none());
        let gone = forgotten.pop();
        assert_eq!(
            gone.map(|f| (f.id, f.ring)),
            Some((a, vec![Some(Box::from("CALLS")), None]))
        );
    }

    #[test]
    fn ring_facts_read_before_a_newer_position_was_applied_are_not_kept() {
        let cache = DecisionCache::new(10);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        cache.catch_up(3, no_log).ok();
        cache.remember(3, None, &facts(a, false));
        cache
            .catch_up(4, |_| -> Result<_, ()> { Ok(vec![(4, Some(b))]) })
            .ok();
        // Read when the head was 3: a change to the number at 4 may not be in them.
        cache.remember_ring(3, a, None, &ring("+393331112222"));
        assert_eq!(cache.ring(a, None), Some(None));
        cache.remember_ring(4, a, None, &ring("+393331112222"));
        assert!(cache.ring(a, None).is_some_and(|r| r.is_some()));
    }

    #[test]
    fn a_full_cache_remembers_no_one_new_but_still_updates_whom_it_holds() {
        let cache = DecisionCache::new(2);
        cache.catch_up(1, no_log).ok();
        for i in 0..3 {
            cache.remember(1, None, &facts(Uuid::from_u128(i), false));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.by_id(Uuid::from_u128(2)).is_none());
        cache.remember(1, None, &facts(Uuid::from_u128(1), true));
        assert!(
            cache
                .by_id(Uuid::from_u128(1))
                .is_some_and(|f| f.status.restricted_since.is_some())
        );
    }
}
