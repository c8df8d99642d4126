//! Strict input, through every door: JSON bodies that are one object and nothing else; values
//! that cannot be right refused with the field named (a NUL or another control character in any
//! text, on both backends; an address with a misplaced dot; a number no one can dial; a consent
//! dated before 1900; a collection method only Consento's own flows produce; a type code that
//! differs from another only in case; a type that permits nothing); a backdated consent that had
//! already expired recorded with a warning; a CSV import naming the line and column of a NUL;
//! and the command line printing stored control characters escaped.

use reqwest::Method;
use serde_json::{Value, json};

use consento_domain::{ConsentCode, ConsentTypeSpec, Permissions, Timestamp};
use consento_store::{ContactInput, ContactRef};

use crate::support::{Scratch, TestApp, spawn_app, spawn_app_with};

const DAY: i64 = 86_400_000_000;

/// Asserts a problem document with `status` naming `field`.
fn problem(status: u16, body: &Value, expected: u16, field: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["status"], expected, "{body}");
    assert_eq!(body["field"], field, "{body}");
}

/// A newsletter type valid 30 days and a contact, through the API; the contact's id.
async fn newsletter_and_contact(app: &TestApp) -> String {
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "newsletter", "title": "Newsletter", "validity_days": 30, "permits": ["email.bulk"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "name": "Anna Rossi", "emails": ["anna@example.it"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// POSTs `raw` as the body, declared JSON, to `path` as `scope`.
async fn post_raw(app: &TestApp, path: &str, scope: &str, raw: &str) -> (u16, Value) {
    crate::support::send(
        app.request(Method::POST, path, scope)
            .header("content-type", "application/json")
            .body(raw.to_owned()),
    )
    .await
}

async fn contact_count(app: &TestApp) -> usize {
    app.store.list_contacts(None, 100).await.unwrap().len()
}

#[tokio::test]
async fn a_body_with_a_second_document_after_the_first_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (status, body) = post_raw(
        &app,
        "/v1/contacts",
        "write",
        r#"{"name": "Anna", "emails": ["anna@example.it"]}{"name": "Bruno", "emails": ["bruno@example.it"]}"#,
    )
    .await;
    problem(status, &body, 400, "body");
    assert!(
        body["detail"].as_str().unwrap().contains("trailing"),
        "{body}"
    );
    assert_eq!(contact_count(&app).await, 0);
    // Trailing white space is still one document.
    let (status, body) = post_raw(
        &app,
        "/v1/contacts",
        "write",
        "{\"emails\": [\"anna@example.it\"]}\n  \n",
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn an_array_in_place_of_an_object_is_refused_at_the_top_and_inside() {
    let app = spawn_app().await;
    // serde would fill the struct's fields in order from an array.
    let (status, body) = post_raw(
        &app,
        "/v1/consent-types",
        "admin",
        r#"["newsletter", "Newsletter", null, 30, ["email.bulk"], true]"#,
    )
    .await;
    problem(status, &body, 400, "body");
    assert!(app.store.consent_types().await.unwrap().is_empty());
    let (status, body) = post_raw(
        &app,
        "/v1/decisions",
        "decide",
        r#"{"contact": ["00000000-0000-0000-0000-000000000000"], "action": "email.bulk"}"#,
    )
    .await;
    problem(status, &body, 400, "contact");
}

/// A NUL in a contact's name, on SQLite and on PostgreSQL (where it used to be a 500).
async fn a_nul_in_a_name_is_refused_naming_it(app: &TestApp) {
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "name": "Anna\u{0}Rossi", "emails": ["anna@example.it"] }),
        )
        .await;
    problem(status, &body, 422, "name");
    assert!(body["detail"].as_str().unwrap().contains("NUL"), "{body}");
    // Deeper down, in a free attribute, and an escape sequence rather than a NUL.
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "emails": ["anna@example.it"], "attributes": { "note": ["ok", "\u{1b}[2J"] } }),
        )
        .await;
    problem(status, &body, 422, "attributes.note[1]");
    assert_eq!(contact_count(app).await, 0);
    // A search for one is refused too, naming the parameter, not a database error.
    let (status, body) = app.get("/v1/contacts?q=Anna%00", "read").await;
    problem(status, &body, 422, "q");
    // So is the dialer's question, where the check runs on every call.
    let (status, body) = app
        .get("/v1/dialer?phone=%2B39333%0A1234567", "decide")
        .await;
    problem(status, &body, 422, "phone");
}

#[tokio::test]
async fn a_nul_in_a_contacts_name_is_refused_naming_the_field_on_sqlite() {
    let app = spawn_app().await;
    a_nul_in_a_name_is_refused_naming_it(&app).await;
}

