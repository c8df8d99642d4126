//! What the card hands out as files: the person's data export (JSON or zipped CSV) and the
//! signed receipt of a ledger event, each download audited.

use axum::extract::{Path, State};
use axum::response::Response;
use consento_domain::{EventId, Permission};
use serde_json::json;

use crate::http::attachment;
use crate::state::AppState;
use crate::web::contacts::path_contact;
use crate::web::page::PageError;
use crate::web::session::Staff;
use consento_app::AppError;
use consento_app::export::{Download, ExportFormat, export};

/// `GET /contacts/{id}/export.json` and `.csv`: the person's data export (GDPR Art. 15 access,
/// Art. 20 portability), the same document as the API's. Only those who answer data-subject
/// requests may download it (the DPO, admins, auditors), and every download is audited: it is
/// the whole record of a person leaving the system.
pub async fn export_json(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    download(staff, state, id, ExportFormat::Json).await
}

/// `GET /contacts/{id}/export.csv`: the zip of CSV files; see [`export_json`].
pub async fn export_csv(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    download(staff, state, id, ExportFormat::Csv).await
}

async fn download(
    staff: Staff,
    state: AppState,
    id: String,
    format: ExportFormat,
) -> Result<Response, PageError> {
    staff.require(Permission::Audit)?;
    let id = path_contact(&id)?;
    let file = export(&state.app, id, format)
        .await
        .map_err(AppError::from)?;
    staff
        .audit(
            &state.app,
            "contact.export",
            Some(("contact", id.to_string())),
            json!({ "format": format.code() }),
        )
        .await?;
    Ok(attachment(file))
}

/// `GET /contacts/{id}/receipts/{event}`: the signed consent receipt of one of the contact's
/// ledger events (Kantara CR v1.1 and ISO/IEC TS 27560 record, JWS), as a JSON download: the
/// proof of consent to hand the person (GDPR Art. 7(1)). Whoever sees the history may take it.
pub async fn receipt(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, event)): Path<(String, String)>,
) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    let id = path_contact(&id)?;
    let event = uuid::Uuid::parse_str(event.trim()).map_err(|_| PageError::NotFound)?;
    let signed = consento_app::receipts::issue(&state.app, EventId(event))
        .await
        .map_err(AppError::from)?;
    // The event must be this contact's: the address names both.
    if signed.receipt.pii_principal_id != id.0.to_string() {
        return Err(PageError::NotFound);
    }
    staff
        .audit(
            &state.app,
            "consent.receipt",
            Some(("consent_event", event.to_string())),
            json!({ "contact": id.to_string() }),
        )
        .await?;
    let body = serde_json::to_vec_pretty(&signed)
        .map_err(|e| PageError::Internal(format!("receipt: {e}")))?;
    Ok(attachment(Download {
        filename: format!("consent-receipt-{event}.json"),
        content_type: "application/json",
        body,
    }))
}
