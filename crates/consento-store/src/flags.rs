//! The restriction of processing (GDPR Art. 18) and the objection (Art. 21) of a contact: setting
//! and lifting them, each with its append-only history row (who, when, and the data-subject
//! request it answered), the suppression entries an objection adds, and the email that tells the
//! person a restriction is lifted (Art. 18(3)), all in one transaction.
//!
//! A data-subject request of kind restriction or objection applies its flag when it is completed
//! (see `move_request`): the same statements run inside that request's transaction, through
//! [`apply_flag!`].

use consento_domain::{Actor, ActorKind, ContactId, RequestId, Timestamp};
use serde::Serialize;

use crate::row::Cols;
use crate::{ContactRef, Store, StoreError, in_write_tx, on_read_pool};

/// One of the two flags a person can ask for, which the decision rules honour (rules 2 and 3 of
/// `consento_domain::decide`: restriction, GDPR Art. 18; objection, Art. 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactFlag {
    /// Restriction of processing (Art. 18): every contact is blocked.
    Restriction,
    /// Objection to direct marketing (Art. 21(2)–(3)): bulk sends are blocked, single contacts
    /// need a reason that is not marketing.
    Objection,
}

impl ContactFlag {
    /// The stable code stored and shown by the API.
    pub fn code(self) -> &'static str {
        match self {
            Self::Restriction => "restriction",
            Self::Objection => "objection",
        }
    }

    fn parse(code: &str) -> Result<Self, StoreError> {
        match code {
            "restriction" => Ok(Self::Restriction),
            "objection" => Ok(Self::Objection),
            _ => Err(StoreError::Corrupt("flag_events.flag")),
        }
    }
}

/// The email that tells a person their restriction is lifted (Art. 18(3)): written to the email
/// outbox in the transaction that lifts it, when the contact has an address.
#[derive(Debug, Clone)]
pub struct FlagNotice {
    /// The language to write it in (`it`, `en`).
    pub locale: String,
    /// The mail worker's template name.
    pub template: String,
    /// What the template fills in (no personal data beyond what the message needs).
    pub payload: serde_json::Value,
}

/// Setting (`raised`) or lifting one flag of a contact.
#[derive(Debug, Clone)]
pub struct FlagChange {
    /// Which flag.
    pub flag: ContactFlag,
    /// Set (true) or lift (false).
    pub raised: bool,
    /// Who did it.
    pub actor: Actor,
    /// The data-subject request it answers, if any.
    pub request_id: Option<RequestId>,
    /// For lifting a restriction: the email telling the person.
    pub notice: Option<FlagNotice>,
}

impl FlagChange {
    /// A change recorded by the system itself (the demo data, tests).
    pub fn system(flag: ContactFlag, raised: bool) -> Self {
        Self {
            flag,
            raised,
            actor: Actor {
                kind: ActorKind::System,
                id: String::new(),
            },
            request_id: None,
            notice: None,
        }
    }
}

/// A row of a contact's restriction and objection history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagEvent {
    /// Which flag.
    pub flag: ContactFlag,
    /// Set (true) or lifted (false).
    pub raised: bool,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// The data-subject request it answered, if any.
    pub request_id: Option<RequestId>,
}

/// What a flag change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlagOutcome {
    /// Whether the flag moved (false: it was already in that state; nothing was recorded).
    pub changed: bool,
    /// The email written to the outbox, if one was.
    pub notice_id: Option<uuid::Uuid>,
}

