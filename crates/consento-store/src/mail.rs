//! The email outbox: messages to people (a double opt-in confirmation…), written in the same
//! transaction as the change that causes them (never sent from a request handler, so a
//! rolled-back change sends nothing), and the mail worker's side of it: claiming due messages
//! under a lease, recording each outcome, purging what was sent.
//!
//! A recipient's address is personal data (GDPR Art. 4(1)): it is kept only until the message is
//! sent or given up and then for a retention the worker applies ([`Store::purge_email_outbox`]);
//! the payload, which may carry a confirmation link, is sealed under the master key while it
//! waits (sealing.rs; bound to its message) and emptied as soon as the message is sent or dead;
//! and nothing here puts an address into an error or a `Debug` output.

use std::time::Duration;

use consento_domain::sealed::Slot;
use consento_domain::{ContactId, DomainError, Email, Timestamp};
use serde::Serialize;
use uuid::Uuid;

use crate::outbox::{NextAttempt, lease_until, skip_locked};
use crate::row::Cols;
use crate::{Backend, Store, StoreError, in_write_tx, on_read_pool};

/// A message to enqueue.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEmail {
    /// The contact it is about, if any (erasure finds its messages by it).
    pub contact_id: Option<ContactId>,
    /// The recipient's address.
    pub to: String,
    /// The language to write it in (`it`, `en`).
    pub locale: String,
    /// Which message it is (the worker's template name, e.g. `subscription_confirm`).
    pub template: String,
    /// What the template fills in.
    pub payload: serde_json::Value,
}

/// Hides the address.
impl std::fmt::Debug for NewEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEmail")
            .field("contact_id", &self.contact_id)
            .field("locale", &self.locale)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// A message claimed for sending.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Its id (UUIDv7), the same at every attempt: the worker makes the `Message-ID` of it.
    pub id: Uuid,
    /// The recipient's address.
    pub to: String,
    /// The language.
    pub locale: String,
    /// The template name.
    pub template: String,
    /// What the template fills in.
    pub payload: serde_json::Value,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Hides the address and the payload (which may carry a confirmation link).
impl std::fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("id", &self.id)
            .field("locale", &self.locale)
            .field("template", &self.template)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// One outbox message as an administrator inspects it: no address, no payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailMessage {
    /// Its id.
    pub id: Uuid,
    /// The contact it is about.
    pub contact_id: Option<ContactId>,
    /// The language.
    pub locale: String,
    /// The template name.
    pub template: String,
    /// Enqueued.
    pub created_at: Timestamp,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
    /// The last failure's short code (`smtp_451`, `connect`, …).
    pub last_error: Option<String>,
    /// Accepted by the SMTP server.
    pub sent_at: Option<Timestamp>,
    /// Given up.
    pub dead_at: Option<Timestamp>,
}

/// Email outbox counts, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EmailOutboxStats {
    /// Messages neither sent nor dead.
    pub pending: i64,
    /// Messages sent (and not yet purged).
    pub sent: i64,
    /// Messages given up.
    pub dead: i64,
}

/// The INSERT of one message: $1 id, $2 contact, $3 address, $4 locale, $5 template, $6 payload,
/// $7 the instant (created and first due).
pub(crate) const INSERT_EMAIL: &str = "INSERT INTO email_outbox (id, contact_id, to_address, locale, template, payload, created_at, next_attempt_at, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 0)";

/// The due messages: not sent, not dead, due, not leased by a live worker. $1 now.
const DUE: &str = "FROM email_outbox WHERE sent_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)";

/// Claims up to $3 due messages until $2, each claim an attempt (a message that crashes its
/// worker still ends dead); concurrent claimers skip each other's rows.
fn claim_sql(backend: Backend) -> String {
    let lock = skip_locked(backend, None);
    format!(
        "UPDATE email_outbox SET lease_until = $2, attempts = attempts + 1 WHERE id IN (SELECT id {DUE} ORDER BY next_attempt_at, id LIMIT $3 {lock}) RETURNING id, to_address, locale, template, payload, attempts, created_at"
    )
}

/// Checks a message before it is written: a valid address, a language code, a template name.
pub(crate) fn validate_email(e: &NewEmail) -> Result<(Email, String), DomainError> {
    let to = Email::parse(&e.to)?;
    let locale = e.locale.trim().to_ascii_lowercase();
    if locale.len() < 2 || locale.len() > 8 || !locale.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(DomainError::invalid("locale", "must be a language code"));
    }
    if e.template.is_empty()
        || e.template.len() > 64
        || !e
            .template
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(DomainError::invalid(
            "template",
            "must be 1 to 64 of a-z, 0-9, _",
        ));
    }
    Ok((to, locale))
}

impl Store {
    /// Message `id`'s payload as stored: sealed, bound to the message (it may carry a
    /// confirmation link, a secret until used).
    pub(crate) fn seal_email_payload(
        &self,
        id: Uuid,
        payload: &serde_json::Value,
    ) -> Result<String, StoreError> {
        let row = id.to_string();
        self.seal_text(
            &Slot::new("email_outbox", "payload", &row),
            &payload.to_string(),
        )
    }

    /// Message `id`'s payload, opened.
    fn open_email_payload(&self, id: Uuid, stored: &str) -> Result<serde_json::Value, StoreError> {
        let row = id.to_string();
        let text = self.unseal_text(&Slot::new("email_outbox", "payload", &row), stored)?;
        serde_json::from_str(&text).map_err(|_| StoreError::Corrupt("email payload"))
    }

