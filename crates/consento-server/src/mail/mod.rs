//! The mail worker: claims due emails from the outbox, writes each in its language
//! ([`message`]), hands it to the SMTP server with `lettre`, and records the outcome. The
//! server's acceptance is "sent"; a temporary refusal (4xx), no connection or no answer in time
//! is retried with exponential backoff and jitter until the last attempt; a permanent refusal
//! (5xx: RFC 5321 §4.2.1, "the SMTP client SHOULD NOT repeat the exact request") gives the
//! email up at once.
//!
//! Several processes may run it on one database: a claim leases its emails (PostgreSQL: `FOR
//! UPDATE SKIP LOCKED`), so each goes out once per attempt; if a process dies, its leases run out
//! and another takes the emails over. The `Message-ID` is the outbox id, the same at every
//! attempt.
//!
//! An address is personal data: logs name emails by id, template and attempt only, never an
//! address, a link or the server's text (which may quote the address).

pub mod message;

use std::sync::Arc;
use std::time::Duration;

use consento_domain::Timestamp;
use consento_store::{NextAttempt, OutgoingEmail, Store, StoreError};
use futures_util::future::join_all;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::watch;

use crate::config::MailConfig;
use message::Sender;

/// How often sent and dead emails and expired requests past their retention are removed.
/// The lease's margin over the SMTP timeout: time to record the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Why the worker cannot start.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The sender's address is not one.
    #[error("mail.from_address is not an email address")]
    From,
    /// The TLS settings for the host cannot be built.
    #[error("cannot set up TLS for the SMTP server: {0}")]
    Tls(String),
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Emails claimed and attempted.
    pub claimed: usize,
    /// Emails the SMTP server accepted.
    pub sent: usize,
    /// Attempts that failed and will be retried.
    pub retrying: usize,
    /// Emails given up.
    pub dead: usize,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The SMTP server took it.
    Sent,
    /// Worth another try later: a short code for `last_error`.
    Retry(String),
    /// Never worth another try.
    Fatal(String),
}

/// The worker: a store, an SMTP transport, the sender, the configuration.
pub struct Mailer {
    store: Arc<Store>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    sender: Sender,
    config: MailConfig,
}

