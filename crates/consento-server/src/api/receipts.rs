//! Consent receipts over HTTP: `GET /v1/consent-events/{id}/receipt` (scope `read`) gives one
//! ledger event's Kantara Consent Receipt v1.1 and ISO/IEC TS 27560 DPV record, signed as a
//! compact JWS (RFC 7515, EdDSA per RFC 8037); `GET /.well-known/jwks.json` publishes the keys
//! that verify them (RFC 7517). The key set is public by design: anyone holding a receipt (the
//! person, an auditor, a court) must be able to check it without an account.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use consento_domain::EventId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, ReadScope};
use super::error::{ApiError, Problem};
use super::params::{ApiQuery, PathParam};
use consento_app::receipts::{ReceiptError, SignedReceipt, issue};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receipt))
        .routes(routes!(jwks))
}

/// The receipt's form.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReceiptParams {
    /// `json` (the default: the receipt, the record and the JWS) or `jws` (the compact JWS
    /// alone, `application/jose`).
    #[serde(default)]
    #[param(value_type = Option<ReceiptFormat>)]
    pub format: Option<String>,
}

/// The forms of a receipt.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // Named only in the OpenAPI document; the handler reads the text.
pub enum ReceiptFormat {
    /// The receipt, the record and the JWS, as JSON.
    Json,
    /// The compact JWS alone.
    Jws,
}

/// The Kantara Consent Receipt v1.1: `version` (`KI-CR-v1.1.0`), `jurisdiction`,
/// `consentTimestamp` (epoch seconds of the event), `collectionMethod`, `consentReceiptID` (the
/// event's id), `language`, `piiPrincipalId` (the contact's id, never an address),
/// `piiControllers`, `policyUrl` (the notice shown, when online), `services` with `purposes`,
/// `sensitive`, `spiCat`.
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)] // Named only in the OpenAPI document; the app builds the receipt.
pub struct KantaraReceipt(serde_json::Value);

/// The ISO/IEC TS 27560 consent record in W3C DPV 2.2 terms (the DPV-27560 JSON profile): the
/// data subject, the process with its purpose, legal basis `eu-gdpr:A6-1-a`, rights, consent
/// control and status (`dpv:ConsentGiven`, `dpv:ConsentWithdrawn`…), the notice.
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)] // Named only in the OpenAPI document; the app builds the record.
pub struct DpvConsentRecord(serde_json::Value);

/// A compact JWS (RFC 7515 §7.1): three base64url parts joined by dots, signed with
/// EdDSA/Ed25519 (RFC 8037). Verify it with the key of its `kid` from
/// `/.well-known/jwks.json`.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, content_media_type = "application/jose", example = "eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.eyJ2ZXJzaW9uIjoiS0ktQ1ItdjEuMS4wIn0.c2lnbmF0dXJl")]
#[allow(dead_code)] // Named only in the OpenAPI document; the app signs the receipt.
pub struct CompactJws(String);

/// A signed consent receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptOut {
    /// The Kantara Consent Receipt v1.1: `version` (`KI-CR-v1.1.0`), `jurisdiction`,
    /// `consentTimestamp` (epoch seconds of the event), `collectionMethod`,
    /// `consentReceiptID` (the event's id), `language`, `piiPrincipalId` (the contact's id,
    /// never an address), `piiControllers`, `policyUrl` (the notice shown, when online),
    /// `services` with `purposes`, `sensitive`, `spiCat`.
    #[schema(value_type = KantaraReceipt)]
    pub receipt: serde_json::Value,
    /// The ISO/IEC TS 27560 consent record in W3C DPV 2.2 terms (the DPV-27560 JSON profile):
    /// the data subject, the process with its purpose, legal basis `eu-gdpr:A6-1-a`, rights,
    /// consent control and status (`dpv:ConsentGiven`, `dpv:ConsentWithdrawn`…), the notice.
    #[schema(value_type = DpvConsentRecord)]
    pub record: serde_json::Value,
    /// Both signed: a compact JWS (RFC 7515), EdDSA/Ed25519 (RFC 8037); the payload is the
    /// receipt's fields with the record as the claim `dpvRecord`. Verify it with the key of
    /// its `kid` from `/.well-known/jwks.json`.
    #[schema(value_type = CompactJws)]
    pub jws: String,
}

impl TryFrom<SignedReceipt> for ReceiptOut {
    type Error = ApiError;

    fn try_from(s: SignedReceipt) -> Result<Self, ApiError> {
        Ok(Self {
            receipt: serde_json::to_value(s.receipt)
                .map_err(|e| ApiError::Internal(format!("receipt: {e}")))?,
            record: s.record,
            jws: s.jws,
        })
    }
}

impl From<ReceiptError> for ApiError {
    fn from(e: ReceiptError) -> Self {
        match e {
            ReceiptError::Store(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The signed receipt of one consent event (given, refused, withdrawn, renewed or revoked): the
/// proof to hand the person or an auditor (GDPR Art. 7(1)). Event ids are in the contact's
/// consent history (`event_id`). The first receipt of an installation makes its signing key.
#[utoipa::path(
    get, path = "/v1/consent-events/{id}/receipt", tag = "consents", operation_id = "getConsentReceipt",
    params(("id" = uuid::Uuid, Path, description = "The consent event's id"), ReceiptParams),
    responses(
        // The JWS is listed first: a generator that reads only the first media type it knows
        // then hands back the text of either form instead of parsing a JWS as JSON.
        (status = 200, description = "The receipt: the compact JWS alone (`application/jose`) for `format=jws`, else the receipt, the record and the JWS (`application/json`)",
            content(
                (CompactJws = "application/jose"),
                (ReceiptOut = "application/json"),
            )),
        (status = 400, description = "A parameter is malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consent event", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["read"]))
)]
async fn receipt(
    _auth: Auth<ReadScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ReceiptParams>,
) -> Result<Response, ApiError> {
    let jws_only = match p.format.as_deref().map(str::trim) {
        None | Some("json") => false,
        Some("jws") => true,
        Some(_) => return Err(ApiError::bad_request("format", "must be json or jws")),
    };
    let id = uuid::Uuid::parse_str(id.trim())
        .map(EventId)
        .map_err(|_| ApiError::NotFound("consent event"))?;
    let signed = issue(&state.app, id).await?;
    if jws_only {
        return Ok(([(header::CONTENT_TYPE, "application/jose")], signed.jws).into_response());
    }
    Ok(Json(ReceiptOut::try_from(signed)?).into_response())
}

/// A JSON Web Key (RFC 7517; an Ed25519 public key per RFC 8037 §2).
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The key id receipts name in their JWS header.
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `EdDSA`.
    pub alg: String,
}

/// A JSON Web Key Set.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// Every receipt key, newest first; older ones stay so that older receipts still verify.
    pub keys: Vec<Jwk>,
}

/// The public keys that verify consent receipts (RFC 7517), every one ever used. Public: it
/// holds no secret and no personal data.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "consents", operation_id = "getReceiptKeys", security(()),
    responses((status = 200, description = "The key set", body = Jwks, content_type = "application/jwk-set+json")))]
async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state
        .store
        .receipt_verifying_keys()
        .await?
        .into_iter()
        .filter_map(|(kid, seed)| {
            consento_app::receipts::public_x(&seed).map(|x| Jwk {
                kty: "OKP".to_owned(),
                crv: "Ed25519".to_owned(),
                x,
                kid,
                use_: "sig".to_owned(),
                alg: "EdDSA".to_owned(),
            })
        })
        .collect();
    Ok((
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        Json(Jwks { keys }),
    )
        .into_response())
}
