//! Who is calling, and may they? Every route but the health probes takes an [`Auth`] extractor
//! naming the scope it needs; the extractor runs before the body is read, so an unauthenticated
//! request costs no parsing. Tokens arrive as `Authorization: Bearer cns_…` (RFC 6750 §2.1).
//!
//! Scopes: `admin` ⊇ `write` ⊇ {`read`, `decide`}. `read` reads records (reporting, BI);
//! `decide` asks decisions and records justified contacts (the dialer, the mail sender), without
//! seeing the records themselves.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use consento_domain::{Actor, ActorKind};
use consento_store::{ApiToken, Store, StoreError, TOKEN_PREFIX, token_digest};

use super::AppState;
use super::error::ApiError;

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
}

impl Scope {
    /// Every scope, widest first.
    pub const ALL: [Scope; 4] = [Scope::Admin, Scope::Write, Scope::Read, Scope::Decide];

    /// The scope's name, as in tokens and the OpenAPI document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Write => "write",
            Self::Read => "read",
            Self::Decide => "decide",
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
            Self::Write => needed != Self::Admin,
            Self::Read => needed == Self::Read,
            Self::Decide => needed == Self::Decide,
        }
    }
}

/// The caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's id.
    pub token_id: uuid::Uuid,
    /// Its scopes.
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// The actor recorded for what this caller writes: the token, by id (never a person's data).
    pub fn actor(&self) -> Result<Actor, ApiError> {
        Ok(Actor::new(ActorKind::Token, &self.token_id.to_string())?)
    }
}

/// Marker types naming the scopes a route accepts, for [`Auth`]: any one of them will do.
pub trait Needs: Send + Sync {
    /// The scopes, any of which lets the caller in.
    const SCOPES: &'static [Scope];
}

macro_rules! needs {
    ($($name:ident => $($scope:ident)|+),*) => {$(
        /// A route that needs one of these scopes.
        #[derive(Debug)]
        pub struct $name;
        impl Needs for $name {
            const SCOPES: &'static [Scope] = &[$(Scope::$scope),+];
        }
    )*};
}
needs!(
    AdminScope => Admin,
    WriteScope => Write,
    ReadScope => Read,
    DecideScope => Decide,
    // What an integration that only decides still needs to read: the active contact reasons,
    // to offer the operator the list a justified contact is recorded with.
    ReadOrDecideScope => Read | Decide
);

/// An authenticated caller holding scope `N` (shared with the token cache: no copy per request).
#[derive(Debug)]
pub struct Auth<N: Needs>(pub Arc<Principal>, PhantomData<N>);

impl<N: Needs> FromRequestParts<AppState> for Auth<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or(ApiError::Unauthorized)?;
        let principal = state
            .tokens
            .principal(&state.store, secret)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if principal
            .scopes
            .iter()
            .any(|s| N::SCOPES.iter().any(|needed| s.grants(*needed)))
        {
            Ok(Self(principal, PhantomData))
        } else {
            Err(ApiError::Forbidden(
                N::SCOPES.first().map_or("admin", |s| s.as_str()),
            ))
        }
    }
}

/// How long a verified token is trusted without asking the database again: the longest a
/// revocation takes to reach another process.
const TOKEN_TTL: Duration = Duration::from_secs(10);
/// Entries kept at most; the cache is emptied when full (tokens are few; this bounds memory
/// against a flood of distinct valid tokens, not a normal load).
const TOKEN_CACHE_MAX: usize = 10_000;

/// A verified token's principal and when it was verified, by the token's digest.
type Verified = HashMap<[u8; 32], (Arc<Principal>, Instant)>;

/// Verified tokens by digest, so that a decision does not cost a token query.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: RwLock<Verified>,
}

impl TokenCache {
    /// The principal of a token secret, or `None` if it is unknown, revoked or expired.
    pub async fn principal(
        &self,
        store: &Store,
        secret: &str,
    ) -> Result<Option<Arc<Principal>>, StoreError> {
        let digest = token_digest(secret);
        let now = Instant::now();
        if let Ok(map) = self.entries.read()
            && let Some((p, at)) = map.get(&digest)
            && now.duration_since(*at) < TOKEN_TTL
        {
            return Ok(Some(Arc::clone(p)));
        }
        // Boxed: a miss is rare, and its database future would otherwise swell every
        // request's.
        let Some(token) = Box::pin(store.token_by_digest(&digest)).await? else {
            return Ok(None);
        };
        let principal = Arc::new(principal_of(&token));
        if let Ok(mut map) = self.entries.write() {
            if map.len() >= TOKEN_CACHE_MAX {
                map.clear();
            }
            map.insert(digest, (Arc::clone(&principal), now));
        }
        Ok(Some(principal))
    }
}

fn principal_of(token: &ApiToken) -> Principal {
    Principal {
        token_id: token.id,
        scopes: token
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .collect(),
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
    }
}
