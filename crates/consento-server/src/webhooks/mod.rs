//! The webhook delivery worker: announces consent expiries, claims due messages from the outbox,
//! POSTs each one signed per Standard Webhooks (<https://www.standardwebhooks.com/>), and records
//! the outcome: a 2xx is delivered; 410 Gone deactivates the subscription; anything else, or no
//! answer in time, is retried with exponential backoff and jitter until the last attempt, after
//! which the message is dead.
//!
//! Several processes may run it on one database: a claim leases its messages (PostgreSQL: `FOR
//! UPDATE SKIP LOCKED`), so each message goes out once per attempt; if a process dies, its leases
//! run out and another process takes the messages over. A receiver still sees a message twice
//! when an answer is lost on the way back (at-least-once delivery): the `webhook-id` is the same
//! at every attempt so that it can drop the duplicate (Standard Webhooks, "Webhook metadata").
//!
//! Logs name messages by id, subscription and event type only: never a URL (which may carry a
//! receiver's token), a payload or a secret.

pub mod signature;

use std::sync::Arc;
use std::time::Duration;

use consento_domain::Timestamp;
use consento_store::{Delivery, NextAttempt, Store, StoreError};
use futures_util::future::join_all;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tokio::sync::watch;

use crate::config::WebhookConfig;
use crate::metrics::Metrics;

/// Expiries announced per pass at most.
const EXPIRY_BATCH: i64 = 500;
/// How often delivered and dead messages past their retention are removed.
/// The lease's margin over the request timeout: time to record the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Consent expiries announced (messages enqueued for them).
    pub announced: usize,
    /// Messages claimed and attempted.
    pub claimed: usize,
    /// Attempts the receiver accepted (2xx).
    pub delivered: usize,
    /// Attempts that failed and will be retried.
    pub retrying: usize,
    /// Messages given up (last attempt failed, or 410 Gone).
    pub dead: usize,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// 410 Gone: the receiver asks not to be sent anything more.
    Gone,
    /// Anything else: a short code for `last_error`, and the receiver's `Retry-After` in seconds
    /// if it sent one.
    Failed {
        /// `http_<status>`, `timeout`, `connect`, …
        code: String,
        /// At least this long before the next attempt.
        retry_after: Option<Duration>,
    },
}

impl Outcome {
    fn failed(code: &str) -> Self {
        Self::Failed {
            code: code.to_owned(),
            retry_after: None,
        }
    }
}

/// The worker: a store, an HTTP client, and the configuration.
pub struct Worker {
    store: Arc<Store>,
    http: reqwest::Client,
    config: WebhookConfig,
    metrics: Option<Arc<Metrics>>,
}

