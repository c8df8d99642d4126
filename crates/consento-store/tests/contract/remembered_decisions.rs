//! Decisions answered from memory (each store keeps the facts of recent decisions and of the
//! number a call rings: SQLite by migrations 0017 and 0031, PostgreSQL by migration 0035) against
//! a store that reads the database every time, while another store changes everything a
//! decision reads, as another process would.

use super::*;
use consento_domain::calls::CallOutcome;
use consento_domain::{Channel, Clock};
use consento_store::{AuditActor, CustomerContract, NewCallOutcome, NewCallRequest, NewRpoCheck};

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

/// The consent types a call may rely on (none: a call justified with a marketing reason).
const RELIED_ON: [Option<&str>; 2] = [Some("CALLS"), None];

/// Each decision, and for a call what the rules at the ring read: about the number asked by, or
/// the contact's primary one; relying on a consent, as a dialer's question reads them (after the
/// decision's own fence, with no second one), and relying on none, fenced again.
async fn answers(store: &Store, names: &[ContactRef]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        for action in ACTIONS {
            let report = store.decide_fenced(name, action, None).await;
            out.push(match &report {
                Ok((report, _)) => format!("{name:?} {action:?}: {report:?}"),
                Err(e) => format!("{name:?} {action:?}: error {e}"),
            });
            if let (Ok((report, fenced)), Action::PhoneCall) = (&report, action) {
                let dialed = match name {
                    ContactRef::Phone(p) => Some(p.as_str()),
                    _ => None,
                };
                for relied_on in RELIED_ON {
                    let ring = match relied_on {
                        Some(_) => {
                            store
                                .ring_facts_after(report.contact_id, dialed, relied_on, fenced)
                                .await
                        }
                        None => store.ring_facts(report.contact_id, dialed, relied_on).await,
                    };
                    out.push(format!(
                        "{name:?} at the ring relying on {relied_on:?}: {ring:?}"
                    ));
                }
            }
        }
    }
    out
}

/// The register's answer, given `hours` ago: `enrolled` and `not_enrolled` numbers.
fn register_answer(env: &Env, hours: i64) -> NewRpoCheck {
    let answered_at = Timestamp::from_micros(env.clock.now().as_micros() - hours * 3_600_000_000);
    NewRpoCheck {
        answered_at,
        valid_until: Timestamp::from_micros(answered_at.as_micros() + 15 * DAY),
        file_name: format!("risposta-{hours}.csv"),
        file_sha256: [hours as u8; 32],
        answer_mode: "enrolled",
        imported_by: "mrossi".into(),
    }
}

/// A call the dialer reports, placed `minutes` ago.
fn dialled(env: &Env, phone: &str, outcome: CallOutcome, minutes: i64) -> NewCallOutcome {
    NewCallOutcome {
        phone: phone.into(),
        outcome,
        campaign: "Primavera".into(),
        operator: "m.bianchi".into(),
        called_at: Timestamp::from_micros(env.clock.now().as_micros() - minutes * 60_000_000),
        actor: Actor::new(ActorKind::Token, "0190a0a0-0000-7000-8000-000000000009").unwrap(),
        objection_entry: Some(AuditActor::System.entry(
            "contact.objection",
            None,
            serde_json::json!({}),
        )),
    }
}

