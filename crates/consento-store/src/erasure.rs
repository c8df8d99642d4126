//! Erasure (GDPR Art. 17): a contact's personal data removed from every table in one
//! transaction, its addresses and numbers put on the suppression list first (as keyed hashes),
//! its consent proof kept as pseudonymous ledger events keyed by the contact's UUID, a
//! `contact.erased` webhook queued (the contacts trigger, same transaction), an erasure request
//! completed, the action audited. What is erased and what is kept, and why, are the domain's
//! categories (`consento_domain::erasure`).
//!
//! On SQLite the connections run with `secure_delete` (lib.rs), so freed cells are zeroed, and
//! the WAL is checkpointed and truncated once the erasure commits: no copy of the old pages is
//! left in the database file or its `-wal` file.

use consento_domain::erasure::{ErasedCategory, ErasureReason};
use consento_domain::requests::{RequestKind, RequestStatus};
use consento_domain::{Actor, ContactId, DomainError, RequestId, Timestamp};
use serde::Serialize;

use crate::row::Cols;
use crate::{AuditActor, Store, StoreError, in_write_tx};

/// The outcome and history note an erasure writes on the request it completes: stored as is
/// (the API returns it), and put in words in the reader's language by the console.
pub const ERASURE_OUTCOME: &str = "contact erased (GDPR Art. 17)";

/// What an erasure is asked to do.
#[derive(Debug, Clone)]
pub struct ErasureInput {
    /// Why: the person's request, or a lapsed retention.
    pub reason: ErasureReason,
    /// Who erases (an operator, an API token, the system), for the request's history.
    pub actor: Actor,
    /// Who erases, for the audit trail: the console account, the API token, or the system.
    pub by: AuditActor,
    /// A data-subject request of kind erasure to complete in the same transaction.
    pub request_id: Option<RequestId>,
}

/// What one erasure removed: rows (or fields) per category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    /// The contact, still there as a pseudonymous record.
    pub contact_id: ContactId,
    /// When it was erased.
    pub erased_at: Timestamp,
    /// Why.
    pub reason: ErasureReason,
    /// Per category, how many rows or fields were emptied.
    pub erased: Vec<(ErasedCategory, u64)>,
    /// Hashes put on the suppression list (every address and number).
    pub suppressed: u64,
    /// The request completed with it.
    pub request_id: Option<RequestId>,
}

/// The conditions a contact must still meet, inside the batch's transaction, to be anonymised
/// for a lapsed retention: not erased, not restricted (Art. 18(1)(c)), no consent valid now, no
/// open request.
const STILL_LAPSED: &str = "SELECT COUNT(*) FROM contacts c WHERE c.id = $1 AND c.erased_at IS NULL AND c.restricted_at IS NULL \
    AND NOT EXISTS (SELECT 1 FROM consent_state s WHERE s.contact_id = c.id AND s.granted AND s.valid_until > $2) \
    AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.contact_id = c.id AND r.status IN ('received', 'identity_verification', 'in_progress'))";

