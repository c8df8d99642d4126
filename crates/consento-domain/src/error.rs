//! The domain's one error type: a value that breaks a rule, naming the field at fault so that
//! every layer above (CLI line, RFC 9457 problem, page message) can point at it.

/// A rule of the domain was broken by an input value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// `field` does not hold an acceptable value; `reason` says why, in plain words.
    #[error("{field}: {reason}")]
    Invalid {
        /// The name of the field at fault, as the API and CLI spell it.
        field: &'static str,
        /// Why the value is refused.
        reason: String,
    },
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Invalid { field, .. } => field,
        }
    }
}
