//! Erasure (GDPR Art. 17) and storage limitation (Art. 5(1)(e)): erasing one contact, listing
//! the contacts past the retention of their purposes, and anonymising them, with the periods of
//! the configured [`crate::Policy`] whichever adapter asks. The answer of an erasure names, with
//! stable codes, each category erased and each kept with its ground and end (Art. 17(3)).

use consento_domain::requests::format_date;
use consento_domain::{Actor, ContactId, Timestamp};
use consento_store::{AuditActor, ErasureInput, ErasureReport, RetentionCandidate, RetentionRun};
use serde::Serialize;

use crate::{App, AppError};

/// A category erased and how many rows or fields it held.
#[derive(Debug, Clone, Serialize)]
pub struct Erased {
    /// `identity`, `emails`, `phones`, `consent_evidence`, …
    pub category: String,
    /// Rows or fields emptied.
    pub count: u64,
}

/// A category kept, on what ground, until when.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    /// `consent_proof`, `suppression`, `request_records`, `interaction_records`, `audit_trail`.
    pub category: String,
    /// The ground, as a stable code (`art7_1_art17_3_e`, `art17_art21_3`, `art5_2`).
    pub ground: String,
    /// `YYYY-MM-DD`; none: as long as the erasure must be honoured.
    pub until: Option<String>,
}

/// What an erasure did and what it kept.
#[derive(Debug, Clone, Serialize)]
pub struct Erasure {
    /// The contact, left as a pseudonymous record.
    pub contact_id: uuid::Uuid,
    /// When.
    pub erased_at: Timestamp,
    /// `erasure` (the person's request) or `retention` (lapsed).
    pub reason: String,
    /// The erasure request completed with it.
    pub request_id: Option<uuid::Uuid>,
    /// Keyed hashes of addresses and numbers put on the suppression list.
    pub suppressed: u64,
    /// What was erased, per category.
    pub erased: Vec<Erased>,
    /// What was kept, why and until when.
    pub kept: Vec<Kept>,
}

/// What an anonymisation run did.
#[derive(Debug, Clone, Serialize)]
pub struct Anonymization {
    /// Contacts anonymised.
    pub anonymized: usize,
    /// Transactions committed.
    pub batches: u32,
    /// Each erasure, with what it erased and kept.
    pub erasures: Vec<Erasure>,
}

impl App {
    /// What an erasure at `at` keeps, on what ground and until when (GDPR Art. 17(3)).
    pub fn kept(&self, at: Timestamp) -> Vec<Kept> {
        self.policy
            .erasure
            .kept(at, &self.policy.zone)
            .into_iter()
            .map(|k| Kept {
                category: k.category.code().to_owned(),
                ground: k.ground.code().to_owned(),
                until: k.until.map(format_date),
            })
            .collect()
    }

    fn erasure(&self, report: &ErasureReport) -> Erasure {
        Erasure {
            contact_id: report.contact_id.0,
            erased_at: report.erased_at,
            reason: report.reason.code().to_owned(),
            request_id: report.request_id.map(|r| r.0),
            suppressed: report.suppressed,
            erased: report
                .erased
                .iter()
                .map(|(c, n)| Erased {
                    category: c.code().to_owned(),
                    count: *n,
                })
                .collect(),
            kept: self.kept(report.erased_at),
        }
    }

    /// Erases a contact, irreversibly, in one transaction (the store's), and says what was
    /// erased and what was kept.
    pub async fn erase(&self, id: ContactId, input: &ErasureInput) -> Result<Erasure, AppError> {
        let report = self.store.erase_contact(id, input).await?;
        Ok(self.erasure(&report))
    }

    /// The contacts past the retention of their purposes, after `after` in id order, at most
    /// `limit`.
    pub async fn retention_candidates(
        &self,
        after: Option<ContactId>,
        limit: usize,
    ) -> Result<Vec<RetentionCandidate>, AppError> {
        Ok(self
            .store
            .retention_candidates(&self.policy.retention, after, limit)
            .await?)
    }

    /// Anonymises every contact past its retention through the same erasure as a person's
    /// request (reason `retention`), in batches of the policy's size, each one transaction.
    pub async fn run_retention(
        &self,
        actor: Actor,
        by: AuditActor,
    ) -> Result<Anonymization, AppError> {
        let run: RetentionRun = self
            .store
            .anonymize_lapsed(
                &self.policy.retention,
                self.policy.retention_batch,
                actor,
                by,
            )
            .await?;
        Ok(Anonymization {
            anonymized: run.anonymized.len(),
            batches: run.batches,
            erasures: run.anonymized.iter().map(|r| self.erasure(r)).collect(),
        })
    }
}
