//! Imports from CRM exports: contacts created with backdated consents and the file as evidence,
//! nothing written without a commit, suppressed people skipped, the same states and ledger as
//! appends one by one, lines matched within and across chunks, and mappings and run reports.

use super::*;

/// The start of a day in Rome, as a file's date without a time is read.
fn local_day(date: &str) -> Timestamp {
    consento_domain::Zone::rome()
        .parse_instant("d", date)
        .unwrap()
}

pub(super) fn import_mapping() -> consento_domain::import::Mapping {
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
    import_lines_with(&env.store, lines, commit).await
}

/// [`import_lines`] through `store`.
async fn import_lines_with(
    store: &Store,
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
            plan.parse(
                i as u64 + 2,
                &fields,
                store.now(),
                &consento_domain::Zone::rome(),
                "39",
            )
            .unwrap()
        })
        .collect();
    let spec = consento_store::ImportSpec {
        source: "crm-x".into(),
        file_name: "export.csv".into(),
        file_sha256: [7; 32],
        codes: vec!["NEWS".into()],
        actor: operator(),
        run_id: uuid::Uuid::nil(),
        check: consento_store::FileCheck::passed(),
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
    let result = store.import_rows(&spec, rx, &progress).await;
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
        assert_eq!(history[0].event_time, local_day("2024-03-15"));
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
                let at = local_day(date);
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
        // The rows an import creates are created in file order, and their ids ascend with it
        // (the indexes keyed by them grow at one end).
        let mut ids = Vec::new();
        for i in 1..=8 {
            let c = env.store.contact(&ContactRef::External(format!("C{i}"))).await.unwrap();
            let history = env.store.consent_history(&ContactRef::Id(c.id)).await.unwrap();
            assert_eq!(history.len(), 1);
            ids.push((c.id.0, history[0].id.0));
        }
        assert!(ids.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "{ids:?}");
        env.store.verify_ledger().await.unwrap();
    });
}

#[tokio::test]
async fn an_import_over_known_people_leaves_every_current_state_where_single_appends_would() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        // Stored before: a withdrawal newer than the file's consent, a consent older than the
        // file's withdrawal, and a consent at the very time of the file's withdrawal.
        let stored = [
            ("a@example.it", EventKind::Withdrawn, days_before(start(), 5)),
            ("b@example.it", EventKind::Given, local_day("2023-01-01")),
            ("c@example.it", EventKind::Given, local_day("2024-03-15")),
        ];
        for (email, kind, at) in stored {
            let c = env.store.create_contact(contact(email)).await.unwrap();
            env.store.record_consent(event(&ContactRef::Id(c.id), "NEWS", kind, Some(at))).await.unwrap();
        }
        let lines = [
            "A,Anna,a@example.it,,2024-03-15,dato",
            "B,Bea,b@example.it,,2024-03-15,revocato",
            // A tie in time with the stored consent: the later in the ledger wins.
            "C,Ciro,c@example.it,,2024-03-15,revocato",
            "N1,Nino,n1@example.it,,2024-03-15,dato",
            // The second chunk: N1 is stored by now (the first chunk wrote it), and its older
            // withdrawal goes into the history only.
            "N1,Nino,n1@example.it,,2024-02-01,revocato",
            "N2,Nora,n2@example.it,,2024-03-15,dato",
            // A tie within one chunk, for a contact the chunk creates: the later line wins.
            "N2,Nora,n2@example.it,,2024-03-15,revocato",
            "B,Bea,b@example.it,,2024-04-01,dato",
        ];
        let counts = import_lines(env, &lines, true).await.unwrap();
        assert_eq!((counts.contacts_created, counts.contacts_matched, counts.events_written), (2, 6, 8), "{counts:?}");
        let now = |r: ContactRef| async move {
            let c = env.store.current_consents(&r).await.unwrap();
            let news = c.into_iter().find(|c| c.code.as_str() == "NEWS").unwrap();
            (news.kind.unwrap(), news.event_time.unwrap())
        };
        let email = |e: &str| ContactRef::Email(e.into());
        assert_eq!(now(email("a@example.it")).await, (EventKind::Withdrawn, days_before(start(), 5)));
        assert_eq!(now(email("b@example.it")).await, (EventKind::Given, local_day("2024-04-01")));
        assert_eq!(now(email("c@example.it")).await, (EventKind::Withdrawn, local_day("2024-03-15")));
        assert_eq!(now(email("n1@example.it")).await, (EventKind::Given, local_day("2024-03-15")));
        assert_eq!(now(email("n2@example.it")).await, (EventKind::Withdrawn, local_day("2024-03-15")));
        assert_states_follow_the_ledger(env).await;
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 11);
        // The ledger's guards are in force for everyone after the import: an event forged on a
        // connection of its own, chained from anything but the head, is refused.
        let new_id = if env.is_postgres() { "gen_random_uuid()" } else { "randomblob(16)" };
        let forged = env.raw_sql(&format!(
            "INSERT INTO consent_events (seq, id, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash)
             SELECT seq + 1, {new_id}, contact_id, consent_type_id, type_code, kind, event_time, recorded_at, method, actor_kind, actor_id, notice_id, validity_days, evidence_digest, prev_hash, hash
             FROM consent_events WHERE seq = 5",
        )).await.unwrap_err();
        assert!(forged.to_string().contains("stale ledger head"), "{forged}");
        assert_states_follow_the_ledger(env).await;
    });
}

