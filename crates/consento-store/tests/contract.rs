//! The storage contract: every store operation, run on SQLite and, when
//! `CONSENTO_TEST_POSTGRES_URL` is set (`.ci/run` sets it), on PostgreSQL too, each test in a
//! database or schema of its own. The same assertions hold on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

async fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    let path = std::env::temp_dir().join(format!("consento-contract-{}.db", unique()));
    let url = format!("sqlite:{}", path.display());
    let clock = Arc::new(ManualClock::new(start()));
    let store = Store::open(&StoreConfig::new(&url), clock.clone(), Arc::new(OsEntropy))
        .await
        .unwrap();
    out.push(Env {
        store,
        clock,
        raw: Raw::Sqlite(path.display().to_string()),
    });
    if let Ok(url) = std::env::var("CONSENTO_TEST_POSTGRES_URL") {
        let schema = format!("contract_{}", unique());
        let mut config = StoreConfig::new(&url);
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

    /// A second store on the same database, with its configuration changed by `change`.
    async fn second_store_with(&self, change: impl FnOnce(&mut StoreConfig)) -> Store {
        let mut config = match &self.raw {
            Raw::Sqlite(path) => StoreConfig::new(format!("sqlite:{path}")),
            Raw::Postgres { url, schema } => {
                let mut c = StoreConfig::new(url);
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

#[tokio::test]
async fn settings_start_with_every_check_on_and_can_be_switched() {
    on_every_backend!(env => {
        assert_eq!(env.store.settings().await.unwrap(), PrivacySettings::default());
        let off = PrivacySettings { check_email_bulk: false, ..PrivacySettings::default() };
        env.store.update_settings(off).await.unwrap();
        assert_eq!(env.store.settings().await.unwrap(), off);
    });
}

#[tokio::test]
async fn a_consent_type_code_is_unique_and_cannot_change_once_used() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let dup = env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap_err();
        assert!(matches!(dup, StoreError::Conflict { field: "code", .. }), "{dup:?}");
        // Unused: the code may still be corrected.
        env.store.update_consent_type("NEWS", spec("NEWSLETTER", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("a@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "NEWSLETTER", EventKind::Given, None)).await.unwrap();
        let err = env.store.update_consent_type("NEWSLETTER", spec("NL", Some(365), newsletter())).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "code", .. }), "{err:?}");
        // Other fields still change.
        let t = env.store.update_consent_type("NEWSLETTER", spec("NEWSLETTER", Some(30), newsletter())).await.unwrap();
        assert_eq!(t.spec.validity_days, Some(30));
    });
}

#[tokio::test]
async fn a_consent_type_is_in_use_once_the_ledger_cites_it() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("CALLS", None, single_email())).await.unwrap();
        assert!(!env.store.consent_type_in_use("CALLS").await.unwrap());
        assert!(!env.store.consent_type_in_use("NOSUCHTYPE").await.unwrap());
        let c = env.store.create_contact(contact("b@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "CALLS", EventKind::Refused, None)).await.unwrap();
        assert!(env.store.consent_type_in_use("CALLS").await.unwrap());
    });
}

#[tokio::test]
async fn a_contact_is_found_by_id_external_id_email_and_phone_in_any_common_format() {
    on_every_backend!(env => {
        let input = ContactInput {
            external_id: Some("CRM-42".into()),
            name: Some("Giulia Bianchi".into()),
            emails: vec!["Giulia.Bianchi@Example.IT".into(), "gb@example.com".into()],
            phones: vec!["+39 333 123 4567".into()],
            legal_basis: Some("f".into()),
            purposes: vec!["marketing".into()],
            source: Some("fiera 2025".into()),
            ..ContactInput::default()
        };
        let c = env.store.create_contact(input).await.unwrap();
        assert_eq!(c.emails[0].as_str(), "giulia.bianchi@example.it");
        assert_eq!(c.phones[0].as_str(), "+393331234567");
        for r in [
            ContactRef::Id(c.id),
            ContactRef::External("CRM-42".into()),
            ContactRef::Email("GIULIA.BIANCHI@example.it".into()),
            ContactRef::Email("gb@example.com".into()),
            ContactRef::Phone("0039 333-1234567".into()),
            ContactRef::Phone("333 1234567".into()),
        ] {
            assert_eq!(env.store.resolve_contact(&r).await.unwrap(), c.id, "{r:?}");
        }
        let found = env.store.search_contacts("bianchi", 10).await.unwrap();
        assert_eq!(found.len(), 1);
        let missing = env.store.resolve_contact(&ContactRef::Email("nobody@example.it".into())).await.unwrap_err();
        assert!(matches!(missing, StoreError::NotFound { entity: "contact" }));
    });
}

#[tokio::test]
async fn every_contact_list_carries_the_restriction_objection_and_erasure_dates() {
    on_every_backend!(env => {
        let c = env.store.create_contact(ContactInput {
            name: Some("Carla Flag".into()),
            emails: vec!["carla@example.it".into()],
            ..ContactInput::default()
        }).await.unwrap();
        let plain = env.store.list_contacts(None, 10).await.unwrap();
        assert_eq!((plain[0].restricted_at, plain[0].objected_at, plain[0].erased_at), (None, None, None));
        env.store.set_restricted(&ContactRef::Id(c.id), true).await.unwrap();
        env.clock.advance(DAY);
        env.store.set_objected(&ContactRef::Id(c.id), true).await.unwrap();
        let restricted = Some(start());
        let objected = Some(Timestamp::from_micros(start().as_micros() + DAY));
        for page in [
            env.store.list_contacts(None, 10).await.unwrap(),
            env.store.search_contacts_page("carla", None, 10).await.unwrap(),
            env.store.search_contacts("carla", 10).await.unwrap(),
            env.store.contact_summaries(ContactRef::Email("carla@example.it".into())).await.unwrap(),
        ] {
            assert_eq!(page.len(), 1);
            assert_eq!((page[0].restricted_at, page[0].objected_at, page[0].erased_at), (restricted, objected, None));
        }
        env.raw_sql("UPDATE contacts SET erased_at = 5 WHERE name = 'Carla Flag'").await.unwrap();
        let erased = env.store.list_contacts(None, 10).await.unwrap();
        assert_eq!(erased[0].erased_at, Some(Timestamp::from_micros(5)));
    });
}

#[tokio::test]
async fn a_paged_name_search_walks_every_match_once_in_id_order() {
    on_every_backend!(env => {
        let mut expected = Vec::new();
        for i in 0..7 {
            let c = env.store.create_contact(ContactInput {
                name: Some(format!("Anna Verdi {i}")),
                external_id: Some(format!("V-{i}")),
                ..ContactInput::default()
            }).await.unwrap();
            expected.push(c.id);
            env.clock.advance(1_000);
        }
        env.store.create_contact(ContactInput { name: Some("Bruno Neri".into()), ..ContactInput::default() }).await.unwrap();
        let percent = env.store.create_contact(ContactInput { name: Some("100% Verdi".into()), ..ContactInput::default() }).await.unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = env.store.search_contacts_page("ANNA verdi", after, 3).await.unwrap();
            assert!(page.len() <= 3);
            if page.is_empty() {
                break;
            }
            after = page.last().map(|s| s.id);
            seen.extend(page.iter().map(|s| s.id));
        }
        assert_eq!(seen, expected);
        // The external id matches exactly; LIKE wildcards in the query match literally.
        let by_ext = env.store.search_contacts_page("V-3", None, 10).await.unwrap();
        assert_eq!(by_ext.iter().map(|s| s.id).collect::<Vec<_>>(), vec![expected[3]]);
        let literal = env.store.search_contacts_page("0%", None, 10).await.unwrap();
        assert_eq!(literal.iter().map(|s| s.id).collect::<Vec<_>>(), vec![percent.id]);
        // Erased contacts are left out.
        assert_eq!(env.store.search_contacts_page("Bruno", None, 10).await.unwrap().len(), 1);
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE name = 'Bruno Neri'").await.unwrap();
        assert!(env.store.search_contacts_page("Bruno", None, 10).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_naming_the_field_and_writes_nothing() {
    on_every_backend!(env => {
        env.store.create_contact(contact("dup@example.it")).await.unwrap();
        let mut second = contact("dup@example.it");
        second.external_id = Some("X-2".into());
        let err = env.store.create_contact(second).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "email", .. }), "{err:?}");
        // The contact row of the failed creation was rolled back with its addresses.
        let err = env.store.resolve_contact(&ContactRef::External("X-2".into())).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }));
    });
}

#[tokio::test]
async fn an_invalid_field_is_refused_with_its_name() {
    on_every_backend!(env => {
        let err = env.store.create_contact(contact("not-an-email")).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "email"), "{err:?}");
        let bad_phone = ContactInput { phones: vec!["call me".into()], ..ContactInput::default() };
        let err = env.store.create_contact(bad_phone).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "phone"), "{err:?}");
    });
}

#[tokio::test]
async fn a_consent_keeps_the_validity_in_force_when_it_was_given() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("v@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        let given = days_before(start(), 10);
        let ev = env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(given))).await.unwrap();
        assert_eq!(ev.expires_at, Some(given.plus_days(365)));
        env.store.update_consent_type("NEWS", spec("NEWS", Some(30), newsletter())).await.unwrap();
        let history = env.store.consent_history(&r).await.unwrap();
        assert_eq!(history[0].validity_days, Some(365));
        let current = env.store.current_consents(&r).await.unwrap();
        assert_eq!(current[0].expires_at, Some(given.plus_days(365)));
        assert!(current[0].valid);
    });
}

#[tokio::test]
async fn an_event_dated_in_the_future_is_refused_and_nothing_is_recorded() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("f@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        let tomorrow = start().plus_days(1);
        let err = env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(tomorrow))).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "event_time"), "{err:?}");
        assert!(env.store.consent_history(&r).await.unwrap().is_empty());
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 0);
    });
}

#[tokio::test]
async fn the_database_refuses_to_update_or_delete_ledger_events() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("l@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None)).await.unwrap();
        let update = env.raw_sql("UPDATE consent_events SET kind = 'withdrawn'").await.unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = env.raw_sql("DELETE FROM consent_events").await.unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
        if env.is_postgres() {
            let truncate = env.raw_sql("TRUNCATE consent_events CASCADE").await.unwrap_err();
            assert!(truncate.to_string().contains("append-only"), "{truncate}");
        }
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 1);
    });
}

/// Three contacts, each with two events: six events in the ledger.
async fn ledger_of_six(env: &Env) {
    env.store
        .create_consent_type(spec("NEWS", Some(365), newsletter()))
        .await
        .unwrap();
    for i in 0..3 {
        let c = env
            .store
            .create_contact(contact(&format!("c{i}@example.it")))
            .await
            .unwrap();
        let r = ContactRef::Id(c.id);
        env.store
            .record_consent(event(
                &r,
                "NEWS",
                EventKind::Given,
                Some(days_before(start(), 5)),
            ))
            .await
            .unwrap();
        env.clock.advance(1_000_000);
        env.store
            .record_consent(event(&r, "NEWS", EventKind::Withdrawn, None))
            .await
            .unwrap();
    }
    assert_eq!(env.store.verify_ledger().await.unwrap().events, 6);
}

fn chain_error(err: StoreError) -> (i64, consento_domain::ledger::Break) {
    match err {
        StoreError::Chain(e) => (e.seq, e.problem),
        other => panic!("expected a chain error, got {other:?}"),
    }
}

#[tokio::test]
async fn ledger_verify_names_an_altered_event() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        env.raw_sql("UPDATE consent_events SET kind = 'given' WHERE seq = 4").await.unwrap();
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (4, Break::ContentAltered));
    });
}

#[tokio::test]
async fn ledger_verify_names_a_removed_event() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        env.raw_sql("DELETE FROM consent_events WHERE seq = 3").await.unwrap();
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (4, Break::SequenceGap));
    });
}

#[tokio::test]
async fn ledger_verify_notices_the_last_event_removed() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        env.raw_sql("DELETE FROM consent_events WHERE seq = 6").await.unwrap();
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (6, Break::Truncated));
    });
}

#[tokio::test]
async fn ledger_verify_names_an_inserted_event() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        // Make room at position 3 and slip a copy of event 1 in, renumbered.
        for seq in (3..=6).rev() {
            env.raw_sql(&format!("UPDATE consent_events SET seq = seq + 100 WHERE seq = {seq}")).await.unwrap();
        }
        env.raw_sql("UPDATE consent_events SET seq = seq - 99 WHERE seq > 100").await.unwrap();
        let copy = "INSERT INTO consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash) SELECT 3, contact_id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash FROM consent_events WHERE seq = 1";
        env.raw_sql(copy).await.unwrap();
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (3, Break::ContentAltered));
    });
}

#[tokio::test]
async fn ledger_verify_names_reordered_events() {
    use consento_domain::ledger::Break;
    on_every_backend!(env => {
        ledger_of_six(env).await;
        env.disable_ledger_guard().await;
        // Swap positions 2 and 3.
        env.raw_sql("UPDATE consent_events SET seq = 100 WHERE seq = 2").await.unwrap();
        env.raw_sql("UPDATE consent_events SET seq = 2 WHERE seq = 3").await.unwrap();
        env.raw_sql("UPDATE consent_events SET seq = 3 WHERE seq = 100").await.unwrap();
        // The event now at position 2 was hashed as position 3: its content no longer matches.
        assert_eq!(chain_error(env.store.verify_ledger().await.unwrap_err()), (2, Break::ContentAltered));
    });
}

#[tokio::test]
async fn ledger_rows_hold_no_plain_personal_data() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(ContactInput {
            name: Some("Zaccaria Quintavalle".into()),
            emails: vec!["zaccaria.q@example.it".into()],
            phones: vec!["+39 347 555 0101".into()],
            ..ContactInput::default()
        }).await.unwrap();
        let mut e = event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None);
        e.evidence = Some("modulo firmato da zaccaria.q@example.it".into());
        env.store.record_consent(e).await.unwrap();
        // The evidence is kept, apart from the ledger.
        let h = env.store.consent_history(&ContactRef::Id(c.id)).await.unwrap();
        assert_eq!(h[0].evidence.as_deref(), Some("modulo firmato da zaccaria.q@example.it"));
        // No ledger column holds the name, the address or the number.
        for needle in ["Zaccaria", "zaccaria.q@example.it", "3475550101"] {
            let sql = format!(
                "INSERT INTO consent_types (id, code, title, validity_days, allow_email_bulk, allow_email_single, allow_phone_call, allow_sms_single, allow_sms_bulk, show_in_preference_center, created_at, updated_at) SELECT id, 'leak', 'leak', NULL, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, 0, 0 FROM consent_events WHERE type_code LIKE '%{needle}%' OR actor_id LIKE '%{needle}%' OR method LIKE '%{needle}%' OR kind LIKE '%{needle}%'"
            );
            env.raw_sql(&sql).await.unwrap();
        }
        let leaked = env.store.consent_type("leak").await;
        assert!(matches!(leaked, Err(StoreError::NotFound { .. })), "personal data found in the ledger");
    });
}

#[tokio::test]
async fn two_processes_appending_to_one_ledger_keep_one_unbroken_chain() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let other = env.second_store().await;
        let c = env.store.create_contact(contact("two@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        // Each store caches the head after its own append; the other's appends make it stale.
        for i in 0..6 {
            let store = if i % 2 == 0 { &env.store } else { &other };
            let kind = if i % 3 == 0 { EventKind::Given } else { EventKind::Renewed };
            let e = store.record_consent(event(&r, "NEWS", kind, None)).await.unwrap();
            assert_eq!(e.seq, i + 1);
            env.clock.advance(1_000);
        }
        // Concurrently from both.
        let appends = (0..20).map(|i| {
            let store = if i % 2 == 0 { &env.store } else { &other };
            store.record_consent(event(&r, "NEWS", EventKind::Renewed, None))
        });
        for result in futures_util::future::join_all(appends).await {
            result.unwrap();
        }
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 26);
        assert_eq!(env.store.consent_history(&r).await.unwrap().len(), 26);
        other.close().await;
    });
}

#[tokio::test]
async fn a_validity_changed_by_another_process_is_the_one_recorded() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("val@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
        let other = env.second_store().await;
        other.update_consent_type("NEWS", spec("NEWS", Some(90), newsletter())).await.unwrap();
        let e = env.store.record_consent(event(&r, "NEWS", EventKind::Renewed, None)).await.unwrap();
        assert_eq!(e.expires_at, Some(start().plus_days(90)));
        let history = env.store.consent_history(&r).await.unwrap();
        assert_eq!(history.iter().map(|h| h.validity_days).collect::<Vec<_>>(), vec![Some(365), Some(90)]);
        other.close().await;
    });
}

#[tokio::test]
async fn a_consent_for_an_erased_or_unknown_contact_is_refused() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("gone@example.it")).await.unwrap();
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE email = 'gone@example.it'").await.unwrap();
        let err = env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "contact", .. }), "{err:?}");
        let unknown = consento_domain::ContactId(uuid::Uuid::from_u128(42));
        let err = env.store.record_consent(event(&ContactRef::Id(unknown), "NEWS", EventKind::Given, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { entity: "contact" }), "{err:?}");
        let err = env.store.record_consent(event(&ContactRef::Id(c.id), "NOPE", EventKind::Given, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { entity: "consent type" }), "{err:?}");
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 0);
    });
}

#[tokio::test]
async fn a_backdated_withdrawal_recorded_late_does_not_override_a_newer_consent() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("b@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 2)))).await.unwrap();
        env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, Some(days_before(start(), 30)))).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(d.decision.is_allowed(), "{d:?}");
        // A withdrawal after the consent does override it.
        env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, Some(days_before(start(), 1)))).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Withdrawn { .. } }), "{d:?}");
    });
}

#[tokio::test]
async fn a_decision_cites_the_consent_and_its_dates_until_it_expires() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("d@example.it")).await.unwrap();
        let r = ContactRef::Email("D@example.it".into());
        let given = days_before(start(), 10);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(given))).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert_eq!(d.contact_id, c.id);
        assert_eq!(
            d.decision,
            Decision::Allowed { allowed_by: AllowedBy::Consent { code: ConsentCode::parse("NEWS").unwrap(), given_at: given, expires_at: Some(given.plus_days(30)) } }
        );
        // At the expiry instant itself the consent no longer holds.
        env.clock.set(given.plus_days(30));
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Expired { .. } }), "{d:?}");
        // A single email without consent needs a reason.
        let d = env.store.decide(&r, Action::EmailSingle, None).await.unwrap();
        assert!(matches!(d.decision, Decision::NeedsJustification { cause: Cause::NoConsent, marketing_reasons_allowed: true }), "{d:?}");
    });
}

