//! The dialer's call outcomes, for every adapter alike: each one recorded and audited
//! (`call.outcome`) in one transaction, and a refusal of promotional calls ("basta un no",
//! Garante, February 2023) recorded in that same transaction as the person's objection to direct
//! marketing (GDPR Art. 21(3)): at once, for every later campaign, without asking the person to
//! confirm, exactly as an objection recorded on the contact (`contact.objection`, the suppression
//! list included), and dated when the person said it.

use consento_domain::calls::CallOutcome;
use consento_domain::{Actor, Timestamp};
use consento_store::{NewCallOutcome, RecordedCall};
use serde_json::json;

use crate::audit::By;
use crate::{App, AppError};

/// One call's outcome, as the dialer reports it.
#[derive(Debug, Clone)]
pub struct CallReport {
    /// The number dialled, in any common format; one of a contact's numbers.
    pub phone: String,
    /// How the call ended.
    pub outcome: CallOutcome,
    /// The campaign (1 to 200 characters).
    pub campaign: String,
    /// Who placed the call (the dialer's operator handle).
    pub operator: String,
    /// When the call took place: not in the future beyond 5 minutes of clock skew, not more
    /// than 30 days ago.
    pub called_at: Timestamp,
}

impl App {
    /// Records `call` as `actor`, audited as `call.outcome` by `by` in the write's transaction.
    /// A `refused_marketing` outcome objects to direct marketing in the same transaction, since
    /// the call's instant, with its own `contact.objection` entry; a person who already objected
    /// keeps the date they objected. Not found when no contact has the number; a field the rules
    /// refuse is named (`called_at`, `campaign`, `operator`, `phone`).
    pub async fn record_call_outcome(
        &self,
        by: &By,
        actor: Actor,
        call: CallReport,
    ) -> Result<RecordedCall, AppError> {
        let input = NewCallOutcome {
            phone: call.phone,
            outcome: call.outcome,
            campaign: call.campaign.clone(),
            operator: call.operator.clone(),
            called_at: call.called_at,
            actor,
            objection_entry: call.outcome.objects().then(|| {
                by.entry(
                    "contact.objection",
                    None,
                    json!({ "outcome": call.outcome.code() }),
                )
            }),
        };
        self.audited(
            by,
            "call.outcome",
            None,
            json!({
                "outcome": call.outcome.code(),
                "campaign": call.campaign.trim(),
                "operator": call.operator.trim(),
                "called_at": call.called_at,
            }),
            self.store.record_call_outcome(&input),
        )
        .await
    }
}
