//! The facts of recent decisions, kept in memory on SQLite, and the rule that keeps them true: a
//! decision first reads the last position of the change log (`decision_changes`, written by
//! database triggers on everything the decision query reads, in commit order; migration 0017),
//! forgets every contact logged since it last looked, and only then answers from memory. A
//! withdrawal committed before a decision was asked is therefore always seen, whichever process
//! committed it (the command line, another server on the same file), while the cost of an
//! answer drops from a dozen B-tree descents to one short read (DESIGN.md §7: a dialer asks
//! before every ring).
//!
//! What is remembered is read from the database after the position it is filed under, and is
//! filed only if no newer position has been applied meanwhile; so no entry is ever older than the
//! position the cache has caught up to. A gap in the log (pruned while this process was idle), a
//! row without a contact (settings, consent types, the suppression list) or a long run of
//! changes makes it forget everything instead.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use consento_domain::{
    ConsentCode, ConsentState, ConsentTypeId, ContactId, ContactStatus, EventKind, Permissions,
    PrivacySettings, Timestamp,
};
use uuid::Uuid;

use crate::decide::Facts;

/// The last position of the change log.
pub(crate) const HEAD_SQL: &str = "SELECT max(seq) FROM decision_changes";
/// The changes after a position, in order (at most [`MAX_CHANGES`] + 1 are read).
pub(crate) const CHANGES_SQL: &str =
    "SELECT seq, contact_id FROM decision_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2";
/// Past this many changes to catch up on, forgetting everything is cheaper than reading them.
pub(crate) const MAX_CHANGES: i64 = 4_096;
/// Positions kept in the log behind the last one (older rows are pruned); a process further
/// behind than this forgets everything when it next decides.
pub(crate) const KEPT_CHANGES: i64 = 100_000;

/// How a decision named its contact, normalised (a trimmed CRM id, a normalised address, an E.164
/// number), for the lookups that do not go by our id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    External,
    Email,
    Phone,
}

/// One consent state, without what its type says (kept once per type, in [`Inner::types`]).
#[derive(Debug, Clone, Copy)]
struct State {
    type_id: ConsentTypeId,
    kind: EventKind,
    event_time: Timestamp,
    expires_at: Option<Timestamp>,
}

/// A remembered contact: what the rules read, and the keys that lead to it (forgotten with it).
#[derive(Debug)]
struct Entry {
    status: ContactStatus,
    states: Box<[State]>,
    keys: Vec<(KeyKind, Arc<str>)>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The change-log position everything here is at least as new as.
    seen: i64,
    contacts: HashMap<Uuid, Entry>,
    external: HashMap<Arc<str>, Uuid>,
    email: HashMap<Arc<str>, Uuid>,
    phone: HashMap<Arc<str>, Uuid>,
    /// What every decision reads alike: the switches and each type's code and permissions.
    settings: Option<PrivacySettings>,
    types: HashMap<ConsentTypeId, (ConsentCode, Permissions)>,
}

impl Inner {
    fn keys(&mut self, kind: KeyKind) -> &mut HashMap<Arc<str>, Uuid> {
        match kind {
            KeyKind::External => &mut self.external,
            KeyKind::Email => &mut self.email,
            KeyKind::Phone => &mut self.phone,
        }
    }

    fn forget_all(&mut self) {
        self.contacts.clear();
        self.external.clear();
        self.email.clear();
        self.phone.clear();
        self.settings = None;
        self.types.clear();
    }

    fn forget(&mut self, id: &Uuid) {
        if let Some(entry) = self.contacts.remove(id) {
            for (kind, key) in entry.keys {
                let map = self.keys(kind);
                if map.get(&key) == Some(id) {
                    map.remove(&key);
                }
            }
        }
    }

    fn facts(&self, id: Uuid) -> Option<Facts> {
        let entry = self.contacts.get(&id)?;
        let settings = self.settings?;
        let mut consents = Vec::with_capacity(entry.states.len());
        for s in entry.states.iter() {
            let (code, permissions) = self.types.get(&s.type_id)?;
            consents.push(ConsentState {
                type_id: s.type_id,
                code: code.clone(),
                permissions: *permissions,
                kind: s.kind,
                event_time: s.event_time,
                expires_at: s.expires_at,
            });
        }
        Some(Facts {
            contact_id: ContactId(id),
            status: entry.status.clone(),
            settings,
            consents,
        })
    }
}

/// The cache of one store; `capacity` contacts at most (then it starts again from empty).
#[derive(Debug)]
pub(crate) struct DecisionCache {
    capacity: usize,
    inner: RwLock<Inner>,
}

/// What catching up needs from the database: the changes after a position.
pub(crate) type Change = (i64, Option<Uuid>);