#[tokio::test]
async fn a_decision_at_a_past_instant_reads_the_ledger_as_it_stood_then() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        env.store.create_contact(contact("p@example.it")).await.unwrap();
        let r = ContactRef::Email("p@example.it".into());
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 20)))).await.unwrap();
        env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, Some(days_before(start(), 5)))).await.unwrap();
        let then = env.store.decide(&r, Action::EmailBulk, Some(days_before(start(), 10))).await.unwrap();
        assert!(then.decision.is_allowed(), "{then:?}");
        let before = env.store.decide(&r, Action::EmailBulk, Some(days_before(start(), 30))).await.unwrap();
        assert!(matches!(before.decision, Decision::Blocked { cause: Cause::NoConsent }), "{before:?}");
        let now = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(now.decision, Decision::Blocked { cause: Cause::Withdrawn { .. } }), "{now:?}");
    });
}

#[tokio::test]
async fn restriction_and_objection_cannot_be_overridden() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("ALL", None, Permissions { email_bulk: true, email_single: true, phone_call: true, sms_single: true, sms_bulk: true })).await.unwrap();
        let service = env.store.create_reason("Richiesta del cliente", false).await.unwrap();
        let offer = env.store.create_reason("Offerta commerciale", true).await.unwrap();
        env.store.create_contact(contact("o@example.it")).await.unwrap();
        let r = ContactRef::Email("o@example.it".into());
        env.store.record_consent(event(&r, "ALL", EventKind::Given, None)).await.unwrap();

        env.store.set_objected(&r, true).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Objected { .. } }), "{d:?}");
        let err = env.store.justify(&r, Action::PhoneCall, offer.id, None, "mrossi").await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "reason"), "{err:?}");
        let (_, recorded) = env.store.justify(&r, Action::PhoneCall, service.id, Some("richiamata"), "mrossi").await.unwrap();
        assert!(recorded.is_some());

        env.store.set_restricted(&r, true).await.unwrap();
        let err = env.store.justify(&r, Action::PhoneCall, service.id, None, "mrossi").await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "action"), "{err:?}");
        env.store.update_settings(PrivacySettings { check_email_single: false, check_email_bulk: false, check_phone: false, check_sms: false }).await.unwrap();
        for action in Action::ALL {
            let d = env.store.decide(&r, *action, None).await.unwrap();
            assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Restricted { .. } }), "{action}: {d:?}");
        }
        assert_eq!(env.store.interactions(&r).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn a_justified_contact_is_recorded_with_operator_reason_and_note() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("MAIL", Some(365), single_email())).await.unwrap();
        let reason = env.store.create_reason("Assistenza post-vendita", false).await.unwrap();
        env.store.create_contact(contact("j@example.it")).await.unwrap();
        let r = ContactRef::Email("j@example.it".into());
        let (report, interaction) = env.store.justify(&r, Action::EmailSingle, reason.id, Some("guasto caldaia"), "lverdi").await.unwrap();
        assert_eq!(report.decision.outcome(), "needs_justification");
        let interaction = interaction.unwrap();
        let stored = env.store.interactions(&r).await.unwrap();
        assert_eq!(stored, vec![interaction.clone()]);
        assert_eq!(stored[0].operator, "lverdi");
        assert_eq!(stored[0].reason_label.as_deref(), Some("Assistenza post-vendita"));
        assert_eq!(stored[0].note.as_deref(), Some("guasto caldaia"));
        assert_eq!(stored[0].occurred_at, start());
        // An inactive reason is refused and nothing more is recorded.
        env.store.update_reason(reason.id, None, Some(false), None).await.unwrap();
        let err = env.store.justify(&r, Action::EmailSingle, reason.id, None, "lverdi").await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "reason"), "{err:?}");
        assert_eq!(env.store.interactions(&r).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn an_objection_keeps_the_address_out_of_bulk_sends_even_when_re_imported() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let first = env.store.create_contact(contact("s@example.it")).await.unwrap();
        env.store.set_objected(&ContactRef::Id(first.id), true).await.unwrap();
        // The CRM later moves the address to a new record (a re-import under another id).
        env.store.update_contact(&ContactRef::Id(first.id), ContactInput::default()).await.unwrap();
        let again = env.store.create_contact(contact("S@Example.it")).await.unwrap();
        let r = ContactRef::Id(again.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
        let d = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Blocked { cause: Cause::Suppressed }), "{d:?}");
        let audience: Vec<_> = env.store.audience(&AudienceQuery { type_code: None, at: None }).await.unwrap().try_collect().await.unwrap();
        assert!(audience.is_empty());
    });
}

#[tokio::test]
async fn an_audience_for_the_past_or_a_non_bulk_type_is_refused() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("MAIL", None, single_email())).await.unwrap();
        let past = AudienceQuery { type_code: None, at: Some(days_before(start(), 1)) };
        let err = env.store.audience_counts(&past).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "at"), "{err:?}");
        let wrong = AudienceQuery { type_code: Some("MAIL".into()), at: None };
        let err = env.store.audience_counts(&wrong).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "type_code"), "{err:?}");
    });
}

#[tokio::test]
async fn a_bulk_load_with_one_bad_contact_writes_nothing() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let good = |i: usize| BulkContact { input: contact(&format!("g{i}@example.it")), events: vec![] };
        let mut batch: Vec<BulkContact> = (0..10).map(good).collect();
        batch.push(BulkContact { input: contact("g3@example.it"), events: vec![] });
        let err = env.store.bulk_load(batch).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "email", .. }), "{err:?}");
        assert!(env.store.search_contacts("g1@example.it", 5).await.unwrap().is_empty());
        let late = BulkContact {
            input: contact("late@example.it"),
            events: vec![BulkEvent { type_code: "NEWS".into(), kind: EventKind::Given, event_time: start().plus_days(1), method: CollectionMethod::Import, actor: operator(), evidence: None, notice_version: None }],
        };
        let err = env.store.bulk_load(vec![good(20), late]).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "event_time" && e.to_string().contains("contact 2")), "{err:?}");
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 0);
    });
}

/// A tiny deterministic generator, so a failing data set can be replayed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::test]
async fn the_audience_equals_the_decision_engine_contact_by_contact_on_a_random_data_set() {
    let seed = std::env::var("CONSENTO_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_251_122);
    on_every_backend!(env => {
        let mut rng = SplitMix(seed);
        let types = [("NEWS", Some(60), newsletter()), ("PROMO", Some(365), Permissions { email_bulk: true, sms_bulk: true, ..Permissions::default() }), ("MAIL", None, single_email()), ("FOREVER", None, newsletter())];
        for (code, validity, p) in types {
            env.store.create_consent_type(spec(code, validity, p)).await.unwrap();
        }
        let kinds = EventKind::ALL;
        let mut batch = Vec::new();
        for i in 0..400 {
            let mut events = Vec::new();
            for (code, _, _) in types {
                for _ in 0..rng.below(3) {
                    events.push(BulkEvent {
                        type_code: code.into(),
                        kind: kinds[rng.below(kinds.len() as u64) as usize],
                        event_time: days_before(start(), rng.below(500) as i64 + 1),
                        method: CollectionMethod::Import,
                        actor: operator(),
                        evidence: None,
                        notice_version: None,
                    });
                }
            }
            let emails = if rng.below(10) == 0 { vec![] } else { vec![format!("r{i}@example.it")] };
            batch.push(BulkContact { input: ContactInput { emails, ..ContactInput::default() }, events });
        }
        env.store.bulk_load(batch).await.unwrap();
        // Some flags and suppressions, through the store's own operations.
        let ids: Vec<_> = env.store.bench_sample_pairs(0, 10_000).await.unwrap().into_iter().map(|(c, _)| c).collect::<BTreeSet<_>>().into_iter().collect();
        for (n, id) in ids.iter().enumerate() {
            let r = ContactRef::Id(*id);
            match n % 17 {
                0 => { env.store.set_restricted(&r, true).await.unwrap(); }
                1 => { env.store.set_objected(&r, true).await.unwrap(); }
                2 => {
                    if let Some(e) = env.store.contact(&r).await.unwrap().emails.first() {
                        env.store.suppress(&ContactRef::Email(e.as_str().into()), "bounce").await.unwrap();
                    }
                }
                _ => {}
            }
        }
        // One more event recorded singly, backdated, after the bulk load.
        let r = ContactRef::Id(ids[5]);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 3)))).await.unwrap();
        // The bulk load and the single append form one chain.
        let report = env.store.verify_ledger().await.unwrap();
        assert!(report.events > 400, "{report:?}");

        for settings in [PrivacySettings::default(), PrivacySettings { check_email_bulk: false, ..PrivacySettings::default() }] {
            env.store.update_settings(settings).await.unwrap();
            for type_code in [None, Some("NEWS".to_owned()), Some("PROMO".to_owned())] {
                for at in [None, Some(start().plus_days(30))] {
                    let q = AudienceQuery { type_code: type_code.clone(), at };
                    let audience: BTreeSet<_> = env.store.audience(&q).await.unwrap().map_ok(|m| m.contact_id).try_collect().await.unwrap();
                    let counts = env.store.audience_counts(&q).await.unwrap();
                    let mut expected = BTreeSet::new();
                    let mut expected_excluded: BTreeMap<String, i64> = BTreeMap::new();
                    for id in &ids_of_all(env).await {
                        let r = ContactRef::Id(*id);
                        let mut d = env.store.decide(&r, Action::EmailBulk, at).await.unwrap();
                        if let Some(code) = &type_code {
                            // One type only: decide as if only that type's consents existed.
                            d = decide_for_type(env, &r, code, at).await;
                        }
                        let has_email = !env.store.contact(&r).await.unwrap().emails.is_empty();
                        match (&d.decision, has_email) {
                            (Decision::Allowed { .. }, true) => { expected.insert(*id); }
                            (Decision::Allowed { .. }, false) => *expected_excluded.entry("no_email".into()).or_default() += 1,
                            (Decision::Blocked { cause }, _) => *expected_excluded.entry(cause.code().into()).or_default() += 1,
                            (other, _) => panic!("bulk never needs a reason: {other:?}"),
                        }
                    }
                    assert_eq!(audience, expected, "{type_code:?} at {at:?} with {settings:?}");
                    assert_eq!(counts.eligible as usize, expected.len());
                    assert_eq!(counts.excluded, expected_excluded, "{type_code:?} at {at:?} with {settings:?}");
                }
            }
        }
        assert!(!env.store.audience(&AudienceQuery { type_code: None, at: None }).await.unwrap().try_collect::<Vec<_>>().await.unwrap().is_empty());
    });
}

async fn ids_of_all(env: &Env) -> Vec<consento_domain::ContactId> {
    let mut ids = Vec::new();
    loop {
        let page = env
            .store
            .list_contacts(ids.last().copied(), 97)
            .await
            .unwrap();
        if page.is_empty() {
            return ids;
        }
        ids.extend(page.iter().map(|s| s.id));
    }
}

/// The engine's decision when the newsletter is for one type: the other types' consents do not
/// count.
async fn decide_for_type(
    env: &Env,
    r: &ContactRef,
    code: &str,
    at: Option<Timestamp>,
) -> consento_store::DecisionReport {
    let full = env.store.decide(r, Action::EmailBulk, at).await.unwrap();
    let current = env.store.current_consents(r).await.unwrap();
    let contact = env.store.contact(r).await.unwrap();
    let settings = env.store.settings().await.unwrap();
    let consents: Vec<_> = current
        .into_iter()
        .filter(|c| c.code.as_str() == code && c.kind.is_some())
        .map(|c| consento_domain::ConsentState {
            type_id: c.type_id,
            code: c.code,
            permissions: c.permissions,
            kind: c.kind.unwrap(),
            event_time: c.event_time.unwrap(),
            expires_at: c.expires_at,
        })
        .collect();
    let email_suppressed = matches!(
        full.decision,
        Decision::Blocked {
            cause: Cause::Suppressed
        }
    );
    let status = consento_domain::ContactStatus {
        erased_at: contact.erased_at,
        restricted_since: contact.restricted_at,
        objected_since: contact.objected_at,
        email_suppressed,
        phone_suppressed: false,
        email_off_since: contact.email_off_at,
        phone_off_since: contact.phone_off_at,
        sms_off_since: contact.sms_off_at,
    };
    let at = at.unwrap_or(env.store.now());
    consento_store::DecisionReport {
        contact_id: contact.id,
        action: Action::EmailBulk,
        at,
        decision: consento_domain::decide(&status, &settings, &consents, Action::EmailBulk, at),
    }
}

#[tokio::test]
async fn appends_arriving_together_are_committed_together_and_a_bad_one_fails_alone() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let mut refs = Vec::new();
        for i in 0..40 {
            let c = env.store.create_contact(contact(&format!("group{i}@example.it"))).await.unwrap();
            refs.push(ContactRef::Id(c.id));
        }
        // All good: committed in groups.
        let good = refs.iter().map(|r| env.store.record_consent(event(r, "NEWS", EventKind::Given, None)));
        for result in futures_util::future::join_all(good).await {
            result.unwrap();
        }
        let stats = env.store.group_commit_stats();
        assert!(stats.groups >= 1 && stats.grouped_events >= 20, "{stats:?}");
        let ghost = ContactRef::Id(consento_domain::ContactId(uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)));
        let mut inputs: Vec<ConsentEventInput> = refs.iter().map(|r| event(r, "NEWS", EventKind::Given, None)).collect();
        // One event names a contact that does not exist; one carries evidence.
        inputs.insert(17, event(&ghost, "NEWS", EventKind::Given, None));
        inputs[3].evidence = Some("form #3".into());
        let results = futures_util::future::join_all(inputs.into_iter().map(|i| env.store.record_consent(i))).await;
        let failed: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
        assert_eq!(failed, vec![17]);
        assert!(matches!(results[17], Err(StoreError::NotFound { .. })));
        let mut seqs: Vec<i64> = results.iter().flatten().map(|e| e.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (41..=80).collect::<Vec<_>>());
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 80);
        for r in &refs {
            assert!(env.store.current_consents(r).await.unwrap().iter().any(|c| c.valid));
        }
        let history = env.store.consent_history(&refs[3]).await.unwrap();
        assert!(history.iter().any(|h| h.evidence.as_deref() == Some("form #3")));
    });
}

fn key(token: uuid::Uuid, k: &str, body: &str) -> IdempotencyKey {
    use sha2::Digest as _;
    IdempotencyKey {
        token_id: token,
        key: k.into(),
        request_sha256: sha2::Sha256::digest(body.as_bytes()).into(),
    }
}

#[tokio::test]
async fn an_idempotency_key_records_once_and_refuses_another_request() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let (token, _) = env.store.create_token("crm", &["write".into()], None).await.unwrap();
        let (other_token, _) = env.store.create_token("crm2", &["write".into()], None).await.unwrap();
        let c = env.store.create_contact(contact("idem@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        let (first, replayed) = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Given, None), key(token.id, "k-1", "give"))
            .await.unwrap();
        assert!(!replayed);
        env.clock.advance(1_000_000);
        let (again, replayed) = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Given, None), key(token.id, "k-1", "give"))
            .await.unwrap();
        assert!(replayed);
        assert_eq!(again, first);
        let err = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Withdrawn, None), key(token.id, "k-1", "withdraw"))
            .await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "Idempotency-Key", .. }), "{err:?}");
        // Another caller's key of the same text is another key.
        let (theirs, replayed) = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Renewed, None), key(other_token.id, "k-1", "give"))
            .await.unwrap();
        assert!(!replayed);
        assert_ne!(theirs.id, first.id);
        // Ten retries at once: one event.
        let tries = (0..10).map(|_| env.store.record_consent_once(event(&r, "NEWS", EventKind::Renewed, None), key(token.id, "k-2", "renew")));
        let results: Vec<_> = futures_util::future::join_all(tries).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(results.iter().filter(|(_, replayed)| !replayed).count(), 1);
        assert!(results.iter().all(|(e, _)| e.id == results[0].0.id));
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 3);
        // Once purged, a key is free again.
        env.clock.advance(DAY);
        assert_eq!(env.store.purge_idempotency_keys(env.store.now()).await.unwrap(), 3);
        let (_, replayed) = env.store
            .record_consent_once(event(&r, "NEWS", EventKind::Renewed, None), key(token.id, "k-2", "renew"))
            .await.unwrap();
        assert!(!replayed);
    });
}

#[tokio::test]
async fn a_token_is_found_by_its_secret_only_while_valid_and_the_secret_is_not_stored() {
    on_every_backend!(env => {
        let (token, secret) = env.store
            .create_token("dialer", &["decide".into()], Some(Timestamp::from_micros(start().as_micros() + DAY)))
            .await.unwrap();
        assert!(secret.starts_with(consento_store::TOKEN_PREFIX));
        let found = env.store.token_by_digest(&consento_store::token_digest(&secret)).await.unwrap().unwrap();
        assert_eq!((found.id, found.scopes.clone()), (token.id, vec!["decide".to_owned()]));
        assert!(env.store.token_by_digest(&consento_store::token_digest("cns_wrong")).await.unwrap().is_none());
        let stored: Vec<String> = match &env.raw {
            Raw::Sqlite(url) => {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                sqlx::query_scalar("SELECT name || scopes || hex(token_hash) FROM api_tokens").fetch_all(&pool).await.unwrap()
            }
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT name || scopes || encode(token_hash, 'hex') FROM {schema}.api_tokens"))).fetch_all(&pool).await.unwrap()
            }
        };
        assert!(stored.iter().all(|row| !row.to_lowercase().contains(&secret[4..].to_lowercase())));
        // Expired after a day; a revoked one at once.
        env.clock.advance(DAY + 1);
        assert!(env.store.token_by_digest(&consento_store::token_digest(&secret)).await.unwrap().is_none());
        let (t2, s2) = env.store.create_token("crm", &["write".into()], None).await.unwrap();
        env.store.revoke_token(t2.id).await.unwrap();
        assert!(env.store.token_by_digest(&consento_store::token_digest(&s2)).await.unwrap().is_none());
        assert!(env.store.ready().await.unwrap());
    });
}

#[path = "support/webhooks.rs"]
mod webhooks;

#[tokio::test]
async fn the_sqlite_wal_is_checkpointed_off_the_commit_path_and_does_not_keep_growing() {
    let env = envs().await.into_iter().next().unwrap();
    let Raw::Sqlite(path) = &env.raw else {
        unreachable!()
    };
    let wal = std::path::PathBuf::from(format!("{path}-wal"));
    env.store
        .create_consent_type(spec("NEWS", Some(365), newsletter()))
        .await
        .unwrap();
    let mut refs = Vec::new();
    for i in 0..300 {
        let c = env
            .store
            .create_contact(contact(&format!("wal{i}@example.it")))
            .await
            .unwrap();
        refs.push(ContactRef::Id(c.id));
    }
    let mut sizes = Vec::new();
    for _ in 0..3 {
        for r in &refs {
            env.store
                .record_consent(event(r, "NEWS", EventKind::Renewed, None))
                .await
                .unwrap();
        }
        sizes.push(std::fs::metadata(&wal).unwrap().len());
        // The checkpoint thread runs every 250 ms; the writer never checkpoints by itself.
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    }
    // Each burst rewrites the WAL from its start once the previous one was checkpointed; without
    // checkpoints the file would hold all three bursts.
    assert!(
        sizes[2] < sizes[0] * 2,
        "WAL sizes after each burst: {sizes:?}"
    );
    assert_eq!(env.store.verify_ledger().await.unwrap().events, 900);
    env.finish().await;
}

