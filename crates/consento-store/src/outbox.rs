//! What the outboxes share (`webhook_outbox`, `email_outbox`): a message is claimed under a lease
//! that counts as an attempt, then marked delivered, retried at a later instant, or given up.
//! Several processes may drain one database: on PostgreSQL a claim passes over the
//! rows another claimer has locked (`FOR UPDATE SKIP LOCKED`) instead of waiting for them and
//! claiming them again; on SQLite the claim's transaction holds the database's one write lock.

use std::time::Duration;

use consento_domain::Timestamp;

use crate::Backend;

/// What happens to a message after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    /// Try again from this instant.
    At(Timestamp),
    /// Give up: the message is dead and stays for inspection.
    Dead,
}

/// The row-locking clause of a claim's inner SELECT: `FOR UPDATE [OF alias] SKIP LOCKED` on
/// PostgreSQL, nothing on SQLite (no row locks, no such clause; its write lock serialises
/// claimers). The one backend branch of every claim.
pub(crate) fn skip_locked(backend: Backend, alias: Option<&str>) -> String {
    match (backend, alias) {
        (Backend::Sqlite, _) => String::new(),
        (Backend::Postgres, None) => "FOR UPDATE SKIP LOCKED".to_owned(),
        (Backend::Postgres, Some(alias)) => format!("FOR UPDATE OF {alias} SKIP LOCKED"),
    }
}

/// The end of a lease of `lease` taken at `now`, in microseconds (saturating).
pub(crate) fn lease_until(now: Timestamp, lease: Duration) -> i64 {
    let lease = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    now.as_micros().saturating_add(lease)
}
