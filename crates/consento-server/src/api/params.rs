//! What the resource modules share about reading a request beyond its JSON body: path segments
//! (a malformed id is a 404, as no record can live at that URL), query strings (unknown or
//! malformed parameters are a 400 naming them, like unknown body fields), nullable fields of
//! partial updates, instants, and the `201 Created` answer with its `Location` (RFC 9110 §15.3.2).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consento_domain::{ContactId, Timestamp, Zone};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::error::ApiError;

/// The one parameter of a route's path, as text (`{id}`, `{code}`, `{version}`).
#[derive(Debug)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Self(p))
            .map_err(|_| ApiError::NotFound("route"))
    }
}

/// A contact's id from the path: text that is not a UUID names no contact (404).
pub fn contact_id(text: &str) -> Result<ContactId, ApiError> {
    uuid::Uuid::parse_str(text.trim())
        .map(ContactId)
        .map_err(|_| ApiError::NotFound("contact"))
}

/// The parsed query string of a route that reads one. A control character in any parameter is a
/// 422 naming it ([`super::strict::query_without_controls`]); an unknown or malformed parameter a
/// 400 naming it. Query types refuse unknown parameters (`deny_unknown_fields`), so a misspelt
/// filter never silently widens a result.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        super::strict::query_without_controls(parts.uri.query().unwrap_or_default())?;
        Query::try_from_uri(&parts.uri)
            .map(|Query(t)| Self(t))
            .map_err(|e| rejected(&e, parts.uri.query().unwrap_or_default()))
    }
}

/// A 400 naming the parameter at fault: serde_urlencoded names an unknown or missing one in
/// backquotes; a malformed value is named when the query holds that one parameter only.
fn rejected(e: &QueryRejection, query: &str) -> ApiError {
    let text = e.body_text();
    let named = text
        .split('`')
        .nth(1)
        .filter(|_| text.contains("unknown field") || text.contains("missing field"))
        .map(str::to_owned);
    let only = || {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query).ok()?;
        let first = pairs.first()?.0.clone();
        pairs
            .iter()
            .all(|(name, _)| *name == first)
            .then_some(first)
    };
    let field = named.or_else(only).unwrap_or_else(|| "query".to_owned());
    let reason = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text)
        .to_owned();
    ApiError::bad_request(field, reason)
}

/// For a field of a partial update that can be cleared: absent → `None` (unchanged),
/// `null` → `Some(None)` (cleared), a value → `Some(Some(v))`. Use with `#[serde(default)]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Parses an instant a client sent: RFC 3339 as given, or a plain date `YYYY-MM-DD`, the start of
/// that day in the office's `zone` (a date means the local day the person lived, not UTC's);
/// malformed text is a 400 naming `field`.
pub fn instant(
    zone: &Zone,
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| {
        zone.parse_instant(field, t)
            .map_err(|e| ApiError::bad_request(field, reason(&e)))
    })
    .transpose()
}

/// A domain error's reason without its field (the problem document names the field apart).
fn reason(e: &consento_domain::DomainError) -> String {
    match e {
        consento_domain::DomainError::Invalid { reason, .. } => reason.clone(),
    }
}

/// `201 Created` with the new record's URL in `Location` and the record as the body.
pub fn created<T: Serialize>(location: &str, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Renames the field of a 400/422 problem (a store field named differently in this API's body).
pub fn rename_field(e: ApiError, from: &str, to: &str) -> ApiError {
    match e {
        ApiError::Invalid {
            field,
            reason,
            status,
        } if field == from => ApiError::Invalid {
            field: to.to_owned(),
            reason,
            status,
        },
        other => other,
    }
}

/// `text` as one path segment: everything but RFC 3986 §2.3 unreserved characters
/// percent-encoded (UTF-8), so that a free-text key (a notice version) makes a valid URL.
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
