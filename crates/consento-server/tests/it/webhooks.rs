//! Webhook delivery end to end: a real HTTP receiver on 127.0.0.1 checks every request with the
//! Standard Webhooks reference library (`standardwebhooks`, the test oracle), and answers as each
//! test scripts it (500 then 200, 410, too slowly). The worker runs on a store with a manual clock
//! standing at the real time, so the library's five-minute timestamp tolerance holds while a test
//! moves the clock over retry delays of a few seconds.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use consento_domain::{
    Actor, ActorKind, Clock, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind,
    ManualClock, Permissions,
};
use consento_server::config::WebhookConfig;
use consento_server::webhooks::{Worker, deliver_once, run_worker};
use consento_store::{
    ConsentEventInput, ContactInput, ContactRef, OsEntropy, Store, StoreConfig, SystemClock,
    WebhookSubscription, WebhookSubscriptionInput,
};
use serde_json::Value;

use crate::support::{serve, terminate};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// The receiver's script and log.
#[derive(Default)]
struct ReceiverState {
    /// Answers to give, in order, each after a delay and with a `Retry-After` if given; then 200
    /// at once.
    script: Mutex<VecDeque<(u16, Duration, Option<u64>)>>,
    got: Mutex<Vec<Received>>,
}

/// A webhook receiver on a free loopback port.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap) {
    state.got.lock().unwrap().push(Received { headers, body });
    let next = state.script.lock().unwrap().pop_front();
    let (status, delay, retry_after) = next.unwrap_or((200, Duration::ZERO, None));
    tokio::time::sleep(delay).await;
    let mut headers = HeaderMap::new();
    if let Some(secs) = retry_after {
        headers.insert("retry-after", secs.to_string().parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), headers)
}

impl Receiver {
    async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answers the next requests with these statuses (then 200).
    fn answer(&self, statuses: &[u16]) {
        let mut script = self.state.script.lock().unwrap();
        script.extend(statuses.iter().map(|s| (*s, Duration::ZERO, None)));
    }

    fn answer_late(&self, status: u16, delay: Duration) {
        self.state
            .script
            .lock()
            .unwrap()
            .push_back((status, delay, None));
    }

    fn answer_retry_after(&self, status: u16, secs: u64) {
        self.state
            .script
            .lock()
            .unwrap()
            .push_back((status, Duration::ZERO, Some(secs)));
    }

    fn got(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }
}

/// Verifies a request with the reference library; returns the parsed body.
fn verified(secret: &str, r: &Received) -> Value {
    let webhook = standardwebhooks::Webhook::new(secret).unwrap();
    webhook
        .verify(&r.body, &r.headers)
        .unwrap_or_else(|e| panic!("signature refused: {e:?}"));
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/json",
        "Standard Webhooks bodies are JSON"
    );
    serde_json::from_slice(&r.body).unwrap()
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers.get(name).unwrap().to_str().unwrap()
}

/// A store on a scratch SQLite file, with a manual clock at the real time.
struct Env {
    store: Arc<Store>,
    clock: Arc<ManualClock>,
    /// The SQLite file, removed at the end (none on PostgreSQL).
    path: Option<std::path::PathBuf>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Env {
    async fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "consento-webhooks-{}-{}.db",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = Store::open(
            &StoreConfig::new(
                format!("sqlite:{}", path.display()),
                consento_domain::sealed::MasterKey::from_bytes([7; 32]),
            ),
            clock.clone(),
            Arc::new(OsEntropy),
        )
        .await
        .unwrap();
        Self {
            store: Arc::new(store),
            clock,
            path: Some(path),
        }
    }

    async fn subscribe(&self, url: &str, kinds: &[&str]) -> WebhookSubscription {
        self.store
            .create_subscription(WebhookSubscriptionInput {
                url: url.to_owned(),
                description: None,
                active: true,
                kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            })
            .await
            .unwrap()
    }