#[tokio::test]
async fn a_name_search_ignores_case_and_accents_on_both_backends_and_old_rows_are_folded_at_start()
{
    on_every_backend!(env => {
        let mut nicolo = contact("nicolo@example.it");
        nicolo.name = Some("NICOLÒ Lucà".into());
        let nicolo = env.store.create_contact(nicolo).await.unwrap();
        let mut bulk = contact("bulk@example.it");
        bulk.name = Some("Niccolò Ferrè".into());
        env.store.bulk_load(vec![consento_store::BulkContact { input: bulk, events: vec![] }]).await.unwrap();
        for q in ["nicolò", "Nicolo", "NICOLÒ", "luca", "LUCÀ"] {
            let found = env.store.search_contacts(q, 10).await.unwrap();
            assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![nicolo.id], "{q}");
            let page = env.store.search_contacts_page(q, None, 10).await.unwrap();
            assert_eq!(page.len(), 1, "{q}");
        }
        assert_eq!(env.store.search_contacts("ferre", 10).await.unwrap().len(), 1);
        // A row written before the folded name existed is folded when a store opens.
        let clear = "UPDATE contacts SET name_folded = NULL";
        match &env.raw {
            Raw::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{path}")).await.unwrap();
                sqlx::query(clear).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {schema}.contacts SET name_folded = NULL"))).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
        assert!(env.store.search_contacts("nicolo", 10).await.unwrap().is_empty());
        let reopened = env.second_store().await;
        assert_eq!(reopened.search_contacts("nicolo", 10).await.unwrap().len(), 1);
        reopened.close().await;
    });
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

#[tokio::test]
async fn a_username_is_unique_whatever_its_case() {
    on_every_backend!(env => {
        let first = env.store.create_user(staff("Anna", consento_domain::Role::Operator)).await.unwrap();
        assert_eq!(first.username, "anna");
        assert_eq!(first.display_name, "anna");
        let again = env.store.create_user(staff("ANNA", consento_domain::Role::Admin)).await.unwrap_err();
        assert!(matches!(again, StoreError::Conflict { field: "username", .. }), "{again:?}");
        assert_eq!(env.store.user_count().await.unwrap(), 1);
    });
}

#[tokio::test]
async fn failed_logins_lock_an_account_and_a_session_resets_the_count() {
    on_every_backend!(env => {
        let u = env.store.create_user(staff("bruno", consento_domain::Role::Operator)).await.unwrap();
        let until = env.store.now().plus_days(1);
        for n in 1..=2 {
            let f = env.store.record_login_failure(u.id, 3, env.store.now(), until).await.unwrap();
            assert_eq!((f.failures, f.locked_until), (n, None));
        }
        let third = env.store.record_login_failure(u.id, 3, env.store.now(), until).await.unwrap();
        assert_eq!(third.locked_until, Some(until));
        // Once the lock has run out, a wrong password counts from one again: it does not lock.
        let later = until.plus_days(1);
        let after = env.store.record_login_failure(u.id, 3, later, later.plus_days(1)).await.unwrap();
        assert_eq!((after.failures, after.locked_until), (1, None));
        let (seen, _) = env.store.user_for_login(&consento_domain::Username::parse("bruno").unwrap()).await.unwrap().unwrap();
        assert_eq!(seen.locked_until, None);
        for _ in 0..2 {
            env.store.record_login_failure(u.id, 3, later, later.plus_days(1)).await.unwrap();
        }
        let (seen, _) = env.store.user_for_login(&consento_domain::Username::parse("bruno").unwrap()).await.unwrap().unwrap();
        assert_eq!(seen.locked_until, Some(later.plus_days(1)), "three in a row lock it again");
        env.store.start_session(u.id, &[7; 32], env.store.now().plus_days(1)).await.unwrap();
        let user = env.store.user(u.id).await.unwrap();
        assert_eq!((user.failed_logins, user.locked_until), (0, None));
    });
}

#[tokio::test]
async fn a_session_ends_when_it_expires_idles_logs_out_or_its_account_is_disabled() {
    on_every_backend!(env => {
        let u = env.store.create_user(staff("carla", consento_domain::Role::Dpo)).await.unwrap();
        let t0 = env.store.now();
        env.store.start_session(u.id, &[1; 32], t0.plus_days(1)).await.unwrap();
        env.store.start_session(u.id, &[2; 32], t0.plus_days(1)).await.unwrap();
        assert!(env.store.session(&[1; 32], t0).await.unwrap().is_none(), "idle since before now");
        let idle_since = Timestamp::from_micros(t0.as_micros() - 1);
        assert_eq!(env.store.session(&[1; 32], idle_since).await.unwrap().unwrap().user.id, u.id);
        assert!(env.store.session(&[9; 32], idle_since).await.unwrap().is_none());
        env.store.end_session(&[1; 32]).await.unwrap();
        assert!(env.store.session(&[1; 32], idle_since).await.unwrap().is_none());
        // Changing the password keeps only the session that changed it.
        env.store.start_session(u.id, &[3; 32], t0.plus_days(1)).await.unwrap();
        env.store.set_password(u.id, "$argon2id$new", false, Some(&[3; 32])).await.unwrap();
        assert!(env.store.session(&[2; 32], idle_since).await.unwrap().is_none());
        assert!(env.store.session(&[3; 32], idle_since).await.unwrap().is_some());
        env.store.update_user(u.id, consento_domain::Role::Dpo, "Carla", true).await.unwrap();
        assert!(env.store.session(&[3; 32], idle_since).await.unwrap().is_none());
        env.clock.advance(2 * DAY);
        assert_eq!(env.store.purge_sessions(env.store.now()).await.unwrap(), 0, "already gone");
    });
}

#[tokio::test]
async fn the_audit_trail_is_filtered_by_person_date_and_record_and_cannot_be_rewritten() {
    on_every_backend!(env => {
        let a = env.store.create_user(staff("dario", consento_domain::Role::Admin)).await.unwrap();
        let b = env.store.create_user(staff("elena", consento_domain::Role::Operator)).await.unwrap();
        let entry = |user: uuid::Uuid, action: &str, target: &str| consento_store::AuditInput {
            user_id: Some(user),
            token_id: None,
            action: action.to_owned(),
            target_kind: Some("contact".to_owned()),
            target_id: Some(target.to_owned()),
            detail: serde_json::json!({"n": 1}),
        };
        env.store.audit(entry(a.id, "contact.update", "c1")).await.unwrap();
        env.clock.advance(DAY);
        let day2 = env.store.now();
        env.store.audit(entry(b.id, "contact.consent", "c1")).await.unwrap();
        env.store.audit(entry(b.id, "contact.consent", "c2")).await.unwrap();
        let all = env.store.audit_entries(&consento_store::AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(all.iter().map(|e| e.target_id.clone().unwrap()).collect::<Vec<_>>(), ["c2", "c1", "c1"], "newest first");
        assert_eq!(all[0].username.as_deref(), Some("elena"));
        let by_b = env.store.audit_entries(&consento_store::AuditFilter { user_id: Some(b.id), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(by_b.len(), 2);
        let before = env.store.audit_entries(&consento_store::AuditFilter { until: Some(day2), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].action, "contact.update");
        let on_c1 = env.store.audit_entries(&consento_store::AuditFilter { target: Some(("contact".into(), "c1".into())), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(on_c1.len(), 2);
        let page2 = env.store.audit_entries(&consento_store::AuditFilter { before: Some(all[0].seq), limit: 1, ..Default::default() }).await.unwrap();
        assert_eq!(page2[0].id, all[1].id);
        let delete = env.raw_sql("DELETE FROM audit_events").await.unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
        let rewrite = env.raw_sql("UPDATE audit_events SET action = 'nothing'").await.unwrap_err();
        assert!(rewrite.to_string().contains("append-only"), "{rewrite}");
        // Erasure may still blank a detail.
        env.raw_sql("UPDATE audit_events SET detail = '{}'").await.unwrap();
    });
}

// ---- The dashboard's figures (stats.rs) ----

#[tokio::test]
async fn consents_are_counted_per_type_and_state_and_a_type_without_consents_shows_zeros() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
        env.store.create_consent_type(spec("CALLS", None, single_email())).await.unwrap();
        env.store.create_consent_type(spec("UNUSED", None, newsletter())).await.unwrap();
        let kinds = [
            ("a@example.it", EventKind::Given, 1),
            ("b@example.it", EventKind::Renewed, 2),
            ("c@example.it", EventKind::Given, 40),
            ("d@example.it", EventKind::Withdrawn, 3),
            ("e@example.it", EventKind::Revoked, 3),
            ("f@example.it", EventKind::Refused, 3),
        ];
        for (email, kind, days_ago) in kinds {
            env.store.create_contact(contact(email)).await.unwrap();
            let r = ContactRef::Email(email.into());
            env.store.record_consent(event(&r, "NEWS", kind, Some(days_before(start(), days_ago)))).await.unwrap();
        }
        env.store.record_consent(event(&ContactRef::Email("a@example.it".into()), "CALLS", EventKind::Given, None)).await.unwrap();
        let counts = env.store.consent_state_counts(start()).await.unwrap();
        let by_code: BTreeMap<_, _> = counts.iter().map(|c| (c.code.as_str(), (c.active, c.expired, c.withdrawn, c.refused))).collect();
        assert_eq!(by_code["NEWS"], (2, 1, 2, 1), "{counts:?}");
        assert_eq!(by_code["CALLS"], (1, 0, 0, 0));
        assert_eq!(by_code["UNUSED"], (0, 0, 0, 0));
        assert_eq!(counts.iter().find(|c| c.code == "NEWS").unwrap().title, "Tipo NEWS");
        // Later, the renewed one has expired too.
        let later = env.store.consent_state_counts(start().plus_days(29)).await.unwrap();
        assert_eq!(later.iter().find(|c| c.code == "NEWS").map(|c| (c.active, c.expired)), Some((0, 3)));
    });
}

#[tokio::test]
async fn consents_expiring_within_a_window_are_counted_and_listed_soonest_first_a_page_at_a_time() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(100), newsletter())).await.unwrap();
        env.store.create_consent_type(spec("OTHER", Some(100), newsletter())).await.unwrap();
        // Given 90, 80, 75, 75 and 50 days ago: they expire in 10, 20, 25, 25 and 50 days.
        let mut ids = BTreeMap::new();
        for (i, days_ago) in [90, 80, 75, 75, 50].into_iter().enumerate() {
            let email = format!("x{i}@example.it");
            let c = env.store.create_contact(ContactInput { name: Some(format!("Persona {i}")), emails: vec![email.clone()], ..ContactInput::default() }).await.unwrap();
            ids.insert(i, c.id);
            env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, Some(days_before(start(), days_ago)))).await.unwrap();
        }
        // A withdrawn consent and one of another type are not listed.
        env.store.create_contact(contact("w@example.it")).await.unwrap();
        let w = ContactRef::Email("w@example.it".into());
        env.store.record_consent(event(&w, "NEWS", EventKind::Given, Some(days_before(start(), 85)))).await.unwrap();
        env.store.record_consent(event(&w, "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        env.store.record_consent(event(&w, "OTHER", EventKind::Given, Some(days_before(start(), 85)))).await.unwrap();

        let until = start().plus_days(30);
        let counts = env.store.expiring_counts(start(), until).await.unwrap();
        let by_code: BTreeMap<_, _> = counts.iter().map(|c| (c.code.as_str(), c.count)).collect();
        assert_eq!(by_code["NEWS"], 4);
        assert_eq!(by_code["OTHER"], 1);

        let mut q = consento_store::ExpiringQuery { type_code: "NEWS".into(), from: start(), until, after: None, limit: 3 };
        let first = env.store.expiring_consents(&q).await.unwrap();
        assert_eq!(first.len(), 3);
        assert_eq!(first[0].contact_id, ids[&0]);
        assert_eq!(first[0].name.as_deref(), Some("Persona 0"));
        assert_eq!(first[0].email.as_deref(), Some("x0@example.it"));
        assert_eq!(first[0].expires_at, days_before(start(), 90).plus_days(100));
        assert_eq!(first[1].contact_id, ids[&1]);
        let last = first.last().unwrap();
        q.after = Some((last.expires_at, last.contact_id));
        let second = env.store.expiring_consents(&q).await.unwrap();
        assert_eq!(second.len(), 1, "{second:?}");
        // The two expiring at the same instant are on different pages, each once.
        let both: BTreeSet<_> = [first[2].contact_id, second[0].contact_id].into_iter().collect();
        assert_eq!(both, [ids[&2], ids[&3]].into_iter().collect());
        assert!(first.iter().chain(&second).all(|e| e.contact_id != ids[&4]));

        q.type_code = "NOPE".into();
        let err = env.store.expiring_consents(&q).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    });
}

#[tokio::test]
async fn justified_contacts_since_an_instant_are_counted_per_operator_and_reason() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("MAIL", Some(365), single_email())).await.unwrap();
        let service = env.store.create_reason("Assistenza", false).await.unwrap();
        let offer = env.store.create_reason("Offerta", true).await.unwrap();
        env.store.create_contact(contact("j@example.it")).await.unwrap();
        let r = ContactRef::Email("j@example.it".into());
        // One long before the period, then the period's.
        env.store.justify(&r, Action::EmailSingle, service.id, None, "anna").await.unwrap();
        env.clock.advance(40 * DAY);
        let since = days_before(env.store.now(), 30);
        for (operator, reason) in [("anna", service.id), ("anna", service.id), ("anna", offer.id), ("bruno", offer.id)] {
            env.store.justify(&r, Action::EmailSingle, reason, None, operator).await.unwrap();
            env.clock.advance(1);
        }
        let counts = env.store.interaction_counts(since).await.unwrap();
        let got: BTreeSet<_> = counts.iter().map(|c| (c.operator.as_str(), c.reason_label.as_deref().unwrap(), c.count)).collect();
        let want: BTreeSet<_> = [("anna", "Assistenza", 2), ("anna", "Offerta", 1), ("bruno", "Offerta", 1)].into_iter().collect();
        assert_eq!(got, want);
        assert!(counts.iter().all(|c| c.reason_id.is_some()));
        // From the very first instant, the earlier one counts too.
        let all = env.store.interaction_counts(Timestamp::from_micros(0)).await.unwrap();
        assert_eq!(all.iter().map(|c| c.count).sum::<i64>(), 5);
    });
}

#[tokio::test]
async fn a_channel_the_person_switched_off_stops_the_newsletter_and_is_kept_in_its_history() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("ch@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
        let person = Actor { kind: ActorKind::Subject, id: String::new() };
        let before = env.store.audience_counts(&AudienceQuery { type_code: Some("NEWS".into()), ..Default::default() }).await.unwrap();
        assert_eq!(before.eligible, 1);
        env.clock.advance(DAY);
        let off = env.store.set_channel(&r, consento_domain::Channel::Email, true, CollectionMethod::PreferenceCenter, &person, Some("ua=test")).await.unwrap();
        assert_eq!(off.email_off_at, Some(env.store.now()));
        // Switching off again records nothing new and keeps the first date.
        env.clock.advance(DAY);
        let again = env.store.set_channel(&r, consento_domain::Channel::Email, true, CollectionMethod::PreferenceCenter, &person, None).await.unwrap();
        assert_eq!(again.email_off_at, off.email_off_at);
        let bulk = env.store.decide(&r, Action::EmailBulk, None).await.unwrap();
        assert_eq!(bulk.decision.outcome(), "blocked");
        assert!(matches!(bulk.decision, Decision::Blocked { cause: Cause::ChannelOff { channel: consento_domain::Channel::Email, .. } }));
        let counts = env.store.audience_counts(&AudienceQuery { type_code: Some("NEWS".into()), ..Default::default() }).await.unwrap();
        assert_eq!((counts.eligible, counts.excluded.get("channel_off").copied()), (0, Some(1)));
        let listed: Vec<_> = env.store.audience(&AudienceQuery { type_code: Some("NEWS".into()), ..Default::default() }).await.unwrap().try_collect().await.unwrap();
        assert!(listed.is_empty());
        // A call is another channel: untouched.
        assert_ne!(env.store.decide(&r, Action::PhoneCall, None).await.unwrap().decision.outcome(), "blocked");
        env.store.set_channel(&r, consento_domain::Channel::Email, false, CollectionMethod::Phone, &operator(), Some("call 12")).await.unwrap();
        let history = env.store.channel_history(&r).await.unwrap();
        assert_eq!(history.iter().map(|h| (h.switched_off, h.method)).collect::<Vec<_>>(),
            [(true, CollectionMethod::PreferenceCenter), (false, CollectionMethod::Phone)]);
        assert_eq!(history[0].evidence.as_deref(), Some("ua=test"));
        assert_eq!(env.store.audience_counts(&AudienceQuery { type_code: Some("NEWS".into()), ..Default::default() }).await.unwrap().eligible, 1);
        let rewrite = env.raw_sql("UPDATE channel_events SET switched_off = NOT switched_off").await.unwrap_err();
        assert!(rewrite.to_string().contains("append-only"), "{rewrite}");
    });
}

// The email outbox and double opt-in requests (migration 0010).

