//! Held messages, for every mail system Consento stands in front of (the Postfix policy
//! service, the relay): an email to a contact that needs a justification (rule 7 of
//! `consento_domain::decide`) and came without one is held instead of sent or lost; its sender
//! is told by email, in their language, with a signed link to the message's page in the
//! console; there an operator picks the reason (the justified contact is recorded in the
//! release's transaction) or drops it; and nobody doing so within the hold (`hold_hours`), it is
//! dropped and the sender told.
//!
//! Letting the message go, or removing it, is the mail system's: the release and the drop leave
//! it to do in the store (the row's handoff), which the source's adapter drains (for Postfix,
//! `postsuper -H` and `postsuper -d`). The relay's copy is in Consento's own outbox, so the
//! store queues or drops it in the release's or the drop's transaction, each copy on its own;
//! the relay holds at the end of `DATA` and tells the sender at once (`relay.rs`). Every change
//! is audited in its own transaction.

use consento_domain::held::{DropCause, HeldSource, HeldStatus, QueueId, hold_until};
use consento_domain::{Action, ContactId, Email, EventId, Locale, ReasonId, Username};
use consento_store::{DecisionReport, HeldMessage, Interaction, NewEmail, NewHeld};
use serde_json::json;
use uuid::Uuid;

use crate::audit::By;
use crate::mail::{HELD_DROPPED, HELD_MESSAGE};
use crate::{App, AppError};

/// A recipient to hold, as its mail system reports it.
#[derive(Clone, PartialEq, Eq)]
pub struct Hold {
    /// Where the message waits.
    pub source: HeldSource,
    /// The mail system's id of the message, if it has one yet.
    pub queue_id: Option<QueueId>,
    /// The SMTP transaction it belongs to, to learn the queue id later (Postfix's `instance`).
    pub transaction_ref: Option<String>,
    /// The envelope sender (empty for a bounce).
    pub sender: String,
    /// The envelope recipient.
    pub recipient: String,
    /// The recipient's contact.
    pub contact_id: ContactId,
    /// The action decided.
    pub action: Action,
    /// The rule that asked for a reason.
    pub rule: String,
}

/// Hides the addresses.
impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hold")
            .field("source", &self.source)
            .field("queue_id", &self.queue_id)
            .field("contact_id", &self.contact_id)
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// The most held recipients one pass of the expiry drops; the next pass takes the rest.
const EXPIRY_BATCH: i64 = 200;

impl App {
    /// Holds one recipient of a message. Its sender is told at once when the message is known
    /// by its queue id, else once it is ([`App::name_held_message`]). Audited as
    /// `held_message.hold` by `by` (the adapter that held it) in the hold's transaction.
    pub async fn hold(&self, by: &By, hold: Hold) -> Result<Uuid, AppError> {
        let now = self.store.now();
        let id = EventId::new_v7(now, self.store.random_bytes()?).0;
        let locale = self.sender_locale(&hold.sender).await?;
        let new = NewHeld {
            id,
            source: hold.source,
            queue_id: hold.queue_id,
            transaction_ref: hold.transaction_ref,
            sender: hold.sender,
            sender_locale: locale.code().to_owned(),
            recipient: hold.recipient,
            contact_id: hold.contact_id,
            action: hold.action,
            rule: hold.rule,
            hold_until: hold_until(now, self.policy.hold_hours),
        };
        let notice = match new.queue_id {
            Some(_) => {
                self.held_notice(
                    id,
                    &new.sender,
                    &new.sender_locale,
                    &new.recipient,
                    new.contact_id,
                    &new.rule,
                    now,
                    new.hold_until,
                )
                .await?
            }
            None => None,
        };
        self.audited(
            by,
            "held_message.hold",
            Some(("contact", new.contact_id.0.to_string())),
            json!({
                "held_message": id,
                "source": new.source.code(),
                "action": new.action.code(),
                "rule": new.rule,
                "hold_until": new.hold_until,
            }),
            self.store.hold_message(&new, notice.as_ref()),
        )
        .await?;
        self.hooks.held_message("held");
        Ok(id)
    }

