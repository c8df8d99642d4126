//! `GET /v1/ledger/verify`: walks the whole hash chain of the consent ledger and reports whether
//! it is intact (GDPR Art. 5(1)(f) integrity, Art. 7(1) proof of consent). Needs `read`: the
//! report holds no personal data (a count, a hash, an event id), and an auditor or a monitoring
//! job should not need the power to change the configuration to check the proof.

use axum::Json;
use axum::extract::State;
use consento_domain::ledger::Break;
use consento_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope};
use super::error::ApiError;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify))
}

/// What is wrong with the first bad event.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerProblem {
    /// The event was changed.
    ContentAltered,
    /// An event before it was removed, inserted or moved.
    ChainBroken,
    /// An event was removed or inserted here.
    SequenceGap,
    /// Events at the end were removed.
    Truncated,
    /// Events were appended around Consento.
    BeyondHead,
}

/// The first bad event found.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerBreak {
    /// Its position in the ledger (for `truncated`, the last position the head records).
    pub seq: i64,
    /// Its id, when there is an event at that position.
    pub event_id: Option<uuid::Uuid>,
    /// What is wrong: `content_altered` (the event was changed), `chain_broken` (an event
    /// before it was removed, inserted or moved), `sequence_gap` (an event was removed or
    /// inserted here), `truncated` (events at the end were removed), `beyond_head` (events were
    /// appended around Consento).
    pub problem: LedgerProblem,
}

/// The verification report. Check `verified`: a broken chain is an answer (200), not an error.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "verified": true, "events": 1523,
    "head_hash": "3b1f0c5e8d2a4f6b9c7e1a0d2f4b6c8e0a1b3c5d7e9f1a2b4c6d8e0f2a4b6c8d"
}))]
pub struct LedgerReportOut {
    /// Whether every event verifies, from the first to the recorded head.
    pub verified: bool,
    /// Events verified (when `verified`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<i64>,
    /// The hash of the last event (hex SHA-256), when `verified`: keep it outside the database
    /// (a log, a ticket, a timestamping service) to anchor the chain; a later report must
    /// still contain it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<String>,
    /// The first bad event, when not `verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<LedgerBreak>,
}

fn problem_code(b: Break) -> LedgerProblem {
    match b {
        Break::ContentAltered => LedgerProblem::ContentAltered,
        Break::ChainBroken => LedgerProblem::ChainBroken,
        Break::SequenceGap => LedgerProblem::SequenceGap,
        Break::Truncated => LedgerProblem::Truncated,
        Break::BeyondHead => LedgerProblem::BeyondHead,
    }
}

/// Verifies the whole consent ledger, streaming it in order (memory stays flat; the time grows
/// with the length of the ledger).
#[utoipa::path(
    get, path = "/v1/ledger/verify", tag = "ledger", operation_id = "verifyLedger",
    responses(
        (status = 200, description = "The report: `verified` says whether the chain is intact", body = LedgerReportOut),
    ),
    security(("token" = ["read"]))
)]
async fn verify(
    _auth: Auth<ReadScope>,
    State(state): State<AppState>,
) -> Result<Json<LedgerReportOut>, ApiError> {
    Ok(Json(match state.store.verify_ledger().await {
        Ok(r) => LedgerReportOut {
            verified: true,
            events: Some(r.events),
            head_hash: Some(r.head_hash),
            broken_at: None,
        },
        Err(StoreError::Chain(c)) => LedgerReportOut {
            verified: false,
            events: None,
            head_hash: None,
            broken_at: Some(LedgerBreak {
                seq: c.seq,
                event_id: c.id.map(|i| i.0),
                problem: problem_code(c.problem),
            }),
        },
        Err(e) => return Err(e.into()),
    }))
}
