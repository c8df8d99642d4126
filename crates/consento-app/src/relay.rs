//! The enforcing SMTP relay's use cases: every recipient of a message a CRM sends through
//! Consento is decided as the API decides it. At `RCPT TO` a recipient is decided for the
//! action the relay assumes before it has the headers; at the end of `DATA` again for the
//! message's own action (`consento_domain::relay::message_action`), where a reason the message
//! names (`X-Consento-Reason`) may justify a contact that needs one (rule 7 of
//! `consento_domain::decide`), recorded with the message in one transaction; without a usable
//! reason the copy is held (held.rs) and the sender told at once, in that same transaction.
//! Before a copy
//! leaves, the relay worker asks once more ([`App::relay_copy_check`]): what changed meanwhile
//! (a withdrawal, an objection, an erasure) stops it.

use consento_domain::held::{HeldSource, QueueId, hold_until};
use consento_domain::relay::{DataAnswer, MessageHeaders, Refusal, Verdict, data_answer};
use consento_domain::{
    Action, AllowedBy, ContactId, ContactReason, Decision, Email, EventId, ReasonId,
};
use consento_store::{
    AcceptedRelayMessage, ContactRef, NewHeld, NewRelayMessage, NewRelayRecipient,
    RecipientOutcome, StoreError,
};
use serde_json::json;

use crate::audit::By;
use crate::links::{MailLinks, mail_links};
use crate::{App, AppError};

/// The rule named for an address no contact has. The relay refuses it: a contact attempt is
/// recorded against a contact (a justified contact names one; a consent belongs to one), and
/// Consento knows nothing that would allow it. The CRM adds the contact first.
pub const UNKNOWN_CONTACT: &str = "unknown_contact";

/// What `RCPT TO` answers for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientCheck {
    /// Accepted for now: allowed, or in need of a justification the message may still give;
    /// decided again at the end of `DATA`.
    Accept {
        /// The recipient's contact.
        contact: ContactId,
    },
    /// Refused at once: blocked (or unknown), whatever the message says.
    Refuse {
        /// The rule that decided (a cause's code, or [`UNKNOWN_CONTACT`]).
        rule: String,
    },
}

/// A recipient accepted at `RCPT TO`.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayRecipient {
    /// The address, normalised.
    pub address: String,
    /// Its contact.
    pub contact: ContactId,
}

/// Hides the address.
impl std::fmt::Debug for RelayRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayRecipient")
            .field("contact", &self.contact)
            .finish_non_exhaustive()
    }
}

/// What the relay read from a message's headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayHeaders {
    /// `List-Id` is present.
    pub list_id: bool,
    /// `Precedence`.
    pub precedence: Option<String>,
    /// `X-Consento-Action`.
    pub action: Option<String>,
    /// `X-Consento-Reason`: a contact reason's id, or its label (any case).
    pub reason: Option<String>,
    /// `X-Consento-Note`: the note recorded with a justified contact.
    pub note: Option<String>,
    /// `X-Consento-Operator`: who is recorded as making a justified contact (default: the
    /// token's name).
    pub operator: Option<String>,
}

/// A message at the end of `DATA`, to decide and store.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayedMessage {
    /// The token the client authenticated with.
    pub token_id: uuid::Uuid,
    /// The token's name: the operator recorded when the message names none.
    pub token_name: String,
    /// The envelope sender (empty for the null sender).
    pub envelope_from: String,
    /// The recipients accepted at `RCPT TO`, in order.
    pub recipients: Vec<RelayRecipient>,
    /// What its headers say.
    pub headers: RelayHeaders,
    /// The message as received.
    pub body: Vec<u8>,
}

