//! Every change and its audit row in one transaction (GDPR Art. 5(2): the controller must be
//! able to show who changed what). A caller names the entry and the write it records with
//! [`Store::audited`]; the store's write transaction that runs the change inserts the entry
//! before it commits, so that neither exists without the other: a change whose audit row cannot
//! be written is rolled back.
//!
//! The entry travels with the task that runs the write (a task-local), so that every write
//! method of the store takes part without an extra parameter. The first transaction to commit in
//! the scope records it, once; a consent append carries it into the group commit that writes
//! the event (another task's transaction), and a write method may complete it with what only
//! the write knows (the id of the record it created, through [`set_target_id`] and
//! [`add_detail`]).

use std::cell::RefCell;
use std::future::Future;

use crate::users::AuditInput;
use crate::{Store, StoreError};

tokio::task_local! {
    static PENDING: RefCell<Pending>;
}

/// The entry waiting for the scope's first committed transaction.
#[derive(Debug)]
struct Pending {
    entry: Option<AuditInput>,
}

/// An audit row ready to insert: the entry, its id and time, and its detail as JSON text.
#[derive(Debug, Clone)]
pub(crate) struct AuditRow {
    pub(crate) id: uuid::Uuid,
    pub(crate) at: consento_domain::Timestamp,
    pub(crate) input: AuditInput,
    pub(crate) detail: String,
}

impl Store {
    /// Runs `write` (calls of this store's write methods) with `entry` recorded in the audit
    /// trail in the same transaction as the first change `write` commits. When `write` changes
    /// nothing (a change to the same value, an idempotent replay), nothing is recorded: the
    /// answer's `bool` says whether the entry was.
    pub async fn audited<T>(
        &self,
        entry: AuditInput,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<(T, bool), StoreError> {
        let cell = RefCell::new(Pending { entry: Some(entry) });
        let (out, cell) = PENDING
            .scope(cell, async move {
                let out = write.await;
                let left = PENDING.with(|p| p.borrow_mut().entry.take());
                (out, left)
            })
            .await;
        Ok((out?, cell.is_none()))
    }

    /// The scope's entry as a row to insert now (its id and time drawn here), if one is waiting.
    pub(crate) fn pending_audit(&self) -> Result<Option<AuditRow>, StoreError> {
        let entry = PENDING
            .try_with(|p| p.borrow().entry.clone())
            .ok()
            .flatten();
        entry.map(|input| self.audit_row(input)).transpose()
    }

    /// `input` as a row to insert now.
    pub(crate) fn audit_row(&self, input: AuditInput) -> Result<AuditRow, StoreError> {
        let at = self.now();
        let detail = serde_json::to_string(&input.detail)
            .map_err(|_| StoreError::Corrupt("audit detail"))?;
        Ok(AuditRow {
            id: self.new_uuid(at)?,
            at,
            input,
            detail,
        })
    }
}

/// Marks the scope's entry as recorded, once the transaction that inserted it has committed.
pub(crate) fn committed() {
    let _ = PENDING.try_with(|p| p.borrow_mut().entry = None);
}

/// Takes the scope's entry for a write that records it elsewhere (a consent append, written by
/// a group commit): it is then recorded with that write or not at all.
pub(crate) fn take_pending() -> Option<AuditInput> {
    PENDING
        .try_with(|p| p.borrow_mut().entry.take())
        .ok()
        .flatten()
}

/// Names the record a write created as the target of the scope's entry, when the caller could
/// not (its id is drawn by the write).
pub(crate) fn set_target_id(kind: &str, id: impl ToString) {
    let _ = PENDING.try_with(|p| {
        if let Some(entry) = p.borrow_mut().entry.as_mut()
            && entry.target_id.is_none()
            && entry.target_kind.as_deref().is_none_or(|k| k == kind)
        {
            entry.target_kind = Some(kind.to_owned());
            entry.target_id = Some(id.to_string());
        }
    });
}

/// Adds what only the write knows (the id of a row it made) to the scope's entry's detail.
pub(crate) fn add_detail(key: &str, value: serde_json::Value) {
    let _ = PENDING.try_with(|p| {
        if let Some(map) = p
            .borrow_mut()
            .entry
            .as_mut()
            .and_then(|e| e.detail.as_object_mut())
        {
            map.insert(key.to_owned(), value);
        }
    });
}