fn new_email(to: &str) -> consento_store::NewEmail {
    consento_store::NewEmail {
        contact_id: None,
        to: to.into(),
        locale: "it".into(),
        template: "subscription_confirm".into(),
        payload: serde_json::json!({"link": "https://example.it/confirm/secret"}),
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

#[tokio::test]
async fn an_email_is_claimed_once_under_a_lease_retried_when_due_and_emptied_once_sent() {
    use consento_store::NextAttempt;
    use std::time::Duration;
    on_every_backend!(env => {
        let first = env.store.enqueue_email(new_email("Uno@Example.it")).await.unwrap();
        env.clock.advance(1);
        let second = env.store.enqueue_email(new_email("due@example.it")).await.unwrap();
        let lease = Duration::from_secs(60);
        let claimed = env.store.claim_emails(10, lease).await.unwrap();
        assert_eq!(claimed.iter().map(|e| e.id).collect::<Vec<_>>(), vec![first, second]);
        assert_eq!(claimed[0].to, "uno@example.it", "the address is stored normalised");
        assert_eq!(claimed[0].attempts, 1);
        assert_eq!(claimed[0].payload["link"], "https://example.it/confirm/secret");
        // Leased: neither this process nor another claims them again.
        assert!(env.store.claim_emails(10, lease).await.unwrap().is_empty());
        let other = env.second_store().await;
        assert!(other.claim_emails(10, lease).await.unwrap().is_empty());
        // One is sent; the other failed and is due in five minutes.
        env.store.mark_email_sent(first).await.unwrap();
        let retry_at = Timestamp::from_micros(env.store.now().as_micros() + 300_000_000);
        env.store.mark_email_failed(second, "smtp_451", NextAttempt::At(retry_at)).await.unwrap();
        assert!(env.store.claim_emails(10, lease).await.unwrap().is_empty());
        env.clock.advance(300_000_000);
        let again = env.store.claim_emails(10, lease).await.unwrap();
        assert_eq!((again.len(), again[0].id, again[0].attempts), (1, second, 2));
        env.store.mark_email_failed(second, "smtp_550", NextAttempt::Dead).await.unwrap();
        let stats = env.store.email_outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.sent, stats.dead), (0, 1, 1));
        let messages = env.store.email_messages(10).await.unwrap();
        let dead = messages.iter().find(|m| m.id == second).unwrap();
        assert_eq!((dead.attempts, dead.last_error.as_deref()), (2, Some("smtp_550")));
        assert!(dead.dead_at.is_some() && dead.sent_at.is_none());
        // Sent and dead messages lose their payload (the link) at once, and their row (the
        // address) at the retention.
        assert!(format!("{messages:?}").find("example.it").is_none(), "no address in inspection");
        env.raw_sql("UPDATE email_outbox SET locale = 'xx' WHERE payload = '{}'").await.unwrap();
        let messages = env.store.email_messages(10).await.unwrap();
        assert!(messages.iter().all(|m| m.locale == "xx"), "a payload was kept");
        env.clock.advance(DAY);
        assert_eq!(env.store.purge_email_outbox(env.store.now()).await.unwrap(), 2);
        assert_eq!(env.store.email_outbox_stats().await.unwrap(), consento_store::EmailOutboxStats::default());
        other.close().await;
    });
}

#[tokio::test]
async fn concurrent_claimers_on_two_stores_never_take_the_same_email() {
    use std::time::Duration;
    on_every_backend!(env => {
        for i in 0..20 {
            env.store.enqueue_email(new_email(&format!("p{i}@example.it"))).await.unwrap();
        }
        let other = env.second_store().await;
        let lease = Duration::from_secs(60);
        let (a, b) = tokio::join!(
            async {
                let mut got = Vec::new();
                for _ in 0..5 { got.extend(env.store.claim_emails(3, lease).await.unwrap()); }
                got
            },
            async {
                let mut got = Vec::new();
                for _ in 0..5 { got.extend(other.claim_emails(3, lease).await.unwrap()); }
                got
            },
        );
        let mut ids: Vec<_> = a.iter().chain(&b).map(|e| e.id).collect();
        let total = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), total, "an email was claimed twice");
        assert_eq!(total, 20);
        other.close().await;
    });
}

#[tokio::test]
async fn a_subscription_request_creates_the_contact_and_its_email_in_one_go() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let outcome = env.store.request_subscription(subscription("Giulia@Example.it", "tok-1", &["NEWS", "NEWS"])).await.unwrap();
        let consento_store::SubscriptionOutcome::Requested { contact_id, email_id, request_id } = outcome else {
            panic!("{outcome:?}");
        };
        let c = env.store.contact(&ContactRef::Email("giulia@example.it".into())).await.unwrap();
        assert_eq!((c.id, c.name.as_deref()), (contact_id, Some("Giulia Bianchi")));
        assert_eq!(c.source.as_deref(), Some("subscription (form)"));
        let claimed = env.store.claim_emails(10, std::time::Duration::from_secs(60)).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].id, claimed[0].to.as_str(), claimed[0].locale.as_str()), (email_id, "giulia@example.it", "en"));
        let r = env.store.subscription_request(&consento_store::token_sha256("tok-1")).await.unwrap().unwrap();
        assert_eq!((r.id, r.contact_id, r.type_codes.clone()), (request_id, contact_id, vec!["NEWS".to_owned()]));
        assert_eq!((r.user_agent.as_deref(), r.ip_prefix.as_deref()), (Some("Mozilla/5.0"), Some("203.0.113.0/24")));
        assert_eq!(r.source, consento_store::RequestSource::Form);
        assert!(r.confirmed_at.is_none());
        // Only the token's hash is kept.
        assert!(env.store.subscription_request(&consento_store::token_sha256("tok-2")).await.unwrap().is_none());
        // An existing contact is found, not duplicated, and keeps its name.
        env.store.create_contact(contact("mario@example.it")).await.unwrap();
        let again = env.store.request_subscription(subscription("MARIO@example.it", "tok-3", &["NEWS"])).await.unwrap();
        assert!(matches!(again, consento_store::SubscriptionOutcome::Requested { .. }));
        let mario = env.store.contact(&ContactRef::Email("mario@example.it".into())).await.unwrap();
        assert_eq!(mario.name.as_deref(), Some("Mario Rossi"));
    });
}

#[tokio::test]
async fn link_keys_are_made_on_first_use_rotated_and_retired_and_only_unretired_ones_open() {
    on_every_backend!(env => {
        assert!(env.store.link_keys().await.unwrap().is_empty());
        // The first link made brings the first key; asking again gives the same one.
        let (first, secret) = env.store.link_sealing_key().await.unwrap();
        assert_eq!(env.store.link_sealing_key().await.unwrap(), (first, secret));
        assert_eq!(env.store.link_opening_key(first).await.unwrap(), Some(secret));
        // A rotation: the new key seals, the old one still opens.
        env.clock.advance(DAY);
        let second = env.store.rotate_link_key().await.unwrap();
        assert!(second.id > first);
        assert_eq!(second.created_at, env.store.now());
        let (sealing, new_secret) = env.store.link_sealing_key().await.unwrap();
        assert_eq!(sealing, second.id);
        assert_ne!(new_secret, secret);
        assert_eq!(env.store.link_opening_key(first).await.unwrap(), Some(secret));
        // Retired: it opens nothing again; retiring twice keeps the first date.
        let retired = env.store.retire_link_key(first).await.unwrap();
        assert_eq!(retired.retired_at, Some(env.store.now()));
        env.clock.advance(DAY);
        assert_eq!(env.store.retire_link_key(first).await.unwrap().retired_at, retired.retired_at);
        assert_eq!(env.store.link_opening_key(first).await.unwrap(), None);
        assert_eq!(env.store.link_opening_key(999).await.unwrap(), None);
        assert!(matches!(env.store.retire_link_key(999).await, Err(StoreError::NotFound { .. })));
        // Every key retired: the next link makes a new one.
        env.store.retire_link_key(second.id).await.unwrap();
        let (third, _) = env.store.link_sealing_key().await.unwrap();
        assert!(third > second.id);
        let listed: Vec<(u32, bool)> = env.store.link_keys().await.unwrap().iter().map(|k| (k.id, k.retired_at.is_some())).collect();
        assert_eq!(listed, vec![(third, false), (second.id, true), (first, true)]);
    });
}

#[tokio::test]
async fn a_subscription_asks_for_topics_of_the_preference_center_only() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let mut hidden = spec("HIDDEN", None, newsletter());
        hidden.show_in_preference_center = false;
        env.store.create_consent_type(hidden).await.unwrap();
        for types in [&["HIDDEN"][..], &["NOPE"], &[]] {
            let err = env.store.request_subscription(subscription("a@example.it", "t", types)).await.unwrap_err();
            assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "types"), "{types:?}: {err:?}");
        }
        let err = env.store.request_subscription(subscription("not an address", "t", &["NEWS"])).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "email"), "{err:?}");
        // Nothing half-written.
        assert!(env.store.contact(&ContactRef::Email("a@example.it".into())).await.is_err());
        assert_eq!(env.store.email_outbox_stats().await.unwrap().pending, 0);
    });
}

#[tokio::test]
async fn repeat_subscription_requests_are_throttled_per_address() {
    use consento_store::SubscriptionOutcome::{Requested, Throttled};
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let ask = |token: &str| env.store.request_subscription(subscription("r@example.it", token, &["NEWS"]));
        assert!(matches!(ask("a").await.unwrap(), Requested { .. }));
        // Within ten minutes: nothing.
        env.clock.advance(9 * 60_000_000);
        assert_eq!(ask("b").await.unwrap(), Throttled);
        // Later: again, up to three a day.
        env.clock.advance(2 * 60_000_000);
        assert!(matches!(ask("c").await.unwrap(), Requested { .. }));
        env.clock.advance(11 * 60_000_000);
        assert!(matches!(ask("d").await.unwrap(), Requested { .. }));
        env.clock.advance(11 * 60_000_000);
        assert_eq!(ask("e").await.unwrap(), Throttled, "the daily cap");
        // Another address is not affected.
        assert!(matches!(env.store.request_subscription(subscription("s@example.it", "f", &["NEWS"])).await.unwrap(), Requested { .. }));
        assert_eq!(env.store.email_outbox_stats().await.unwrap().pending, 4);
        // A day after the first, the cap has room again.
        env.clock.advance(DAY);
        assert!(matches!(ask("g").await.unwrap(), Requested { .. }));
    });
}

#[tokio::test]
async fn a_suppressed_address_is_neither_mailed_nor_subscribed() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        env.store.suppress(&ContactRef::Email("gone@example.it".into()), "objection").await.unwrap();
        assert!(env.store.is_suppressed(&ContactRef::Email(" GONE@example.it".into())).await.unwrap());
        assert!(!env.store.is_suppressed(&ContactRef::Email("here@example.it".into())).await.unwrap());
        let outcome = env.store.request_subscription(subscription("Gone@Example.it", "t", &["NEWS"])).await.unwrap();
        assert_eq!(outcome, consento_store::SubscriptionOutcome::Suppressed);
        assert!(env.store.contact(&ContactRef::Email("gone@example.it".into())).await.is_err());
        assert_eq!(env.store.email_outbox_stats().await.unwrap().pending, 0);
        // A restricted contact (Art. 18) is not mailed either.
        env.store.create_contact(contact("held@example.it")).await.unwrap();
        env.store.set_restricted(&ContactRef::Email("held@example.it".into()), true).await.unwrap();
        let outcome = env.store.request_subscription(subscription("held@example.it", "u", &["NEWS"])).await.unwrap();
        assert_eq!(outcome, consento_store::SubscriptionOutcome::Suppressed);
        assert_eq!(env.store.email_outbox_stats().await.unwrap().pending, 0);
    });
}

#[tokio::test]
async fn a_subscription_is_confirmed_once_and_not_after_its_link_expired() {
    use consento_store::Confirmation;
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        env.store.request_subscription(subscription("c@example.it", "ok", &["NEWS"])).await.unwrap();
        env.store.request_subscription(subscription("late@example.it", "late", &["NEWS"])).await.unwrap();
        let ok = consento_store::token_sha256("ok");
        assert_eq!(env.store.confirm_subscription(&consento_store::token_sha256("nope")).await.unwrap(), Confirmation::Unknown);
        env.clock.advance(DAY);
        let Confirmation::Claimed(r) = env.store.confirm_subscription(&ok).await.unwrap() else { panic!() };
        assert_eq!(r.confirmed_at, Some(env.store.now()));
        assert_eq!(r.email, "c@example.it");
        assert!(matches!(env.store.confirm_subscription(&ok).await.unwrap(), Confirmation::AlreadyConfirmed(_)));
        // A claim whose consents could not be recorded is released, and can be confirmed again.
        env.store.release_subscription_confirmation(r.id).await.unwrap();
        assert!(matches!(env.store.confirm_subscription(&ok).await.unwrap(), Confirmation::Claimed(_)));
        // Two days after the request, the other link has run out.
        env.clock.advance(DAY);
        let late = consento_store::token_sha256("late");
        assert!(matches!(env.store.confirm_subscription(&late).await.unwrap(), Confirmation::Expired(_)));
        assert!(env.store.subscription_request(&late).await.unwrap().unwrap().confirmed_at.is_none());
        // An address suppressed between request and confirmation: confirmed, nothing to record.
        let mut changed = subscription("changed@example.it", "changed", &["NEWS"]);
        changed.expires_at = Timestamp::from_micros(env.store.now().as_micros() + 2 * DAY);
        env.store.request_subscription(changed).await.unwrap();
        env.store.suppress(&ContactRef::Email("changed@example.it".into()), "complaint").await.unwrap();
        assert!(matches!(env.store.confirm_subscription(&consento_store::token_sha256("changed")).await.unwrap(), Confirmation::Suppressed(_)));
        // Expired requests go at the purge; the one made later stays.
        env.clock.advance(1);
        assert_eq!(env.store.purge_subscription_requests(env.store.now()).await.unwrap(), 2);
        assert!(env.store.subscription_request(&consento_store::token_sha256("changed")).await.unwrap().is_some());
    });
}

#[tokio::test]
async fn two_confirmations_of_one_link_at_once_claim_it_once() {
    use consento_store::Confirmation;
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        env.store.request_subscription(subscription("twice@example.it", "twice", &["NEWS"])).await.unwrap();
        let other = env.second_store().await;
        let token = consento_store::token_sha256("twice");
        let (a, b) = tokio::join!(env.store.confirm_subscription(&token), other.confirm_subscription(&token));
        let claims = [a.unwrap(), b.unwrap()].iter().filter(|c| matches!(c, Confirmation::Claimed(_))).count();
        assert_eq!(claims, 1);
        other.close().await;
    });
}

mod data_requests {
    use super::*;
    use consento_domain::RequestId;
    use consento_domain::requests::{
        HolidayCalendar, RequestChannel, RequestKind, RequestStatus, parse_date,
    };
    use consento_store::{DataRequestFilter, NewDataRequest, RequestMove};

    fn new_request(kind: RequestKind, received: &str) -> NewDataRequest {
        NewDataRequest {
            contact_id: None,
            kind,
            channel: RequestChannel::Email,
            description: "  please send my data  ".into(),
            received_at: Some(Timestamp::parse("t", received).unwrap()),
            actor: operator(),
        }
    }

    pub(super) fn to(status: RequestStatus) -> RequestMove {
        RequestMove {
            to: status,
            note: String::new(),
            reason: None,
            remedies: None,
            actor: operator(),
        }
    }

    #[tokio::test]
    async fn a_request_is_due_one_month_after_receipt_and_keeps_the_history_of_every_move() {
        on_every_backend!(env => {
            let cal = HolidayCalendar::italy();
            let c = env.store.create_contact(contact("dsr@example.it")).await.unwrap();
            let mut new = new_request(RequestKind::Access, "2025-05-02T09:00:00Z");
            new.contact_id = Some(c.id);
            let r = env.store.create_request(new, &cal).await.unwrap();
            // 2 June is the Republic's day: the deadline moves to the 3rd.
            assert_eq!((r.due_on.as_str(), r.deadline.as_str()), ("2025-06-03", "2025-06-03"));
            assert_eq!(r.description, "please send my data");
            assert_eq!(env.store.request(r.id).await.unwrap(), r);

            env.store.move_request(r.id, to(RequestStatus::IdentityVerification)).await.unwrap();
            let wrong = env.store.move_request(r.id, to(RequestStatus::Completed)).await.unwrap_err();
            assert!(matches!(&wrong, StoreError::Invalid(e) if e.field() == "to"), "{wrong}");
            env.store.move_request(r.id, to(RequestStatus::InProgress)).await.unwrap();
            let mut done = to(RequestStatus::Completed);
            done.note = "copy sent by email".into();
            let closed = env.store.move_request(r.id, done).await.unwrap();
            assert_eq!(closed.closed_at, Some(start()));
            assert_eq!(closed.outcome.as_deref(), Some("copy sent by email"));
            assert_eq!(env.store.request(r.id).await.unwrap(), closed);

            let history = env.store.request_history(r.id).await.unwrap();
            let moves: Vec<_> = history.iter().map(|e| (e.from_status, e.to_status)).collect();
            assert_eq!(moves, vec![
                (None, RequestStatus::Received),
                (Some(RequestStatus::Received), RequestStatus::IdentityVerification),
                (Some(RequestStatus::IdentityVerification), RequestStatus::InProgress),
                (Some(RequestStatus::InProgress), RequestStatus::Completed),
            ]);
            assert!(history.iter().all(|e| e.actor == operator()));
        });
    }

