//! The facts of recent decisions, kept in memory (on SQLite here; on PostgreSQL with the fences
//! of pgfence.rs), and the rule that keeps them true: a decision first checks whether anything
//! was committed since it last looked (the WAL-index header; when it moved, the last position of
//! the change log `decision_changes`, written by database triggers on everything the decision
//! query reads, in commit order; migration 0017), forgets every contact logged since, and only
//! then answers from memory. A thread of the store (`decide::Follower`) does the same every
//! 100 ms and reads the forgotten contacts again. A withdrawal committed before a decision was
//! asked is therefore always seen, whichever process committed it (the command line, another
//! server on the same file), while the cost of an answer drops from a dozen B-tree descents to
//! one short read (a dialer asks before every ring).
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
//!
//! How a contact is kept ([`Record`]): records of 32-bit words in pages, found through tables
//! of 4-byte offsets, with no allocation of their own; about 110 bytes for a contact with three
//! keys and two consents, records and tables together (so ten million take about a gigabyte).

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

use hashbrown::HashTable;

use consento_domain::{
    ConsentCode, ConsentState, ConsentTypeId, ContactId, ContactStatus, EventKind, Permissions,
    PrivacySettings, Timestamp,
};
use uuid::Uuid;

use crate::decision_facts::{Facts, KeyKind, MAX_CHANGES, WAL_HEADER};
use crate::rpo::RingFacts;

/// Shards of the remembered contacts and of their keys: a lookup locks one, and growing one
/// rehashes a sixty-fourth of the cache (one table of a million entries would stop every
/// decision for the tens of milliseconds its rehash takes).
const SHARDS: usize = 64;
/// The low bits of a [`Slot`], the record's offset in its shard; above them, which of its keys
/// ([`KEY_BITS`]), then the shard.
const OFFSET_BITS: u32 = 24;
const KEY_BITS: u32 = 2;
/// The most words a shard's records take (64 MiB, some 760,000 contacts; 48 million in all):
/// past it, a shard remembers no one new.
const MAX_WORDS: usize = 1 << OFFSET_BITS;
/// The records are kept in pages of this many words (64 KiB): a shard grows a page at a time,
/// never copying what it holds, and a record never straddles two pages.
const PAGE_WORDS: usize = 1 << 14;
/// `seen` while a thread forgets what changed: no remembering until it is done.
const CATCHING_UP: i64 = i64::MIN;

/// A record's first word: how many states and keys follow, and whether the contact has a
/// status kept beside it ([`Shard::statuses`]).
const STATES_MASK: u32 = 0xff;
const KEYS_SHIFT: u32 = 8;
const KEYS_MASK: u32 = 0x7;
const HAS_STATUS: u32 = 1 << 12;
/// A forgotten record, whose place waits for another of its length.
const FREED: u32 = 1 << 13;
/// The most states and keys a record holds: a contact with more is read every time.
const MAX_STATES: usize = STATES_MASK as usize;
const MAX_KEYS: usize = 1 << KEY_BITS;
/// Words of a record before its keys (the header and the contact's id), of a key and of a
/// state.
const HEAD_WORDS: usize = 5;
const KEY_WORDS: usize = 3;
const STATE_WORDS: usize = 4;

/// An instant a state can keep: within ±2^52 µs of 1970 (about 142 years either way), so that
/// it fits beside the state's type and kind in 64 bits. A contact with another is read every
/// time.
const TIME_BITS: u32 = 53;
/// A state's `expires_at` when it does not expire.
const NEVER: i64 = i64::MAX;

/// A key as the cache keeps it: 96 bits of keyed SipHash-1-3 of its kind and text, under two
/// keys drawn at random when the cache is made ([`DecisionCache::key`]). The text itself (a CRM
/// id, an address, a number: personal data, some fifty bytes each) is not kept in memory; two
/// keys would have to agree on all 96 bits, under a secret of the process, to be taken for one
/// another. Both parts are kept in the record; `tag` also places the key in its shard's table,
/// which holds only the [`Slot`] of the record and the key's place in it (4 bytes a key), and a
/// key leads to a record only if the record lists it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    tag: u32,
    check: u64,
}