    /// A consent type NEWS (30 days) and one contact with a name, an email and a phone number.
    async fn contact(&self) -> ContactRef {
        if self.store.consent_type("NEWS").await.is_err() {
            self.store
                .create_consent_type(ConsentTypeSpec {
                    title: "Newsletter".into(),
                    code: ConsentCode::parse("NEWS").unwrap(),
                    description: None,
                    validity_days: Some(30),
                    permissions: Permissions {
                        email_bulk: true,
                        ..Permissions::default()
                    },
                    show_in_preference_center: true,
                    purpose: Default::default(),
                })
                .await
                .unwrap();
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let c = self
            .store
            .create_contact(ContactInput {
                external_id: Some(format!("CRM-{n}")),
                name: Some("Ottavia Sgherri".into()),
                emails: vec![format!("ottavia.sgherri{n}@example.it")],
                phones: vec![format!("+39 347 {:07}", 1_000_000 + n)],
                ..ContactInput::default()
            })
            .await
            .unwrap();
        ContactRef::Id(c.id)
    }

    async fn consent(&self, r: &ContactRef, kind: EventKind) {
        self.store
            .record_consent(ConsentEventInput {
                contact: r.clone(),
                type_code: "NEWS".into(),
                kind,
                event_time: None,
                method: CollectionMethod::Operator,
                actor: Actor::new(ActorKind::Operator, "op").unwrap(),
                notice_version: None,
                evidence: None,
            })
            .await
            .unwrap();
    }

    async fn pass(&self, config: &WebhookConfig) -> consento_server::webhooks::Pass {
        deliver_once(Arc::clone(&self.store), config.clone())
            .await
            .unwrap()
    }

    fn advance_secs(&self, secs: i64) {
        self.clock.advance(secs * 1_000_000);
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// Short delays: a first retry after 0.5–1 s, at most 4 s apart, three attempts, one-second timeout.
fn config() -> WebhookConfig {
    WebhookConfig {
        enabled: true,
        poll_interval_ms: 20,
        batch_size: 50,
        timeout_seconds: 1,
        max_attempts: 3,
        backoff_base_seconds: 1,
        max_backoff_seconds: 4,
        retention_days: 30,
    }
}

#[tokio::test]
async fn every_delivery_is_signed_so_that_the_standard_webhooks_library_verifies_it() {
    let env = Env::new().await;
    let receiver = Receiver::start().await;
    let s = env
        .subscribe(
            &receiver.url(),
            &["consent.given", "consent.withdrawn", "contact.restricted"],
        )
        .await;
    let r = env.contact().await;
    env.consent(&r, EventKind::Given).await;
    env.consent(&r, EventKind::Withdrawn).await;
    env.store.set_restricted(&r, true).await.unwrap();
    let pass = env.pass(&config()).await;
    assert_eq!((pass.claimed, pass.delivered), (3, 3), "{pass:?}");
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    let outbox = env.store.outbox_messages(s.id, 10).await.unwrap();
    let mut types = Vec::new();
    for r in &got {
        let body = verified(&s.secret, r);
        types.push(body["type"].as_str().unwrap().to_owned());
        // The id and the body are the outbox's; the timestamp is the attempt's, from the clock.
        let id = header(r, "webhook-id");
        let stored = outbox.iter().find(|m| m.id == id).unwrap();
        assert_eq!(std::str::from_utf8(&r.body).unwrap(), stored.payload);
        assert!(stored.delivered_at.is_some());
        assert_eq!(
            header(r, "webhook-timestamp"),
            (env.store.now().as_micros() / 1_000_000).to_string()
        );
        assert!(header(r, "webhook-signature").starts_with("v1,"));
        // The oracle can fail: a changed body, or another secret, is refused.
        let mut tampered = r.clone();
        tampered.body = Bytes::from(r.body.iter().rev().copied().collect::<Vec<u8>>());
        let webhook = standardwebhooks::Webhook::new(&s.secret).unwrap();
        assert!(webhook.verify(&tampered.body, &tampered.headers).is_err());
        let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let webhook = standardwebhooks::Webhook::new(other).unwrap();
        assert!(webhook.verify(&r.body, &r.headers).is_err());
    }
    types.sort();
    assert_eq!(
        types,
        ["consent.given", "consent.withdrawn", "contact.restricted"]
    );
    // Nothing is sent twice.
    assert_eq!(env.pass(&config()).await.claimed, 0);
    assert_eq!(receiver.got().len(), 3);
    assert_eq!(env.store.outbox_stats().await.unwrap().pending, 0);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_after_a_backoff_under_the_same_id_until_it_succeeds() {
    let env = Env::new().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 503]);
    let s = env.subscribe(&receiver.url(), &["consent.given"]).await;
    let r = env.contact().await;
    env.consent(&r, EventKind::Given).await;

    let pass = env.pass(&config()).await;
    assert_eq!((pass.claimed, pass.retrying), (1, 1), "{pass:?}");
    let m = &env.store.outbox_messages(s.id, 1).await.unwrap()[0];
    assert_eq!(m.last_error.as_deref(), Some("http_500"));
    // First retry: 1 s nominal, jittered into 0.5–1 s.
    let wait = m.next_attempt_at.as_micros() - env.store.now().as_micros();
    assert!((500_000..=1_000_000).contains(&wait), "{wait}");
    assert_eq!(env.pass(&config()).await.claimed, 0, "not due yet");

    env.advance_secs(1);
    let pass = env.pass(&config()).await;
    assert_eq!(pass.retrying, 1, "{pass:?}");
    let m = &env.store.outbox_messages(s.id, 1).await.unwrap()[0];
    assert_eq!(m.last_error.as_deref(), Some("http_503"));
    // Second retry: 2 s nominal, 1–2 s.
    let wait = m.next_attempt_at.as_micros() - env.store.now().as_micros();
    assert!((1_000_000..=2_000_000).contains(&wait), "{wait}");

    env.advance_secs(2);
    let pass = env.pass(&config()).await;
    assert_eq!(pass.delivered, 1, "{pass:?}");
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    let ids: Vec<&str> = got.iter().map(|r| header(r, "webhook-id")).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one id at every attempt: {ids:?}"
    );
    let stamps: Vec<i64> = got
        .iter()
        .map(|r| header(r, "webhook-timestamp").parse().unwrap())
        .collect();
    assert!(
        stamps[0] < stamps[2],
        "each attempt is stamped anew: {stamps:?}"
    );
    for r in &got {
        verified(&s.secret, r);
        assert_eq!(r.body, got[0].body, "the same body at every attempt");
    }
    let m = &env.store.outbox_messages(s.id, 1).await.unwrap()[0];
    assert_eq!(m.attempts, 3);
    assert!(m.delivered_at.is_some() && m.last_error.is_none());
}

#[tokio::test]
async fn a_retry_after_from_the_receiver_is_honoured_up_to_the_longest_backoff() {
    let env = Env::new().await;
    let receiver = Receiver::start().await;
    receiver.answer_retry_after(503, 3);
    receiver.answer_retry_after(429, 3600);
    let s = env.subscribe(&receiver.url(), &["consent.given"]).await;
    let r = env.contact().await;
    env.consent(&r, EventKind::Given).await;
    env.pass(&config()).await;
    let wait = |m: &consento_store::OutboxMessage| {
        m.next_attempt_at.as_micros() - env.store.now().as_micros()
    };
    let m = &env.store.outbox_messages(s.id, 1).await.unwrap()[0];
    // Asked for 3 s, more than the 0.5–1 s backoff.
    assert_eq!(
        (m.last_error.as_deref(), wait(m)),
        (Some("http_503"), 3_000_000)
    );
    env.advance_secs(3);
    env.pass(&config()).await;
    let m = &env.store.outbox_messages(s.id, 1).await.unwrap()[0];
    // Asked for an hour: capped at max_backoff_seconds (4 s).
    assert_eq!(
        (m.last_error.as_deref(), wait(m)),
        (Some("http_429"), 4_000_000)
    );
    env.advance_secs(4);
    assert_eq!(env.pass(&config()).await.delivered, 1);
}

#[tokio::test]
async fn a_message_is_given_up_after_the_last_attempt() {
    let env = Env::new().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 502, 500]);
    let s = env.subscribe(&receiver.url(), &["consent.given"]).await;
    let r = env.contact().await;
    env.consent(&r, EventKind::Given).await;
    for _ in 0..5 {
        env.pass(&config()).await;
        env.advance_secs(5);
    }
    assert_eq!(receiver.got().len(), 3, "max_attempts = 3");
    let stats = env.store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.dead), (0, 1));
    let m = &env.store.outbox_messages(s.id, 1).await.unwrap()[0];
    assert_eq!(
        (m.attempts, m.last_error.as_deref()),
        (3, Some("http_500")),
        "the last failure is kept"
    );
    assert!(m.dead_at.is_some());
    // The subscription itself stays active: the next event goes out.
    env.consent(&r, EventKind::Renewed).await;
    assert_eq!(env.pass(&config()).await.delivered, 1);
}

