//! The application layer's one error type. It wraps the store's (which already names the field
//! at fault for every refused input) and adds what only a use case can fail at; each adapter maps
//! it once: the API to RFC 9457 problems, the console to a page, the command line to one line.

use consento_domain::DomainError;
use consento_domain::ledger::{Break, ChainError};
use consento_store::StoreError;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store refused or failed (an invalid field, a conflict, a missing record, the
    /// database).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An input does not have the shape asked for (a status that is not one, a paging token not
    /// from this list): not a value the rules refuse, but one that cannot be read.
    #[error("{field}: {reason}")]
    Malformed {
        /// The field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Something failed that the caller cannot fix (a task that did not finish, a key that does
    /// not sign): logged by the adapter, never shown as is.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        Self::Store(StoreError::Invalid(e))
    }
}

impl AppError {
    /// The store's error, when the failure is one.
    pub fn as_store(&self) -> Option<&StoreError> {
        match self {
            Self::Store(e) => Some(e),
            Self::Malformed { .. } | Self::Internal(_) => None,
        }
    }

    /// The field at fault, when an input was refused (invalid or in conflict).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Store(StoreError::Invalid(e)) => Some(e.field()),
            Self::Store(StoreError::Conflict { field, .. }) | Self::Malformed { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    /// An input that cannot be read, naming the field at fault.
    pub fn malformed(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            field,
            reason: reason.into(),
        }
    }

    /// An input that breaks a rule, naming the field at fault.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::invalid(field, reason).into()
    }
}

/// A store failure in plain words, on one line, for a person: the ledger's break named, a
/// database failure without its internals (the database's own message can hold SQL, paths or
/// connection details).
pub fn describe_store(err: &StoreError) -> String {
    match err {
        StoreError::Chain(c) => describe_chain(c),
        StoreError::Database(_) => {
            "database error: the operation could not be completed (is the database reachable and writable?)".into()
        }
        other => other.to_string(),
    }
}

/// `ledger broken at event <seq> (<id>): <problem>`.
pub fn describe_chain(c: &ChainError) -> String {
    let id =
        c.id.map_or_else(|| "no event".to_owned(), |id| id.to_string());
    let problem = match c.problem {
        Break::ContentAltered => "the stored hash does not match its content (altered)",
        Break::ChainBroken => {
            "it does not point at the hash of the event before it (an event was removed, inserted or moved)"
        }
        Break::SequenceGap => {
            "the sequence skips or repeats a number (an event was removed or inserted)"
        }
        Break::Truncated => {
            "the ledger ends before its recorded head (events at the end were removed)"
        }
        Break::BeyondHead => {
            "the ledger goes on past its recorded head (events were appended around Consento)"
        }
    };
    format!("ledger broken at event {} ({id}): {problem}", c.seq)
}
