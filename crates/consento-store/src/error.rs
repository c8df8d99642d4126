//! The store's one error type, and the one place that turns database errors into it: a unique
//! constraint becomes a conflict naming the field, a refused change to the ledger becomes
//! [`StoreError::AppendOnly`]; anything else stays an internal database error, never shown as is.

use consento_domain::DomainError;
use consento_domain::ledger::ChainError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An input broke a domain rule (names the field).
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The thing asked for does not exist.
    #[error("{entity} not found")]
    NotFound {
        /// What was looked for: `contact`, `consent type`, …
        entity: &'static str,
    },
    /// The write would duplicate a unique value or contradict the current state.
    #[error("{field}: {message}")]
    Conflict {
        /// The field at fault.
        field: &'static str,
        /// What is in the way.
        message: String,
    },
    /// The database refused to change or remove proof (the ledger and notices are append-only).
    #[error("the consent ledger and privacy notices are append-only")]
    AppendOnly,
    /// The ledger does not verify.
    #[error("the consent ledger does not verify at event {}: {:?}", .0.seq, .0.problem)]
    Chain(ChainError),
    /// An append was built on a view of the ledger head or of a consent type that another writer
    /// has since changed; the store retries it afresh, and reports it only when retries run out.
    #[error("the consent ledger is busy with concurrent appends; try again")]
    Stale,
    /// A stored value cannot be read back as it was written.
    #[error("corrupt data: {0}")]
    Corrupt(&'static str),
    /// The database's secrets were sealed under another master key than the one given.
    #[error(
        "the database's secrets are sealed under master key {database}, not under the key given ({given})"
    )]
    MasterKeyMismatch {
        /// The fingerprint of the key the database was sealed under.
        database: consento_domain::sealed::KeyId,
        /// The fingerprint of the key given.
        given: consento_domain::sealed::KeyId,
    },
    /// A sealed secret does not open (sealed under another key, altered, or moved).
    #[error("the sealed secret in {place} does not open: {reason}")]
    Unsealable {
        /// `table.column`.
        place: String,
        /// Why.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("no randomness available")]
    Entropy,
    /// Any other database failure (connection lost, disk full…).
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl StoreError {
    pub(crate) fn not_found(entity: &'static str) -> Self {
        Self::NotFound { entity }
    }

    pub(crate) fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            field,
            message: message.into(),
        }
    }
}

/// Which field a unique constraint protects, from the constraint name (PostgreSQL) or the message
/// (SQLite: "UNIQUE constraint failed: table.column").
fn unique_field(text: &str) -> (&'static str, &'static str) {
    const FIELDS: [(&str, &str, &str); 7] = [
        (
            "contact_emails",
            "email",
            "another contact already has this email address",
        ),
        (
            "contact_phones",
            "phone",
            "another contact already has this phone number",
        ),
        (
            "external_id",
            "external_id",
            "another contact already has this external id",
        ),
        (
            "consent_types",
            "code",
            "a consent type with this code already exists (codes are compared without regard to case)",
        ),
        (
            "contact_reasons",
            "label",
            "a reason with this label already exists",
        ),
        (
            "privacy_notices",
            "version",
            "a notice with this version already exists",
        ),
        (
            "users",
            "username",
            "an account with this username already exists",
        ),
    ];
    FIELDS
        .iter()
        .find(|(needle, _, _)| text.contains(needle))
        .map_or(("id", "already exists"), |(_, field, msg)| (field, msg))
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(db) = err.as_database_error() {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            if db.is_unique_violation() {
                let (field, message) = unique_field(&text);
                return Self::conflict(field, message);
            }
            if text.contains("append-only") {
                return Self::AppendOnly;
            }
            // Raised by the ledger's chain trigger (migrations, `consent_events_chain`).
            if text.contains("consento: stale") {
                return Self::Stale;
            }
            if text.contains("consento: contact erased") {
                return Self::conflict("contact", "the contact was erased");
            }
            if db.is_foreign_key_violation() {
                return Self::not_found("referenced record");
            }
            // PostgreSQL cannot store NUL in `text` (SQLSTATE 22021) nor in `jsonb` strings
            // (22P05). Every field refuses control characters before it reaches the database
            // (consento_domain::text); a value that slipped past that is still the caller's
            // fault, not the server's, on either backend.
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return Self::Invalid(DomainError::invalid(
                    "text",
                    "contains a NUL or another character that cannot be stored",
                ));
            }
        }
        Self::Database(err)
    }
}