#[tokio::test]
async fn a_receiver_that_answers_410_gone_has_its_subscription_deactivated() {
    let env = Env::new().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[410]);
    let s = env.subscribe(&receiver.url(), &["consent.given"]).await;
    let r = env.contact().await;
    env.consent(&r, EventKind::Given).await;
    let pass = env.pass(&config()).await;
    assert_eq!(pass.dead, 1, "{pass:?}");
    assert!(!env.store.subscription(s.id).await.unwrap().active);
    // Nothing more is enqueued or sent to it.
    env.consent(&r, EventKind::Renewed).await;
    env.advance_secs(10);
    assert_eq!(env.pass(&config()).await.claimed, 0);
    assert_eq!(receiver.got().len(), 1);
    let m = env.store.outbox_messages(s.id, 10).await.unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].last_error.as_deref(), Some("http_410"));
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_or_at_all_is_retried() {
    let env = Env::new().await;
    let receiver = Receiver::start().await;
    receiver.answer_late(200, Duration::from_secs(5));
    let s = env.subscribe(&receiver.url(), &["consent.given"]).await;
    // A port nobody listens on (bound, then released).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let nobody = env
        .subscribe(&format!("http://{closed}/hook"), &["consent.given"])
        .await;
    let r = env.contact().await;
    env.consent(&r, EventKind::Given).await;
    let started = std::time::Instant::now();
    let pass = env.pass(&config()).await;
    assert_eq!(pass.retrying, 2, "{pass:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the timeout cut the slow receiver off"
    );
    let slow = &env.store.outbox_messages(s.id, 1).await.unwrap()[0];
    assert_eq!(slow.last_error.as_deref(), Some("timeout"));
    let refused = &env.store.outbox_messages(nobody.id, 1).await.unwrap()[0];
    assert_eq!(refused.last_error.as_deref(), Some("connect"));
}

