//! The background tasks `consento serve` runs beside the HTTP server. Each takes the shutdown
//! signal and returns once it has finished what it was doing.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::mail::Mailer;
use crate::state::AppState;
use crate::webhooks::Worker;

/// Starts the background tasks; the handles finish after `stop` turns true.
pub fn spawn(state: &AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let config = &state.config.webhooks;
    if config.enabled {
        match Worker::new(Arc::clone(&state.store), config.clone()) {
            Ok(worker) => {
                let worker = worker.with_metrics(Arc::clone(&state.metrics));
                let stop = stop.clone();
                tasks.push(tokio::spawn(async move { worker.run(stop).await }));
            }
            Err(e) => tracing::error!(error = %e, "cannot start the webhook worker"),
        }
    }
    let mail = &state.config.mail;
    if mail.enabled {
        match Mailer::new(Arc::clone(&state.store), mail.clone(), state.app.zone()) {
            Ok(mailer) => {
                let stop = stop.clone();
                tasks.push(tokio::spawn(async move { mailer.run(stop).await }));
            }
            Err(e) => tracing::error!(error = %e, "cannot start the mail worker"),
        }
    }
    let relay = &state.config.relay;
    if relay.deliver && !relay.upstream.host.trim().is_empty() {
        match crate::relay::worker::RelayWorker::new(
            state.app.clone(),
            relay.clone(),
            Arc::clone(&state.metrics),
        ) {
            Ok(worker) => {
                let stop = stop.clone();
                tasks.push(tokio::spawn(async move { worker.run(stop).await }));
            }
            Err(e) => tracing::error!(error = %e, "cannot start the relay's worker"),
        }
    }
    tasks.push(tokio::spawn(purge_sessions(
        Arc::clone(&state.store),
        state.config.console.clone(),
        stop,
    )));
    tasks
}

/// Every ten minutes, removes console sessions that have expired or idled out: they no longer
/// let anyone in (the lookup checks both), but a table of dead sessions should not grow forever.
async fn purge_sessions(
    store: Arc<consento_store::Store>,
    console: crate::config::ConsoleConfig,
    mut stop: watch::Receiver<bool>,
) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(600);
    loop {
        if let Err(e) = store.purge_sessions(console.idle_since(store.now())).await {
            tracing::warn!(error = %e, "cannot purge old console sessions");
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}
