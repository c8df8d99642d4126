//! Prometheus metrics, kept in process and rendered in the text exposition format: requests by
//! route, method and status; request latency per route as a histogram; decisions by outcome;
//! webhook deliveries and failures, and the outboxes' depth (webhooks, emails) read from the
//! database at scrape time.
//! Labels are route templates (`/v1/contacts/{id}`), never concrete paths, which could hold
//! personal data and would grow without bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use consento_store::{Store, StoreError};

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The process's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    decisions: [AtomicU64; 3],
    webhook_delivered: AtomicU64,
    webhook_failed: AtomicU64,
}

const OUTCOMES: [&str; 3] = ["allowed", "needs_justification", "blocked"];

impl Metrics {
    /// Counts one request.
    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((route.to_owned(), method.to_owned(), status))
                .or_default() += 1;
        }
        let secs = elapsed.as_secs_f64();
        if let Ok(mut map) = self.latency.lock() {
            let h = map.entry(route.to_owned()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    /// Counts one decision by its outcome (`allowed`, `needs_justification`, `blocked`).
    pub fn decision(&self, outcome: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.decisions[i].fetch_add(1, Ordering::Relaxed);
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

    /// The exposition text.
    pub async fn render(&self, store: &Store) -> Result<String, StoreError> {
        let mut out = String::new();
        // Writing to a String cannot fail; the results are ignored for that reason.
        let _ = writeln!(
            out,
            "# HELP consento_http_requests_total HTTP requests by route, method and status.\n# TYPE consento_http_requests_total counter"
        );
        if let Ok(map) = self.requests.lock() {
            for ((route, method, status), n) in map.iter() {
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
        if let Ok(map) = self.latency.lock() {
            for (route, h) in map.iter() {
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(
                        out,
                        "consento_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "consento_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nconsento_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nconsento_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
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
        Ok(out)
    }
}
