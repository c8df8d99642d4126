//! The consent ledger's tamper evidence: every event is hashed together with the hash of the
//! event before it (a hash chain, SHA-256), so altering, removing, inserting or reordering any
//! event breaks the chain from that point on, and [`Verifier`] names the first bad event.
//!
//! Rows carry no plain personal data, so that an erasure (GDPR Art. 17) leaves the chain
//! verifiable: the contact appears by its opaque id, and evidence only by a salted digest.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    ActorKind, CollectionMethod, ConsentTypeId, ContactId, EventId, EventKind, NoticeId, Timestamp,
};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first event.
pub const GENESIS: Hash = [0; 32];

/// The recorded content of one ledger event, everything the hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Position in the ledger, from 1, without gaps.
    pub seq: i64,
    /// The event's id.
    pub id: EventId,
    /// The contact, by our opaque id.
    pub contact_id: ContactId,
    /// The consent type.
    pub consent_type_id: ConsentTypeId,
    /// The type's code when the event was recorded.
    pub type_code: String,
    /// What happened.
    pub kind: EventKind,
    /// When it happened (entered by the operator; may be in the past, never in the future).
    pub event_time: Timestamp,
    /// When Consento recorded it.
    pub recorded_at: Timestamp,
    /// How it was collected.
    pub method: CollectionMethod,
    /// Who recorded it.
    pub actor_kind: ActorKind,
    /// The actor's identifier.
    pub actor_id: String,
    /// The privacy notice version the person was shown.
    pub notice_id: Option<NoticeId>,
    /// The type's validity in force when the event was recorded.
    pub validity_days: Option<u32>,
    /// Salted SHA-256 of the evidence, kept apart (see [`evidence_digest`]).
    pub evidence_digest: Option<Hash>,
    /// The hash of the previous event ([`GENESIS`] for the first).
    pub prev_hash: Hash,
}

impl EventRecord {
    /// The event's hash: SHA-256 over a domain-separated, length-prefixed encoding of every field
    /// and of `prev_hash`. Length prefixes make the encoding unambiguous, so no two different
    /// records share an input.
    pub fn hash(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(b"consento-ledger-v1");
        let mut bytes = |b: &[u8]| {
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        };
        bytes(&self.seq.to_be_bytes());
        bytes(self.id.0.as_bytes());
        bytes(self.contact_id.0.as_bytes());
        bytes(self.consent_type_id.0.as_bytes());
        bytes(self.type_code.as_bytes());
        bytes(self.kind.code().as_bytes());
        bytes(&self.event_time.as_micros().to_be_bytes());
        bytes(&self.recorded_at.as_micros().to_be_bytes());
        bytes(self.method.code().as_bytes());
        bytes(self.actor_kind.code().as_bytes());
        bytes(self.actor_id.as_bytes());
        bytes(
            self.notice_id
                .map(|n| *n.0.as_bytes())
                .as_ref()
                .map_or(&[][..], |b| &b[..]),
        );
        bytes(&self.validity_days.map_or(-1, i64::from).to_be_bytes());
        bytes(self.evidence_digest.as_ref().map_or(&[][..], |d| &d[..]));
        bytes(&self.prev_hash);
        h.finalize().into()
    }
}

/// The digest of a piece of evidence: SHA-256 of a random salt and the evidence. The salt is
/// stored with the evidence, not in the ledger, so once both are erased the digest in the ledger
/// cannot be matched against a guess (an email address is easy to guess; a 32-byte salt is not).
pub fn evidence_digest(salt: &[u8; 32], evidence: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(b"consento-evidence-v1");
    h.update(salt);
    h.update(evidence.as_bytes());
    h.finalize().into()
}

/// What is wrong at the first bad event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Break {
    /// The stored hash does not match the content: the event was altered.
    ContentAltered,
    /// The event does not point at the hash of the event before it: an event before it was
    /// removed, inserted or moved.
    ChainBroken,
    /// The sequence skips or repeats a number: an event was removed or inserted here.
    SequenceGap,
    /// The ledger ends before its recorded head: events at the end were removed.
    Truncated,
    /// The ledger goes on past its recorded head: events were appended around Consento.
    BeyondHead,
}

/// The first bad event found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainError {
    /// Its position in the ledger (for [`Break::Truncated`], the last position the head records).
    pub seq: i64,
    /// Its id, when there is an event at that position.
    pub id: Option<EventId>,
    /// What is wrong.
    pub problem: Break,
}

