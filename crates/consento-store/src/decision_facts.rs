//! What the decision path's modules share, below all three of them: the facts a decision reads
//! about one contact (`decide` reads them, `decision_cache` keeps them), how a decision named its
//! contact, the size of SQLite's WAL-index header (`fastread` reads it, `decision_cache` fences
//! with it), and the statements and bounds of the change log `decision_changes` (migration 0017).

use consento_domain::{ConsentState, ContactId, ContactStatus, PrivacySettings};

/// Everything the rules need about one contact, as read in one query.
pub(crate) struct Facts {
    pub contact_id: ContactId,
    pub status: ContactStatus,
    pub settings: PrivacySettings,
    pub consents: Vec<ConsentState>,
}

/// The size of the WAL-index header; the file starts with two copies of it.
pub(crate) const WAL_HEADER: usize = 48;

/// The last position of the change log.
pub(crate) const HEAD_SQL: &str = "SELECT max(seq) FROM decision_changes";
/// The changes after a position, in order (at most [`MAX_CHANGES`] + 1 are read).
pub(crate) const CHANGES_SQL: &str =
    "SELECT seq, contact_id FROM decision_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2";
/// Positions kept in the log behind the last one (older rows are pruned); a process further
/// behind than this forgets everything when it next decides.
pub(crate) const KEPT_CHANGES: i64 = 100_000;
/// The most changes read to catch up: all that the log keeps. Reading 100,000 positions and
/// forgetting their contacts takes tens of milliseconds once; forgetting everyone instead would
/// make every decision after a burst of writes read the database again.
pub(crate) const MAX_CHANGES: i64 = KEPT_CHANGES;

/// How a decision named its contact, normalised (a trimmed CRM id, a normalised address, an E.164
/// number), for the lookups that do not go by our id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum KeyKind {
    External,
    Email,
    Phone,
}