/// Erases contact `$id` inside the open transaction `$tx`, evaluating to its report. A macro, not
/// a function, so that one body serves both backends' transactions (as `in_write_tx!` does).
macro_rules! erase_in_tx {
    ($store:expr, $tx:ident, $id:expr, $input:expr, $now:expr) => {{
        let id: ContactId = $id;
        let input: &ErasureInput = $input;
        let now: Timestamp = $now;
        let at = now.as_micros();
        let erased: Option<Option<i64>> =
            sqlx::query_scalar("SELECT erased_at FROM contacts WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *$tx)
                .await?;
        match erased {
            None => return Err(StoreError::not_found("contact")),
            Some(Some(_)) => {
                return Err(StoreError::conflict("contact", "the contact was already erased"));
            }
            Some(None) => {}
        }
        // The request first: a wrong one refuses the whole erasure before anything changes.
        let request = match input.request_id {
            None => None,
            Some(rid) => {
                let row = sqlx::query("SELECT kind, status, contact_id FROM requests WHERE id = $1")
                    .bind(rid.0)
                    .fetch_optional(&mut *$tx)
                    .await?
                    .ok_or_else(|| StoreError::not_found("request"))?;
                if row.text("kind")? != RequestKind::Erasure.code() {
                    return Err(DomainError::invalid("request_id", "the request is not an erasure request").into());
                }
                if row.opt_uuid("contact_id")?.is_some_and(|c| c != id.0) {
                    return Err(DomainError::invalid("request_id", "the request is another person's").into());
                }
                let status = RequestStatus::parse(&row.text("status")?)
                    .map_err(|_| StoreError::Corrupt("request status"))?;
                if !status.is_open() {
                    return Err(StoreError::conflict("request_id", "the request is already closed"));
                }
                // Linked before anything is blanked: a request logged before the person was
                // identified holds their words too, and is blanked with their other requests.
                sqlx::query("UPDATE requests SET contact_id = $2 WHERE id = $1")
                    .bind(rid.0).bind(id.0)
                    .execute(&mut *$tx).await?;
                Some((rid, status))
            }
        };
        let emails: Vec<String> =
            sqlx::query_scalar("SELECT email FROM contact_emails WHERE contact_id = $1")
                .bind(id.0)
                .fetch_all(&mut *$tx)
                .await?;
        let phones: Vec<String> =
            sqlx::query_scalar("SELECT phone FROM contact_phones WHERE contact_id = $1")
                .bind(id.0)
                .fetch_all(&mut *$tx)
                .await?;
        // Suppression before blanking (rules 1 and 4 of `consento_domain::decide`): every
        // address and number, not only the primary ones, so no re-import, subscription or bulk
        // send reaches them.
        // An objection's hash becomes an erasure's: lifting the objection cannot free it.
        let mut suppressed = 0u64;
        for (channel, value) in emails
            .iter()
            .map(|e| ("email", e))
            .chain(phones.iter().map(|p| ("phone", p)))
        {
            let hash = $store.channel_hash(channel, value)?;
            suppressed += sqlx::query("INSERT INTO suppression (hash, channel, reason, created_at) VALUES ($1, $2, 'erasure', $3) ON CONFLICT (hash) DO UPDATE SET reason = 'erasure'")
                .bind(hash).bind(channel).bind(at)
                .execute(&mut *$tx).await?.rows_affected();
        }
        let mut counts: Vec<(ErasedCategory, u64)> = Vec::new();
        let request_ids: Vec<uuid::Uuid> =
            sqlx::query_scalar("SELECT id FROM requests WHERE contact_id = $1")
                .bind(id.0)
                .fetch_all(&mut *$tx)
                .await?;
        // Setting erased_at fires the contacts trigger: contact.erased to every subscriber, with
        // the external id as it was (the CRM's record to erase, Art. 19) and no personal data.
        let identity = sqlx::query("UPDATE contacts SET name = NULL, name_folded = NULL, email = NULL, email_hash = NULL, phone = NULL, phone_hash = NULL, external_id = NULL, attributes = '{}', source = NULL, customer_contract = NULL, customer_until = NULL, customer_source = NULL, customer_recorded_at = NULL, customer_recorded_by = NULL, erased_at = $2, updated_at = $2 WHERE id = $1")
            .bind(id.0).bind(at).execute(&mut *$tx).await?.rows_affected();
        counts.push((ErasedCategory::Identity, identity));
        let n = sqlx::query("DELETE FROM contact_emails WHERE contact_id = $1")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        counts.push((ErasedCategory::Emails, n));
        // A number's directory listing and the calls the person asked for name the number.
        let listings = sqlx::query("DELETE FROM phone_directory WHERE phone IN (SELECT phone FROM contact_phones WHERE contact_id = $1)")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        let requests = sqlx::query("DELETE FROM call_requests WHERE contact_id = $1")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        let n = sqlx::query("DELETE FROM contact_phones WHERE contact_id = $1")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        counts.push((ErasedCategory::Phones, n + listings + requests));
        // The ledger keeps each event's evidence digest: the chain still verifies. Evidence is
        // keyed by its event's position alone (migration 0019), found here through the
        // ledger's index.
        let n = sqlx::query("DELETE FROM consent_evidence WHERE event_seq IN (SELECT seq FROM consent_events WHERE contact_id = $1)")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        counts.push((ErasedCategory::ConsentEvidence, n));
        let n = sqlx::query("UPDATE channel_events SET evidence = NULL WHERE contact_id = $1 AND evidence IS NOT NULL")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        counts.push((ErasedCategory::ChannelEvidence, n));
        let n = sqlx::query("UPDATE interactions SET note = NULL WHERE contact_id = $1 AND note IS NOT NULL")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        counts.push((ErasedCategory::InteractionNotes, n));
        // The provenance a bulk rule run kept to be reversible (attributes, source) is the
        // person's data too, part of the identity erased above (not a category of its own); a
        // revert of that run then counts the contact as left alone.
        sqlx::query("DELETE FROM rule_run_changes WHERE contact_id = $1")
            .bind(id.0).execute(&mut *$tx).await?;
        let mut outbox = sqlx::query("DELETE FROM email_outbox WHERE contact_id = $1")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        let mut subscriptions = sqlx::query("DELETE FROM subscription_requests WHERE contact_id = $1")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        // Messages and requests for the address that name no contact.
        for e in &emails {
            outbox += sqlx::query("DELETE FROM email_outbox WHERE to_address = $1")
                .bind(e).execute(&mut *$tx).await?.rows_affected();
            subscriptions += sqlx::query("DELETE FROM subscription_requests WHERE email = $1")
                .bind(e).execute(&mut *$tx).await?.rows_affected();
        }
        // Held messages to the person name their address: it goes, and one still held is
        // dropped (its mail system told to remove it), since nothing may reach them now.
        outbox += sqlx::query("UPDATE held_messages SET status = 'dropped', dropped_at = $2, drop_cause = 'erased', handoff = 'drop', handoff_lease_until = NULL, handoff_attempts = 0, handoff_error = NULL WHERE contact_id = $1 AND (status = 'held' OR (status = 'released' AND handoff_done_at IS NULL))")
            .bind(id.0).bind(at).execute(&mut *$tx).await?.rows_affected();
        sqlx::query("UPDATE held_messages SET recipient = '' WHERE contact_id = $1 AND recipient <> ''")
            .bind(id.0).execute(&mut *$tx).await?;
        // Relayed copies keep their record (message, contact, action, rule, reason, instants,
        // status); the address goes, and a copy still under way or held is not sent (rule 1 of
        // `consento_domain::decide`). A message's body goes once none of its copies, the other
        // recipients' included, is under way or held.
        outbox += sqlx::query("UPDATE relay_deliveries SET recipient = NULL, status = CASE WHEN status IN ('queued', 'deferred', 'held') THEN 'refused' ELSE status END, rule = CASE WHEN status IN ('queued', 'deferred', 'held') THEN 'erased' ELSE rule END, next_attempt_at = NULL, lease_until = NULL, updated_at = $2 WHERE contact_id = $1 AND (recipient IS NOT NULL OR status IN ('queued', 'deferred', 'held'))")
            .bind(id.0).bind(at).execute(&mut *$tx).await?.rows_affected();
        for e in &emails {
            outbox += sqlx::query("UPDATE relay_deliveries SET recipient = NULL, status = CASE WHEN status IN ('queued', 'deferred', 'held') THEN 'refused' ELSE status END, rule = CASE WHEN status IN ('queued', 'deferred', 'held') THEN 'erased' ELSE rule END, next_attempt_at = NULL, lease_until = NULL, updated_at = $2 WHERE recipient = $1")
                .bind(e).bind(at).execute(&mut *$tx).await?.rows_affected();
        }
        sqlx::query("UPDATE relay_messages SET body = NULL, envelope_from = NULL, purged_at = $1 WHERE purged_at IS NULL AND NOT EXISTS (SELECT 1 FROM relay_deliveries d WHERE d.message_id = relay_messages.id AND d.status IN ('queued', 'deferred', 'held'))")
            .bind(at).execute(&mut *$tx).await?;
        counts.push((ErasedCategory::EmailOutbox, outbox));
        counts.push((ErasedCategory::Subscriptions, subscriptions));
        // Request records stay (Art. 5(2)); their free text goes. A rejected request keeps its
        // CHECK (a reason is present) with an empty one.
        let mut texts = sqlx::query("UPDATE requests SET description = '', outcome = CASE WHEN outcome IS NULL THEN NULL ELSE '' END, extension_reason = CASE WHEN extension_reason IS NULL THEN NULL ELSE '' END, rejection_reason = CASE WHEN rejection_reason IS NULL THEN NULL ELSE '' END WHERE contact_id = $1")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        let mut details = sqlx::query("UPDATE audit_events SET detail = '{}' WHERE target_kind = 'contact' AND target_id = $1 AND detail <> '{}'")
            .bind(id.0.to_string()).execute(&mut *$tx).await?.rows_affected();
        for r in &request_ids {
            texts += sqlx::query("UPDATE request_events SET note = '' WHERE request_id = $1 AND note <> ''")
                .bind(r).execute(&mut *$tx).await?.rows_affected();
            details += sqlx::query("UPDATE audit_events SET detail = '{}' WHERE target_kind = 'request' AND target_id = $1 AND detail <> '{}'")
                .bind(r.to_string()).execute(&mut *$tx).await?.rows_affected();
        }
        counts.push((ErasedCategory::RequestTexts, texts));
        counts.push((ErasedCategory::AuditDetails, details));
        // Delivered and dead webhook messages name the contact's CRM id; pending ones still
        // must tell the CRM (contact.erased among them) and are purged after their retention.
        let n = sqlx::query("UPDATE webhook_outbox SET payload = '{}' WHERE (delivered_at IS NOT NULL OR dead_at IS NOT NULL) AND payload LIKE $1")
            .bind(format!("%{}%", id.0.hyphenated()))
            .execute(&mut *$tx).await?.rows_affected();
        counts.push((ErasedCategory::WebhookPayloads, n));
        // The dialer's calls keep their outcome, campaign and instants (accountability: a
        // refusal honoured, a campaign's silent calls); the number goes. Allowed by the table's
        // trigger only now that the contact is erased (migration 0027).
        let n = sqlx::query("UPDATE call_outcomes SET phone = '' WHERE contact_id = $1 AND phone <> ''")
            .bind(id.0).execute(&mut *$tx).await?.rows_affected();
        counts.push((ErasedCategory::CallNumbers, n));
        if let Some((rid, status)) = request {
            let note = ERASURE_OUTCOME;
            if status != RequestStatus::InProgress {
                sqlx::query("INSERT INTO request_events (request_id, at, actor_kind, actor_id, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6, '')")
                    .bind(rid.0).bind(at).bind(input.actor.kind.code()).bind(&input.actor.id)
                    .bind(status.code()).bind(RequestStatus::InProgress.code())
                    .execute(&mut *$tx).await?;
            }
            sqlx::query("INSERT INTO request_events (request_id, at, actor_kind, actor_id, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(rid.0).bind(at).bind(input.actor.kind.code()).bind(&input.actor.id)
                .bind(RequestStatus::InProgress.code()).bind(RequestStatus::Completed.code()).bind(note)
                .execute(&mut *$tx).await?;
            sqlx::query("UPDATE requests SET contact_id = $2, status = $3, closed_at = $4, outcome = $5, handled_by_kind = $6, handled_by_id = $7 WHERE id = $1")
                .bind(rid.0).bind(id.0).bind(RequestStatus::Completed.code()).bind(at).bind(note)
                .bind(input.actor.kind.code()).bind(&input.actor.id)
                .execute(&mut *$tx).await?;
        }
        let audit_id = $store.new_uuid(now)?;
        let detail = serde_json::json!({
            "reason": input.reason.code(),
            "request": input.request_id.map(|r| r.0.to_string()),
        })
        .to_string();
        let entry = input.by.entry("contact.erase", Some(("contact", id.0.to_string())), serde_json::Value::Null);
        $crate::users::insert_audit!($tx, audit_id, now, entry, detail);
        ErasureReport {
            contact_id: id,
            erased_at: now,
            reason: input.reason,
            erased: counts,
            suppressed,
            request_id: input.request_id,
        }
    }};
}

impl Store {
    /// Erases a contact (GDPR Art. 17) in one transaction and reports what was erased. Its
    /// addresses and numbers go on the suppression list (reason `erasure`); its name, addresses,
    /// numbers, external id, attributes and source, the evidence of its consents and channel
    /// switches, the notes on its justified contacts, its emails and double opt-in requests, the
    /// free text of its requests, the detail of the audit entries about it and the numbers of its
    /// calls' outcomes are removed. The
    /// ledger events stay, keyed by its UUID, and still verify. A contact already erased is a
    /// conflict; `request_id` must name an open erasure request of this person (or of no one
    /// yet), which is completed in the same transaction.
    pub async fn erase_contact(
        &self,
        id: ContactId,
        input: &ErasureInput,
    ) -> Result<ErasureReport, StoreError> {
        let now = self.now();
        let report = in_write_tx!(self, tx => erase_in_tx!(self, tx, id, input, now));
        // The pages written before the erasure must leave no copy behind in the `-wal` file.
        self.truncate_wal_within(std::time::Duration::from_secs(10))
            .await;
        Ok(report)
    }

    /// Anonymises `ids` for a lapsed retention, in one transaction: each one that is still
    /// lapsed (not erased, no consent valid now, no open request, checked inside the
    /// transaction) is erased with `input`; the others are skipped.
    pub async fn erase_lapsed_batch(
        &self,
        ids: &[ContactId],
        input: &ErasureInput,
    ) -> Result<Vec<ErasureReport>, StoreError> {
        let now = self.now();
        let reports = in_write_tx!(self, tx => {
            let mut reports = Vec::with_capacity(ids.len());
            for &id in ids {
                let still: i64 = sqlx::query_scalar(STILL_LAPSED)
                    .bind(id.0).bind(now.as_micros())
                    .fetch_one(&mut *tx).await?;
                if still == 0 {
                    continue;
                }
                reports.push(erase_in_tx!(self, tx, id, input, now));
            }
            reports
        });
        // The pages written before the erasure must leave no copy behind in the `-wal` file.
        self.truncate_wal_within(std::time::Duration::from_secs(10))
            .await;
        Ok(reports)
    }
}
