//! The console's staff: accounts, sessions and the audit trail. Passwords arrive here already
//! hashed (Argon2id, by the server); session secrets arrive as their SHA-256. Nothing here ever
//! sees a password or a session secret in clear.

use consento_domain::{DomainError, Role, Timestamp, Username};

use crate::row::Cols;
use crate::{Store, StoreError, in_write_tx, on_read_pool};

/// A staff account as stored, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Its id: the actor id of what it records in the ledger.
    pub id: uuid::Uuid,
    /// The login name.
    pub username: String,
    /// The name shown to colleagues.
    pub display_name: String,
    /// What it may do.
    pub role: Role,
    /// Set for an account created with a one-time password: the next login must change it.
    pub must_change_password: bool,
    /// The language chosen in the console (`it`, `en`), if any.
    pub locale: Option<String>,
    /// Consecutive failed logins since the last success.
    pub failed_logins: i64,
    /// Until when logins are refused after too many failures.
    pub locked_until: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// When the account was disabled: it can no longer log in.
    pub disabled_at: Option<Timestamp>,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The login name.
    pub username: Username,
    /// The name shown to colleagues (the username when empty).
    pub display_name: String,
    /// What it may do.
    pub role: Role,
    /// The Argon2id PHC string of its password.
    pub password_hash: String,
    /// Whether the first login must change the password.
    pub must_change_password: bool,
}

/// A live session and its account.
#[derive(Debug, Clone)]
pub struct StaffSession {
    /// The account.
    pub user: User,
    /// When the session began.
    pub created_at: Timestamp,
}

/// What a failed login did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailure {
    /// Consecutive failures now.
    pub failures: i64,
    /// Set when this failure locked the account.
    pub locked_until: Option<Timestamp>,
}

/// One operator action for the audit trail.
#[derive(Debug, Clone)]
pub struct AuditInput {
    /// Who did it (none for the system, or a failed login of an unknown name).
    pub user_id: Option<uuid::Uuid>,
    /// The API token that did it, when an integration did (GDPR Art. 5(2): an integration's
    /// change is attributable like an operator's).
    pub token_id: Option<uuid::Uuid>,
    /// What, as a stable code (`consent_type.create`, `contact.consent`, `login.failure`, …).
    pub action: String,
    /// The kind of record it touched (`contact`, `consent_type`, …).
    pub target_kind: Option<String>,
    /// Which record: its id, never a name or an address.
    pub target_id: Option<String>,
    /// Details (a JSON object): the fields changed, the reason picked, …
    pub detail: serde_json::Value,
}

/// Who an audited action is by: an operator, an API token, or the system (the command line,
/// a worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditActor {
    /// A staff account.
    User(uuid::Uuid),
    /// An API token.
    Token(uuid::Uuid),
    /// Nobody in particular: the command line or the server itself.
    System,
}

impl AuditActor {
    /// The audit trail's `user_id` and `token_id`.
    pub fn ids(self) -> (Option<uuid::Uuid>, Option<uuid::Uuid>) {
        match self {
            Self::User(u) => (Some(u), None),
            Self::Token(t) => (None, Some(t)),
            Self::System => (None, None),
        }
    }

    /// An audit entry by this actor.
    pub fn entry(
        self,
        action: &str,
        target: Option<(&str, String)>,
        detail: serde_json::Value,
    ) -> AuditInput {
        let (user_id, token_id) = self.ids();
        let (target_kind, target_id) = target.map(|(k, id)| (k.to_owned(), id)).unzip();
        AuditInput {
            user_id,
            token_id,
            action: action.to_owned(),
            target_kind,
            target_id,
            detail,
        }
    }
}

