//! `Idempotency-Key` on consent writes (draft-ietf-httpapi-idempotency-key-header): a retry with
//! the same key and the same request returns the first result and records nothing twice; the
//! same key with a different request is a 409. Keys are scoped to the calling token and stored in
//! the event's own transaction (see the store's `record_consent_once`).

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::json::{json_bytes, parse};

/// The header's name.
pub const HEADER: &str = "idempotency-key";

/// A JSON body and, if the request carried one, its idempotency key with the request's hash.
#[derive(Debug)]
pub struct IdempotentJson<T> {
    /// The parsed body.
    pub body: T,
    /// The key as sent, and SHA-256 of method, path and body: a retry must match all three.
    pub key: Option<(String, [u8; 32])>,
}

impl<S, T> FromRequest<S> for IdempotentJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = match req.headers().get(HEADER).map(|v| v.to_str()) {
            None => None,
            Some(Ok(k)) if !k.trim().is_empty() && k.trim().len() <= 255 => {
                Some(k.trim().to_owned())
            }
            Some(Ok(_)) => {
                return Err(ApiError::bad_request(
                    "Idempotency-Key",
                    "must be 1 to 255 visible ASCII characters",
                ));
            }
            Some(Err(_)) => {
                return Err(ApiError::bad_request(
                    "Idempotency-Key",
                    "must be 1 to 255 visible ASCII characters",
                ));
            }
        };
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let bytes = json_bytes(req, state).await?;
        let body = parse(&bytes)?;
        Ok(Self {
            body,
            key: key.map(|k| {
                let mut hasher = Sha256::new();
                for part in [method.as_bytes(), path.as_bytes(), &bytes] {
                    hasher.update((part.len() as u64).to_be_bytes());
                    hasher.update(part);
                }
                (k, hasher.finalize().into())
            }),
        })
    }
}