    #[tokio::test]
    async fn a_refusal_needs_its_reason_and_the_remedies_and_keeps_them() {
        on_every_backend!(env => {
            let cal = HolidayCalendar::italy();
            let r = env.store.create_request(new_request(RequestKind::Erasure, "2025-05-20"), &cal).await.unwrap();
            let mut no_remedies = to(RequestStatus::Rejected);
            no_remedies.reason = Some("legal obligation to keep invoices".into());
            let err = env.store.move_request(r.id, no_remedies.clone()).await.unwrap_err();
            assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "remedies"), "{err}");
            assert_eq!(env.store.request(r.id).await.unwrap().status, RequestStatus::Received);
            no_remedies.remedies = Some("complaint to the Garante; judicial remedy".into());
            let rejected = env.store.move_request(r.id, no_remedies).await.unwrap();
            assert_eq!(rejected.rejection_reason.as_deref(), Some("legal obligation to keep invoices"));
            let stored = env.store.request(r.id).await.unwrap();
            assert_eq!(stored.remedies.as_deref(), Some("complaint to the Garante; judicial remedy"));
            assert!(stored.closed_at.is_some());
        });
    }

    #[tokio::test]
    async fn an_extension_runs_three_months_from_receipt_once_and_only_within_the_first_month() {
        on_every_backend!(env => {
            let cal = HolidayCalendar::italy();
            env.clock.set(Timestamp::parse("t", "2025-01-10").unwrap());
            let r = env.store.create_request(new_request(RequestKind::Portability, "2025-01-01"), &cal).await.unwrap();
            let late = env.store.create_request(new_request(RequestKind::Access, "2024-12-01"), &cal).await.unwrap();
            let blank = env.store.extend_request(r.id, " ", operator(), &cal).await.unwrap_err();
            assert!(matches!(&blank, StoreError::Invalid(e) if e.field() == "reason"), "{blank}");
            let extended = env.store.extend_request(r.id, "many archives to search", operator(), &cal).await.unwrap();
            assert_eq!(extended.due_on, "2025-02-03");
            assert_eq!(extended.extended_due_on.as_deref(), Some("2025-04-01"));
            assert_eq!(env.store.request(r.id).await.unwrap().deadline, "2025-04-01");
            assert!(env.store.extend_request(r.id, "again", operator(), &cal).await.is_err());
            // Received 1 December, due 2 January (1 January is a holiday): too late on the 10th.
            assert!(env.store.extend_request(late.id, "busy", operator(), &cal).await.is_err());
            let history = env.store.request_history(r.id).await.unwrap();
            assert!(history[1].note.contains("many archives to search"), "{history:?}");
        });
    }

    #[tokio::test]
    async fn the_lists_find_overdue_and_due_soon_requests_most_urgent_first_page_by_page() {
        on_every_backend!(env => {
            let cal = HolidayCalendar::italy();
            // Now is 1 June 2025. Due: 2025-05-05 (overdue), 2025-06-03, 2025-06-23, 2025-07-01.
            let overdue = env.store.create_request(new_request(RequestKind::Access, "2025-04-05"), &cal).await.unwrap();
            let soon = env.store.create_request(new_request(RequestKind::Erasure, "2025-05-02"), &cal).await.unwrap();
            let later = env.store.create_request(new_request(RequestKind::Objection, "2025-05-23"), &cal).await.unwrap();
            let fresh = env.store.create_request(new_request(RequestKind::Access, "2025-06-01"), &cal).await.unwrap();
            let done = env.store.create_request(new_request(RequestKind::Access, "2025-04-06"), &cal).await.unwrap();
            let mut reject = to(RequestStatus::Rejected);
            reject.reason = Some("unfounded".into());
            reject.remedies = Some("Garante".into());
            env.store.move_request(done.id, reject).await.unwrap();
            let ids = |list: Vec<consento_store::DataRequest>| list.into_iter().map(|r| r.id).collect::<Vec<RequestId>>();
            let today = parse_date("d", "2025-06-01").unwrap();
            let all = |f: DataRequestFilter| DataRequestFilter { limit: 100, ..f };

            let open = env.store.requests(&all(DataRequestFilter { open: true, ..Default::default() })).await.unwrap();
            assert_eq!(ids(open), vec![overdue.id, soon.id, later.id, fresh.id]);
            let late = env.store.requests(&all(DataRequestFilter { overdue_on: Some(today), ..Default::default() })).await.unwrap();
            assert_eq!(ids(late), vec![overdue.id]);
            let week = parse_date("d", "2025-06-08").unwrap();
            let due_soon = env.store.requests(&all(DataRequestFilter { due_by: Some(week), ..Default::default() })).await.unwrap();
            assert_eq!(ids(due_soon), vec![overdue.id, soon.id]);
            let access = env.store.requests(&all(DataRequestFilter { kind: Some(RequestKind::Access), ..Default::default() })).await.unwrap();
            assert_eq!(ids(access), vec![overdue.id, done.id, fresh.id]);
            let rejected = env.store.requests(&all(DataRequestFilter { status: Some(RequestStatus::Rejected), ..Default::default() })).await.unwrap();
            assert_eq!(ids(rejected), vec![done.id]);

            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = env.store.requests(&DataRequestFilter { after: after.clone(), limit: 2, ..Default::default() }).await.unwrap();
                let Some(last) = page.last() else { break };
                after = Some((last.deadline.clone(), last.id));
                seen.extend(page.into_iter().map(|r| r.id));
            }
            assert_eq!(seen, vec![overdue.id, done.id, soon.id, later.id, fresh.id]);
        });
    }

    #[tokio::test]
    async fn a_request_for_an_unknown_person_or_from_the_future_is_refused() {
        on_every_backend!(env => {
            let cal = HolidayCalendar::italy();
            let mut new = new_request(RequestKind::Access, "2025-05-02");
            new.contact_id = Some(consento_domain::ContactId(uuid::Uuid::nil()));
            let err = env.store.create_request(new, &cal).await.unwrap_err();
            assert!(matches!(err, StoreError::NotFound { entity: "contact" }), "{err}");
            let future = env.store.create_request(new_request(RequestKind::Access, "2025-06-02"), &cal).await.unwrap_err();
            assert!(matches!(&future, StoreError::Invalid(e) if e.field() == "received_at"), "{future}");
            let unknown = env.store.request(RequestId(uuid::Uuid::nil())).await.unwrap_err();
            assert!(matches!(unknown, StoreError::NotFound { entity: "request" }), "{unknown}");
        });
    }

    #[tokio::test]
    async fn the_database_refuses_to_change_or_remove_request_history() {
        on_every_backend!(env => {
            let cal = HolidayCalendar::italy();
            env.store.create_request(new_request(RequestKind::Access, "2025-05-02"), &cal).await.unwrap();
            // The note alone may be blanked, by erasure (migration 0012); nothing else changes.
            let update = env.raw_sql("UPDATE request_events SET to_status = 'completed'").await.unwrap_err();
            assert!(update.to_string().contains("append-only"), "{update}");
            let delete = env.raw_sql("DELETE FROM request_events").await.unwrap_err();
            assert!(delete.to_string().contains("append-only"), "{delete}");
        });
    }
}

#[tokio::test]
async fn an_export_gathers_the_contact_its_consent_history_justified_contacts_and_channel_switches()
{
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        env.store.create_consent_type(spec("MAIL", None, single_email())).await.unwrap();
        let reason = env.store.create_reason("Assistenza", false).await.unwrap();
        let created = env.store.create_contact(ContactInput {
            source: Some("fiera Milano 2025".into()),
            phones: vec!["+39 333 123 4567".into()],
            ..contact("export@example.it")
        }).await.unwrap();
        let r = ContactRef::Email("export@example.it".into());
        env.store.record_consent(ConsentEventInput {
            evidence: Some("modulo firmato n. 12".into()),
            ..event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 10)))
        }).await.unwrap();
        env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        env.store.justify(&r, Action::EmailSingle, reason.id, Some("reclamo"), "lverdi").await.unwrap();
        env.clock.advance(60_000_000);
        env.store.justify(&r, Action::EmailSingle, reason.id, None, "lverdi").await.unwrap();
        env.store.set_channel(&r, consento_domain::Channel::Sms, true, CollectionMethod::PreferenceCenter, &operator(), Some("ua")).await.unwrap();

        let export = env.store.export_contact(&r).await.unwrap();
        assert_eq!(export.contact.id, created.id);
        assert_eq!(export.contact.source.as_deref(), Some("fiera Milano 2025"));
        assert_eq!(export.contact.phones.len(), 1);
        assert!(export.contact.sms_off_at.is_some());
        // Every type has a line; the newsletter's latest event is the withdrawal.
        assert_eq!(export.consents.len(), 2);
        let news = export.consents.iter().find(|c| c.code.as_str() == "NEWS").unwrap();
        assert_eq!(news.kind, Some(EventKind::Withdrawn));
        let kinds: Vec<_> = export.consent_events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::Given, EventKind::Withdrawn]);
        assert_eq!(export.consent_events[0].evidence.as_deref(), Some("modulo firmato n. 12"));
        assert_eq!(export.consent_events[0].hash.len(), 64);
        // Justified contacts read oldest first in an export.
        assert_eq!(export.interactions.len(), 2);
        assert_eq!(export.interactions[0].note.as_deref(), Some("reclamo"));
        assert!(export.interactions[0].occurred_at < export.interactions[1].occurred_at);
        assert_eq!(export.channel_events.len(), 1);
        assert!(export.channel_events[0].switched_off);

        let err = env.store.export_contact(&ContactRef::Email("nobody@example.it".into())).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    });
}

mod flags {
    use super::*;
    use consento_domain::ActorKind;
    use consento_domain::requests::{HolidayCalendar, RequestChannel, RequestKind, RequestStatus};
    use consento_store::{ContactFlag, FlagChange, FlagNotice, NewDataRequest};

    use super::data_requests::to;

    fn change(flag: ContactFlag, raised: bool) -> FlagChange {
        FlagChange {
            flag,
            raised,
            actor: operator(),
            request_id: None,
            notice: Some(FlagNotice {
                locale: "it".into(),
                template: "restriction_lifted".into(),
                payload: serde_json::json!({"lifted_at": 1}),
            }),
        }
    }

    #[tokio::test]
    async fn lifting_a_restriction_records_who_did_it_and_writes_the_persons_notice_once() {
        on_every_backend!(env => {
            let c = env.store.create_contact(contact("limitata@example.it")).await.unwrap();
            let r = ContactRef::Id(c.id);
            assert_eq!(env.store.change_flag(&r, &change(ContactFlag::Restriction, true)).await.unwrap(), (true, None));
            // Already set: nothing recorded, nothing sent.
            assert_eq!(env.store.change_flag(&r, &change(ContactFlag::Restriction, true)).await.unwrap(), (false, None));
            env.clock.advance(1_000);
            let (changed, notice) = env.store.change_flag(&r, &change(ContactFlag::Restriction, false)).await.unwrap();
            assert!(changed);
            let notice = notice.expect("the person is told");
            assert_eq!(env.store.change_flag(&r, &change(ContactFlag::Restriction, false)).await.unwrap(), (false, None));
            assert!(env.store.contact(&r).await.unwrap().restricted_at.is_none());

            let mail = env.store.claim_emails(10, std::time::Duration::from_secs(60)).await.unwrap();
            assert_eq!(mail.len(), 1);
            assert_eq!(mail[0].id, notice);
            assert_eq!(mail[0].to, "limitata@example.it");
            assert_eq!(mail[0].template, "restriction_lifted");

            let history = env.store.flag_history(c.id).await.unwrap();
            let rows: Vec<_> = history.iter().map(|e| (e.flag, e.raised, e.actor.kind)).collect();
            assert_eq!(rows, vec![
                (ContactFlag::Restriction, true, ActorKind::Operator),
                (ContactFlag::Restriction, false, ActorKind::Operator),
            ]);
            assert!(history[0].at < history[1].at);
            // The history is append-only, by the database itself.
            assert!(env.raw_sql("UPDATE flag_events SET raised = FALSE").await.is_err());
            assert!(env.raw_sql("DELETE FROM flag_events").await.is_err());
        });
    }

    #[tokio::test]
    async fn an_objection_suppresses_the_address_and_lifting_an_objection_writes_no_email() {
        on_every_backend!(env => {
            let c = env.store.create_contact(contact("obietta@example.it")).await.unwrap();
            let r = ContactRef::Id(c.id);
            env.store.change_flag(&r, &change(ContactFlag::Objection, true)).await.unwrap();
            assert!(env.store.is_suppressed(&ContactRef::Email("obietta@example.it".into())).await.unwrap());
            let (changed, notice) = env.store.change_flag(&r, &change(ContactFlag::Objection, false)).await.unwrap();
            assert!(changed);
            assert_eq!(notice, None, "only a lifted restriction is told (Art. 18(3))");
            assert!(!env.store.is_suppressed(&ContactRef::Email("obietta@example.it".into())).await.unwrap());
            assert!(env.store.claim_emails(10, std::time::Duration::from_secs(60)).await.unwrap().is_empty());
        });
    }

    #[tokio::test]
    async fn completing_a_restriction_request_restricts_its_contact_and_one_without_a_contact_is_refused_whole()
     {
        on_every_backend!(env => {
            let cal = HolidayCalendar::italy();
            let c = env.store.create_contact(contact("richiesta@example.it")).await.unwrap();
            let new = |contact_id| NewDataRequest {
                contact_id,
                kind: RequestKind::Restriction,
                channel: RequestChannel::Letter,
                description: String::new(),
                received_at: None,
                actor: operator(),
            };
            let unlinked = env.store.create_request(new(None), &cal).await.unwrap();
            env.store.move_request(unlinked.id, to(RequestStatus::InProgress)).await.unwrap();
            let err = env.store.move_request(unlinked.id, to(RequestStatus::Completed)).await.unwrap_err();
            assert!(matches!(&err, StoreError::Conflict { field: "contact_id", .. }), "{err:?}");
            assert_eq!(env.store.request(unlinked.id).await.unwrap().status, RequestStatus::InProgress);
            assert_eq!(env.store.request_history(unlinked.id).await.unwrap().len(), 2, "no move recorded");

            // Linked once identified (Art. 12(6)), it completes and restricts.
            let linked = env.store.link_request(unlinked.id, c.id, operator()).await.unwrap();
            assert_eq!(linked.contact_id, Some(c.id));
            assert_eq!(env.store.link_request(unlinked.id, c.id, operator()).await.unwrap().contact_id, Some(c.id));
            let other = env.store.create_contact(contact("altra@example.it")).await.unwrap();
            let err = env.store.link_request(unlinked.id, other.id, operator()).await.unwrap_err();
            assert!(matches!(&err, StoreError::Conflict { field: "contact_id", .. }), "{err:?}");
            let done = env.store.move_request(unlinked.id, to(RequestStatus::Completed)).await.unwrap();
            assert_eq!(done.status, RequestStatus::Completed);
            assert!(env.store.contact(&ContactRef::Id(c.id)).await.unwrap().restricted_at.is_some());
            let history = env.store.flag_history(c.id).await.unwrap();
            assert_eq!(history.len(), 1);
            assert_eq!(history[0].request_id, Some(unlinked.id));
            // A closed request cannot be linked.
            let err = env.store.link_request(unlinked.id, other.id, operator()).await.unwrap_err();
            assert!(matches!(&err, StoreError::Conflict { .. }), "{err:?}");

            // Rejecting a restriction request sets nothing.
            let refused = env.store.create_request(new(Some(other.id)), &cal).await.unwrap();
            let mut reject = to(RequestStatus::Rejected);
            reject.reason = Some("manifestly unfounded".into());
            reject.remedies = Some("complaint to the Garante".into());
            env.store.move_request(refused.id, reject).await.unwrap();
            assert!(env.store.contact(&ContactRef::Id(other.id)).await.unwrap().restricted_at.is_none());
            assert!(env.store.flag_history(other.id).await.unwrap().is_empty());
        });
    }
}

#[tokio::test]
async fn receipt_keys_are_made_on_first_use_and_rotation_retires_the_signer_but_keeps_every_key() {
    on_every_backend!(env => {
        assert!(env.store.receipt_keys().await.unwrap().is_empty());
        assert!(env.store.receipt_verifying_keys().await.unwrap().is_empty());
        let (first, seed) = env.store.receipt_signing_key().await.unwrap();
        // Asked again, the same key signs: no key per receipt.
        assert_eq!(env.store.receipt_signing_key().await.unwrap(), (first.clone(), seed));
        assert_eq!(first.len(), 11, "{first}");
        env.clock.advance(1_000_000);
        let second = env.store.rotate_receipt_key().await.unwrap();
        assert_ne!(second.kid, first);
        assert_eq!(second.retired_at, None);
        let (signer, other_seed) = env.store.receipt_signing_key().await.unwrap();
        assert_eq!(signer, second.kid);
        assert_ne!(other_seed, seed);
        // Newest first; the first is retired from signing, but still there to verify.
        let listed: Vec<(String, bool)> = env.store.receipt_keys().await.unwrap().into_iter().map(|k| (k.kid, k.retired_at.is_some())).collect();
        assert_eq!(listed, vec![(second.kid.clone(), false), (first.clone(), true)]);
        let verifying = env.store.receipt_verifying_keys().await.unwrap();
        assert_eq!(verifying, vec![(second.kid.clone(), other_seed), (first, seed)]);
    });
}

#[tokio::test]
async fn receipt_facts_read_the_event_its_type_and_the_notice_shown() {
    on_every_backend!(env => {
        env.store.create_consent_type(ConsentTypeSpec {
            description: Some("Offerte e novità via email".into()),
            ..spec("NEWS", Some(365), newsletter())
        }).await.unwrap();
        env.store.publish_notice(consento_store::NoticeInput {
            version: "2025-03".into(),
            language: "it".into(),
            url: Some("https://example.it/privacy".into()),
            body: None,
        }).await.unwrap();
        let created = env.store.create_contact(contact("facts@example.it")).await.unwrap();
        let r = ContactRef::Id(created.id);
        let given = env.store.record_consent(ConsentEventInput {
            notice_version: Some("2025-03".into()),
            method: CollectionMethod::Paper,
            ..event(&r, "NEWS", EventKind::Given, Some(days_before(start(), 10)))
        }).await.unwrap();
        let withdrawn = env.store.record_consent(event(&r, "NEWS", EventKind::Withdrawn, None)).await.unwrap();

        let facts = env.store.receipt_facts(given.id).await.unwrap();
        assert_eq!(facts.event_id, given.id);
        assert_eq!(facts.contact_id, created.id);
        assert_eq!((facts.type_code.as_str(), facts.type_title.as_str()), ("NEWS", "Tipo NEWS"));
        assert_eq!(facts.type_description.as_deref(), Some("Offerte e novità via email"));
        assert!(facts.permissions.email_bulk && !facts.permissions.phone_call);
        assert_eq!(facts.kind, EventKind::Given);
        assert_eq!(facts.event_time, days_before(start(), 10));
        assert_eq!(facts.recorded_at, start());
        assert_eq!(facts.method, CollectionMethod::Paper);
        assert_eq!(facts.validity_days, Some(365));
        let notice = facts.notice.unwrap();
        assert_eq!((notice.version.as_str(), notice.language.as_str()), ("2025-03", "it"));
        assert_eq!(notice.url.as_deref(), Some("https://example.it/privacy"));

        let facts = env.store.receipt_facts(withdrawn.id).await.unwrap();
        assert_eq!(facts.kind, EventKind::Withdrawn);
        assert_eq!(facts.notice, None);

        let unknown = consento_domain::EventId(uuid::Uuid::nil());
        let err = env.store.receipt_facts(unknown).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { entity: "consent event" }), "{err:?}");
    });
}

mod erasure {
    use super::*;
    use consento_domain::erasure::{ErasedCategory, ErasureReason, RetentionPolicy};
    use consento_domain::requests::{HolidayCalendar, RequestChannel, RequestKind, RequestStatus};
    use consento_store::{ErasureInput, NewDataRequest, WebhookSubscriptionInput};