impl Key {
    /// Where the key goes in its shard's table: the tag mixed by a constant (odd, so the low
    /// bits stay the tag's random ones), its top bits then as random as the rest.
    fn hash(tag: u32) -> u64 {
        u64::from(tag).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn shard(self) -> usize {
        (self.tag >> (32 - SHARDS.trailing_zeros())) as usize
    }
}

/// Where a key's record is, as the key tables keep it: the record's shard in the top bits, then
/// the key's place among the record's keys, then the record's offset in the shard's words.
type Slot = u32;

/// A remembered contact, in the words of its shard: a header (counts and flags), the contact's
/// id (4 words), then each key's tag and check (3 words), then each state (4 words: its
/// instant, kind and type in 64 bits, and its expiry): 88 bytes for a contact with three keys
/// and two consents; what a contact rarely has (a status other than the usual, ring facts)
/// is kept beside, by id.
#[derive(Clone, Copy)]
struct Record<'a>(&'a [u32]);

impl<'a> Record<'a> {
    fn len(header: u32) -> usize {
        HEAD_WORDS
            + KEY_WORDS * ((header >> KEYS_SHIFT) & KEYS_MASK) as usize
            + STATE_WORDS * (header & STATES_MASK) as usize
    }

    fn header(self) -> u32 {
        self.0.first().copied().unwrap_or(FREED)
    }

    fn id(self) -> Uuid {
        let mut bytes = [0u8; 16];
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(self.0.iter().skip(1)) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        Uuid::from_bytes(bytes)
    }

    fn keys(self) -> impl Iterator<Item = Key> + 'a {
        let n = ((self.header() >> KEYS_SHIFT) & KEYS_MASK) as usize;
        self.0
            .get(HEAD_WORDS..HEAD_WORDS + KEY_WORDS * n)
            .unwrap_or_default()
            .chunks_exact(KEY_WORDS)
            .map(|w| Key {
                tag: w[0],
                check: u64::from(w[1]) | u64::from(w[2]) << 32,
            })
    }

    fn states(self) -> impl Iterator<Item = State> + 'a {
        let header = self.header();
        let keys = ((header >> KEYS_SHIFT) & KEYS_MASK) as usize;
        let from = HEAD_WORDS + KEY_WORDS * keys;
        let n = (header & STATES_MASK) as usize;
        self.0
            .get(from..from + STATE_WORDS * n)
            .unwrap_or_default()
            .chunks_exact(STATE_WORDS)
            .map(|w| {
                let packed = u64::from(w[0]) | u64::from(w[1]) << 32;
                let expires = u64::from(w[2]) | u64::from(w[3]) << 32;
                State {
                    // An arithmetic shift brings the instant's sign back.
                    event_time: (packed as i64) >> (64 - TIME_BITS),
                    kind: ((packed >> 8) & 0x7) as u8,
                    type_index: (packed & 0xff) as u8,
                    expires_at: expires as i64,
                }
            })
    }
}

/// One consent state as a record holds it, its type by its place in [`Shard::types`].
#[derive(Debug, Clone, Copy)]
struct State {
    /// Microseconds (see `Timestamp`).
    event_time: i64,
    /// Microseconds, or [`NEVER`].
    expires_at: i64,
    /// Its type, as an index into [`Shard::types`].
    type_index: u8,
    /// Its kind, as an index into `EventKind::ALL`.
    kind: u8,
}

impl State {
    /// The four words of the state; `None` for an instant a record cannot keep.
    fn words(self) -> Option<[u32; STATE_WORDS]> {
        let limit = 1i64 << (TIME_BITS - 1);
        if !(-limit..limit).contains(&self.event_time) {
            return None;
        }
        let packed = ((self.event_time as u64) << (64 - TIME_BITS))
            | u64::from(self.kind & 0x7) << 8
            | u64::from(self.type_index);
        let expires = self.expires_at as u64;
        Some([
            packed as u32,
            (packed >> 32) as u32,
            expires as u32,
            (expires >> 32) as u32,
        ])
    }
}

/// A contact's remembered ring facts, by the code of the consent type the call relied on.
type RingByType = Vec<(Option<Box<str>>, RingFacts)>;

/// What a type says that decisions read: its id, code, permissions and whether it is for
/// marketing.
type TypeFacts = (ConsentTypeId, ConsentCode, Permissions, bool);

