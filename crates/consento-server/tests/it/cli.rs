//! The `consento` binary end to end, on a temporary SQLite file per test (and the scenarios again
//! on PostgreSQL when `CONSENTO_TEST_POSTGRES_URL` is set): the seed's scenario
//! (a consent type with a validity, reasons, a contact, a justified email, a backdated consent, a
//! refused future date, a withdrawal, the newsletter audience), the demo data set, and the shape
//! of errors (one line naming the field, exit 1; usage errors exit 2).

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use consento_domain::{Timestamp, Zone};

use crate::support::Scratch;

/// The local date in Rome (the binary's default zone) `offset` days from today, `YYYY-MM-DD`.
fn date(offset: i64) -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let now = Timestamp::from_micros(i64::try_from(micros).unwrap());
    let today = Zone::rome().today(now).unwrap();
    consento_domain::requests::plus_days(today, offset)
        .unwrap()
        .to_string()
}

/// The actor the command line records without `--operator`: the account running it.
fn os_account() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().to_owned())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "command-line".to_owned())
}

/// The one line of an error, checked to be exactly one line.
fn one_line(stderr: &str) -> &str {
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    stderr.trim_end()
}

fn reason_id(db: &Scratch, label: &str) -> String {
    let reasons = db.json(&["reasons", "list"]);
    reasons
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The seed's configuration: a newsletter type valid one year, and two reasons.
pub fn set_up(db: &Scratch) {
    db.ok(&[
        "types",
        "add",
        "--code",
        "NEWSLETTER",
        "--title",
        "Newsletter",
        "--validity-days",
        "365",
        "--bulk-email",
        "--preference-center",
    ]);
    db.ok(&["reasons", "add", "--label", "Richiesta del cliente"]);
    db.ok(&[
        "reasons",
        "add",
        "--label",
        "Offerta commerciale",
        "--marketing",
    ]);
}

#[test]
fn the_seed_scenario_runs_from_setup_to_the_newsletter_audience() {
    let db = Scratch::new();
    seed_scenario(&db);
    // Named, the operator is the one the proof records.
    db.ok(&[
        "--operator",
        "mrossi",
        "consents",
        "give",
        "CRM-1",
        "--type",
        "NEWSLETTER",
        "--method",
        "phone",
    ]);
    let history = db.json(&["consents", "history", "CRM-1"]);
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["actor_id"], "mrossi", "{last}");
}

#[test]
fn the_seed_scenario_runs_on_postgresql_too() {
    match Scratch::postgres() {
        Some(db) => seed_scenario(&db),
        None => println!("CONSENTO_TEST_POSTGRES_URL is not set: ran on SQLite only"),
    }
}