/// Drops the trigger that logs changes of current consents: a change made after it is committed
/// but not logged, so a store answering from memory does not see it.
async fn hide_state_changes(env: &Env) {
    let drop_state = if env.is_postgres() {
        "DROP TRIGGER decision_changes_state ON consent_state"
    } else {
        "DROP TRIGGER decision_changes_state"
    };
    env.raw_sql(drop_state).await.unwrap();
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

        // What the ring reads, each kept by number or by contact.
        writer.import_rpo_answer(register_answer(env, 2), &[keys[0].2.into()], &[keys[1].2.into()]).await.unwrap();
        same(deciding, &oracle, &names, "a register import finding a number enrolled").await;
        writer.import_rpo_answer(register_answer(env, 1), &[], &[keys[0].2.into(), keys[1].2.into()]).await.unwrap();
        same(deciding, &oracle, &names, "a new check").await;
        writer.record_call_outcome(&dialled(env, keys[1].2, CallOutcome::Silent, 5)).await.unwrap();
        same(deciding, &oracle, &names, "a silent call").await;
        writer.set_customer(ids[0], Some((CustomerContract::InForce, "contratto 42")), "mrossi").await.unwrap();
        same(deciding, &oracle, &names, "a customer contract recorded").await;
        writer.set_directory_listing(ids[0], None, true, "Pagine Bianche", "mrossi").await.unwrap();
        same(deciding, &oracle, &names, "a number listed in a public directory").await;
        writer.set_directory_listing(ids[0], None, false, "Pagine Bianche 2025", "mrossi").await.unwrap();
        same(deciding, &oracle, &names, "a number no longer listed").await;
        let asked = NewCallRequest {
            phone: None,
            requested_at: Timestamp::from_micros(env.clock.now().as_micros() - 60_000_000),
            valid_until: Timestamp::from_micros(env.clock.now().as_micros() + DAY),
            source: "modulo web".into(),
            recorded_by: "mrossi".into(),
        };
        writer.record_call_request(ids[1], asked).await.unwrap();
        same(deciding, &oracle, &names, "a call asked for").await;
        writer.record_call_outcome(&dialled(env, keys[1].2, CallOutcome::Answered, 0)).await.unwrap();
        same(deciding, &oracle, &names, "the call asked for placed").await;
        env.raw_sql("DELETE FROM phone_directory").await.unwrap();
        same(deciding, &oracle, &names, "a directory listing removed by hand").await;
        env.raw_sql("DELETE FROM rpo_numbers").await.unwrap();
        same(deciding, &oracle, &names, "the register's answers removed by hand").await;

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

        // The ring's facts asked with no decision before them fence for themselves (a
        // dialer's question fences once, in its decision).
        let alone = || deciding.ring_facts(ids[1], None, Some("CALLS"));
        let before = alone().await.unwrap();
        env.clock.advance(60_000_000);
        writer.record_call_outcome(&dialled(env, keys[1].2, CallOutcome::Silent, 0)).await.unwrap();
        let after = alone().await.unwrap();
        assert_ne!(after, before);
        assert_eq!(after, oracle.ring_facts(ids[1], None, Some("CALLS")).await.unwrap());
        same(deciding, &oracle, &names, "a silent call").await;

        writer.erase_contact(ids[0], &consento_store::ErasureInput {
            reason: consento_domain::erasure::ErasureReason::Request,
            actor: operator(),
            by: consento_store::AuditActor::System,
            request_id: None,
        }).await.unwrap();
        same(deciding, &oracle, &names, "an erasure").await;

        // The answers above came from memory: a change made behind the log's back (its
        // trigger dropped) is not seen, and the same change through it is.
        let (drop_contact, create_contact, drop_call) = if env.is_postgres() {
            (
                "DROP TRIGGER decision_changes_contact ON contacts",
                "CREATE TRIGGER decision_changes_contact AFTER UPDATE OF restricted_at ON contacts FOR EACH ROW EXECUTE FUNCTION consento_log_contact()",
                "DROP TRIGGER decision_changes_call ON call_outcomes",
            )
        } else {
            (
                "DROP TRIGGER decision_changes_contact",
                "CREATE TRIGGER decision_changes_contact AFTER UPDATE OF restricted_at ON contacts BEGIN INSERT INTO decision_changes (contact_id) VALUES (OLD.id); END",
                "DROP TRIGGER decision_changes_call_new",
            )
        };
        let bruno = ContactRef::External("CRM-B".into());
        let before = deciding.decide(&bruno, Action::PhoneCall, None).await.unwrap();
        assert!(matches!(before.decision, Decision::Allowed { .. }), "{before:?}");
        env.raw_sql(drop_contact).await.unwrap();
        writer.set_restricted(&b, true).await.unwrap();
        assert_eq!(deciding.decide(&bruno, Action::PhoneCall, None).await.unwrap(), before);
        writer.set_restricted(&b, false).await.unwrap();
        env.raw_sql(create_contact).await.unwrap();
        writer.set_restricted(&b, true).await.unwrap();
        let after = deciding.decide(&bruno, Action::PhoneCall, None).await.unwrap();
        assert!(matches!(after.decision, Decision::Blocked { cause: Cause::Restricted { .. } }), "{after:?}");

        // The same for what the ring reads: a silent call logged by no trigger is not seen.
        let ring = || deciding.ring_facts(ids[1], Some(keys[1].2), Some("CALLS"));
        let before = ring().await.unwrap();
        env.raw_sql(drop_call).await.unwrap();
        env.clock.advance(60_000_000);
        writer.record_call_outcome(&dialled(env, keys[1].2, CallOutcome::Silent, 0)).await.unwrap();
        assert_eq!(ring().await.unwrap(), before);
        assert_ne!(oracle.ring_facts(ids[1], Some(keys[1].2), Some("CALLS")).await.unwrap(), before);

        // A process that fell behind the pruned log forgets everything, and is right. Last:
        // while a transaction begun before the prune runs anywhere on the server (another test,
        // a load into another schema), every fence after it forgets everything too.
        let prune = if env.is_postgres() {
            "BEGIN; UPDATE decision_changes_pruned SET below = pg_current_xact_id(); DELETE FROM decision_changes; COMMIT"
        } else {
            "DELETE FROM decision_changes WHERE seq < (SELECT max(seq) FROM decision_changes)"
        };
        env.raw_sql(prune).await.unwrap();
        writer.record_consent(event(&b, "CALLS", EventKind::Given, None)).await.unwrap();
        env.raw_sql(prune).await.unwrap();
        same(deciding, &oracle, &names, "changes pruned from the log").await;

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

#[tokio::test]
async fn a_store_remembers_its_contacts_from_the_start_without_being_asked() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let anna = env.store.create_contact(ContactInput {
            external_id: Some("CRM-A".into()),
            emails: vec!["anna@example.it".into()],
            ..ContactInput::default()
        }).await.unwrap();
        let a = ContactRef::Id(anna.id);
        env.store.record_consent(event(&a, "NEWS", EventKind::Given, None)).await.unwrap();
        let deciding = env.second_store().await;
        // The preload runs beside the store; a few contacts take milliseconds.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        // A withdrawal the log does not see (its trigger dropped): a store that has never been
        // asked about Anna still answers from what it loaded when it started, by every key.
        hide_state_changes(env).await;
        env.store.record_consent(event(&a, "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        for name in [a.clone(), ContactRef::External("CRM-A".into()), ContactRef::Email("anna@example.it".into())] {
            let d = deciding.decide(&name, Action::EmailBulk, None).await.unwrap();
            assert!(matches!(d.decision, Decision::Allowed { .. }), "{name:?}: {d:?}");
        }
        // A store that loads nothing reads the database: the withdrawal.
        let reading = env.second_store_with(|c| c.decision_cache_entries = 0).await;
        let d = reading.decide(&a, Action::EmailBulk, None).await.unwrap();
        assert!(!matches!(d.decision, Decision::Allowed { .. }), "{d:?}");
        deciding.close().await;
        reading.close().await;
    });
}

