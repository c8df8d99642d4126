//! Signed consent receipts: one ledger event's Kantara Consent Receipt v1.1 and ISO/IEC TS 27560
//! DPV record (built by `consento_domain::receipt`), signed as a compact JWS (RFC 7515) with
//! EdDSA over Ed25519 (RFC 8037), and the JSON Web Key Set (RFC 7517) that verifies them.
//!
//! The JWS payload is the Kantara receipt's claims (as the Kantara specification has a receipt
//! travel as a JWT) with the DPV record beside them as the claim `dpvRecord`. The header names
//! `alg` `EdDSA`, the signing key's `kid`, and `typ` `JWT`. Keys live in the store (Ed25519
//! seeds from its injected entropy); every key ever made stays in the JWKS, so a receipt handed
//! out before a rotation still verifies.
//!
//! Verification is strict (a receipt is proof): each part must be canonical unpadded base64url
//! (RFC 7515 §2: no padding, no stray bits in the last character), the header must name
//! `EdDSA` and a known key, and the signature must verify over exactly the bytes received.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consento_domain::EventId;
use consento_domain::receipt::{self, KantaraReceipt};
use consento_store::{ReceiptSeed, StoreError};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{App, AppError};

/// The JWS header's `typ`: the Kantara specification carries receipts as JWTs.
pub const JWS_TYP: &str = "JWT";

/// The claim holding the DPV record beside the Kantara claims.
pub const RECORD_CLAIM: &str = "dpvRecord";

impl From<ReceiptError> for AppError {
    fn from(e: ReceiptError) -> Self {
        match e {
            ReceiptError::Store(e) => Self::Store(e),
            ReceiptError::Signing(what) => Self::Internal(format!("cannot sign: {what}")),
        }
    }
}

/// Why a receipt could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// Reading the event or the key failed (an unknown event is `NotFound`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored seed is not a usable Ed25519 key, or the claims did not serialise.
    #[error("cannot sign: {0}")]
    Signing(&'static str),
}

/// Why a JWS does not verify. The message is one line, safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not three non-empty parts of canonical base64url, or a header or payload that is not a
    /// JSON object.
    #[error("not a compact JWS: {0}")]
    Malformed(&'static str),
    /// The header names another algorithm than EdDSA.
    #[error("the JWS is not signed with EdDSA")]
    Algorithm,
    /// No key of this installation has the header's `kid`.
    #[error("no receipt key has the id the JWS names")]
    UnknownKey,
    /// The signature does not match the header and payload.
    #[error("the signature does not verify: the receipt was altered or signed by another key")]
    Signature,
}

/// A receipt as served: the two documents, and the JWS that signs them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedReceipt {
    /// The Kantara Consent Receipt v1.1.
    pub receipt: KantaraReceipt,
    /// The ISO/IEC TS 27560 record in DPV terms.
    pub record: Value,
    /// Both, signed: a compact JWS (RFC 7515 §7.1).
    pub jws: String,
}

/// A verified JWS: which key signed it, and its claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The signing key's id.
    pub kid: String,
    /// The payload, a JSON object.
    pub claims: Value,
}

/// The JWS payload of a receipt: the Kantara claims, and the DPV record as `dpvRecord`.
pub fn claims(receipt: &KantaraReceipt, record: &Value) -> Result<Value, ReceiptError> {
    let mut claims = serde_json::to_value(receipt)
        .map_err(|_| ReceiptError::Signing("the receipt does not serialise"))?;
    let object = claims
        .as_object_mut()
        .ok_or(ReceiptError::Signing("the receipt is not an object"))?;
    object.insert(RECORD_CLAIM.to_owned(), record.clone());
    Ok(claims)
}

/// Makes the signed receipt of ledger event `id` with the current signing key.
pub async fn issue(app: &App, id: EventId) -> Result<SignedReceipt, ReceiptError> {
    let store = &app.store;
    let facts = store.receipt_facts(id).await?;
    let named =
        crate::controller::NamedController::merge(&app.policy, store.controller_details().await?);
    let controller = named.facts(&app.policy);
    let receipt = receipt::kantara(&facts, &controller);
    let record = receipt::dpv_record(&facts, &controller, store.now());
    let (kid, seed) = store.receipt_signing_key().await?;
    let payload = serde_json::to_vec(&claims(&receipt, &record)?)
        .map_err(|_| ReceiptError::Signing("the claims do not serialise"))?;
    let jws = sign(&kid, &seed, &payload)?;
    Ok(SignedReceipt {
        receipt,
        record,
        jws,
    })
}

