//! The keyring of personal links (the unsubscribe and preference-center links in emails): 256-bit
//! keys drawn from the injected random source, each with a small id that a link carries. The
//! newest key not retired seals new links; every key not retired opens old ones, so rotating the
//! key keeps the links of mails already sent working, and retiring a key (once its mails are
//! old, or at once if it leaked) makes every link it sealed stop working.
//!
//! Sealing and opening (the AEAD) belong to the server; the store only keeps the keys.

use consento_domain::Timestamp;
use serde::Serialize;

use crate::row::Cols;
use crate::{Store, StoreError, in_write_tx, on_read_pool};

/// A link key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkKey {
    /// Its id, carried in clear by every link it seals.
    pub id: u32,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was retired: links it sealed no longer open.
    pub retired_at: Option<Timestamp>,
}

/// A key's secret: 32 bytes.
pub type LinkSecret = [u8; 32];

fn key_from(row: &impl Cols) -> Result<LinkKey, StoreError> {
    Ok(LinkKey {
        id: key_id(row.int("id")?)?,
        created_at: Timestamp::from_micros(row.int("created_at")?),
        retired_at: row.opt_int("retired_at")?.map(Timestamp::from_micros),
    })
}

fn key_id(id: i64) -> Result<u32, StoreError> {
    u32::try_from(id).map_err(|_| StoreError::Corrupt("link key id out of range"))
}

fn secret_from(bytes: Vec<u8>) -> Result<LinkSecret, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("link key is not 32 bytes"))
}

impl Store {
    /// The key that seals new links: the newest one not retired, made now if there is none
    /// (a new installation, or every key retired).
    pub async fn link_sealing_key(&self) -> Result<(u32, LinkSecret), StoreError> {
        let newest = on_read_pool!(self, pool => {
            sqlx::query("SELECT id, secret FROM link_keys WHERE retired_at IS NULL ORDER BY id DESC LIMIT 1")
                .fetch_optional(pool).await?
                .map(|row| Ok::<_, StoreError>((key_id(row.int("id")?)?, secret_from(row.bytes("secret")?)?)))
                .transpose()?
        });
        if let Some(key) = newest {
            return Ok(key);
        }
        let candidate: LinkSecret = self.random()?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            // Looked for again under the write lock: two requests of one process arriving
            // together make one key. (Two processes of PostgreSQL may each make one; the newer
            // then seals, and both open.)
            let found = sqlx::query("SELECT id, secret FROM link_keys WHERE retired_at IS NULL ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *tx).await?;
            let row = match found {
                Some(row) => row,
                None => sqlx::query("INSERT INTO link_keys (secret, created_at) VALUES ($1, $2) RETURNING id, secret")
                    .bind(candidate.to_vec()).bind(now)
                    .fetch_one(&mut *tx).await?,
            };
            Ok((key_id(row.int("id")?)?, secret_from(row.bytes("secret")?)?))
        })
    }

    /// The secret of key `id` if it exists and is not retired: what opens a link it sealed.
    pub async fn link_opening_key(&self, id: u32) -> Result<Option<LinkSecret>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT secret FROM link_keys WHERE id = $1 AND retired_at IS NULL")
                .bind(i64::from(id))
                .fetch_optional(pool).await?
                .map(|row| secret_from(row.bytes("secret")?))
                .transpose()
        })
    }

    /// Makes a new key, which seals every link from now on; the older keys still open theirs.
    pub async fn rotate_link_key(&self) -> Result<LinkKey, StoreError> {
        let secret: LinkSecret = self.random()?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            let row = sqlx::query("INSERT INTO link_keys (secret, created_at) VALUES ($1, $2) RETURNING id, created_at, retired_at")
                .bind(secret.to_vec()).bind(now)
                .fetch_one(&mut *tx).await?;
            key_from(&row)
        })
    }

    /// Retires key `id`: no link it sealed opens again, at once and in every process. Retiring
    /// a retired key changes nothing (its first retirement date stays).
    pub async fn retire_link_key(&self, id: u32) -> Result<LinkKey, StoreError> {
        let now = self.now().as_micros();
        let key = in_write_tx!(self, tx => {
            sqlx::query("UPDATE link_keys SET retired_at = COALESCE(retired_at, $2) WHERE id = $1 RETURNING id, created_at, retired_at")
                .bind(i64::from(id)).bind(now)
                .fetch_optional(&mut *tx).await?
                .as_ref().map(key_from).transpose()?
        });
        key.ok_or_else(|| StoreError::not_found("link key"))
    }

    /// Every link key, newest first.
    pub async fn link_keys(&self) -> Result<Vec<LinkKey>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT id, created_at, retired_at FROM link_keys ORDER BY id DESC")
                .fetch_all(pool).await?
                .iter().map(key_from).collect()
        })
    }
}
