//! The policy service's worker: every poll it drops the held messages whose hold ran out
//! (telling their senders, `consento_app::held`), and, when `postsuper` is configured, tells
//! Postfix what became of the messages it holds: `postsuper -H <queue id>` lets a released one
//! go (once none of its recipients is still held) and `postqueue -i <queue id>` has it delivered
//! at once (released mail waits in the deferred queue for the next queue run otherwise);
//! `postsuper -d <queue id>` removes a dropped one. Each is claimed under a lease, so that several processes on one database never run the
//! same one at once; a failure is retried with the outboxes' backoff, and given up after
//! [`MAX_ATTEMPTS`] (the message then stays in Postfix's hold queue for the administrator).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use consento_app::App;
use consento_domain::Timestamp;
use consento_domain::held::HeldSource;
use consento_store::{Handoff, HandoffKind, NextAttempt, StoreError};
use tokio::sync::watch;

use crate::config::PostfixPolicyConfig;

/// Attempts before a handoff is given up.
pub const MAX_ATTEMPTS: i64 = 10;

/// How long one `postsuper` run may take before it is killed and counted as failed.
const RUN_FOR: Duration = Duration::from_secs(30);

/// How long a claimed handoff is this worker's alone.
const LEASE: Duration = Duration::from_secs(120);

/// Handoffs claimed per pass.
const BATCH: i64 = 20;

/// Runs until `stop` turns true.
pub async fn run(app: App, config: PostfixPolicyConfig, mut stop: watch::Receiver<bool>) {
    let poll = Duration::from_millis(config.poll_interval_ms.max(10));
    tracing::info!(worker = "postfix_policy", "worker started");
    while !*stop.borrow() {
        if let Err(e) = app.drop_expired_held().await {
            tracing::warn!(error = %e, "cannot drop the held messages that expired");
        }
        if let Some(postsuper) = &config.postsuper
            && let Err(e) = hand_off(&app, postsuper, &config.postqueue_path()).await
        {
            tracing::warn!(error = %e, "cannot tell Postfix about held messages");
        }
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { break },
            () = tokio::time::sleep(poll) => {}
        }
    }
    tracing::info!(worker = "postfix_policy", "worker stopped");
}

/// Tells Postfix every handoff due, batch after batch.
async fn hand_off(app: &App, postsuper: &Path, postqueue: &Path) -> Result<(), StoreError> {
    let store = app.store();
    loop {
        let claimed = store
            .claim_held_handoffs(HeldSource::Postfix, BATCH, LEASE)
            .await?;
        if claimed.is_empty() {
            return Ok(());
        }
        let full = claimed.len() as i64 >= BATCH;
        // The recipients of one message share its queue id: one run serves them all (a done
        // handoff is recorded for all of them).
        let mut told: Vec<(String, HandoffKind)> = Vec::new();
        for handoff in claimed {
            let key = (handoff.queue_id.as_str().to_owned(), handoff.kind);
            if told.contains(&key) {
                continue;
            }
            told.push(key);
            let flag = match handoff.kind {
                HandoffKind::Release => "-H",
                HandoffKind::Drop => "-d",
            };
            let outcome = run_tool(postsuper.to_path_buf(), flag, &handoff).await;
            match outcome {
                Ok(()) => {
                    if handoff.kind == HandoffKind::Release
                        && let Err(code) = run_tool(postqueue.to_path_buf(), "-i", &handoff).await
                    {
                        // Released all the same: it goes at the next queue run.
                        tracing::warn!(queue_id = %handoff.queue_id, error = %code, "postqueue -i failed; the released message waits for the next queue run");
                    }
                    store.handoff_done(HeldSource::Postfix, &handoff).await?;
                    tracing::info!(held_message = %handoff.id, queue_id = %handoff.queue_id, what = handoff.kind.code(), "Postfix told");
                }
                Err(code) => {
                    let next = if handoff.attempts >= MAX_ATTEMPTS {
                        NextAttempt::Dead
                    } else {
                        let delay = crate::retry::backoff(
                            5,
                            600,
                            handoff.attempts,
                            getrandom::u64().unwrap_or(0),
                        );
                        let delay = i64::try_from(delay.as_micros()).unwrap_or(i64::MAX);
                        NextAttempt::At(Timestamp::from_micros(
                            store.now().as_micros().saturating_add(delay),
                        ))
                    };
                    store.handoff_failed(&handoff, &code, next).await?;
                    tracing::warn!(held_message = %handoff.id, queue_id = %handoff.queue_id, what = handoff.kind.code(), error = %code, given_up = matches!(next, NextAttempt::Dead), "cannot tell Postfix");
                }
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// Runs `<tool> <flag> <queue id>` (`postsuper -H`, `postsuper -d`, `postqueue -i`), and waits
/// for it at most [`RUN_FOR`]. Its output is not kept: only whether it succeeded, as a short
/// code (`spawn`, `timeout`, `exit_<n>`).
async fn run_tool(tool: PathBuf, flag: &'static str, handoff: &Handoff) -> Result<(), String> {
    // Letters and digits only, never `ALL` (`consento_domain::held::QueueId`): an argument that
    // names one message.
    let queue_id = handoff.queue_id.as_str().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&tool)
            .arg(flag)
            .arg(&queue_id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|_| "spawn".to_owned())?;
        let started = std::time::Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(status
                        .code()
                        .map_or_else(|| "signal".to_owned(), |c| format!("exit_{c}")));
                }
                Ok(None) if started.elapsed() > RUN_FOR => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("timeout".to_owned());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => return Err("wait".to_owned()),
            }
        }
    })
    .await
    .map_err(|_| "join".to_owned())?
}
