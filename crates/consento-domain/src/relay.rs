//! The enforcing SMTP relay's rules that need no I/O: which action a relayed message is (a
//! single email or a mass mailing, read from its headers), what becomes of each recipient once
//! decided, and the one answer SMTP gives to `DATA` for all of a transaction's recipients
//! (RFC 5321 §4.2.5: one reply per message, not per recipient, outside LMTP).

use serde::{Deserialize, Serialize};

use crate::consent::coded_enum;
use crate::{Action, DomainError};

/// What a message's headers say about how it is sent, as read by the relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageHeaders<'a> {
    /// Whether it carries `List-Id` (RFC 2919): a mailing list's message.
    pub list_id: bool,
    /// `Precedence`, if any (`bulk`, `list`, `junk`).
    pub precedence: Option<&'a str>,
    /// `X-Consento-Action`, if any: the sender naming the action itself.
    pub action: Option<&'a str>,
}

/// The action a relayed message is: `email.bulk` when it carries `List-Id`, `Precedence: bulk` or
/// `list`, or `X-Consento-Action: email.bulk`, or when `default` says so; otherwise
/// `email.single`. A mailing list's marks always win over a sender calling it single: a bulk
/// message is held to the stricter rules (rules 4 and 7 of [`crate::decide`]). An
/// `X-Consento-Action` naming anything but an email action is refused, naming the header.
pub fn message_action(
    headers: &MessageHeaders<'_>,
    default: Action,
) -> Result<Action, DomainError> {
    let named = match headers.action.map(str::trim) {
        None => None,
        Some(text) => match Action::parse(&text.to_ascii_lowercase()) {
            Ok(a @ (Action::EmailSingle | Action::EmailBulk)) => Some(a),
            _ => {
                return Err(DomainError::invalid(
                    "x-consento-action",
                    "must be email.single or email.bulk",
                ));
            }
        },
    };
    let listed = headers.list_id
        || headers
            .precedence
            .map(str::trim)
            .is_some_and(|p| p.eq_ignore_ascii_case("bulk") || p.eq_ignore_ascii_case("list"));
    Ok(
        if listed || named == Some(Action::EmailBulk) || (named.is_none() && default.is_bulk()) {
            Action::EmailBulk
        } else {
            Action::EmailSingle
        },
    )
}

/// Why a recipient of a relayed message gets no copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The decision blocks it (`rule`: the cause's code); no reason changes that.
    Blocked {
        /// The rule that decided.
        rule: String,
    },
}

impl Refusal {
    /// The rule that decided.
    pub fn rule(&self) -> &str {
        match self {
            Self::Blocked { rule } => rule,
        }
    }
}

/// What becomes of one recipient, decided at the end of `DATA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A copy goes (allowed, or justified with a reason recorded as a justified contact).
    Deliver,
    /// The copy is kept, not sent, until an operator gives the reason it lacks (it needs a
    /// justification and the message names no usable one): held, not lost.
    Hold {
        /// Why there is no valid consent (the cause's code).
        rule: String,
    },
    /// No copy goes.
    Refuse(Refusal),
}

/// The one answer to `DATA` for a transaction's recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataAnswer {
    /// The message is stored and goes to `deliver` recipients; `refused` others get no copy and
    /// are recorded as refused with their rule. Without LMTP there is no other way to refuse
    /// some recipients after `DATA`.
    Accept {
        /// Recipients that get a copy.
        deliver: usize,
        /// Recipients whose copy is held for a reason.
        held: usize,
        /// Recipients that do not.
        refused: usize,
    },
    /// Nothing is stored for good (a 5xx answer): every recipient is blocked.
    Permanent(Refusal),
}

/// The answer to `DATA` for these verdicts: accepted when any recipient gets a copy or has it
/// held (a recipient that needs a justification is held, never refused); otherwise a permanent
/// refusal naming the first recipient's rule, in the order the recipients were given.
pub fn data_answer(verdicts: &[Verdict]) -> DataAnswer {
    let deliver = verdicts.iter().filter(|v| **v == Verdict::Deliver).count();
    let held = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Hold { .. }))
        .count();
    if deliver + held > 0 {
        return DataAnswer::Accept {
            deliver,
            held,
            refused: verdicts.len() - deliver - held,
        };
    }
    let first = verdicts.iter().find_map(|v| match v {
        Verdict::Refuse(r) => Some(r),
        Verdict::Deliver | Verdict::Hold { .. } => None,
    });
    match first {
        Some(r) => DataAnswer::Permanent(r.clone()),
        // No recipient at all: SMTP refuses DATA before this (RFC 5321 §3.3, 554 "no valid
        // recipients"); named as blocked for completeness.
        None => DataAnswer::Permanent(Refusal::Blocked {
            rule: "no_recipients".to_owned(),
        }),
    }
}