    impl Env {
        /// How many rows `sql` (a `SELECT COUNT(*)`) counts, read around the store.
        pub(crate) async fn raw_count(&self, sql: &str) -> i64 {
            macro_rules! count {
                ($c:expr) => {
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                        .fetch_one(&mut $c)
                        .await
                        .unwrap()
                };
            }
            match &self.raw {
                Raw::Sqlite(path) => {
                    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
                        .await
                        .unwrap();
                    count!(c)
                }
                Raw::Postgres { url, schema } => {
                    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                    let search = format!("SET search_path TO {schema}");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(search))
                        .execute(&mut c)
                        .await
                        .unwrap();
                    count!(c)
                }
            }
        }
    }

    fn by_operator(request: Option<consento_domain::RequestId>) -> ErasureInput {
        ErasureInput {
            reason: ErasureReason::Request,
            actor: operator(),
            by: consento_store::AuditActor::System,
            request_id: request,
        }
    }

    fn count(report: &consento_store::ErasureReport, category: ErasedCategory) -> u64 {
        report
            .erased
            .iter()
            .find(|(c, _)| *c == category)
            .map(|(_, n)| *n)
            .unwrap()
    }

    #[tokio::test]
    async fn an_erasure_removes_the_person_everywhere_suppresses_every_address_and_keeps_a_verifying_ledger()
     {
        on_every_backend!(env => {
            env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
            let reason = env.store.create_reason("Assistenza", false).await.unwrap();
            let hook = env.store.create_subscription(WebhookSubscriptionInput {
                url: "https://crm.example.it/hooks".into(), description: None, active: true,
                kinds: vec!["contact.erased".into()],
            }).await.unwrap();
            let c = env.store.create_contact(ContactInput {
                name: Some("Zebedeo Quaglierini".into()),
                external_id: Some("CRM-77".into()),
                emails: vec!["zeb@example.it".into(), "quaglia@example.org".into()],
                phones: vec!["+39 333 765 4321".into(), "02 1234 5678".into()],
                source: Some("fiera".into()),
                ..ContactInput::default()
            }).await.unwrap();
            let r = ContactRef::Id(c.id);
            env.store.record_consent(ConsentEventInput {
                evidence: Some("zeb@example.it from 203.0.113.7".into()),
                ..event(&r, "NEWS", EventKind::Given, None)
            }).await.unwrap();
            env.store.justify(&r, Action::EmailSingle, reason.id, Some("Zebedeo asked"), "lverdi").await.unwrap();
            env.store.set_channel(&r, consento_domain::Channel::Sms, true, CollectionMethod::PreferenceCenter, &operator(), Some("ua of Zebedeo")).await.unwrap();
            env.store.request_subscription(subscription("quaglia@example.org", "tok", &["NEWS"])).await.unwrap();
            let cal = HolidayCalendar::italy();
            // Logged before the person was identified: the erasure links it, and blanks its words.
            let dsr = env.store.create_request(NewDataRequest {
                contact_id: None, kind: RequestKind::Erasure, channel: RequestChannel::Email,
                description: "Zebedeo Quaglierini wants to be forgotten".into(), received_at: None, actor: operator(),
            }, &cal).await.unwrap();
            env.store.audit(consento_store::AuditInput {
                user_id: None, token_id: None, action: "contact.update".into(), target_kind: Some("contact".into()),
                target_id: Some(c.id.0.to_string()), detail: serde_json::json!({"name": "Zebedeo Quaglierini"}),
            }).await.unwrap();

            let report = env.store.erase_contact(c.id, &by_operator(Some(dsr.id))).await.unwrap();
            assert_eq!(report.suppressed, 4);
            assert_eq!(count(&report, ErasedCategory::Emails), 2);
            assert_eq!(count(&report, ErasedCategory::Phones), 2);
            assert_eq!(count(&report, ErasedCategory::ConsentEvidence), 1);
            assert_eq!(count(&report, ErasedCategory::InteractionNotes), 1);
            assert_eq!(count(&report, ErasedCategory::ChannelEvidence), 1);
            assert_eq!(count(&report, ErasedCategory::Subscriptions), 1);
            assert!(count(&report, ErasedCategory::EmailOutbox) >= 1);
            assert!(count(&report, ErasedCategory::AuditDetails) >= 1);

            let after = env.store.contact(&r).await.unwrap();
            assert!(after.erased_at.is_some());
            assert_eq!((after.name, after.external_id, after.source), (None, None, None));
            assert!(after.emails.is_empty() && after.phones.is_empty());
            for table in ["contact_emails", "contact_phones", "consent_evidence", "email_outbox", "subscription_requests"] {
                assert_eq!(env.raw_count(&format!("SELECT COUNT(*) FROM {table}")).await, 0, "{table}");
            }
            assert_eq!(env.raw_count("SELECT COUNT(*) FROM interactions WHERE note IS NOT NULL").await, 0);
            assert_eq!(env.raw_count("SELECT COUNT(*) FROM channel_events WHERE evidence IS NOT NULL").await, 0);
            assert_eq!(env.raw_count("SELECT COUNT(*) FROM audit_events WHERE detail LIKE '%Zebedeo%'").await, 0);
            assert_eq!(env.raw_count("SELECT COUNT(*) FROM requests WHERE description LIKE '%Zebedeo%'").await, 0);
            // The ledger keeps the proof, pseudonymously, and still verifies.
            assert_eq!(env.store.verify_ledger().await.unwrap().events, 1);
            assert_eq!(env.store.consent_history(&r).await.unwrap()[0].evidence, None);
            // Every address and number is suppressed, in any spelling.
            for value in [ContactRef::Email("ZEB@example.it".into()), ContactRef::Email("quaglia@example.org".into()),
                          ContactRef::Phone("3337654321".into()), ContactRef::Phone("+39 02 12345678".into())] {
                assert!(env.store.is_suppressed(&value).await.unwrap(), "{value:?}");
            }
            // The request is completed; the CRM is told, by its record's id.
            let done = env.store.request(dsr.id).await.unwrap();
            assert_eq!(done.status, RequestStatus::Completed);
            let messages = env.store.outbox_messages(hook.id, 10).await.unwrap();
            assert_eq!(messages.len(), 1);
            assert!(messages[0].payload.contains("CRM-77") && messages[0].event_type == "contact.erased");
            assert_eq!(env.raw_count("SELECT COUNT(*) FROM audit_events WHERE action = 'contact.erase'").await, 1);
            // Decisions say erased; a second erasure is a conflict; nothing can be recorded.
            let d = env.store.decide(&r, Action::EmailSingle, None).await.unwrap();
            assert_eq!(d.decision, Decision::Blocked { cause: Cause::Erased });
            let again = env.store.erase_contact(c.id, &by_operator(None)).await.unwrap_err();
            assert!(matches!(again, StoreError::Conflict { .. }), "{again:?}");
            let unknown = env.store.erase_contact(consento_domain::ContactId(uuid::Uuid::from_u128(9)), &by_operator(None)).await.unwrap_err();
            assert!(matches!(unknown, StoreError::NotFound { .. }), "{unknown:?}");
        });
    }

    #[tokio::test]
    async fn an_erasure_refuses_a_request_of_another_kind_and_changes_nothing() {
        on_every_backend!(env => {
            let c = env.store.create_contact(contact("keep@example.it")).await.unwrap();
            let access = env.store.create_request(NewDataRequest {
                contact_id: Some(c.id), kind: RequestKind::Access, channel: RequestChannel::Email,
                description: String::new(), received_at: None, actor: operator(),
            }, &HolidayCalendar::italy()).await.unwrap();
            let err = env.store.erase_contact(c.id, &by_operator(Some(access.id))).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
            let still = env.store.contact(&ContactRef::Id(c.id)).await.unwrap();
            assert_eq!((still.erased_at, still.emails.len()), (None, 1));
            assert!(!env.store.is_suppressed(&ContactRef::Email("keep@example.it".into())).await.unwrap());
        });
    }

    #[tokio::test]
    async fn retention_lists_and_anonymizes_only_contacts_whose_every_basis_lapsed_beyond_the_period()
     {
        on_every_backend!(env => {
            env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
            let marketing = |email: &str| ContactInput { purposes: vec!["marketing diretto".into()], ..contact(email) };
            let month = 30 * DAY;
            let old = env.store.create_contact(marketing("old@example.it")).await.unwrap();
            let recent = env.store.create_contact(marketing("recent@example.it")).await.unwrap();
            let valid = env.store.create_contact(marketing("valid@example.it")).await.unwrap();
            let asking = env.store.create_contact(marketing("asking@example.it")).await.unwrap();
            let held = env.store.create_contact(marketing("held@example.it")).await.unwrap();
            for c in [&old, &recent, &valid, &asking, &held] {
                env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", EventKind::Given, Some(days_before(start(), 900)))).await.unwrap();
            }
            let withdraw = |c: &consento_store::Contact, months: i64| event(&ContactRef::Id(c.id), "NEWS", EventKind::Withdrawn, Some(Timestamp::from_micros(start().as_micros() - months * month)));
            env.store.record_consent(withdraw(&old, 25)).await.unwrap();
            env.store.record_consent(withdraw(&recent, 23)).await.unwrap();
            env.store.record_consent(withdraw(&asking, 25)).await.unwrap();
            // Restricted (Art. 18(1)(c)): kept for the person's legal claim, never anonymised.
            env.store.record_consent(withdraw(&held, 25)).await.unwrap();
            env.store.set_restricted(&ContactRef::Id(held.id), true).await.unwrap();
            env.store.create_request(NewDataRequest {
                contact_id: Some(asking.id), kind: RequestKind::Access, channel: RequestChannel::Email,
                description: String::new(), received_at: None, actor: operator(),
            }, &HolidayCalendar::italy()).await.unwrap();

            let policy = RetentionPolicy::default();
            let listed = env.store.retention_candidates(&policy, None, 100).await.unwrap();
            assert_eq!(listed.iter().map(|c| c.contact_id).collect::<Vec<_>>(), vec![old.id]);
            assert_eq!(listed[0].months, 24);
            // The console's overview counts every candidate but keeps only those it shows.
            let (shown, total) = env.store.retention_overview(&policy, 0).await.unwrap();
            assert_eq!((shown.len(), total), (0, 1));
            let (shown, total) = env.store.retention_overview(&policy, 5).await.unwrap();
            assert_eq!((shown, total), (listed.clone(), 1));
            let run = env.store.anonymize_lapsed(&policy, 1, Actor::new(ActorKind::System, "retention").unwrap(), consento_store::AuditActor::System).await.unwrap();
            assert_eq!((run.anonymized.len(), run.batches), (1, 1));
            assert_eq!(run.anonymized[0].reason, ErasureReason::Retention);
            assert!(env.store.contact(&ContactRef::Id(old.id)).await.unwrap().erased_at.is_some());
            for kept in [&recent, &valid, &asking, &held] {
                assert!(env.store.contact(&ContactRef::Id(kept.id)).await.unwrap().erased_at.is_none());
            }
            assert!(env.store.retention_candidates(&policy, None, 100).await.unwrap().is_empty());
            assert!(env.store.verify_ledger().await.is_ok());
        });
    }
}

// ---- Rectification (GDPR Art. 16) and bulk rules over provenance (rules.rs) ----

mod rules {
    use consento_domain::LegalBasis;
    use consento_domain::rules::{
        AttributeChange, ConsentFilter, ConsentStateFilter, PurposesChange, RuleChanges,
        RuleFilter, RuleSpec, SourceFilter,
    };
    use consento_store::{AuditActor, AuditFilter};

    use super::*;

    fn provenance(email: &str, source: Option<&str>, purposes: &[&str]) -> ContactInput {
        ContactInput {
            source: source.map(str::to_owned),
            purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
            ..contact(email)
        }
    }

    fn fair_rule() -> RuleSpec {
        RuleSpec {
            name: "Fiera 2024".into(),
            filter: RuleFilter {
                source: Some(SourceFilter::Equals("fiera".into())),
                ..RuleFilter::default()
            },
            changes: RuleChanges {
                legal_basis: Some(LegalBasis::LegitimateInterests),
                purposes: Some(PurposesChange::Add(vec!["marketing".into()])),
                attribute: Some(AttributeChange::Set {
                    key: "lista".into(),
                    value: "fiera24".into(),
                }),
                ..RuleChanges::default()
            },
        }
    }

    async fn entries(env: &Env, action: &str) -> Vec<consento_store::AuditEntry> {
        env.store
            .audit_entries(&AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == action)
            .collect()
    }

    #[tokio::test]
    async fn a_rectification_audits_exactly_the_changed_fields_with_its_actor_and_an_unchanged_save_nothing()
     {
        on_every_backend!(env => {
            let (token, _) = env.store.create_token("crm", &["write".to_owned()], None).await.unwrap();
            let c = env.store.create_contact(provenance("rett@example.it", Some("web"), &["a"])).await.unwrap();
            let input = ContactInput {
                name: Some("Maria Rossi".into()),
                purposes: vec!["a".into(), "b".into()],
                ..provenance("rett@example.it", Some("web"), &[])
            };
            let (after, changes) = env.store.rectify_contact(&ContactRef::Id(c.id), input.clone(), AuditActor::Token(token.id)).await.unwrap();
            assert_eq!(after.name.as_deref(), Some("Maria Rossi"));
            assert_eq!(changes.keys().collect::<Vec<_>>(), ["name", "purposes"]);
            assert_eq!(changes["name"], serde_json::json!({"before": "Mario Rossi", "after": "Maria Rossi"}));
            assert_eq!(changes["purposes"], serde_json::json!({"before": ["a"], "after": ["a", "b"]}));
            let audited = entries(env, "contact.update").await;
            assert_eq!(audited.len(), 1);
            assert_eq!(audited[0].token_id, Some(token.id));
            assert_eq!(audited[0].token_name.as_deref(), Some("crm"));
            assert_eq!(audited[0].user_id, None);
            assert_eq!(audited[0].target_id, Some(c.id.to_string()));
            assert_eq!(audited[0].detail, serde_json::json!({ "changes": changes }));
            // The same values again: no change, no entry.
            let (_, none) = env.store.rectify_contact(&ContactRef::Id(c.id), input, AuditActor::Token(token.id)).await.unwrap();
            assert!(none.is_empty());
            assert_eq!(entries(env, "contact.update").await.len(), 1);
            // The token column of the trail is fixed like the others.
            let rewrite = env.raw_sql("UPDATE audit_events SET token_id = NULL").await.unwrap_err();
            assert!(rewrite.to_string().contains("append-only"), "{rewrite}");
        });
    }

    #[tokio::test]
    async fn a_dry_run_counts_and_lists_exactly_the_contacts_it_would_change_and_writes_nothing() {
        on_every_backend!(env => {
            let a = env.store.create_contact(provenance("a@example.it", Some("fiera"), &["x"])).await.unwrap();
            // Already holding every new value: not counted.
            let mut done = provenance("b@example.it", Some("fiera"), &["x", "marketing"]);
            done.legal_basis = Some("legitimate_interests".into());
            done.attributes.insert("lista".into(), serde_json::json!("fiera24"));
            env.store.create_contact(done).await.unwrap();
            env.store.create_contact(provenance("c@example.it", Some("web"), &[])).await.unwrap();
            env.store.create_contact(provenance("d@example.it", Some("fiera"), &[])).await.unwrap();
            env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE email = 'd@example.it'").await.unwrap();
            let e = env.store.create_contact(provenance("e@example.it", Some("fiera"), &["marketing"])).await.unwrap();
            let rule = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap();

            let dry = env.store.dry_run(rule.id, 10).await.unwrap();
            assert_eq!(dry.count, 2);
            let mut ids: Vec<_> = vec![a.id, e.id];
            ids.sort();
            assert_eq!(dry.sample.iter().map(|s| s.contact_id).collect::<Vec<_>>(), ids);
            let first = dry.sample.iter().find(|s| s.contact_id == a.id).unwrap();
            assert_eq!(first.before.purposes, serde_json::json!(["x"]));
            assert_eq!(first.after.purposes, serde_json::json!(["x", "marketing"]));
            assert_eq!(first.after.legal_basis.as_deref(), Some("legitimate_interests"));
            assert_eq!(first.after.attributes, serde_json::json!({"lista": "fiera24"}));
            let second = dry.sample.iter().find(|s| s.contact_id == e.id).unwrap();
            assert_eq!(second.after.purposes, serde_json::json!(["marketing"]), "added once");
            assert_eq!(env.store.dry_run(rule.id, 1).await.unwrap().sample.len(), 1);
            // Nothing was written.
            assert_eq!(env.store.contact(&ContactRef::Id(a.id)).await.unwrap().legal_basis, None);
            assert!(env.store.rule_runs(10).await.unwrap().is_empty());
        });
    }

    #[tokio::test]
    async fn applying_a_rule_changes_exactly_those_contacts_is_audited_and_a_revert_restores_them()
    {
        on_every_backend!(env => {
            let u = env.store.create_user(staff("dpo1", consento_domain::Role::Dpo)).await.unwrap();
            let a = env.store.create_contact(provenance("a@example.it", Some("fiera"), &["x"])).await.unwrap();
            let b = env.store.create_contact(provenance("b@example.it", Some("fiera"), &[])).await.unwrap();
            let c = env.store.create_contact(provenance("c@example.it", Some("web"), &[])).await.unwrap();
            env.store.create_contact(provenance("d@example.it", Some("fiera"), &[])).await.unwrap();
            env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE email = 'd@example.it'").await.unwrap();
            let rule = env.store.create_rule(fair_rule(), AuditActor::User(u.id)).await.unwrap();
            let before_a = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();

            env.clock.advance(1_000_000);
            let run = env.store.apply_rule(rule.id, AuditActor::User(u.id)).await.unwrap();
            assert_eq!(run.changed, 2);
            let after_a = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();
            assert_eq!(after_a.legal_basis, Some(LegalBasis::LegitimateInterests));
            assert_eq!(after_a.purposes, vec!["x", "marketing"]);
            assert_eq!(after_a.attributes["lista"], "fiera24");
            assert_eq!(after_a.name, before_a.name, "nothing else moves");
            assert_eq!(env.store.contact(&ContactRef::Id(c.id)).await.unwrap().legal_basis, None, "not matched");
            let erased = env.store.contact(&ContactRef::Email("d@example.it".into())).await.unwrap();
            assert_eq!(erased.legal_basis, None, "erased contacts are never touched");
            assert_eq!(env.store.rule_run_changes(run.id, 10).await.unwrap().len(), 2);
            let applied = entries(env, "rule_run.apply").await;
            assert_eq!(applied.len(), 1);
            assert_eq!(applied[0].user_id, Some(u.id));
            assert_eq!(applied[0].detail["changed"], 2);
            assert_eq!(applied[0].detail["run"], run.id.to_string());
            assert_eq!(applied[0].detail["rule"], rule.id.to_string());
            // A second run finds nothing left to change.
            assert_eq!(env.store.dry_run(rule.id, 10).await.unwrap().count, 0);

            // b is rectified since: the revert leaves it alone and says so.
            let mut input = provenance("b@example.it", Some("fiera"), &["altro"]);
            input.legal_basis = Some("contract".into());
            env.store.update_contact(&ContactRef::Id(b.id), input).await.unwrap();
            let report = env.store.revert_run(run.id, AuditActor::User(u.id)).await.unwrap();
            assert_eq!(report.restored, 1);
            assert_eq!(report.skipped, vec![b.id]);
            assert_eq!(report.run.restored, Some(1));
            assert_eq!(report.run.skipped, Some(1));
            assert!(report.run.reverted_at.is_some());
            let restored = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();
            assert_eq!((restored.source, restored.legal_basis, restored.purposes, restored.attributes),
                (before_a.source, before_a.legal_basis, before_a.purposes, before_a.attributes));
            assert_eq!(env.store.contact(&ContactRef::Id(b.id)).await.unwrap().purposes, vec!["altro"]);
            assert_eq!(entries(env, "rule_run.revert").await.len(), 1);
            let again = env.store.revert_run(run.id, AuditActor::User(u.id)).await.unwrap_err();
            assert!(matches!(again, StoreError::Conflict { .. }), "{again:?}");
        });
    }

