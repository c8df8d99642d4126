//! Imports of CRM exports end to end: the `consento import` command (contacts with backdated
//! consents and the file as their provenance, a saved mapping reused, re-imports without
//! duplicates, bad lines listed with nothing written, suppressed people skipped), and the
//! console's upload page with its self-refreshing progress and report.

use sha2::{Digest, Sha256};

use crate::support::{Scratch, spawn_app};

const MAPPING: &str = r#"
external_id = "Codice"
name = "Nome"
emails = ["Email"]
phones = ["Cellulare"]
attributes = ["Città"]

[[consents]]
code = "NEWSLETTER"
date = "Data consenso"
state = "Stato"
"#;

/// Five people as Italian Excel saves them (`;`), one of them twice (by phone).
const GOOD: &str = "Codice;Nome;Email;Cellulare;Città;Data consenso;Stato\n\
C1;Anna Rossi;anna@example.it;333 1234567;Milano;15/03/2024;dato\n\
C2;Bruno Bianchi;bruno@example.it;;Roma;2024-02-01;revocato\n\
C3;Carla Verdi;carla@example.it;;;2024-05-10;\n\
C4;Dario Neri;dario@example.it;;;;\n\
C1-bis;Anna;;+39 333 123 4567;;15/03/2024;dato\n";

fn set_up(db: &Scratch) {
    db.ok(&[
        "types",
        "add",
        "--code",
        "NEWSLETTER",
        "--title",
        "Newsletter",
        "--bulk-email",
    ]);
    std::fs::write(db.dir.join("mapping.toml"), MAPPING).unwrap();
}

