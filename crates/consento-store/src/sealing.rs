//! The secrets this store keeps, sealed under the installation's master key (GDPR Art. 32(1)(a)):
//! the link keys, the suppression list's HMAC key, the receipt signing seeds, the webhook
//! signing secrets, the payloads waiting in the email outbox (they carry the confirmation links)
//! and the bodies of relayed messages under way. The master key is handed in by the caller
//! through [`crate::StoreConfig`] and never written to the database; the cipher is
//! [`consento_domain::sealed`]'s, each value bound to its table, column and row.
//!
//! This module owns the start-up check (a known value sealed under the key: a start with
//! another key is refused), the sealing of secrets left in clear by a version that had no
//! master key, the re-sealing under a new master key, and the reset after a lost one.

use consento_domain::sealed::{KeyId, MasterKey, NONCE_LEN, SealError, Slot, is_sealed_text};
use serde::Serialize;

use crate::row::Cols;
use crate::{Store, StoreError, in_write_tx};

/// The value sealed in `instance.key_check`: opening it proves the master key is the one the
/// secrets were sealed under.
const CHECK_VALUE: &[u8] = b"consento master key check v1";
/// The row key of the single `instance` row.
const INSTANCE_ROW: &str = "1";

/// What the store does when the database's secrets were sealed under another master key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OtherMasterKey {
    /// Refuse to open ([`StoreError::MasterKeyMismatch`]).
    #[default]
    Refuse,
    /// Open, for [`Store::reset_lost_master_key`] and nothing else: no secret opens.
    OpenForReset,
}

/// How many secrets a pass sealed or re-sealed, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SealedCounts {
    /// Link keys.
    pub link_keys: u64,
    /// Receipt signing seeds.
    pub receipt_keys: u64,
    /// Webhook signing secrets.
    pub webhook_secrets: u64,
    /// Email outbox payloads waiting to be sent.
    pub email_payloads: u64,
    /// Bodies of relayed messages still under way.
    pub relay_bodies: u64,
    /// The suppression list's HMAC key.
    pub suppression_key: u64,
}

impl SealedCounts {
    fn total(&self) -> u64 {
        self.link_keys
            + self.receipt_keys
            + self.webhook_secrets
            + self.email_payloads
            + self.relay_bodies
            + self.suppression_key
    }
}

/// What a reset after a lost master key did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LostKeyReset {
    /// Link keys retired (every link already mailed stops opening).
    pub link_keys_retired: u64,
    /// Receipt keys removed (receipts already handed out no longer verify).
    pub receipt_keys_removed: u64,
    /// Emails given up (their sealed links could not be read).
    pub emails_given_up: u64,
    /// Copies of relayed messages given up (their sealed bodies could not be read).
    pub relay_copies_given_up: u64,
    /// Each webhook subscription's new secret (its receiver must be given it).
    pub webhook_secrets: Vec<(uuid::Uuid, String)>,
}

/// How a pass turns each stored secret into its new form.
enum Pass<'a> {
    /// Secrets still in clear are sealed under this key; sealed ones are left as they are.
    SealClear(&'a MasterKey),
    /// Every secret is opened under `from` and sealed under `to`.
    Reseal {
        from: &'a MasterKey,
        to: &'a MasterKey,
    },
}