fn seed_scenario(db: &Scratch) {
    let init = db.ok(&["init"]);
    assert!(init.contains(db.backend()), "{init}");
    if db.pg_schema.is_none() {
        assert!(init.contains("consento.db"), "{init}");
    }
    set_up(db);
    let types = db.ok(&["types", "list"]);
    assert!(
        types.contains("NEWSLETTER") && types.contains("365 days"),
        "{types}"
    );
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "CRM-1",
        "--name",
        "Mario Rossi",
        "--email",
        "Mario.Rossi@Example.it",
        "--phone",
        "333 123 4567",
    ]);

    // No consent permits a single email: the operator must give a reason.
    let decided = db.ok(&[
        "decide",
        "mario.rossi@example.it",
        "--action",
        "email.single",
    ]);
    assert!(
        decided.starts_with("needs_justification: no_consent"),
        "{decided}"
    );
    assert!(decided.contains("Richiesta del cliente"), "{decided}");

    let reason = reason_id(db, "Richiesta del cliente");
    let justified = db.ok(&[
        "justify",
        "CRM-1",
        "--action",
        "email.single",
        "--reason",
        &reason,
        "--note",
        "ha chiesto un preventivo",
    ]);
    assert!(
        justified.starts_with("justified: email.single"),
        "{justified}"
    );
    let card = db.ok(&["contacts", "show", "+39 333 1234567"]);
    assert!(card.contains("Richiesta del cliente"), "{card}");
    assert!(card.contains("ha chiesto un preventivo"), "{card}");
    let card = db.json(&["contacts", "show", "CRM-1"]);
    assert_eq!(card["justified_contacts"].as_array().unwrap().len(), 1);
    // No --operator: the account that ran the command, never a console account by default.
    assert_eq!(card["justified_contacts"][0]["operator"], os_account());

    // A consent entered today with yesterday's date allows the newsletter, citing the type.
    let yesterday = date(-1);
    db.ok(&[
        "consents",
        "give",
        "CRM-1",
        "--type",
        "NEWSLETTER",
        "--date",
        &yesterday,
        "--method",
        "paper",
        "--evidence",
        "modulo cartaceo prot. 12",
    ]);
    let decided = db.ok(&["decide", "CRM-1", "--action", "email.bulk"]);
    assert_eq!(
        decided.trim_end(),
        format!(
            "allowed: consent NEWSLETTER given {yesterday}, expires {}",
            date(364)
        )
    );

    // A date in the future is refused in one line, and nothing reaches the ledger.
    let before = db.ok(&["consents", "history", "CRM-1", "--json"]);
    let (code, stderr) = db.fails(&[
        "consents",
        "give",
        "CRM-1",
        "--type",
        "NEWSLETTER",
        "--date",
        "2999-01-01",
        "--method",
        "paper",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        one_line(&stderr),
        "error: event_time: a consent cannot be dated in the future"
    );
    assert_eq!(db.ok(&["consents", "history", "CRM-1", "--json"]), before);

    db.ok(&[
        "consents",
        "withdraw",
        "CRM-1",
        "--type",
        "NEWSLETTER",
        "--method",
        "email",
    ]);
    let decided = db.ok(&["decide", "CRM-1", "--action", "email.bulk"]);
    assert!(
        decided.starts_with("blocked: withdrawn (NEWSLETTER on "),
        "{decided}"
    );
    let history = db.json(&["consents", "history", "CRM-1"]);
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["given", "withdrawn"]);
    assert_eq!(history[0]["method"], "paper");
    assert_eq!(history[0]["evidence"], "modulo cartaceo prot. 12");
    assert_eq!(history[0]["actor_id"], os_account());

    // The newsletter reaches exactly the one contact with a valid consent; the CSV quotes the
    // comma in the name (RFC 4180).
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "CRM-2",
        "--name",
        "Bianchi, Laura",
        "--email",
        "laura.bianchi@example.it",
    ]);
    db.ok(&[
        "consents",
        "give",
        "CRM-2",
        "--type",
        "NEWSLETTER",
        "--method",
        "form",
    ]);
    let laura = db.json(&["contacts", "show", "CRM-2"]);
    let out = db.run(&["audience"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "contact_id,external_id,email,name\n{},CRM-2,laura.bianchi@example.it,\"Bianchi, Laura\"\n",
            laura["contact"]["id"].as_str().unwrap()
        )
    );
    let counts = String::from_utf8(out.stderr).unwrap();
    assert_eq!(counts.trim_end(), "eligible 1; excluded 1: withdrawn 1");

    let verified = db.ok(&["ledger", "verify"]);
    assert!(
        verified.starts_with("ledger verified: 3 events, head "),
        "{verified}"
    );
}

#[test]
fn the_demo_audience_counts_match_its_csv_and_its_ledger_verifies() {
    demo_scenario(&Scratch::new());
}

#[test]
fn the_demo_runs_on_postgresql_too() {
    match Scratch::postgres() {
        Some(db) => demo_scenario(&db),
        None => println!("CONSENTO_TEST_POSTGRES_URL is not set: ran on SQLite only"),
    }
}