    #[tokio::test]
    async fn a_rule_that_fails_midway_writes_nothing() {
        on_every_backend!(env => {
            env.store.create_contact(provenance("a@example.it", Some("fiera"), &[])).await.unwrap();
            env.store.create_contact(provenance("z@example.it", Some("fiera"), &[])).await.unwrap();
            let rule = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap();
            // The database refuses the change of one of the two contacts.
            let trigger = if env.is_postgres() {
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$; \
                 CREATE TRIGGER boom BEFORE UPDATE ON contacts FOR EACH ROW WHEN (NEW.email = 'z@example.it') EXECUTE FUNCTION boom();"
            } else {
                "CREATE TRIGGER boom BEFORE UPDATE ON contacts WHEN NEW.email = 'z@example.it' BEGIN SELECT RAISE(ABORT, 'boom'); END;"
            };
            env.raw_sql(trigger).await.unwrap();
            env.store.apply_rule(rule.id, AuditActor::System).await.unwrap_err();
            assert!(env.store.rule_runs(10).await.unwrap().is_empty());
            assert_eq!(env.store.contact(&ContactRef::Email("a@example.it".into())).await.unwrap().legal_basis, None);
            assert!(entries(env, "rule_run.apply").await.is_empty());
            assert_eq!(env.store.dry_run(rule.id, 10).await.unwrap().count, 2);
        });
    }

    #[tokio::test]
    async fn rule_filters_select_by_consent_state_purpose_attribute_basis_and_dates() {
        on_every_backend!(env => {
            env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
            let mut with_attr = provenance("g@example.it", None, &["p"]);
            with_attr.attributes.insert("lista".into(), serde_json::json!("vip"));
            with_attr.legal_basis = Some("contract".into());
            let g = env.store.create_contact(with_attr).await.unwrap();
            let w = env.store.create_contact(provenance("w@example.it", Some("web"), &[])).await.unwrap();
            env.clock.advance(DAY);
            let x = env.store.create_contact(provenance("x@example.it", None, &[])).await.unwrap();
            let n = env.store.create_contact(provenance("n@example.it", None, &[])).await.unwrap();
            env.store.record_consent(event(&ContactRef::Id(g.id), "NEWS", EventKind::Given, None)).await.unwrap();
            env.store.record_consent(event(&ContactRef::Id(w.id), "NEWS", EventKind::Given, None)).await.unwrap();
            env.store.record_consent(event(&ContactRef::Id(w.id), "NEWS", EventKind::Withdrawn, None)).await.unwrap();
            env.store.record_consent(event(&ContactRef::Id(x.id), "NEWS", EventKind::Given, Some(days_before(env.store.now(), 40)))).await.unwrap();
            let set = RuleChanges { source: Some("bonifica".into()), ..RuleChanges::default() };
            let mut k = 0;
            let mut matched = |filter: RuleFilter| {
                k += 1;
                let store = &env.store;
                let set = set.clone();
                async move {
                    let rule = store.create_rule(RuleSpec { name: format!("r{k}"), filter, changes: set }, AuditActor::System).await.unwrap();
                    let mut ids: Vec<_> = store.dry_run(rule.id, 100).await.unwrap().sample.into_iter().map(|s| s.contact_id).collect();
                    ids.sort();
                    ids
                }
            };
            let consent = |state: Option<ConsentStateFilter>| RuleFilter {
                consent: Some(ConsentFilter { type_code: "NEWS".into(), state, given_before: None, given_after: None }),
                ..RuleFilter::default()
            };
            assert_eq!(matched(consent(Some(ConsentStateFilter::Granted))).await, vec![g.id]);
            assert_eq!(matched(consent(Some(ConsentStateFilter::Withdrawn))).await, vec![w.id]);
            assert_eq!(matched(consent(Some(ConsentStateFilter::Expired))).await, vec![x.id]);
            assert_eq!(matched(consent(Some(ConsentStateFilter::None))).await, vec![n.id]);
            let mut given_early = consent(None);
            given_early.consent.as_mut().unwrap().given_before = Some(days_before(env.store.now(), 1));
            assert_eq!(matched(given_early).await, vec![x.id]);
            assert_eq!(matched(RuleFilter { source: Some(SourceFilter::Empty), legal_basis: Some(LegalBasis::Contract), ..RuleFilter::default() }).await, vec![g.id]);
            assert_eq!(matched(RuleFilter { purpose: Some("p".into()), ..RuleFilter::default() }).await, vec![g.id]);
            assert_eq!(matched(RuleFilter { attribute: Some(consento_domain::rules::AttributeFilter { key: "lista".into(), value: "vip".into() }), ..RuleFilter::default() }).await, vec![g.id]);
            let mut early = vec![g.id, w.id];
            early.sort();
            assert_eq!(matched(RuleFilter { created_before: Some(Timestamp::from_micros(start().as_micros() + DAY)), ..RuleFilter::default() }).await, early);
            // A consent type that does not exist is refused at the field.
            let err = env.store.create_rule(RuleSpec { name: "bad".into(), filter: RuleFilter { consent: Some(ConsentFilter { type_code: "NOPE".into(), state: None, given_before: None, given_after: None }), ..RuleFilter::default() }, changes: RuleChanges { source: Some("s".into()), ..RuleChanges::default() } }, AuditActor::System).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(ref e) if e.field() == "filter.consent.type_code"), "{err:?}");
        });
    }

    #[tokio::test]
    async fn rules_are_saved_listed_renamed_and_deleted_with_unique_names_and_purposes_removed_or_replaced()
     {
        on_every_backend!(env => {
            let rule = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap();
            let dup = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap_err();
            assert!(matches!(dup, StoreError::Conflict { field: "name", .. }), "{dup:?}");
            let mut other = fair_rule();
            other.name = "Pulizia".into();
            other.changes = RuleChanges { purposes: Some(PurposesChange::Remove(vec!["x".into()])), attribute: Some(AttributeChange::Remove { key: "lista".into() }), ..RuleChanges::default() };
            let updated = env.store.update_rule(rule.id, other.clone(), AuditActor::System).await.unwrap();
            assert_eq!(updated.spec, other);
            assert_eq!(env.store.rules().await.unwrap().len(), 1);
            let mut with = provenance("a@example.it", Some("fiera"), &["x", "y"]);
            with.attributes.insert("lista".into(), serde_json::json!("old"));
            let a = env.store.create_contact(with).await.unwrap();
            env.store.apply_rule(rule.id, AuditActor::System).await.unwrap();
            let a = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();
            assert_eq!(a.purposes, vec!["y"]);
            assert!(a.attributes.is_empty());
            let mut replace = other;
            replace.changes = RuleChanges { purposes: Some(PurposesChange::Replace(vec!["z".into()])), ..RuleChanges::default() };
            env.store.update_rule(rule.id, replace, AuditActor::System).await.unwrap();
            env.store.apply_rule(rule.id, AuditActor::System).await.unwrap();
            assert_eq!(env.store.contact(&ContactRef::Id(a.id)).await.unwrap().purposes, vec!["z"]);
            env.store.delete_rule(rule.id, AuditActor::System).await.unwrap();
            assert!(env.store.rules().await.unwrap().is_empty());
            assert_eq!(env.store.rule_runs(10).await.unwrap().len(), 2, "runs outlive their rule");
            assert_eq!(entries(env, "bulk_rule.delete").await.len(), 1);
        });
    }

    #[tokio::test]
    async fn the_new_values_a_rule_computes_in_sql_are_those_the_domain_specifies() {
        use consento_domain::rules::Provenance;
        on_every_backend!(env => {
            type Shape<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
            let shapes: [Shape; 4] = [
                (&[], &[]),
                (&["b", "a"], &[("k", "old")]),
                (&["a", "c", "b"], &[("z", "1"), ("k", "x")]),
                (&["c"], &[("m", "2")]),
            ];
            for (i, (purposes, attributes)) in shapes.iter().enumerate() {
                let mut input = provenance(&format!("s{i}@example.it"), Some("eq"), purposes);
                for (k, v) in attributes.iter() {
                    input.attributes.insert((*k).to_owned(), serde_json::json!(v));
                }
                env.store.create_contact(input).await.unwrap();
            }
            let changes = [
                RuleChanges { purposes: Some(PurposesChange::Add(vec!["a".into(), "d".into(), "b".into()])), ..RuleChanges::default() },
                RuleChanges { purposes: Some(PurposesChange::Remove(vec!["b".into(), "c".into()])), ..RuleChanges::default() },
                RuleChanges { purposes: Some(PurposesChange::Replace(vec!["x".into()])), source: Some("new".into()), ..RuleChanges::default() },
                RuleChanges { attribute: Some(AttributeChange::Set { key: "k".into(), value: "new".into() }), legal_basis: Some(LegalBasis::Consent), ..RuleChanges::default() },
                RuleChanges { attribute: Some(AttributeChange::Remove { key: "k".into() }), ..RuleChanges::default() },
            ];
            let as_domain = |v: &consento_store::ProvenanceValues| {
                let mut attributes: Vec<(String, String)> = v.attributes.as_object().unwrap().iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect();
                attributes.sort();
                Provenance {
                    source: v.source.clone(),
                    legal_basis: v.legal_basis.as_deref().map(|b| LegalBasis::parse(b).unwrap()),
                    purposes: v.purposes.as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect(),
                    attributes,
                }
            };
            for (n, ch) in changes.into_iter().enumerate() {
                let spec = RuleSpec { name: format!("eq{n}"), filter: RuleFilter { source: Some(SourceFilter::Equals("eq".into())), ..RuleFilter::default() }, changes: ch.clone() };
                let rule = env.store.create_rule(spec, AuditActor::System).await.unwrap();
                let dry = env.store.dry_run(rule.id, 100).await.unwrap();
                assert!(dry.count > 0, "rule {n} changes someone");
                for s in &dry.sample {
                    let mut expected = ch.apply(&as_domain(&s.before));
                    expected.attributes.sort();
                    assert_eq!(as_domain(&s.after), expected, "rule {n}");
                    assert_ne!(as_domain(&s.before), as_domain(&s.after), "rule {n}: only real changes are counted");
                }
            }
        });
    }

    #[tokio::test]
    async fn erasing_a_contact_removes_the_values_a_rule_run_kept_and_its_revert_leaves_it_alone() {
        on_every_backend!(env => {
            let a = env.store.create_contact(provenance("a@example.it", Some("fiera"), &["x"])).await.unwrap();
            let b = env.store.create_contact(provenance("b@example.it", Some("fiera"), &[])).await.unwrap();
            let rule = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap();
            let run = env.store.apply_rule(rule.id, AuditActor::System).await.unwrap();
            assert_eq!(run.changed, 2);
            let erasure = consento_store::ErasureInput {
                reason: consento_domain::erasure::ErasureReason::Request,
                actor: operator(),
                by: consento_store::AuditActor::System,
                request_id: None,
            };
            env.store.erase_contact(a.id, &erasure).await.unwrap();
            let kept = env.store.rule_run_changes(run.id, 10).await.unwrap();
            assert_eq!(kept.iter().map(|c| c.contact_id).collect::<Vec<_>>(), vec![b.id], "nothing of the erased person stays");
            let report = env.store.revert_run(run.id, AuditActor::System).await.unwrap();
            assert_eq!((report.restored, report.run.skipped), (1, Some(1)));
            let erased = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();
            assert!(erased.erased_at.is_some() && erased.source.is_none());
        });
    }
}

// ---- Imports from CRM exports ----

fn import_mapping() -> consento_domain::import::Mapping {
    consento_domain::import::Mapping {
        external_id: Some("Codice".into()),
        name: Some("Nome".into()),
        emails: vec!["Email".into()],
        phones: vec!["Telefono".into()],
        consents: vec![consento_domain::import::ConsentColumns {
            code: "NEWS".into(),
            date: "Data".into(),
            state: Some("Stato".into()),
        }],
        ..Default::default()
    }
}

/// Parses `lines` (after the header `Codice,Nome,Email,Telefono,Data,Stato`) as the server's
/// reader does, and writes them; `commit` false plays a file with a bad line.
async fn import_lines(
    env: &Env,
    lines: &[&str],
    commit: bool,
) -> Result<consento_store::ImportCounts, StoreError> {
    let header = ["Codice", "Nome", "Email", "Telefono", "Data", "Stato"];
    let plan = import_mapping().plan(&header, |c| c == "NEWS").unwrap();
    let rows: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let fields: Vec<&str> = l.split(',').collect();
            plan.parse(i as u64 + 2, &fields, env.store.now(), "39")
                .unwrap()
        })
        .collect();
    let spec = consento_store::ImportSpec {
        source: "crm-x".into(),
        file_name: "export.csv".into(),
        file_sha256: [7; 32],
        codes: vec!["NEWS".into()],
        actor: operator(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let sender = tokio::spawn(async move {
        // Two chunks: matching across chunks goes through the database, within one through memory.
        let mut rows = rows;
        let second = rows.split_off(rows.len() / 2);
        tx.send(consento_store::ImportChunk::Rows(rows))
            .await
            .unwrap();
        tx.send(consento_store::ImportChunk::Rows(second))
            .await
            .unwrap();
        if commit {
            tx.send(consento_store::ImportChunk::Commit).await.unwrap();
        }
    });
    let progress = std::sync::Arc::new(consento_store::ImportProgress::default());
    let result = env.store.import_rows(&spec, rx, &progress).await;
    sender.await.unwrap();
    result.map(|()| progress.snapshot())
}

#[tokio::test]
async fn an_import_creates_contacts_with_backdated_consents_and_the_file_as_evidence() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        // Known before the import: matched by email, never duplicated.
        let known = env.store.create_contact(contact("anna@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(known.id), "NEWS", EventKind::Withdrawn, Some(days_before(start(), 5)))).await.unwrap();
        let lines = [
            "C1,Bruno Bianchi,bruno@example.it,333 111 2222,2024-03-15,dato",
            "C2,Anna,Anna@Example.it,,15/01/2024,",
            "C3,Carla,carla@example.it,,2025-01-10,revocato",
            // The same person as line 2 of the file, by phone: one contact, two lines.
            "C1bis,Bruno,,+39 333 1112222,2024-03-15,dato",
        ];
        let counts = import_lines(env, &lines, true).await.unwrap();
        assert_eq!(counts.contacts_created, 2, "{counts:?}");
        assert_eq!(counts.contacts_matched, 2, "{counts:?}");
        assert_eq!(counts.rows_written, 4);
        // Bruno's second line repeats his first consent: not recorded twice.
        assert_eq!(counts.events_written, 3, "{counts:?}");

        let bruno = env.store.contact(&ContactRef::External("C1".into())).await.unwrap();
        assert_eq!(bruno.source.as_deref(), Some("crm-x"));
        assert_eq!(bruno.phones[0].as_str(), "+393331112222");
        let history = env.store.consent_history(&ContactRef::Id(bruno.id)).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].method, CollectionMethod::Import);
        assert_eq!(history[0].event_time, Timestamp::parse("d", "2024-03-15").unwrap());
        assert_eq!(history[0].recorded_at, start());
        let evidence = history[0].evidence.as_deref().unwrap();
        assert!(evidence.contains(&"07".repeat(32)), "{evidence}");
        assert!(evidence.contains("\"line\":2") && evidence.contains("export.csv"), "{evidence}");
        // Anna's imported consent is older than her withdrawal: history, not the current state.
        let anna = env.store.current_consents(&ContactRef::Id(known.id)).await.unwrap();
        let news = anna.iter().find(|c| c.code.as_str() == "NEWS").unwrap();
        assert_eq!(news.kind, Some(EventKind::Withdrawn));
        assert_eq!(env.store.consent_history(&ContactRef::Id(known.id)).await.unwrap().len(), 2);
        let bruno_now = env.store.decide(&ContactRef::Id(bruno.id), Action::EmailBulk, None).await.unwrap();
        assert!(matches!(bruno_now.decision, Decision::Allowed { .. }), "{bruno_now:?}");
        env.store.verify_ledger().await.unwrap();

        // The same file again: no new contact, no new event.
        let again = import_lines(env, &lines, true).await.unwrap();
        assert_eq!((again.contacts_created, again.events_written), (0, 0), "{again:?}");
        env.store.verify_ledger().await.unwrap();
    });
}

#[tokio::test]
async fn an_import_that_is_not_committed_writes_nothing_and_suppressed_people_are_skipped() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let lines = ["C1,Bruno,bruno@example.it,,2024-03-15,", "C2,Dora,dora@example.it,,2024-03-15,"];
        let err = import_lines(env, &lines, false).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert!(env.store.resolve_contact(&ContactRef::External("C1".into())).await.is_err());
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 0);

        env.store.suppress(&ContactRef::Email("Dora@example.it".into()), "objection").await.unwrap();
        let counts = import_lines(env, &lines, true).await.unwrap();
        assert_eq!((counts.contacts_created, counts.skipped_suppressed), (1, 1), "{counts:?}");
        assert!(env.store.resolve_contact(&ContactRef::Email("dora@example.it".into())).await.is_err());
        // Appends after an import chain from the head it left.
        env.store.record_consent(event(&ContactRef::External("C1".into()), "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        env.store.verify_ledger().await.unwrap();
    });
}

#[tokio::test]
async fn an_import_leaves_the_same_current_states_as_appending_its_events_one_by_one() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        // Out of order on purpose: an older backdated event, a tie in time (the later line
        // wins), and the same person across the two chunks import_lines sends.
        let history = [
            ("C1", "2024-03-15", "dato", EventKind::Given),
            ("C1", "2023-01-10", "revocato", EventKind::Withdrawn),
            ("C2", "2024-02-01", "dato", EventKind::Given),
            ("C1", "2024-06-01", "revocato", EventKind::Withdrawn),
            ("C1", "2024-06-01", "dato", EventKind::Given),
            ("C2", "2024-01-01", "revocato", EventKind::Withdrawn),
        ];
        let lines: Vec<String> = history
            .iter()
            .map(|(x, date, state, _)| format!("{x},Persona,{},,{date},{state}", x.to_lowercase() + "@example.it"))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let counts = import_lines(env, &lines, true).await.unwrap();
        assert_eq!((counts.contacts_created, counts.events_written), (2, 6), "{counts:?}");
        // The same events appended one by one, through the ledger's triggers.
        for x in ["C1", "C2"] {
            let mirror = env.store.create_contact(contact(&format!("mirror-{x}@example.it"))).await.unwrap();
            for (_, date, _, kind) in history.iter().filter(|h| h.0 == x) {
                let at = Timestamp::parse("d", date).unwrap();
                env.store.record_consent(event(&ContactRef::Id(mirror.id), "NEWS", *kind, Some(at))).await.unwrap();
            }
            let state = |cs: Vec<consento_store::CurrentConsent>| -> Vec<_> {
                cs.into_iter().map(|c| (c.code, c.kind, c.event_time, c.expires_at, c.valid)).collect()
            };
            let imported = state(env.store.current_consents(&ContactRef::External(x.into())).await.unwrap());
            let appended = state(env.store.current_consents(&ContactRef::Id(mirror.id)).await.unwrap());
            assert_eq!(imported, appended, "{x}");
            assert!(imported.iter().any(|c| c.1.is_some()), "{imported:?}");
        }
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 12);
        // The ledger keeps projecting appends after an import (its triggers are back).
        env.store.record_consent(event(&ContactRef::External("C2".into()), "NEWS", EventKind::Given, None)).await.unwrap();
        let after = env.store.current_consents(&ContactRef::External("C2".into())).await.unwrap();
        assert_eq!(after[0].kind, Some(EventKind::Given));
        assert_eq!(after[0].event_time, Some(env.store.now()));
        env.store.verify_ledger().await.unwrap();
    });
}