impl Worker {
    /// A worker with its HTTP client: the configured timeout for the whole exchange, no
    /// redirects (a 3xx is a failed attempt: following one would send signed consent events to
    /// wherever a receiver, or whoever took over its name, points).
    pub fn new(store: Arc<Store>, config: WebhookConfig) -> Result<Self, reqwest::Error> {
        let timeout = Duration::from_secs(config.timeout_seconds.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Consento-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            http,
            config,
            metrics: None,
        })
    }

    /// Counts attempts in `metrics` too.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.config.timeout_seconds.max(1)) + LEASE_MARGIN
    }

    /// One pass: announce expiries, claim a batch, attempt every claimed message (concurrently;
    /// each within the timeout), record each outcome. Returns what it did.
    pub async fn deliver_once(&self) -> Result<Pass, StoreError> {
        let announced = self.store.announce_expired(EXPIRY_BATCH).await?;
        let batch = i64::from(self.config.batch_size.max(1));
        let claimed = self.store.claim_deliveries(batch, self.lease()).await?;
        let mut pass = Pass {
            announced,
            claimed: claimed.len(),
            ..Pass::default()
        };
        let results = join_all(claimed.iter().map(|d| self.deliver(d))).await;
        for result in results {
            match result {
                Ok(Some(NextAttempt::At(_))) => pass.retrying += 1,
                Ok(Some(NextAttempt::Dead)) => pass.dead += 1,
                Ok(None) => pass.delivered += 1,
                // The lease runs out and the message is claimed again.
                Err(e) => tracing::warn!(error = %e, "cannot record a webhook attempt"),
            }
        }
        Ok(pass)
    }

    /// Attempts one message and records the outcome; `None` when delivered, else what follows.
    async fn deliver(&self, d: &Delivery) -> Result<Option<NextAttempt>, StoreError> {
        let outcome = self.attempt(d).await;
        if let Some(m) = &self.metrics {
            m.webhook_attempt(outcome == Outcome::Delivered);
        }
        let next = match &outcome {
            Outcome::Delivered => {
                self.store.mark_delivered(&d.id).await?;
                tracing::debug!(message = %d.id, subscription = %d.subscription_id, event_type = %d.event_type, attempts = d.attempts, "webhook delivered");
                return Ok(None);
            }
            // Standard Webhooks, "Delivery success and failure": 410 Gone asks the sender to disable
            // the endpoint and stop sending it messages.
            Outcome::Gone => {
                self.store
                    .deactivate_subscription(d.subscription_id)
                    .await?;
                tracing::warn!(message = %d.id, subscription = %d.subscription_id, "the receiver answered 410 Gone: subscription deactivated");
                NextAttempt::Dead
            }
            Outcome::Failed { .. } if d.attempts >= i64::from(self.config.max_attempts.max(1)) => {
                NextAttempt::Dead
            }
            Outcome::Failed { retry_after, .. } => {
                let random = getrandom::u64().unwrap_or(0);
                // A receiver's Retry-After is honoured up to the longest backoff (Standard
                // Webhooks, "Delivery success and failure").
                let asked = retry_after.map_or(Duration::ZERO, |r| {
                    r.min(Duration::from_secs(self.config.max_backoff_seconds))
                });
                let delay = backoff(&self.config, d.attempts, random).max(asked);
                let delay = i64::try_from(delay.as_micros()).unwrap_or(i64::MAX);
                NextAttempt::At(Timestamp::from_micros(
                    self.store.now().as_micros().saturating_add(delay),
                ))
            }
        };
        let code = match &outcome {
            Outcome::Failed { code, .. } => code.as_str(),
            _ => "http_410",
        };
        self.store.mark_failed(&d.id, code, next).await?;
        match next {
            NextAttempt::Dead => {
                tracing::warn!(message = %d.id, subscription = %d.subscription_id, event_type = %d.event_type, attempts = d.attempts, error = code, "webhook given up")
            }
            NextAttempt::At(at) => {
                tracing::info!(message = %d.id, subscription = %d.subscription_id, event_type = %d.event_type, attempts = d.attempts, error = code, retry_at = %at, "webhook attempt failed")
            }
        }
        Ok(Some(next))
    }

    /// One POST with the Standard Webhooks headers ("Webhook headers"): `webhook-id`,
    /// `webhook-timestamp` (unix seconds of this attempt, from the store's clock), and
    /// `webhook-signature`.
    async fn attempt(&self, d: &Delivery) -> Outcome {
        let timestamp = self.store.now().as_micros().div_euclid(1_000_000);
        let Ok(signature) = signature::sign(&d.secret, &d.id, timestamp, d.payload.as_bytes())
        else {
            return Outcome::failed("bad_secret");
        };
        let (Ok(id), Ok(signature)) = (
            HeaderValue::from_str(&d.id),
            HeaderValue::from_str(&signature),
        ) else {
            return Outcome::failed("bad_header");
        };
        let sent = self
            .http
            .post(&d.url)
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(d.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Outcome::Delivered,
            Ok(response) if response.status() == StatusCode::GONE => Outcome::Gone,
            // Redirects are not followed: a 3xx is a failure ("Delivery success and failure").
            Ok(response) => Outcome::Failed {
                code: format!("http_{}", response.status().as_u16()),
                // Delay-seconds only; an HTTP-date is rare from a webhook receiver.
                retry_after: response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
            },
            Err(e) if e.is_timeout() => Outcome::failed("timeout"),
            Err(e) if e.is_connect() => Outcome::failed("connect"),
            Err(e) if e.is_builder() => Outcome::failed("bad_url"),
            Err(_) => Outcome::failed("request"),
        }
    }

    /// Removes delivered and dead messages older than the retention, and idempotency keys
    /// older than a day.
    async fn purge(&self) {
        let keep = i64::from(self.config.retention_days)
            .saturating_mul(consento_domain::time::MICROS_PER_DAY);
        let before = Timestamp::from_micros(self.store.now().as_micros().saturating_sub(keep));
        match self.store.purge_outbox(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "old webhook messages purged"),
            Err(e) => tracing::warn!(error = %e, "cannot purge old webhook messages"),
        }
        // Idempotency keys answer retries, which come within minutes: a day is plenty.
        let day_ago = Timestamp::from_micros(
            self.store
                .now()
                .as_micros()
                .saturating_sub(consento_domain::time::MICROS_PER_DAY),
        );
        if let Err(e) = self.store.purge_idempotency_keys(day_ago).await {
            tracing::warn!(error = %e, "cannot purge old idempotency keys");
        }
    }

    /// Runs passes until `shutdown` turns true ([`crate::retry::run_passes`]).
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        crate::retry::run_passes(
            self,
            "webhook",
            self.config.poll_interval_ms,
            self.config.batch_size,
            shutdown,
        )
        .await;
    }
}

