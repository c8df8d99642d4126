//! The keyring of personal links (the unsubscribe and preference-center links in emails): 256-bit
//! keys drawn from the injected random source, each with a small id that a link carries. The
//! newest key not retired seals new links; every key not retired opens old ones, so rotating the
//! key keeps the links of mails already sent working, and retiring a key (once its mails are
//! old, or at once if it leaked) makes every link it sealed stop working.
//!
//! Sealing and opening links (the AEAD) belong to the app; the store keeps the keys, each sealed
//! under the master key (sealing.rs) and opened here when a link is sealed or opened.

use consento_domain::Timestamp;
use serde::Serialize;

use consento_domain::sealed::Slot;

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

/// Inserts key `$secret` in transaction `$tx` and returns its id. The sealed secret is bound to
/// the row's id, known only once inserted: the row is written with an empty secret first, then
/// sealed, in the same transaction.
macro_rules! insert_link_key {
    ($store:expr, $tx:ident, $secret:expr, $now:expr) => {{
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO link_keys (secret, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(Vec::<u8>::new())
        .bind($now)
        .fetch_one(&mut *$tx)
        .await?;
        let row = id.to_string();
        let sealed = $store.seal(&Slot::new("link_keys", "secret", &row), &$secret)?;
        sqlx::query("UPDATE link_keys SET secret = $1 WHERE id = $2")
            .bind(sealed)
            .bind(id)
            .execute(&mut *$tx)
            .await?;
        id
    }};
}

impl Store {
    /// The secret of key `id`, opened from its sealed form.
    fn secret_from(&self, id: i64, sealed: &[u8]) -> Result<LinkSecret, StoreError> {
        let row = id.to_string();
        self.unseal(&Slot::new("link_keys", "secret", &row), sealed)?
            .try_into()
            .map_err(|_| StoreError::Corrupt("link key is not 32 bytes"))
    }

    /// The key that seals new links: the newest one not retired, made now if there is none
    /// (a new installation, or every key retired).
    pub async fn link_sealing_key(&self) -> Result<(u32, LinkSecret), StoreError> {
        let newest = on_read_pool!(self, pool => {
            sqlx::query("SELECT id, secret FROM link_keys WHERE retired_at IS NULL ORDER BY id DESC LIMIT 1")
                .fetch_optional(pool).await?
                .map(|row| Ok::<_, StoreError>((key_id(row.int("id")?)?, self.secret_from(row.int("id")?, &row.bytes("secret")?)?)))
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
            match found {
                Some(row) => Ok((key_id(row.int("id")?)?, self.secret_from(row.int("id")?, &row.bytes("secret")?)?)),
                None => {
                    let id = insert_link_key!(self, tx, candidate, now);
                    Ok((key_id(id)?, candidate))
                }
            }
        })
    }

    /// The secret of key `id` if it exists and is not retired: what opens a link it sealed.
    pub async fn link_opening_key(&self, id: u32) -> Result<Option<LinkSecret>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT secret FROM link_keys WHERE id = $1 AND retired_at IS NULL")
                .bind(i64::from(id))
                .fetch_optional(pool).await?
                .map(|row| self.secret_from(i64::from(id), &row.bytes("secret")?))
                .transpose()
        })
    }

    /// Makes a new key, which seals every link from now on; the older keys still open theirs.
    pub async fn rotate_link_key(&self) -> Result<LinkKey, StoreError> {
        let secret: LinkSecret = self.random()?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            let id = insert_link_key!(self, tx, secret, now);
            let row = sqlx::query("SELECT id, created_at, retired_at FROM link_keys WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
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