/// Walks the ledger in sequence order, one event at a time (memory stays flat however long the
/// ledger is), and stops at the first bad event.
#[derive(Debug)]
pub struct Verifier {
    expected_seq: i64,
    prev: Hash,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev: GENESIS,
        }
    }
}

impl Verifier {
    /// A verifier at the start of the ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next event, as stored with its `stored_hash`.
    pub fn check(&mut self, event: &EventRecord, stored_hash: &Hash) -> Result<(), ChainError> {
        let fail = |problem| {
            Err(ChainError {
                seq: event.seq,
                id: Some(event.id),
                problem,
            })
        };
        if event.seq != self.expected_seq {
            return fail(Break::SequenceGap);
        }
        if event.hash() != *stored_hash {
            return fail(Break::ContentAltered);
        }
        if event.prev_hash != self.prev {
            return fail(Break::ChainBroken);
        }
        self.expected_seq += 1;
        self.prev = *stored_hash;
        Ok(())
    }

    /// Checks the end of the ledger against its head (the last position and hash recorded beside
    /// it), which catches events removed from the end. Returns the number of events verified.
    pub fn finish(self, head_seq: i64, head_hash: &Hash) -> Result<i64, ChainError> {
        let last = self.expected_seq - 1;
        if last > head_seq {
            return Err(ChainError {
                seq: head_seq + 1,
                id: None,
                problem: Break::BeyondHead,
            });
        }
        if last != head_seq || self.prev != *head_hash {
            return Err(ChainError {
                seq: head_seq,
                id: None,
                problem: Break::Truncated,
            });
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn event(seq: i64, prev: Hash) -> EventRecord {
        EventRecord {
            seq,
            id: EventId(Uuid::from_u128(seq as u128)),
            contact_id: ContactId(Uuid::from_u128(7)),
            consent_type_id: ConsentTypeId(Uuid::from_u128(9)),
            type_code: "NEWS".into(),
            kind: EventKind::Given,
            event_time: Timestamp::from_micros(1_000),
            recorded_at: Timestamp::from_micros(2_000),
            method: CollectionMethod::Form,
            actor_kind: ActorKind::Operator,
            actor_id: "mrossi".into(),
            notice_id: None,
            validity_days: Some(365),
            evidence_digest: None,
            prev_hash: prev,
        }
    }

    fn chain(n: i64) -> Vec<(EventRecord, Hash)> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let e = event(seq, prev);
                prev = e.hash();
                (e, prev)
            })
            .collect()
    }

    fn verify(events: &[(EventRecord, Hash)], head: (i64, Hash)) -> Result<i64, ChainError> {
        let mut v = Verifier::new();
        for (e, h) in events {
            v.check(e, h)?;
        }
        v.finish(head.0, &head.1)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let c = chain(5);
        let head = (5, c[4].1);
        assert_eq!(verify(&c, head), Ok(5));
    }

    #[test]
    fn an_altered_event_is_named() {
        let mut c = chain(5);
        let head = (5, c[4].1);
        c[2].0.kind = EventKind::Withdrawn;
        let err = verify(&c, head).unwrap_err();
        assert_eq!((err.seq, err.problem), (3, Break::ContentAltered));
    }

    #[test]
    fn a_removed_event_is_named() {
        let mut c = chain(5);
        let head = (5, c[4].1);
        c.remove(1);
        let err = verify(&c, head).unwrap_err();
        assert_eq!((err.seq, err.problem), (3, Break::SequenceGap));
    }

    #[test]
    fn a_removed_last_event_is_caught_by_the_head() {
        let mut c = chain(5);
        let head = (5, c[4].1);
        c.pop();
        assert_eq!(verify(&c, head).unwrap_err().problem, Break::Truncated);
    }

    #[test]
    fn swapped_events_are_caught() {
        let mut c = chain(5);
        let head = (5, c[4].1);
        // Swap the contents of positions 2 and 3 but keep the sequence numbers in order.
        let (a, b) = (c[1].clone(), c[2].clone());
        c[1] = (EventRecord { seq: 2, ..b.0 }, b.1);
        c[2] = (EventRecord { seq: 3, ..a.0 }, a.1);
        let err = verify(&c, head).unwrap_err();
        assert_eq!(err.seq, 2);
    }

    #[test]
    fn the_same_evidence_with_another_salt_has_another_digest() {
        assert_ne!(
            evidence_digest(&[1; 32], "signed form"),
            evidence_digest(&[2; 32], "signed form")
        );
    }
}
