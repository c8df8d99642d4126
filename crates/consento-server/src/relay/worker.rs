//! The relay's worker: claims due copies from the relay's outbox, asks the decision once more
//! (what changed since the message came stops a copy), writes each copy's header block
//! ([`super::message`]: Consento's fields out, a bulk copy's own unsubscribe links in), signs
//! it when DKIM is configured ([`super::dkim`]) and hands it to the upstream server with lettre, one recipient per transaction. The upstream's
//! acceptance is "delivered"; a temporary refusal (4xx), no connection or no answer in time is
//! retried with exponential backoff and jitter until the last attempt; a permanent refusal
//! (5xx: RFC 5321 §4.2.1) bounces the copy at once. A copy given up sends its sender a delivery
//! status notification (RFC 3464), queued in the same transaction and delivered the same way.
//! Once no copy of a message is under way or held, its body, sender and addresses are removed
//! (the store does it with the last outcome). Each pass also drops the held copies whose hold ran
//! out (`consento_app::held`).
//!
//! Several processes may run it on one database: a claim leases its copies (PostgreSQL: `FOR
//! UPDATE SKIP LOCKED`); if a process dies, its leases run out and another takes them over.
//! Logs name copies and messages by id, never an address or a body.

use std::sync::Arc;
use std::time::Duration;

use consento_app::App;
use consento_app::relay::CopyCheck;
use consento_domain::Timestamp;
use consento_store::{NextAttempt, RelayCopy, Store, StoreError};
use futures_util::future::join_all;
use lettre::address::Envelope;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::watch;

use super::message::{Unsubscribe, copy};
use crate::config::RelayConfig;
use crate::metrics::{Metrics, RelayEvent};

/// The lease's margin over the upstream timeout: time to record the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Copies claimed.
    pub claimed: usize,
    /// Copies the upstream server accepted.
    pub delivered: usize,
    /// Attempts that failed and will be retried.
    pub deferred: usize,
    /// Copies given up.
    pub bounced: usize,
    /// Copies the decision now refuses.
    pub refused: usize,
}

/// How one copy's attempt ended.
enum Outcome {
    Delivered,
    Refused(String),
    Retry(String),
    Fatal(String),
}

/// The worker: the application (for the decision and the links), an SMTP transport to the
/// upstream server, the configuration.
pub struct RelayWorker {
    app: App,
    store: Arc<Store>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    config: RelayConfig,
    metrics: Arc<Metrics>,
    dkim: Option<super::dkim::Signer>,
}

/// Why the worker cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The upstream's TLS cannot be set up.
    #[error(transparent)]
    Tls(#[from] crate::smtp_client::TlsSetupError),
    /// The DKIM key cannot be used.
    #[error("{0}")]
    Dkim(String),
}

