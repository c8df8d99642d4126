//! The one place where failures become HTTP responses: RFC 9457 `application/problem+json`.
//! A client error names the field at fault (`field`, and `errors[]` when several); an internal
//! error is logged once, with the request's id, and shown only as "internal error".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consento_app::AppError;
use consento_domain::DomainError;
use consento_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem details object.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (RFC 9457 §3.1.1); relative to this server's docs.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request field at fault (a JSON path such as `recipients[3].email`), if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Every way an API request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field of the request is invalid (400 for shape, 422 for a value the rules refuse).
    #[error("{field}: {reason}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// Why.
        reason: String,
        /// 400 (malformed) or 422 (well-formed, refused).
        status: StatusCode,
    },
    /// No credentials, or credentials that are not valid (RFC 6750 §3.1 `invalid_token`).
    #[error("unauthorized")]
    Unauthorized,
    /// Valid credentials without the scope this route needs (RFC 6750 §3.1 `insufficient_scope`).
    #[error("the token lacks the scope {0}")]
    Forbidden(&'static str),
    /// The named record does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (a duplicate, a reused idempotency key…).
    #[error("{field}: {message}")]
    Conflict {
        /// The field at fault.
        field: String,
        /// Why.
        message: String,
    },
    /// The request body is larger than the configured limit.
    #[error("the request body is too large")]
    TooLarge,
    /// The request body is not JSON (`Content-Type`).
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// The server is at capacity for this kind of request; retry shortly.
    #[error("{0}")]
    Busy(&'static str),
    /// Something failed that the client cannot fix; logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A malformed field (400).
    pub fn bad_request(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }

    /// A well-formed value the rules refuse (422).
    pub fn unprocessable(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Invalid { status, .. } => *status,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            Self::Invalid { status, .. } if *status == StatusCode::BAD_REQUEST => "invalid-request",
            Self::Invalid { .. } => "refused",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "insufficient-scope",
            Self::NotFound(_) => "not-found",
            Self::Conflict { .. } => "conflict",
            Self::TooLarge => "too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Busy(_) => "busy",
            Self::Internal(_) => "internal",
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (detail, field) = match self {
            Self::Invalid { field, reason, .. } => (Some(reason.clone()), Some(field.clone())),
            Self::Conflict { field, message } => (Some(message.clone()), Some(field.clone())),
            Self::Unauthorized => (
                Some("send a valid API token as `Authorization: Bearer <token>`".to_owned()),
                None,
            ),
            Self::Internal(_) => (None, None),
            other => (Some(other.to_string()), None),
        };
        Problem {
            kind: format!("/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            detail,
            field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // Logged once, here, inside the request's span (which carries its id); the client
            // gets no internal text (it could hold SQL or personal data).
            tracing::error!(error = %cause, "internal error");
        }
        let status = self.status();
        let mut response = (status, axum::Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            // RFC 6750 §3: the challenge tells the client which scheme and what was wrong.
            Self::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            Self::Forbidden(scope) => {
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                )) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            // RFC 9110 §10.2.3: when to try again.
            Self::Busy(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, reason } => Self::unprocessable(field, reason),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Store(e) => e.into(),
            AppError::Malformed { field, reason } => Self::bad_request(field, reason),
            AppError::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(d) => d.into(),
            StoreError::NotFound { entity } => Self::NotFound(entity),
            StoreError::Conflict { field, message } => Self::Conflict {
                field: field.to_owned(),
                message,
            },
            other => Self::Internal(other.to_string()),
        }
    }
}
