//! The enforcing SMTP relay's outbox: a message the relay accepted, stored with every recipient's
//! decision in one transaction (with the justified contacts its `X-Consento-Reason` recorded)
//! before the relay answers `250`, and the relay worker's side of it: claiming due copies under a
//! lease, recording each outcome, and removing the body once every copy is delivered or given up.
//! A copy that needs a justification the message did not give is stored `held`, with its
//! `held_messages` row and the sender's notice in the same transaction (held.rs releases or
//! drops it); the body stays while it is held.
//!
//! A body and the addresses are personal data (GDPR Art. 4(1)): the body is sealed under the
//! master key while it waits (sealing.rs; bound to its message), and when the last copy is done
//! the body, the envelope sender and the recipients' addresses go; the record stays (message,
//! contact, action, rule, reason, instants, status). Nothing here puts an address or a body into
//! an error or a `Debug` output.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use consento_domain::relay::DeliveryStatus;
use consento_domain::sealed::Slot;
use consento_domain::{Action, ContactId, DomainError, ReasonId, Timestamp};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::sync::oneshot::error::TryRecvError;
use uuid::Uuid;

use crate::decide::insert_interaction;
use crate::held::{INSERT_HELD, NewHeld};
use crate::mail::{INSERT_EMAIL, NewEmail};
use crate::outbox::{NextAttempt, lease_until, skip_locked};
use crate::row::Cols;
use crate::{Backend, ContactRef, Interaction, Store, StoreError, in_write_tx, on_read_pool};

/// What becomes of one recipient of a message to store.
#[derive(Clone, PartialEq, Eq)]
pub enum RecipientOutcome {
    /// A copy goes: the decision allows it.
    Deliver,
    /// A copy goes once this justified contact is recorded with the message (rule 7 of
    /// `consento_domain::decide`).
    Justify {
        /// The reason picked.
        reason: ReasonId,
        /// The sender's note, if any.
        note: Option<String>,
        /// Who is recorded as having made the contact.
        operator: String,
    },
    /// No copy goes: the decision refused it (its rule says why).
    Refused,
    /// The copy is held until an operator gives a reason (held.rs): `held` is recorded with the
    /// message, source `relay`, its queue id the message's id, and `notice` (the email telling
    /// the sender, with the signed link) goes to the outbox in the same transaction.
    Hold {
        /// The held recipient to record.
        held: Box<NewHeld>,
        /// The email that tells the sender, if the sender is an address.
        notice: Option<Box<NewEmail>>,
    },
}

/// One recipient of a message to store, as the relay decided it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRelayRecipient {
    /// The address (normalised).
    pub address: String,
    /// The contact it belongs to, if any.
    pub contact_id: Option<ContactId>,
    /// The rule that decided (`consent`, `check_disabled`, or a cause's code).
    pub rule: String,
    /// What becomes of it.
    pub outcome: RecipientOutcome,
}

/// Hides the address.
impl std::fmt::Debug for NewRelayRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRelayRecipient")
            .field("contact_id", &self.contact_id)
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// A message the relay accepted, to store before it answers `250`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRelayMessage {
    /// Its id (UUIDv7), when the caller drew it (a held copy's queue id names it); else drawn
    /// here.
    pub id: Option<Uuid>,
    /// The token the client authenticated with.
    pub token_id: Uuid,
    /// The envelope sender (`MAIL FROM`; empty for the null sender).
    pub envelope_from: String,
    /// `email.single` or `email.bulk`, for every recipient.
    pub action: Action,
    /// The message as received (headers and body, dots unstuffed).
    pub body: Vec<u8>,
    /// Its recipients, in the order given.
    pub recipients: Vec<NewRelayRecipient>,
}

/// Hides the addresses and the body.
impl std::fmt::Debug for NewRelayMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRelayMessage")
            .field("token_id", &self.token_id)
            .field("action", &self.action)
            .field("size", &self.body.len())
            .field("recipients", &self.recipients)
            .finish_non_exhaustive()
    }
}

/// A stored message: its id, and the justified contacts recorded with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedRelayMessage {
    /// Its id (UUIDv7).
    pub id: Uuid,
    /// The justified contacts recorded in its transaction.
    pub interactions: Vec<Interaction>,
}