/// Appends `$input` (an [`AuditInput`]) with `$detail` (its detail as JSON text) to the audit
/// trail inside the transaction `$tx`: for writes that must be audited in the same transaction
/// as the change (rectification, bulk rules), so that neither exists without the other.
macro_rules! insert_audit {
    ($tx:ident, $id:expr, $now:expr, $input:expr, $detail:expr) => {
        sqlx::query("INSERT INTO audit_events (id, at, user_id, token_id, action, target_kind, target_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind($id).bind($now.as_micros()).bind($input.user_id).bind($input.token_id).bind(&$input.action)
            .bind(&$input.target_kind).bind(&$input.target_id).bind($detail)
            .execute(&mut *$tx).await?;
    };
}
pub(crate) use insert_audit;

/// An entry of the audit trail.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// Its place in the trail: later entries have larger numbers.
    pub seq: i64,
    /// Its id (UUIDv7: time-ordered).
    pub id: uuid::Uuid,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub user_id: Option<uuid::Uuid>,
    /// Their username, at reading time.
    pub username: Option<String>,
    /// The API token that did it.
    pub token_id: Option<uuid::Uuid>,
    /// That token's name, at reading time.
    pub token_name: Option<String>,
    /// What.
    pub action: String,
    /// The kind of record touched.
    pub target_kind: Option<String>,
    /// Which record.
    pub target_id: Option<String>,
    /// Details.
    pub detail: serde_json::Value,
}

/// Which audit entries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this account's actions.
    pub user_id: Option<uuid::Uuid>,
    /// Only actions at or after this instant.
    pub from: Option<Timestamp>,
    /// Only actions before this instant.
    pub until: Option<Timestamp>,
    /// Only actions on this record.
    pub target: Option<(String, String)>,
    /// Only entries before this `seq` (keyset paging).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

const USER_COLS: &str = "id, username, display_name, role, must_change_password, locale, failed_logins, locked_until, created_at, disabled_at";

fn user_from(row: &impl Cols) -> Result<User, StoreError> {
    Ok(User {
        id: row.uuid("id")?,
        username: row.text("username")?,
        display_name: row.text("display_name")?,
        role: Role::parse(&row.text("role")?).map_err(|_| StoreError::Corrupt("user role"))?,
        must_change_password: row.flag("must_change_password")?,
        locale: row.opt_text("locale")?,
        failed_logins: row.int("failed_logins")?,
        locked_until: row.opt_int("locked_until")?.map(Timestamp::from_micros),
        created_at: Timestamp::from_micros(row.int("created_at")?),
        disabled_at: row.opt_int("disabled_at")?.map(Timestamp::from_micros),
    })
}

fn audit_from(row: &impl Cols) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.int("seq")?,
        id: row.uuid("id")?,
        at: Timestamp::from_micros(row.int("at")?),
        user_id: row.opt_uuid("user_id")?,
        username: row.opt_text("username")?,
        token_id: row.opt_uuid("token_id")?,
        token_name: row.opt_text("token_name")?,
        action: row.text("action")?,
        target_kind: row.opt_text("target_kind")?,
        target_id: row.opt_text("target_id")?,
        detail: serde_json::from_str(&row.text("detail")?)
            .map_err(|_| StoreError::Corrupt("audit detail"))?,
    })
}

impl Store {
    /// Creates an account.
    pub async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let display_name = new.display_name.trim();
        consento_domain::text::check(
            "display_name",
            display_name,
            consento_domain::text::Lines::One,
        )?;
        if display_name.chars().count() > 128 {
            return Err(DomainError::invalid("display_name", "at most 128 characters").into());
        }
        let now = self.now();
        let user = User {
            id: self.new_uuid(now)?,
            username: new.username.as_str().to_owned(),
            display_name: if display_name.is_empty() {
                new.username.as_str().to_owned()
            } else {
                display_name.to_owned()
            },
            role: new.role,
            must_change_password: new.must_change_password,
            locale: None,
            failed_logins: 0,
            locked_until: None,
            created_at: now,
            disabled_at: None,
        };
        crate::audit::set_target_id("user", user.id);
        in_write_tx!(self, tx => {
            sqlx::query("INSERT INTO users (id, username, display_name, role, password_hash, must_change_password, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(user.id).bind(&user.username).bind(&user.display_name).bind(user.role.code())
                .bind(&new.password_hash).bind(user.must_change_password).bind(now.as_micros())
                .execute(&mut *tx).await?;
        });
        Ok(user)
    }