#[tokio::test]
async fn an_import_leaves_the_ledger_append_only_every_reference_whole_and_its_new_rows_in_id_order()
 {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        let lines: Vec<String> = (1..=8)
            .map(|i| format!("C{i},Persona {i},p{i}@example.it,333 000 000{i},2024-03-0{i},dato"))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let counts = import_lines(env, &lines, true).await.unwrap();
        assert_eq!((counts.contacts_created, counts.events_written), (8, 8), "{counts:?}");
        // The ledger's guards are back: the import did not leave it open to rewriting.
        let update = env.raw_sql("UPDATE consent_events SET kind = 'withdrawn'").await.unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = env.raw_sql("DELETE FROM consent_events").await.unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
        if !env.is_postgres() {
            // SQLite's import does not check foreign keys row by row: none is broken.
            assert_eq!(env.raw_count("SELECT COUNT(*) FROM pragma_foreign_key_check").await, 0);
        }
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM consent_evidence").await, 8);
        // The rows an import creates are created in file order, so on SQLite their ids ascend
        // with it (the indexes keyed by them grow at one end).
        let mut ids = Vec::new();
        for i in 1..=8 {
            let c = env.store.contact(&ContactRef::External(format!("C{i}"))).await.unwrap();
            let history = env.store.consent_history(&ContactRef::Id(c.id)).await.unwrap();
            assert_eq!(history.len(), 1);
            ids.push((c.id.0, history[0].id.0));
        }
        if !env.is_postgres() {
            assert!(ids.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "{ids:?}");
        }
        env.store.verify_ledger().await.unwrap();
    });
}

#[tokio::test]
async fn an_import_matches_a_line_to_earlier_lines_of_its_own_chunk_by_email_and_by_phone() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        // import_lines sends the first three lines as one chunk: lines 2 and 3 name the person
        // of line 1 (by email, then by phone) before anything of that chunk is written.
        let lines = [
            "C1,Bruno Bianchi,bruno@example.it,333 111 2222,2024-03-15,dato",
            "C2,Bruno,Bruno@Example.it,,2024-04-01,revocato",
            // The same event as line 1: recorded once.
            "C3,B. Bianchi,,+39 333 1112222,2024-03-15,dato",
            "D1,Dora,dora@example.it,,2024-03-15,dato",
            "D2,Dora,,,2024-03-16,dato",
            "D1,Dora,dora@example.it,,2024-03-17,revocato",
        ];
        let counts = import_lines(env, &lines, true).await.unwrap();
        assert_eq!((counts.contacts_created, counts.contacts_matched), (3, 3), "{counts:?}");
        assert_eq!(counts.events_written, 5, "{counts:?}");
        let bruno = env.store.contact(&ContactRef::External("C1".into())).await.unwrap();
        assert!(env.store.resolve_contact(&ContactRef::External("C2".into())).await.is_err());
        let history = env.store.consent_history(&ContactRef::Id(bruno.id)).await.unwrap();
        let kinds: Vec<_> = history.iter().map(|h| (h.kind, h.event_time)).collect();
        assert_eq!(kinds, vec![
            (EventKind::Given, Timestamp::parse("d", "2024-03-15").unwrap()),
            (EventKind::Withdrawn, Timestamp::parse("d", "2024-04-01").unwrap()),
        ]);
        // Each event's evidence names its own line.
        assert!(history[1].evidence.as_deref().unwrap().contains("\"line\":3"), "{history:?}");
        let dora = env.store.consent_history(&ContactRef::Email("dora@example.it".into())).await.unwrap();
        assert_eq!(dora.len(), 2);
        if !env.is_postgres() {
            assert_eq!(env.raw_count("SELECT COUNT(*) FROM pragma_foreign_key_check").await, 0);
        }
        env.store.verify_ledger().await.unwrap();
    });
}

#[tokio::test]
async fn an_import_matches_people_stored_before_it_by_every_key_in_every_chunk() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        let by_external = env.store.create_contact(ContactInput {
            external_id: Some("X9".into()),
            ..ContactInput::default()
        }).await.unwrap();
        let by_email = env.store.create_contact(contact("elena@example.it")).await.unwrap();
        let by_phone = env.store.create_contact(ContactInput {
            phones: vec!["+39 347 555 0101".into()],
            ..ContactInput::default()
        }).await.unwrap();
        // The second chunk is written once the first is stored: from then on the keys the
        // database holds are known without a lookup, and these three must still be found.
        let lines = [
            "N1,Nuovo,nuovo@example.it,,2024-03-15,dato",
            "N2,Nuova,nuova@example.it,,2024-03-15,dato",
            "N3,Nuovi,nuovi@example.it,,2024-03-15,dato",
            "X9,Ugo,,,2024-03-15,dato",
            "E1,Elena,ELENA@example.it,,2024-03-15,dato",
            "P1,Piero,,347 5550101,2024-03-15,dato",
            "N4,Nuovo bis,nuovo@example.it,,2024-03-16,dato",
        ];
        let counts = import_lines(env, &lines, true).await.unwrap();
        assert_eq!((counts.contacts_created, counts.contacts_matched), (3, 4), "{counts:?}");
        for c in [&by_external, &by_email, &by_phone] {
            assert_eq!(env.store.consent_history(&ContactRef::Id(c.id)).await.unwrap().len(), 1);
        }
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM contacts").await, 6);
        env.store.verify_ledger().await.unwrap();
    });
}

#[tokio::test]
async fn evidence_stored_before_it_was_keyed_by_ledger_position_stays_with_its_event() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("anna@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        for (i, kind) in [EventKind::Given, EventKind::Withdrawn, EventKind::Given].into_iter().enumerate() {
            let mut e = event(&r, "NEWS", kind, None);
            e.evidence = Some(format!("web form {i}"));
            env.store.record_consent(e).await.unwrap();
        }
        let before = env.store.consent_history(&r).await.unwrap();
        // Back to the layout of migration 0018 (keyed by event id, with the contact), as a
        // database written by an older release has it; the next start migrates it again.
        let (id, table_end) = if env.is_postgres() { ("UUID", ")") } else { ("BLOB", ") WITHOUT ROWID") };
        env.raw_sql(&format!(
            "CREATE TABLE consent_evidence_0018 (event_id {id} PRIMARY KEY REFERENCES consent_events (id), contact_id {id} NOT NULL, salt {b} NOT NULL, content TEXT NOT NULL{table_end};
             INSERT INTO consent_evidence_0018 (event_id, contact_id, salt, content) SELECT e.id, e.contact_id, v.salt, v.content FROM consent_evidence v JOIN consent_events e ON e.seq = v.event_seq;
             DROP TABLE consent_evidence;
             ALTER TABLE consent_evidence_0018 RENAME TO consent_evidence;
             DELETE FROM schema_migrations WHERE version = 19;",
            b = if env.is_postgres() { "BYTEA" } else { "BLOB" },
        )).await.unwrap();
        let migrated = env.second_store().await;
        let after = migrated.consent_history(&r).await.unwrap();
        assert_eq!(after.len(), 3);
        assert!(after.iter().all(|h| h.evidence.is_some()), "{after:?}");
        let evidence = |h: &[consento_store::HistoryEntry]| -> Vec<_> { h.iter().map(|e| (e.id, e.evidence.clone())).collect() };
        assert_eq!(evidence(&after), evidence(&before));
        migrated.verify_ledger().await.unwrap();
        migrated.close().await;
    });
}

#[tokio::test]
async fn mappings_are_saved_per_source_and_runs_keep_their_report() {
    on_every_backend!(env => {
        assert!(env.store.import_mapping("crm-x").await.unwrap().is_none());
        env.store.save_import_mapping("crm-x", &import_mapping()).await.unwrap();
        let mut changed = import_mapping();
        changed.name = None;
        env.store.save_import_mapping("crm-x", &changed).await.unwrap();
        assert_eq!(env.store.import_mapping("crm-x").await.unwrap(), Some(changed));
        assert_eq!(env.store.import_sources().await.unwrap(), vec!["crm-x".to_owned()]);
        assert!(env.store.save_import_mapping(" ", &import_mapping()).await.is_err());

        let (id, progress) = env.store.start_import_run(consento_store::NewImportRun {
            source: "crm-x".into(),
            file_name: "export.csv".into(),
            file_sha256: [1; 32],
            total_bytes: 100,
            started_by: "mrossi".into(),
        }).await.unwrap();
        progress.rows_read.store(3, Ordering::Relaxed);
        env.store.record_import_progress(id, &progress.snapshot()).await.unwrap();
        let running = env.store.import_run(id).await.unwrap();
        assert_eq!(running.status, consento_store::ImportStatus::Running);
        assert_eq!(running.counts.rows_read, 3);
        let errors = vec![consento_domain::import::LineError { line: 4, column: "Email".into(), reason: "bad".into() }];
        let mut counts = progress.snapshot();
        counts.error_count = 1;
        env.store.finish_import_run(id, consento_store::ImportStatus::Failed, &counts, &errors, None).await.unwrap();
        let done = env.store.import_run(id).await.unwrap();
        assert_eq!(done.status, consento_store::ImportStatus::Failed);
        assert_eq!(done.errors, errors);
        assert_eq!(done.counts.error_count, 1);
        assert_eq!(done.file_sha256, "01".repeat(32));
        assert!(done.finished_at.is_some());
        assert_eq!(env.store.import_runs(10).await.unwrap().len(), 1);
    });
}

/// Decisions answered from memory (SQLite keeps the facts of recent decisions, migration 0017)
/// against a store that reads the database every time, while another store changes everything a
/// decision reads, as another process would.
mod remembered_decisions {
    use super::*;
    use consento_domain::Channel;

    const ACTIONS: [Action; 5] = [
        Action::EmailSingle,
        Action::EmailBulk,
        Action::PhoneCall,
        Action::SmsSingle,
        Action::SmsBulk,
    ];

    /// Every way of naming each contact, by id and as the CRM, a mail sender and a dialer would.
    fn names(ids: &[consento_domain::ContactId], keys: &[(&str, &str, &str)]) -> Vec<ContactRef> {
        let mut out = Vec::new();
        for (id, (external, email, phone)) in ids.iter().zip(keys) {
            out.push(ContactRef::Id(*id));
            out.push(ContactRef::External((*external).into()));
            out.push(ContactRef::Email((*email).into()));
            out.push(ContactRef::Phone((*phone).into()));
        }
        out
    }

    async fn answers(store: &Store, names: &[ContactRef]) -> Vec<String> {
        let mut out = Vec::new();
        for name in names {
            for action in ACTIONS {
                out.push(match store.decide(name, action, None).await {
                    Ok(report) => format!("{name:?} {action:?}: {report:?}"),
                    Err(e) => format!("{name:?} {action:?}: error {e}"),
                });
            }
        }
        out
    }

    async fn same(deciding: &Store, oracle: &Store, names: &[ContactRef], step: &str) {
        let remembered = answers(deciding, names).await;
        let read = answers(oracle, names).await;
        for (r, o) in remembered.iter().zip(&read) {
            assert_eq!(r, o, "after: {step}");
        }
        // Twice: the second round is answered from what the first one remembered.
        assert_eq!(
            answers(deciding, names).await,
            read,
            "after: {step}, asked again"
        );
    }

    #[tokio::test]
    async fn every_change_another_process_commits_is_seen_by_the_next_decision() {
        on_every_backend!(env => {
            let deciding = &env.store;
            let writer = env.second_store().await;
            let oracle = env.second_store_with(|c| c.decision_cache_entries = 0).await;
            writer.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
            let calls = Permissions { phone_call: true, sms_single: true, ..Permissions::default() };
            writer.create_consent_type(spec("CALLS", None, calls)).await.unwrap();
            let keys = [("CRM-A", "anna@example.it", "+393331112222"), ("CRM-B", "bruno@example.it", "+393334445555")];
            let mut ids = Vec::new();
            for (external, email, phone) in keys {
                let c = writer.create_contact(ContactInput {
                    external_id: Some(external.into()),
                    emails: vec![email.into()],
                    phones: vec![phone.replace("+39", "")],
                    ..ContactInput::default()
                }).await.unwrap();
                ids.push(c.id);
            }
            let (a, b) = (ContactRef::Id(ids[0]), ContactRef::Id(ids[1]));
            let names = names(&ids, &keys);
            writer.record_consent(event(&a, "NEWS", EventKind::Given, None)).await.unwrap();
            same(deciding, &oracle, &names, "a consent given").await;

            env.clock.advance(1_000_000);
            writer.record_consent(event(&a, "NEWS", EventKind::Withdrawn, None)).await.unwrap();
            same(deciding, &oracle, &names, "a withdrawal").await;

            writer.record_consent(event(&a, "CALLS", EventKind::Given, None)).await.unwrap();
            writer.record_consent(event(&b, "NEWS", EventKind::Given, None)).await.unwrap();
            same(deciding, &oracle, &names, "two consents given").await;

            writer.set_restricted(&a, true).await.unwrap();
            same(deciding, &oracle, &names, "a restriction").await;
            writer.set_restricted(&a, false).await.unwrap();
            same(deciding, &oracle, &names, "a restriction lifted").await;

            writer.set_objected(&b, true).await.unwrap();
            same(deciding, &oracle, &names, "an objection (and its suppression)").await;
            writer.set_objected(&b, false).await.unwrap();
            same(deciding, &oracle, &names, "an objection withdrawn").await;

            writer.set_channel(&b, Channel::Email, true, CollectionMethod::PreferenceCenter, &operator(), None).await.unwrap();
            same(deciding, &oracle, &names, "a channel switched off").await;

            let wider = Permissions { email_single: true, ..newsletter() };
            writer.update_consent_type("NEWS", spec("NEWS", Some(365), wider)).await.unwrap();
            same(deciding, &oracle, &names, "a consent type that permits more").await;

            writer.update_settings(PrivacySettings { check_phone: false, ..PrivacySettings::default() }).await.unwrap();
            same(deciding, &oracle, &names, "a check switched off").await;

            env.clock.advance(366 * DAY);
            same(deciding, &oracle, &names, "a year later (expiry needs no write)").await;

            // Anna's address moves to Bruno: asked by it, the answer is Bruno's.
            writer.update_contact(&a, ContactInput { external_id: Some("CRM-A".into()), phones: vec![keys[0].2.into()], ..ContactInput::default() }).await.unwrap();
            writer.update_contact(&b, ContactInput {
                external_id: Some("CRM-B".into()),
                emails: vec![keys[1].1.into(), keys[0].1.into()],
                phones: vec![keys[1].2.into()],
                ..ContactInput::default()
            }).await.unwrap();
            same(deciding, &oracle, &names, "an address moved to another contact").await;

            if !env.is_postgres() {
                // A process that fell behind the pruned log forgets everything, and is right.
                env.raw_sql("DELETE FROM decision_changes WHERE seq < (SELECT max(seq) FROM decision_changes)").await.unwrap();
                writer.record_consent(event(&b, "CALLS", EventKind::Given, None)).await.unwrap();
                env.raw_sql("DELETE FROM decision_changes WHERE seq < (SELECT max(seq) FROM decision_changes)").await.unwrap();
                same(deciding, &oracle, &names, "changes pruned from the log").await;
            }

            writer.erase_contact(ids[0], &consento_store::ErasureInput {
                reason: consento_domain::erasure::ErasureReason::Request,
                actor: operator(),
                by: consento_store::AuditActor::System,
                request_id: None,
            }).await.unwrap();
            same(deciding, &oracle, &names, "an erasure").await;

            if !env.is_postgres() {
                // The answers above came from memory: a change made behind the log's back (its
                // trigger dropped) is not seen, and the same change through it is.
                let bruno = ContactRef::External("CRM-B".into());
                let before = deciding.decide(&bruno, Action::PhoneCall, None).await.unwrap();
                assert!(matches!(before.decision, Decision::Allowed { .. }), "{before:?}");
                env.raw_sql("DROP TRIGGER decision_changes_contact").await.unwrap();
                writer.set_restricted(&b, true).await.unwrap();
                assert_eq!(deciding.decide(&bruno, Action::PhoneCall, None).await.unwrap(), before);
                writer.set_restricted(&b, false).await.unwrap();
                env.raw_sql("CREATE TRIGGER decision_changes_contact AFTER UPDATE OF restricted_at ON contacts BEGIN INSERT INTO decision_changes (contact_id) VALUES (OLD.id); END").await.unwrap();
                writer.set_restricted(&b, true).await.unwrap();
                let after = deciding.decide(&bruno, Action::PhoneCall, None).await.unwrap();
                assert!(matches!(after.decision, Decision::Blocked { cause: Cause::Restricted { .. } }), "{after:?}");
            }
            writer.close().await;
            oracle.close().await;
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn threads_deciding_at_once_never_answer_from_before_a_committed_change() {
        on_every_backend!(env => {
            let deciding = Arc::new(env.second_store().await);
            env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
            let mut people = Vec::new();
            for i in 0..8 {
                let c = env.store.create_contact(contact(&format!("p{i}@example.it"))).await.unwrap();
                people.push(ContactRef::Id(c.id));
            }
            for round in 0..60 {
                // One person's consent flips; the others' stay, so most answers come from memory.
                let who = &people[round % people.len()];
                let kind = if round % 2 == 0 { EventKind::Given } else { EventKind::Withdrawn };
                env.clock.advance(1_000_000);
                env.store.record_consent(event(who, "NEWS", kind, None)).await.unwrap();
                let expected: Vec<bool> = {
                    let mut out = Vec::new();
                    for p in &people {
                        let current = env.store.current_consents(p).await.unwrap();
                        out.push(current.iter().any(|c| c.valid));
                    }
                    out
                };
                let mut tasks = Vec::new();
                for t in 0..4 {
                    let deciding = Arc::clone(&deciding);
                    let people = people.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut seen = Vec::new();
                        for i in 0..people.len() {
                            let p = &people[(i + t) % people.len()];
                            let d = deciding.decide(p, Action::EmailBulk, None).await.unwrap();
                            seen.push(((i + t) % people.len(), matches!(d.decision, Decision::Allowed { .. })));
                        }
                        seen
                    }));
                }
                for task in tasks {
                    for (i, allowed) in task.await.unwrap() {
                        assert_eq!(allowed, expected[i], "round {round}, person {i}");
                    }
                }
            }
            deciding.close().await;
        });
    }
}