#[tokio::test]
async fn a_nul_in_a_contacts_name_is_refused_naming_the_field_on_postgresql() {
    let Some(app) = spawn_app_with(true, |_| {}).await else {
        return;
    };
    a_nul_in_a_name_is_refused_naming_it(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn an_address_with_a_misplaced_dot_and_a_number_no_one_can_dial_are_refused() {
    let app = spawn_app().await;
    for email in [
        ".anna@example.it",
        "anna.@example.it",
        "anna..rossi@example.it",
    ] {
        let (status, body) = app
            .post("/v1/contacts", "write", &json!({ "emails": [email] }))
            .await;
        problem(status, &body, 422, "emails[0]");
    }
    for phone in ["+39 333 12", "+39 112", "+280 1234 5678", "+1 202 555 012"] {
        let (status, body) = app
            .post("/v1/contacts", "write", &json!({ "phones": [phone] }))
            .await;
        problem(status, &body, 422, "phones");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("cannot be dialled"),
            "{body}"
        );
    }
    assert_eq!(contact_count(&app).await, 0);
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "emails": ["anna.rossi@example.it"], "phones": ["+39 333 123 4567"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_consent_dated_1899_or_claiming_a_method_consento_produces_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let id = newsletter_and_contact(&app).await;
    let path = format!("/v1/contacts/{id}/consents");
    let (status, body) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "given", "type_code": "newsletter", "event_time": "1899-12-31", "method": "paper" }),
        )
        .await;
    problem(status, &body, 422, "event_time");
    for method in [
        "import",
        "double_opt_in",
        "one_click_unsubscribe",
        "preference_center",
    ] {
        let (status, body) = app
            .post(
                &path,
                "write",
                &json!({ "kind": "given", "type_code": "newsletter", "method": method }),
            )
            .await;
        problem(status, &body, 422, "method");
    }
    let (_, history) = app.get(&format!("{path}/history"), "read").await;
    assert_eq!(history["items"].as_array().unwrap().len(), 0, "{history}");
    // A method the client may state is recorded.
    let (status, body) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "given", "type_code": "newsletter", "method": "paper" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_backdated_consent_that_had_already_expired_is_recorded_with_a_warning() {
    let app = spawn_app().await;
    let id = newsletter_and_contact(&app).await;
    let path = format!("/v1/contacts/{id}/consents");
    let long_ago = Timestamp::from_micros(app.store.now().as_micros() - 60 * DAY).to_rfc3339();
    let (status, body) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "given", "type_code": "newsletter", "event_time": long_ago, "method": "paper" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["warnings"][0]["code"], "already_expired", "{body}");
    assert!(
        body["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("permits nothing")
    );
    let (_, decision) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "contact_id": id }, "action": "email.bulk" }),
        )
        .await;
    assert_eq!(decision["outcome"], "blocked", "{decision}");
    // Given today: nothing to warn of.
    let (status, body) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "renewed", "type_code": "newsletter", "method": "paper" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["warnings"], json!([]), "{body}");
}

async fn codes_differing_only_in_case_and_empty_permissions_are_refused(app: &TestApp) {
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "promo_sms", "title": "SMS", "permits": ["sms.bulk"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "PROMO_SMS", "title": "SMS again", "permits": ["sms.bulk"] }),
        )
        .await;
    problem(status, &body, 409, "code");
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "calls", "title": "Calls", "permits": [] }),
        )
        .await;
    problem(status, &body, 422, "permits");
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "calls", "title": "Calls" }),
        )
        .await;
    problem(status, &body, 422, "permits");
    let (status, body) = app
        .send(
            Method::PATCH,
            "/v1/consent-types/promo_sms",
            "admin",
            &json!({ "permits": [] }),
        )
        .await;
    problem(status, &body, 422, "permits");
    assert_eq!(app.store.consent_types().await.unwrap().len(), 1);
}

#[tokio::test]
async fn type_codes_differing_only_in_case_and_types_permitting_nothing_are_refused() {
    let app = spawn_app().await;
    codes_differing_only_in_case_and_empty_permissions_are_refused(&app).await;
}