/// One shard of the remembered contacts, with its own copy of what every decision reads alike
/// (the switches, each type's code and permissions): a hit takes this one lock and no other.
#[derive(Default)]
struct Shard {
    /// The records ([`Record`]), one after the other, page by page.
    pages: Vec<Box<[u32]>>,
    /// Where the next record goes when no freed place fits it.
    top: usize,
    /// Freed places, by the length of the record they held.
    freed: Vec<Vec<u32>>,
    /// Each record's offset, found by the contact's id (which the record holds).
    by_id: HashTable<u32>,
    /// The status of the few contacts whose status is not the usual one (`HAS_STATUS`).
    statuses: HashMap<Uuid, ContactStatus>,
    /// The ring facts of the contacts a call asked about.
    rings: HashMap<Uuid, RingByType>,
    settings: Option<PrivacySettings>,
    /// The types the states of this shard name, by [`State::type_index`]: a few dozen at most.
    types: Vec<TypeFacts>,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("records", &self.by_id.len())
            .field("words", &self.top)
            .finish_non_exhaustive()
    }
}

impl Shard {
    fn type_index(&self, id: ConsentTypeId) -> Option<u8> {
        let i = self.types.iter().position(|t| t.0 == id)?;
        u8::try_from(i).ok()
    }

    fn record(&self, offset: u32) -> Option<Record<'_>> {
        let offset = offset as usize;
        let page = self.pages.get(offset / PAGE_WORDS)?;
        let from = offset % PAGE_WORDS;
        let header = *page.get(from)?;
        if header & FREED != 0 {
            return None;
        }
        page.get(from..from + Record::len(header)).map(Record)
    }

    /// The offset of contact `id`'s record, its id hashed by `hash`.
    fn find(&self, hash: u64, id: Uuid) -> Option<u32> {
        let pages = &self.pages;
        self.by_id
            .find(hash, |&o| record_id(pages, o) == Some(id))
            .copied()
    }

    /// A place for a record of `len` words: a freed one of that length, or the next at the top
    /// (on a new page if this one has no room); `None` when the shard has no more.
    fn place(&mut self, len: usize) -> Option<u32> {
        if let Some(offset) = self.freed.get_mut(len).and_then(Vec::pop) {
            return Some(offset);
        }
        if self.top % PAGE_WORDS + len > PAGE_WORDS {
            self.top = self.top.next_multiple_of(PAGE_WORDS);
        }
        let offset = self.top;
        if offset + len > MAX_WORDS || len > PAGE_WORDS {
            return None;
        }
        if offset / PAGE_WORDS >= self.pages.len() {
            self.pages.push(vec![0; PAGE_WORDS].into_boxed_slice());
        }
        self.top += len;
        u32::try_from(offset).ok()
    }

    fn write(&mut self, offset: u32, words: &[u32]) {
        let offset = offset as usize;
        if let Some(place) = self
            .pages
            .get_mut(offset / PAGE_WORDS)
            .and_then(|p| p.get_mut(offset % PAGE_WORDS..offset % PAGE_WORDS + words.len()))
        {
            place.copy_from_slice(words);
        }
    }

    /// Marks the record at `offset` forgotten and keeps its place for another of its length.
    fn free(&mut self, offset: u32) {
        let Some(len) = self.record(offset).map(|r| Record::len(r.header())) else {
            return;
        };
        if let Some(header) = self
            .pages
            .get_mut(offset as usize / PAGE_WORDS)
            .and_then(|p| p.get_mut(offset as usize % PAGE_WORDS))
        {
            *header |= FREED;
        }
        if self.freed.len() <= len {
            self.freed.resize_with(len + 1, Vec::new);
        }
        if let Some(places) = self.freed.get_mut(len) {
            places.push(offset);
        }
    }

    /// What the shard's records and tables take, in bytes.
    fn bytes(&self) -> usize {
        self.pages.len() * PAGE_WORDS * 4
            + self.by_id.allocation_size()
            + self.freed.iter().map(|f| f.capacity() * 4).sum::<usize>()
    }
}