impl DecisionCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: RwLock::new(Inner::default()),
        }
    }

    /// Brings the cache to position `head`, reading the changes since the position it is at with
    /// `changes` (positions after the one given, in order, at most `MAX_CHANGES + 1`).
    pub(crate) fn catch_up<E>(
        &self,
        head: i64,
        changes: impl FnOnce(i64) -> Result<Vec<Change>, E>,
    ) -> Result<(), E> {
        let (seen, empty) = match self.inner.read() {
            Ok(inner) => (inner.seen, inner.contacts.is_empty()),
            // A poisoned lock answers nothing from memory (see `by_id`): nothing to keep true.
            Err(_) => return Ok(()),
        };
        // At or past `head` already: another thread read a newer position and applied it.
        if seen >= head {
            return Ok(());
        }
        // Nothing remembered, or too far behind: no need to know what changed.
        let log = if empty || head - seen > MAX_CHANGES {
            None
        } else {
            Some(changes(seen)?)
        };
        let Ok(mut inner) = self.inner.write() else {
            return Ok(());
        };
        if inner.seen >= head {
            return Ok(());
        }
        match log {
            // Positions up to `inner.seen` (another thread's catching up meanwhile) are applied.
            Some(log) if complete(&log, seen, head) => {
                for (seq, contact) in log {
                    if seq > inner.seen
                        && seq <= head
                        && let Some(id) = contact
                    {
                        inner.forget(&id);
                    }
                }
            }
            _ => inner.forget_all(),
        }
        inner.seen = head;
        Ok(())
    }

    /// The remembered facts of a contact named by our id.
    pub(crate) fn by_id(&self, id: Uuid) -> Option<Facts> {
        self.inner.read().ok()?.facts(id)
    }

    /// The remembered facts of a contact named by a key.
    pub(crate) fn by_key(&self, kind: KeyKind, key: &str) -> Option<Facts> {
        let inner = self.inner.read().ok()?;
        let map = match kind {
            KeyKind::External => &inner.external,
            KeyKind::Email => &inner.email,
            KeyKind::Phone => &inner.phone,
        };
        inner.facts(*map.get(key)?)
    }

    /// Remembers facts read from the database after position `at` was read, under the key they
    /// were asked by (if not our id). Not kept if the cache has moved past `at` meanwhile: what
    /// was read may predate a change it has already forgotten.
    pub(crate) fn remember(&self, at: i64, key: Option<(KeyKind, &str)>, facts: &Facts) {
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if inner.seen != at {
            return;
        }
        let id = facts.contact_id.0;
        if inner.settings.is_some_and(|s| s != facts.settings)
            || facts.consents.iter().any(|c| {
                inner
                    .types
                    .get(&c.type_id)
                    .is_some_and(|(code, p)| *code != c.code || *p != c.permissions)
            })
        {
            // Read across a change of what every decision reads: start afresh.
            inner.forget_all();
        }
        if !inner.contacts.contains_key(&id) && inner.contacts.len() >= self.capacity {
            inner.forget_all();
        }
        inner.settings = Some(facts.settings);
        for c in &facts.consents {
            inner
                .types
                .entry(c.type_id)
                .or_insert_with(|| (c.code.clone(), c.permissions));
        }
        let mut keys = inner
            .contacts
            .remove(&id)
            .map(|e| e.keys)
            .unwrap_or_default();
        if let Some((kind, key)) = key {
            let key: Arc<str> = Arc::from(key);
            if let Some(previous) = inner.keys(kind).insert(Arc::clone(&key), id)
                && previous != id
            {
                inner.forget(&previous);
            }
            if !keys
                .iter()
                .any(|(k, existing)| *k == kind && **existing == *key)
            {
                keys.push((kind, key));
            }
        }
        let states = facts
            .consents
            .iter()
            .map(|c| State {
                type_id: c.type_id,
                kind: c.kind,
                event_time: c.event_time,
                expires_at: c.expires_at,
            })
            .collect();
        inner.contacts.insert(
            id,
            Entry {
                status: facts.status.clone(),
                states,
                keys,
            },
        );
    }

    /// Contacts remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.read().map_or(0, |i| i.contacts.len())
    }
}

/// Whether `log` holds every position after `seen` up to `head`, each once: the log's positions
/// are consecutive (SQLite's one writer gives the next rowid at each commit), so a pruned or
/// truncated stretch shows as a gap.
fn complete(log: &[Change], seen: i64, head: i64) -> bool {
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
    fn a_key_that_now_leads_elsewhere_forgets_the_contact_it_led_to() {
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
        assert!(cache.by_id(a).is_none());
    }

    #[test]
    fn a_full_cache_starts_again_from_empty() {
        let cache = DecisionCache::new(2);
        cache.catch_up(1, no_log).ok();
        for i in 0..3 {
            cache.remember(1, None, &facts(Uuid::from_u128(i), false));
        }
        assert_eq!(cache.len(), 1);
    }
}
