//! The background tasks `consento serve` runs beside the HTTP server. Each takes the shutdown
//! signal and returns once it has finished what it was doing.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::AppState;
use crate::webhooks::Worker;

/// Starts the background tasks; the handles finish after `stop` turns true.
pub fn spawn(state: &AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let config = &state.config.webhooks;
    if config.enabled {
        match Worker::new(Arc::clone(&state.store), config.clone()) {
            Ok(worker) => {
                let worker = worker.with_metrics(Arc::clone(&state.metrics));
                tasks.push(tokio::spawn(async move { worker.run(stop).await }));
            }
            Err(e) => tracing::error!(error = %e, "cannot start the webhook worker"),
        }
    }
    tasks
}
