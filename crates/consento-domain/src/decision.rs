//! The decision: may this contact be reached by this action at this instant? Rules 1–7 of
//! [`decide`], first match wins. The answer always names the rule that decided it.

use serde::{Deserialize, Serialize};

use crate::{
    Action, ConsentCode, ConsentState, ContactReason, ContactStatus, DomainError, EventKind,
    PrivacySettings, Timestamp,
};

/// Why a contact may be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum AllowedBy {
    /// Rule 5: the privacy setting for this channel is off.
    CheckDisabled,
    /// Rule 6: a valid consent whose type permits the action.
    Consent {
        /// The consent type's code.
        code: ConsentCode,
        /// When it was given (or last renewed).
        given_at: Timestamp,
        /// When it stops being valid; none = never.
        expires_at: Option<Timestamp>,
        /// Whether its type's purpose is marketing (ours or for third parties): a phone call
        /// it allows is telemarketing, under the rules checked at the ring.
        #[serde(default)]
        marketing: bool,
    },
}

/// Why a contact may not be reached (blocked) or needs a reason (single contacts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum Cause {
    /// Rule 1: the contact was erased (GDPR Art. 17).
    Erased,
    /// Rule 2: processing is restricted (Art. 18); nothing overrides it.
    Restricted {
        /// Since when.
        since: Timestamp,
    },
    /// Rule 3: the person objects to direct marketing (Art. 21(3)); absolute for marketing.
    Objected {
        /// Since when.
        since: Timestamp,
    },
    /// Rule 3b: the person switched this form of communication off (the preference center);
    /// like an objection, for this channel only.
    ChannelOff {
        /// Which channel.
        channel: crate::Channel,
        /// Since when.
        since: Timestamp,
    },
    /// Rule 4: the address or number is on the suppression list.
    Suppressed,
    /// Rule 7: no consent of a permitting type was ever given.
    NoConsent,
    /// Rule 7: the person refused a permitting consent.
    Refused {
        /// The consent type.
        code: ConsentCode,
        /// When they refused.
        at: Timestamp,
    },
    /// Rule 7: the permitting consent was withdrawn or revoked.
    Withdrawn {
        /// The consent type.
        code: ConsentCode,
        /// When it was withdrawn.
        at: Timestamp,
    },
    /// Rule 7: the permitting consent ran out.
    Expired {
        /// The consent type.
        code: ConsentCode,
        /// When it expired.
        at: Timestamp,
    },
    /// Rule 8: a telemarketing call outside the calling hours of the kind of day it falls on
    /// (the Italian code of conduct for telemarketing; configurable).
    OutsideCallingHours {
        /// The kind of day (`weekday`, `saturday`, `pre_holiday`, `sunday`, `holiday`); none
        /// only for an instant past the calendar's range.
        day: Option<crate::calling_hours::DayKind>,
        /// The next instant a call is allowed, if any window opens within two weeks.
        next_allowed_at: Option<Timestamp>,
    },
    /// Rule 8b: a silent call reached the number recently (Garante, general provision n. 83 of
    /// 20 February 2014): no telemarketing call until the cooldown ends.
    SilentCallCooldown {
        /// When calls may resume.
        until: Timestamp,
    },
    /// Rule 9: the number is enrolled in the Registro pubblico delle opposizioni and no consent
    /// was given after the enrolment was found (L. 5/2018, art. 1).
    RpoEnrolled {
        /// When the enrolment was found.
        found_at: Timestamp,
    },
    /// Rule 9: the number was never checked against the register (DPR 26/2022: a check before
    /// each campaign).
    RpoCheckMissing,
    /// Rule 9: the number's latest check no longer counts (15 days by default).
    RpoCheckExpired {
        /// When it stopped counting.
        expired_at: Timestamp,
    },
}