/// The id of the record at offset `o` of `pages` (for the id table, which keeps offsets only).
fn record_id(pages: &[Box<[u32]>], o: u32) -> Option<Uuid> {
    let page = pages.get(o as usize / PAGE_WORDS)?;
    let from = o as usize % PAGE_WORDS;
    page.get(from..from + HEAD_WORDS).map(|w| Record(w).id())
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
    /// The slot of the record each key leads to, by [`Key::shard`], placed by its tag.
    keys: Box<[RwLock<HashTable<Slot>>]>,
    /// The two secret keys of [`Key`], and the one that hashes contact ids.
    hashers: [RandomState; 3],
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
            hashers: [RandomState::new(), RandomState::new(), RandomState::new()],
        }
    }

    /// How the cache keeps `key` of `kind` (see [`Key`]).
    fn key(&self, kind: KeyKind, key: &str) -> Key {
        let [a, b, _] = &self.hashers;
        Key {
            tag: a.hash_one((kind, key)) as u32,
            check: b.hash_one((kind, key)),
        }
    }

    /// The hash of a contact id in its shard's id table.
    fn id_hash(&self, id: &Uuid) -> u64 {
        self.hashers[2].hash_one(id)
    }

    /// The shard of contact `id`, and its number.
    fn contacts(&self, id: &Uuid) -> Option<(usize, &RwLock<Shard>)> {
        // A UUIDv7 ends in random bits: its last byte picks the shard, no hashing needed.
        let n = usize::from(id.as_bytes()[15]) % SHARDS;
        Some((n, self.contacts.get(n)?))
    }

    fn key_shard(&self, key: Key) -> Option<&RwLock<HashTable<Slot>>> {
        self.keys.get(key.shard())
    }

    /// The key at `slot`: `None` if its record was forgotten.
    fn key_at(&self, slot: Slot) -> Option<Key> {
        let shard = self.contacts.get(shard_of(slot))?.read().ok()?;
        shard.record(offset_of(slot))?.keys().nth(key_of(slot))
    }

    /// Makes each of `keys`, the keys of the record at `offset` in shard `n` in their order,
    /// lead to it: whatever led the key elsewhere (the contact read last has it) or nowhere any
    /// more goes. Another key that shares its tag stays (32 bits: among millions, some do).
    fn link(&self, keys: &[Key], n: usize, offset: u32) {
        for (i, key) in keys.iter().enumerate() {
            let Some(Ok(mut table)) = self.key_shard(*key).map(RwLock::write) else {
                continue;
            };
            let hash = Key::hash(key.tag);
            let new = slot(n, i, offset);
            // The key's table is locked before a record's shard, never the other way round.
            while let Ok(e) = table.find_entry(hash, |&s| {
                s != new && self.key_at(s).is_none_or(|k| k == *key)
            }) {
                e.remove();
            }
            if table.find(hash, |&s| s == new).is_none() {
                // Growing rehashes by each key's tag, read from its record (0 for one forgotten
                // meanwhile: it leads nowhere wherever it is).
                table.insert_unique(hash, new, |&s| {
                    self.key_at(s).map_or(0, |k| Key::hash(k.tag))
                });
            }
        }
    }

    /// Removes what leads `keys`, those of the record that was at `offset` in shard `n`, to it.
    fn unlink(&self, keys: &[Key], n: usize, offset: u32) {
        for (i, key) in keys.iter().enumerate() {
            let old = slot(n, i, offset);
            if let Some(Ok(mut table)) = self.key_shard(*key).map(RwLock::write)
                && let Ok(e) = table.find_entry(Key::hash(key.tag), |&s| s == old)
            {
                e.remove();
            }
        }
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
                self.len.fetch_sub(shard.by_id.len(), Ordering::SeqCst);
                *shard = Shard::default();
            }
        }
        for shard in self.keys.iter() {
            if let Ok(mut keys) = shard.write() {
                *keys = HashTable::new();
            }
        }
    }

    /// Forgets a contact; returns how it was asked about, if it was remembered.
    fn forget(&self, id: &Uuid) -> Option<Forgotten> {
        let hash = self.id_hash(id);
        let (n, shard) = self.contacts(id)?;
        let (keys, ring, offset) = {
            let mut guard = shard.write().ok()?;
            let shard = &mut *guard;
            let pages = &shard.pages;
            let offset = shard
                .by_id
                .find_entry(hash, |&o| record_id(pages, o) == Some(*id))
                .ok()?
                .remove()
                .0;
            let keys: Vec<Key> = shard
                .record(offset)
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            shard.free(offset);
            shard.statuses.remove(id);
            let ring = shard.rings.remove(id);
            (keys, ring, offset)
        };
        self.len.fetch_sub(1, Ordering::SeqCst);
        self.unlink(&keys, n, offset);
        Some(Forgotten {
            id: *id,
            by_key: !keys.is_empty(),
            ring: ring
                .map(|ring| ring.into_iter().map(|(code, _)| code).collect())
                .unwrap_or_default(),
        })
    }

    /// The remembered facts of a contact named by our id.
    pub(crate) fn by_id(&self, id: Uuid) -> Option<Facts> {
        let (_, shard) = self.contacts(&id)?;
        let shard = shard.read().ok()?;
        let offset = shard.find(self.id_hash(&id), id)?;
        facts(&shard, shard.record(offset)?)
    }

    /// The remembered facts of a contact named by a key: the record its table leads to, if that
    /// record still lists it (a key left behind by a forgotten record leads nowhere).
    pub(crate) fn by_key(&self, kind: KeyKind, key: &str) -> Option<Facts> {
        self.by_hashed_key(self.key(kind, key))
    }

    fn by_hashed_key(&self, key: Key) -> Option<Facts> {
        let table = self.key_shard(key)?.read().ok()?;
        for &slot in table.iter_hash(Key::hash(key.tag)) {
            let shard = self.contacts.get(shard_of(slot))?.read().ok()?;
            if let Some(record) = shard.record(offset_of(slot))
                && record.keys().nth(key_of(slot)) == Some(key)
            {
                return facts(&shard, record);
            }
        }
        None
    }

    /// Remembers facts read from the database after position `at` was read, under the keys
    /// they were asked by (besides our id). Not kept if the cache has moved past `at` meanwhile
    /// (what was read may predate a change it has already forgotten), nor if they disagree with
    /// what every decision reads (a change of settings or types the log will show), nor when
    /// full, nor if the record cannot hold them (more than 255 states or types in a shard, an
    /// instant beyond [`TIME_BITS`]): such a contact is read every time.
    pub(crate) fn remember(&self, at: i64, keys: &[(KeyKind, &str)], facts: &Facts) {
        let asked: Vec<Key> = keys.iter().map(|(kind, k)| self.key(*kind, k)).collect();
        self.remember_keys(at, asked, facts);
    }

    /// [`Self::remember`], the keys hashed.
    fn remember_keys(&self, at: i64, asked: Vec<Key>, facts: &Facts) {
        let id = facts.contact_id.0;
        let hash = self.id_hash(&id);
        let Some((n, shard)) = self.contacts(&id) else {
            return;
        };
        let (keys, moved, offset) = {
            let Ok(mut guard) = shard.write() else {
                return;
            };
            let shard = &mut *guard;
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
                || facts.consents.len() > MAX_STATES
            {
                return;
            }
            let mut states = Vec::with_capacity(STATE_WORDS * facts.consents.len());
            for c in &facts.consents {
                let type_index = match shard.type_index(c.type_id) {
                    Some(i) => i,
                    None => {
                        let Ok(i) = u8::try_from(shard.types.len()) else {
                            return;
                        };
                        shard
                            .types
                            .push((c.type_id, c.code.clone(), c.permissions, c.marketing));
                        i
                    }
                };
                let Some(kind) = EventKind::ALL.iter().position(|k| *k == c.kind) else {
                    return;
                };
                let state = State {
                    event_time: c.event_time.as_micros(),
                    expires_at: c.expires_at.map_or(NEVER, Timestamp::as_micros),
                    type_index,
                    kind: kind as u8,
                };
                let Some(words) = state.words() else {
                    return;
                };
                states.extend_from_slice(&words);
            }
            // An entry asked again by other keys keeps those it had, and its ring facts:
            // nothing logged since they were read (they would be gone with the entry).
            let old = shard.find(hash, id);
            let mut keys: Vec<Key> = old
                .and_then(|o| shard.record(o))
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            // The keys it had keep their places; those new to it follow.
            let kept = keys.len();
            for key in asked {
                if !keys.contains(&key) && keys.len() < MAX_KEYS {
                    keys.push(key);
                }
            }
            if old.is_none() && self.len.load(Ordering::SeqCst) >= self.capacity {
                return;
            }
            let has_status = facts.status != ContactStatus::default();
            let header = (facts.consents.len() as u32)
                | (keys.len() as u32) << KEYS_SHIFT
                | if has_status { HAS_STATUS } else { 0 };
            let mut words = Vec::with_capacity(Record::len(header));
            words.push(header);
            words.extend(
                id.as_bytes()
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            for key in &keys {
                words.extend([key.tag, key.check as u32, (key.check >> 32) as u32]);
            }
            words.extend_from_slice(&states);
            // Rewritten in place when its length is the same (the usual case: a contact read
            // again after a change); moved otherwise, and its keys then lead to the new place.
            let Some(offset) = old
                .filter(|o| {
                    shard
                        .record(*o)
                        .is_some_and(|r| Record::len(r.header()) == words.len())
                })
                .or_else(|| shard.place(words.len()))
            else {
                return;
            };
            shard.write(offset, &words);
            match old {
                Some(o) if o == offset => {}
                Some(o) => {
                    if let Some(place) = shard.by_id.find_mut(hash, |&x| x == o) {
                        *place = offset;
                    }
                    shard.free(o);
                }
                None => {
                    self.len.fetch_add(1, Ordering::SeqCst);
                    let Shard { pages, by_id, .. } = shard;
                    let hasher = &self.hashers[2];
                    by_id.insert_unique(hash, offset, |&o| {
                        record_id(pages, o).map_or(0, |id| hasher.hash_one(id))
                    });
                }
            }
            if has_status {
                shard.statuses.insert(id, facts.status.clone());
            } else {
                shard.statuses.remove(&id);
            }
            shard.settings = Some(facts.settings);
            (
                keys,
                old.filter(|o| *o != offset).map(|o| (o, kept)),
                offset,
            )
        };
        // The keys last: a key that outlives its record (forgotten meanwhile) leads nowhere, as
        // `by_key` checks the record at its slot still lists it.
        if let Some((o, kept)) = moved {
            self.unlink(keys.get(..kept).unwrap_or_default(), n, o);
        }
        self.link(&keys, n, offset);
    }

    /// The remembered ring facts of contact `id`'s primary number for a call relying on the
    /// consent type coded `relied_on`: `None` when the contact is not remembered (nothing about
    /// it can be), `Some(None)` when it is but these are not yet.
    pub(crate) fn ring(&self, id: Uuid, relied_on: Option<&str>) -> Option<Option<RingFacts>> {
        let (_, shard) = self.contacts(&id)?;
        let shard = shard.read().ok()?;
        shard.find(self.id_hash(&id), id)?;
        Some(
            shard
                .rings
                .get(&id)
                .into_iter()
                .flatten()
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
        let Some(Ok(mut shard)) = self.contacts(&id).map(|(_, s)| s.write()) else {
            return;
        };
        // Under the lock catching up takes to forget the contact, as in `remember`.
        if self.seen.load(Ordering::SeqCst) != at || shard.find(self.id_hash(&id), id).is_none() {
            return;
        }
        let kept = shard.rings.entry(id).or_default();
        match kept
            .iter_mut()
            .find(|(code, _)| code.as_deref() == relied_on)
        {
            Some((_, kept)) => *kept = ring.clone(),
            None => kept.push((relied_on.map(Box::from), ring.clone())),
        }
    }

    /// What the remembered contacts take in memory, in bytes: their records and the tables
    /// that find them (not the few statuses and ring facts kept beside).
    pub(crate) fn bytes(&self) -> usize {
        let contacts: usize = self
            .contacts
            .iter()
            .filter_map(|s| s.read().ok().map(|s| s.bytes()))
            .sum();
        let keys: usize = self
            .keys
            .iter()
            .filter_map(|k| k.read().ok().map(|k| k.allocation_size()))
            .sum();
        contacts + keys
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

/// The slot of key `i` of the record at `offset` of shard `n`.
fn slot(n: usize, i: usize, offset: u32) -> Slot {
    ((n as u32) << (OFFSET_BITS + KEY_BITS)) | ((i as u32) << OFFSET_BITS) | offset
}

fn shard_of(slot: Slot) -> usize {
    (slot >> (OFFSET_BITS + KEY_BITS)) as usize
}

fn key_of(slot: Slot) -> usize {
    ((slot >> OFFSET_BITS) & ((1 << KEY_BITS) - 1)) as usize
}

fn offset_of(slot: Slot) -> u32 {
    slot & ((1 << OFFSET_BITS) - 1)
}

/// The facts a record holds, its types and switches from its shard.
fn facts(shard: &Shard, record: Record<'_>) -> Option<Facts> {
    let id = record.id();
    let mut consents = Vec::with_capacity((record.header() & STATES_MASK) as usize);
    for s in record.states() {
        let (type_id, code, permissions, marketing) = shard.types.get(usize::from(s.type_index))?;
        consents.push(ConsentState {
            type_id: *type_id,
            code: code.clone(),
            permissions: *permissions,
            marketing: *marketing,
            kind: *EventKind::ALL.get(usize::from(s.kind))?,
            event_time: Timestamp::from_micros(s.event_time),
            expires_at: (s.expires_at != NEVER).then(|| Timestamp::from_micros(s.expires_at)),
        });
    }
    let status = if record.header() & HAS_STATUS != 0 {
        shard.statuses.get(&id)?.clone()
    } else {
        ContactStatus::default()
    };
    Some(Facts {
        contact_id: ContactId(id),
        status,
        settings: shard.settings?,
        consents,
    })
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
        cache.remember(1, &[(KeyKind::Email, "a@example.it")], &read);
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
        cache.remember(1, &[], &facts(b, false));
        assert_eq!(cache.by_id(b).unwrap().status, ContactStatus::default());
    }

    #[test]
    fn a_contact_logged_since_is_forgotten_and_others_are_kept() {
        let cache = DecisionCache::new(10);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        cache.catch_up(3, no_log).ok();
        cache.remember(3, &[(KeyKind::External, "A")], &facts(a, false));
        cache.remember(3, &[], &facts(b, false));
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
        cache.remember(3, &[], &facts(a, false));
        // Position 4 was pruned before this process read it.
        cache
            .catch_up(6, |_| -> Result<_, ()> {
                Ok(vec![(5, Some(Uuid::from_u128(9))), (6, None)])
            })
            .ok();
        assert_eq!(cache.len(), 0);
        cache.remember(6, &[], &facts(a, false));
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
        cache.remember(3, &[], &facts(a, false));
        cache
            .catch_up(4, |_| -> Result<_, ()> { Ok(vec![(4, Some(a))]) })
            .ok();
        // Read when the head was 3: it may predate the change at 4.
        cache.remember(3, &[], &facts(a, false));
        assert!(cache.by_id(a).is_none());
        cache.remember(4, &[], &facts(a, true));
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
        cache.remember(1, &[(KeyKind::Email, "x@example.org")], &facts(a, false));
        cache.remember(1, &[(KeyKind::Email, "x@example.org")], &facts(b, false));
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
        cache.remember(at, &[], &facts(a, false));
        cache.remember(at, &[], &facts(b, false));
        let (next, forgotten) = cache.advance(Some(&[a]));
        assert_eq!(next, at + 1);
        assert_eq!(forgotten.iter().map(|f| f.id).collect::<Vec<_>>(), [a]);
        assert!(cache.by_id(a).is_none());
        assert!(cache.by_id(b).is_some());
        // Read before the fence: it may predate the change the fence applied.
        cache.remember(at, &[], &facts(a, true));
        assert!(cache.by_id(a).is_none());
        cache.remember(next, &[], &facts(a, true));
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
        cache.remember(3, &[(KeyKind::Phone, "+393331112222")], &facts(a, false));
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
        cache.remember(3, &[], &facts(a, false));
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
        cache.remember(3, &[], &facts(a, false));
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
            cache.remember(1, &[], &facts(Uuid::from_u128(i), false));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.by_id(Uuid::from_u128(2)).is_none());
        cache.remember(1, &[], &facts(Uuid::from_u128(1), true));
        assert!(
            cache
                .by_id(Uuid::from_u128(1))
                .is_some_and(|f| f.status.restricted_since.is_some())
        );
    }

    fn with_consents(id: Uuid, n: u128) -> Facts {
        let mut f = facts(id, false);
        f.consents = (0..n)
            .map(|t| ConsentState {
                type_id: ConsentTypeId(Uuid::from_u128(100 + t)),
                code: ConsentCode::parse(&format!("T{t}")).unwrap(),
                permissions: Permissions::default(),
                marketing: false,
                kind: EventKind::ALL[(t as usize) % EventKind::ALL.len()],
                event_time: Timestamp::from_micros(1_700_000_000_000_000 + t as i64),
                expires_at: (t % 2 == 0).then(|| Timestamp::from_micros(1_800_000_000_000_000)),
            })
            .collect();
        f
    }

    #[test]
    fn a_contact_asked_by_more_keys_moves_and_every_key_still_leads_to_it() {
        let cache = DecisionCache::new(10);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(65));
        cache.catch_up(1, no_log).ok();
        cache.remember(1, &[(KeyKind::Email, "a@example.it")], &with_consents(a, 2));
        cache.remember(
            1,
            &[(KeyKind::Phone, "+393331112222")],
            &with_consents(a, 3),
        );
        cache.remember(1, &[(KeyKind::External, "A-1")], &with_consents(a, 3));
        for back in [
            cache.by_key(KeyKind::Email, "a@example.it"),
            cache.by_key(KeyKind::Phone, "+393331112222"),
            cache.by_key(KeyKind::External, "A-1"),
            cache.by_id(a),
        ] {
            assert_eq!(back.unwrap().consents, with_consents(a, 3).consents);
        }
        assert_eq!(cache.len(), 1);
        // The places it left are taken by records of their length: b (same shard, one key,
        // two states) takes the first.
        let shard = |id: &Uuid| cache.contacts(id).unwrap().1.read().unwrap().top;
        let top = shard(&a);
        cache.remember(1, &[(KeyKind::Email, "b@example.it")], &with_consents(b, 2));
        assert_eq!(shard(&b), top);
        assert_eq!(
            cache
                .by_key(KeyKind::Email, "b@example.it")
                .unwrap()
                .contact_id
                .0,
            b
        );
        assert!(cache.by_key(KeyKind::Email, "a@example.it").is_some());
        // Forgotten: no key leads to it, nor to the place it held.
        cache
            .catch_up(2, |_| -> Result<_, ()> { Ok(vec![(2, Some(a))]) })
            .ok();
        assert!(cache.by_key(KeyKind::Phone, "+393331112222").is_none());
        assert!(cache.by_key(KeyKind::External, "A-1").is_none());
        assert!(cache.by_id(b).is_some());
    }

    #[test]
    fn two_keys_that_share_a_tag_each_lead_to_their_own_contact() {
        let cache = DecisionCache::new(10);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let ka = Key { tag: 7, check: 1 };
        let kb = Key { tag: 7, check: 2 };
        cache.catch_up(1, no_log).ok();
        cache.remember_keys(1, vec![ka], &facts(a, false));
        cache.remember_keys(1, vec![kb], &facts(b, true));
        assert_eq!(cache.by_hashed_key(ka).unwrap().contact_id.0, a);
        assert_eq!(cache.by_hashed_key(kb).unwrap().contact_id.0, b);
        // A third key of that tag, known to no one, leads nowhere.
        assert!(cache.by_hashed_key(Key { tag: 7, check: 3 }).is_none());
        // Either forgotten, the other still leads to its contact.
        cache
            .catch_up(2, |_| -> Result<_, ()> { Ok(vec![(2, Some(a))]) })
            .ok();
        assert!(cache.by_hashed_key(ka).is_none());
        assert_eq!(cache.by_hashed_key(kb).unwrap().contact_id.0, b);
    }

    #[test]
    fn an_instant_a_record_cannot_hold_is_read_every_time_and_the_edges_come_back_whole() {
        let cache = DecisionCache::new(10);
        cache.catch_up(1, no_log).ok();
        let limit = 1i64 << (TIME_BITS - 1);
        for (n, (time, kept)) in [
            (-limit, true),
            (limit - 1, true),
            (-5, true),
            (limit, false),
            (-limit - 1, false),
        ]
        .into_iter()
        .enumerate()
        {
            let id = Uuid::from_u128(n as u128 + 1);
            let mut read = with_consents(id, 1);
            read.consents[0].event_time = Timestamp::from_micros(time);
            read.consents[0].expires_at = Some(Timestamp::from_micros(i64::MIN));
            cache.remember(1, &[], &read);
            let back = cache.by_id(id);
            assert_eq!(back.is_some(), kept, "{time}");
            if let Some(back) = back {
                assert_eq!(back.consents, read.consents);
            }
        }
    }

    #[test]
    fn remembered_contacts_take_under_150_bytes_each_with_three_keys_and_two_consents() {
        // Three keys (CRM id, address, number) and two consents, as most contacts have.
        let n: usize = 200_000;
        let cache = DecisionCache::new(n);
        cache.catch_up(1, no_log).ok();
        // Ids spread over the shards as random ones are (by their last byte).
        let ids: Vec<Uuid> = (1..=n as u128)
            .map(|i| Uuid::from_u128(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            let (x, e, p) = (
                format!("C{i}"),
                format!("p{i}@example.it"),
                format!("+39333{i:07}"),
            );
            cache.remember(
                1,
                &[
                    (KeyKind::External, &x),
                    (KeyKind::Email, &e),
                    (KeyKind::Phone, &p),
                ],
                &with_consents(*id, 2),
            );
        }
        assert_eq!(cache.len(), n);
        let each = cache.bytes() / n;
        assert!(each <= 150, "{each} bytes a contact");
        assert!(cache.by_key(KeyKind::Phone, "+393330000017").is_some());
    }
}