/// One recipient's copy claimed for delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayCopy {
    /// The copy's id (a row of `relay_deliveries`).
    pub id: Uuid,
    /// Its message.
    pub message_id: Uuid,
    /// The envelope sender (empty for the null sender).
    pub envelope_from: String,
    /// The recipient's address.
    pub recipient: String,
    /// The recipient's contact, if any.
    pub contact_id: Option<ContactId>,
    /// The action the message was decided as.
    pub action: Action,
    /// Whether a justified contact let it through (the decision needs a reason).
    pub justified: bool,
    /// Whether it is a delivery status notification to a sender ([`DSN_RULE`]): not a contact
    /// attempt, so neither decided nor edited.
    pub notice: bool,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The message as received; shared by the copies of one message claimed together.
    pub body: Arc<Vec<u8>>,
}

/// Hides the addresses and the body.
impl std::fmt::Debug for RelayCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayCopy")
            .field("id", &self.id)
            .field("message_id", &self.message_id)
            .field("contact_id", &self.contact_id)
            .field("action", &self.action)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// One recipient's record, as kept for the log (no address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayDelivery {
    /// The copy's id.
    pub id: Uuid,
    /// Its message.
    pub message_id: Uuid,
    /// The recipient's contact, if any.
    pub contact_id: Option<ContactId>,
    /// The action decided.
    pub action: Action,
    /// The rule that decided.
    pub rule: String,
    /// The reason, when a justified contact let it through.
    pub reason_id: Option<ReasonId>,
    /// That justified contact.
    pub interaction_id: Option<Uuid>,
    /// Where the copy stands.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure's short code (`smtp_451`, `connect`…).
    pub last_error: Option<String>,
    /// When the upstream server accepted it.
    pub delivered_at: Option<Timestamp>,
    /// The last change.
    pub updated_at: Timestamp,
}

/// A stored message as kept for the log: no address, no body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayRecord {
    /// Its id.
    pub id: Uuid,
    /// The token that sent it.
    pub token_id: Uuid,
    /// When it was accepted.
    pub received_at: Timestamp,
    /// Its size in bytes.
    pub size: i64,
    /// Whether the body is still kept (some copy is still under way).
    pub body_kept: bool,
    /// When the body, the sender and the addresses were removed.
    pub purged_at: Option<Timestamp>,
    /// Its recipients, in the order given.
    pub deliveries: Vec<RelayDelivery>,
}

/// The copies still under way, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RelayOutboxStats {
    /// Copies queued or deferred.
    pub pending: i64,
}

/// The rule of a delivery status notification's copy (RFC 3464): the relay telling a sender
/// that a copy of their message was given up; its recipient is the sender, no contact.
pub const DSN_RULE: &str = "dsn";

/// The most messages written in one transaction.
const MAX_ACCEPT_GROUP: usize = 64;

type AcceptWaiter = oneshot::Sender<Result<(), StoreError>>;

/// Accepted messages waiting to be written, and the turn to write them. The relay answers `250`
/// only once a message is durable, and with `synchronous=FULL` each commit costs a disk flush:
/// messages arriving while another is being written wait, and whoever takes the next turn
/// writes them all in one transaction (as consent appends do, commit.rs). A message's rows are
/// its own; only the commit is shared. A caller cancelled while it waits leaves its message to
/// be written by the next turn though it gets no answer: the relay's sessions are never
/// cancelled inside `DATA` (a shutdown waits for them).
#[derive(Default)]
pub(crate) struct RelayAccepts {
    waiting: std::sync::Mutex<Vec<(PreparedAccept, AcceptWaiter)>>,
    turn: tokio::sync::Mutex<()>,
    /// Transactions that wrote more than one message.
    shared: std::sync::atomic::AtomicU64,
}

impl RelayAccepts {
    fn push(&self, p: PreparedAccept, w: AcceptWaiter) -> Result<(), StoreError> {
        self.waiting
            .lock()
            .map_err(|_| StoreError::Corrupt("relay accept queue"))?
            .push((p, w));
        Ok(())
    }