/// Scans of the change log (`decision_changes`) so far, whole and by its index, as PostgreSQL's
/// statistics count them.
async fn log_scans(env: &Env) -> (i64, i64) {
    let row = env
        .raw_bytes(
            "SELECT convert_to(seq_scan || ' ' || COALESCE(idx_scan, 0), 'UTF8') FROM pg_stat_user_tables \
             WHERE relname = 'decision_changes' AND schemaname = current_schema()",
        )
        .await;
    let text = String::from_utf8(row[0].clone()).unwrap();
    let (seq, idx) = text.split_once(' ').unwrap();
    (seq.parse().unwrap(), idx.parse().unwrap())
}

/// Changes by the thousand (a bulk rule's, a demo's restrictions and objections) stay in the log
/// for two minutes: a fence must read only the changes it has not seen, through the index,
/// however long the log. (A plan
/// prepared once and reused scanned the whole log at every fence: 11.6 ms with 48,000 changes.)
#[tokio::test]
async fn a_fence_reads_only_the_new_end_of_a_long_change_log() {
    on_every_backend!(env => {
        if !env.is_postgres() {
            // SQLite reads the log by its position, the table's key.
            return;
        }
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        let anna = env.store.create_contact(contact("anna@example.it")).await.unwrap();
        let a = ContactRef::Id(anna.id);
        // Analysed, as autovacuum does after so many rows: with its statistics, a generic plan
        // expects a third of the log to be new, and scans it all.
        env.raw_sql(
            "INSERT INTO decision_changes (contact_id) SELECT gen_random_uuid() FROM generate_series(1, 50000); ANALYZE decision_changes",
        ).await.unwrap();
        // Every statement of this store planned generically, as PostgreSQL may choose to after
        // five runs of a prepared one.
        let deciding = env.second_store_with(|c| {
            c.fill_decision_cache = false;
            let join = if c.url.contains('?') { '&' } else { '?' };
            c.url = format!("{}{join}options=-c%20plan_cache_mode%3Dforce_generic_plan", c.url);
        }).await;
        deciding.decide(&a, Action::EmailBulk, None).await.unwrap();
        // A backend reports its scans at most every second while busy: what the statements
        // before the analysis did (on a small log a scan is the cheapest plan) is counted first.
        let settle = std::time::Duration::from_millis(2_500);
        tokio::time::sleep(settle).await;
        let (seq_before, idx_before) = log_scans(env).await;
        // More than the five runs after which PostgreSQL may keep a generic plan.
        for _ in 0..20 {
            deciding.decide(&a, Action::EmailBulk, None).await.unwrap();
        }
        tokio::time::sleep(settle).await;
        let (seq, idx) = log_scans(env).await;
        assert!(idx >= idx_before + 20, "fences through the index: {idx_before} then {idx}");
        assert_eq!(seq, seq_before, "the whole log scanned");
        deciding.close().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_fills_its_memory_at_start_while_another_process_keeps_writing() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", None, newsletter())).await.unwrap();
        // Six chunks of the preload (5,000 contacts each), each contact with a consent.
        let now = env.clock.now();
        let batch = (0..30_000).map(|i| BulkContact {
            input: contact(&format!("fill{i}@example.it")),
            events: vec![BulkEvent {
                type_code: "NEWS".into(),
                kind: EventKind::Given,
                event_time: now,
                method: CollectionMethod::Import,
                actor: operator(),
                evidence: None,
                notice_version: None,
            }],
        }).collect();
        env.store.bulk_load(batch).await.unwrap();
        let first = ContactRef::Email("fill0@example.it".into());
        let last = ContactRef::Email("fill29999@example.it".into());
        // Another process changes one contact all along: every fence of the new store finds
        // something, while it reads its chunks.
        let writer = Arc::new(env.second_store().await);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writing = {
            let (writer, stop, first) = (Arc::clone(&writer), Arc::clone(&stop), first.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let kind = if n % 2 == 0 { EventKind::Withdrawn } else { EventKind::Given };
                    writer.record_consent(event(&first, "NEWS", kind, None)).await.unwrap();
                    n += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                n
            })
        };
        let deciding = env.second_store().await;
        // Every contact but the one being changed (forgotten at each change, and read again by
        // the follower) is remembered: no chunk was dropped because the cache moved on.
        let mut remembered = 0;
        for _ in 0..100 {
            remembered = deciding.remembered_contacts();
            if remembered >= 29_999 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        stop.store(true, Ordering::Relaxed);
        assert!(writing.await.unwrap() > 10);
        assert!(remembered >= 29_999, "{remembered} remembered");
        // The last contact was remembered from the start: a withdrawal the log does not see
        // (its trigger dropped) is not seen.
        hide_state_changes(env).await;
        env.store.record_consent(event(&last, "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        let d = deciding.decide(&last, Action::EmailBulk, None).await.unwrap();
        assert!(matches!(d.decision, Decision::Allowed { .. }), "{d:?}");
        deciding.close().await;
        Arc::into_inner(writer).unwrap().close().await;
    });
}