impl RelayWorker {
    /// A worker delivering to `config.upstream`.
    pub fn new(app: App, config: RelayConfig, metrics: Arc<Metrics>) -> Result<Self, WorkerError> {
        let dkim = match &config.dkim {
            Some(d) => Some(super::dkim::Signer::load(d).map_err(WorkerError::Dkim)?),
            None => None,
        };
        let up = &config.upstream;
        let transport = crate::smtp_client::transport(crate::smtp_client::Server {
            host: &up.host,
            port: up.port,
            tls: up.tls,
            username: up.username.as_deref(),
            password: up.password.as_deref(),
            timeout: Duration::from_secs(up.timeout_seconds.max(1)),
            hello: &config.hostname,
        })?;
        Ok(Self {
            store: Arc::clone(app.store()),
            app,
            transport,
            config,
            metrics,
            dkim,
        })
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.config.upstream.timeout_seconds.max(1)) + LEASE_MARGIN
    }

    /// One pass: claim a batch, attempt every claimed copy (concurrently), record each outcome.
    pub async fn deliver_once(&self) -> Result<Pass, StoreError> {
        let batch = i64::from(self.config.batch_size.max(1));
        let claimed = self.store.claim_relay_copies(batch, self.lease()).await?;
        let mut pass = Pass {
            claimed: claimed.len(),
            ..Pass::default()
        };
        let results = join_all(claimed.iter().map(|c| self.deliver(c))).await;
        // The pass's deliveries are recorded with one commit (see
        // `Store::mark_relay_delivered_all`); should it fail, their leases run out and they go
        // again: a copy may then arrive twice, never not at all.
        let delivered: Vec<&RelayCopy> = claimed
            .iter()
            .zip(&results)
            .filter(|(_, r)| matches!(r, Ok(Event::Delivered)))
            .map(|(c, _)| c)
            .collect();
        let ids: Vec<uuid::Uuid> = delivered.iter().map(|c| c.id).collect();
        self.store.mark_relay_delivered_all(&ids).await?;
        self.metrics.relay(
            RelayEvent::Delivered,
            u64::try_from(ids.len()).unwrap_or(u64::MAX),
        );
        for c in delivered {
            tracing::info!(copy = %c.id, message = %c.message_id, attempts = c.attempts, "relay: copy delivered");
        }
        for result in results {
            match result {
                Ok(Event::Delivered) => pass.delivered += 1,
                Ok(Event::Deferred) => pass.deferred += 1,
                Ok(Event::Bounced) => pass.bounced += 1,
                Ok(Event::Refused) => pass.refused += 1,
                // The lease runs out and the copy is claimed again.
                Err(e) => tracing::warn!(error = %e, "relay: cannot record a copy's attempt"),
            }
        }
        Ok(pass)
    }

    /// Attempts one copy and records the outcome, but for a delivery: the pass records those
    /// together.
    async fn deliver(&self, c: &RelayCopy) -> Result<Event, StoreError> {
        let (code, next) = match self.attempt(c).await {
            // Recorded with the pass's other deliveries.
            Outcome::Delivered => return Ok(Event::Delivered),
            Outcome::Refused(rule) => {
                self.store.refuse_relay_copy(c.id, &rule).await?;
                self.metrics.relay(RelayEvent::Refused, 1);
                tracing::info!(copy = %c.id, message = %c.message_id, rule = %rule, "relay: copy refused at delivery");
                return Ok(Event::Refused);
            }
            Outcome::Fatal(code) => (code, NextAttempt::Dead),
            Outcome::Retry(code) if c.attempts >= i64::from(self.config.max_attempts.max(1)) => {
                (code, NextAttempt::Dead)
            }
            Outcome::Retry(code) => {
                let delay = crate::retry::backoff(
                    self.config.backoff_base_seconds,
                    self.config.max_backoff_seconds,
                    c.attempts,
                    getrandom::u64().unwrap_or(0),
                );
                let delay = i64::try_from(delay.as_micros()).unwrap_or(i64::MAX);
                let at = Timestamp::from_micros(self.store.now().as_micros().saturating_add(delay));
                (code, NextAttempt::At(at))
            }
        };
        match next {
            // A copy given up: its sender is told (RFC 3464), unless it is itself a notice or
            // came from the null sender (RFC 5321 §4.5.5: no notice about a notice).
            NextAttempt::Dead if !c.notice && !c.envelope_from.is_empty() => {
                match self.notice(c, &code) {
                    Ok(notice) => self.store.bounce_relay_copy(c.id, &code, &notice).await?,
                    Err(e) => {
                        tracing::warn!(copy = %c.id, error = %e, "relay: cannot write a delivery status notification");
                        self.store.mark_relay_failed(c.id, &code, next).await?;
                    }
                }
            }
            _ => self.store.mark_relay_failed(c.id, &code, next).await?,
        }
        Ok(match next {
            NextAttempt::Dead => {
                self.metrics.relay(RelayEvent::Bounced, 1);
                tracing::warn!(copy = %c.id, message = %c.message_id, attempts = c.attempts, error = %code, "relay: copy bounced");
                Event::Bounced
            }
            NextAttempt::At(at) => {
                self.metrics.relay(RelayEvent::Deferred, 1);
                tracing::info!(copy = %c.id, message = %c.message_id, attempts = c.attempts, error = %code, retry_at = %at, "relay: copy deferred");
                Event::Deferred
            }
        })
    }

    /// The delivery status notification telling `c`'s sender it was given up with `code`, in
    /// the office's default language.
    fn notice(&self, c: &RelayCopy, code: &str) -> std::io::Result<Vec<u8>> {
        let policy = self.app.policy();
        let tr = crate::i18n::Tr::new(policy.default_locale, crate::i18n::interned(&policy.zone));
        let given_up = super::message::GivenUp {
            hostname: &self.config.hostname,
            sender: &c.envelope_from,
            recipient: &c.recipient,
            error: code,
            refused: code.starts_with("smtp_5") || code.ends_with("_address"),
            copy: c.id,
            now: self.store.now().as_micros() / 1_000_000,
        };
        super::message::notice(&c.body, &given_up, tr)
    }

    /// Decides the copy again, writes it and hands it to the upstream server. A notice to a
    /// sender is no contact attempt: it goes as written.
    async fn attempt(&self, c: &RelayCopy) -> Outcome {
        if c.notice {
            return self.send(c, c.body.as_slice().to_vec()).await;
        }
        let links = match self
            .app
            .relay_copy_check(c.contact_id, c.action, c.justified)
            .await
        {
            Ok(CopyCheck::Send { links }) => links,
            Ok(CopyCheck::Refuse { rule }) => return Outcome::Refused(rule),
            Err(e) => {
                tracing::warn!(copy = %c.id, error = %e, "relay: cannot decide a copy");
                return Outcome::Retry("decision".to_owned());
            }
        };
        let unsubscribe = links.map(|l| Unsubscribe {
            mailto: self.config.mailto_unsubscribe.as_ref().map(|to| {
                // The token names the contact to whoever reads that mailbox (RFC 2369 §3.2).
                let token = l.unsubscribe_url.rsplit('/').next().unwrap_or_default();
                format!("mailto:{to}?subject=unsubscribe%20{token}")
            }),
            https: l.unsubscribe_url,
        });
        let raw = copy(&c.body, unsubscribe.as_ref());
        // Signed last, over the final header block: the unsubscribe fields are in `h=`.
        let raw = match &self.dkim {
            Some(signer) => match signer.sign(&raw) {
                Ok(signed) => signed,
                Err(e) => {
                    tracing::warn!(copy = %c.id, error = %e, "relay: cannot sign a copy");
                    return Outcome::Retry("dkim".to_owned());
                }
            },
            None => raw,
        };
        self.send(c, raw).await
    }

    /// Hands `raw` to the upstream server for `c`'s recipient.
    async fn send(&self, c: &RelayCopy, raw: Vec<u8>) -> Outcome {
        let from = if c.envelope_from.is_empty() {
            None
        } else {
            match c.envelope_from.parse::<Address>() {
                Ok(a) => Some(a),
                Err(_) => return Outcome::Fatal("sender_address".to_owned()),
            }
        };
        let Ok(to) = c.recipient.parse::<Address>() else {
            return Outcome::Fatal("recipient_address".to_owned());
        };
        let Ok(envelope) = Envelope::new(from, vec![to]) else {
            return Outcome::Fatal("envelope".to_owned());
        };
        match self.transport.send_raw(&envelope, &raw).await {
            Ok(_) => Outcome::Delivered,
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

    /// Runs passes until `shutdown` turns true ([`crate::retry::run_passes`]).
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        crate::retry::run_passes(
            self,
            "relay",
            self.config.poll_interval_ms,
            self.config.batch_size,
            shutdown,
        )
        .await;
    }
}

/// What became of one copy in a pass.
enum Event {
    Delivered,
    Deferred,
    Bounced,
    Refused,
}

impl crate::retry::OutboxWorker for RelayWorker {
    async fn purge(&self) {
        // Bodies go with each copy's last outcome; the records stay (they are the log).
    }

    async fn pass(&self) -> Result<usize, StoreError> {
        // A held copy nobody gave a reason for within `hold_hours` is dropped and its sender
        // told, whether or not the Postfix policy service runs too (both may: a drop is taken
        // once, by whichever claims it first).
        if let Err(e) = self.app.drop_expired_held().await {
            tracing::warn!(error = %e, "relay: cannot drop the held copies that expired");
        }
        Ok(self.deliver_once().await?.claimed)
    }
}