    fn take(&self) -> Vec<(PreparedAccept, AcceptWaiter)> {
        match self.waiting.lock() {
            Ok(mut waiting) => {
                let n = waiting.len().min(MAX_ACCEPT_GROUP);
                waiting.drain(..n).collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

/// An accepted message, ready to write: everything decided, sealed and numbered before the
/// write lock is taken.
pub(crate) struct PreparedAccept {
    id: Uuid,
    token_id: Uuid,
    envelope_from: String,
    action: Action,
    at: i64,
    size: i64,
    /// Sealed.
    body: Vec<u8>,
    interactions: Vec<Interaction>,
    rows: Vec<PreparedDelivery>,
    notices: Vec<crate::held::Notice>,
    audit: Option<crate::audit::AuditRow>,
}

/// One recipient's row, ready to write.
struct PreparedDelivery {
    id: Uuid,
    address: String,
    contact: Option<Uuid>,
    rule: String,
    reason: Option<Uuid>,
    interaction: Option<Uuid>,
    status: DeliveryStatus,
    /// Its hold, and whether its sender is told now.
    held: Option<(NewHeld, bool)>,
}

/// Writes prepared message `$p` in transaction `$tx`.
macro_rules! write_accept {
    ($tx:ident, $p:expr) => {{
        let p: &PreparedAccept = $p;
        let at = p.at;
        sqlx::query("INSERT INTO relay_messages (id, token_id, envelope_from, received_at, size, body) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(p.id).bind(p.token_id).bind(&p.envelope_from).bind(at).bind(p.size).bind(&p.body)
            .execute(&mut *$tx).await?;
        for i in &p.interactions {
            insert_interaction!($tx, i);
        }
        for d in &p.rows {
            let next = d.status.is_due_later().then_some(at);
            if let Some((held, notified)) = &d.held {
                sqlx::query(INSERT_HELD)
                    .bind(held.id).bind(held.source.code()).bind(held.queue_id.as_ref().map(consento_domain::held::QueueId::as_str))
                    .bind(&held.transaction_ref).bind(&held.sender).bind(&held.sender_locale)
                    .bind(&held.recipient).bind(held.contact_id.0).bind(held.action.code()).bind(&held.rule)
                    .bind(at).bind(held.hold_until.as_micros())
                    .bind(notified.then_some(at))
                    .execute(&mut *$tx).await?;
            }
            sqlx::query("INSERT INTO relay_deliveries (id, message_id, recipient, contact_id, action, rule, reason_id, interaction_id, status, next_attempt_at, updated_at, held_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                .bind(d.id).bind(p.id).bind(&d.address).bind(d.contact)
                .bind(p.action.code()).bind(&d.rule)
                .bind(d.reason).bind(d.interaction)
                .bind(d.status.code()).bind(next).bind(at).bind(d.held.as_ref().map(|(h, _)| h.id))
                .execute(&mut *$tx).await?;
        }
        for n in &p.notices {
            sqlx::query(INSERT_EMAIL)
                .bind(n.id).bind(n.contact_id).bind(&n.to).bind(&n.locale)
                .bind(&n.template).bind(&n.payload).bind(at)
                .execute(&mut *$tx).await?;
        }
        if let Some(row) = &p.audit {
            crate::users::insert_audit!($tx, row.id, row.at, row.input, &row.detail);
        }
    }};
}

/// The due copies: queued or deferred, due, not leased by a live worker. $1 now.
const DUE: &str = "FROM relay_deliveries WHERE status IN ('queued', 'deferred') AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)";

/// Claims up to $3 due copies until $2, each claim an attempt; concurrent claimers skip each
/// other's rows.
fn claim_sql(backend: Backend) -> String {
    let lock = skip_locked(backend, None);
    format!(
        "UPDATE relay_deliveries SET lease_until = $2, attempts = attempts + 1 WHERE id IN (SELECT id {DUE} ORDER BY next_attempt_at, id LIMIT $3 {lock}) RETURNING id, message_id, recipient, contact_id, action, rule, reason_id, attempts"
    )
}

/// Removes the body, the sender and the recipients' addresses of message `$id` once none of its
/// copies is under way or held (at `$now`), in transaction `$tx`.
macro_rules! purge_if_done {
    ($tx:ident, $id:expr, $now:expr) => {{
        let purged = sqlx::query("UPDATE relay_messages SET body = NULL, envelope_from = NULL, purged_at = $2 WHERE id = $1 AND purged_at IS NULL AND NOT EXISTS (SELECT 1 FROM relay_deliveries WHERE message_id = $1 AND status IN ('queued', 'deferred', 'held'))")
            .bind($id).bind($now)
            .execute(&mut *$tx).await?
            .rows_affected();
        if purged > 0 {
            sqlx::query("UPDATE relay_deliveries SET recipient = NULL WHERE message_id = $1")
                .bind($id)
                .execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use purge_if_done;

const DELIVERY_COLS: &str = "id, message_id, contact_id, action, rule, reason_id, interaction_id, status, attempts, last_error, delivered_at, updated_at";

fn delivery_from(row: &impl Cols) -> Result<RelayDelivery, StoreError> {
    Ok(RelayDelivery {
        id: row.uuid("id")?,
        message_id: row.uuid("message_id")?,
        contact_id: row.opt_uuid("contact_id")?.map(ContactId),
        action: Action::parse(&row.text("action")?)?,
        rule: row.text("rule")?,
        reason_id: row.opt_uuid("reason_id")?.map(ReasonId),
        interaction_id: row.opt_uuid("interaction_id")?,
        status: DeliveryStatus::parse(&row.text("status")?)?,
        attempts: row.int("attempts")?,
        last_error: row.opt_text("last_error")?,
        delivered_at: row.opt_int("delivered_at")?.map(Timestamp::from_micros),
        updated_at: Timestamp::from_micros(row.int("updated_at")?),
    })
}

fn body_slot(id: &str) -> Slot<'_> {
    Slot::new("relay_messages", "body", id)
}

impl Store {
    /// Stores a message the relay accepted, with every recipient's decision and the justified
    /// contacts it records, in one transaction: once this returns, the message is durable and the
    /// relay may answer `250` (RFC 5321 §4.1.1.4: the server takes responsibility for it). Each
    /// justified contact is checked again here as [`Store::justify`] checks it (a change since
    /// the relay decided refuses the whole message, which the client may then send again); one
    /// that turns out allowed needs no record. Run it within [`Store::audited`]: the entry
    /// names the message and the justified contacts.
    pub async fn accept_relay_message(
        &self,
        message: NewRelayMessage,
    ) -> Result<AcceptedRelayMessage, StoreError> {
        if !matches!(message.action, Action::EmailSingle | Action::EmailBulk) {
            return Err(DomainError::invalid("action", "must be an email action").into());
        }
        if !message
            .recipients
            .iter()
            .any(|r| r.outcome != RecipientOutcome::Refused)
        {
            return Err(DomainError::invalid("recipients", "no recipient gets a copy").into());
        }
        let now = self.now();
        let at = now.as_micros();
        let id = match message.id {
            Some(id) => id,
            None => self.new_uuid(now)?,
        };
        let ids = self.new_uuids(now, message.recipients.len())?;
        let mut rows = Vec::with_capacity(message.recipients.len());
        let mut interactions = Vec::new();
        let mut notices = Vec::new();
        for (r, delivery) in message.recipients.into_iter().zip(ids) {
            let (status, rule, interaction, held) = match r.outcome {
                RecipientOutcome::Refused => (DeliveryStatus::Refused, r.rule, None, None),
                RecipientOutcome::Hold { held, notice } => {
                    let notice = notice.as_deref().map(|n| self.notice(n)).transpose()?;
                    let notified = notice.is_some();
                    notices.extend(notice);
                    (DeliveryStatus::Held, r.rule, None, Some((*held, notified)))
                }
                RecipientOutcome::Deliver => (DeliveryStatus::Queued, r.rule, None, None),
                RecipientOutcome::Justify {
                    reason,
                    note,
                    operator,
                } => {
                    let contact = r.contact_id.ok_or_else(|| {
                        DomainError::invalid("contact", "a justified contact needs a contact")
                    })?;
                    let (report, interaction) = self
                        .justification(
                            &ContactRef::Id(contact),
                            message.action,
                            reason,
                            note.as_deref(),
                            &operator,
                        )
                        .await?;
                    let rule = match (&interaction, &report.decision) {
                        (Some(i), _) => i.cause.clone().unwrap_or_else(|| r.rule.clone()),
                        (None, consento_domain::Decision::Allowed { allowed_by }) => {
                            match allowed_by {
                                consento_domain::AllowedBy::CheckDisabled => "check_disabled",
                                consento_domain::AllowedBy::Consent { .. } => "consent",
                            }
                            .to_owned()
                        }
                        (None, _) => r.rule,
                    };
                    (DeliveryStatus::Queued, rule, interaction, None)
                }
            };
            let justified = interaction
                .as_ref()
                .map(|i| (i.id, i.reason_id.map(|r| r.0)));
            interactions.extend(interaction);
            rows.push(PreparedDelivery {
                id: delivery,
                address: r.address,
                contact: r.contact_id.map(|c| c.0),
                rule,
                reason: justified.and_then(|(_, reason)| reason),
                interaction: justified.map(|(interaction, _)| interaction),
                status,
                held,
            });
        }
        let body = self.seal(&body_slot(&id.to_string()), &message.body)?;
        let size = i64::try_from(message.body.len()).unwrap_or(i64::MAX);
        crate::audit::set_target_id("relay_message", id);
        crate::audit::add_detail(
            "interaction_ids",
            serde_json::json!(interactions.iter().map(|i| i.id).collect::<Vec<_>>()),
        );
        // The audit entry goes with the message, in the transaction that writes it (possibly
        // another caller's: see `RelayAccepts`).
        let audit = crate::audit::take_pending()
            .map(|input| self.audit_row(input))
            .transpose()?;
        let prepared = PreparedAccept {
            id,
            token_id: message.token_id,
            envelope_from: message.envelope_from,
            action: message.action,
            at,
            size,
            body,
            interactions,
            rows,
            notices,
            audit,
        };
        self.accept_grouped(prepared).await
    }

    /// Transactions that wrote several accepted messages since the store was opened.
    pub fn relay_shared_commits(&self) -> u64 {
        self.relay_accepts
            .shared
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Writes `p` with whatever other accepted messages wait, in one transaction (see
    /// [`RelayAccepts`]); `Ok` once it is durable.
    async fn accept_grouped(&self, p: PreparedAccept) -> Result<AcceptedRelayMessage, StoreError> {
        let (id, interactions) = (p.id, p.interactions.clone());
        let (tx, mut rx) = oneshot::channel();
        self.relay_accepts.push(p, tx)?;
        // Answered by another's commit while waiting for the turn: done, without taking it.
        let turn = tokio::select! {
            biased;
            answer = &mut rx => {
                return match answer {
                    Ok(result) => result.map(|()| AcceptedRelayMessage { id, interactions }),
                    Err(_) => self.accept_landed(id, interactions).await,
                };
            }
            turn = self.relay_accepts.turn.lock() => turn,
        };
        loop {
            // A writer before us may have written ours with its group.
            match rx.try_recv() {
                Ok(result) => return result.map(|()| AcceptedRelayMessage { id, interactions }),
                Err(TryRecvError::Closed) => break,
                Err(TryRecvError::Empty) => {}
            }
            let group = self.relay_accepts.take();
            if group.is_empty() {
                break;
            }
            self.write_accepts(group).await;
        }
        drop(turn);
        self.accept_landed(id, interactions).await
    }

    /// Only when the writer that took message `id` was cancelled mid-way: did it land?
    async fn accept_landed(
        &self,
        id: Uuid,
        interactions: Vec<Interaction>,
    ) -> Result<AcceptedRelayMessage, StoreError> {
        let stored = on_read_pool!(self, pool => {
            sqlx::query("SELECT id FROM relay_messages WHERE id = $1")
                .bind(id).fetch_optional(pool).await?.is_some()
        });
        if stored {
            Ok(AcceptedRelayMessage { id, interactions })
        } else {
            Err(StoreError::Stale)
        }
    }

    /// Writes a group in one transaction (one commit, one disk flush), each message with its
    /// own rows and audit entry; should that fail, each message alone, so that one that cannot
    /// be written (a contact erased meanwhile) fails by itself.
    async fn write_accepts(&self, group: Vec<(PreparedAccept, AcceptWaiter)>) {
        if group.len() > 1 {
            let all: Result<(), StoreError> = async {
                in_write_tx!(self, tx => {
                    for (p, _) in &group {
                        write_accept!(tx, p);
                    }
                });
                Ok(())
            }
            .await;
            if all.is_ok() {
                self.relay_accepts
                    .shared
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                for (_, w) in group {
                    // A waiter that went away (its session was cancelled) needs no answer.
                    let _ = w.send(Ok(()));
                }
                return;
            }
        }
        for (p, w) in group {
            let one: Result<(), StoreError> = async {
                in_write_tx!(self, tx => {
                    write_accept!(tx, &p);
                });
                Ok(())
            }
            .await;
            let _ = w.send(one);
        }
    }

    /// Claims up to `batch` due copies for `lease`: until then no other worker, in this process
    /// or another, claims them; if this worker dies, they are claimed again when the lease ends.
    /// Oldest first; the copies of one message share its opened body.
    pub async fn claim_relay_copies(
        &self,
        batch: i64,
        lease: Duration,
    ) -> Result<Vec<RelayCopy>, StoreError> {
        let now = self.now();
        let lease_until = lease_until(now, lease);
        let now = now.as_micros();
        // Read first: most polls find nothing due, and should not take the write lock.
        let due: Option<Uuid> = on_read_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id {DUE} LIMIT 1")))
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        if due.is_none() {
            return Ok(Vec::new());
        }
        let sql = claim_sql(self.backend());
        // The claim alone holds the write lock; the bodies are read after it, on the read pool:
        // a claimed copy's message keeps its body until the copy's last outcome is recorded.
        let claimed = in_write_tx!(self, tx => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now).bind(lease_until).bind(batch.clamp(1, 1000))
                .fetch_all(&mut *tx)
                .await?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in &rows {
                claimed.push(RelayCopy {
                    id: row.uuid("id")?,
                    message_id: row.uuid("message_id")?,
                    envelope_from: String::new(),
                    recipient: row
                        .opt_text("recipient")?
                        .ok_or(StoreError::Corrupt("a relayed copy under way has no recipient"))?,
                    contact_id: row.opt_uuid("contact_id")?.map(ContactId),
                    action: Action::parse(&row.text("action")?)?,
                    justified: row.opt_uuid("reason_id")?.is_some(),
                    notice: row.text("rule")? == DSN_RULE,
                    attempts: row.int("attempts")?,
                    body: Arc::new(Vec::new()),
                });
            }
            claimed
        });
        // A message whose body went between the claim and this read (an erasure refused its
        // copies meanwhile) is left out, alone: the rest of the batch goes. A body that cannot
        // be opened is an error of the whole claim, as the database is not what it should be.
        // Each message's envelope sender and opened body, or `None` when its body is gone.
        type Opened = Option<(String, Arc<Vec<u8>>)>;
        let mut messages: HashMap<Uuid, Opened> = HashMap::new();
        let mut copies = Vec::with_capacity(claimed.len());
        for mut copy in claimed {
            if let std::collections::hash_map::Entry::Vacant(slot) = messages.entry(copy.message_id)
            {
                let (from, sealed): (Option<String>, Option<Vec<u8>>) = on_read_pool!(self, pool => {
                    match sqlx::query("SELECT envelope_from, body FROM relay_messages WHERE id = $1")
                        .bind(copy.message_id)
                        .fetch_optional(pool)
                        .await?
                    {
                        Some(m) => (m.opt_text("envelope_from")?, m.opt_bytes("body")?),
                        None => (None, None),
                    }
                });
                let opened = sealed
                    .map(|sealed| self.unseal(&body_slot(&copy.message_id.to_string()), &sealed))
                    .transpose()?;
                slot.insert(opened.map(|body| (from.unwrap_or_default(), Arc::new(body))));
            }
            let Some(Some((from, body))) = messages.get(&copy.message_id).cloned() else {
                continue;
            };
            copy.envelope_from = from;
            copy.body = body;
            copies.push(copy);
        }
        // RETURNING gives no order; oldest first (UUIDv7 ids follow their instants).
        copies.sort_by_key(|c| (c.message_id, c.id));
        Ok(copies)
    }

    /// Records that the upstream server accepted a copy; the message's body goes once no copy
    /// is under way.
    pub async fn mark_relay_delivered(&self, id: Uuid) -> Result<(), StoreError> {
        self.mark_relay_delivered_all(&[id]).await
    }

    /// Records that the upstream server accepted each of `ids`, in one transaction: a worker's
    /// pass records its deliveries with one commit (one disk flush) instead of one each, so
    /// that it holds the write lock, which the relay's `250` waits for, as briefly as it can.
    /// Each message's body goes once no copy of it is under way.
    pub async fn mark_relay_delivered_all(&self, ids: &[Uuid]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            let mut done: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
            for id in ids {
                let message: Option<Uuid> = sqlx::query_scalar("UPDATE relay_deliveries SET status = 'delivered', delivered_at = $2, updated_at = $2, next_attempt_at = NULL, lease_until = NULL, last_error = NULL WHERE id = $1 AND status IN ('queued', 'deferred') RETURNING message_id")
                    .bind(id).bind(now)
                    .fetch_optional(&mut *tx).await?;
                if let Some(message) = message {
                    done.insert(message);
                }
            }
            for message in done {
                purge_if_done!(tx, message, now);
            }
        });
        Ok(())
    }

    /// Records a failed attempt with a short error code (`smtp_451`, `connect`; never the
    /// server's text, which may quote the address): deferred until the next attempt, or bounced
    /// for good (the message's body then goes once no copy is under way).
    pub async fn mark_relay_failed(
        &self,
        id: Uuid,
        error_code: &str,
        next: NextAttempt,
    ) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        let code: String = error_code.chars().take(64).collect();
        in_write_tx!(self, tx => {
            let message: Option<Uuid> = match next {
                NextAttempt::At(at) => sqlx::query_scalar("UPDATE relay_deliveries SET status = 'deferred', last_error = $2, next_attempt_at = $3, lease_until = NULL, updated_at = $4 WHERE id = $1 AND status IN ('queued', 'deferred') RETURNING message_id")
                    .bind(id).bind(&code).bind(at.as_micros()).bind(now),
                NextAttempt::Dead => sqlx::query_scalar("UPDATE relay_deliveries SET status = 'bounced', last_error = $2, next_attempt_at = NULL, lease_until = NULL, updated_at = $3 WHERE id = $1 AND status IN ('queued', 'deferred') RETURNING message_id")
                    .bind(id).bind(&code).bind(now),
            }
            .fetch_optional(&mut *tx).await?;
            if let Some(message) = message {
                purge_if_done!(tx, message, now);
            }
        });
        Ok(())
    }

    /// Gives a copy up for good (`error_code` as in [`Store::mark_relay_failed`]) and, in the
    /// same transaction, queues `notice` (a delivery status notification, RFC 3464) to the
    /// message's envelope sender, sent from the null sender (so that its own failure is never
    /// notified: RFC 5321 §4.5.5) and purged like any copy once it is out. A message from the
    /// null sender, or a copy already done, queues nothing.
    pub async fn bounce_relay_copy(
        &self,
        id: Uuid,
        error_code: &str,
        notice: &[u8],
    ) -> Result<(), StoreError> {
        let now = self.now();
        let at = now.as_micros();
        let code: String = error_code.chars().take(64).collect();
        let notice_id = self.new_uuid(now)?;
        let notice_copy = self.new_uuid(now)?;
        let sealed = self.seal(&body_slot(&notice_id.to_string()), notice)?;
        let size = i64::try_from(notice.len()).unwrap_or(i64::MAX);
        in_write_tx!(self, tx => {
            let message: Option<Uuid> = sqlx::query_scalar("UPDATE relay_deliveries SET status = 'bounced', last_error = $2, next_attempt_at = NULL, lease_until = NULL, updated_at = $3 WHERE id = $1 AND status IN ('queued', 'deferred') RETURNING message_id")
                .bind(id).bind(&code).bind(at)
                .fetch_optional(&mut *tx).await?;
            if let Some(message) = message {
                let sender = sqlx::query("SELECT token_id, envelope_from FROM relay_messages WHERE id = $1")
                    .bind(message)
                    .fetch_one(&mut *tx).await?;
                let to = sender.opt_text("envelope_from")?.unwrap_or_default();
                if !to.is_empty() {
                    sqlx::query("INSERT INTO relay_messages (id, token_id, envelope_from, received_at, size, body) VALUES ($1, $2, '', $3, $4, $5)")
                        .bind(notice_id).bind(sender.uuid("token_id")?).bind(at).bind(size).bind(&sealed)
                        .execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO relay_deliveries (id, message_id, recipient, contact_id, action, rule, status, next_attempt_at, updated_at) VALUES ($1, $2, $3, NULL, 'email.single', $4, 'queued', $5, $5)")
                        .bind(notice_copy).bind(notice_id).bind(&to).bind(DSN_RULE).bind(at)
                        .execute(&mut *tx).await?;
                }
                purge_if_done!(tx, message, at);
            }
        });
        Ok(())
    }

    /// Records that a copy is not sent after all: the decision, asked again at delivery, now
    /// refuses it (`rule`: a withdrawal, an erasure, an objection since the message came).
    pub async fn refuse_relay_copy(&self, id: Uuid, rule: &str) -> Result<(), StoreError> {
        let now = self.now().as_micros();
        let rule: String = rule.chars().take(64).collect();
        in_write_tx!(self, tx => {
            let message: Option<Uuid> = sqlx::query_scalar("UPDATE relay_deliveries SET status = 'refused', rule = $2, next_attempt_at = NULL, lease_until = NULL, updated_at = $3 WHERE id = $1 AND status IN ('queued', 'deferred') RETURNING message_id")
                .bind(id).bind(&rule).bind(now)
                .fetch_optional(&mut *tx).await?;
            if let Some(message) = message {
                purge_if_done!(tx, message, now);
            }
        });
        Ok(())
    }

    /// A stored message's record (no address, no body), if it exists.
    pub async fn relay_record(&self, id: Uuid) -> Result<Option<RelayRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM relay_deliveries WHERE message_id = $1 ORDER BY id"
        );
        on_read_pool!(self, pool => {
            let Some(m) = sqlx::query("SELECT id, token_id, received_at, size, body IS NOT NULL AS body_kept, purged_at FROM relay_messages WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
            else {
                return Ok(None);
            };
            let deliveries = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_all(pool)
                .await?
                .iter()
                .map(delivery_from)
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(Some(RelayRecord {
                id: m.uuid("id")?,
                token_id: m.uuid("token_id")?,
                received_at: Timestamp::from_micros(m.int("received_at")?),
                size: m.int("size")?,
                body_kept: m.flag("body_kept")?,
                purged_at: m.opt_int("purged_at")?.map(Timestamp::from_micros),
                deliveries,
            }))
        })
    }

    /// A contact's relayed messages, newest first, at most `limit`: the relay's log on the card.
    pub async fn relay_deliveries_of(
        &self,
        contact: ContactId,
        limit: i64,
    ) -> Result<Vec<RelayDelivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM relay_deliveries WHERE contact_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(contact.0)
                .bind(limit.clamp(1, 1000))
                .fetch_all(pool)
                .await?
                .iter()
                .map(delivery_from)
                .collect()
        })
    }

    /// How many copies are under way.
    pub async fn relay_outbox_stats(&self) -> Result<RelayOutboxStats, StoreError> {
        on_read_pool!(self, pool => {
            let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM relay_deliveries WHERE status IN ('queued', 'deferred')")
                .fetch_one(pool)
                .await?;
            Ok(RelayOutboxStats { pending })
        })
    }
}
