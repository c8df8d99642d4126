//! "May I reach this contact now?" and the justified contact that follows a
//! `needs_justification` answer: the one way every adapter (API, console, command line) asks, so
//! that every decision is counted by the hooks whoever asked.

use consento_domain::{Action, AllowedBy, Cause, Decision, Phone, ReasonId, Timestamp, rpo};
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
        let report = self.store.decide(contact, action, at).await?;
        let report = self.at_the_ring(contact, report).await?;
        self.hooks.decided(report.decision.outcome());
        Ok(report)
    }

    /// The rules of telemarketing checked as the call is placed, after the consent rules. A phone
    /// call allowed by a marketing consent (ours or for third parties) is blocked, in this order:
    /// - to a number a silent call reached, for the cooldown after it (rule 8b);
    /// - to an Italian number, by the Registro pubblico delle opposizioni (rule 9, L. 5/2018 and
    ///   DPR 26/2022): without a check that still counts, or enrolled with no consent given after
    ///   the enrolment was found. The number is the one dialled, else the contact's primary one;
    /// - outside the calling hours of its kind of day (rule 8), naming the next instant it is
    ///   allowed (the Italian code of conduct for telemarketing's hours unless configured).
    pub(crate) async fn at_the_ring(
        &self,
        contact: &ContactRef,
        mut report: DecisionReport,
    ) -> Result<DecisionReport, AppError> {
        let given_at = match &report.decision {
            Decision::Allowed {
                allowed_by:
                    AllowedBy::Consent {
                        marketing: true,
                        given_at,
                        ..
                    },
            } if report.action == Action::PhoneCall => *given_at,
            _ => return Ok(report),
        };
        let dialed = match contact {
            ContactRef::Phone(p) => Some(Phone::parse(p, self.store.country_code())?),
            _ => None,
        };
        let ring = self
            .store
            .ring_facts(report.contact_id, dialed.as_ref().map(Phone::as_str))
            .await?;
        // A silent call (the person answered and no operator spoke) keeps automated calls away
        // from the number for a while (Garante, general provision n. 83 of 20 February 2014).
        if let Some(until) = ring
            .last_silent_call
            .map(|at| at.plus_days(self.policy.silent_call_cooldown_days))
            .filter(|until| report.at < *until)
        {
            report.decision = Decision::Blocked {
                cause: Cause::SilentCallCooldown { until },
            };
            return Ok(report);
        }
        let Some(policy) = &self.policy.rpo else {
            return Ok(self.within_calling_hours(report));
        };
        // The register covers Italian numbers only.
        if !ring.phone.as_deref().is_some_and(|p| p.starts_with("+39")) {
            return Ok(self.within_calling_hours(report));
        }
        let number = ring.rpo;
        let facts = rpo::RpoFacts {
            latest_check: number.as_ref().map(|n| rpo::RpoCheck {
                answered_at: n.answered_at,
                enrolled: n.enrolled,
            }),
            enrolled_found_at: number.as_ref().and_then(|n| n.enrolled_found_at),
            consent_given_at: Some(given_at),
            in_public_directory: number.as_ref().is_some_and(|n| n.in_public_directory),
            ..rpo::RpoFacts::default()
        };
        let cause =
            match rpo::rpo_verdict(&facts, rpo::CallPurpose::OwnMarketing, report.at, policy) {
                Ok(_) => return Ok(self.within_calling_hours(report)),
                Err(rpo::RpoBlock::Enrolled { found_at }) => Cause::RpoEnrolled { found_at },
                Err(rpo::RpoBlock::CheckExpired { expired_at }) => {
                    Cause::RpoCheckExpired { expired_at }
                }
                // Never without a consent here: the call was allowed by one.
                Err(rpo::RpoBlock::CheckMissing | rpo::RpoBlock::UnlistedWithoutConsent) => {
                    Cause::RpoCheckMissing
                }
            };
        report.decision = Decision::Blocked { cause };
        Ok(report)
    }

    /// Rule 8: a telemarketing call outside the calling hours of its kind of day is blocked,
    /// naming the next instant it is allowed. Checked last: a block that lasts (a silent call,
    /// the register) is the one to name, not the hour.
    fn within_calling_hours(&self, mut report: DecisionReport) -> DecisionReport {
        if let Err(closed) = self
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
