//! `/v1/notices`: privacy-notice versions, the proof of what a person was shown when consenting
//! (GDPR Art. 7(1), Art. 13). Reading needs `read`, publishing `admin`. A published version never
//! changes (the database refuses it) and is fingerprinted with SHA-256, so that a consent citing
//! it points at exactly the text that was shown.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use consento_domain::Timestamp;
use consento_store::{Notice, NoticeInput};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminScope, Auth, ReadScope};
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::params::{PathParam, created, path_segment};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notices, publish_notice))
        .routes(routes!(get_notice))
}

/// A published privacy-notice version.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190a0a0-0000-7000-8000-000000000003", "version": "2025-03", "language": "it",
    "url": "https://example.it/privacy/2025-03", "body": null,
    "content_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "published_at": "2025-03-01T09:00:00Z"
}))]
pub struct NoticeOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// The version label, unique: what a consent write cites as `notice_version`.
    pub version: String,
    /// The language of the text (`it`, `en`…).
    pub language: String,
    /// Where the text is published, if online.
    pub url: Option<String>,
    /// The text itself, if kept here.
    pub body: Option<String>,
    /// SHA-256 (hex) of the URL and the text: proof of exactly what was shown.
    pub content_sha256: String,
    /// When it was published.
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Timestamp,
}

impl From<Notice> for NoticeOut {
    fn from(n: Notice) -> Self {
        Self {
            id: n.id.0,
            version: n.version,
            language: n.language,
            url: n.url,
            body: n.body,
            content_sha256: n.content_sha256,
            published_at: n.published_at,
        }
    }
}

/// Every published notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    /// Newest first.
    pub items: Vec<NoticeOut>,
}

/// A privacy-notice version to publish: its text, its URL, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "version": "2025-03", "language": "it", "url": "https://example.it/privacy/2025-03"
}))]
pub struct NoticePublish {
    /// The version label, 1 to 64 characters, unique.
    pub version: String,
    /// The language code of the text (`it`, `en`, `pt-br`).
    pub language: String,
    /// Where the text is published (`https://…` or `http://…`).
    #[serde(default)]
    pub url: Option<String>,
    /// The text itself.
    #[serde(default)]
    pub body: Option<String>,
}

/// Every published privacy-notice version, newest first.
#[utoipa::path(
    get, path = "/v1/notices", tag = "notices", operation_id = "listNotices",
    responses(
        (status = 200, description = "Every published version", body = NoticeList),
    ),
    security(("token" = ["read"]))
)]
async fn list_notices(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
) -> Result<Json<NoticeList>, ApiError> {
    let items = state.store.notices().await?;
    Ok(Json(NoticeList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// One published privacy-notice version.
#[utoipa::path(
    get, path = "/v1/notices/{version}", tag = "notices", operation_id = "getNotice",
    params(("version" = String, Path, description = "The version label (percent-encoded)", example = "2025-03")),
    responses(
        (status = 200, description = "The notice version", body = NoticeOut),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn get_notice(
    _auth: Auth<ReadScope>,
    PathParam(version): PathParam,
    State(state): State<AppState>,
) -> Result<Json<NoticeOut>, ApiError> {
    // Notices are few (one per policy revision): the list is the lookup.
    state
        .store
        .notices()
        .await?
        .into_iter()
        .find(|n| n.version == version.trim())
        .map(|n| Json(n.into()))
        .ok_or(ApiError::NotFound("privacy notice version"))
}

/// Publishes a privacy-notice version. It can never be changed afterwards: publish a new
/// version instead. Answers `201 Created` with its URL in `Location`.
#[utoipa::path(
    post, path = "/v1/notices", tag = "notices", operation_id = "publishNotice",
    request_body = NoticePublish,
    responses(
        (status = 201, description = "Published", body = NoticeOut,
            headers(("Location" = String, description = "The version's URL"))),
        (status = 400, description = "A field is missing, malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This version is already published (`field`: `version`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused: `version`, `language`, `url`, or `body` when neither text nor URL is given", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn publish_notice(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<NoticePublish>,
) -> Result<Response, ApiError> {
    let detail = json!({
        "version": req.version,
        "language": req.language,
        "url": req.url,
        "with_text": req.body.is_some(),
    });
    let n = state
        .app
        .audited(
            &auth.by(),
            "notice.publish",
            None,
            detail,
            state.store.publish_notice(NoticeInput {
                version: req.version,
                language: req.language,
                url: req.url,
                body: req.body,
            }),
        )
        .await?;
    let location = format!("/v1/notices/{}", path_segment(&n.version));
    Ok(created(&location, NoticeOut::from(n)))
}
