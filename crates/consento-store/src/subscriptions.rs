//! Double opt-in requests: a person asks (on the public form, or through a CRM calling the API)
//! to receive some topics; the contact is found or created by the address, the request recorded
//! with its evidence, and the confirmation email enqueued, all in one transaction. The consent
//! itself is given only when the person follows the link and confirms (GDPR Art. 7(1): the
//! controller must be able to show the person consented; the mailed link proves the address is
//! theirs). Only the SHA-256 of the link's token is kept, so the table reveals no working link.
//!
//! A repeat request does not spam the person: at most one confirmation per address within
//! [`RequestLimits::resend_after`] and [`RequestLimits::per_day`] in a day. An address on the
//! suppression list, or of an erased or restricted contact (Art. 17, Art. 18), is neither mailed
//! nor subscribed. The caller answers the same whatever happened, revealing nothing about
//! whether the address is known.

use std::time::Duration;

use consento_domain::{ConsentCode, ContactId, DomainError, Email, LegalBasis, Phone, Timestamp};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::contacts::{INSERT_CONTACT, bind_contact, insert_channels};
use crate::mail::{INSERT_EMAIL, NewEmail, validate_email};
use crate::row::Cols;
use crate::{Backend, ContactInput, Store, StoreError, in_write_tx, on_read_pool};

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSource {
    /// The public subscription form.
    Form,
    /// A CRM through `POST /v1/subscriptions`.
    Api,
}

impl RequestSource {
    /// The code stored and shown in the evidence.
    pub fn code(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Api => "api",
        }
    }

    fn parse(code: &str) -> Result<Self, StoreError> {
        match code {
            "form" => Ok(Self::Form),
            "api" => Ok(Self::Api),
            _ => Err(StoreError::Corrupt("subscription request source")),
        }
    }
}

/// How often one address may be sent a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// No second confirmation within this long of the last one.
    pub resend_after: Duration,
    /// At most this many confirmations in any 24 hours.
    pub per_day: u32,
}

/// A subscription request as the form or the API received it.
#[derive(Clone)]
pub struct SubscriptionRequestInput {
    /// The address to confirm.
    pub email: String,
    /// A name, used only if the contact is new.
    pub name: Option<String>,
    /// The consent types asked for: codes of types the preference center shows.
    pub type_codes: Vec<String>,
    /// The language of the email and the pages (`it`, `en`).
    pub locale: String,
    /// The form or the API.
    pub source: RequestSource,
    /// Who sent it: the API token's id; none for the form (the person).
    pub requested_by: Option<String>,
    /// The requester's user agent, as evidence (cut to 512 characters).
    pub user_agent: Option<String>,
    /// The requester's IP address, truncated (IPv4 /24, IPv6 /48): never the full address.
    pub ip_prefix: Option<String>,
    /// SHA-256 of the link's token (the token itself is only in the email).
    pub token_sha256: [u8; 32],
    /// Until when the link works.
    pub expires_at: Timestamp,
    /// The confirmation email's template name.
    pub template: String,
    /// What the template fills in (the link, the topics…).
    pub payload: serde_json::Value,
    /// The per-address limits.
    pub limits: RequestLimits,
}

/// Hides the address, the payload and the token's hash.
impl std::fmt::Debug for SubscriptionRequestInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionRequestInput")
            .field("type_codes", &self.type_codes)
            .field("locale", &self.locale)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What became of a request. The person is answered the same in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionOutcome {
    /// Recorded, and the confirmation email enqueued.
    Requested {
        /// The request.
        request_id: Uuid,
        /// The contact, found or created.
        contact_id: ContactId,
        /// The confirmation email in the outbox.
        email_id: Uuid,
    },
    /// The address was sent a confirmation too recently, or too often today: nothing done.
    Throttled,
    /// The address is suppressed, or its contact erased or restricted: nothing done.
    Suppressed,
}