#[tokio::test]
async fn type_codes_differing_only_in_case_are_refused_on_postgresql_too() {
    let Some(app) = spawn_app_with(true, |_| {}).await else {
        return;
    };
    codes_differing_only_in_case_and_empty_permissions_are_refused(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_console_refuses_a_code_differing_only_in_case_with_an_italian_message() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let form = |code: &'static str| {
        vec![
            ("title", "Newsletter"),
            ("code", code),
            ("description", ""),
            ("validity_days", "365"),
            ("email.bulk", "on"),
        ]
    };
    assert_eq!(
        admin.post("/setup/types/new", &form("NEWS")).await.status,
        303
    );
    admin
        .post("/language", &[("lang", "it"), ("next", "/")])
        .await;
    let again = admin.post("/setup/types/new", &form("news")).await;
    assert_eq!(again.status, 422);
    assert!(
        again.body.contains(
            "Esiste già una tipologia di consenso con questo codice (maiuscole e minuscole non fanno differenza)."
        ),
        "{}",
        again.body
    );
    // A type that permits nothing is named at the permissions.
    let nothing = admin
        .post(
            "/setup/types/new",
            &[
                ("title", "Profilazione"),
                ("code", "PROFILING"),
                ("validity_days", ""),
            ],
        )
        .await;
    assert_eq!(nothing.status, 422);
    assert!(
        nothing.body.contains(
            "id=\"permissions-error\">Spuntare almeno una delle cose che un consenso valido di questa tipologia permette."
        ),
        "{}",
        nothing.body
    );
    assert_eq!(app.store.consent_types().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_card_warns_instead_of_congratulating_when_a_backdated_consent_had_already_expired() {
    let app = spawn_app().await;
    app.store
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
    let id = app
        .store
        .create_contact(ContactInput {
            emails: vec!["anna@example.it".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap()
        .id;
    let operator = app.console_as("operator").await;
    operator
        .post("/language", &[("lang", "it"), ("next", "/")])
        .await;
    let long_ago = consento_domain::Zone::rome()
        .date_of(Timestamp::from_micros(
            app.store.now().as_micros() - 60 * DAY,
        ))
        .unwrap()
        .to_string();
    let saved = operator
        .post(
            &format!("/contacts/{id}/consents"),
            &[
                ("listed", "NEWS"),
                ("type-NEWS", "1"),
                ("date-NEWS", &long_ago),
                ("method", "paper"),
                ("evidence", "modulo 2026/118"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let location = saved.location.unwrap();
    assert!(location.ends_with("?warn=consents-expired"), "{location}");
    let card = operator.get(&location).await;
    assert!(
        card.body.contains("class=\"notice warning\" role=\"alert\">Consensi registrati, ma almeno uno era già scaduto"),
        "{}",
        card.body
    );
    assert!(!card.body.contains("class=\"notice\" role=\"status\""));
    assert_eq!(
        app.store
            .consent_history(&ContactRef::Id(id))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// `consento import` of a file with a NUL in a name: the line and column named, nothing written.
fn a_csv_import_with_a_nul_names_its_line_and_column(db: &Scratch) {
    db.ok(&[
        "types",
        "add",
        "--code",
        "NEWSLETTER",
        "--title",
        "Newsletter",
        "--bulk-email",
    ]);
    std::fs::write(
        db.dir.join("mapping.toml"),
        "external_id = \"Codice\"\nname = \"Nome\"\nemails = [\"Email\"]\n",
    )
    .unwrap();
    std::fs::write(
        db.dir.join("export.csv"),
        "Codice;Nome;Email\nC1;Anna;anna@example.it\nC2;Bru\0no;bruno@example.it\n",
    )
    .unwrap();
    let (code, stderr) = db.fails(&[
        "import",
        "--source",
        "crm-x",
        "--mapping",
        "mapping.toml",
        "export.csv",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("line 3: Nome:") && lines[0].contains("NUL"),
        "{stderr}"
    );
    assert!(!stderr.contains("database error"), "{stderr}");
    let found = db.json(&["contacts", "search", "anna@example.it"]);
    assert_eq!(found.as_array().unwrap().len(), 0, "{found}");
}

#[test]
fn a_csv_import_with_a_nul_in_a_name_names_the_line_and_column_on_sqlite() {
    a_csv_import_with_a_nul_names_its_line_and_column(&Scratch::new());
}

#[test]
fn a_csv_import_with_a_nul_in_a_name_names_the_line_and_column_on_postgresql() {
    if let Some(db) = Scratch::postgres() {
        a_csv_import_with_a_nul_names_its_line_and_column(&db);
    }
}

#[tokio::test]
async fn the_command_line_prints_stored_control_characters_escaped() {
    let db = Scratch::new();
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "CRM-1",
        "--name",
        "Mario Rossi",
        "--email",
        "mario@example.it",
    ]);
    // A name stored before the rule (or written around Consento): colours, a new window title
    // and a line printed over with a carriage return.
    let path = db.url.trim_start_matches("sqlite:").to_owned();
    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite:{path}"))
        .await
        .unwrap();
    sqlx::query("UPDATE contacts SET name = $1")
        .bind("Mario \u{1b}[31mRossi\u{1b}]0;pwned\u{7}\rX")
        .execute(&mut c)
        .await
        .unwrap();
    drop(c);
    let out = db.ok(&["contacts", "show", "ext:CRM-1"]);
    assert!(
        !out.contains('\u{1b}') && !out.contains('\r') && !out.contains('\u{7}'),
        "{out:?}"
    );
    assert!(
        out.contains(r"Mario \u{1b}[31mRossi\u{1b}]0;pwned\u{7}\rX"),
        "{out}"
    );
    // Command-line input is refused as the API's is, naming the field.
    let (code, stderr) = db.fails(&[
        "contacts",
        "add",
        "--name",
        "Anna\u{1b}[2J",
        "--email",
        "anna@example.it",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("error: name: contains a control character"),
        "{stderr}"
    );
}