/// Hides the addresses and the body.
impl std::fmt::Debug for RelayedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayedMessage")
            .field("token_id", &self.token_id)
            .field("recipients", &self.recipients)
            .field("size", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What became of a message at the end of `DATA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayOutcome {
    /// The action it was decided as.
    pub action: Action,
    /// Each recipient's verdict, in order.
    pub verdicts: Vec<Verdict>,
    /// The one answer to `DATA`.
    pub answer: DataAnswer,
    /// The stored message, when the answer accepts it.
    pub stored: Option<AcceptedRelayMessage>,
}

/// What the relay worker does with a copy about to leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyCheck {
    /// Send it; a bulk copy with the contact's own unsubscribe links (RFC 8058).
    Send {
        /// The links of `List-Unsubscribe`, for a bulk copy.
        links: Option<MailLinks>,
    },
    /// Do not send it: the decision now refuses it.
    Refuse {
        /// The rule that decided.
        rule: String,
    },
}

/// The rule an allowed decision names.
fn allowed_rule(allowed_by: &AllowedBy) -> &'static str {
    match allowed_by {
        AllowedBy::CheckDisabled => "check_disabled",
        AllowedBy::Consent { .. } => "consent",
    }
}

impl App {
    /// Decides one recipient at `RCPT TO` for `action`. An address no contact has is refused
    /// ([`UNKNOWN_CONTACT`]), or as `suppressed` when it is on the suppression list (an erased
    /// or objecting person's: rule 4 of `consento_domain::decide`). An address that is not one
    /// is an invalid input naming `email`.
    pub async fn relay_recipient(
        &self,
        address: &str,
        action: Action,
    ) -> Result<RecipientCheck, AppError> {
        let email = Email::parse(address)?;
        let contact = ContactRef::Email(email.as_str().to_owned());
        match self.decide(&contact, action, None).await {
            Ok(report) => Ok(match report.decision {
                Decision::Blocked { cause } => RecipientCheck::Refuse {
                    rule: cause.code().to_owned(),
                },
                Decision::Allowed { .. } | Decision::NeedsJustification { .. } => {
                    RecipientCheck::Accept {
                        contact: report.contact_id,
                    }
                }
            }),
            Err(AppError::Store(StoreError::NotFound { .. })) => {
                let rule = if self.is_suppressed(&contact).await? {
                    "suppressed"
                } else {
                    UNKNOWN_CONTACT
                };
                Ok(RecipientCheck::Refuse {
                    rule: rule.to_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The contact reason a message names: its id, or its label in any case; `Err` says why it
    /// cannot justify anything (no such reason, no longer active).
    async fn named_reason(&self, named: &str) -> Result<Result<ContactReason, String>, AppError> {
        let named = named.trim();
        let reason = match uuid::Uuid::parse_str(named) {
            Ok(id) => match self.store.reason(ReasonId(id)).await {
                Ok(r) => Some(r),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => {
                let reasons = self.store.reasons().await?;
                // An active reason first, should an inactive one share its label.
                reasons
                    .iter()
                    .filter(|r| r.label.to_lowercase() == named.to_lowercase())
                    .max_by_key(|r| r.active)
                    .cloned()
            }
        };
        Ok(match reason {
            Some(r) if r.active => Ok(r),
            Some(_) => Err("this reason is no longer active".to_owned()),
            None => Err("no contact reason has this id or label".to_owned()),
        })
    }

    /// Decides every recipient of a message at the end of `DATA` for the message's action
    /// (its headers, else `default_action`), and stores it when any recipient gets a copy:
    /// allowed ones, and those that need a justification when the message names an active
    /// reason that may justify them (recorded as justified contacts with the message, in its
    /// transaction, audited as `relay.accept` by `by`). Those that need a justification the
    /// message does not give (no reason, or one that cannot justify them) are held, each with
    /// the email that tells the sender (dropped after the policy's `relay_hold_hours`). The others are
    /// recorded as refused with their rule. When nobody gets or holds a copy, nothing is stored.
    pub async fn relay_message(
        &self,
        by: &By,
        default_action: Action,
        message: RelayedMessage,
    ) -> Result<RelayOutcome, AppError> {
        let headers = &message.headers;
        let action = consento_domain::relay::message_action(
            &MessageHeaders {
                list_id: headers.list_id,
                precedence: headers.precedence.as_deref(),
                action: headers.action.as_deref(),
            },
            default_action,
        )?;
        let reason = match &headers.reason {
            Some(named) => Some(self.named_reason(named).await?),
            None => None,
        };
        let operator = headers
            .operator
            .clone()
            .unwrap_or_else(|| message.token_name.clone());
        let now = self.store.now();
        let message_id = EventId::new_v7(now, self.store.random_bytes()?).0;
        let mut verdicts = Vec::with_capacity(message.recipients.len());
        let mut recipients = Vec::with_capacity(message.recipients.len());
        for r in &message.recipients {
            let report = self
                .decide(&ContactRef::Id(r.contact), action, None)
                .await?;
            let (verdict, rule, outcome) = match &report.decision {
                Decision::Allowed { allowed_by } => (
                    Verdict::Deliver,
                    allowed_rule(allowed_by).to_owned(),
                    RecipientOutcome::Deliver,
                ),
                Decision::Blocked { cause } => {
                    let rule = cause.code().to_owned();
                    (
                        Verdict::Refuse(Refusal::Blocked { rule: rule.clone() }),
                        rule,
                        RecipientOutcome::Refused,
                    )
                }
                Decision::NeedsJustification { cause, .. } => {
                    let rule = cause.code().to_owned();
                    match &reason {
                        // No usable reason: the copy is held for an operator's (held.rs).
                        None | Some(Err(_)) => {
                            let outcome = self
                                .relay_hold(message_id, &message.envelope_from, r, action, &rule)
                                .await?;
                            (Verdict::Hold { rule: rule.clone() }, rule, outcome)
                        }
                        Some(Ok(reason)) => match report.decision.accept_reason(reason) {
                            Ok(()) => (
                                Verdict::Deliver,
                                rule,
                                RecipientOutcome::Justify {
                                    reason: reason.id,
                                    note: headers.note.clone(),
                                    operator: operator.clone(),
                                },
                            ),
                            Err(consento_domain::DomainError::Invalid { .. }) => {
                                let outcome = self
                                    .relay_hold(
                                        message_id,
                                        &message.envelope_from,
                                        r,
                                        action,
                                        &rule,
                                    )
                                    .await?;
                                (Verdict::Hold { rule: rule.clone() }, rule, outcome)
                            }
                        },
                    }
                }
            };
            verdicts.push(verdict);
            recipients.push(NewRelayRecipient {
                address: r.address.clone(),
                contact_id: Some(r.contact),
                rule,
                outcome,
            });
        }
        let answer = data_answer(&verdicts);
        let DataAnswer::Accept {
            deliver,
            held,
            refused,
        } = answer
        else {
            return Ok(RelayOutcome {
                action,
                verdicts,
                answer,
                stored: None,
            });
        };
        let justified = recipients
            .iter()
            .filter(|r| matches!(r.outcome, RecipientOutcome::Justify { .. }))
            .count();
        let stored = self
            .audited(
                by,
                "relay.accept",
                None,
                json!({
                    "action": action.code(),
                    "deliver": deliver,
                    "refused": refused,
                    "justified": justified,
                    "held": held,
                }),
                self.store.accept_relay_message(NewRelayMessage {
                    id: Some(message_id),
                    token_id: message.token_id,
                    envelope_from: message.envelope_from,
                    action,
                    body: message.body,
                    recipients,
                }),
            )
            .await?;
        for _ in 0..held {
            self.hooks.held_message("held");
        }
        Ok(RelayOutcome {
            action,
            verdicts,
            answer,
            stored: Some(stored),
        })
    }

    /// What holds recipient `r` of relay message `message_id`: a held recipient (source
    /// `relay`, the message's id as its queue id, dropped after the policy's `relay_hold_hours`) and
    /// the email telling `sender` at once, with the signed link to its page: the message is
    /// known by its id before it is stored, so there is no queue id to wait for.
    async fn relay_hold(
        &self,
        message_id: uuid::Uuid,
        sender: &str,
        r: &RelayRecipient,
        action: Action,
        rule: &str,
    ) -> Result<RecipientOutcome, AppError> {
        let now = self.store.now();
        let id = EventId::new_v7(now, self.store.random_bytes()?).0;
        let locale = self.sender_locale(sender).await?;
        let held = NewHeld {
            id,
            source: HeldSource::Relay,
            queue_id: Some(QueueId::parse(&message_id.simple().to_string())?),
            transaction_ref: None,
            sender: sender.to_owned(),
            sender_locale: locale.code().to_owned(),
            recipient: r.address.clone(),
            contact_id: r.contact,
            action,
            rule: rule.to_owned(),
            hold_until: hold_until(now, self.policy.relay_hold_hours),
        };
        let notice = self
            .held_notice(
                id,
                sender,
                &held.sender_locale,
                &r.address,
                r.contact,
                rule,
                now,
                held.hold_until,
            )
            .await?;
        Ok(RecipientOutcome::Hold {
            held: Box::new(held),
            notice: notice.map(Box::new),
        })
    }

    /// Decides a copy once more as it is about to leave: a decision that now blocks it, or a
    /// contact that needs a justification the message did not record, stops it. A bulk copy
    /// that goes carries the contact's own unsubscribe links (RFC 8058 §3.1; RFC 2369).
    pub async fn relay_copy_check(
        &self,
        contact: Option<ContactId>,
        action: Action,
        justified: bool,
    ) -> Result<CopyCheck, AppError> {
        let Some(contact) = contact else {
            return Ok(CopyCheck::Refuse {
                rule: UNKNOWN_CONTACT.to_owned(),
            });
        };
        let report = self.decide(&ContactRef::Id(contact), action, None).await?;
        match &report.decision {
            Decision::Blocked { cause } => {
                return Ok(CopyCheck::Refuse {
                    rule: cause.code().to_owned(),
                });
            }
            Decision::NeedsJustification { cause, .. } if !justified => {
                return Ok(CopyCheck::Refuse {
                    rule: cause.code().to_owned(),
                });
            }
            Decision::Allowed { .. } | Decision::NeedsJustification { .. } => {}
        }
        let links = if action.is_bulk() {
            Some(mail_links(&self.store, &self.policy.public_base_url, contact, None).await?)
        } else {
            None
        };
        Ok(CopyCheck::Send { links })
    }
}
