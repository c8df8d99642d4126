//! The dashboard's figures: consents per type and state, consents about to expire (and who holds
//! them), and justified contacts per operator and reason. Every figure is aggregated in SQL from
//! existing indexes, so it stays cheap with a million contacts: the consent counts are range
//! counts on the projection's covering index `(type, granted, valid_until, contact)`, one range
//! per type (withdrawn and refused on the partial index of consents not granted, migration
//! 0007), and the justified contacts of a period are a range of the interactions' time-ordered
//! ids.

use consento_domain::{ContactId, EventId, ReasonId, Timestamp};

use crate::row::Cols;
use crate::{Store, StoreError, on_read_pool};

/// How many contacts hold a consent of one type, per state (the state is the latest event's, as
/// the decision reads it: rule 6 of `consento_domain::decide`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsentStateCounts {
    /// The type's code.
    pub code: String,
    /// The type's title.
    pub title: String,
    /// Given or renewed, still valid, and usable: its contact is not erased, restricted or
    /// objecting.
    pub active: i64,
    /// Given or renewed and still valid, but its contact is erased, restricted or objecting, so
    /// no decision relies on it (the decision's rules 1–3).
    pub suspended: i64,
    /// Given or renewed, and past its validity.
    pub expired: i64,
    /// Withdrawn or revoked.
    pub withdrawn: i64,
    /// Refused.
    pub refused: i64,
}

/// How many consents of one type stop being valid within a window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpiringCount {
    /// The type's code.
    pub code: String,
    /// The type's title.
    pub title: String,
    /// Valid at the window's start, no longer valid at its end.
    pub count: i64,
}

/// Which consents about to expire to list: those of one type valid at `from` and no longer valid
/// at `until`, soonest first, a page at a time.
#[derive(Debug, Clone)]
pub struct ExpiringQuery {
    /// The consent type's code.
    pub type_code: String,
    /// The window's start (now).
    pub from: Timestamp,
    /// The window's end.
    pub until: Timestamp,
    /// Keyset paging: only consents after this (expiry, contact), the last of the previous page.
    pub after: Option<(Timestamp, ContactId)>,
    /// At most this many (1 to 500).
    pub limit: u32,
}

/// A consent about to expire, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpiringConsent {
    /// The contact.
    pub contact_id: ContactId,
    /// Its name.
    pub name: Option<String>,
    /// Its primary email address.
    pub email: Option<String>,
    /// The first instant the consent is no longer valid.
    pub expires_at: Timestamp,
}

/// How many justified contacts one operator recorded with one reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InteractionCount {
    /// The operator as recorded (a console account's id, or the name an integration gave).
    pub operator: String,
    /// The reason picked.
    pub reason_id: Option<ReasonId>,
    /// Its label.
    pub reason_label: Option<String>,
    /// How many.
    pub count: i64,
}

/// Per type, four range counts on the covering index; only the refusals are told apart from the
/// withdrawals by reading the rows themselves (the index does not hold the kind), and only within
/// the type's range of consents not in force.
const STATE_COUNTS: &str = "SELECT t.code, t.title, \
(SELECT COUNT(*) FROM consent_state s WHERE s.consent_type_id = t.id AND s.granted = TRUE AND s.valid_until > $1) AS active, \
(SELECT COUNT(*) FROM consent_state s WHERE s.consent_type_id = t.id AND s.granted = TRUE AND s.valid_until <= $1) AS expired, \
(SELECT COUNT(*) FROM consent_state s WHERE s.consent_type_id = t.id AND s.granted = FALSE) AS not_granted, \
(SELECT COUNT(*) FROM consent_state s WHERE s.consent_type_id = t.id AND s.granted = FALSE AND s.kind = 'refused') AS refused \
FROM consent_types t ORDER BY t.title, t.code";

/// Per type, the valid consents of contacts that are erased, restricted or objecting: the few
/// contacts of the partial index `contacts_suspended` (migration 0020), joined to their consents;
/// `expiring` counts those that also expire by `$2`.
const SUSPENDED_COUNTS: &str = "SELECT t.code, COUNT(*) AS n, \
COALESCE(SUM(CASE WHEN s.valid_until <= $2 THEN 1 ELSE 0 END), 0) AS expiring \
FROM contacts c JOIN consent_state s ON s.contact_id = c.id JOIN consent_types t ON t.id = s.consent_type_id \
WHERE (c.erased_at IS NOT NULL OR c.restricted_at IS NOT NULL OR c.objected_at IS NOT NULL) \
AND s.granted = TRUE AND s.valid_until > $1 GROUP BY t.code";