/// Signs `payload` as a compact JWS with the Ed25519 key `seed` named `kid` (RFC 8037 §3.1).
pub fn sign(kid: &str, seed: &ReceiptSeed, payload: &[u8]) -> Result<String, ReceiptError> {
    let pair = Ed25519KeyPair::from_seed_unchecked(seed)
        .map_err(|_| ReceiptError::Signing("a stored seed is not an Ed25519 key"))?;
    let header = json!({ "alg": "EdDSA", "kid": kid, "typ": JWS_TYP });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = pair.sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}

/// The public key (32 bytes) of a seed.
fn public_key(seed: &ReceiptSeed) -> Option<Vec<u8>> {
    Ed25519KeyPair::from_seed_unchecked(seed)
        .ok()
        .map(|pair| pair.public_key().as_ref().to_vec())
}

/// The public key of a seed as a JWK's `x` (base64url, RFC 8037 §2).
pub fn public_x(seed: &ReceiptSeed) -> Option<String> {
    public_key(seed).map(|x| URL_SAFE_NO_PAD.encode(x))
}

/// Decodes one part strictly: canonical unpadded base64url only.
fn part(text: &str, what: &'static str) -> Result<Vec<u8>, VerifyError> {
    if text.is_empty() {
        return Err(VerifyError::Malformed(what));
    }
    // The engine refuses padding and non-zero trailing bits, so each byte string has exactly
    // one encoding and no character of the JWS can change without being noticed.
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| VerifyError::Malformed(what))
}

/// Verifies a compact JWS against `keys` and returns its claims.
pub fn verify(jws: &str, keys: &[(String, ReceiptSeed)]) -> Result<Verified, VerifyError> {
    let jws = jws.trim();
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("it must have three parts"));
    };
    let header: Value = serde_json::from_slice(&part(h, "the header is not base64url")?)
        .map_err(|_| VerifyError::Malformed("the header is not JSON"))?;
    let claims: Value = serde_json::from_slice(&part(p, "the payload is not base64url")?)
        .map_err(|_| VerifyError::Malformed("the payload is not JSON"))?;
    let signature = part(s, "the signature is not base64url")?;
    if !header.is_object() || !claims.is_object() {
        return Err(VerifyError::Malformed("header and payload must be objects"));
    }
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(VerifyError::Algorithm);
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(VerifyError::UnknownKey)?;
    let (_, seed) = keys
        .iter()
        .find(|(k, _)| k == kid)
        .ok_or(VerifyError::UnknownKey)?;
    let public = public_key(seed).ok_or(VerifyError::UnknownKey)?;
    // The signing input is the two parts exactly as received (RFC 7515 §5.2 step 8).
    let input = &jws[..h.len() + 1 + p.len()];
    UnparsedPublicKey::new(&ED25519, public)
        .verify(input.as_bytes(), &signature)
        .map_err(|_| VerifyError::Signature)?;
    Ok(Verified {
        kid: kid.to_owned(),
        claims,
    })
}

/// Verifies what `consento receipts verify` is given: a compact JWS, or the JSON the API
/// serves (`{receipt, record, jws}`), whose two documents must then be exactly what the JWS
/// signs.
pub fn verify_document(text: &str, keys: &[(String, ReceiptSeed)]) -> Result<Verified, String> {
    let text = text.trim();
    if !text.starts_with('{') {
        return verify(text, keys).map_err(|e| e.to_string());
    }
    let doc: Value =
        serde_json::from_str(text).map_err(|_| "the file is neither a JWS nor JSON".to_owned())?;
    let jws = doc
        .get("jws")
        .and_then(Value::as_str)
        .ok_or_else(|| "the JSON has no `jws` field".to_owned())?;
    let verified = verify(jws, keys).map_err(|e| e.to_string())?;
    let mut expected = doc.get("receipt").cloned().unwrap_or(Value::Null);
    match expected.as_object_mut() {
        Some(object) => {
            object.insert(
                RECORD_CLAIM.to_owned(),
                doc.get("record").cloned().unwrap_or(Value::Null),
            );
        }
        None => return Err("the JSON has no `receipt` object".to_owned()),
    }
    if expected != verified.claims {
        return Err(
            "the signature verifies, but `receipt` or `record` differ from what it signs"
                .to_owned(),
        );
    }
    Ok(verified)
}
