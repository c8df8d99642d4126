#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The application crate's one integration-test binary: its use cases on a real SQLite store
//! with an injected clock, as every adapter calls them.

mod audit;
mod consents;
mod controller;
mod decisions;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use consento_app::policy::{Controller, SubscriptionPolicy};
use consento_app::{App, Hooks, Policy};
use consento_domain::erasure::{ErasurePolicy, RetentionPolicy};
use consento_domain::requests::HolidayCalendar;
use consento_domain::{
    ConsentCode, ConsentTypeSpec, Locale, ManualClock, Permissions, Timestamp, Zone,
};
use consento_store::{AuditFilter, ContactInput, OsEntropy, Store, StoreConfig};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Counts the decisions the app reports, as the server's metrics do.
#[derive(Debug, Default)]
pub struct Counted(pub std::sync::Mutex<Vec<&'static str>>);

impl Hooks for Counted {
    fn decided(&self, outcome: &'static str) {
        self.0.lock().unwrap().push(outcome);
    }
}

/// A test application: its store on a fresh SQLite file, its clock, and its counted decisions.
pub struct TestApp {
    /// The application under test.
    pub app: App,
    /// Its database file.
    pub path: std::path::PathBuf,
    /// Its store, for setting up and reading back.
    pub store: Arc<Store>,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// The decisions its hooks saw.
    pub counted: Arc<Counted>,
}

/// The policy of the tests: the defaults of a new installation.
pub fn policy() -> Policy {
    Policy {
        erasure: ErasurePolicy::default(),
        retention: RetentionPolicy::new([("marketing".to_owned(), 24)], 24),
        retention_batch: 100,
        calendar: HolidayCalendar::italy(),
        zone: Zone::rome(),
        controller: Controller::default(),
        controller_fallback_name: "Titolare di prova".to_owned(),
        public_base_url: "http://127.0.0.1:9".to_owned(),
        subscriptions: SubscriptionPolicy {
            confirm_hours: 48,
            resend_minutes: 10,
            daily_limit: 5,
        },
        default_locale: Locale::It,
        import_max_cell_bytes: consento_app::import::DEFAULT_MAX_CELL_BYTES,
        calling_hours: Default::default(),
        rpo: Some(Default::default()),
        silent_call_cooldown_days: 7,
        requested_call_days: 7,
        hold_hours: 48,
        relay_hold_hours: 48,
    }
}

/// A test application on a fresh SQLite file, at 2026-06-01 10:00 UTC.
pub async fn test_app() -> TestApp {
    test_app_with(policy()).await
}

/// As [`test_app`], deciding with `policy`.
pub async fn test_app_with(policy: Policy) -> TestApp {
    let path = std::env::temp_dir().join(format!(
        "consento-app-{}-{}.db",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("t", "2026-06-01T10:00:00Z").unwrap(),
    ));
    let store = Arc::new(
        Store::open(
            &StoreConfig::new(
                format!("sqlite:{}", path.display()),
                consento_domain::sealed::MasterKey::from_bytes([7; 32]),
            ),
            clock.clone(),
            Arc::new(OsEntropy),
        )
        .await
        .unwrap(),
    );
    let counted = Arc::new(Counted::default());
    let app = App::new(store.clone(), policy, counted.clone());
    TestApp {
        app,
        path,
        store,
        clock,
        counted,
    }
}

impl TestApp {
    /// A newsletter type (bulk email, one year) and a contact; the contact's id.
    pub async fn newsletter_and_contact(&self) -> consento_domain::ContactId {
        self.store
            .create_consent_type(ConsentTypeSpec {
                title: "Newsletter".to_owned(),
                code: ConsentCode::parse("NEWS").unwrap(),
                description: None,
                validity_days: Some(365),
                permissions: Permissions {
                    email_bulk: true,
                    ..Permissions::default()
                },
                show_in_preference_center: true,
                purpose: Default::default(),
            })
            .await
            .unwrap();
        self.store
            .create_contact(ContactInput {
                emails: vec!["anna@example.it".to_owned()],
                ..ContactInput::default()
            })
            .await
            .unwrap()
            .id
    }

    /// A real API token's id (the audit trail refers to tokens and accounts by foreign key).
    pub async fn token(&self) -> uuid::Uuid {
        self.store
            .create_token("crm", &["write".to_owned()], None, None)
            .await
            .unwrap()
            .0
            .id
    }

    /// A real console account's id.
    pub async fn user(&self) -> uuid::Uuid {
        self.store
            .create_user(consento_store::NewUser {
                username: consento_domain::Username::parse("anna").unwrap(),
                display_name: "Anna".to_owned(),
                role: consento_domain::Role::Operator,
                password_hash: consento_app::accounts::DECOY_HASH.to_owned(),
                must_change_password: false,
            })
            .await
            .unwrap()
            .id
    }

    /// The audit trail, newest first.
    pub async fn trail(&self) -> Vec<consento_store::AuditEntry> {
        self.store
            .audit_entries(&AuditFilter {
                limit: 100,
                ..AuditFilter::default()
            })
            .await
            .unwrap()
    }

    /// Makes every insert into the audit trail fail, as a full disk or a broken trigger would.
    pub async fn refuse_audit_rows(&self) {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", self.path.display()))
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
        )
        .execute(&mut c)
        .await
        .unwrap();
    }
}