/// Per type, one range count on the covering index.
const EXPIRING_COUNTS: &str = "SELECT t.code, t.title, \
(SELECT COUNT(*) FROM consent_state s WHERE s.consent_type_id = t.id AND s.granted = TRUE AND s.valid_until > $1 AND s.valid_until <= $2) AS n \
FROM consent_types t ORDER BY t.title, t.code";

/// One range of the covering index in its own order (expiry, contact), from the keyset on.
const EXPIRING: &str = "SELECT s.contact_id, s.valid_until, c.name, c.email FROM consent_state s JOIN contacts c ON c.id = s.contact_id \
WHERE s.consent_type_id = $1 AND s.granted = TRUE AND s.valid_until > $2 AND s.valid_until <= $3 \
AND c.erased_at IS NULL AND c.restricted_at IS NULL AND c.objected_at IS NULL \
AND (s.valid_until > $4 OR (s.valid_until = $4 AND s.contact_id > $5)) \
ORDER BY s.valid_until, s.contact_id LIMIT $6";

/// An interaction's id is a UUIDv7 minted from the same instant as its `occurred_at` (see
/// `Store::justify`; an id is never minted before the instant it records), so the ids at or above
/// the smallest UUIDv7 of `since` are a superset of the period: a range of the primary key,
/// narrowed by `occurred_at` itself. The table has no index on `occurred_at`.
const INTERACTION_COUNTS: &str = "SELECT g.operator, g.reason_id, r.label, g.n FROM \
(SELECT operator, reason_id, COUNT(*) AS n FROM interactions WHERE id >= $1 AND occurred_at >= $2 GROUP BY operator, reason_id) g \
LEFT JOIN contact_reasons r ON r.id = g.reason_id ORDER BY g.operator, r.label";

impl Store {
    /// Every type's figures from the audience index (audience_index.rs), brought up to date
    /// first: one pass in memory instead of range counts over every consent. `None` when the
    /// types cannot be indexed.
    async fn overview(
        &self,
        at: Timestamp,
        until: Timestamp,
    ) -> Result<Option<Vec<crate::audience_index::TypeFigures>>, StoreError> {
        match self.audience_source() {
            Some(source) => {
                self.audience_index
                    .overview(source, at.as_micros(), until.as_micros())
                    .await
            }
            None => Ok(None),
        }
    }

    /// Every consent type with how many contacts hold a consent of it in each state at `at`, in
    /// the order of the types' titles. Types without any consent are listed with zeros.
    pub async fn consent_state_counts(
        &self,
        at: Timestamp,
    ) -> Result<Vec<ConsentStateCounts>, StoreError> {
        let Some(figures) = self.overview(at, at).await? else {
            return self.consent_state_counts_by_sql(at).await;
        };
        Ok(figures.into_iter().map(|f| f.counts).collect())
    }

