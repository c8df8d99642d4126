//! Who is calling, and may they? Every route but the health probes takes an [`Auth`] extractor
//! naming the scope it needs; the extractor runs before the body is read, so an unauthenticated
//! request costs no parsing. Tokens arrive as `Authorization: Bearer cns_…` (RFC 6750 §2.1).
//!
//! Scopes: `admin` ⊇ `write` ⊇ {`read`, `decide`}. `read` reads records (reporting, BI);
//! `decide` asks decisions and records justified contacts (the dialer, the mail sender), without
//! seeing the records themselves. `relay` is the SMTP relay's password and opens no route here.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use consento_app::audit::By;
use consento_store::TOKEN_PREFIX;

use super::error::ApiError;
use crate::state::AppState;

pub use consento_app::tokens::{Principal, Scope};

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

impl<N: Needs> Auth<N> {
    /// The caller as the audit trail names it: its token.
    pub fn by(&self) -> By {
        By::token(self.0.token_id)
    }
}

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