    /// How many accounts exist (the first start creates an administrator when there are none).
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        on_read_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?)
        })
    }

    /// Every account, by username.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?.iter().map(user_from).collect()
        })
    }

    /// One account.
    pub async fn user(&self, id: uuid::Uuid) -> Result<User, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let user = on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?.as_ref().map(user_from).transpose()?
        });
        user.ok_or_else(|| StoreError::not_found("user"))
    }

    /// The language the account named `username` chose in the console, if it exists and chose
    /// one (a disabled account is still the person it names).
    pub async fn locale_of_user(&self, username: &Username) -> Result<Option<String>, StoreError> {
        on_read_pool!(self, pool => {
            Ok(sqlx::query_scalar::<_, Option<String>>("SELECT locale FROM users WHERE username = $1")
                .bind(username.as_str())
                .fetch_optional(pool)
                .await?
                .flatten())
        })
    }

    /// The account with this username and its password hash, for logging in. Read from the
    /// writer's side: a lockout written a moment ago by another request must be seen.
    pub async fn user_for_login(
        &self,
        username: &Username,
    ) -> Result<Option<(User, String)>, StoreError> {
        let sql = format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = $1");
        Ok(in_write_tx!(self, tx => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username.as_str()).fetch_optional(&mut *tx).await? {
                Some(row) => Some((user_from(&row)?, row.text("password_hash")?)),
                None => None,
            }
        }))
    }

    /// Counts a failed login at `now`; the `lock_after`-th consecutive failure locks the account
    /// until `lock_until`. A lock that has run out starts the count afresh, so one attempt per
    /// lock period cannot keep an account locked for ever. One statement, so concurrent attempts
    /// cannot lose a count.
    pub async fn record_login_failure(
        &self,
        user_id: uuid::Uuid,
        lock_after: i64,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> Result<LoginFailure, StoreError> {
        let counted = in_write_tx!(self, tx => {
            match sqlx::query("UPDATE users SET \
                    failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= $3 THEN 1 ELSE failed_logins + 1 END, \
                    locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= $3 THEN (CASE WHEN 1 >= $2 THEN $4 ELSE NULL END) \
                        WHEN failed_logins + 1 >= $2 THEN $4 ELSE locked_until END \
                    WHERE id = $1 RETURNING failed_logins, locked_until")
                .bind(user_id).bind(lock_after).bind(now.as_micros()).bind(lock_until.as_micros())
                .fetch_optional(&mut *tx).await? {
                Some(row) => Some((row.int("failed_logins")?, row.opt_int("locked_until")?)),
                None => None,
            }
        });
        let (failures, locked_until) = counted.ok_or_else(|| StoreError::not_found("user"))?;
        Ok(LoginFailure {
            failures,
            locked_until: locked_until
                .filter(|_| failures >= lock_after)
                .map(Timestamp::from_micros),
        })
    }

    /// Starts a session for a successful login: resets the failure count and stores the
    /// session's secret hash, in one transaction.
    pub async fn start_session(
        &self,
        user_id: uuid::Uuid,
        secret_hash: &[u8; 32],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO sessions (secret_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)")
                .bind(secret_hash.to_vec()).bind(user_id).bind(now).bind(expires_at.as_micros())
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The live session with this secret hash: not expired, not idle since before
    /// `idle_since`, its account not disabled. Its last-seen time moves forward at most once a
    /// minute, so browsing does not write at every page.
    pub async fn session(
        &self,
        secret_hash: &[u8; 32],
        idle_since: Timestamp,
    ) -> Result<Option<StaffSession>, StoreError> {
        let now = self.now();
        let sql = format!(
            "SELECT {}, s.created_at AS session_created, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.disabled_at IS NULL",
            USER_COLS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let found = on_read_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(secret_hash.to_vec()).bind(now.as_micros()).bind(idle_since.as_micros())
                .fetch_optional(pool).await? {
                Some(row) => Some((user_from(&row)?, row.int("session_created")?, row.int("last_seen_at")?)),
                None => None,
            }
        });
        let Some((user, created, last_seen)) = found else {
            return Ok(None);
        };
        if now.as_micros() - last_seen > 60_000_000 {
            in_write_tx!(self, tx => {
                sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE secret_hash = $1")
                    .bind(secret_hash.to_vec()).bind(now.as_micros()).execute(&mut *tx).await?;
            });
        }
        Ok(Some(StaffSession {
            user,
            created_at: Timestamp::from_micros(created),
        }))
    }

    /// Ends a session (logging out). Ending one that is gone is not an error.
    pub async fn end_session(&self, secret_hash: &[u8; 32]) -> Result<(), StoreError> {
        in_write_tx!(self, tx => {
            sqlx::query("DELETE FROM sessions WHERE secret_hash = $1")
                .bind(secret_hash.to_vec()).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Removes sessions that have expired or been idle since before `idle_since`.
    pub async fn purge_sessions(&self, idle_since: Timestamp) -> Result<u64, StoreError> {
        let now = self.now().as_micros();
        Ok(in_write_tx!(self, tx => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now).bind(idle_since.as_micros())
                .execute(&mut *tx).await?.rows_affected()
        }))
    }

    /// Sets a new password hash and ends every session of the account but `keep` (the one that
    /// changed it): a stolen session does not outlive a password change.
    pub async fn set_password(
        &self,
        user_id: uuid::Uuid,
        password_hash: &str,
        must_change: bool,
        keep: Option<&[u8; 32]>,
    ) -> Result<(), StoreError> {
        let changed = in_write_tx!(self, tx => {
            let n = sqlx::query("UPDATE users SET password_hash = $2, must_change_password = $3, failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(user_id).bind(password_hash).bind(must_change)
                .execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND secret_hash <> $2")
                .bind(user_id).bind(keep.map(|k| k.to_vec()).unwrap_or_default())
                .execute(&mut *tx).await?;
            n
        });
        if changed == 0 {
            return Err(StoreError::not_found("user"));
        }
        Ok(())
    }

    /// Changes an account's role, display name, or disables it (ending its sessions).
    pub async fn update_user(
        &self,
        user_id: uuid::Uuid,
        role: Role,
        display_name: &str,
        disabled: bool,
    ) -> Result<User, StoreError> {
        let display_name = display_name.trim();
        consento_domain::text::check(
            "display_name",
            display_name,
            consento_domain::text::Lines::One,
        )?;
        if display_name.is_empty() || display_name.chars().count() > 128 {
            return Err(DomainError::invalid("display_name", "must be 1 to 128 characters").into());
        }
        let now = self.now().as_micros();
        let sql = format!(
            "UPDATE users SET role = $2, display_name = $3, disabled_at = CASE WHEN $4 THEN COALESCE(disabled_at, $5) ELSE NULL END WHERE id = $1 RETURNING {USER_COLS}"
        );
        let user = in_write_tx!(self, tx => {
            let user = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).bind(role.code()).bind(display_name).bind(disabled).bind(now)
                .fetch_optional(&mut *tx).await?.as_ref().map(user_from).transpose()?;
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            }
            user
        });
        user.ok_or_else(|| StoreError::not_found("user"))
    }

    /// Remembers the console language an account chose.
    pub async fn set_user_locale(
        &self,
        user_id: uuid::Uuid,
        locale: &str,
    ) -> Result<(), StoreError> {
        if !matches!(locale, "it" | "en") {
            return Err(DomainError::invalid("locale", "must be it or en").into());
        }
        in_write_tx!(self, tx => {
            sqlx::query("UPDATE users SET locale = $2 WHERE id = $1")
                .bind(user_id).bind(locale).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Appends an entry to the audit trail.
    pub async fn audit(&self, input: AuditInput) -> Result<(), StoreError> {
        let row = self.audit_row(input)?;
        in_write_tx!(self, tx => {
            insert_audit!(tx, row.id, row.at, row.input, row.detail);
        });
        Ok(())
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        // Unused filters compare against NULL and drop out, so one SQL text serves every
        // combination (and each backend plans it once).
        let sql = "SELECT a.seq, a.id, a.at, a.user_id, u.username, a.token_id, t.name AS token_name, a.action, a.target_kind, a.target_id, a.detail \
            FROM audit_events a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN api_tokens t ON t.id = a.token_id \
            WHERE ($1 IS NULL OR a.user_id = $1) AND ($2 IS NULL OR a.at >= $2) AND ($3 IS NULL OR a.at < $3) \
            AND ($4 IS NULL OR (a.target_kind = $4 AND a.target_id = $5)) AND ($6 IS NULL OR a.seq < $6) \
            ORDER BY a.seq DESC LIMIT $7";
        let (kind, target) = filter.target.clone().unzip();
        let limit = i64::from(filter.limit.clamp(1, 500));
        on_read_pool!(self, pool => {
            sqlx::query(sql)
                .bind(filter.user_id).bind(filter.from.map(Timestamp::as_micros)).bind(filter.until.map(Timestamp::as_micros))
                .bind(kind).bind(target).bind(filter.before).bind(limit)
                .fetch_all(pool).await?.iter().map(audit_from).collect()
        })
    }
}
