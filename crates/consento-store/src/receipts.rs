//! Consent receipts' storage: the Ed25519 signing keys (32-byte seeds drawn from the injected
//! random source, RFC 8032 §5.1.5), and the facts of one ledger event that its receipt states.
//!
//! The newest key not retired signs; rotating retires it and makes a new one in one
//! transaction. Retired keys are kept and still verify: a receipt is proof for as long as the
//! consent may be disputed, so its key must outlive its use for signing. Signing and the JWKS
//! belong to the server; the store only keeps the keys, each seed sealed under the master key
//! (sealing.rs).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consento_domain::receipt::{EventFacts, NoticeFacts};
use consento_domain::sealed::Slot;
use consento_domain::{CollectionMethod, ContactId, EventId, EventKind, Timestamp};
use serde::Serialize;

use crate::row::Cols;
use crate::types::{permissions_from, validity_from};
use crate::{Store, StoreError, in_write_tx, on_read_pool};

/// A receipt signing key as listed (never its seed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptKey {
    /// The key id the JWS header carries (`kid`, RFC 7515 §4.1.4).
    pub kid: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When a newer key replaced it for signing; it still verifies.
    pub retired_at: Option<Timestamp>,
}

/// A key's 32-byte Ed25519 seed.
pub type ReceiptSeed = [u8; 32];

fn key_from(row: &impl Cols) -> Result<ReceiptKey, StoreError> {
    Ok(ReceiptKey {
        kid: row.text("kid")?,
        created_at: Timestamp::from_micros(row.int("created_at")?),
        retired_at: row.opt_int("retired_at")?.map(Timestamp::from_micros),
    })
}

/// Where key `kid`'s seed is sealed.
fn seed_slot(kid: &str) -> Slot<'_> {
    Slot::new("receipt_keys", "seed", kid)
}

const SIGNING: &str =
    "SELECT kid, seed FROM receipt_keys WHERE retired_at IS NULL ORDER BY id DESC LIMIT 1";

impl Store {
    /// Key `kid`'s seed, opened from its sealed form.
    fn seed_from(&self, kid: &str, sealed: &[u8]) -> Result<ReceiptSeed, StoreError> {
        self.unseal(&seed_slot(kid), sealed)?
            .try_into()
            .map_err(|_| StoreError::Corrupt("receipt key seed is not 32 bytes"))
    }

    /// A new key's id and seed: 64 random bits of id (base64url), 256 of seed.
    fn new_receipt_key(&self) -> Result<(String, ReceiptSeed), StoreError> {
        let kid: [u8; 8] = self.random()?;
        Ok((URL_SAFE_NO_PAD.encode(kid), self.random()?))
    }

    /// The key that signs new receipts: the newest one not retired, made now if there is none.
    pub async fn receipt_signing_key(&self) -> Result<(String, ReceiptSeed), StoreError> {
        let newest = on_read_pool!(self, pool => {
            sqlx::query(SIGNING)
                .fetch_optional(pool).await?
                .map(|row| { let kid = row.text("kid")?; let seed = self.seed_from(&kid, &row.bytes("seed")?)?; Ok::<_, StoreError>((kid, seed)) })
                .transpose()?
        });
        if let Some(key) = newest {
            return Ok(key);
        }
        let (kid, seed) = self.new_receipt_key()?;
        let sealed = self.seal(&seed_slot(&kid), &seed)?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            // Looked for again under the write lock: two first receipts arriving together
            // make one key.
            let found = sqlx::query(SIGNING).fetch_optional(&mut *tx).await?;
            let row = match found {
                Some(row) => row,
                None => sqlx::query("INSERT INTO receipt_keys (kid, seed, created_at) VALUES ($1, $2, $3) RETURNING kid, seed")
                    .bind(&kid).bind(&sealed).bind(now)
                    .fetch_one(&mut *tx).await?,
            };
            let kid = row.text("kid")?;
            let seed = self.seed_from(&kid, &row.bytes("seed")?)?;
            Ok((kid, seed))
        })
    }

    /// Every key's id and seed, newest first, retired ones included: what verifies a receipt
    /// and what the JWKS publishes (as public keys).
    pub async fn receipt_verifying_keys(&self) -> Result<Vec<(String, ReceiptSeed)>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT kid, seed FROM receipt_keys ORDER BY id DESC")
                .fetch_all(pool).await?
                .iter()
                .map(|row| { let kid = row.text("kid")?; let seed = self.seed_from(&kid, &row.bytes("seed")?)?; Ok((kid, seed)) })
                .collect()
        })
    }

    /// Makes a new signing key and retires the one in use, in one transaction: receipts made
    /// from now on carry the new `kid`; older receipts still verify with their key.
    pub async fn rotate_receipt_key(&self) -> Result<ReceiptKey, StoreError> {
        let (kid, seed) = self.new_receipt_key()?;
        let sealed = self.seal(&seed_slot(&kid), &seed)?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query("UPDATE receipt_keys SET retired_at = $1 WHERE retired_at IS NULL")
                .bind(now)
                .execute(&mut *tx).await?;
            let row = sqlx::query("INSERT INTO receipt_keys (kid, seed, created_at) VALUES ($1, $2, $3) RETURNING kid, created_at, retired_at")
                .bind(&kid).bind(&sealed).bind(now)
                .fetch_one(&mut *tx).await?;
            key_from(&row)
        })
    }

    /// Every receipt key, newest first (never a seed).
    pub async fn receipt_keys(&self) -> Result<Vec<ReceiptKey>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT kid, created_at, retired_at FROM receipt_keys ORDER BY id DESC")
                .fetch_all(pool).await?
                .iter().map(key_from).collect()
        })
    }

    /// What the receipt of ledger event `id` states: the event, its consent type and the
    /// notice shown. The type's title and description are today's (the ledger keeps its code
    /// and the validity in force then). `NotFound("consent event")` for an unknown id.
    pub async fn receipt_facts(&self, id: EventId) -> Result<EventFacts, StoreError> {
        let found = on_read_pool!(self, pool => {
            sqlx::query(
                "SELECT e.id, e.contact_id, e.type_code, e.kind, e.event_time, e.recorded_at, e.method, e.validity_days, t.title, t.description, t.allow_email_bulk, t.allow_email_single, t.allow_phone_call, t.allow_sms_single, t.allow_sms_bulk, n.version AS notice_version, n.language AS notice_language, n.url AS notice_url FROM consent_events e JOIN consent_types t ON t.id = e.consent_type_id LEFT JOIN privacy_notices n ON n.id = e.notice_id WHERE e.id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await?
            .map(|row| {
                let notice = match row.opt_text("notice_version")? {
                    Some(version) => Some(NoticeFacts {
                        version,
                        language: row.text("notice_language")?,
                        url: row.opt_text("notice_url")?,
                    }),
                    None => None,
                };
                Ok::<_, StoreError>(EventFacts {
                    event_id: EventId(row.uuid("id")?),
                    contact_id: ContactId(row.uuid("contact_id")?),
                    type_code: row.text("type_code")?,
                    type_title: row.text("title")?,
                    type_description: row.opt_text("description")?,
                    permissions: permissions_from(&row)?,
                    kind: EventKind::parse(&row.text("kind")?)?,
                    event_time: Timestamp::from_micros(row.int("event_time")?),
                    recorded_at: Timestamp::from_micros(row.int("recorded_at")?),
                    method: CollectionMethod::parse(&row.text("method")?)?,
                    validity_days: validity_from(row.opt_int("validity_days")?)?,
                    notice,
                })
            })
            .transpose()?
        });
        found.ok_or_else(|| StoreError::not_found("consent event"))
    }
}