fn demo_scenario(db: &Scratch) {
    let demo = db.json(&["demo", "--contacts", "2000", "--seed", "7"]);
    assert_eq!(demo["contacts"], 2000);
    let events = demo["events"].as_u64().unwrap();
    assert!(events > 2000, "{demo}");

    let counts = db.json(&["audience", "--counts-only"]);
    let eligible = counts["eligible"].as_u64().unwrap();
    assert!(eligible > 0, "{counts}");
    for cause in [
        "expired",
        "withdrawn",
        "no_consent",
        "restricted",
        "objected",
    ] {
        assert!(
            counts["excluded"][cause].as_u64().unwrap_or(0) > 0,
            "{cause}: {counts}"
        );
    }

    let path = db.dir.join("audience.csv");
    db.ok(&["audience", "--output", path.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("contact_id,external_id,email,name"));
    assert_eq!(lines.count() as u64, eligible);

    let verified = db.ok(&["ledger", "verify"]);
    assert!(
        verified.starts_with(&format!("ledger verified: {events} events, head ")),
        "{verified}"
    );
    // A demo contact answers a decision like any other.
    let decided = db.ok(&["decide", "DEMO-000001", "--action", "email.bulk"]);
    assert!(
        ["allowed: ", "blocked: "]
            .iter()
            .any(|p| decided.starts_with(p)),
        "{decided}"
    );
}

#[test]
fn an_invalid_email_is_refused_in_one_line_naming_the_field() {
    let db = Scratch::new();
    let (code, stderr) = db.fails(&["contacts", "add", "--email", "mario.example.it"]);
    assert_eq!(code, 1);
    assert_eq!(
        one_line(&stderr),
        "error: email: `mario.example.it` has no @"
    );
}

#[test]
fn a_relay_token_may_carry_its_own_default_action_and_no_other_token_can() {
    let db = Scratch::new();
    let created = db.json(&[
        "tokens",
        "create",
        "--name",
        "newsletter",
        "--scope",
        "relay",
        "--relay-action",
        "email.bulk",
    ]);
    assert_eq!(created["relay_action"], "email.bulk");
    let listed = db.json(&["tokens", "list"]);
    assert_eq!(listed[0]["relay_action"], "email.bulk");
    let (code, stderr) = db.fails(&[
        "tokens",
        "create",
        "--name",
        "crm",
        "--scope",
        "write",
        "--relay-action",
        "email.bulk",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        one_line(&stderr),
        "error: relay_action: only a token with the relay scope has one"
    );
    let (_, stderr) = db.fails(&[
        "tokens",
        "create",
        "--name",
        "dialer",
        "--scope",
        "relay",
        "--relay-action",
        "phone.call",
    ]);
    assert_eq!(
        one_line(&stderr),
        "error: relay_action: \"phone.call\" is not email.single or email.bulk"
    );
    assert_eq!(db.json(&["tokens", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn a_reason_that_cannot_justify_the_contact_is_refused_in_one_line() {
    let db = Scratch::new();
    set_up(&db);
    db.ok(&["contacts", "add", "--external-id", "CRM-9"]);
    let service = reason_id(&db, "Richiesta del cliente");
    let marketing = reason_id(&db, "Offerta commerciale");

    db.ok(&["contacts", "object", "CRM-9"]);
    let (code, stderr) = db.fails(&[
        "justify",
        "CRM-9",
        "--action",
        "phone.call",
        "--reason",
        &marketing,
    ]);
    assert_eq!(code, 1);
    assert!(
        one_line(&stderr).starts_with("error: reason: the person objected"),
        "{stderr}"
    );

    db.ok(&["reasons", "update", "--id", &service, "--active", "false"]);
    let (code, stderr) = db.fails(&[
        "justify",
        "CRM-9",
        "--action",
        "phone.call",
        "--reason",
        &service,
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        one_line(&stderr),
        "error: reason: this reason is no longer active"
    );

    db.ok(&["contacts", "restrict", "CRM-9"]);
    db.ok(&["reasons", "update", "--id", &service, "--active", "true"]);
    let (code, stderr) = db.fails(&[
        "justify",
        "CRM-9",
        "--action",
        "phone.call",
        "--reason",
        &service,
    ]);
    assert_eq!(code, 1);
    assert!(
        one_line(&stderr).contains("blocked (restricted)"),
        "{stderr}"
    );
    let card = db.json(&["contacts", "show", "CRM-9"]);
    assert_eq!(card["justified_contacts"].as_array().unwrap().len(), 0);
}

#[test]
fn a_database_that_cannot_be_opened_is_one_line_without_internals() {
    let db = Scratch::new();
    let missing = db.dir.join("no-such-dir").join("x.db");
    let out = Command::new(env!("CARGO_BIN_EXE_consento"))
        .arg("--database-url")
        .arg(format!("sqlite:{}", missing.display()))
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    // The master key is looked for first, beside the database: its directory is missing too.
    assert!(
        one_line(&stderr).starts_with("error: cannot create the master key file"),
        "{stderr}"
    );
    // With the key given, the database itself is what cannot be opened.
    let out = Command::new(env!("CARGO_BIN_EXE_consento"))
        .arg("--database-url")
        .arg(format!("sqlite:{}", missing.display()))
        .arg("init")
        .env("CONSENTO_MASTER_KEY", "ab".repeat(32))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        one_line(&stderr).starts_with("error: cannot open the database sqlite:"),
        "{stderr}"
    );
}

#[test]
fn ledger_verify_names_the_altered_event_and_exits_non_zero() {
    let db = Scratch::new();
    set_up(&db);
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "T-1",
        "--email",
        "t1@example.it",
    ]);
    for kind in ["give", "withdraw", "give"] {
        db.ok(&[
            "consents",
            kind,
            "T-1",
            "--type",
            "NEWSLETTER",
            "--method",
            "phone",
        ]);
    }
    assert!(
        db.ok(&["ledger", "verify"])
            .starts_with("ledger verified: 3 events")
    );
    // Someone with the database file removes the guard and rewrites the withdrawal.
    let url = db.url.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("DROP TRIGGER consent_events_no_update; UPDATE consent_events SET kind = 'given' WHERE seq = 2")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let (code, stderr) = db.fails(&["ledger", "verify"]);
    assert_eq!(code, 1);
    let line = one_line(&stderr);
    assert!(
        line.starts_with("error: ledger broken at event 2 ("),
        "{line}"
    );
    assert!(line.contains("altered"), "{line}");
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let db = Scratch::new();
    let (code, _) = db.fails(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn users_reset_password_prints_a_new_one_time_password_that_must_be_replaced() {
    let db = Scratch::new();
    let printed = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("    "))
            .map(|l| l.trim().to_owned())
            .unwrap()
    };
    let first = printed(&db.ok(&[
        "users",
        "create",
        "--username",
        "bruno",
        "--role",
        "operator",
    ]));
    let out = db.ok(&["users", "reset-password", "bruno"]);
    assert!(out.contains("shown once"), "{out}");
    let second = printed(&out);
    assert_eq!(second.len(), 23, "{second}");
    assert_ne!(first, second);
    let users = db.json(&["users", "list"]);
    assert_eq!(users[0]["username"], "bruno");
    assert_eq!(users[0]["must_change_password"], true);
}

#[tokio::test]
async fn a_cli_change_appears_in_the_audit_trail_with_its_operator() {
    use std::sync::Arc;

    use consento_store::{AuditFilter, OsEntropy, Store, SystemClock};

    let db = Scratch::new();
    let added = db.json(&[
        "--operator",
        "anna",
        "types",
        "add",
        "--code",
        "AUDITED",
        "--title",
        "Audited",
        "--bulk-email",
    ]);
    let contact = db.json(&[
        "--operator",
        "anna",
        "contacts",
        "add",
        "--email",
        "anna.audit@example.it",
    ]);
    // Named by its address on the command line, by its id in the trail.
    db.ok(&[
        "--operator",
        "anna",
        "contacts",
        "restrict",
        "anna.audit@example.it",
    ]);
    let config = db.store_config();
    let store = Store::open(&config, Arc::new(SystemClock), Arc::new(OsEntropy))
        .await
        .unwrap();
    let trail = |kind: &str, id: &serde_json::Value| {
        let filter = AuditFilter {
            target: Some((kind.to_owned(), id.as_str().unwrap().to_owned())),
            limit: 10,
            ..Default::default()
        };
        let store = &store;
        async move { store.audit_entries(&filter).await.unwrap() }
    };
    let types = trail("consent_type", &added["id"]).await;
    assert_eq!(types.len(), 1, "{types:?}");
    let entry = &types[0];
    assert_eq!(entry.action, "consent_type.create");
    assert_eq!(entry.detail["via"], "command_line", "{entry:?}");
    assert_eq!(entry.detail["operator"], "anna", "{entry:?}");
    assert_eq!(entry.detail["after"]["code"], "AUDITED", "{entry:?}");
    assert!(
        entry.user_id.is_none() && entry.token_id.is_none(),
        "{entry:?}"
    );
    let contacts = trail("contact", &contact["id"]).await;
    let actions: Vec<_> = contacts.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["contact.create", "contact.restriction"]);
    assert!(
        contacts
            .iter()
            .all(|e| e.detail["via"] == "command_line" && e.detail["operator"] == "anna"),
        "{contacts:?}"
    );
    assert!(
        !format!("{contacts:?}").contains("anna.audit@example.it"),
        "{contacts:?}"
    );
    store.close().await;
}

#[test]
fn the_audience_csv_defuses_a_name_that_looks_like_a_formula_unless_raw_csv_is_asked() {
    let db = Scratch::new();
    db.ok(&[
        "types",
        "add",
        "--code",
        "NEWS",
        "--title",
        "News",
        "--bulk-email",
    ]);
    db.ok(&[
        "contacts",
        "add",
        "--external-id=-7",
        "--email",
        "eve@example.it",
        "--name",
        "=HYPERLINK(\"http://evil.example\")",
    ]);
    db.ok(&[
        "consents",
        "give",
        "eve@example.it",
        "--type",
        "NEWS",
        "--method",
        "form",
    ]);
    // OWASP "CSV Injection": a quote in front, as the console's and the API's CSV do.
    let escaped = db.ok(&["audience", "--type", "NEWS"]);
    assert!(
        escaped.contains(",'-7,eve@example.it,\"'=HYPERLINK(\"\"http://evil.example\"\")\""),
        "{escaped}"
    );
    let path = db.dir.join("audience.csv");
    db.ok(&[
        "audience",
        "--type",
        "NEWS",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), escaped);
    let raw = db.ok(&["audience", "--type", "NEWS", "--raw-csv"]);
    assert!(
        raw.contains(",-7,eve@example.it,\"=HYPERLINK(\"\"http://evil.example\"\")\""),
        "{raw}"
    );
}

#[test]
fn a_type_for_third_parties_is_added_with_its_categories_and_refused_without_in_one_line() {
    let db = Scratch::new();
    db.ok(&["init"]);
    let (code, err) = db.fails(&[
        "types",
        "add",
        "--code",
        "PARTNER",
        "--title",
        "Partner",
        "--phone",
        "--purpose",
        "third_party",
    ]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("categories"), "{err}");
    let out = db.ok(&[
        "types",
        "add",
        "--code",
        "PARTNER",
        "--title",
        "Partner",
        "--phone",
        "--purpose",
        "third_party",
        "--categories",
        "energy,telephony",
    ]);
    assert!(
        out.contains("purpose third_party (energy, telephony)"),
        "{out}"
    );
    let listed = db.ok(&["types", "list"]);
    assert!(
        listed.contains("third_party (energy, telephony)"),
        "{listed}"
    );
    let out = db.ok(&[
        "types",
        "update",
        "--code",
        "PARTNER",
        "--categories",
        "energy",
    ]);
    assert!(out.contains("purpose third_party (energy)"), "{out}");
}

#[test]
fn the_register_list_is_exported_and_its_answer_revokes_the_earlier_phone_consent() {
    let db = Scratch::new();
    db.ok(&["init"]);
    db.ok(&[
        "types", "add", "--code", "CALLS", "--title", "Offerte", "--phone",
    ]);
    db.ok(&[
        "types",
        "add",
        "--code",
        "NEWS",
        "--title",
        "Newsletter",
        "--bulk-email",
    ]);
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "CRM-1",
        "--phone",
        "333 123 4567",
    ]);
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "CRM-2",
        "--phone",
        "+39 06 1234 5678",
    ]);
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "CRM-3",
        "--phone",
        "+49 151 23456789",
    ]);
    for code in ["CALLS", "NEWS"] {
        db.ok(&[
            "consents", "give", "CRM-1", "--type", code, "--method", "phone",
        ]);
    }
    let sent = db.dir.join("lista.txt");
    let out = db.ok(&["rpo", "export", "--output", sent.to_str().unwrap()]);
    assert!(out.starts_with("2 numbers written"), "{out}");
    // National form, each once; a German number is not the register's.
    assert_eq!(
        std::fs::read_to_string(&sent).unwrap(),
        "0612345678\n3331234567\n"
    );
    // The answer, given now (after the consents): the mobile number is enrolled, the other not.
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let now = Timestamp::from_micros(i64::try_from(micros).unwrap()).to_rfc3339();
    let answer = db.dir.join("esito.csv");
    std::fs::write(&answer, "numero;esito\n3331234567;1\n0612345678;0\n").unwrap();
    let args = |answer: &str| {
        vec![
            "rpo".to_owned(),
            "import".to_owned(),
            answer.to_owned(),
            "--sent".to_owned(),
            sent.to_str().unwrap().to_owned(),
            "--checked-at".to_owned(),
            now.clone(),
            "--mode".to_owned(),
            "enrolled".to_owned(),
        ]
    };
    let out = db.ok(&args(answer.to_str().unwrap())
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(
        out.contains("2 numbers, 1 enrolled (1 found for the first time), 1 consents revoked"),
        "{out}"
    );
    let history = db.json(&["consents", "history", "CRM-1"]);
    let revoked: Vec<&serde_json::Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{history}");
    assert_eq!(
        (&revoked[0]["type_code"], &revoked[0]["method"]),
        (&serde_json::json!("CALLS"), &serde_json::json!("rpo"))
    );
    // Both checked now: nothing is due, unless every number is asked for.
    let out = db.ok(&["rpo", "export", "--output", sent.to_str().unwrap()]);
    assert!(out.starts_with("0 numbers written"), "{out}");
    let out = db.ok(&["rpo", "export", "--all", "--output", sent.to_str().unwrap()]);
    assert!(out.starts_with("2 numbers written"), "{out}");
    // An answer naming a number that was not sent is refused in one line, nothing written.
    std::fs::write(&answer, "3339999999;1\n").unwrap();
    let (code, err) = db.fails(
        &args(answer.to_str().unwrap())
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, 1);
    assert!(one_line(&err).contains("answer"), "{err}");
    db.ok(&["ledger", "verify"]);
}
