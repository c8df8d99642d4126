//! Retention (GDPR Art. 5(1)(e), storage limitation): the contacts whose every basis has lapsed
//! for longer than the retention of their purposes, listed, and on confirmation anonymised in
//! batches through the same erasure as a person's request (reason `retention`), each batch one
//! transaction. The periods are the domain's [`RetentionPolicy`].

use consento_domain::erasure::{ErasureReason, RetentionPolicy};
use consento_domain::{Actor, ContactId, Timestamp};
use serde::Serialize;

use crate::row::Cols;
use crate::{AuditActor, ErasureInput, ErasureReport, Store, StoreError, on_read_pool};

/// A contact past its retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionCandidate {
    /// The contact.
    pub contact_id: ContactId,
    /// Its purposes (the longest retention among them applies).
    pub purposes: Vec<String>,
    /// When its last consent ended (withdrawn, refused or expired).
    pub last_ended: Timestamp,
    /// The retention applied, in months.
    pub months: u8,
}

/// Contacts with no consent valid at $1, no open request, not erased, not restricted (Art.
/// 18(1)(c): a restriction keeps data the person needs for a legal claim), whose latest end of a
/// consent is at or before $2 (a first cut by the shortest period; each contact's own period is
/// applied after), in id order after $3.
const CANDIDATES: &str = "SELECT c.id, c.purposes, MAX(CASE WHEN s.granted THEN s.valid_until ELSE s.event_time END) AS ended \
    FROM contacts c JOIN consent_state s ON s.contact_id = c.id \
    WHERE c.erased_at IS NULL AND c.restricted_at IS NULL AND c.id > $3 \
    AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.contact_id = c.id AND r.status IN ('received', 'identity_verification', 'in_progress')) \
    GROUP BY c.id, c.purposes \
    HAVING MAX(CASE WHEN s.granted AND s.valid_until > $1 THEN 1 ELSE 0 END) = 0 \
    AND MAX(CASE WHEN s.granted THEN s.valid_until ELSE s.event_time END) <= $2 \
    ORDER BY c.id LIMIT $4";

/// What an anonymisation run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionRun {
    /// The erasures, one per contact anonymised.
    pub anonymized: Vec<ErasureReport>,
    /// Transactions committed.
    pub batches: u32,
}

impl Store {
    /// Up to `limit` contacts past their retention at `now`, in id order after `after`.
    pub async fn retention_candidates(
        &self,
        policy: &RetentionPolicy,
        after: Option<ContactId>,
        limit: usize,
    ) -> Result<Vec<RetentionCandidate>, StoreError> {
        let mut found = Vec::new();
        self.visit_candidates(policy, after, |c| {
            found.push(c);
            found.len() < limit
        })
        .await?;
        Ok(found)
    }

    /// How many contacts are past their retention at `now`, and the first `shown` of them in id
    /// order: the count walks every contact, but only the shown ones are kept in memory.
    pub async fn retention_overview(
        &self,
        policy: &RetentionPolicy,
        shown: usize,
    ) -> Result<(Vec<RetentionCandidate>, u64), StoreError> {
        let (mut first, mut total) = (Vec::new(), 0u64);
        self.visit_candidates(policy, None, |c| {
            total += 1;
            if first.len() < shown {
                first.push(c);
            }
            true
        })
        .await?;
        Ok((first, total))
    }

    /// Hands each contact past its retention at `now`, in id order after `after`, to `visit`,
    /// a page of 1,000 read at a time, until `visit` answers false or none is left.
    async fn visit_candidates(
        &self,
        policy: &RetentionPolicy,
        after: Option<ContactId>,
        mut visit: impl FnMut(RetentionCandidate) -> bool,
    ) -> Result<(), StoreError> {
        let now = self.now();
        // 28 days a month: the SQL cut keeps every contact the calendar rule could select.
        let cut = now
            .as_micros()
            .saturating_sub(i64::from(policy.shortest_months()) * 28 * 86_400_000_000);
        let mut after = after.map_or(uuid::Uuid::nil(), |a| a.0);
        let page: i64 = 1000;
        loop {
            let rows = on_read_pool!(self, pool => {
                sqlx::query(CANDIDATES)
                    .bind(now.as_micros()).bind(cut).bind(after).bind(page)
                    .fetch_all(pool).await?
                    .iter()
                    .map(|row| Ok((row.uuid("id")?, row.text("purposes")?, row.int("ended")?)))
                    .collect::<Result<Vec<_>, StoreError>>()?
            });
            let last_page = rows.len() < page as usize;
            for (id, purposes, ended) in rows {
                after = id;
                let purposes: Vec<String> = serde_json::from_str(&purposes)
                    .map_err(|_| StoreError::Corrupt("contact purposes"))?;
                let ended = Timestamp::from_micros(ended);
                if policy.lapsed(&purposes, ended, now) {
                    let going_on = visit(RetentionCandidate {
                        contact_id: ContactId(id),
                        months: policy.months(&purposes),
                        purposes,
                        last_ended: ended,
                    });
                    if !going_on {
                        return Ok(());
                    }
                }
            }
            if last_page {
                return Ok(());
            }
        }
    }

    /// Anonymises every contact past its retention, `batch` at a time, each batch one
    /// transaction (a contact that gained a consent or a request meanwhile is skipped), each
    /// erasure audited as `contact.erase` with reason `retention`.
    pub async fn anonymize_lapsed(
        &self,
        policy: &RetentionPolicy,
        batch: usize,
        actor: Actor,
        by: AuditActor,
    ) -> Result<RetentionRun, StoreError> {
        let input = ErasureInput {
            reason: ErasureReason::Retention,
            actor,
            by,
            request_id: None,
        };
        let mut run = RetentionRun {
            anonymized: Vec::new(),
            batches: 0,
        };
        let mut after = None;
        loop {
            let candidates = self
                .retention_candidates(policy, after, batch.max(1))
                .await?;
            let Some(last) = candidates.last() else {
                return Ok(run);
            };
            after = Some(last.contact_id);
            let ids: Vec<ContactId> = candidates.iter().map(|c| c.contact_id).collect();
            run.anonymized
                .extend(self.erase_lapsed_batch(&ids, &input).await?);
            run.batches += 1;
            self.bound_wal().await;
        }
    }
}
