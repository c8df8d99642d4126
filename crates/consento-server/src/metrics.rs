//! Prometheus metrics, kept in process and rendered in the text exposition format: requests by
//! route, method and status; request latency per route as a histogram; decisions by outcome;
//! webhook deliveries and failures; messages held, released and dropped (one per recipient); the
//! SMTP relay's messages relayed, recipients refused and copies delivered, deferred and bounced;
//! and the outboxes' depth (webhooks, emails, relayed copies) and the messages waiting for a
//! reason, read from the database at scrape time.
//! Labels are route templates (`/v1/contacts/{id}`), never concrete paths, which could hold
//! personal data and would grow without bound.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use consento_store::{Store, StoreError};

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// One route's counters. Atomics, found under read locks: counting a request allocates nothing
/// and takes no lock another request waits on (a decision is counted tens of thousands of times
/// a second).
#[derive(Debug, Default)]
struct Route {
    /// Requests by method and status.
    answers: RwLock<HashMap<(&'static str, u16), AtomicU64>>,
    /// Requests at or under each bucket's bound.
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

/// The process's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: RwLock<HashMap<String, Arc<Route>>>,
    decisions: [AtomicU64; 3],
    webhook_delivered: AtomicU64,
    webhook_failed: AtomicU64,
    held: [AtomicU64; 3],
    relay: [AtomicU64; RELAY_EVENTS.len()],
}

/// What the relay counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEvent {
    /// A message accepted (`250` after `DATA`).
    Relayed,
    /// A recipient refused (at `RCPT TO`, at `DATA`, or when its copy was about to leave).
    Refused,
    /// A copy the upstream server accepted.
    Delivered,
    /// An attempt that failed for now.
    Deferred,
    /// A copy given up.
    Bounced,
}

const RELAY_EVENTS: [&str; 5] = ["relayed", "refused", "delivered", "deferred", "bounced"];

const OUTCOMES: [&str; 3] = ["allowed", "needs_justification", "blocked"];

const HELD_EVENTS: [&str; 3] = ["held", "released", "dropped"];

impl Metrics {
    fn counters(&self, route: &str) -> Option<Arc<Route>> {
        if let Some(r) = self.routes.read().ok()?.get(route) {
            return Some(Arc::clone(r));
        }
        let mut routes = self.routes.write().ok()?;
        Some(Arc::clone(routes.entry(route.to_owned()).or_default()))
    }

