//! API tokens: created with a secret shown once, kept only as its SHA-256, looked up by that
//! hash, revoked (never deleted, so the ledger's `token` actors stay explained). Also the
//! idempotency keys of consent writes, and the readiness check.

use consento_domain::{Action, DomainError, Timestamp};
use sha2::{Digest, Sha256};

use crate::row::{Cols, hex};
use crate::{Store, StoreError, in_write_tx, migrate, on_read_pool};

/// The prefix of every token: lets secret scanners recognise a leaked one.
pub const TOKEN_PREFIX: &str = "cns_";

/// An API token as stored (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    /// Its id: the actor id of what it records.
    pub id: uuid::Uuid,
    /// A name saying what uses it ("crm", "dialer").
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Created.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// A relay token's own default action (`email.single` or `email.bulk`): what a message it
    /// sends is decided as when its headers carry no mailing list's marks; `None`, the relay's
    /// configured default.
    #[serde(serialize_with = "action_code")]
    pub relay_action: Option<Action>,
}

fn action_code<S: serde::Serializer>(action: &Option<Action>, s: S) -> Result<S::Ok, S::Error> {
    match action {
        Some(a) => s.serialize_some(a.code()),
        None => s.serialize_none(),
    }
}

/// The SHA-256 of a token's secret: the only form in which it is stored.
pub fn token_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

const TOKEN_COLS: &str = "id, name, scopes, created_at, expires_at, revoked_at, relay_action";

fn token_from(row: &impl Cols) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: row.uuid("id")?,
        name: row.text("name")?,
        scopes: row
            .text("scopes")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        created_at: Timestamp::from_micros(row.int("created_at")?),
        expires_at: row.opt_int("expires_at")?.map(Timestamp::from_micros),
        revoked_at: row.opt_int("revoked_at")?.map(Timestamp::from_micros),
        relay_action: row
            .opt_text("relay_action")?
            .map(|a| Action::parse(&a))
            .transpose()?,
    })
}

impl Store {
    /// Creates a token and returns it with its secret, which is not kept and cannot be shown
    /// again. `scopes` are checked by the caller (the server owns their meaning), who also
    /// gives `relay_action` only to a relay token; it must be an email action.
    pub async fn create_token(
        &self,
        name: &str,
        scopes: &[String],
        expires_at: Option<Timestamp>,
        relay_action: Option<Action>,
    ) -> Result<(ApiToken, String), StoreError> {
        if relay_action.is_some_and(|a| !matches!(a, Action::EmailSingle | Action::EmailBulk)) {
            return Err(
                DomainError::invalid("relay_action", "must be email.single or email.bulk").into(),
            );
        }
        let name = name.trim();
        consento_domain::text::check("name", name, consento_domain::text::Lines::One)?;
        if name.is_empty() || name.len() > 128 {
            return Err(DomainError::invalid("name", "must be 1 to 128 characters").into());
        }
        if scopes.is_empty() {
            return Err(DomainError::invalid("scope", "give at least one scope").into());
        }
        let now = self.now();
        if expires_at.is_some_and(|e| e <= now) {
            return Err(DomainError::invalid("expires_at", "must be in the future").into());
        }
        let secret = format!("{TOKEN_PREFIX}{}", hex(&self.random::<32>()?));
        let token = ApiToken {
            id: self.new_uuid(now)?,
            name: name.to_owned(),
            scopes: scopes.to_vec(),
            created_at: now,
            expires_at,
            revoked_at: None,
            relay_action,
        };
        crate::audit::set_target_id("token", token.id);
        in_write_tx!(self, tx => {
            sqlx::query("INSERT INTO api_tokens (id, name, scopes, token_hash, created_at, expires_at, relay_action) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(token.id).bind(&token.name).bind(token.scopes.join(" "))
                .bind(token_digest(&secret).to_vec()).bind(now.as_micros()).bind(expires_at.map(Timestamp::as_micros))
                .bind(relay_action.map(Action::code))
                .execute(&mut *tx).await?;
        });
        Ok((token, secret))
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_at DESC, id");
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?.iter().map(token_from).collect()
        })
    }

    /// The token whose secret has this digest, if it exists, is not revoked and has not expired.
    pub async fn token_by_digest(&self, digest: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
        );
        let now = self.now().as_micros();
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(digest.to_vec()).bind(now)
                .fetch_optional(pool).await?.as_ref().map(token_from).transpose()
        })
    }

    /// Revokes a token; it stops working at once in this process and within the server's token
    /// cache lifetime in others. Revoking twice is not an error.
    pub async fn revoke_token(&self, id: uuid::Uuid) -> Result<ApiToken, StoreError> {
        let now = self.now().as_micros();
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING {TOKEN_COLS}"
        );
        let token = in_write_tx!(self, tx => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(now)
                .fetch_optional(&mut *tx).await?.as_ref().map(token_from).transpose()?
        });
        token.ok_or_else(|| StoreError::not_found("token"))
    }

    /// Forgets idempotency keys recorded before `before` (the events stay, of course): a retry
    /// comes within minutes, and a key kept for ever would pin a caller's choice of keys.
    pub async fn purge_idempotency_keys(&self, before: Timestamp) -> Result<u64, StoreError> {
        Ok(in_write_tx!(self, tx => {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(before.as_micros())
                .execute(&mut *tx).await?
                .rows_affected()
        }))
    }

    /// Whether the database answers and carries every migration of this binary (`/readyz`).
    pub async fn ready(&self) -> Result<bool, StoreError> {
        let latest: Option<i64> = on_read_pool!(self, pool => {
            sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(pool).await?
        });
        Ok(latest == Some(migrate::LATEST))
    }
}
