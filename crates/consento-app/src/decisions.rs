//! "May I reach this contact now?" and the justified contact that follows a
//! `needs_justification` answer: the one way every adapter (API, console, command line) asks, so
//! that every decision is counted by the hooks whoever asked.

use consento_domain::{Action, AllowedBy, Cause, Decision, ReasonId, Timestamp};
use consento_store::{ContactRef, DecisionReport, Interaction};

use serde_json::json;

use crate::audit::By;
use crate::{App, AppError};

impl App {
    /// Decides whether `action` may reach `contact` at `at` (now if `None`), naming the rule
    /// that decided.
    pub async fn decide(
        &self,
        contact: &ContactRef,
        action: Action,
        at: Option<Timestamp>,
    ) -> Result<DecisionReport, AppError> {
        let report = self.at_the_ring(self.store.decide(contact, action, at).await?);
        self.hooks.decided(report.decision.outcome());
        Ok(report)
    }

    /// The rules of telemarketing checked as the call is placed, after the consent rules: a
    /// phone call allowed by a marketing consent (ours or for third parties) outside the calling
    /// hours of its kind of day is blocked (rule 8), naming the next instant it is allowed. The
    /// hours are those of the Italian code of conduct for telemarketing unless configured.
    fn at_the_ring(&self, mut report: DecisionReport) -> DecisionReport {
        let telemarketing = report.action == Action::PhoneCall
            && matches!(
                report.decision,
                Decision::Allowed {
                    allowed_by: AllowedBy::Consent {
                        marketing: true,
                        ..
                    }
                }
            );
        if telemarketing
            && let Err(closed) = self
                .policy
                .calling_hours
                .check(&self.policy.calendar, report.at)
        {
            report.decision = Decision::Blocked {
                cause: Cause::OutsideCallingHours {
                    day: closed.day,
                    next_allowed_at: closed.next_allowed,
                },
            };
        }
        report
    }

    /// Records a justified contact: reaching `contact` without a valid consent, for `reason`,
    /// by `operator` (rule 7 of the decision), audited as `contact.justify` by `by` in the same
    /// transaction. When the contact turns out to be allowed, nothing is recorded, and the
    /// attempt is traced (`recorded: false`); when it is blocked, no reason overrides it (GDPR
    /// Arts. 18 and 21(3)).
    pub async fn justify(
        &self,
        by: &By,
        contact: &ContactRef,
        action: Action,
        reason: ReasonId,
        note: Option<&str>,
        operator: &str,
    ) -> Result<(DecisionReport, Option<Interaction>), AppError> {
        let target = match contact {
            ContactRef::Id(id) => Some(("contact", id.0.to_string())),
            _ => None,
        };
        let detail = |recorded: bool| json!({ "action": action.code(), "reason_id": reason.0, "recorded": recorded });
        let ((report, interaction), _) = self
            .store
            .audited(
                by.entry("contact.justify", target.clone(), detail(true)),
                self.store.justify(contact, action, reason, note, operator),
            )
            .await?;
        self.hooks.decided(report.decision.outcome());
        if interaction.is_none() && report.decision.is_allowed() {
            let target = Some(("contact", report.contact_id.0.to_string()));
            let mut detail = detail(false);
            if let (Some(map), Decision::Allowed { allowed_by }) =
                (detail.as_object_mut(), &report.decision)
            {
                let rule = match allowed_by {
                    AllowedBy::CheckDisabled => "check_disabled",
                    AllowedBy::Consent { .. } => "consent",
                };
                map.insert("rule".to_owned(), json!(rule));
            }
            self.trace(by, "contact.justify", target, detail).await?;
        }
        Ok((report, interaction))
    }
}
