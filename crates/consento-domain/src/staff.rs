//! The people who use the console: their roles, what each role may do, and the rules for
//! usernames and passwords. The server asks [`Role::can`] before every page and every action, so
//! the mapping of roles to permissions lives here, in one table.

use serde::{Deserialize, Serialize};

use crate::consent::coded_enum;
use crate::error::DomainError;

coded_enum!(
    /// A staff member's role in the console.
    Role, "role" {
        /// Sets the product up: privacy switches, consent types, reasons, notices, accounts.
        Admin = "admin",
        /// The data-protection officer: rights and audit; reads everything.
        Dpo = "dpo",
        /// Works the contacts: records consents, emails, calls, texts, newsletters.
        Operator = "operator",
        /// Reads everything, changes nothing.
        Auditor = "auditor",
    }
);

/// Something a console page or action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See contacts, consents, the dashboard and the newsletter counts.
    Read,
    /// Create and change contacts, record consents, set restriction and objection.
    EditContacts,
    /// Reach a contact (email, call, SMS) and record a justified contact.
    ContactPeople,
    /// Download the newsletter's recipients (personal data leaving the product).
    ExportAudience,
    /// Change the privacy settings, consent types, reasons, notices and accounts.
    Setup,
    /// Browse the audit trail of every operator action.
    Audit,
    /// Lift a restriction (GDPR Art. 18(3)) or an objection (Art. 21): deciding that the
    /// person's request no longer applies is the DPO's, not the operator's who wants to call.
    LiftRights,
    /// Log data-subject requests and move, refuse or extend them (GDPR Arts. 12-22): the DPO's
    /// work, and the administrator's. Reading them is [`Permission::Audit`].
    HandleRequests,
    /// Erase a contact (GDPR Art. 17) or anonymise those past their retention (Art. 5(1)(e)):
    /// irreversible, so the DPO's and the administrator's only.
    Erase,
    /// Save, dry-run, apply and revert bulk rules over provenance (source, legal basis,
    /// purposes): one action may change a million contacts, so it is the DPO's and the
    /// administrator's.
    BulkRules,
    /// Import contacts with their consents from a CRM export: many people's data at once, with
    /// backdated consents; the administrator's and the DPO's.
    Import,
}

impl Role {
    /// Whether this role may do `permission`. Least privilege: the auditor only reads; only the
    /// operator and the administrator reach people; the DPO may change contacts (restriction,
    /// objection and rectification are requests the DPO serves) but does not send.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Dpo => matches!(
                permission,
                Read | EditContacts
                    | Audit
                    | LiftRights
                    | HandleRequests
                    | Erase
                    | BulkRules
                    | Import
            ),
            Role::Operator => matches!(
                permission,
                Read | EditContacts | ContactPeople | ExportAudience
            ),
            Role::Auditor => matches!(permission, Read | Audit),
        }
    }
}

/// A login name: 3 to 64 characters among lower-case letters, digits and `. _ - @`, stored
/// lower-case so that `Anna` and `anna` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Parses a username, folding it to lower case.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let name = text.trim().to_lowercase();
        let len = name.chars().count();
        if !(3..=64).contains(&len) {
            return Err(DomainError::invalid(
                "username",
                "must be 3 to 64 characters",
            ));
        }
        if !name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@')
        }) {
            return Err(DomainError::invalid(
                "username",
                "only letters, digits and . _ - @ are allowed",
            ));
        }
        Ok(Self(name))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the policy: at least 12 and at most 128 characters, not the
/// username. Length over composition rules, per NIST SP 800-63B §3.1.1.2; the upper bound keeps
/// the Argon2 input bounded.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The fewest characters a password may have.
    pub const MIN_CHARS: usize = 12;

    /// Checks a new password for `username`.
    pub fn new(text: &str, username: &Username) -> Result<Self, DomainError> {
        let len = text.chars().count();
        if len < Self::MIN_CHARS {
            return Err(DomainError::invalid(
                "password",
                "must be at least 12 characters",
            ));
        }
        if len > 128 {
            return Err(DomainError::invalid(
                "password",
                "must be at most 128 characters",
            ));
        }
        if text.trim().eq_ignore_ascii_case(username.as_str()) {
            return Err(DomainError::invalid("password", "must not be the username"));
        }
        Ok(Self(text.to_owned()))
    }

    /// The password's text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

// Never printed, not even in debug output.
impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}