#[tokio::test]
async fn bodies_sent_carry_ids_and_codes_but_no_name_email_or_phone() {
    let env = Env::new().await;
    let receiver = Receiver::start().await;
    let all = [
        "consent.given",
        "consent.withdrawn",
        "consent.refused",
        "consent.expired",
        "contact.restricted",
        "contact.objected",
    ];
    // Subscribed and consented 31 days ago, with a validity of 30 days: expired yesterday.
    let real = SystemClock.now();
    env.clock.set(consento_domain::Timestamp::from_micros(
        real.as_micros() - 31 * 86_400_000_000,
    ));
    let s = env.subscribe(&receiver.url(), &all).await;
    let r = env.contact().await;
    let contact = env.store.contact(&r).await.unwrap();
    env.consent(&r, EventKind::Given).await;
    env.clock.set(real);
    assert_eq!(env.store.announce_expired(10).await.unwrap(), 1);
    env.consent(&r, EventKind::Withdrawn).await;
    env.consent(&r, EventKind::Refused).await;
    env.store.set_restricted(&r, true).await.unwrap();
    env.store.set_objected(&r, true).await.unwrap();
    assert_eq!(env.pass(&config()).await.delivered, 6);
    let got = receiver.got();
    let mut types: Vec<String> = Vec::new();
    for req in &got {
        let body = verified(&s.secret, req);
        let text = std::str::from_utf8(&req.body).unwrap().to_lowercase();
        for needle in ["ottavia", "sgherri", "@example.it", "+39", "347 "] {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
        let phone = contact.phones[0].as_str().trim_start_matches('+');
        assert!(!text.contains(phone), "{text}");
        assert_eq!(body["data"]["contact_id"], contact.id.to_string().as_str());
        assert_eq!(
            body["data"]["external_id"],
            contact.external_id.as_deref().unwrap()
        );
        types.push(body["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    let mut expected = all.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(types, expected);
}

#[tokio::test]
async fn the_worker_delivers_until_told_to_stop_then_returns() {
    let env = Env::new().await;
    let receiver = Receiver::start().await;
    let s = env.subscribe(&receiver.url(), &["consent.given"]).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_worker(Arc::clone(&env.store), config(), stopped));
    let r = env.contact().await;
    for _ in 0..5 {
        env.consent(&r, EventKind::Renewed).await;
        env.clock.advance(1_000);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while receiver.got().len() < 5 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(receiver.got().len(), 5);
    // A slow receiver: the attempt under way when the signal comes is finished and recorded.
    receiver.answer_late(200, Duration::from_millis(300));
    env.consent(&r, EventKind::Renewed).await;
    while receiver.got().len() < 6 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("the worker stops")
        .unwrap();
    let m = env.store.outbox_messages(s.id, 10).await.unwrap();
    assert_eq!(m.len(), 6);
    assert!(m.iter().all(|m| m.delivered_at.is_some()), "{m:?}");
    for req in &receiver.got() {
        verified(&s.secret, req);
    }
    // Stopped: a new message waits for the next worker.
    env.consent(&r, EventKind::Renewed).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.got().len(), 6);
    assert_eq!(env.store.outbox_stats().await.unwrap().pending, 1);
    let worker = Worker::new(Arc::clone(&env.store), config()).unwrap();
    assert_eq!(worker.deliver_once().await.unwrap().delivered, 1);
}

async fn wait_for(receiver: &Receiver, count: usize, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    while receiver.got().len() < count && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_administrator_manages_subscriptions_over_the_api_and_sees_the_secret_only_once() {
    use reqwest::Method;
    use serde_json::json;
    let receiver = Receiver::start().await;
    let app = crate::support::spawn_app_with(false, |c| c.webhooks.poll_interval_ms = 20)
        .await
        .unwrap();
    let request = json!({
        "url": receiver.url(),
        "description": "CRM",
        "kinds": ["contact.restricted", "consent.given"],
    });
    let (status, body) = app.post("/v1/webhooks", "write", &request).await;
    assert_eq!(status, 403, "webhooks are the administrator's: {body}");
    let (status, created) = app.post("/v1/webhooks", "admin", &request).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["active"], true);
    assert_eq!(
        created["kinds"],
        json!(["consent.given", "contact.restricted"])
    );
    let id = created["id"].as_str().unwrap().to_owned();

    // Never shown again.
    let (status, list) = app.get("/v1/webhooks", "admin").await;
    assert_eq!(status, 200);
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);
    let (status, one) = app.get(&format!("/v1/webhooks/{id}"), "admin").await;
    assert_eq!(
        (status, one["url"].as_str()),
        (200, Some(receiver.url().as_str()))
    );
    for shown in [&list, &one] {
        assert!(!shown.to_string().contains(&secret[6..]), "{shown}");
    }

    // Refusals name the field.
    for (body, status, field) in [
        (
            json!({"url": "ftp://x.example/", "kinds": ["consent.given"]}),
            422,
            "url",
        ),
        (
            json!({"url": "https://x.example/", "kinds": []}),
            422,
            "kinds",
        ),
        (
            json!({"url": "https://x.example/", "kinds": ["consent.nope"]}),
            422,
            "kinds",
        ),
        (
            json!({"url": "https://x.example/", "kinds": ["consent.given"], "secret": "mine"}),
            400,
            "secret",
        ),
        (json!({"kinds": ["consent.given"]}), 400, "url"),
    ] {
        let (got, problem) = app.post("/v1/webhooks", "admin", &body).await;
        assert_eq!(got, status, "{body}: {problem}");
        assert!(
            problem["field"].as_str().unwrap_or("").contains(field),
            "{body}: {problem}"
        );
    }

    // The worker of the running server delivers, signed with that secret.
    let c = app
        .store
        .create_contact(ContactInput {
            emails: vec!["api@example.it".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    // Restricted through the API (GDPR Art. 18): the message is written with the change.
    let (status, _) = app
        .send(
            Method::PUT,
            &format!("/v1/contacts/{}/restriction", c.id),
            "write",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    wait_for(&receiver, 1, Duration::from_secs(10)).await;
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    let body = verified(&secret, &got[0]);
    assert_eq!(body["type"], "contact.restricted");
    let mut delivered = false;
    for _ in 0..100 {
        let (_, m) = app
            .get(&format!("/v1/webhooks/{id}/messages"), "admin")
            .await;
        delivered = !m["messages"][0]["delivered_at"].is_null();
        if delivered {
            assert_eq!(m["messages"][0]["id"], header(&got[0], "webhook-id"));
            assert_eq!(m["messages"][0]["payload"], body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(delivered);

    // Replaced, then deleted.
    let (status, replaced) = app
        .send(
            Method::PUT,
            &format!("/v1/webhooks/{id}"),
            "admin",
            &json!({"url": "https://crm.example.it/in", "active": false, "kinds": ["consent.withdrawn"]}),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(
        (
            &replaced["active"],
            &replaced["kinds"],
            &replaced["description"]
        ),
        (&json!(false), &json!(["consent.withdrawn"]), &Value::Null)
    );
    let delete = || {
        crate::support::send(app.request(Method::DELETE, &format!("/v1/webhooks/{id}"), "admin"))
    };
    assert_eq!(delete().await.0, 204);
    assert_eq!(delete().await.0, 404);
    assert_eq!(app.get(&format!("/v1/webhooks/{id}"), "admin").await.0, 404);
    assert_eq!(app.get("/v1/webhooks/not-a-uuid", "admin").await.0, 404);
    assert_eq!(
        app.get(&format!("/v1/webhooks/{id}/messages"), "admin")
            .await
            .0,
        404
    );
    app.shutdown().await;
}

#[tokio::test]
async fn two_serve_processes_on_one_postgres_database_deliver_each_event_exactly_once() {
    let Some(db) = crate::support::Scratch::postgres() else {
        println!("CONSENTO_TEST_POSTGRES_URL is not set: skipped");
        return;
    };
    let receiver = Receiver::start().await;
    let config = db.store_config();
    let store = Store::open(&config, Arc::new(SystemClock), Arc::new(OsEntropy))
        .await
        .unwrap();
    let s = store
        .create_subscription(WebhookSubscriptionInput {
            url: receiver.url(),
            description: None,
            active: true,
            kinds: vec!["consent.given".into(), "contact.restricted".into()],
        })
        .await
        .unwrap();
    let env = Env {
        store: Arc::new(store),
        clock: Arc::new(ManualClock::new(SystemClock.now())),
        path: None,
    };
    // A backlog both processes find when they start, then events arriving while they poll:
    // 40 contacts, each consenting and restricted.
    let mut expected = 0;
    for _ in 0..20 {
        let r = env.contact().await;
        env.consent(&r, EventKind::Given).await;
        env.store.set_restricted(&r, true).await.unwrap();
        expected += 2;
    }
    let (url, schema, dir) = (
        db.url.clone(),
        db.pg_schema.clone().unwrap(),
        db.dir.clone(),
    );
    let (a, b) = tokio::task::spawn_blocking(move || {
        (serve(&url, &schema, &dir).0, serve(&url, &schema, &dir).0)
    })
    .await
    .unwrap();
    for _ in 0..20 {
        let r = env.contact().await;
        env.consent(&r, EventKind::Given).await;
        env.store.set_restricted(&r, true).await.unwrap();
        expected += 2;
    }
    wait_for(&receiver, expected, Duration::from_secs(60)).await;
    // Time for a duplicate, if there were one, to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::spawn_blocking(move || {
        terminate(a);
        terminate(b);
    })
    .await
    .unwrap();
    let got = receiver.got();
    let ids: std::collections::BTreeSet<&str> =
        got.iter().map(|r| header(r, "webhook-id")).collect();
    assert_eq!(ids.len(), expected, "every event delivered");
    assert_eq!(got.len(), expected, "and none twice");
    for r in &got {
        verified(&s.secret, r);
    }
    let stats = env.store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.dead), (0, 0));
    env.store.close().await;
}
