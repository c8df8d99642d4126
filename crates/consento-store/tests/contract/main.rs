//! The storage contract: every store operation, run on SQLite and, when
//! `CONSENTO_TEST_POSTGRES_URL` is set (`.ci/run` sets it), on PostgreSQL too, each test in a
//! database or schema of its own. The same assertions hold on both backends.
//!
//! One test binary: this file holds what every test shares (the backends, the helpers, the
//! `on_every_backend!` macro); the tests are in one module per concern, declared at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use consento_domain::sealed::MasterKey;
use consento_domain::{
    Action, Actor, ActorKind, AllowedBy, Cause, CollectionMethod, ConsentCode, ConsentTypeSpec,
    Decision, EventKind, ManualClock, Permissions, PrivacySettings, Timestamp,
};
use consento_store::{
    AudienceQuery, BulkContact, BulkEvent, ConsentEventInput, ContactInput, ContactRef,
    IdempotencyKey, OsEntropy, Store, StoreConfig, StoreError,
};
use futures_util::TryStreamExt;
use sqlx::Connection;

const DAY: i64 = 86_400_000_000;

/// One backend under test, with what a test needs to reach around the store.
struct Env {
    store: Store,
    clock: Arc<ManualClock>,
    raw: Raw,
}

enum Raw {
    Sqlite(String),
    Postgres { url: String, schema: String },
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique() -> String {
    format!(
        "{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        Timestamp::from_micros(0).as_micros()
    )
}

fn start() -> Timestamp {
    Timestamp::parse("t", "2025-06-01T10:00:00Z").unwrap()
}

/// The master key every store of the contract suite seals under.
fn test_key() -> MasterKey {
    MasterKey::from_bytes([7; 32])
}

async fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    let path = std::env::temp_dir().join(format!("consento-contract-{}.db", unique()));
    let url = format!("sqlite:{}", path.display());
    let clock = Arc::new(ManualClock::new(start()));
    let store = Store::open(
        &StoreConfig::new(&url, test_key()),
        clock.clone(),
        Arc::new(OsEntropy),
    )
    .await
    .unwrap();
    out.push(Env {
        store,
        clock,
        raw: Raw::Sqlite(path.display().to_string()),
    });
    if let Ok(url) = std::env::var("CONSENTO_TEST_POSTGRES_URL") {
        let schema = format!("contract_{}", unique());
        let mut config = StoreConfig::new(&url, test_key());
        config.pg_schema = Some(schema.clone());
        let clock = Arc::new(ManualClock::new(start()));
        let store = Store::open(&config, clock.clone(), Arc::new(OsEntropy))
            .await
            .unwrap();
        out.push(Env {
            store,
            clock,
            raw: Raw::Postgres { url, schema },
        });
    }
    out
}

impl Env {
    /// Runs SQL around the store, as a database administrator would (or an attacker with access
    /// to the database file).
    async fn raw_sql(&self, sql: &str) -> Result<(), sqlx::Error> {
        match &self.raw {
            Raw::Sqlite(path) => {
                let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{path}")).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await?;
            }
            Raw::Postgres { url, schema } => {
                let mut c = sqlx::PgConnection::connect(url).await?;
                let sql = format!("SET search_path TO {schema}; {sql}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await?;
            }
        }
        Ok(())
    }

    /// A second store on the same database, as another process would open it.
    async fn second_store(&self) -> Store {
        self.second_store_with(|_| {}).await
    }

    /// A second store on the same database with its configuration changed by `change`, or why
    /// it does not open.
    async fn try_second_store_with(
        &self,
        change: impl FnOnce(&mut StoreConfig),
    ) -> Result<Store, StoreError> {
        let mut config = match &self.raw {
            Raw::Sqlite(path) => StoreConfig::new(format!("sqlite:{path}"), test_key()),
            Raw::Postgres { url, schema } => {
                let mut c = StoreConfig::new(url, test_key());
                c.pg_schema = Some(schema.clone());
                c
            }
        };
        change(&mut config);
        Store::open(&config, self.clock.clone(), Arc::new(OsEntropy)).await
    }

    /// The first column of each row `sql` returns, as bytes (a BLOB or BYTEA column).
    async fn raw_bytes(&self, sql: &str) -> Vec<Vec<u8>> {
        match &self.raw {
            Raw::Sqlite(path) => {
                let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
                    .await
                    .unwrap();
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
            }
            Raw::Postgres { url, schema } => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
            }
        }
    }

    /// A binary literal of this backend's SQL.
    fn bytes_literal(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match &self.raw {
            Raw::Sqlite(_) => format!("X'{hex}'"),
            Raw::Postgres { .. } => format!("'\\x{hex}'::bytea"),
        }
    }

    /// A second store on the same database, with its configuration changed by `change`.
    async fn second_store_with(&self, change: impl FnOnce(&mut StoreConfig)) -> Store {
        let mut config = match &self.raw {
            Raw::Sqlite(path) => StoreConfig::new(format!("sqlite:{path}"), test_key()),
            Raw::Postgres { url, schema } => {
                let mut c = StoreConfig::new(url, test_key());
                c.pg_schema = Some(schema.clone());
                c
            }
        };
        change(&mut config);
        Store::open(&config, self.clock.clone(), Arc::new(OsEntropy))
            .await
            .unwrap()
    }

    fn is_postgres(&self) -> bool {
        matches!(self.raw, Raw::Postgres { .. })
    }

    /// Lets the test tamper with the ledger: removes the append-only guard.
    async fn disable_ledger_guard(&self) {
        let sql = if self.is_postgres() {
            "ALTER TABLE consent_events DISABLE TRIGGER USER"
        } else {
            "DROP TRIGGER consent_events_no_update; DROP TRIGGER consent_events_no_delete; DROP TRIGGER consent_events_chain"
        };
        self.raw_sql(sql).await.unwrap();
    }