/// A recorded request.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionRequest {
    /// Its id.
    pub id: Uuid,
    /// The contact.
    pub contact_id: ContactId,
    /// The address the link was mailed to.
    pub email: String,
    /// The consent types asked for.
    pub type_codes: Vec<String>,
    /// The language.
    pub locale: String,
    /// The form or the API.
    pub source: RequestSource,
    /// The API token that sent it.
    pub requested_by: Option<String>,
    /// The requester's user agent.
    pub user_agent: Option<String>,
    /// The requester's truncated IP address.
    pub ip_prefix: Option<String>,
    /// When it was made.
    pub requested_at: Timestamp,
    /// Until when the link works.
    pub expires_at: Timestamp,
    /// When the person confirmed.
    pub confirmed_at: Option<Timestamp>,
}

/// Hides the address.
impl std::fmt::Debug for SubscriptionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionRequest")
            .field("id", &self.id)
            .field("contact_id", &self.contact_id)
            .field("type_codes", &self.type_codes)
            .field("source", &self.source)
            .field("requested_at", &self.requested_at)
            .field("expires_at", &self.expires_at)
            .field("confirmed_at", &self.confirmed_at)
            .finish_non_exhaustive()
    }
}

/// What a confirmation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Confirmed now, by this call alone: the caller records the consents.
    Claimed(SubscriptionRequest),
    /// Confirmed now, but the address has since been suppressed (or its contact erased or
    /// restricted): nothing is to be recorded.
    Suppressed(SubscriptionRequest),
    /// Confirmed before: nothing more to record.
    AlreadyConfirmed(SubscriptionRequest),
    /// The link ran out before it was confirmed.
    Expired(SubscriptionRequest),
    /// No request has this token.
    Unknown,
}

const REQUEST_COLUMNS: &str = "id, contact_id, email, type_codes, locale, source, requested_by, user_agent, ip_prefix, requested_at, expires_at, confirmed_at";

fn request_from(row: &impl Cols) -> Result<SubscriptionRequest, StoreError> {
    Ok(SubscriptionRequest {
        id: row.uuid("id")?,
        contact_id: ContactId(row.uuid("contact_id")?),
        email: row.text("email")?,
        type_codes: serde_json::from_str(&row.text("type_codes")?)
            .map_err(|_| StoreError::Corrupt("subscription request types"))?,
        locale: row.text("locale")?,
        source: RequestSource::parse(&row.text("source")?)?,
        requested_by: row.opt_text("requested_by")?,
        user_agent: row.opt_text("user_agent")?,
        ip_prefix: row.opt_text("ip_prefix")?,
        requested_at: Timestamp::from_micros(row.int("requested_at")?),
        expires_at: Timestamp::from_micros(row.int("expires_at")?),
        confirmed_at: row.opt_int("confirmed_at")?.map(Timestamp::from_micros),
    })
}

/// The SHA-256 of a link's token: what the table keeps and looks up.
pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The contact of an address, locked until commit on PostgreSQL so that two requests for one
/// address count each other (SQLite's write lock already serialises them).
fn contact_of_address(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "SELECT c.id, c.erased_at, c.restricted_at FROM contacts c JOIN contact_emails e ON e.contact_id = c.id WHERE e.email = $1"
        }
        Backend::Postgres => {
            "SELECT c.id, c.erased_at, c.restricted_at FROM contacts c JOIN contact_emails e ON e.contact_id = c.id WHERE e.email = $1 FOR UPDATE OF c"
        }
    }
}

/// Text cut to `max` characters, blank as none, its control characters dropped: these are what
/// the request's client sent about itself (a user agent, an address), kept as evidence, not a
/// value someone typed and could correct ([`consento_domain::text`]).
fn cut(value: Option<String>, max: usize) -> Option<String> {
    value
        .map(|v| {
            v.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(max)
                .collect::<String>()
        })
        .filter(|v| !v.is_empty())
}