impl crate::retry::OutboxWorker for Worker {
    async fn purge(&self) {
        Worker::purge(self).await;
    }

    async fn pass(&self) -> Result<usize, StoreError> {
        Ok(self.deliver_once().await?.claimed)
    }
}

/// The delay before the attempt that follows `attempts` failed ones, from the configured base
/// and cap ([`crate::retry::backoff`]).
pub fn backoff(config: &WebhookConfig, attempts: i64, random: u64) -> Duration {
    crate::retry::backoff(
        config.backoff_base_seconds,
        config.max_backoff_seconds,
        attempts,
        random,
    )
}

/// Runs the worker until `shutdown` turns true: the entry point of `consento serve` and of tests
/// (zero2prod's outbox worker shape).
pub async fn run_worker(store: Arc<Store>, config: WebhookConfig, shutdown: watch::Receiver<bool>) {
    match Worker::new(store, config) {
        Ok(worker) => worker.run(shutdown).await,
        Err(e) => tracing::error!(error = %e, "cannot start the webhook worker"),
    }
}

/// One pass of a worker built from `config`, for tests and one-off runs.
pub async fn deliver_once(store: Arc<Store>, config: WebhookConfig) -> Result<Pass, StoreError> {
    match Worker::new(store, config) {
        Ok(worker) => worker.deliver_once().await,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client");
            Ok(Pass::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_the_base_up_to_the_cap_with_jitter_in_the_upper_half() {
        let config = WebhookConfig {
            backoff_base_seconds: 30,
            max_backoff_seconds: 6 * 3600,
            ..WebhookConfig::default()
        };
        let secs = |attempts: i64, random: u64| backoff(&config, attempts, random).as_secs_f64();
        // No jitter drawn: half the nominal delay; the most: all of it.
        assert_eq!((secs(1, 0), secs(1, 15_000)), (15.0, 30.0));
        assert_eq!((secs(2, 0), secs(2, 30_000)), (30.0, 60.0));
        assert_eq!((secs(4, 0), secs(4, 120_000)), (120.0, 240.0));
        // Capped at six hours, however many attempts.
        assert_eq!(secs(12, 0), 3.0 * 3600.0);
        assert_eq!(secs(40, 3 * 3600 * 1000), 6.0 * 3600.0);
        assert!(secs(i64::MAX, u64::MAX) <= 6.0 * 3600.0);
        // Any random value stays within the upper half.
        for random in [1, 7, 12_345, u64::MAX / 3, u64::MAX] {
            let s = secs(3, random);
            assert!((60.0..=120.0).contains(&s), "{s}");
        }
    }
}
