//! The newsletter audience: every contact `email.bulk` may reach at an instant (the rules 1–7 of
//! `consento_domain::decide` applied to the whole list at once), streamed, plus the count of
//! those left out per cause. Answered by the audience index in memory (audience_index.rs); the
//! same computed in SQL from the consent projection's covering index stays as the reference the
//! index is tested and measured against, and answers when the audience cannot be indexed.

use std::sync::Arc;

use consento_domain::{ContactId, DomainError, Timestamp};
use futures_util::stream::{BoxStream, StreamExt};

use crate::audience_index::{Ask, Source};
use crate::fastread::FastRead;
use crate::row::Cols;
use crate::{
    AudienceCounts, AudienceIndexSize, AudienceMember, AudienceQuery, Store, StoreError,
    on_read_pool,
};

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

    /// Where the audience index reads from.
    pub(crate) fn audience_source(&self) -> Option<Source<'_>> {
        match (&self.fast, &self.db) {
            (Some(fast), _) => Some(Source::Sqlite(fast)),
            (None, crate::Db::Postgres(pool)) => Some(Source::Postgres(pool)),
            _ => None,
        }
    }

    /// Streams the recipients of a newsletter, in ascending order of id: the ones the audience
    /// index (audience_index.rs) finds eligible, brought up to date first, with their address and
    /// name as they are now. Memory stays flat but for the recipients' ids (16 bytes each).
    pub async fn audience(
        &self,
        q: &AudienceQuery,
    ) -> Result<BoxStream<'_, Result<AudienceMember, StoreError>>, StoreError> {
        let (code, at, checked) = self.audience_plan(q).await?;
        let ask = Ask {
            at: at.as_micros(),
            checked,
        };
        let ids = match self.audience_source() {
            Some(source) => {
                self.audience_index
                    .eligible(source, code.as_deref(), ask)
                    .await?
            }
            None => None,
        };
        let Some(ids) = ids else {
            return self.audience_by_sql(q).await;
        };
        match (&self.fast, &self.db) {
            (Some(fast), _) => Ok(members_sqlite(Arc::clone(fast), ids)),
            (None, crate::Db::Postgres(pool)) => Ok(sqlx::query(MEMBERS_PG)
                .bind(ids)
                .fetch(pool)
                .map(|row| member(&row?))
                .boxed()),
            _ => self.audience_by_sql(q).await,
        }
    }

    /// How many contacts the newsletter reaches, and how many are left out per cause: counted by
    /// the audience index (audience_index.rs), brought up to date first.
    pub async fn audience_counts(&self, q: &AudienceQuery) -> Result<AudienceCounts, StoreError> {
        let (code, at, checked) = self.audience_plan(q).await?;
        let ask = Ask {
            at: at.as_micros(),
            checked,
        };
        if let Some(source) = self.audience_source()
            && let Some(counts) = self
                .audience_index
                .counts(source, code.as_deref(), ask)
                .await?
        {
            return Ok(counts);
        }
        self.audience_counts_by_sql(q).await
    }

    /// The size of the audience index, built or brought up to date first (`None` when the
    /// audience cannot be indexed); for benchmarks.
    pub async fn audience_index_size(&self) -> Result<Option<AudienceIndexSize>, StoreError> {
        match self.audience_source() {
            Some(source) => self.audience_index.size(source).await,
            None => Ok(None),
        }
    }

    /// Forgets the audience index: the next audience builds it again; for benchmarks.
    pub async fn forget_audience_index(&self) {
        self.audience_index.clear().await;
    }

    /// [`Store::audience`] computed in SQL, every time from the tables: the reference the index
    /// is checked and measured against.
    pub async fn audience_by_sql(
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
                .map(|row| member(&row?))
                .boxed()
        }))
    }

    /// [`Store::audience_counts`] computed in SQL (`COUNTS`): the reference the index is checked
    /// and measured against.
    pub async fn audience_counts_by_sql(
        &self,
        q: &AudienceQuery,
    ) -> Result<AudienceCounts, StoreError> {
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

fn member<R: Cols>(row: &R) -> Result<AudienceMember, StoreError> {
    Ok(AudienceMember {
        contact_id: ContactId(row.uuid("id")?),
        external_id: row.opt_text("external_id")?,
        email: row.text("email")?,
        name: row.opt_text("name")?,
    })
}

/// The recipients' columns, PostgreSQL: by the array of their ids. The flags are checked again, so
/// that a contact blocked since the index answered is left out.
const MEMBERS_PG: &str = "SELECT id, external_id, email, name FROM contacts WHERE id = ANY($1) AND email IS NOT NULL AND erased_at IS NULL AND restricted_at IS NULL AND objected_at IS NULL AND email_off_at IS NULL";

/// The recipients' columns, SQLite: one pass over the contacts in key order, merged with the
/// recipients' ids (in the same order); flags checked again as in [`MEMBERS_PG`].
const MEMBERS_SQLITE: &str = "SELECT id, external_id, email, name FROM contacts WHERE email IS NOT NULL AND erased_at IS NULL AND restricted_at IS NULL AND objected_at IS NULL AND email_off_at IS NULL ORDER BY id";

/// Recipients per message from the reading thread.
const CHUNK: usize = 1024;

/// Streams the members `ids` (ascending) from a thread that scans the contacts once, in chunks
/// through a bounded channel: a slow reader slows the scan instead of filling memory. The scan
/// ends at the last recipient, or when the reader goes away.
fn members_sqlite(
    fast: Arc<FastRead>,
    ids: Vec<uuid::Uuid>,
) -> BoxStream<'static, Result<AudienceMember, StoreError>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<AudienceMember>, StoreError>>(4);
    tokio::task::spawn_blocking(move || {
        if ids.is_empty() {
            return;
        }
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut next = 0usize;
        let stop = || rusqlite::Error::ToSqlConversionFailure("stop".into());
        let result = fast.rows(MEMBERS_SQLITE, [], |r| {
            let id = uuid::Uuid::from_slice(r.get_ref(0)?.as_blob()?)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            while ids.get(next).is_some_and(|n| *n < id) {
                next += 1;
            }
            if ids.get(next) == Some(&id) {
                chunk.push(AudienceMember {
                    contact_id: ContactId(id),
                    external_id: r.get(1)?,
                    email: r.get(2)?,
                    name: r.get(3)?,
                });
                next += 1;
                if chunk.len() >= CHUNK || next >= ids.len() {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    if tx.blocking_send(Ok(full)).is_err() {
                        return Err(stop());
                    }
                }
            }
            // Every recipient found: the rest of the table need not be read.
            if next >= ids.len() {
                return Err(stop());
            }
            Ok(())
        });
        let ended = match result {
            Ok(_) => Ok(chunk),
            Err(_) if next >= ids.len() || tx.is_closed() => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        match ended {
            Ok(rest) if rest.is_empty() => {}
            other => {
                let _ = tx.blocking_send(other);
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .flat_map(|chunk| {
        futures_util::stream::iter(match chunk {
            Ok(members) => members.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        })
    })
    .boxed()
}
