//! Decisions from memory on PostgreSQL, never stale: the fence that brings the decision cache
//! (`decision_cache`) up to every change committed before a decision was asked, whichever process
//! committed it, and the task that keeps it caught up between decisions.
//!
//! The change log (migration 0035) gives each change the transaction that made it. A fence is one
//! statement: it takes a snapshot, and reads the contacts logged by the transactions this
//! snapshot sees and the previous fence's did not (`pg_visible_in_snapshot`). Once those are
//! forgotten, the cache holds nothing older than the snapshot. A transaction whose commit
//! returned before a decision was asked is visible to any snapshot taken after it, so a fence
//! whose statement starts after the decision arrived is enough for that decision.
//!
//! Fences are taken one at a time, and each serves every decision that arrived before its
//! statement started: under load one round trip to the database answers dozens of decisions,
//! which then read memory. A fence numbers itself before it sends its statement, so a decision
//! that arrived when `n` fences had been started waits for the `n + 1`-th to end.
//!
//! The decisions waiting are woken all at once when a fence ends, and the first of those the
//! fence did not serve starts the next (rather than queueing on the fence's lock, to be let
//! through one at a time).
//!
//! A fence runs in a task of its own: a decision whose caller went away (an HTTP client closing
//! its connection) cannot leave the cache halfway through applying changes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::StoreError;
use crate::decision_cache::{DecisionCache, Forgotten};
use crate::decision_facts::MAX_CHANGES;

/// The fence's one statement: the snapshot, how far the log was pruned, and the contacts changed
/// by transactions the previous snapshot (`$3`) did not see. Those are among the transactions
/// the previous snapshot found still running (`$2`) or not yet started (from its `xmax`, `$1`):
/// any other had ended before it, so it was seen then (or rolled back, and its rows are seen by
/// nobody). `pg_current_snapshot()` is the statement's own snapshot, the one the log is read
/// with. Each part reads at most `$4` rows (one more than the most a fence applies one by one).
///
/// The two parts are read apart, the first in the index's order, so that every plan goes through
/// the index on `xid`, the generic one PostgreSQL keeps for a statement prepared once included.
/// With both conditions in one `WHERE … OR …` and the limit after them, the generic plan's guess
/// (a third of the log new, a tenth of it read) made a scan of the whole log look cheaper: with
/// 48,000 changes logged (a bulk load's, kept for [`KEPT_FOR`]) and no statistics yet, 11.6 ms a
/// fence against 0.1 ms through the index, and the decisions waiting on the fences fell from
/// about 30,000 a second to 4,700. Planning the statement at each run instead (a custom plan)
/// avoided that too, but cost the database a planning for every fence, thousands a second.
const FENCE_SQL: &str = "SELECT pg_current_snapshot()::text AS snap, \
(SELECT below::text FROM decision_changes_pruned) AS below, \
count(*) AS n, count(*) FILTER (WHERE contact_id IS NULL) AS everyone, \
COALESCE(array_agg(DISTINCT contact_id) FILTER (WHERE contact_id IS NOT NULL), '{}') AS contacts \
FROM ((SELECT contact_id FROM decision_changes \
WHERE xid >= $1::xid8 AND NOT pg_visible_in_snapshot(xid, $3::pg_snapshot) ORDER BY xid LIMIT $4) \
UNION ALL (SELECT contact_id FROM decision_changes \
WHERE xid = ANY($2::xid8[]) AND NOT pg_visible_in_snapshot(xid, $3::pg_snapshot) LIMIT $4)) d";

/// How long a change stays in the log: a process that has not fenced for this long forgets
/// everything at its next fence. Every process fences at least every [`PgFence::EVERY`].
const KEPT_FOR: Duration = Duration::from_secs(120);
/// How often a process prunes the log.
const PRUNE_EVERY: Duration = Duration::from_secs(30);

/// The snapshot the cache is caught up to, as PostgreSQL prints it (`xmin:xmax:xip,…`), and its
/// parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    snapshot: String,
    xmin: u64,
    xmax: String,
    running: Vec<String>,
}

/// What a fence found changed since the last snapshot.
#[derive(Debug)]
pub(crate) enum Changes {
    Nothing,
    /// Everyone: a change every decision reads, too many changes, a pruned log, or no previous
    /// snapshot to compare with.
    Everyone,
    Contacts(Vec<Uuid>),
}