    /// Names the message of SMTP transaction `transaction_ref` in `source` by `queue_id`, for
    /// the recipients held before the mail system gave it one, and tells their senders now
    /// that the message exists. Audited as `held_message.queue` by `by`, in the same
    /// transaction. Returns how many recipients were named (0: nothing waited).
    pub async fn name_held_message(
        &self,
        by: &By,
        source: HeldSource,
        transaction_ref: &str,
        queue_id: &QueueId,
    ) -> Result<u64, AppError> {
        let waiting = self
            .store
            .held_without_queue_id(source, transaction_ref)
            .await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let mut named = Vec::with_capacity(waiting.len());
        for h in &waiting {
            // Only one still held is announced: one dropped meanwhile (its hold ran out) is
            // named for the record and the mail system's removal.
            let notice = if h.status == HeldStatus::Held {
                self.held_notice(
                    h.id,
                    &h.sender,
                    &h.sender_locale,
                    &h.recipient,
                    h.contact_id,
                    &h.rule,
                    h.held_at,
                    h.hold_until,
                )
                .await?
            } else {
                None
            };
            named.push((h.id, notice));
        }
        let ids: Vec<Uuid> = named.iter().map(|(id, _)| *id).collect();
        self.audited(
            by,
            "held_message.queue",
            None,
            json!({ "source": source.code(), "queue_id": queue_id.as_str(), "held_messages": ids }),
            self.store.name_held_message(queue_id, &named),
        )
        .await
    }

    /// Releases held recipient `id` with `reason` (and `note`), recorded as the justified
    /// contact of `operator` in the release's transaction (rule 7 of the decision; refused for
    /// a contact blocked by now, an inactive reason, or a marketing reason under an objection,
    /// GDPR Art. 21(3)); the message goes once none of its recipients is held. Audited as
    /// `held_message.release` by `by` in the same transaction.
    pub async fn release_held(
        &self,
        by: &By,
        id: Uuid,
        reason: ReasonId,
        note: Option<&str>,
        operator: &str,
    ) -> Result<(DecisionReport, Option<Interaction>), AppError> {
        let held = self.store.held_message(id).await?;
        let (report, interaction) = self
            .audited(
                by,
                "held_message.release",
                Some(("contact", held.contact_id.0.to_string())),
                json!({
                    "held_message": id,
                    "queue_id": held.queue_id,
                    "action": held.action.code(),
                    "rule": held.rule,
                    "reason_id": reason.0,
                }),
                self.store.release_held(id, reason, note, operator),
            )
            .await?;
        self.hooks.decided(report.decision.outcome());
        self.hooks.held_message("released");
        Ok((report, interaction))
    }

    /// Drops held recipient `id` on an operator's word, and with it the rest of its message
    /// (its mail system holds the message whole, and removes it whole); each sender that was
    /// told of the hold is told of the drop. Audited as `held_message.drop` by `by` in the same
    /// transaction. A recipient no longer held is a conflict on `status`.
    pub async fn drop_held(&self, by: &By, id: Uuid) -> Result<Vec<Uuid>, AppError> {
        let held = self.store.held_message(id).await?;
        if held.status != HeldStatus::Held {
            return Err(consento_store::StoreError::Conflict {
                field: "status",
                message: format!("the message is {}, no longer held", held.status.code()),
            }
            .into());
        }
        self.drop_message(by, held, DropCause::Operator).await
    }

    /// Drops every held recipient whose hold ran out, with the rest of its message, telling the
    /// senders; audited as `held_message.drop` by Consento itself. Returns how many were
    /// dropped.
    pub async fn drop_expired_held(&self) -> Result<usize, AppError> {
        let by = By::system();
        let mut dropped = 0;
        loop {
            let expired = self
                .store
                .expired_held(self.store.now(), EXPIRY_BATCH)
                .await?;
            let full = expired.len() as i64 >= EXPIRY_BATCH;
            let mut done: Vec<Uuid> = Vec::new();
            for held in expired {
                // Dropped with an earlier recipient of its message in this pass.
                if done.contains(&held.id) {
                    continue;
                }
                let ids = self.drop_message(&by, held, DropCause::Expired).await?;
                dropped += ids.len();
                done.extend(ids);
            }
            if !full || done.is_empty() {
                return Ok(dropped);
            }
        }
    }