/// Applies `$change` (a [`FlagChange`]) to contact `$id` inside the open transaction `$tx` of
/// store `$store`, at
/// `$now`, with the ids `$event_id` and `$email_id` drawn beforehand: the flag column, the
/// history row, the suppression entries of an objection, and the notice of a lifted restriction.
/// Evaluates to `Result<FlagOutcome, StoreError>`. Setting a flag already set (or lifting one
/// not set) changes nothing and records nothing.
///
/// The flag is set since `$now`, or since `$since` when given: the instant the person expressed
/// it, when that came before it was recorded (a refusal said during a call and reported by the
/// dialer afterwards). The history row and the suppression entries are dated `$now`, when they
/// were written.
macro_rules! apply_flag {
    ($store:expr, $tx:ident, $id:expr, $change:expr, $now:expr, $event_id:expr, $email_id:expr) => {
        $crate::flags::apply_flag!($store, $tx, $id, $change, $now, $event_id, $email_id, since = $now)
    };
    ($store:expr, $tx:ident, $id:expr, $change:expr, $now:expr, $event_id:expr, $email_id:expr, since = $since:expr) => {
        async {
            use $crate::row::Cols as _;
            let change: &$crate::flags::FlagChange = $change;
            let now: i64 = $now;
            let since: i64 = $since;
            let row = sqlx::query("SELECT email, email_hash, phone_hash, restricted_at, objected_at FROM contacts WHERE id = $1 AND erased_at IS NULL")
                .bind($id)
                .fetch_optional(&mut *$tx)
                .await?
                .ok_or_else(|| $crate::StoreError::conflict("id", "the contact was erased"))?;
            let column = match change.flag {
                $crate::flags::ContactFlag::Restriction => "restricted_at",
                $crate::flags::ContactFlag::Objection => "objected_at",
            };
            if row.opt_int(column)?.is_some() == change.raised {
                return Ok::<_, $crate::StoreError>($crate::flags::FlagOutcome { changed: false, notice_id: None });
            }
            let update = match change.flag {
                $crate::flags::ContactFlag::Restriction => "UPDATE contacts SET restricted_at = CASE WHEN $2 THEN $4 ELSE NULL END, updated_at = $3 WHERE id = $1",
                $crate::flags::ContactFlag::Objection => "UPDATE contacts SET objected_at = CASE WHEN $2 THEN $4 ELSE NULL END, updated_at = $3 WHERE id = $1",
            };
            sqlx::query(update).bind($id).bind(change.raised).bind(now).bind(since).execute(&mut *$tx).await?;
            sqlx::query("INSERT INTO flag_events (id, contact_id, flag, raised, at, actor_kind, actor_id, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind($event_id).bind($id).bind(change.flag.code()).bind(change.raised).bind(now)
                .bind(change.actor.kind.code()).bind(&change.actor.id).bind(change.request_id.map(|r| r.0))
                .execute(&mut *$tx).await?;
            if change.flag == $crate::flags::ContactFlag::Objection {
                // Art. 21(3): an objection keeps the primary address and number out of every
                // bulk send, even under another contact a later re-import creates.
                for (channel, hash) in [("email", row.opt_bytes("email_hash")?), ("phone", row.opt_bytes("phone_hash")?)] {
                    let Some(hash) = hash else { continue };
                    if change.raised {
                        sqlx::query("INSERT INTO suppression (hash, channel, reason, created_at) VALUES ($1, $2, 'objection', $3) ON CONFLICT (hash) DO NOTHING")
                            .bind(hash).bind(channel).bind(now)
                            .execute(&mut *$tx).await?;
                    } else {
                        sqlx::query("DELETE FROM suppression WHERE hash = $1 AND reason = 'objection'")
                            .bind(hash)
                            .execute(&mut *$tx).await?;
                    }
                }
            }
            let mut notice_id = None;
            if let (false, $crate::flags::ContactFlag::Restriction, Some(notice), Some(address)) =
                (change.raised, change.flag, change.notice.as_ref(), row.opt_text("email")?)
            {
                let payload = $store.seal_email_payload($email_id, &notice.payload)?;
                sqlx::query($crate::mail::INSERT_EMAIL)
                    .bind($email_id).bind($id).bind(&address).bind(&notice.locale)
                    .bind(&notice.template).bind(&payload).bind(now)
                    .execute(&mut *$tx).await?;
                notice_id = Some($email_id);
            }
            Ok($crate::flags::FlagOutcome { changed: true, notice_id })
        }
    };
}
pub(crate) use apply_flag;

impl Store {
    /// Sets or lifts a contact's restriction or objection, with its history row (and the
    /// suppression entries of an objection, the notice of a lifted restriction) in one
    /// transaction. Returns whether it changed anything and the id of the email written.
    pub async fn change_flag(
        &self,
        contact: &ContactRef,
        change: &FlagChange,
    ) -> Result<(bool, Option<uuid::Uuid>), StoreError> {
        let id = self.resolve_contact(contact).await?;
        let now = self.now();
        let event_id = self.new_uuid(now)?;
        let email_id = self.new_uuid(now)?;
        let outcome = in_write_tx!(self, tx => {
            apply_flag!(self, tx, id.0, change, now.as_micros(), event_id, email_id).await?
        });
        Ok((outcome.changed, outcome.notice_id))
    }

    /// A contact's restriction and objection history, oldest first.
    pub async fn flag_history(&self, id: ContactId) -> Result<Vec<FlagEvent>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT flag, raised, at, actor_kind, actor_id, request_id FROM flag_events WHERE contact_id = $1 ORDER BY seq")
                .bind(id.0)
                .fetch_all(pool).await?
                .iter()
                .map(|row| {
                    Ok(FlagEvent {
                        flag: ContactFlag::parse(&row.text("flag")?)?,
                        raised: row.flag("raised")?,
                        at: Timestamp::from_micros(row.int("at")?),
                        actor: Actor {
                            kind: ActorKind::parse(&row.text("actor_kind")?)?,
                            id: row.text("actor_id")?,
                        },
                        request_id: row.opt_uuid("request_id")?.map(RequestId),
                    })
                })
                .collect()
        })
    }
}
