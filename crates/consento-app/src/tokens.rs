//! API tokens' scopes and the caller a token stands for. Scopes nest: `admin` ⊇ `write` ⊇
//! {`read`, `decide`}; `read` reads records (reporting, BI), `decide` asks decisions and records
//! justified contacts (the dialer, the mail sender) without seeing the records themselves.
//! `relay` stands apart (only `admin` also grants it): it sends mail through the SMTP relay, the
//! password a CRM keeps in its outgoing-mail settings, and opens no HTTP route.

use consento_domain::{Actor, ActorKind};

use crate::AppError;

/// A permission a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everything: settings, types, reasons, notices, webhooks.
    Admin,
    /// Contacts and consents, and everything `read` and `decide` may do.
    Write,
    /// Reading records.
    Read,
    /// Decisions and justified contacts.
    Decide,
    /// Sending mail through the SMTP relay (AUTH's password), each recipient decided.
    Relay,
}

impl Scope {
    /// Every scope, widest first.
    pub const ALL: [Scope; 5] = [
        Scope::Admin,
        Scope::Write,
        Scope::Read,
        Scope::Decide,
        Scope::Relay,
    ];

    /// The scope's name, as in tokens and the OpenAPI document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Write => "write",
            Self::Read => "read",
            Self::Decide => "decide",
            Self::Relay => "relay",
        }
    }

    /// Parses a scope name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a token with this scope may use a route that needs `needed`.
    pub fn grants(self, needed: Scope) -> bool {
        match self {
            Self::Admin => true,
            // Mail through the relay is a capability of its own: a CRM's SMTP password should
            // not be a key to the records, nor a record-writing token a mail sender.
            Self::Write => !matches!(needed, Self::Admin | Self::Relay),
            Self::Read => needed == Self::Read,
            Self::Decide => needed == Self::Decide,
            Self::Relay => needed == Self::Relay,
        }
    }
}

/// The caller of a request made with a token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's id.
    pub token_id: uuid::Uuid,
    /// Its name ("crm", "newsletter"): who the relay records as the operator of a justified
    /// contact when the message names none.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<Scope>,
    /// A relay token's own default action, if it has one.
    pub relay_action: Option<consento_domain::Action>,
}

impl Principal {
    /// The caller of a token with these scope names (unknown names grant nothing).
    pub fn of(token: &consento_store::ApiToken) -> Self {
        Self {
            token_id: token.id,
            name: token.name.clone(),
            scopes: token
                .scopes
                .iter()
                .filter_map(|s| Scope::parse(s))
                .collect(),
            relay_action: token.relay_action,
        }
    }

    /// The actor recorded for what this caller writes: the token, by id (never a person's data).
    pub fn actor(&self) -> Result<Actor, AppError> {
        Ok(Actor::new(ActorKind::Token, &self.token_id.to_string())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_grants_everything_and_read_and_decide_are_disjoint() {
        for s in Scope::ALL {
            assert!(Scope::Admin.grants(s));
        }
        assert!(Scope::Write.grants(Scope::Read) && Scope::Write.grants(Scope::Decide));
        assert!(!Scope::Write.grants(Scope::Admin));
        assert!(!Scope::Read.grants(Scope::Decide) && !Scope::Decide.grants(Scope::Read));
        assert!(!Scope::Read.grants(Scope::Write));
        assert!(!Scope::Write.grants(Scope::Relay) && !Scope::Decide.grants(Scope::Relay));
        assert!(Scope::Relay.grants(Scope::Relay) && !Scope::Relay.grants(Scope::Decide));
    }
}