    /// Drops `held` and the recipients of its message not yet let go, for `cause`.
    async fn drop_message(
        &self,
        by: &By,
        held: HeldMessage,
        cause: DropCause,
    ) -> Result<Vec<Uuid>, AppError> {
        let siblings = self.store.held_siblings(&held).await?;
        let (contact, main, queue_id) = (held.contact_id, held.id, held.queue_id.clone());
        let mut targets = vec![held];
        targets.extend(siblings.into_iter().filter(|s| {
            s.status == HeldStatus::Held
                || (s.status == HeldStatus::Released && s.handoff_done_at.is_none())
        }));
        let now = self.store.now();
        let mut ids = Vec::with_capacity(targets.len());
        for h in &targets {
            let notice = match h.notified_at {
                Some(_) => dropped_notice(h, cause, now),
                None => None,
            };
            ids.push((h.id, notice));
        }
        let dropped = self
            .audited(
                by,
                "held_message.drop",
                Some(("contact", contact.0.to_string())),
                json!({
                    "held_message": main,
                    "queue_id": queue_id,
                    "cause": cause.code(),
                    "held_messages": ids.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
                }),
                self.store.drop_held(&ids, cause),
            )
            .await?;
        for _ in &dropped {
            self.hooks.held_message("dropped");
        }
        Ok(dropped)
    }

    /// The link to held message `id`'s page in the console, as its sender gets it: signed, so
    /// that it names that message and cannot be made to name another; the page still needs a
    /// signed-in operator.
    pub async fn held_link(&self, id: Uuid) -> Result<String, AppError> {
        let token = crate::links::seal_held(&self.store, id).await?;
        Ok(self.policy.public_url(&format!("/held/{token}")))
    }

    /// The held message a link's token names, if it is one of this installation's.
    pub async fn open_held_link(&self, token: &str) -> Result<Option<Uuid>, AppError> {
        Ok(crate::links::open_held(&self.store, token).await?)
    }

    /// The language to write to `sender` in: the one chosen in the console by the account whose
    /// username is the address, else the deployment's default.
    pub(crate) async fn sender_locale(&self, sender: &str) -> Result<Locale, AppError> {
        let chosen = match Username::parse(sender) {
            Ok(name) => self.store.locale_of_user(&name).await?,
            Err(_) => None,
        };
        Ok(chosen
            .as_deref()
            .and_then(Locale::parse)
            .unwrap_or(self.policy.default_locale))
    }

    /// The email telling `sender` that their message to `recipient` is held, with the signed
    /// link to its page; none for a sender that is no address (a bounce).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn held_notice(
        &self,
        id: Uuid,
        sender: &str,
        locale: &str,
        recipient: &str,
        contact: ContactId,
        rule: &str,
        held_at: consento_domain::Timestamp,
        until: consento_domain::Timestamp,
    ) -> Result<Option<NewEmail>, AppError> {
        if Email::parse(sender).is_err() {
            return Ok(None);
        }
        let link = self.held_link(id).await?;
        Ok(Some(NewEmail {
            contact_id: Some(contact),
            to: sender.to_owned(),
            locale: locale.to_owned(),
            template: HELD_MESSAGE.to_owned(),
            payload: json!({
                "link": link,
                "recipient": recipient,
                "rule": rule,
                "held_at": held_at.as_micros(),
                "hold_until": until.as_micros(),
            }),
        }))
    }
}

/// The email telling the sender of `held` that it was dropped, and why; none for a sender that
/// is no address.
fn dropped_notice(
    held: &HeldMessage,
    cause: DropCause,
    now: consento_domain::Timestamp,
) -> Option<NewEmail> {
    Email::parse(&held.sender).ok()?;
    Some(NewEmail {
        contact_id: Some(held.contact_id),
        to: held.sender.clone(),
        locale: held.sender_locale.clone(),
        template: HELD_DROPPED.to_owned(),
        payload: json!({
            "recipient": held.recipient,
            "rule": held.rule,
            "held_at": held.held_at.as_micros(),
            "dropped_at": now.as_micros(),
            "cause": cause.code(),
        }),
    })
}