impl Mailer {
    /// A worker with its SMTP transport: TLS as configured (rustls with the web PKI roots),
    /// credentials if given, the configured timeout for each exchange.
    pub fn new(
        store: Arc<Store>,
        config: MailConfig,
        zone: &consento_domain::Zone,
    ) -> Result<Self, MailError> {
        let sender = Sender::new(&config, zone).ok_or(MailError::From)?;
        let transport = crate::smtp_client::transport(crate::smtp_client::Server {
            host: &config.smtp_host,
            port: config.smtp_port,
            tls: config.tls,
            username: config.username.as_deref(),
            password: config.password.as_deref(),
            timeout: Duration::from_secs(config.timeout_seconds.max(1)),
            hello: sender.domain(),
        })
        .map_err(|e| MailError::Tls(e.to_string()))?;
        Ok(Self {
            store,
            transport,
            sender,
            config,
        })
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.config.timeout_seconds.max(1)) + LEASE_MARGIN
    }

    /// One pass: claim a batch, attempt every claimed email (concurrently), record each outcome.
    pub async fn send_once(&self) -> Result<Pass, StoreError> {
        let batch = i64::from(self.config.batch_size.max(1));
        let claimed = self.store.claim_emails(batch, self.lease()).await?;
        let mut pass = Pass {
            claimed: claimed.len(),
            ..Pass::default()
        };
        let results = join_all(claimed.iter().map(|e| self.deliver(e))).await;
        for result in results {
            match result {
                Ok(None) => pass.sent += 1,
                Ok(Some(NextAttempt::At(_))) => pass.retrying += 1,
                Ok(Some(NextAttempt::Dead)) => pass.dead += 1,
                // The lease runs out and the email is claimed again.
                Err(e) => tracing::warn!(error = %e, "cannot record an email attempt"),
            }
        }
        Ok(pass)
    }

    /// Attempts one email and records the outcome; `None` when sent, else what follows.
    async fn deliver(&self, email: &OutgoingEmail) -> Result<Option<NextAttempt>, StoreError> {
        let outcome = self.attempt(email).await;
        let (code, next) = match outcome {
            Outcome::Sent => {
                self.store.mark_email_sent(email.id).await?;
                tracing::info!(email = %email.id, template = %email.template, attempts = email.attempts, "email sent");
                return Ok(None);
            }
            Outcome::Fatal(code) => (code, NextAttempt::Dead),
            Outcome::Retry(code)
                if email.attempts >= i64::from(self.config.max_attempts.max(1)) =>
            {
                (code, NextAttempt::Dead)
            }
            Outcome::Retry(code) => {
                let delay = crate::retry::backoff(
                    self.config.backoff_base_seconds,
                    self.config.max_backoff_seconds,
                    email.attempts,
                    getrandom::u64().unwrap_or(0),
                );
                let delay = i64::try_from(delay.as_micros()).unwrap_or(i64::MAX);
                let at = Timestamp::from_micros(self.store.now().as_micros().saturating_add(delay));
                (code, NextAttempt::At(at))
            }
        };
        self.store.mark_email_failed(email.id, &code, next).await?;
        match next {
            NextAttempt::Dead => {
                tracing::warn!(email = %email.id, template = %email.template, attempts = email.attempts, error = %code, "email given up")
            }
            NextAttempt::At(at) => {
                tracing::info!(email = %email.id, template = %email.template, attempts = email.attempts, error = %code, retry_at = %at, "email attempt failed")
            }
        }
        Ok(Some(next))
    }

    /// Writes the email and hands it to the SMTP server.
    async fn attempt(&self, email: &OutgoingEmail) -> Outcome {
        let message = match message::render(email, &self.sender) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(email = %email.id, template = %email.template, error = %e, "cannot write an email");
                return Outcome::Fatal("render".to_owned());
            }
        };
        match self.transport.send(message).await {
            Ok(_) => Outcome::Sent,
            Err(e) => {
                let (code, permanent) = crate::smtp_client::failure(&e);
                if permanent {
                    Outcome::Fatal(code)
                } else {
                    Outcome::Retry(code)
                }
            }
        }
    }

    /// Removes sent and dead emails older than the retention, and requests whose links ran out
    /// longer ago than that.
    async fn purge(&self) {
        let keep = i64::from(self.config.retention_days.max(1))
            .saturating_mul(consento_domain::time::MICROS_PER_DAY);
        let before = Timestamp::from_micros(self.store.now().as_micros().saturating_sub(keep));
        match self.store.purge_email_outbox(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "old emails purged"),
            Err(e) => tracing::warn!(error = %e, "cannot purge old emails"),
        }
        match self.store.purge_subscription_requests(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "old subscription requests purged"),
            Err(e) => tracing::warn!(error = %e, "cannot purge old subscription requests"),
        }
    }

    /// Runs passes until `shutdown` turns true ([`crate::retry::run_passes`]).
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        crate::retry::run_passes(
            self,
            "mail",
            self.config.poll_interval_ms,
            self.config.batch_size,
            shutdown,
        )
        .await;
    }
}

impl crate::retry::OutboxWorker for Mailer {
    async fn purge(&self) {
        Mailer::purge(self).await;
    }

    async fn pass(&self) -> Result<usize, StoreError> {
        Ok(self.send_once().await?.claimed)
    }
}

/// One pass of a worker built from `config`, writing dates in `zone`, for tests and one-off runs.
pub async fn send_once(
    store: Arc<Store>,
    config: MailConfig,
    zone: &consento_domain::Zone,
) -> Result<Pass, StoreError> {
    match Mailer::new(store, config, zone) {
        Ok(mailer) => mailer.send_once().await,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the mail worker");
            Ok(Pass::default())
        }
    }
}
