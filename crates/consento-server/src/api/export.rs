//! `GET /v1/contacts/{id}/export`: one person's data export (GDPR Art. 15 access, Art. 20
//! portability) as JSON or as a zip of CSV files, for the CRM to hand to the person. Needs `read`.
//! The API records nothing: the caller answers the request; the console audits its downloads.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope};
use super::error::{ApiError, Problem};
use super::params::{ApiQuery, PathParam, contact_id};
use consento_app::AppError;
use consento_app::export::{ExportFormat, export};

use crate::http::attachment;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_contact))
}

/// The export's form.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (one document following the schema `schemas/export.schema.json`; the default) or
    /// `csv` (a zip of RFC 4180 UTF-8 files with a header row: `contact.csv`, `consents.csv`,
    /// `consent_events.csv`, `interactions.csv`, `channel_events.csv`).
    #[serde(default)]
    #[param(value_type = Option<ExportFormatName>, example = "json")]
    pub format: Option<String>,
}

/// The forms of an export.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ExportFormat)]
#[allow(dead_code)] // Named only in the OpenAPI document; the handler reads the text.
pub enum ExportFormatName {
    /// One JSON document (`application/json`).
    Json,
    /// A zip of CSV files (`application/zip`).
    Csv,
}

/// A person's data export as one JSON document: `format`, `version`, `generated_at`, the
/// `controller`, the `information` GDPR Art. 15(1) owes the person, the `contact` with every
/// field, `consents` and `consent_events` with their proof, `interactions`, `channel_events`
/// and `requests`. The JSON Schema `schemas/export.schema.json` shipped with the server
/// describes every field.
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)] // Named only in the OpenAPI document; the app writes the document.
pub struct ContactExport(serde_json::Value);

/// A person's data export as a zip of RFC 4180 UTF-8 CSV files with a header row:
/// `contact.csv`, `consents.csv`, `consent_events.csv`, `interactions.csv`,
/// `channel_events.csv`.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "application/zip")]
#[allow(dead_code)] // Named only in the OpenAPI document; the app writes the archive.
pub struct ExportArchive(Vec<u8>);

/// A person's data export: the contact with every field, each consent with its full history and
/// proof, the justified contacts and the channel switches, with the information GDPR Art. 15(1)
/// owes them (purposes, categories, recipients, retention, source, their rights, where to
/// complain). Served as an attachment, never cached.
#[utoipa::path(
    get, path = "/v1/contacts/{id}/export", tag = "contacts", operation_id = "exportContact",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact"), ExportParams),
    responses(
        // The zip is listed first: a generator that reads only the first media type it knows
        // then hands back the bytes of either form instead of parsing a zip as JSON.
        (status = 200, description = "The export: `application/zip` for `format=csv`, else `application/json`",
            content(
                (ExportArchive = "application/zip"),
                (ContactExport = "application/json"),
            )),
        (status = 400, description = "An unknown format", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn export_contact(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let format = match p.format.as_deref().map(str::trim) {
        None | Some("json") => ExportFormat::Json,
        Some("csv") => ExportFormat::Csv,
        Some(_) => return Err(ApiError::bad_request("format", "must be json or csv")),
    };
    let id = contact_id(&id)?;
    let file = export(&state.app, id, format)
        .await
        .map_err(AppError::from)?;
    Ok(attachment(file))
}
