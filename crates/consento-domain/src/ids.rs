//! Identifiers: UUIDv7 (time-ordered, so new rows land at the end of B-tree indexes), built from
//! an injected instant and injected random bytes rather than a hidden global generator.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DomainError, Timestamp};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new UUIDv7 for the instant `at`, with 10 random bytes (RFC 9562 §5.7).
            pub fn new_v7(at: Timestamp, random: [u8; 10]) -> Self {
                let millis = u64::try_from(at.as_micros() / 1_000).unwrap_or(0);
                Self(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
            }

            /// Parses the hyphenated text form.
            pub fn parse(field: &'static str, text: &str) -> Result<Self, DomainError> {
                Uuid::parse_str(text.trim())
                    .map(Self)
                    .map_err(|_| DomainError::invalid(field, format!("`{text}` is not a UUID")))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Our id of a contact (a data subject).
    ContactId
);
id_type!(
    /// The id of a consent type.
    ConsentTypeId
);
id_type!(
    /// The id of one consent-ledger event.
    EventId
);
id_type!(
    /// The id of a privacy-notice version.
    NoticeId
);
id_type!(
    /// The id of a contact reason.
    ReasonId
);
id_type!(
    /// The id of a data-subject request.
    RequestId
);