/// `consento import --source crm-x --mapping mapping.toml export.csv`: its standard output.
fn import_with_mapping(db: &Scratch) -> String {
    db.ok(&[
        "import",
        "--source",
        "crm-x",
        "--mapping",
        "mapping.toml",
        "export.csv",
    ])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_import_creates_contacts_with_backdated_consents_whose_evidence_is_the_file_and_line() {
    let db = Scratch::new();
    set_up(&db);
    std::fs::write(db.dir.join("export.csv"), GOOD).unwrap();
    let out = import_with_mapping(&db);
    assert!(out.contains("imported 5 lines"), "{out}");
    assert!(
        out.contains("4 contacts created, 1 matched, 3 consent events"),
        "{out}"
    );

    let contact = db.json(&["contacts", "show", "ext:C1"]);
    assert_eq!(contact["contact"]["source"], "crm-x", "{contact}");
    assert_eq!(
        contact["contact"]["attributes"]["Città"], "Milano",
        "{contact}"
    );
    let history = db.json(&["consents", "history", "anna@example.it"]);
    let events = history.as_array().unwrap();
    assert_eq!(events.len(), 1, "{history}");
    assert_eq!(events[0]["method"], "import");
    // 15/03/2024 in the file: the start of that day in Rome (CET), 23:00 UTC the day before.
    assert_eq!(events[0]["event_time"], "2024-03-14T23:00:00Z");
    assert_ne!(events[0]["recorded_at"], events[0]["event_time"]);
    let evidence = events[0]["evidence"].as_str().unwrap();
    let sha = hex(&Sha256::digest(GOOD.as_bytes()));
    assert!(evidence.contains(&sha), "{evidence}");
    assert!(
        evidence.contains("\"line\":2") && evidence.contains("export.csv"),
        "{evidence}"
    );
    // Decisions use the imported consents: given for Anna, withdrawn for Bruno.
    let anna = db.json(&["decide", "ext:C1", "--action", "email.bulk"]);
    assert_eq!(anna["outcome"], "allowed", "{anna}");
    let bruno = db.json(&["decide", "ext:C2", "--action", "email.bulk"]);
    assert_eq!(bruno["outcome"], "blocked", "{bruno}");
    db.ok(&["ledger", "verify"]);

    // The second time the saved mapping is used, and nothing is duplicated.
    let again = db.ok(&["import", "--source", "crm-x", "export.csv"]);
    assert!(
        again.contains("0 contacts created, 5 matched, 0 consent events"),
        "{again}"
    );
    db.ok(&["ledger", "verify"]);
}

#[test]
fn a_file_with_three_bad_lines_among_good_ones_writes_nothing_and_names_each_line() {
    let db = Scratch::new();
    set_up(&db);
    let file = "Codice;Nome;Email;Cellulare;Città;Data consenso;Stato\n\
C1;Anna;anna@example.it;;;15/03/2024;dato\n\
C2;Bruno;bruno-at-example.it;;;2024-02-01;\n\
C3;Carla;carla@example.it;;;2024-05-10;\n\
C4;Dario;dario@example.it;;;2999-01-01;\n\
C5;Elena;elena@example.it\n\
C6;Fabio;fabio@example.it;;;2024-05-10;\n";
    std::fs::write(db.dir.join("bad.csv"), file).unwrap();
    let (code, stderr) = db.fails(&[
        "import",
        "--source",
        "crm-x",
        "--mapping",
        "mapping.toml",
        "bad.csv",
    ]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(
        lines[0].starts_with("line 3: Email:") && lines[0].contains("has no @"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("line 5: Data consenso:") && lines[1].contains("future"),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with("line 6: line:")
            && lines[2].contains("3 columns where the header has 7"),
        "{stderr}"
    );
    assert!(lines[3].starts_with("error: 3 bad lines"), "{stderr}");
    // Nothing was written, not even the good lines.
    let found = db.json(&["contacts", "search", "anna@example.it"]);
    assert_eq!(found.as_array().unwrap().len(), 0, "{found}");
    let verified = db.ok(&["ledger", "verify"]);
    assert!(verified.contains("0 events"), "{verified}");
}

#[test]
fn a_bad_line_after_thousands_of_good_ones_writes_nothing_and_a_later_import_still_works() {
    let db = Scratch::new();
    set_up(&db);
    // More good lines than two chunks: the writer has rows in hand when the bad line comes.
    let mut file = String::from("Codice;Nome;Email;Cellulare;Città;Data consenso;Stato\n");
    for i in 0..4_500 {
        file.push_str(&format!(
            "K{i};Persona {i};p{i}@example.it;;;2024-03-15;dato\n"
        ));
    }
    file.push_str("K-bad;Rotto;rotto-at-example.it;;;2024-03-15;dato\n");
    std::fs::write(db.dir.join("long.csv"), &file).unwrap();
    let (code, stderr) = db.fails(&[
        "import",
        "--source",
        "crm-x",
        "--mapping",
        "mapping.toml",
        "long.csv",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("line 4502: Email:"), "{stderr}");
    let found = db.json(&["contacts", "search", "p1@example.it"]);
    assert_eq!(found.as_array().unwrap().len(), 0, "{found}");
    let verified = db.ok(&["ledger", "verify"]);
    assert!(verified.contains("0 events"), "{verified}");
    // The ledger's triggers are whole again: the next import and its appends work.
    std::fs::write(db.dir.join("export.csv"), GOOD).unwrap();
    let out = import_with_mapping(&db);
    assert!(out.contains("contacts created"), "{out}");
    db.ok(&["ledger", "verify"]);
}

/// Thirty thousand good lines in the layout of [`MAPPING`], and `last` after them.
fn thirty_thousand_lines(last: &str) -> String {
    let mut file = String::from("Codice;Nome;Email;Cellulare;Città;Data consenso;Stato\n");
    for i in 0..30_000 {
        file.push_str(&format!(
            "W{i};Persona numero {i};w{i}@example.it;;Milano;2024-03-15;dato\n"
        ));
    }
    file.push_str(last);
    file
}

#[test]
fn a_file_longer_than_the_wal_limit_is_written_in_parts_with_the_wal_bounded_yet_a_bad_last_line_writes_nothing()
 {
    let db = Scratch::new().with_env("CONSENTO_SQLITE_WAL_LIMIT_MIB", "1");
    set_up(&db);
    // A bad last line: the file is checked whole before any part commits.
    std::fs::write(
        db.dir.join("bad.csv"),
        thirty_thousand_lines("W-bad;Rotto;rotto-at-example.it;;;2024-03-15;dato\n"),
    )
    .unwrap();
    let (code, stderr) = db.fails(&[
        "import",
        "--source",
        "crm-x",
        "--mapping",
        "mapping.toml",
        "bad.csv",
    ]);
    assert_eq!(code, 1, "{stderr}");
    // Named once: by the check, not again by the writing.
    assert_eq!(stderr.matches("line 30002: Email:").count(), 1, "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    let found = db.json(&["contacts", "search", "w1@example.it"]);
    assert_eq!(found.as_array().unwrap().len(), 0, "{found}");

    // The same file without it: written in parts, the WAL sampled meanwhile.
    std::fs::write(db.dir.join("good.csv"), thirty_thousand_lines("")).unwrap();
    let wal = db.dir.join("consento.db-wal");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (wal, done) = (wal.clone(), done.clone());
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            peak
        })
    };
    let out = db.ok(&["import", "--source", "crm-x", "good.csv"]);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    assert!(out.contains("imported 30000 lines"), "{out}");
    // One transaction would leave about 28 MiB in the WAL (measured); a part commits past half the
    // limit, checked after each chunk of 2,000 lines (about 3 MiB of pages).
    assert!(peak < 8 * 1024 * 1024, "peak WAL {peak} bytes");
    assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
    let verified = db.ok(&["ledger", "verify"]);
    assert!(verified.contains("30000 events"), "{verified}");
    // Again: nothing is added twice.
    let again = db.ok(&["import", "--source", "crm-x", "good.csv"]);
    assert!(
        again.contains("0 contacts created") && again.contains("0 consent events"),
        "{again}"
    );
}

#[test]
fn a_person_on_the_suppression_list_is_skipped_and_counted() {
    let db = Scratch::new();
    set_up(&db);
    db.ok(&[
        "contacts",
        "add",
        "--email",
        "bruno@example.it",
        "--external-id",
        "OLD-7",
    ]);
    db.ok(&["contacts", "object", "bruno@example.it"]);
    std::fs::write(db.dir.join("export.csv"), GOOD).unwrap();
    let out = import_with_mapping(&db);
    assert!(out.contains("1 skipped"), "{out}");
    assert!(out.contains("3 contacts created"), "{out}");
    let history = db.json(&["consents", "history", "bruno@example.it"]);
    assert_eq!(history.as_array().unwrap().len(), 0, "{history}");
    // Without a saved mapping, a new source is refused in one line.
    let (code, stderr) = db.fails(&["import", "--source", "crm-y", "export.csv"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no mapping is saved for the source `crm-y`"),
        "{stderr}"
    );
}

/// Waits for a run's page to stop refreshing itself, and returns its last body.
async fn finished(console: &crate::support::Console, path: &str) -> String {
    for _ in 0..200 {
        let page = console.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        if !page.body.contains("http-equiv=\"refresh\"") {
            return page.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

#[tokio::test]
async fn the_console_uploads_a_file_shows_its_progress_and_its_report() {
    let app = spawn_app().await;
    app.store
        .create_consent_type(consento_domain::ConsentTypeSpec {
            title: "Newsletter".into(),
            code: consento_domain::ConsentCode::parse("NEWSLETTER").unwrap(),
            description: None,
            validity_days: None,
            permissions: consento_domain::Permissions {
                email_bulk: true,
                ..Default::default()
            },
            show_in_preference_center: false,
            purpose: Default::default(),
        })
        .await
        .unwrap();
    let operator = app.console_as("operator").await;
    assert_eq!(operator.get("/imports").await.status, 403);
    let dpo = app.console_as("dpo").await;
    let form = dpo.get("/imports").await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("enctype=\"multipart/form-data\""),
        "{}",
        form.body
    );

    // Without a session, or signed in but without the token in the form's URL, the upload is
    // refused.
    let forged = crate::support::Console::new(&app.base);
    let refused = forged
        .post_multipart(
            "/imports",
            &[("source", "crm-x")],
            ("file", "x.csv", b"a\n"),
        )
        .await;
    assert_eq!(refused.status, 403);
    let untokened = dpo
        .multipart(
            "/imports",
            &[("source", "crm-x")],
            ("file", "x.csv", b"a\n"),
        )
        .await;
    assert_eq!(untokened.status, 403, "{}", untokened.body);

    let sent = dpo
        .post_multipart(
            "/imports",
            &[("source", "crm-x"), ("mapping", MAPPING), ("delimiter", "")],
            ("file", "export.csv", GOOD.as_bytes()),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let run = sent.location.unwrap();
    assert!(run.starts_with("/imports/"), "{run}");
    let report = finished(&dpo, &run).await;
    assert!(report.contains("<dd id=\"rows-read\">5</dd>"), "{report}");
    assert!(
        report.contains("<dd id=\"contacts-created\">4</dd>"),
        "{report}"
    );
    assert!(
        report.contains("<dd id=\"events-written\">3</dd>"),
        "{report}"
    );
    assert!(
        report.contains(&hex(&Sha256::digest(GOOD.as_bytes()))),
        "{report}"
    );
    let anna = app
        .store
        .resolve_contact(&consento_store::ContactRef::External("C1".into()))
        .await;
    assert!(anna.is_ok());

    // The saved mapping is reused; a bad line is reported and nothing is written.
    let bad = "Codice;Nome;Email;Cellulare;Città;Data consenso;Stato\n\
Z1;Zeno;zeno@example.it;;;2024-01-01;\n\
Z2;Zoe;zoe-example.it;;;2024-01-01;\n";
    let sent = dpo
        .post_multipart(
            "/imports",
            &[("source", "crm-x"), ("mapping", "")],
            ("file", "bad.csv", bad.as_bytes()),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let report = finished(&dpo, &sent.location.unwrap()).await;
    assert!(report.contains("id=\"bad-lines\""), "{report}");
    assert!(
        report.contains("<td data-label=\"Riga\">3</td>"),
        "{report}"
    );
    assert!(report.contains("has no @"), "{report}");
    assert!(
        app.store
            .resolve_contact(&consento_store::ContactRef::External("Z1".into()))
            .await
            .is_err()
    );

    // A new source without a mapping is sent back with the message next to the field.
    let again = dpo
        .post_multipart(
            "/imports",
            &[("source", "crm-nuovo")],
            ("file", "x.csv", GOOD.as_bytes()),
        )
        .await;
    assert_eq!(again.status, 200);
    assert!(
        again.body.contains("id=\"mapping-error\""),
        "{}",
        again.body
    );

    // The upload is in the audit trail.
    let audit = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "import.run"), "{audit:?}");
    app.shutdown().await;
}

/// A signed-in DPO on a server accepting uploads of at most 1,000 bytes, kept in a directory of
/// the test's own; the `Cookie` header and CSRF token a hand-written upload needs.
async fn small_uploads() -> (crate::support::TestApp, std::path::PathBuf, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "consento-uploads-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let upload_dir = dir.display().to_string();
    let app = crate::support::spawn_app_with(false, |c| {
        c.console.max_upload_bytes = 1000;
        c.console.upload_dir = upload_dir;
    })
    .await
    .unwrap();
    let dpo = app.console_as("dpo").await;
    // The form's page gives the session its token.
    assert_eq!(dpo.get("/imports").await.status, 200);
    let (cookie, csrf) = (dpo.cookie_header(), dpo.csrf());
    (app, dir, cookie, csrf)
}

/// A multipart body with a CSV file of `size` bytes.
fn multipart_of(size: usize) -> Vec<u8> {
    let mut body = b"--b0undary\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\ncrm-x\r\n--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\nCodice;Nome\n".to_vec();
    while body.len() < size {
        body.extend_from_slice(b"C1;Anna Rossi\n");
    }
    body.extend_from_slice(b"\r\n--b0undary--\r\n");
    body
}

fn left_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn an_upload_announced_above_the_limit_is_refused_with_a_413_page_before_a_byte_is_read() {
    let (app, dir, cookie, csrf) = small_uploads().await;
    for (language, says) in [
        ("en", "larger than this server accepts"),
        ("it", "più grande di quanto questo server accetta"),
    ] {
        // Only the head is sent: the answer must not wait for a body of 5 MB.
        let head = format!(
            "POST /imports?csrf={csrf} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nAccept-Language: {language}\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: 5000000\r\n\r\n",
            host = app.base.trim_start_matches("http://"),
        );
        let (status, _, body) = crate::support::raw_http(&app.base, head.as_bytes()).await;
        assert_eq!(status, 413, "{body}");
        assert!(body.contains(says), "{body}");
    }
    assert!(left_in(&dir).is_empty(), "{:?}", left_in(&dir));
    app.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_chunked_upload_past_the_limit_is_stopped_there_with_a_413_and_leaves_no_file() {
    let (app, dir, cookie, csrf) = small_uploads().await;
    let body = multipart_of(5000);
    let mut request = format!(
        "POST /imports?csrf={csrf} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nAccept-Language: en\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nTransfer-Encoding: chunked\r\n\r\n",
        host = app.base.trim_start_matches("http://"),
    )
    .into_bytes();
    for chunk in body.chunks(300) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, _, page) = crate::support::raw_http(&app.base, &request).await;
    assert_eq!(status, 413, "{page}");
    assert!(page.contains("larger than this server accepts"), "{page}");
    assert!(left_in(&dir).is_empty(), "{:?}", left_in(&dir));
    // Under the limit, the same way, the upload goes through.
    let small = multipart_of(200);
    let mut request = format!(
        "POST /imports?csrf={csrf} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{len:x}\r\n",
        host = app.base.trim_start_matches("http://"),
        len = small.len(),
    )
    .into_bytes();
    request.extend_from_slice(&small);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    let (status, _, page) = crate::support::raw_http(&app.base, &request).await;
    // No mapping saved for the source: the form comes back naming that, not the size.
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("larger than this server accepts"), "{page}");
    app.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A mapping whose column names are plain ASCII, so that a file's encoding shows in its lines.
const PLAIN_MAPPING: &str = r#"
external_id = "Codice"
name = "Nome"
emails = ["Email"]

[[consents]]
code = "NEWSLETTER"
date = "Data"
"#;

/// `consento import --source crm-w --mapping plain.toml FILE EXTRA…`.
fn import_plain(db: &Scratch, file: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", "--source", "crm-w", "--mapping", "plain.toml"];
    args.extend_from_slice(extra);
    args.push(file);
    db.run(&args)
}

fn nothing_imported(db: &Scratch) {
    let verified = db.ok(&["ledger", "verify"]);
    assert!(verified.contains("0 events"), "{verified}");
    let found = db.json(&["contacts", "search", "anna@example.it"]);
    assert_eq!(found.as_array().unwrap().len(), 0, "{found}");
}

fn a_header_naming_a_column_twice_is_refused_naming_it(db: &Scratch) {
    set_up(db);
    std::fs::write(db.dir.join("plain.toml"), PLAIN_MAPPING).unwrap();
    std::fs::write(
        db.dir.join("twice.csv"),
        "Codice;Nome;Email;Email;Data\nC1;Anna;anna@example.it;anna@example.com;2024-03-15\n",
    )
    .unwrap();
    let out = import_plain(db, "twice.csv", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("line 1: Email:") && lines[0].contains("more than once"),
        "{stderr}"
    );
    assert!(lines[1].contains("nothing was imported"), "{stderr}");
    nothing_imported(db);
}

#[test]
fn a_header_naming_a_column_twice_is_refused_naming_it_on_sqlite() {
    a_header_naming_a_column_twice_is_refused_naming_it(&Scratch::new());
}

#[test]
fn a_header_naming_a_column_twice_is_refused_naming_it_on_postgresql() {
    if let Some(db) = Scratch::postgres() {
        a_header_naming_a_column_twice_is_refused_naming_it(&db);
    }
}

#[test]
fn a_cell_over_the_limit_is_refused_naming_its_line_and_column_and_the_limit_can_be_raised() {
    let db = Scratch::new();
    set_up(&db);
    let with_note = format!("attributes = [\"Note\"]\n{PLAIN_MAPPING}");
    std::fs::write(db.dir.join("plain.toml"), &with_note).unwrap();
    let long = "x".repeat(70 * 1024);
    std::fs::write(
        db.dir.join("long.csv"),
        format!(
            "Codice;Nome;Email;Data;Note\nC1;Anna;anna@example.it;2024-03-15;\nC2;Bruno;bruno@example.it;2024-03-15;{long}\n"
        ),
    )
    .unwrap();
    let out = import_plain(&db, "long.csv", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with("line 3: Note: the cell is larger than 64 KiB"),
        "{stderr}"
    );
    assert!(stderr.len() < 1024, "the cell is not repeated: {stderr}");
    nothing_imported(&db);

    // The configuration's limit, then the flag, which wins over it.
    let configured = Scratch::new().with_env("CONSENTO_IMPORT__MAX_CELL_KIB", "32");
    set_up(&configured);
    std::fs::write(configured.dir.join("plain.toml"), &with_note).unwrap();
    std::fs::write(
        configured.dir.join("mid.csv"),
        format!(
            "Codice;Nome;Email;Data;Note\nC1;Anna;anna@example.it;2024-03-15;{}\n",
            "y".repeat(40 * 1024)
        ),
    )
    .unwrap();
    let out = import_plain(&configured, "mid.csv", &[]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("line 2: Note: the cell is larger than 32 KiB"),
        "{stderr}"
    );
    std::fs::copy(db.dir.join("long.csv"), configured.dir.join("long.csv")).unwrap();
    let out = import_plain(&configured, "long.csv", &["--max-cell-kib", "100"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bruno = configured.json(&["contacts", "show", "ext:C2"]);
    assert_eq!(
        bruno["contact"]["attributes"]["Note"]
            .as_str()
            .unwrap()
            .len(),
        70 * 1024,
        "the whole cell is kept"
    );
    let (code, stderr) = db.fails(&[
        "import",
        "--source",
        "crm-w",
        "--mapping",
        "plain.toml",
        "--max-cell-kib",
        "0",
        "long.csv",
    ]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("max-cell-kib"), "{stderr}");
}

/// `Mosè` in Windows-1252, as Excel's plain "CSV" and many Italian CRMs save it: `è` is 0xE8.
const WINDOWS_1252: &[u8] = b"Codice;Nome;Email;Data\r\nC1;Anna Rossi;anna@example.it;15/03/2024\r\nC2;Mos\xe8 Bianchi;mose@example.it;15/03/2024\r\n";

fn a_windows_1252_file_is_refused_at_its_line_and_imported_with_its_encoding(db: &Scratch) {
    set_up(db);
    std::fs::write(db.dir.join("plain.toml"), PLAIN_MAPPING).unwrap();
    std::fs::write(db.dir.join("cp1252.csv"), WINDOWS_1252).unwrap();
    let out = import_plain(db, "cp1252.csv", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0], "line 3: line: not UTF-8 text; try --encoding windows-1252",
        "{stderr}"
    );
    assert!(
        !stderr.contains("column"),
        "never a missing column: {stderr}"
    );
    assert!(lines[1].contains("nothing was imported"), "{stderr}");
    nothing_imported(db);

    let out = import_plain(db, "cp1252.csv", &["--encoding", "windows-1252"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mose = db.json(&["contacts", "show", "ext:C2"]);
    assert_eq!(mose["contact"]["name"], "Mosè Bianchi", "{mose}");

    let (code, stderr) = db.fails(&[
        "import",
        "--source",
        "crm-w",
        "--encoding",
        "klingon",
        "cp1252.csv",
    ]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("encoding"), "{stderr}");
}

#[test]
fn a_windows_1252_file_is_refused_at_its_line_and_imported_with_its_encoding_on_sqlite() {
    a_windows_1252_file_is_refused_at_its_line_and_imported_with_its_encoding(&Scratch::new());
}

#[test]
fn a_windows_1252_file_is_refused_at_its_line_and_imported_with_its_encoding_on_postgresql() {
    if let Some(db) = Scratch::postgres() {
        a_windows_1252_file_is_refused_at_its_line_and_imported_with_its_encoding(&db);
    }
}

/// `text` in UTF-16 with its byte order mark.
fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut bytes = if little_endian {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        let pair = if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

#[test]
fn a_utf_16_file_with_a_byte_order_mark_is_imported_without_being_told_its_encoding() {
    let db = Scratch::new();
    set_up(&db);
    std::fs::write(db.dir.join("utf16le.csv"), utf16(GOOD, true)).unwrap();
    let out = import_with_mapping_file(&db, "utf16le.csv");
    assert!(out.contains("imported 5 lines"), "{out}");
    assert!(out.contains("4 contacts created"), "{out}");
    let anna = db.json(&["contacts", "show", "ext:C1"]);
    // `Città` in the header and `Milano` in the line came through the decoding.
    assert_eq!(anna["contact"]["attributes"]["Città"], "Milano", "{anna}");

    // Big-endian too; the mark wins over an encoding given.
    let other = Scratch::new();
    set_up(&other);
    std::fs::write(other.dir.join("utf16be.csv"), utf16(GOOD, false)).unwrap();
    let out = other.ok(&[
        "import",
        "--source",
        "crm-x",
        "--mapping",
        "mapping.toml",
        "--encoding",
        "windows-1252",
        "utf16be.csv",
    ]);
    assert!(out.contains("4 contacts created"), "{out}");

    // A lone surrogate is not UTF-16: refused at its line.
    let mut broken = utf16(GOOD, true);
    let third_line = GOOD
        .lines()
        .take(2)
        .map(|l| l.chars().count() + 1)
        .sum::<usize>();
    let at = 2 + 2 * third_line;
    broken.splice(at..at, [0x00, 0xD8]);
    let fresh = Scratch::new();
    set_up(&fresh);
    std::fs::write(fresh.dir.join("broken.csv"), broken).unwrap();
    let (code, stderr) = fresh.fails(&[
        "import",
        "--source",
        "crm-x",
        "--mapping",
        "mapping.toml",
        "broken.csv",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("line 3: line: not UTF-16LE text"),
        "{stderr}"
    );
}

/// `consento import --source crm-x --mapping mapping.toml FILE`: its standard output.
fn import_with_mapping_file(db: &Scratch, file: &str) -> String {
    db.ok(&[
        "import",
        "--source",
        "crm-x",
        "--mapping",
        "mapping.toml",
        file,
    ])
}

#[tokio::test]
async fn the_console_offers_the_encodings_and_names_the_line_of_a_file_in_another() {
    let app = spawn_app().await;
    app.store
        .create_consent_type(consento_domain::ConsentTypeSpec {
            title: "Newsletter".into(),
            code: consento_domain::ConsentCode::parse("NEWSLETTER").unwrap(),
            description: None,
            validity_days: None,
            permissions: consento_domain::Permissions {
                email_bulk: true,
                ..Default::default()
            },
            show_in_preference_center: false,
            purpose: Default::default(),
        })
        .await
        .unwrap();
    let dpo = app.console_as("dpo").await;
    let form = dpo.get_in("/imports", "it").await;
    assert!(
        form.body
            .contains("<select id=\"encoding\" name=\"encoding\""),
        "{}",
        form.body
    );
    assert!(
        form.body
            .contains("<option value=\"windows-1252\">Windows-1252 (“CSV” semplice di Excel"),
        "{}",
        form.body
    );
    let english = dpo.get_in("/imports", "en").await;
    assert!(
        english
            .body
            .contains("<option value=\"windows-1252\">Windows-1252 (Excel&#39;s plain “CSV”"),
        "{}",
        english.body
    );

    let sent = dpo
        .post_multipart(
            "/imports",
            &[("source", "crm-w"), ("mapping", PLAIN_MAPPING)],
            ("file", "cp1252.csv", WINDOWS_1252),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let run = sent.location.unwrap();
    finished(&dpo, &run).await;
    let report = dpo.get_in(&run, "it").await.body;
    assert!(
        report.contains("<td data-label=\"Riga\">3</td>"),
        "{report}"
    );
    assert!(
        report.contains("Il testo non è UTF-8: caricare di nuovo il file scegliendone la codifica"),
        "{report}"
    );
    let english = dpo.get_in(&run, "en").await;
    assert!(
        english
            .body
            .contains("The text is not UTF-8: upload the file again"),
        "{}",
        english.body
    );
    assert!(
        app.store
            .resolve_contact(&consento_store::ContactRef::External("C1".into()))
            .await
            .is_err(),
        "nothing was imported"
    );

    // Chosen in the form, the encoding reads the file.
    let sent = dpo
        .post_multipart(
            "/imports",
            &[("source", "crm-w"), ("encoding", "windows-1252")],
            ("file", "cp1252.csv", WINDOWS_1252),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let report = finished(&dpo, &sent.location.unwrap()).await;
    assert!(
        report.contains("<dd id=\"contacts-created\">2</dd>"),
        "{report}"
    );
    let mose = app
        .store
        .contact(&consento_store::ContactRef::External("C2".into()))
        .await
        .unwrap();
    assert_eq!(mose.name.as_deref(), Some("Mosè Bianchi"));

    // An encoding the form does not offer is refused next to the field.
    let refused = dpo
        .post_multipart(
            "/imports",
            &[("source", "crm-w"), ("encoding", "klingon")],
            ("file", "cp1252.csv", WINDOWS_1252),
        )
        .await;
    assert_eq!(refused.status, 200);
    assert!(
        [
            "Scegliere una delle codifiche elencate.",
            "Choose one of the encodings listed."
        ]
        .iter()
        .any(|m| refused.body.contains(&format!(
            "<p class=\"field-error\" id=\"encoding-error\">{m}</p>"
        ))),
        "{}",
        refused.body
    );
}

#[test]
fn a_file_with_windows_line_ends_names_each_bad_line_by_its_number() {
    let db = Scratch::new();
    set_up(&db);
    std::fs::write(db.dir.join("plain.toml"), PLAIN_MAPPING).unwrap();
    std::fs::write(
        db.dir.join("crlf.csv"),
        "Codice;Nome;Email;Data\r\nC1;Anna;anna@example.it;2024-03-15\r\nC2;Bruno;bruno-at-example.it;2024-03-15\r\nC3;Carla;carla@example.it;2024-03-15\r\nC4;Dario;dario-at-example.it;2024-03-15\r\n",
    )
    .unwrap();
    let out = import_plain(&db, "crlf.csv", &[]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with("line 3: Email:"), "{stderr}");
    assert!(lines[1].starts_with("line 5: Email:"), "{stderr}");
}