/// Every secret of the database converted by `$pass` within transaction `$tx`, counted in
/// `$counts`. A macro, so that one text serves both backends' transactions.
macro_rules! reseal_all {
    ($store:expr, $tx:ident, $pass:ident, $counts:ident) => {{
        let stored: Vec<u8> =
            sqlx::query_scalar("SELECT suppression_key FROM instance WHERE id = 1")
                .fetch_one(&mut *$tx)
                .await?;
        if let Some(new) = convert(&$pass, $store.nonce()?, &suppression_slot(), &stored)? {
            sqlx::query("UPDATE instance SET suppression_key = $1 WHERE id = 1")
                .bind(new)
                .execute(&mut *$tx)
                .await?;
            $counts.suppression_key += 1;
        }
        for row in sqlx::query("SELECT id, secret FROM link_keys")
            .fetch_all(&mut *$tx)
            .await?
        {
            let id = row.int("id")?;
            let key = id.to_string();
            let slot = Slot::new("link_keys", "secret", &key);
            if let Some(new) = convert(&$pass, $store.nonce()?, &slot, &row.bytes("secret")?)? {
                sqlx::query("UPDATE link_keys SET secret = $1 WHERE id = $2")
                    .bind(new)
                    .bind(id)
                    .execute(&mut *$tx)
                    .await?;
                $counts.link_keys += 1;
            }
        }
        for row in sqlx::query("SELECT kid, seed FROM receipt_keys")
            .fetch_all(&mut *$tx)
            .await?
        {
            let kid = row.text("kid")?;
            let slot = Slot::new("receipt_keys", "seed", &kid);
            if let Some(new) = convert(&$pass, $store.nonce()?, &slot, &row.bytes("seed")?)? {
                sqlx::query("UPDATE receipt_keys SET seed = $1 WHERE kid = $2")
                    .bind(new)
                    .bind(&kid)
                    .execute(&mut *$tx)
                    .await?;
                $counts.receipt_keys += 1;
            }
        }
        for row in sqlx::query("SELECT id, secret FROM webhook_subscriptions")
            .fetch_all(&mut *$tx)
            .await?
        {
            let id = row.uuid("id")?;
            let key = id.to_string();
            let slot = Slot::new("webhook_subscriptions", "secret", &key);
            if let Some(new) = convert_text(&$pass, $store.nonce()?, &slot, &row.text("secret")?)? {
                sqlx::query("UPDATE webhook_subscriptions SET secret = $1 WHERE id = $2")
                    .bind(new)
                    .bind(id)
                    .execute(&mut *$tx)
                    .await?;
                $counts.webhook_secrets += 1;
            }
        }
        // Sent and given-up messages hold an empty payload: nothing to seal.
        for row in sqlx::query(
            "SELECT id, payload FROM email_outbox WHERE sent_at IS NULL AND dead_at IS NULL",
        )
        .fetch_all(&mut *$tx)
        .await?
        {
            let id = row.uuid("id")?;
            let key = id.to_string();
            let slot = Slot::new("email_outbox", "payload", &key);
            if let Some(new) = convert_text(&$pass, $store.nonce()?, &slot, &row.text("payload")?)?
            {
                sqlx::query("UPDATE email_outbox SET payload = $1 WHERE id = $2")
                    .bind(new)
                    .bind(id)
                    .execute(&mut *$tx)
                    .await?;
                $counts.email_payloads += 1;
            }
        }
        // Relayed bodies were sealed from the first (never in clear): only a re-seal moves them.
        if let Pass::Reseal { from, to } = &$pass {
            for row in sqlx::query("SELECT id, body FROM relay_messages WHERE body IS NOT NULL")
                .fetch_all(&mut *$tx)
                .await?
            {
                let id = row.uuid("id")?;
                let key = id.to_string();
                let slot = Slot::new("relay_messages", "body", &key);
                let plain = from
                    .open(&slot, &row.bytes("body")?)
                    .map_err(|e| unsealed(&slot, e))?;
                sqlx::query("UPDATE relay_messages SET body = $1 WHERE id = $2")
                    .bind(to.seal(&slot, $store.nonce()?, &plain))
                    .bind(id)
                    .execute(&mut *$tx)
                    .await?;
                $counts.relay_bodies += 1;
            }
        }
    }};
}

impl Store {
    /// The fingerprint of the master key this store seals with.
    pub fn master_key_id(&self) -> KeyId {
        self.master.id()
    }

    fn nonce(&self) -> Result<[u8; NONCE_LEN], StoreError> {
        self.random()
    }

    /// `plain` sealed for `slot` under the master key.
    pub(crate) fn seal(&self, slot: &Slot<'_>, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(self.master.seal(slot, self.nonce()?, plain))
    }

    /// `plain` sealed for `slot`, as text.
    pub(crate) fn seal_text(&self, slot: &Slot<'_>, plain: &str) -> Result<String, StoreError> {
        Ok(self.master.seal_text(slot, self.nonce()?, plain))
    }

    /// The secret sealed in `slot`.
    pub(crate) fn unseal(&self, slot: &Slot<'_>, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.master
            .open(slot, sealed)
            .map_err(|e| unsealed(slot, e))
    }

    /// The text secret sealed in `slot`.
    pub(crate) fn unseal_text(&self, slot: &Slot<'_>, sealed: &str) -> Result<String, StoreError> {
        self.master
            .open_text(slot, sealed)
            .map_err(|e| unsealed(slot, e))
    }