impl Store {
    /// Records a double opt-in request and enqueues its confirmation email, in one transaction
    /// with the contact it finds or creates by the address; or does nothing, when the address is
    /// suppressed or was sent a confirmation too recently (see [`RequestLimits`]). The types must
    /// be ones the preference center shows (a refusal names `types`).
    pub async fn request_subscription(
        &self,
        input: SubscriptionRequestInput,
    ) -> Result<SubscriptionOutcome, StoreError> {
        let email = Email::parse(&input.email)?;
        let mut codes: Vec<String> = Vec::new();
        for code in &input.type_codes {
            let code = ConsentCode::parse(code)
                .map_err(|_| DomainError::invalid("types", format!("`{code}` is not a topic")))?;
            if !codes.iter().any(|c| c == code.as_str()) {
                codes.push(code.as_str().to_owned());
            }
        }
        if codes.is_empty() {
            return Err(DomainError::invalid("types", "choose at least one topic").into());
        }
        let (_, locale) = validate_email(&NewEmail {
            contact_id: None,
            to: email.as_str().to_owned(),
            locale: input.locale.clone(),
            template: input.template.clone(),
            payload: serde_json::Value::Null,
        })?;
        let contact = self.validate_contact(ContactInput {
            name: input.name.clone(),
            emails: vec![email.as_str().to_owned()],
            source: Some(format!("subscription ({})", input.source.code())),
            ..ContactInput::default()
        })?;
        let hashes = self.primary_hashes(&contact)?;
        let email_hash = hashes.0.clone().unwrap_or_default();
        let now = self.now();
        let request_id = self.new_uuid(now)?;
        let email_id = self.new_uuid(now)?;
        let new_contact = ContactId(self.new_uuid(now)?);
        let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        let recent_since = now
            .as_micros()
            .saturating_sub(micros(input.limits.resend_after));
        let day_since = now
            .as_micros()
            .saturating_sub(consento_domain::time::MICROS_PER_DAY);
        let types_json = serde_json::to_string(&codes)
            .map_err(|_| DomainError::invalid("types", "cannot be stored"))?;
        let payload = self.seal_email_payload(email_id, &input.payload)?;
        let user_agent = cut(input.user_agent, 512);
        let ip_prefix = cut(input.ip_prefix, 64);
        let requested_by = cut(input.requested_by, 128);
        let contact_sql = contact_of_address(self.backend());
        in_write_tx!(self, tx => {
            let topics: Vec<String> = sqlx::query_scalar("SELECT code FROM consent_types WHERE show_in_preference_center")
                .fetch_all(&mut *tx).await?;
            if let Some(bad) = codes.iter().find(|c| !topics.contains(c)) {
                return Err(DomainError::invalid("types", format!("`{bad}` is not a topic one can subscribe to")).into());
            }
            let suppressed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppression WHERE hash = $1")
                .bind(&email_hash)
                .fetch_one(&mut *tx).await?;
            if suppressed > 0 {
                return Ok(SubscriptionOutcome::Suppressed);
            }
            let found = sqlx::query(contact_sql).bind(email.as_str()).fetch_optional(&mut *tx).await?;
            let contact_id = match found {
                Some(row) => {
                    // Erased (Art. 17) or restricted (Art. 18): no processing, no email.
                    if row.opt_int("erased_at")?.is_some() || row.opt_int("restricted_at")?.is_some() {
                        return Ok(SubscriptionOutcome::Suppressed);
                    }
                    let counts = sqlx::query("SELECT (SELECT COUNT(*) FROM subscription_requests WHERE email = $1 AND requested_at > $2) AS recent, (SELECT COUNT(*) FROM subscription_requests WHERE email = $1 AND requested_at > $3) AS today")
                        .bind(email.as_str()).bind(recent_since).bind(day_since)
                        .fetch_one(&mut *tx).await?;
                    if counts.int("recent")? > 0 || counts.int("today")? >= i64::from(input.limits.per_day) {
                        return Ok(SubscriptionOutcome::Throttled);
                    }
                    ContactId(row.uuid("id")?)
                }
                None => {
                    let id = new_contact;
                    let v = &contact;
                    let inserted = bind_contact!(INSERT_CONTACT, id, v, hashes, now).execute(&mut *tx).await;
                    match inserted.map_err(StoreError::from) {
                        Ok(_) => {}
                        // The same address, created by a request committed meanwhile: that one
                        // sends the confirmation.
                        Err(StoreError::Conflict { .. }) => return Ok(SubscriptionOutcome::Throttled),
                        Err(e) => return Err(e),
                    }
                    let channels: Result<(), sqlx::Error> = async {
                        insert_channels!(tx, id, v);
                        Ok(())
                    }.await;
                    match channels.map_err(StoreError::from) {
                        Ok(()) => {}
                        Err(StoreError::Conflict { .. }) => return Ok(SubscriptionOutcome::Throttled),
                        Err(e) => return Err(e),
                    }
                    id
                }
            };
            sqlx::query("INSERT INTO subscription_requests (id, token_sha256, contact_id, email, type_codes, locale, source, requested_by, user_agent, ip_prefix, requested_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                .bind(request_id).bind(input.token_sha256.to_vec()).bind(contact_id.0).bind(email.as_str())
                .bind(&types_json).bind(&locale).bind(input.source.code()).bind(&requested_by)
                .bind(&user_agent).bind(&ip_prefix).bind(now.as_micros()).bind(input.expires_at.as_micros())
                .execute(&mut *tx).await?;
            sqlx::query(INSERT_EMAIL)
                .bind(email_id).bind(contact_id.0).bind(email.as_str()).bind(&locale)
                .bind(&input.template).bind(&payload).bind(now.as_micros())
                .execute(&mut *tx).await?;
            Ok(SubscriptionOutcome::Requested { request_id, contact_id, email_id })
        })
    }

    /// The request whose link carries the token with this SHA-256, if any.
    pub async fn subscription_request(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Option<SubscriptionRequest>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {REQUEST_COLUMNS} FROM subscription_requests WHERE token_sha256 = $1")))
                .bind(token_sha256.to_vec())
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(request_from)
                .transpose()
        })
    }

    /// Confirms the request of a token: marks it confirmed if it is neither confirmed nor
    /// expired, and says what the caller is to do. Exactly one of several concurrent calls gets
    /// [`Confirmation::Claimed`]: confirming twice records nothing new.
    pub async fn confirm_subscription(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Confirmation, StoreError> {
        let now = self.now();
        Ok(in_write_tx!(self, tx => {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {REQUEST_COLUMNS} FROM subscription_requests WHERE token_sha256 = $1")))
                .bind(token_sha256.to_vec())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Ok(Confirmation::Unknown);
            };
            let mut request = request_from(&row)?;
            if request.confirmed_at.is_some() {
                return Ok(Confirmation::AlreadyConfirmed(request));
            }
            if request.expires_at <= now {
                return Ok(Confirmation::Expired(request));
            }
            // The guard makes a concurrent confirmation (PostgreSQL: waiting on this row) find
            // nothing to update.
            let updated = sqlx::query("UPDATE subscription_requests SET confirmed_at = $2 WHERE id = $1 AND confirmed_at IS NULL")
                .bind(request.id).bind(now.as_micros())
                .execute(&mut *tx).await?
                .rows_affected();
            if updated == 0 {
                return Ok(Confirmation::AlreadyConfirmed(request));
            }
            request.confirmed_at = Some(now);
            let hash = self.channel_hash("email", &request.email)?;
            let suppressed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppression WHERE hash = $1")
                .bind(hash)
                .fetch_one(&mut *tx).await?;
            let closed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE id = $1 AND (erased_at IS NOT NULL OR restricted_at IS NOT NULL)")
                .bind(request.contact_id.0)
                .fetch_one(&mut *tx).await?;
            if suppressed > 0 || closed > 0 {
                Confirmation::Suppressed(request)
            } else {
                Confirmation::Claimed(request)
            }
        }))
    }

    /// Undoes a claim whose consents could not be recorded, so that the person can confirm again.
    pub async fn release_subscription_confirmation(&self, id: Uuid) -> Result<(), StoreError> {
        in_write_tx!(self, tx => {
            sqlx::query("UPDATE subscription_requests SET confirmed_at = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Removes the requests whose links ran out before `before` (storage limitation, GDPR
    /// Art. 5(1)(e)): a confirmed one's evidence lives on in its consents' evidence, an
    /// unconfirmed one is of no more use. Returns how many went.
    pub async fn purge_subscription_requests(&self, before: Timestamp) -> Result<u64, StoreError> {
        Ok(in_write_tx!(self, tx => {
            sqlx::query("DELETE FROM subscription_requests WHERE expires_at < $1")
                .bind(before.as_micros())
                .execute(&mut *tx).await?
                .rows_affected()
        }))
    }
}