    async fn finish(self) {
        self.store.close().await;
        match &self.raw {
            Raw::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
            Raw::Postgres { url, schema } => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
    }
}

/// Runs the body once per backend, naming the backend in any failure.
macro_rules! on_every_backend {
    ($env:ident => $body:block) => {
        for $env in envs().await {
            // Printed output is shown with a failure: it names the backend that failed.
            println!("backend: {:?}", $env.store.backend());
            let result = {
                let $env = &$env;
                async move { $body }.await
            };
            let () = result;
            $env.finish().await;
        }
    };
}

fn spec(code: &str, validity: Option<u32>, permissions: Permissions) -> ConsentTypeSpec {
    ConsentTypeSpec {
        title: format!("Tipo {code}"),
        code: ConsentCode::parse(code).unwrap(),
        description: None,
        validity_days: validity,
        permissions,
        show_in_preference_center: true,
        purpose: Default::default(),
    }
}

fn newsletter() -> Permissions {
    Permissions {
        email_bulk: true,
        ..Permissions::default()
    }
}

fn single_email() -> Permissions {
    Permissions {
        email_single: true,
        ..Permissions::default()
    }
}

fn contact(email: &str) -> ContactInput {
    ContactInput {
        name: Some("Mario Rossi".into()),
        emails: vec![email.into()],
        ..ContactInput::default()
    }
}

fn operator() -> Actor {
    Actor::new(ActorKind::Operator, "mrossi").unwrap()
}

fn event(r: &ContactRef, code: &str, kind: EventKind, at: Option<Timestamp>) -> ConsentEventInput {
    ConsentEventInput {
        contact: r.clone(),
        type_code: code.into(),
        kind,
        event_time: at,
        method: CollectionMethod::Operator,
        actor: operator(),
        notice_version: None,
        evidence: None,
    }
}

fn days_before(t: Timestamp, days: i64) -> Timestamp {
    Timestamp::from_micros(t.as_micros() - days * DAY)
}

fn staff(name: &str, role: consento_domain::Role) -> consento_store::NewUser {
    consento_store::NewUser {
        username: consento_domain::Username::parse(name).unwrap(),
        display_name: String::new(),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA".to_owned(),
        must_change_password: false,
    }
}

fn subscription(
    email: &str,
    token: &str,
    types: &[&str],
) -> consento_store::SubscriptionRequestInput {
    consento_store::SubscriptionRequestInput {
        email: email.into(),
        name: Some("Giulia Bianchi".into()),
        type_codes: types.iter().map(|t| (*t).to_owned()).collect(),
        locale: "en".into(),
        source: consento_store::RequestSource::Form,
        requested_by: None,
        user_agent: Some("Mozilla/5.0".into()),
        ip_prefix: Some("203.0.113.0/24".into()),
        token_sha256: consento_store::token_sha256(token),
        expires_at: Timestamp::from_micros(start().as_micros() + 2 * DAY),
        template: "subscription_confirm".into(),
        payload: serde_json::json!({"link": format!("https://example.it/confirm/{token}")}),
        limits: consento_store::RequestLimits {
            resend_after: std::time::Duration::from_secs(600),
            per_day: 3,
        },
    }
}

/// Every current state is what the ledger's projection leaves, as single appends would have left
/// it: one per contact and type with events, naming the latest of them by event time (the later
/// in the ledger among equal times), with that event's kind, time, grant and validity.
async fn assert_states_follow_the_ledger(env: &Env) {
    let keys = env
        .raw_count("SELECT COUNT(*) FROM (SELECT DISTINCT contact_id, consent_type_id FROM consent_events) k")
        .await;
    assert_eq!(
        env.raw_count("SELECT COUNT(*) FROM consent_state").await,
        keys
    );
    let astray = env
        .raw_count(
            "SELECT COUNT(*) FROM consent_state s LEFT JOIN consent_events e ON e.seq = s.event_seq AND e.contact_id = s.contact_id AND e.consent_type_id = s.consent_type_id
             WHERE e.seq IS NULL OR e.kind <> s.kind OR e.event_time <> s.event_time
             OR (CASE WHEN s.granted THEN 1 ELSE 0 END) <> (CASE WHEN e.kind IN ('given', 'renewed') THEN 1 ELSE 0 END)
             OR s.valid_until <> (CASE WHEN e.kind IN ('given', 'renewed') THEN COALESCE(e.event_time + e.validity_days * 86400000000, 9223372036854775807) ELSE e.event_time END)
             OR EXISTS (SELECT 1 FROM consent_events l WHERE l.contact_id = s.contact_id AND l.consent_type_id = s.consent_type_id
                        AND (l.event_time > s.event_time OR (l.event_time = s.event_time AND l.seq > s.event_seq)))",
        )
        .await;
    assert_eq!(astray, 0, "current states that the ledger does not project");
}

// The concerns of the contract, one module each (after `on_every_backend!`, which they use).
mod audience;
mod audience_index;
mod bulk;
mod call_outcomes;
mod channels;
mod contacts;
mod data_requests;
mod decisions;
mod erasure;
mod export;
mod flags;
mod held_messages;
mod idempotency;
mod import_parts;
mod imports;
mod ledger;
mod links;
mod mail_outbox;
mod receipts;
mod register;
mod relay_outbox;
mod remembered_decisions;
mod rules;
mod sealed_secrets;
mod sqlite_wal;
mod stats;
mod subscriptions;
mod tokens;
mod types_and_settings;
mod users_sessions_audit;
#[path = "../support/webhooks.rs"]
mod webhooks;