impl Cause {
    /// The stable code of the cause (used for excluded counts and by integrations).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Erased => "erased",
            Self::Restricted { .. } => "restricted",
            Self::Objected { .. } => "objected",
            Self::ChannelOff { .. } => "channel_off",
            Self::Suppressed => "suppressed",
            Self::NoConsent => "no_consent",
            Self::Refused { .. } => "refused",
            Self::Withdrawn { .. } => "withdrawn",
            Self::Expired { .. } => "expired",
            Self::OutsideCallingHours { .. } => "outside_calling_hours",
            Self::SilentCallCooldown { .. } => "silent_call_cooldown",
            Self::RpoEnrolled { .. } => "rpo_enrolled",
            Self::RpoCheckMissing => "rpo_check_missing",
            Self::RpoCheckExpired { .. } => "rpo_check_expired",
        }
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// The contact may be reached.
    Allowed {
        /// The rule that allowed it.
        allowed_by: AllowedBy,
    },
    /// A single contact without a valid consent: the operator must pick a reason, which is
    /// recorded, before proceeding (rule 7). Under an objection only non-marketing reasons
    /// qualify (rule 3).
    NeedsJustification {
        /// Why there is no valid consent.
        cause: Cause,
        /// False when only reasons that are not marketing can justify the contact.
        marketing_reasons_allowed: bool,
    },
    /// The contact may not be reached, and no reason can change that.
    Blocked {
        /// Why.
        cause: Cause,
    },
}