/// One fence statement on `conn`: a new snapshot, and what the transactions it sees and `last`
/// did not changed. The decision cache (below) and the audience index (audience_index.rs) each
/// keep their own `last`.
pub(crate) async fn changes_since(
    conn: impl sqlx::PgExecutor<'_>,
    last: Option<&Seen>,
) -> Result<(Seen, Changes), StoreError> {
    let (snapshot, below, n, everyone, contacts): (String, String, i64, i64, Vec<Uuid>) =
        sqlx::query_as(FENCE_SQL)
            .bind(last.map(|s| s.xmax.clone()))
            .bind(last.map(|s| s.running.clone()).unwrap_or_default())
            .bind(last.map(|s| s.snapshot.clone()))
            .bind(MAX_CHANGES + 1)
            .fetch_one(conn)
            .await?;
    let seen = Seen::parse(snapshot)?;
    let below = parse_xid(&below)?;
    let changes = match last {
        None => Changes::Everyone,
        // Changes this reader needed may have been pruned.
        Some(last) if last.xmin < below => Changes::Everyone,
        Some(_) if everyone > 0 || n > MAX_CHANGES => Changes::Everyone,
        Some(_) if n == 0 => Changes::Nothing,
        Some(_) => Changes::Contacts(contacts),
    };
    Ok((seen, changes))
}

impl Seen {
    fn parse(snapshot: String) -> Result<Self, StoreError> {
        let mut parts = snapshot.split(':');
        let (Some(xmin), Some(xmax), Some(running), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StoreError::Corrupt("a snapshot of the decision change log"));
        };
        let xmin = parse_xid(xmin)?;
        let xmax = xmax.to_owned();
        let running = running
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            xmax,
            running,
            snapshot,
            xmin,
        })
    }
}

/// What only the fence in progress touches.
#[derive(Debug, Default)]
struct Log {
    /// The fence's own connection: not the pool's, which decisions reading the database may
    /// have in use all at once (every decision would then wait for the fence behind them).
    conn: Option<PgConnection>,
    seen: Option<Seen>,
    /// The oldest running transaction of past fences, with when: the log is pruned below one
    /// taken at least [`KEPT_FOR`] ago.
    samples: VecDeque<(Instant, u64)>,
    pruned_at: Option<Instant>,
}

/// The fence of one store's decision cache on PostgreSQL.
#[derive(Debug)]
pub(crate) struct PgFence {
    pool: PgPool,
    cache: Arc<DecisionCache>,
    /// Fences whose statement has been (or is about to be) sent.
    issued: AtomicU64,
    /// The number of the last fence whose changes are applied.
    done: AtomicU64,
    /// Held by the fence in progress (and briefly by the pruning).
    log: Arc<tokio::sync::Mutex<Log>>,
    /// Counts the times the lock was let go (a fence ended, applied or failed, or a pruning):
    /// what a decision waiting for a fence waits on.
    released: tokio::sync::watch::Sender<u64>,
}

impl PgFence {
    /// How often the follower fences when no decision does.
    pub(crate) const EVERY: Duration = Duration::from_millis(100);