#[tokio::test]
async fn on_postgres_a_role_that_may_not_set_triggers_aside_imports_the_same_with_every_key_checked()
 {
    on_every_backend!(env => {
        let Raw::Postgres { url, schema } = &env.raw else { return };
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        let known = env.store.create_contact(contact("anna@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(known.id), "NEWS", EventKind::Given, Some(local_day("2024-03-20")))).await.unwrap();
        // A role that is no superuser and was not granted session_replication_role: its loads
        // keep the foreign keys' triggers, and only the ledger's two per-row triggers step aside.
        let role = format!("consento_plain_{}", schema.trim_start_matches("contract_"));
        env.raw_sql(&format!(
            "CREATE ROLE {role} LOGIN; GRANT USAGE, CREATE ON SCHEMA {schema} TO {role};
             GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role};
             DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO {role}', current_database()); END $$;"
        )).await.unwrap();
        let (scheme, rest) = url.split_once("://").unwrap();
        let host = rest.split_once('@').map_or(rest, |(_, host)| host);
        let plain = env.second_store_with(|c| c.url = format!("{scheme}://{role}@{host}")).await;
        let may = env.raw_count(&format!(
            "SELECT COUNT(*) FROM pg_roles WHERE rolname = '{role}' AND (rolsuper OR has_parameter_privilege('{role}', 'session_replication_role', 'SET'))"
        )).await;
        assert_eq!(may, 0);
        let lines = [
            "C1,Bruno,bruno@example.it,333 111 2222,2024-03-15,dato",
            "X1,Anna,anna@example.it,,2024-03-16,revocato",
            "C2,Carla,carla@example.it,,2024-03-15,dato",
            "C1,Bruno,bruno@example.it,,2024-03-15,revocato",
        ];
        let counts = import_lines_with(&plain, &lines, true).await.unwrap();
        assert_eq!((counts.contacts_created, counts.contacts_matched, counts.events_written), (2, 2, 4), "{counts:?}");
        let anna = plain.current_consents(&ContactRef::Id(known.id)).await.unwrap();
        assert_eq!((anna[0].kind, anna[0].event_time), (Some(EventKind::Given), Some(local_day("2024-03-20"))));
        assert_states_follow_the_ledger(env).await;
        assert_eq!(plain.verify_ledger().await.unwrap().events, 5);
        let update = env.raw_sql("UPDATE consent_events SET kind = 'withdrawn'").await.unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        // Appends after it are chained and projected by the triggers, for this role too.
        plain.record_consent(event(&ContactRef::External("C2".into()), "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        let carla = plain.current_consents(&ContactRef::External("C2".into())).await.unwrap();
        assert_eq!(carla[0].kind, Some(EventKind::Withdrawn));
        assert_states_follow_the_ledger(env).await;
        plain.close().await;
        env.raw_sql(&format!("DROP OWNED BY {role}; DROP ROLE {role};")).await.unwrap();
    });
}

#[tokio::test]
async fn an_import_that_fails_in_the_database_after_its_first_chunk_writes_nothing_and_leaves_the_head()
 {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(730), newsletter())).await.unwrap();
        let known = env.store.create_contact(contact("anna@example.it")).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(known.id), "NEWS", EventKind::Given, None)).await.unwrap();
        // A guard of the test's own refuses one contact of the second chunk, once the first
        // chunk's contacts, events, evidence and states are written in the same transaction.
        // (On PostgreSQL a constraint: a load may set triggers aside, see pgcopy.rs.)
        let guard = if env.is_postgres() {
            "ALTER TABLE contacts ADD CONSTRAINT zeta_refused CHECK (name IS DISTINCT FROM 'Zeta')"
        } else {
            "CREATE TRIGGER refuse_zeta BEFORE INSERT ON contacts WHEN NEW.name = 'Zeta' BEGIN SELECT RAISE(ABORT, 'zeta refused'); END;"
        };
        env.raw_sql(guard).await.unwrap();
        let lines = [
            "C1,Bruno,bruno@example.it,,2024-03-15,dato",
            "C2,Carla,carla@example.it,,2024-03-15,dato",
            "X1,Anna,anna@example.it,,2024-03-16,revocato",
            "C4,Dora,dora@example.it,,2024-03-15,dato",
            "C5,Zeta,zeta@example.it,,2024-03-15,dato",
        ];
        let err = import_lines(env, &lines, true).await.unwrap_err();
        assert!(format!("{err:?}").contains("zeta_refused") || err.to_string().contains("zeta refused"), "{err:?}");
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM contacts").await, 1);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM consent_evidence").await, 0);
        let head = env.store.verify_ledger().await.unwrap();
        assert_eq!(head.events, 1);
        assert_states_follow_the_ledger(env).await;
        // The next append chains from the head as it was, and is projected.
        env.store.record_consent(event(&ContactRef::Id(known.id), "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        let anna = env.store.current_consents(&ContactRef::Id(known.id)).await.unwrap();
        assert_eq!(anna[0].kind, Some(EventKind::Withdrawn));
        assert_eq!(env.store.verify_ledger().await.unwrap().events, 2);
        assert_states_follow_the_ledger(env).await;
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
            (EventKind::Given, local_day("2024-03-15")),
            (EventKind::Withdrawn, local_day("2024-04-01")),
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
        let errors = vec![consento_domain::import::LineError { line: 4, column: "Email".into(), reason: "bad".into(), problem: None }];
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

#[tokio::test]
async fn a_run_whose_process_gave_no_sign_of_life_for_ten_minutes_reads_as_interrupted() {
    on_every_backend!(env => {
        // Started by another process: this one has no live counters for it.
        let other = env.second_store().await;
        let (id, progress) = other.start_import_run(consento_store::NewImportRun {
            source: "crm-x".into(),
            file_name: "export.csv".into(),
            file_sha256: [1; 32],
            total_bytes: 100,
            started_by: "mrossi".into(),
        }).await.unwrap();
        assert_eq!(env.store.import_run(id).await.unwrap().status, consento_store::ImportStatus::Running);
        env.clock.advance(9 * 60 * 1_000_000);
        if env.is_postgres() {
            // PostgreSQL's runs write their counters as they go: a sign of life.
            other.record_import_progress(id, &progress.snapshot()).await.unwrap();
            env.clock.advance(9 * 60 * 1_000_000);
            assert_eq!(env.store.import_run(id).await.unwrap().status, consento_store::ImportStatus::Running);
        }
        env.clock.advance(2 * 60 * 1_000_000);
        assert_eq!(env.store.import_run(id).await.unwrap().status, consento_store::ImportStatus::Interrupted);
        assert_eq!(env.store.import_runs(5).await.unwrap()[0].status, consento_store::ImportStatus::Interrupted);
        // The process running it still sees it live.
        assert_eq!(other.import_run(id).await.unwrap().status, consento_store::ImportStatus::Running);
        other.close().await;
    });
}