    /// Every consent type with how many of its consents are valid at `from` and expire by
    /// `until` (a renewal meanwhile takes a consent out: the projection holds the latest event),
    /// in the order of the types' titles.
    pub async fn expiring_counts(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ExpiringCount>, StoreError> {
        let Some(figures) = self.overview(from, until).await? else {
            return self.expiring_counts_by_sql(from, until).await;
        };
        Ok(figures
            .iter()
            .map(crate::audience_index::TypeFigures::expiring_count)
            .collect())
    }

    /// The console's overview: [`Store::consent_state_counts`] at `at` and
    /// [`Store::expiring_counts`] from `at` to `until`, from one pass over the audience index.
    pub async fn consent_overview(
        &self,
        at: Timestamp,
        until: Timestamp,
    ) -> Result<(Vec<ConsentStateCounts>, Vec<ExpiringCount>), StoreError> {
        let Some(figures) = self.overview(at, until).await? else {
            return tokio::try_join!(
                self.consent_state_counts_by_sql(at),
                self.expiring_counts_by_sql(at, until)
            );
        };
        Ok(figures
            .into_iter()
            .map(|f| {
                let expiring = f.expiring_count();
                (f.counts, expiring)
            })
            .unzip())
    }

    /// [`Store::consent_state_counts`] computed in SQL from the tables: the reference the index
    /// is tested against, and the answer when the types cannot be indexed.
    pub async fn consent_state_counts_by_sql(
        &self,
        at: Timestamp,
    ) -> Result<Vec<ConsentStateCounts>, StoreError> {
        let suspended = self.suspended_counts(at, at).await?;
        on_read_pool!(self, pool => {
            sqlx::query(STATE_COUNTS)
                .bind(at.as_micros())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    let not_granted = row.int("not_granted")?;
                    let refused = row.int("refused")?;
                    let code = row.text("code")?;
                    let held = suspended.get(&code).map_or(0, |s| s.0);
                    Ok(ConsentStateCounts {
                        title: row.text("title")?,
                        active: row.int("active")? - held,
                        suspended: held,
                        code,
                        expired: row.int("expired")?,
                        withdrawn: not_granted - refused,
                        refused,
                    })
                })
                .collect()
        })
    }

    /// [`Store::expiring_counts`] computed in SQL from the tables: the reference the index is
    /// tested against, and the answer when the types cannot be indexed.
    pub async fn expiring_counts_by_sql(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ExpiringCount>, StoreError> {
        let suspended = self.suspended_counts(from, until).await?;
        on_read_pool!(self, pool => {
            sqlx::query(EXPIRING_COUNTS)
                .bind(from.as_micros())
                .bind(until.as_micros())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    let code = row.text("code")?;
                    let held = suspended.get(&code).map_or(0, |s| s.1);
                    Ok(ExpiringCount {
                        title: row.text("title")?,
                        count: row.int("n")? - held,
                        code,
                    })
                })
                .collect()
        })
    }

    /// Per type code, the consents valid at `from` whose contacts are erased, restricted or
    /// objecting, and how many of those expire by `until`: what the other figures leave out, as
    /// the decisions do.
    async fn suspended_counts(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<std::collections::HashMap<String, (i64, i64)>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query(SUSPENDED_COUNTS)
                .bind(from.as_micros())
                .bind(until.as_micros())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok((row.text("code")?, (row.int("n")?, row.int("expiring")?))))
                .collect()
        })
    }

    /// A page of the consents of one type that expire within the query's window, soonest first
    /// (then by contact), with the contact's name and address: whom to ask for a renewal.
    pub async fn expiring_consents(
        &self,
        q: &ExpiringQuery,
    ) -> Result<Vec<ExpiringConsent>, StoreError> {
        let t = self.consent_type(&q.type_code).await?;
        // The first page starts before every key of the window.
        let (after_at, after_id) = q
            .after
            .map_or((q.from.as_micros(), uuid::Uuid::nil()), |(at, id)| {
                (at.as_micros(), id.0)
            });
        let limit = i64::from(q.limit.clamp(1, 500));
        on_read_pool!(self, pool => {
            sqlx::query(EXPIRING)
                .bind(t.id.0)
                .bind(q.from.as_micros())
                .bind(q.until.as_micros())
                .bind(after_at)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok(ExpiringConsent {
                    contact_id: ContactId(row.uuid("contact_id")?),
                    name: row.opt_text("name")?,
                    email: row.opt_text("email")?,
                    expires_at: Timestamp::from_micros(row.int("valid_until")?),
                }))
                .collect()
        })
    }

    /// Justified contacts recorded at or after `since`, counted per operator and reason.
    pub async fn interaction_counts(
        &self,
        since: Timestamp,
    ) -> Result<Vec<InteractionCount>, StoreError> {
        let first_id = EventId::new_v7(since, [0; 10]).0;
        on_read_pool!(self, pool => {
            sqlx::query(INTERACTION_COUNTS)
                .bind(first_id)
                .bind(since.as_micros())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok(InteractionCount {
                    operator: row.text("operator")?,
                    reason_id: row.opt_uuid("reason_id")?.map(ReasonId),
                    reason_label: row.opt_text("label")?,
                    count: row.int("n")?,
                }))
                .collect()
        })
    }
}
