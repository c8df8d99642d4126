//! Privacy settings, contact reasons and privacy-notice versions: the configuration an
//! administrator sets up once (the seed's "Impostazioni della privacy", "Motivazioni consensi
//! espliciti").

use consento_domain::settings::validate_label;
use consento_domain::text::{self, Lines};
use consento_domain::{ContactReason, DomainError, NoticeId, PrivacySettings, ReasonId, Timestamp};
use sha2::{Digest, Sha256};

use crate::row::{Cols, hex};
use crate::{Notice, NoticeInput, Store, StoreError, in_write_tx, on_read_pool};

fn reason_from(row: &impl Cols) -> Result<ContactReason, StoreError> {
    Ok(ContactReason {
        id: ReasonId(row.uuid("id")?),
        label: row.text("label")?,
        active: row.flag("active")?,
        marketing: row.flag("marketing")?,
    })
}

fn notice_from(row: &impl Cols) -> Result<Notice, StoreError> {
    Ok(Notice {
        id: NoticeId(row.uuid("id")?),
        version: row.text("version")?,
        language: row.text("language")?,
        url: row.opt_text("url")?,
        body: row.opt_text("body")?,
        content_sha256: hex(&row.bytes("content_sha256")?),
        published_at: Timestamp::from_micros(row.int("published_at")?),
    })
}

impl Store {
    /// The privacy settings.
    pub async fn settings(&self) -> Result<PrivacySettings, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT check_email_single, check_email_bulk, check_phone, check_sms FROM settings WHERE id = 1",
            )
            .fetch_one(pool)
            .await?;
            Ok(PrivacySettings {
                check_email_single: row.flag("check_email_single")?,
                check_email_bulk: row.flag("check_email_bulk")?,
                check_phone: row.flag("check_phone")?,
                check_sms: row.flag("check_sms")?,
            })
        })
    }

    /// Replaces the privacy settings.
    pub async fn update_settings(&self, s: PrivacySettings) -> Result<PrivacySettings, StoreError> {
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query(
                "UPDATE settings SET check_email_single = $1, check_email_bulk = $2, check_phone = $3, check_sms = $4, updated_at = $5 WHERE id = 1",
            )
            .bind(s.check_email_single)
            .bind(s.check_email_bulk)
            .bind(s.check_phone)
            .bind(s.check_sms)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(s)
    }

    /// Adds a contact reason (active).
    pub async fn create_reason(
        &self,
        label: &str,
        marketing: bool,
    ) -> Result<ContactReason, StoreError> {
        let label = validate_label(label)?;
        let now = self.now();
        let id = ReasonId(self.new_uuid(now)?);
        crate::audit::set_target_id("reason", id.0);
        in_write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO contact_reasons (id, label, active, marketing, created_at, updated_at) VALUES ($1, $2, TRUE, $3, $4, $4)",
            )
            .bind(id.0)
            .bind(&label)
            .bind(marketing)
            .bind(now.as_micros())
            .execute(&mut *tx)
            .await?;
        });
        Ok(ContactReason {
            id,
            label,
            active: true,
            marketing,
        })
    }

    /// Changes a reason. Reasons are deactivated rather than deleted: justified contacts keep
    /// pointing at the reason that was given.
    pub async fn update_reason(
        &self,
        id: ReasonId,
        label: Option<&str>,
        active: Option<bool>,
        marketing: Option<bool>,
    ) -> Result<ContactReason, StoreError> {
        let label = label.map(validate_label).transpose()?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            let row = sqlx::query(
                "UPDATE contact_reasons SET label = COALESCE($2, label), active = COALESCE($3, active), marketing = COALESCE($4, marketing), updated_at = $5 WHERE id = $1 RETURNING id, label, active, marketing",
            )
            .bind(id.0)
            .bind(label)
            .bind(active)
            .bind(marketing)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("reason"))?;
            reason_from(&row)
        })
    }

    /// Every reason, active first, then by label.
    pub async fn reasons(&self) -> Result<Vec<ContactReason>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT id, label, active, marketing FROM contact_reasons ORDER BY active DESC, label")
                .fetch_all(pool)
                .await?
                .iter()
                .map(reason_from)
                .collect()
        })
    }

    /// One reason.
    pub async fn reason(&self, id: ReasonId) -> Result<ContactReason, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query("SELECT id, label, active, marketing FROM contact_reasons WHERE id = $1")
                .bind(id.0)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::not_found("reason"))?;
            reason_from(&row)
        })
    }

    /// Publishes a privacy-notice version. Published versions never change (the database
    /// refuses it): a person's consent points at exactly what they were shown.
    pub async fn publish_notice(&self, input: NoticeInput) -> Result<Notice, StoreError> {
        let version = input.version.trim().to_owned();
        text::check("version", &version, Lines::One)?;
        if version.is_empty() || version.len() > 64 {
            return Err(DomainError::invalid("version", "must be 1 to 64 characters").into());
        }
        let language = input.language.trim().to_lowercase();
        if language.len() < 2
            || language.len() > 8
            || !language
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '-')
        {
            return Err(DomainError::invalid(
                "language",
                "must be a language code such as it or en",
            )
            .into());
        }
        let url = input
            .url
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        if let Some(u) = &url {
            text::check("url", u, Lines::One)?;
        }
        if url
            .as_ref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(DomainError::invalid("url", "must start with https:// or http://").into());
        }
        let body = input.body.filter(|b| !b.trim().is_empty());
        if let Some(b) = &body {
            text::check("body", b, Lines::Many)?;
        }
        if url.is_none() && body.is_none() {
            return Err(
                DomainError::invalid("body", "give the notice's text, its URL, or both").into(),
            );
        }
        let mut h = Sha256::new();
        for part in [url.as_deref().unwrap_or(""), body.as_deref().unwrap_or("")] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        let digest = h.finalize().to_vec();
        let now = self.now();
        let id = NoticeId(self.new_uuid(now)?);
        crate::audit::set_target_id("notice", id.0);
        in_write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO privacy_notices (id, version, language, url, body, content_sha256, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id.0)
            .bind(&version)
            .bind(&language)
            .bind(&url)
            .bind(&body)
            .bind(&digest)
            .bind(now.as_micros())
            .execute(&mut *tx)
            .await?;
        });
        Ok(Notice {
            id,
            version,
            language,
            url,
            body,
            content_sha256: hex(&digest),
            published_at: now,
        })
    }

    /// Every published notice, newest first.
    pub async fn notices(&self) -> Result<Vec<Notice>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT id, version, language, url, body, content_sha256, published_at FROM privacy_notices ORDER BY published_at DESC, version")
                .fetch_all(pool)
                .await?
                .iter()
                .map(notice_from)
                .collect()
        })
    }
}
