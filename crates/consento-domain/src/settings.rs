//! The privacy settings (the seed's three switches, plus SMS) and the contact reasons an operator
//! picks from to justify contacting someone without a valid consent.

use serde::{Deserialize, Serialize};

use crate::{Action, DomainError, ReasonId};

/// The switches that turn each consent check on (the seed's "impostazioni della privacy"). A
/// switched-off check lets every contact on that channel through (rule 5 of
/// [`crate::decision::decide`]), but never past an erasure, restriction, objection or
/// suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySettings {
    /// "singola mail": every single email needs a consent or a reason.
    pub check_email_single: bool,
    /// "per mailing list": newsletters reach only contacts with a valid consent.
    pub check_email_bulk: bool,
    /// "per contatto": calls (e.g. from a dialer) need a consent or a reason.
    pub check_phone: bool,
    /// SMS, single and bulk.
    pub check_sms: bool,
}

impl Default for PrivacySettings {
    /// All checks on, as the seed's plugin ships ("troverai tre switch abilitati").
    fn default() -> Self {
        Self {
            check_email_single: true,
            check_email_bulk: true,
            check_phone: true,
            check_sms: true,
        }
    }
}

impl PrivacySettings {
    /// Whether consent is checked for `action`.
    pub fn checks(self, action: Action) -> bool {
        match action {
            Action::EmailSingle => self.check_email_single,
            Action::EmailBulk => self.check_email_bulk,
            Action::PhoneCall => self.check_phone,
            Action::SmsSingle | Action::SmsBulk => self.check_sms,
        }
    }
}

/// A reason an operator may give for contacting someone without a valid consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactReason {
    /// Its id.
    pub id: ReasonId,
    /// The text shown in the list.
    pub label: String,
    /// Only active reasons can be picked.
    pub active: bool,
    /// Whether contacting for this reason is direct marketing: such a reason can never justify
    /// contacting a person who objected (GDPR Art. 21(3)).
    pub marketing: bool,
}

/// Validates a reason's label: 1 to 200 characters on one line, without control characters
/// ([`crate::text`]).
pub fn validate_label(label: &str) -> Result<String, DomainError> {
    let l = label.trim();
    crate::text::check("label", l, crate::text::Lines::One)?;
    if l.is_empty() || l.chars().count() > 200 {
        return Err(DomainError::invalid("label", "must be 1 to 200 characters"));
    }
    Ok(l.to_owned())
}