impl Decision {
    /// `allowed`, `needs_justification` or `blocked`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Allowed { .. } => "allowed",
            Self::NeedsJustification { .. } => "needs_justification",
            Self::Blocked { .. } => "blocked",
        }
    }

    /// Whether the contact may be reached without a reason.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }

    /// Checks that `reason` can justify this contact: the decision must ask for one, the reason
    /// must be active, and under an objection it must not be marketing (GDPR Art. 21(3)).
    pub fn accept_reason(&self, reason: &ContactReason) -> Result<(), DomainError> {
        match self {
            Self::Allowed { .. } => Ok(()),
            Self::Blocked { cause } => Err(DomainError::invalid(
                "action",
                format!(
                    "the contact is blocked ({}) and no reason can override it",
                    cause.code()
                ),
            )),
            Self::NeedsJustification {
                marketing_reasons_allowed,
                ..
            } => {
                if !reason.active {
                    Err(DomainError::invalid(
                        "reason",
                        "this reason is no longer active",
                    ))
                } else if reason.marketing && !marketing_reasons_allowed {
                    Err(DomainError::invalid(
                        "reason",
                        "the person objected to direct marketing (GDPR Art. 21(3)): a marketing reason cannot justify this contact",
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// Why no consent of this contact may be used now, whatever it says: erased (rule 1, GDPR
/// Art. 17), restricted (rule 2, Art. 18) or objecting to direct marketing (rule 3, Art. 21(3)).
/// [`decide`] stops at these rules before it reads a consent, so every view of a contact's
/// consents (the card, the dashboard, the API's consent state, the export) shows a suspended
/// consent as not in force, as the decisions treat it.
pub fn suspension(contact: &ContactStatus) -> Option<Cause> {
    if contact.erased_at.is_some() {
        Some(Cause::Erased)
    } else if let Some(since) = contact.restricted_since {
        Some(Cause::Restricted { since })
    } else {
        contact
            .objected_since
            .map(|since| Cause::Objected { since })
    }
}

/// Decides whether `action` may reach a contact at `at` (rules 1 to 7 below, first match wins):
///
/// 1. erased → blocked; 2. restricted (Art. 18) → blocked; 3. objected (Art. 21(3)) → bulk
///    blocked, single only with a non-marketing reason; 3b. the person switched the action's
///    channel off → the same, for that channel; 4. suppressed address → bulk blocked;
/// 5. check off → allowed; 6. a valid permitting consent → allowed (the one valid longest);
/// 7. bulk → blocked, single → needs a reason; the cause is withdrawn, else expired, else refused,
///    else no consent.
pub fn decide(
    contact: &ContactStatus,
    settings: &PrivacySettings,
    consents: &[ConsentState],
    action: Action,
    at: Timestamp,
) -> Decision {
    if contact.erased_at.is_some() {
        return Decision::Blocked {
            cause: Cause::Erased,
        };
    }
    if let Some(since) = contact.restricted_since {
        return Decision::Blocked {
            cause: Cause::Restricted { since },
        };
    }
    if let Some(since) = contact.objected_since {
        let cause = Cause::Objected { since };
        return if action.is_bulk() {
            Decision::Blocked { cause }
        } else {
            Decision::NeedsJustification {
                cause,
                marketing_reasons_allowed: false,
            }
        };
    }
    // The person said "not by email / phone / SMS" (the preference center): for that channel it
    // weighs as an objection does (Art. 21(3)): no marketing, a service contact only with a
    // reason that is not marketing.
    if let Some(since) = contact.off_since(action.channel()) {
        let cause = Cause::ChannelOff {
            channel: action.channel(),
            since,
        };
        return if action.is_bulk() {
            Decision::Blocked { cause }
        } else {
            Decision::NeedsJustification {
                cause,
                marketing_reasons_allowed: false,
            }
        };
    }
    let suppressed = match action {
        Action::EmailBulk => contact.email_suppressed,
        Action::SmsBulk => contact.phone_suppressed,
        _ => false,
    };
    if suppressed {
        return Decision::Blocked {
            cause: Cause::Suppressed,
        };
    }
    if !settings.checks(action) {
        return Decision::Allowed {
            allowed_by: AllowedBy::CheckDisabled,
        };
    }
    let permitting = || consents.iter().filter(|c| c.permissions.permits(action));
    // Among several valid consents, cite the one that stays valid longest (then by code, so the
    // answer is deterministic).
    let best = permitting().filter(|c| c.is_valid_at(at)).max_by(|a, b| {
        let ea = a.expires_at.unwrap_or(Timestamp::MAX);
        let eb = b.expires_at.unwrap_or(Timestamp::MAX);
        ea.cmp(&eb).then_with(|| b.code.cmp(&a.code))
    });
    if let Some(c) = best {
        return Decision::Allowed {
            allowed_by: AllowedBy::Consent {
                code: c.code.clone(),
                given_at: c.event_time,
                expires_at: c.expires_at,
                marketing: c.marketing,
            },
        };
    }
    let cause = refusal_cause(permitting().filter(|c| c.event_time <= at), at);
    if action.is_bulk() {
        Decision::Blocked { cause }
    } else {
        Decision::NeedsJustification {
            cause,
            marketing_reasons_allowed: true,
        }
    }
}

/// The cause of rule 7 among the permitting consents, none of them valid: a withdrawal first
/// (the clearest answer to give an operator), then an expiry, then a refusal; the most recent of
/// that kind is cited, and of several equally recent ones (e.g. "unsubscribe from everything")
/// the one with the smallest code, so the answer does not depend on the order of `consents`.
fn refusal_cause<'a>(consents: impl Iterator<Item = &'a ConsentState>, at: Timestamp) -> Cause {
    let mut withdrawn: Option<&ConsentState> = None;
    let mut expired: Option<(&ConsentState, Timestamp)> = None;
    let mut refused: Option<&ConsentState> = None;
    let later = |old: Option<(Timestamp, &ConsentCode)>, new: (Timestamp, &ConsentCode)| {
        old.is_none_or(|(ot, oc)| new.0 > ot || (new.0 == ot && new.1 < oc))
    };
    for c in consents {
        match c.kind {
            EventKind::Withdrawn | EventKind::Revoked => {
                if later(
                    withdrawn.map(|w| (w.event_time, &w.code)),
                    (c.event_time, &c.code),
                ) {
                    withdrawn = Some(c);
                }
            }
            EventKind::Refused => {
                if later(
                    refused.map(|r| (r.event_time, &r.code)),
                    (c.event_time, &c.code),
                ) {
                    refused = Some(c);
                }
            }
            EventKind::Given | EventKind::Renewed => {
                if let Some(e) = c.expires_at.filter(|e| *e <= at)
                    && later(expired.map(|(x, t)| (t, &x.code)), (e, &c.code))
                {
                    expired = Some((c, e));
                }
            }
        }
    }
    if let Some(c) = withdrawn {
        Cause::Withdrawn {
            code: c.code.clone(),
            at: c.event_time,
        }
    } else if let Some((c, e)) = expired {
        Cause::Expired {
            code: c.code.clone(),
            at: e,
        }
    } else if let Some(c) = refused {
        Cause::Refused {
            code: c.code.clone(),
            at: c.event_time,
        }
    } else {
        Cause::NoConsent
    }
}
