//! The JSON request body extractor: a body that does not parse is a 400 problem naming the path
//! of the field at fault (`recipients[2].action`), and unknown fields are refused by the request
//! types themselves (`deny_unknown_fields`), so a misspelt field is never silently dropped.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        parse(&bytes).map(ApiJson)
    }
}

/// The raw bytes of a JSON request body: a 415 if it is not declared JSON, a 413 beyond the size
/// limit (`DefaultBodyLimit`, set from the configuration).
pub async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::bad_request("body", "the request body could not be read")
        }
    })
}

/// Parses a JSON document, naming the path of the field at fault when it does not fit `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." { "body".to_owned() } else { path };
        // serde's message without its " at line L column C" suffix: the field already says where.
        let text = inner.to_string();
        let reason = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(head, _)| head)
            .to_owned();
        // A required field that is absent: name it, not the object that lacks it.
        let missing = reason
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        let field = match missing {
            Some(name) if field == "body" => name.to_owned(),
            Some(name) => format!("{field}.{name}"),
            None => field,
        };
        ApiError::bad_request(field, reason)
    })
}
