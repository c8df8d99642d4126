//! Group commit of consent appends. Writers arriving while another append is in progress queue
//! their prepared events; whoever next holds the append lock writes everything queued in one
//! transaction (one fsync for many events: with `synchronous=FULL` a commit costs a disk flush,
//! so committing one event at a time caps durable writes at the disk's flush rate). Each event
//! remains its own link of the hash chain; a group that fails is replayed event by event, so one
//! bad event fails alone and the others are unaffected. No writer is answered before the
//! transaction holding its event has committed.
//!
//! On PostgreSQL a group, of any size, is one statement committing on its own (one round trip;
//! see [`Store::append_group_pg`]); on SQLite, whose writes cost no round trip, a transaction
//! of one multi-row INSERT per table. The queue is the store's, so every caller in the process
//! (the HTTP handlers, the workers) shares it; other processes on the same database take turns
//! with this one through the ledger head's row lock and the chain trigger's compare-and-set.
//!
//! A writer waits for its answer and for the lock at once: whichever comes first. A writer
//! whose event another one committed returns as soon as it is answered, without passing
//! through the lock, so the lock goes straight to a writer with work to do.
//!
//! The writer committing a group works for everyone in it: a caller that may be cancelled
//! half-way (an HTTP handler whose client goes away) must run its append on a task of its own,
//! so that the others' events are not left unanswered (they would get `Stale`).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;
use tokio::sync::oneshot::error::TryRecvError;

use consento_domain::EventId;

use crate::ledger::{AppendCache, PreparedAppend, recorded_from};
use crate::{Backend, RecordedEvent, Store, StoreError, on_read_pool};

/// The most events committed in one transaction (bounded for the SQL statement's parameters:
/// 16 per event, far below SQLite's and PostgreSQL's limits).
const MAX_GROUP: usize = 256;

type Waiter = oneshot::Sender<Result<RecordedEvent, StoreError>>;

/// Events waiting for the next commit, with where to send each one's result, and counts of
/// what the group commits did.
#[derive(Debug, Default)]
pub(crate) struct Pending(
    std::sync::Mutex<Vec<(PreparedAppend, Waiter)>>,
    AtomicU64,
    AtomicU64,
);

/// What group commit has done since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GroupCommitStats {
    /// Groups of more than one event committed in one transaction.
    pub groups: u64,
    /// Events committed in those groups.
    pub grouped_events: u64,
}

impl Pending {
    fn push(&self, p: PreparedAppend, w: Waiter) -> Result<(), StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError::Corrupt("the append queue's lock was poisoned"))?
            .push((p, w));
        Ok(())
    }

    fn take(&self) -> Vec<(PreparedAppend, Waiter)> {
        match self.0.lock() {
            Ok(mut q) => {
                let n = q.len().min(MAX_GROUP);
                q.drain(..n).collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

impl Store {
    /// What group commit has done since the store was opened.
    pub fn group_commit_stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            groups: self.pending.1.load(Ordering::Relaxed),
            grouped_events: self.pending.2.load(Ordering::Relaxed),
        }
    }

    /// Appends one prepared event, committing it together with whatever else is queued.
    pub(crate) async fn append_grouped(
        &self,
        p: PreparedAppend,
    ) -> Result<RecordedEvent, StoreError> {
        let id = p.id();
        let (tx, mut rx) = oneshot::channel();
        self.pending.push(p, tx)?;
        let mut cache = tokio::select! {
            biased;
            answer = &mut rx => {
                return match answer {
                    Ok(result) => result,
                    // The writer that took ours was cancelled mid-way: did it land?
                    Err(_) => self.settled(id).await,
                };
            }
            cache = self.append.lock() => cache,
        };
        loop {
            // A writer before us may have committed ours with its group.
            match rx.try_recv() {
                Ok(result) => return result,
                Err(TryRecvError::Closed) => break,
                Err(TryRecvError::Empty) => {}
            }
            let group = self.pending.take();
            if group.is_empty() {
                break;
            }
            self.commit_group(&mut cache, group).await;
        }
        drop(cache);
        // Only when the writer that took ours was cancelled mid-way: did it land?
        self.settled(id).await
    }

    async fn commit_group(&self, cache: &mut AppendCache, group: Vec<(PreparedAppend, Waiter)>) {
        let (items, waiters): (Vec<PreparedAppend>, Vec<Waiter>) = group.into_iter().unzip();
        let lone_bare = items.len() == 1 && items.iter().all(PreparedAppend::is_bare);
        let together = match self.backend() {
            // One statement for a group, and for a lone event with evidence, a key or an audit
            // row (one round trip, not a transaction under the lock); a lone bare event is one
            // plain INSERT, cheaper still.
            Backend::Postgres if !lone_bare => Some(self.append_group_pg(cache, &items).await),
            Backend::Postgres => None,
            Backend::Sqlite if items.len() > 1 => {
                let mut done = self.append_many(cache, &items).await;
                // Another process appended since this one read the head: once more from the
                // head as it is now (the failure emptied the cache), before event by event.
                if matches!(done, Err(StoreError::Stale)) {
                    done = self.append_many(cache, &items).await;
                }
                Some(done)
            }
            Backend::Sqlite => None,
        };
        if let Some(Ok(recorded)) = together {
            if items.len() > 1 {
                self.pending.1.fetch_add(1, Ordering::Relaxed);
                self.pending
                    .2
                    .fetch_add(items.len() as u64, Ordering::Relaxed);
            }
            for (w, r) in waiters.into_iter().zip(recorded) {
                // A waiter that went away (its request was cancelled) needs no answer.
                let _ = w.send(Ok(r));
            }
            return;
        }
        for (p, w) in items.iter().zip(waiters) {
            let result = self.append_one(cache, p).await;
            let _ = w.send(result);
        }
    }

    /// The event with this id, if it was appended.
    async fn settled(&self, id: EventId) -> Result<RecordedEvent, StoreError> {
        let found = on_read_pool!(self, pool => {
            let row = sqlx::query("SELECT seq, id, contact_id, type_code, kind, event_time, recorded_at, validity_days, hash FROM consent_events WHERE id = $1")
                .bind(id.0).fetch_optional(pool).await?;
            row.as_ref().map(recorded_from).transpose()?
        });
        found.ok_or(StoreError::Stale)
    }
}