coded_enum!(
    /// Where one recipient's copy of a relayed message stands.
    DeliveryStatus, "status" {
        /// Stored, waiting for its first attempt.
        Queued = "queued",
        /// Accepted by the upstream server.
        Delivered = "delivered",
        /// An attempt failed for now; another follows.
        Deferred = "deferred",
        /// The upstream server refused it for good, or every attempt failed.
        Bounced = "bounced",
        /// Never sent: the decision refused this recipient.
        Refused = "refused",
        /// Kept until an operator gives the reason it needs (a held message), then queued.
        Held = "held",
        /// Held, and dropped (by an operator, or its hold ran out): never sent.
        Dropped = "dropped",
    }
);

impl DeliveryStatus {
    /// Whether nothing more will happen to the copy.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Deferred | Self::Held)
    }

    /// Whether the copy waits for an attempt (a held one waits for a reason, not a time).
    pub fn is_due_later(self) -> bool {
        matches!(self, Self::Queued | Self::Deferred)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn headers<'a>(
        list_id: bool,
        precedence: Option<&'a str>,
        action: Option<&'a str>,
    ) -> MessageHeaders<'a> {
        MessageHeaders {
            list_id,
            precedence,
            action,
        }
    }

    #[test]
    fn a_mailing_lists_marks_make_a_message_bulk_whatever_the_sender_calls_it() {
        let single = Action::EmailSingle;
        assert_eq!(
            message_action(&headers(false, None, None), single).unwrap(),
            Action::EmailSingle
        );
        assert_eq!(
            message_action(&headers(false, None, None), Action::EmailBulk).unwrap(),
            Action::EmailBulk
        );
        for h in [
            headers(true, None, None),
            headers(false, Some(" Bulk "), None),
            headers(false, Some("list"), None),
            headers(false, None, Some("EMAIL.BULK")),
            headers(true, None, Some("email.single")),
        ] {
            assert_eq!(
                message_action(&h, single).unwrap(),
                Action::EmailBulk,
                "{h:?}"
            );
        }
        // A sender naming single overrides a bulk default, not a list's marks.
        assert_eq!(
            message_action(
                &headers(false, Some("junk"), Some("email.single")),
                Action::EmailBulk
            )
            .unwrap(),
            Action::EmailSingle
        );
        let e = message_action(&headers(false, None, Some("phone.call")), single).unwrap_err();
        assert_eq!(e.field(), "x-consento-action");
    }

    fn blocked(rule: &str) -> Verdict {
        Verdict::Refuse(Refusal::Blocked { rule: rule.into() })
    }

    #[test]
    fn data_is_accepted_when_any_recipient_gets_a_copy_or_is_held_else_refused_for_the_first_rule()
    {
        assert_eq!(
            data_answer(&[blocked("objected"), Verdict::Deliver, blocked("suppressed")]),
            DataAnswer::Accept {
                deliver: 1,
                held: 0,
                refused: 2
            }
        );
        let hold = Verdict::Hold {
            rule: "no_consent".into(),
        };
        assert_eq!(
            data_answer(&[blocked("objected"), hold]),
            DataAnswer::Accept {
                deliver: 0,
                held: 1,
                refused: 1
            }
        );
        assert_eq!(
            data_answer(&[blocked("objected"), blocked("erased")]),
            DataAnswer::Permanent(Refusal::Blocked {
                rule: "objected".into()
            })
        );
    }

    #[test]
    fn only_queued_deferred_and_held_copies_are_still_under_way() {
        let open: Vec<_> = DeliveryStatus::ALL
            .iter()
            .filter(|s| !s.is_final())
            .collect();
        assert_eq!(
            open,
            [
                &DeliveryStatus::Queued,
                &DeliveryStatus::Deferred,
                &DeliveryStatus::Held
            ]
        );
    }
}
