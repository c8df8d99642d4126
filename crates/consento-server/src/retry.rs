//! What the outbox workers (webhooks, email) share: the delay before a retry, and the loop
//! that runs their passes until shutdown.

use std::time::Duration;

use consento_store::StoreError;
use tokio::sync::watch;

/// How often a worker purges what it no longer needs.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// An outbox worker as [`run_passes`] drives it.
pub trait OutboxWorker {
    /// Removes delivered and dead messages past their retention.
    fn purge(&self) -> impl Future<Output = ()> + Send;
    /// Claims and attempts one batch; returns how many were claimed.
    fn pass(&self) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Runs passes until `shutdown` turns true (or its sender goes away): at once again after a full
/// batch, else after the poll interval; a purge at most once an hour. A pass under way when the
/// signal comes is finished; messages not claimed stay for the other processes, or for the next
/// start. `name` names the worker in the log.
pub async fn run_passes(
    worker: &impl OutboxWorker,
    name: &'static str,
    poll_interval_ms: u64,
    batch_size: u32,
    mut shutdown: watch::Receiver<bool>,
) {
    let poll = Duration::from_millis(poll_interval_ms.max(10));
    let batch = usize::try_from(batch_size.max(1)).unwrap_or(usize::MAX);
    let mut last_purge: Option<tokio::time::Instant> = None;
    tracing::info!(worker = name, "worker started");
    while !*shutdown.borrow() {
        if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
            worker.purge().await;
            last_purge = Some(tokio::time::Instant::now());
        }
        let busy = match worker.pass().await {
            Ok(claimed) => claimed >= batch,
            Err(e) => {
                tracing::warn!(worker = name, error = %e, "pass failed");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            changed = shutdown.changed() => if changed.is_err() { break },
            () = tokio::time::sleep(poll) => {}
        }
    }
    tracing::info!(worker = name, "worker stopped");
}

/// The delay before the attempt that follows `attempts` failed ones: `base_seconds` ×
/// 2^(attempts − 1), at most `cap_seconds`, then a point in its upper half chosen by `random`
/// ("equal jitter"): receivers recovering from an outage are not hit by every retry at once,
/// and a retry never comes sooner than half the nominal delay.
pub fn backoff(base_seconds: u64, cap_seconds: u64, attempts: i64, random: u64) -> Duration {
    let base = base_seconds.max(1);
    let cap = cap_seconds.max(base);
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 32)).unwrap_or(32);
    let nominal_ms = base
        .saturating_mul(1u64 << exponent)
        .min(cap)
        .saturating_mul(1000);
    let half = nominal_ms / 2;
    Duration::from_millis(half + random % (nominal_ms - half + 1))
}