    pub(crate) fn new(pool: PgPool, cache: Arc<DecisionCache>) -> Arc<Self> {
        Arc::new(Self {
            pool,
            cache,
            issued: AtomicU64::new(0),
            done: AtomicU64::new(0),
            log: Arc::default(),
            released: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Lets the lock go, then wakes every decision waiting: one of those a fence has not served
    /// yet will start the next.
    fn release<T>(&self, guard: T) {
        drop(guard);
        self.released.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Brings the cache up to every change committed before this call, and returns the position
    /// to remember what is read next under.
    pub(crate) async fn fence(self: &Arc<Self>) -> Result<i64, StoreError> {
        Ok(self.fence_forgetting().await?.0)
    }

    /// [`Self::fence`], also returning the contacts the fence this call took forgot (none when
    /// another's fence served it).
    async fn fence_forgetting(self: &Arc<Self>) -> Result<(i64, Vec<Forgotten>), StoreError> {
        // Any fence numbered above the count read here sends its statement after this call began.
        let need = self.issued.load(Ordering::SeqCst) + 1;
        let mut released = self.released.subscribe();
        let log = loop {
            // Marks the releases so far as seen before looking: one after this is not missed.
            released.borrow_and_update();
            if self.done.load(Ordering::SeqCst) >= need {
                return Ok((self.cache.position(), Vec::new()));
            }
            if let Ok(log) = Arc::clone(&self.log).try_lock_owned() {
                break log;
            }
            // A fence is in progress (or a pruning): wait for it to let go, and look again.
            if released.changed().await.is_err() {
                return Err(StoreError::Database(sqlx::Error::PoolClosed));
            }
        };
        if self.done.load(Ordering::SeqCst) >= need {
            self.release(log);
            return Ok((self.cache.position(), Vec::new()));
        }
        let this = Arc::clone(self);
        // The number is taken in the task, before its statement is sent.
        let task = tokio::spawn(async move {
            let mut log = log;
            let number = this.issued.fetch_add(1, Ordering::SeqCst) + 1;
            let applied = this.catch_up(&mut log).await;
            if applied.is_ok() {
                this.done.fetch_max(number, Ordering::SeqCst);
            }
            this.release(log);
            applied
        });
        // A task that panicked (or was aborted at shutdown) fails this decision like a lost
        // connection; the next fence reads from the same snapshot again.
        task.await
            .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))?
    }

    /// One fence: reads what changed since the last snapshot and applies it to the cache.
    async fn catch_up(&self, log: &mut Log) -> Result<(i64, Vec<Forgotten>), StoreError> {
        let conn = match &mut log.conn {
            Some(conn) => conn,
            None => {
                let mut conn = self.pool.connect_options().connect().await?;
                // The connection runs the fence alone, whose plan goes through the index
                // whatever its values (see [`FENCE_SQL`]): planned once, not at each of the
                // thousands of fences a second a busy server takes (left to choose, PostgreSQL
                // keeps planning it anew, a custom plan's estimate being the lower).
                sqlx::query("SET plan_cache_mode = force_generic_plan")
                    .execute(&mut conn)
                    .await?;
                log.conn.insert(conn)
            }
        };
        let read = changes_since(&mut *conn, log.seen.as_ref()).await;
        if read.is_err() {
            // Connected again at the next fence, which reads from the same snapshot.
            log.conn = None;
        }
        let (seen, changes) = read?;
        let applied = match changes {
            Changes::Nothing => (self.cache.position(), Vec::new()),
            Changes::Everyone => self.cache.advance(None),
            Changes::Contacts(contacts) => self.cache.advance(Some(&contacts)),
        };
        let now = Instant::now();
        if log
            .samples
            .back()
            .is_none_or(|(at, _)| now.duration_since(*at) >= PRUNE_EVERY)
        {
            log.samples.push_back((now, seen.xmin));
        }
        log.seen = Some(seen);
        Ok(applied)
    }

    /// Closes the fence's own connection (the store is closing).
    pub(crate) async fn close(&self) {
        let mut log = self.log.lock().await;
        let conn = log.conn.take();
        self.release(log);
        if let Some(conn) = conn {
            let _ = conn.close().await;
        }
    }

    /// Removes from the log what every process has read: the changes of transactions that had
    /// ended [`KEPT_FOR`] ago. At most every [`PRUNE_EVERY`]; several processes may prune.
    async fn prune(&self) -> Result<(), StoreError> {
        let horizon = {
            let mut log = self.log.lock().await;
            let now = Instant::now();
            if log
                .pruned_at
                .is_some_and(|at| now.duration_since(at) < PRUNE_EVERY)
            {
                self.release(log);
                return Ok(());
            }
            let mut horizon = None;
            while let Some((at, xmin)) = log.samples.front().copied() {
                if now.duration_since(at) < KEPT_FOR {
                    break;
                }
                horizon = Some(xmin);
                log.samples.pop_front();
            }
            log.pruned_at = Some(now);
            let horizon = horizon.map(|h| h.to_string());
            self.release(log);
            match horizon {
                Some(h) => h,
                None => return Ok(()),
            }
        };
        // `below` first, in the same transaction: a fence that sees the rows gone sees it too.
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE decision_changes_pruned SET below = GREATEST(below, $1::xid8)")
            .bind(&horizon)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM decision_changes WHERE xid < $1::xid8")
            .bind(&horizon)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn parse_xid(text: &str) -> Result<u64, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt("a transaction id of the decision change log"))
}

/// Keeps a cache caught up from a task of its own, every [`PgFence::EVERY`], reads again the
/// contacts its fences forgot (as SQLite's `decide::Follower` does), and prunes the log.
#[derive(Debug)]
pub(crate) struct PgFollower {
    stop: Arc<AtomicBool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PgFollower {
    /// Starts the task: `warm` first (the preload), then a fence every [`PgFence::EVERY`], with
    /// `refresh` for what each forgot.
    pub(crate) fn start<F, Fut, W>(fence: Arc<PgFence>, refresh: F, warm: W) -> Self
    where
        F: Fn(i64, Vec<Forgotten>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), StoreError>> + Send,
        W: std::future::Future<Output = ()> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            warm.await;
            let mut tick = tokio::time::interval(PgFence::EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                // A failed read is tried again at the next tick; decisions fence themselves.
                if let Ok((head, forgotten)) = fence.fence_forgetting().await
                    && !forgotten.is_empty()
                {
                    let _ = refresh(head, forgotten).await;
                }
                let _ = fence.prune().await;
            }
        });
        Self {
            stop,
            task: std::sync::Mutex::new(Some(task)),
        }
    }

    /// Stops the task.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Ok(mut task) = self.task.lock()
            && let Some(task) = task.take()
        {
            task.abort();
        }
    }
}

impl Drop for PgFollower {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_read_as_printed_by_postgresql() {
        let seen = Seen::parse("7765:7770:7765,7768".into()).unwrap();
        assert_eq!(seen.xmin, 7765);
        assert_eq!(seen.xmax, "7770");
        assert_eq!(seen.running, ["7765", "7768"]);
        let quiet = Seen::parse("7765:7765:".into()).unwrap();
        assert!(quiet.running.is_empty());
        assert!(Seen::parse("7765:7765".into()).is_err());
        assert!(Seen::parse("x:7765:".into()).is_err());
    }
}