    /// At start: makes the instance row (a new suppression key, sealed) or checks the master
    /// key against the sealed check value; on the first start with a master key, seals every
    /// secret still in clear, in one transaction, with an entry in the audit trail. Returns the
    /// suppression key.
    pub(crate) async fn open_sealed(&self, other: OtherMasterKey) -> Result<[u8; 32], StoreError> {
        let fresh: [u8; 32] = self.random()?;
        let fresh_sealed = self.seal(&suppression_slot(), &fresh)?;
        let check = self.seal(&check_slot(), CHECK_VALUE)?;
        let now = self.now().as_micros();
        let stored = in_write_tx!(self, tx => {
            // A new database: the key is made sealed, and the check value with it.
            sqlx::query("INSERT INTO instance (id, suppression_key, created_at, key_check) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING")
                .bind(&fresh_sealed).bind(now).bind(&check)
                .execute(&mut *tx).await?;
            let row = sqlx::query("SELECT suppression_key, key_check FROM instance WHERE id = 1")
                .fetch_one(&mut *tx).await?;
            match row.opt_bytes("key_check")? {
                Some(stored_check) => {
                    match self.master.open(&check_slot(), &stored_check) {
                        Ok(v) if v == CHECK_VALUE => {}
                        Ok(_) | Err(SealError::Tampered) | Err(SealError::Malformed) => {
                            return Err(StoreError::Corrupt("the sealed master key check does not open"));
                        }
                        Err(SealError::OtherKey(database)) => match other {
                            OtherMasterKey::Refuse => {
                                return Err(StoreError::MasterKeyMismatch { database, given: self.master.id() });
                            }
                            OtherMasterKey::OpenForReset => {}
                        },
                    }
                }
                None => {
                    // Written by a version without a master key: every secret is in clear.
                    let pass = Pass::SealClear(&self.master);
                    let mut counts = SealedCounts::default();
                    reseal_all!(self, tx, pass, counts);
                    sqlx::query("UPDATE instance SET key_check = $1 WHERE id = 1")
                        .bind(&check).execute(&mut *tx).await?;
                    if counts.total() > 0 {
                        let entry = crate::AuditActor::System.entry(
                            "keys.seal_existing",
                            None,
                            serde_json::json!({ "master_key_id": self.master.id().to_string(), "sealed_secrets": counts.total() }),
                        );
                        let audit = self.audit_row(entry)?;
                        crate::users::insert_audit!(tx, audit.id, audit.at, audit.input, audit.detail);
                    }
                }
            }
            sqlx::query_scalar::<_, Vec<u8>>("SELECT suppression_key FROM instance WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?
        });
        match self.unseal(&suppression_slot(), &stored) {
            Ok(key) => key
                .try_into()
                .map_err(|_| StoreError::Corrupt("instance key is not 32 bytes")),
            // Opened only to be reset: a stand-in that matches nothing.
            Err(_) if other == OtherMasterKey::OpenForReset => Ok(fresh),
            Err(e) => Err(e),
        }
    }

    /// Re-seals every secret under `new`, in one transaction: afterwards the database opens
    /// only with `new` (this store, still holding the old key, should then be closed). Run it
    /// within [`Store::audited`].
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<SealedCounts, StoreError> {
        let check = new.seal(&check_slot(), self.nonce()?, CHECK_VALUE);
        Ok(in_write_tx!(self, tx => {
            let pass = Pass::Reseal { from: &self.master, to: new };
            let mut counts = SealedCounts::default();
            reseal_all!(self, tx, pass, counts);
            sqlx::query("UPDATE instance SET key_check = $1 WHERE id = 1")
                .bind(&check).execute(&mut *tx).await?;
            counts
        }))
    }

    /// After the master key was lost: fresh secrets under this store's master key, in one
    /// transaction. Every link key is retired (links already mailed stop opening), every
    /// receipt key removed (receipts already handed out stop verifying; a new key signs from
    /// now on), the suppression key replaced (the hashes already listed can no longer be
    /// matched: an erased or objecting person's address is no longer recognised), each webhook
    /// subscription given a new secret, and emails still waiting given up. The contacts, the
    /// consents and the ledger are untouched and still verify. Run it within [`Store::audited`].
    pub async fn reset_lost_master_key(&self) -> Result<LostKeyReset, StoreError> {
        let suppression: [u8; 32] = self.random()?;
        let suppression = self.seal(&suppression_slot(), &suppression)?;
        let check = self.seal(&check_slot(), CHECK_VALUE)?;
        let now = self.now().as_micros();
        let subscriptions: Vec<uuid::Uuid> = crate::on_read_pool!(self, pool => {
            sqlx::query("SELECT id FROM webhook_subscriptions ORDER BY id")
                .fetch_all(pool).await?
                .iter().map(|r| r.uuid("id")).collect::<Result<_, StoreError>>()?
        });
        let mut secrets = Vec::with_capacity(subscriptions.len());
        for id in subscriptions {
            let secret = crate::webhooks::new_secret(self)?;
            let sealed = self.seal_text(
                &Slot::new("webhook_subscriptions", "secret", &id.to_string()),
                &secret,
            )?;
            secrets.push((id, secret, sealed));
        }
        Ok(in_write_tx!(self, tx => {
            let link_keys_retired = sqlx::query("UPDATE link_keys SET retired_at = $1 WHERE retired_at IS NULL")
                .bind(now).execute(&mut *tx).await?.rows_affected();
            let receipt_keys_removed = sqlx::query("DELETE FROM receipt_keys")
                .execute(&mut *tx).await?.rows_affected();
            let emails_given_up = sqlx::query("UPDATE email_outbox SET payload = '{}', dead_at = $1, lease_until = NULL, last_error = 'the master key that sealed this message was lost' WHERE sent_at IS NULL AND dead_at IS NULL")
                .bind(now).execute(&mut *tx).await?.rows_affected();
            let relay_copies_given_up = sqlx::query("UPDATE relay_deliveries SET status = 'bounced', last_error = 'master_key_lost', next_attempt_at = NULL, lease_until = NULL, recipient = NULL, updated_at = $1 WHERE status IN ('queued', 'deferred')")
                .bind(now).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE relay_messages SET body = NULL, envelope_from = NULL, purged_at = $1 WHERE purged_at IS NULL")
                .bind(now).execute(&mut *tx).await?;
            for (id, _, sealed) in &secrets {
                sqlx::query("UPDATE webhook_subscriptions SET secret = $2, updated_at = $3 WHERE id = $1")
                    .bind(id).bind(sealed).bind(now).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE instance SET suppression_key = $1, key_check = $2 WHERE id = 1")
                .bind(&suppression).bind(&check).execute(&mut *tx).await?;
            LostKeyReset {
                link_keys_retired,
                receipt_keys_removed,
                emails_given_up,
                relay_copies_given_up,
                webhook_secrets: secrets.iter().map(|(id, s, _)| (*id, s.clone())).collect(),
            }
        }))
    }
}

/// Turns one stored secret into its new form for the pass; `None` when it stays as it is.
fn convert(
    pass: &Pass<'_>,
    nonce: [u8; NONCE_LEN],
    slot: &Slot<'_>,
    stored: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    match pass {
        // A clear secret is 32 bytes; an envelope is longer (33 bytes of header alone).
        Pass::SealClear(key) if stored.len() == 32 => Ok(Some(key.seal(slot, nonce, stored))),
        Pass::SealClear(_) => Ok(None),
        Pass::Reseal { from, to } => {
            let plain = from.open(slot, stored).map_err(|e| unsealed(slot, e))?;
            Ok(Some(to.seal(slot, nonce, &plain)))
        }
    }
}

/// As [`convert`], for a text column.
fn convert_text(
    pass: &Pass<'_>,
    nonce: [u8; NONCE_LEN],
    slot: &Slot<'_>,
    stored: &str,
) -> Result<Option<String>, StoreError> {
    match pass {
        Pass::SealClear(_) if is_sealed_text(stored) => Ok(None),
        Pass::SealClear(key) => Ok(Some(key.seal_text(slot, nonce, stored))),
        Pass::Reseal { from, to } => {
            let plain = from
                .open_text(slot, stored)
                .map_err(|e| unsealed(slot, e))?;
            Ok(Some(to.seal_text(slot, nonce, &plain)))
        }
    }
}

pub(crate) fn suppression_slot() -> Slot<'static> {
    Slot::new("instance", "suppression_key", INSTANCE_ROW)
}

fn check_slot() -> Slot<'static> {
    Slot::new("instance", "key_check", INSTANCE_ROW)
}

/// A sealed value that does not open: under another master key, or altered or moved.
fn unsealed(slot: &Slot<'_>, e: SealError) -> StoreError {
    match e {
        SealError::OtherKey(database) => StoreError::Unsealable {
            place: format!("{}.{}", slot.table, slot.column),
            reason: format!("sealed under another master key ({database})"),
        },
        other => StoreError::Unsealable {
            place: format!("{}.{}", slot.table, slot.column),
            reason: other.to_string(),
        },
    }
}