    /// Enqueues one message on its own (messages caused by a change are written by that change's
    /// own transaction instead, e.g. [`Store::request_subscription`]). Returns its id.
    pub async fn enqueue_email(&self, email: NewEmail) -> Result<Uuid, StoreError> {
        let (to, locale) = validate_email(&email)?;
        let now = self.now();
        let id = self.new_uuid(now)?;
        let payload = self.seal_email_payload(id, &email.payload)?;
        in_write_tx!(self, tx => {
            sqlx::query(INSERT_EMAIL)
                .bind(id).bind(email.contact_id.map(|c| c.0)).bind(to.as_str()).bind(&locale)
                .bind(&email.template).bind(&payload).bind(now.as_micros())
                .execute(&mut *tx).await?;
        });
        Ok(id)
    }

    /// Claims up to `batch` due messages for `lease`: until then no other worker, in this process
    /// or another, claims them; if this worker dies, they are claimed again when the lease ends.
    /// Oldest first.
    pub async fn claim_emails(
        &self,
        batch: i64,
        lease: Duration,
    ) -> Result<Vec<OutgoingEmail>, StoreError> {
        let now = self.now();
        let lease_until = lease_until(now, lease);
        let now = now.as_micros();
        // Read first: most polls find nothing due, and should not take the write lock.
        let due: Option<Uuid> = on_read_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id {DUE} LIMIT 1")))
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        if due.is_none() {
            return Ok(Vec::new());
        }
        let sql = claim_sql(self.backend());
        let mut claimed: Vec<(i64, OutgoingEmail)> = in_write_tx!(self, tx => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now).bind(lease_until).bind(batch.clamp(1, 1000))
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| { let id = row.uuid("id")?; Ok((row.int("created_at")?, OutgoingEmail {
                    id,
                    to: row.text("to_address")?,
                    locale: row.text("locale")?,
                    template: row.text("template")?,
                    payload: self.open_email_payload(id, &row.text("payload")?)?,
                    attempts: row.int("attempts")?,
                })) })
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        // RETURNING gives no order; oldest first.
        claimed.sort_by_key(|(created, e)| (*created, e.id));
        Ok(claimed.into_iter().map(|(_, e)| e).collect())
    }

    /// Records that the SMTP server accepted a message, and empties its payload (the link it
    /// carried has done its job and is a secret).
    pub async fn mark_email_sent(&self, id: Uuid) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query("UPDATE email_outbox SET sent_at = $2, lease_until = NULL, last_error = NULL, payload = '{}' WHERE id = $1 AND sent_at IS NULL")
                .bind(id).bind(now)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Records a failed attempt with a short error code (`smtp_451`, `connect`; never the
    /// server's text, which may quote the address), and when to try again, or that the message
    /// is dead (its payload then emptied).
    pub async fn mark_email_failed(
        &self,
        id: Uuid,
        error_code: &str,
        next: NextAttempt,
    ) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        let code: String = error_code.chars().take(64).collect();
        in_write_tx!(self, tx => {
            match next {
                NextAttempt::At(at) => sqlx::query("UPDATE email_outbox SET last_error = $2, next_attempt_at = $3, lease_until = NULL WHERE id = $1 AND sent_at IS NULL")
                    .bind(id).bind(&code).bind(at.as_micros()),
                NextAttempt::Dead => sqlx::query("UPDATE email_outbox SET last_error = $2, dead_at = $3, lease_until = NULL, payload = '{}' WHERE id = $1 AND sent_at IS NULL")
                    .bind(id).bind(&code).bind(now),
            }
            .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The most recent messages, newest first, for inspection (no address, no payload).
    pub async fn email_messages(&self, limit: i64) -> Result<Vec<EmailMessage>, StoreError> {
        let limit = limit.clamp(1, 1000);
        let ts = |v: Option<i64>| v.map(Timestamp::from_micros);
        on_read_pool!(self, pool => {
            sqlx::query("SELECT id, contact_id, locale, template, created_at, attempts, next_attempt_at, last_error, sent_at, dead_at FROM email_outbox ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok(EmailMessage {
                    id: row.uuid("id")?,
                    contact_id: row.opt_uuid("contact_id")?.map(ContactId),
                    locale: row.text("locale")?,
                    template: row.text("template")?,
                    created_at: Timestamp::from_micros(row.int("created_at")?),
                    attempts: row.int("attempts")?,
                    next_attempt_at: Timestamp::from_micros(row.int("next_attempt_at")?),
                    last_error: row.opt_text("last_error")?,
                    sent_at: ts(row.opt_int("sent_at")?),
                    dead_at: ts(row.opt_int("dead_at")?),
                }))
                .collect()
        })
    }

    /// How many messages are pending, sent and dead.
    pub async fn email_outbox_stats(&self) -> Result<EmailOutboxStats, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query("SELECT (SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NULL AND dead_at IS NULL) AS pending, (SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NOT NULL) AS sent, (SELECT COUNT(*) FROM email_outbox WHERE dead_at IS NOT NULL) AS dead")
                .fetch_one(pool)
                .await?;
            Ok(EmailOutboxStats { pending: row.int("pending")?, sent: row.int("sent")?, dead: row.int("dead")? })
        })
    }

    /// Removes the sent and dead messages enqueued before `before` (storage limitation, GDPR
    /// Art. 5(1)(e): an address is not kept once its message is out); pending ones stay.
    /// Returns how many went.
    pub async fn purge_email_outbox(&self, before: Timestamp) -> Result<u64, StoreError> {
        Ok(in_write_tx!(self, tx => {
            sqlx::query("DELETE FROM email_outbox WHERE created_at < $1 AND (sent_at IS NOT NULL OR dead_at IS NOT NULL)")
                .bind(before.as_micros())
                .execute(&mut *tx).await?
                .rows_affected()
        }))
    }
}