    /// Counts one request. `method` is one of a fixed few (see `telemetry::track`).
    pub fn request(&self, route: &str, method: &'static str, status: u16, elapsed: Duration) {
        let Some(r) = self.counters(route) else {
            return;
        };
        let key = (method, status);
        let counted = r
            .answers
            .read()
            .ok()
            .and_then(|answers| answers.get(&key).map(|n| n.fetch_add(1, Ordering::Relaxed)))
            .is_some();
        if !counted && let Ok(mut answers) = r.answers.write() {
            answers
                .entry(key)
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        for (n, bound) in r.buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }
        r.count.fetch_add(1, Ordering::Relaxed);
        r.sum_nanos.fetch_add(
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Counts one decision by its outcome (`allowed`, `needs_justification`, `blocked`).
    pub fn decision(&self, outcome: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.decisions[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one held recipient held, released or dropped.
    pub fn held_message(&self, event: &str) {
        if let Some(i) = HELD_EVENTS.iter().position(|e| *e == event) {
            self.held[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one webhook delivery attempt.
    pub fn webhook_attempt(&self, delivered: bool) {
        let counter = if delivered {
            &self.webhook_delivered
        } else {
            &self.webhook_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` relay events of one kind.
    pub fn relay(&self, event: RelayEvent, n: u64) {
        let i = match event {
            RelayEvent::Relayed => 0,
            RelayEvent::Refused => 1,
            RelayEvent::Delivered => 2,
            RelayEvent::Deferred => 3,
            RelayEvent::Bounced => 4,
        };
        self.relay[i].fetch_add(n, Ordering::Relaxed);
    }

    /// The exposition text.
    pub async fn render(&self, store: &Store) -> Result<String, StoreError> {
        let mut out = String::new();
        // Writing to a String cannot fail; the results are ignored for that reason.
        let _ = writeln!(
            out,
            "# HELP consento_http_requests_total HTTP requests by route, method and status.\n# TYPE consento_http_requests_total counter"
        );
        // Sorted, so that the exposition is stable from scrape to scrape.
        let routes: BTreeMap<String, Arc<Route>> = self
            .routes
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
            .unwrap_or_default();
        for (route, r) in &routes {
            let answers: BTreeMap<(&str, u16), u64> = r
                .answers
                .read()
                .map(|m| {
                    m.iter()
                        .map(|(k, n)| (*k, n.load(Ordering::Relaxed)))
                        .collect()
                })
                .unwrap_or_default();
            for ((method, status), n) in answers {
                let _ = writeln!(
                    out,
                    "consento_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP consento_http_request_duration_seconds HTTP request latency by route.\n# TYPE consento_http_request_duration_seconds histogram"
        );
        for (route, r) in &routes {
            for (bound, n) in BUCKETS.iter().zip(&r.buckets) {
                let _ = writeln!(
                    out,
                    "consento_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    n.load(Ordering::Relaxed)
                );
            }
            let count = r.count.load(Ordering::Relaxed);
            let sum = Duration::from_nanos(r.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
            let _ = writeln!(
                out,
                "consento_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\nconsento_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}\nconsento_http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP consento_decisions_total Decisions by outcome.\n# TYPE consento_decisions_total counter"
        );
        for (name, n) in OUTCOMES.iter().zip(&self.decisions) {
            let _ = writeln!(
                out,
                "consento_decisions_total{{outcome=\"{name}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP consento_webhook_attempts_total Webhook delivery attempts by result.\n# TYPE consento_webhook_attempts_total counter\nconsento_webhook_attempts_total{{result=\"delivered\"}} {}\nconsento_webhook_attempts_total{{result=\"failed\"}} {}",
            self.webhook_delivered.load(Ordering::Relaxed),
            self.webhook_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP consento_relay_events_total The SMTP relay: messages relayed, recipients refused, copies delivered, deferred and bounced.\n# TYPE consento_relay_events_total counter"
        );
        for (name, n) in RELAY_EVENTS.iter().zip(&self.relay) {
            let _ = writeln!(
                out,
                "consento_relay_events_total{{event=\"{name}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let outbox = store.outbox_stats().await?;
        let _ = writeln!(
            out,
            "# HELP consento_webhook_outbox_messages Webhook messages in the outbox, by state.\n# TYPE consento_webhook_outbox_messages gauge\nconsento_webhook_outbox_messages{{state=\"pending\"}} {}\nconsento_webhook_outbox_messages{{state=\"dead\"}} {}",
            outbox.pending, outbox.dead
        );
        let emails = store.email_outbox_stats().await?;
        let _ = writeln!(
            out,
            "# HELP consento_email_outbox_messages Emails in the outbox, by state.\n# TYPE consento_email_outbox_messages gauge\nconsento_email_outbox_messages{{state=\"pending\"}} {}\nconsento_email_outbox_messages{{state=\"sent\"}} {}\nconsento_email_outbox_messages{{state=\"dead\"}} {}",
            emails.pending, emails.sent, emails.dead
        );
        let _ = writeln!(
            out,
            "# HELP consento_held_messages_total Recipients of held messages by event: held until a reason is given, released with one, dropped.\n# TYPE consento_held_messages_total counter"
        );
        for (name, n) in HELD_EVENTS.iter().zip(&self.held) {
            let _ = writeln!(
                out,
                "consento_held_messages_total{{event=\"{name}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let held = store.held_counts().await?;
        let _ = writeln!(
            out,
            "# HELP consento_held_messages_waiting Recipients of held messages still waiting for a reason.\n# TYPE consento_held_messages_waiting gauge\nconsento_held_messages_waiting {}",
            held.held
        );
        let _ = writeln!(
            out,
            "# HELP consento_decision_cache_contacts Contacts this process remembers for its decisions.\n# TYPE consento_decision_cache_contacts gauge\nconsento_decision_cache_contacts {}\n# HELP consento_decision_cache_bytes Memory the remembered contacts take (records and the tables that find them).\n# TYPE consento_decision_cache_bytes gauge\nconsento_decision_cache_bytes {}",
            store.remembered_contacts(),
            store.remembered_bytes()
        );
        let relay = store.relay_outbox_stats().await?;
        let _ = writeln!(
            out,
            "# HELP consento_relay_outbox_copies Relayed copies under way (queued or deferred).\n# TYPE consento_relay_outbox_copies gauge\nconsento_relay_outbox_copies {}",
            relay.pending
        );
        Ok(out)
    }
}

/// Every decision is counted, whichever adapter asked the application.
impl consento_app::Hooks for Metrics {
    fn decided(&self, outcome: &'static str) {
        self.decision(outcome);
    }

    fn held_message(&self, event: &'static str) {
        Metrics::held_message(self, event);
    }
}
