//! "May I reach this contact now?" and the justified contact that follows a
//! `needs_justification` answer: the one way every adapter (API, console, command line) asks, so
//! that every decision is counted by the hooks whoever asked.

use consento_domain::{
    Action, AllowedBy, Cause, ContactId, Decision, Phone, ReasonId, Timestamp, rpo,
};
use consento_store::{ContactRef, CustomerContract, DecisionReport, Fenced, Interaction};

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
        let (report, fenced) = self.store.decide_fenced(contact, action, at).await?;
        let report = self.at_the_ring(contact, report, &fenced).await?;
        self.hooks.decided(report.decision.outcome());
        Ok(report)
    }

    /// Whether an address or number no contact has is on the suppression list (an erased or
    /// objecting person's, kept as a keyed hash): rule 4 of `consento_domain::decide` for an
    /// address the contacts no longer name.
    pub async fn is_suppressed(&self, channel: &ContactRef) -> Result<bool, AppError> {
        Ok(self.store.is_suppressed(channel).await?)
    }

    /// The rules of telemarketing checked as the call is placed, after the consent rules, for a
    /// phone call allowed by a marketing consent (ours or for third parties); see
    /// [`App::ring_stop`]. `fenced`: the proof of the decision's own fence, if it has one.
    pub(crate) async fn at_the_ring(
        &self,
        contact: &ContactRef,
        mut report: DecisionReport,
        fenced: &Fenced,
    ) -> Result<DecisionReport, AppError> {
        let relied_on = match &report.decision {
            Decision::Allowed {
                allowed_by:
                    AllowedBy::Consent {
                        marketing: true,
                        code,
                        given_at,
                        ..
                    },
            } if report.action == Action::PhoneCall => (code.as_str().to_owned(), *given_at),
            _ => return Ok(report),
        };
        let stop = self
            .ring_stop(
                contact,
                report.contact_id,
                report.at,
                Some(relied_on),
                fenced,
            )
            .await?;
        if let Some(stop) = stop {
            report.decision = Decision::Blocked {
                cause: match stop {
                    RingStop::Cause(cause) => cause,
                    // Never with a consent, which this call relies on.
                    RingStop::UnlistedWithoutConsent => Cause::RpoCheckMissing,
                },
            };
        }
        Ok(report)
    }

    /// What stops a telemarketing call to `contact` at `at`, relying on the consent of type
    /// `relied_on` given at its instant, or on none (a call justified with a marketing reason).
    /// In this order:
    /// - a silent call reached the number within the cooldown (rule 8b);
    /// - for an Italian number, the Registro pubblico delle opposizioni (rule 9, L. 5/2018 and
    ///   DPR 26/2022): no check that still counts, or enrolled with no consent given after the
    ///   enrolment was found, unless the person asked for this call or, for our own marketing,
    ///   has a contract in force or ended within the grace; without a consent, a number in no
    ///   public directory (Codice privacy art. 130(3-bis));
    /// - outside the calling hours of its kind of day (rule 8).
    ///
    /// The number is the one dialled, else the contact's primary one.
    async fn ring_stop(
        &self,
        contact: &ContactRef,
        id: ContactId,
        at: Timestamp,
        relied_on: Option<(String, Timestamp)>,
        fenced: &Fenced,
    ) -> Result<Option<RingStop>, AppError> {
        let dialed = match contact {
            ContactRef::Phone(p) => Some(Phone::parse(p, self.store.country_code())?),
            _ => None,
        };
        let ring = self
            .store
            .ring_facts_after(
                id,
                dialed.as_ref().map(Phone::as_str),
                relied_on.as_ref().map(|(code, _)| code.as_str()),
                fenced,
            )
            .await?;
        // A silent call (the person answered and no operator spoke) keeps automated calls away
        // from the number for a while (Garante, general provision n. 83 of 20 February 2014).
        if let Some(until) = ring
            .last_silent_call
            .map(|silent| silent.plus_days(self.policy.silent_call_cooldown_days))
            .filter(|until| at < *until)
        {
            return Ok(Some(RingStop::Cause(Cause::SilentCallCooldown { until })));
        }
        // The register covers Italian numbers only.
        let italian = ring.phone.as_deref().is_some_and(|p| p.starts_with("+39"));
        if let (Some(policy), true) = (&self.policy.rpo, italian) {
            let facts = rpo::RpoFacts {
                latest_check: ring.rpo.as_ref().map(|n| rpo::RpoCheck {
                    answered_at: n.answered_at,
                    enrolled: n.enrolled,
                }),
                enrolled_found_at: ring.rpo.as_ref().and_then(|n| n.enrolled_found_at),
                consent_given_at: relied_on.map(|(_, given_at)| given_at),
                contract: match ring.customer {
                    None => rpo::CustomerContract::NoContract,
                    Some(CustomerContract::Until(end)) if end <= at => {
                        rpo::CustomerContract::Ended { at: end }
                    }
                    Some(_) => rpo::CustomerContract::InForce,
                },
                requested_call: ring
                    .call_request
                    .is_some_and(|(asked, until)| asked <= at && at < until),
                in_public_directory: ring.listed,
            };
            let purpose = if ring.third_party {
                rpo::CallPurpose::ThirdPartyDisclosure
            } else {
                rpo::CallPurpose::OwnMarketing
            };
            let stop = match rpo::rpo_verdict(&facts, purpose, at, policy) {
                Ok(_) => None,
                Err(rpo::RpoBlock::Enrolled { found_at }) => {
                    Some(RingStop::Cause(Cause::RpoEnrolled { found_at }))
                }
                Err(rpo::RpoBlock::CheckExpired { expired_at }) => {
                    Some(RingStop::Cause(Cause::RpoCheckExpired { expired_at }))
                }
                Err(rpo::RpoBlock::CheckMissing) => Some(RingStop::Cause(Cause::RpoCheckMissing)),
                Err(rpo::RpoBlock::UnlistedWithoutConsent) => {
                    Some(RingStop::UnlistedWithoutConsent)
                }
            };
            if stop.is_some() {
                return Ok(stop);
            }
        }
        Ok(self.outside_calling_hours(at).map(RingStop::Cause))
    }

    /// Rule 8: a telemarketing call outside the calling hours of its kind of day is blocked,
    /// naming the next instant it is allowed. Checked last: a block that lasts (a silent call,
    /// the register) is the one to name, not the hour.
    fn outside_calling_hours(&self, at: Timestamp) -> Option<Cause> {
        self.policy
            .calling_hours
            .check(&self.policy.calendar, at)
            .err()
            .map(|closed| Cause::OutsideCallingHours {
                day: closed.day,
                next_allowed_at: closed.next_allowed,
            })
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
        // A call justified with a marketing reason is telemarketing (rule 1 of the Italian
        // rules): the rules at the ring apply to it as to one a marketing consent allows.
        if action == Action::PhoneCall && self.store.reason(reason).await?.marketing {
            let (report, fenced) = self.store.decide_fenced(contact, action, None).await?;
            // Only where a marketing reason may justify it at all: under an objection the
            // decision refuses one itself (GDPR Art. 21(3)), and that is the answer to give.
            if matches!(
                report.decision,
                Decision::NeedsJustification {
                    marketing_reasons_allowed: true,
                    ..
                }
            ) {
                let stop = self
                    .ring_stop(contact, report.contact_id, report.at, None, &fenced)
                    .await?;
                if let Some(stop) = stop {
                    return Err(AppError::invalid("reason", stop.explain()));
                }
            }
        }
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

/// What stops a telemarketing call at the ring.
enum RingStop {
    /// A cause a decision names.
    Cause(Cause),
    /// A number in no public directory, called without consent (only a call justified with a
    /// marketing reason has none).
    UnlistedWithoutConsent,
}

impl RingStop {
    /// Why a call justified with a marketing reason may not be placed.
    fn explain(&self) -> String {
        let why = match self {
            Self::Cause(Cause::SilentCallCooldown { until }) => format!(
                "a silent call reached the number, and no telemarketing call may follow before {until} (silent_call_cooldown)"
            ),
            Self::Cause(Cause::RpoEnrolled { found_at }) => {
                rpo::RpoBlock::Enrolled { found_at: *found_at }.to_string()
            }
            Self::Cause(Cause::RpoCheckExpired { expired_at }) => rpo::RpoBlock::CheckExpired {
                expired_at: *expired_at,
            }
            .to_string(),
            Self::Cause(Cause::OutsideCallingHours {
                next_allowed_at, ..
            }) => match next_allowed_at {
                Some(next) => format!(
                    "it is outside the calling hours; the next allowed instant is {next} (outside_calling_hours)"
                ),
                None => "it is outside the calling hours, and none are configured (outside_calling_hours)".to_owned(),
            },
            Self::Cause(cause) if cause.code() == "rpo_check_missing" => {
                rpo::RpoBlock::CheckMissing.to_string()
            }
            Self::Cause(cause) => cause.code().to_owned(),
            Self::UnlistedWithoutConsent => rpo::RpoBlock::UnlistedWithoutConsent.to_string(),
        };
        format!(
            "a call for a marketing reason is telemarketing, and the rules at the ring block it: {why}"
        )
    }
}
