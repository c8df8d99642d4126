//! The newsletter audience: every contact `email.bulk` may reach at an instant (the rules 1–7 of
//! `consento_domain::decide` applied to the whole list at once), computed in SQL from the consent
//! projection's covering index and streamed, plus the count of those left out per cause.

use consento_domain::{ContactId, DomainError, Timestamp};
use futures_util::stream::{BoxStream, StreamExt};

use crate::row::Cols;
use crate::{AudienceCounts, AudienceMember, AudienceQuery, Store, StoreError, on_read_pool};

/// Recipients when the newsletter check is on: driven by the index range scan of valid
/// permitting consents, then the contact's own flags, address and suppression.
const ELIGIBLE: &str = "SELECT c.id, c.external_id, c.email, c.name FROM contacts c WHERE c.id IN (SELECT s.contact_id FROM consent_state s WHERE s.consent_type_id IN (SELECT t.id FROM consent_types t WHERE t.allow_email_bulk AND ($1 IS NULL OR t.code = $1)) AND s.granted AND s.valid_until > $2) AND c.erased_at IS NULL AND c.restricted_at IS NULL AND c.objected_at IS NULL AND c.email_off_at IS NULL AND c.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM suppression x WHERE x.hash = c.email_hash)";

/// Recipients when the newsletter check is off (rule 5): everyone not blocked by rules 1–4.
const ELIGIBLE_UNCHECKED: &str = "SELECT c.id, c.external_id, c.email, c.name FROM contacts c WHERE c.erased_at IS NULL AND c.restricted_at IS NULL AND c.objected_at IS NULL AND c.email_off_at IS NULL AND c.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM suppression x WHERE x.hash = c.email_hash)";

/// Every contact classified by the first rule that applies, in the order of `decide` (the cause of
/// rule 7: withdrawn, else expired, else refused, else no consent); `no_email` for a contact the
/// rules allow but that has no address to send to.
const COUNTS: &str = "WITH permitting AS (SELECT id FROM consent_types WHERE allow_email_bulk AND ($1 IS NULL OR code = $1)) \
SELECT cause, COUNT(*) AS n FROM (SELECT CASE \
WHEN c.erased_at IS NOT NULL THEN 'erased' \
WHEN c.restricted_at IS NOT NULL THEN 'restricted' \
WHEN c.objected_at IS NOT NULL THEN 'objected' \
WHEN c.email_off_at IS NOT NULL THEN 'channel_off' \
WHEN c.email_hash IS NOT NULL AND EXISTS (SELECT 1 FROM suppression x WHERE x.hash = c.email_hash) THEN 'suppressed' \
WHEN $3 OR EXISTS (SELECT 1 FROM consent_state s WHERE s.contact_id = c.id AND s.consent_type_id IN (SELECT id FROM permitting) AND s.granted AND s.valid_until > $2) \
  THEN CASE WHEN c.email IS NULL THEN 'no_email' ELSE 'eligible' END \
WHEN EXISTS (SELECT 1 FROM consent_state s WHERE s.contact_id = c.id AND s.consent_type_id IN (SELECT id FROM permitting) AND s.kind IN ('withdrawn', 'revoked')) THEN 'withdrawn' \
WHEN EXISTS (SELECT 1 FROM consent_state s WHERE s.contact_id = c.id AND s.consent_type_id IN (SELECT id FROM permitting) AND s.granted) THEN 'expired' \
WHEN EXISTS (SELECT 1 FROM consent_state s WHERE s.contact_id = c.id AND s.consent_type_id IN (SELECT id FROM permitting) AND s.kind = 'refused') THEN 'refused' \
ELSE 'no_consent' END AS cause FROM contacts c) k GROUP BY cause";

/// How far before now an audience may still be asked for: five minutes.
const AT_TOLERANCE_MICROS: i64 = 300_000_000;

impl Store {
    /// Checks the query and resolves the instant and whether the newsletter check is on.
    async fn audience_plan(
        &self,
        q: &AudienceQuery,
    ) -> Result<(Option<String>, Timestamp, bool), StoreError> {
        let now = self.now();
        let at = q.at.unwrap_or(now);
        // The projection holds the consents as they are now; an instant a little earlier (the
        // same send asked for its list and then its counts) reads the same.
        if at.as_micros() < now.as_micros() - AT_TOLERANCE_MICROS {
            return Err(DomainError::invalid(
                "at",
                "an audience is computed for now or a future send date, not for the past",
            )
            .into());
        }
        let code = q
            .type_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if let Some(code) = &code {
            let t = self.consent_type(code).await?;
            if !t.spec.permissions.email_bulk {
                return Err(DomainError::invalid(
                    "type_code",
                    "this consent type does not permit bulk email",
                )
                .into());
            }
        }
        let checked = self.settings().await?.check_email_bulk;
        Ok((code, at, checked))
    }

    /// Streams the recipients of a newsletter, in no particular order. Memory stays flat however
    /// many there are.
    pub async fn audience(
        &self,
        q: &AudienceQuery,
    ) -> Result<BoxStream<'_, Result<AudienceMember, StoreError>>, StoreError> {
        let (code, at, checked) = self.audience_plan(q).await?;
        Ok(on_read_pool!(self, pool => {
            let query = if checked {
                sqlx::query(ELIGIBLE).bind(code).bind(at.as_micros())
            } else {
                sqlx::query(ELIGIBLE_UNCHECKED)
            };
            query
                .fetch(pool)
                .map(|row| {
                    let row = row?;
                    Ok(AudienceMember {
                        contact_id: ContactId(row.uuid("id")?),
                        external_id: row.opt_text("external_id")?,
                        email: row.text("email")?,
                        name: row.opt_text("name")?,
                    })
                })
                .boxed()
        }))
    }

    /// How many contacts the newsletter reaches, and how many are left out per cause.
    pub async fn audience_counts(&self, q: &AudienceQuery) -> Result<AudienceCounts, StoreError> {
        let (code, at, checked) = self.audience_plan(q).await?;
        let rows: Vec<(String, i64)> = on_read_pool!(self, pool => {
            sqlx::query(COUNTS)
                .bind(code)
                .bind(at.as_micros())
                .bind(!checked)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok((row.text("cause")?, row.int("n")?)))
                .collect::<Result<_, StoreError>>()?
        });
        let mut counts = AudienceCounts::default();
        for (cause, n) in rows {
            if cause == "eligible" {
                counts.eligible = n;
            } else {
                counts.excluded.insert(cause, n);
            }
        }
        Ok(counts)
    }
}
