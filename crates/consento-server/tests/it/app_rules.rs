//! The rules the use cases hold for every adapter alike: a consent is never dated before its
//! last change, whether it arrives through the API or the command line (the console's card
//! refuses it at its field, tested with the card).

use serde_json::{Value, json};

use crate::support::{Scratch, spawn_app};

#[tokio::test]
async fn the_api_refuses_a_consent_dated_before_its_last_change_naming_event_time() {
    let app = spawn_app().await;
    let (status, _) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "NEWS", "title": "Newsletter", "validity_days": 365, "permits": ["email.bulk"] }),
        )
        .await;
    assert_eq!(status, 201);
    let (status, contact) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "emails": ["anna@example.it"] }),
        )
        .await;
    assert_eq!(status, 201);
    let id = contact["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/contacts/{id}/consents");
    let (status, _) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "withdrawn", "type_code": "NEWS", "event_time": "2026-03-10", "method": "form" }),
        )
        .await;
    assert_eq!(status, 201);
    // A paper form dated before that withdrawal would leave the state as it is.
    let (status, problem) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "given", "type_code": "NEWS", "event_time": "2026-03-01", "method": "form" }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "event_time");
    let (_, history) = app.get(&format!("{path}/history"), "read").await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(1));
    // The same day or later is accepted.
    let (status, _) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "given", "type_code": "NEWS", "event_time": "2026-03-10", "method": "form" }),
        )
        .await;
    assert_eq!(status, 201);
    app.shutdown().await;
}

#[test]
fn the_command_line_refuses_a_consent_dated_before_its_last_change_in_one_line() {
    let db = Scratch::new();
    db.ok(&["init"]);
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
        "CRM-7",
        "--email",
        "bruno@example.it",
    ]);
    db.ok(&[
        "consents",
        "withdraw",
        "CRM-7",
        "--type",
        "NEWS",
        "--date",
        "2026-03-10",
        "--method",
        "phone",
    ]);
    let (code, stderr) = db.fails(&[
        "consents",
        "give",
        "CRM-7",
        "--type",
        "NEWS",
        "--date",
        "2026-03-01",
        "--method",
        "paper",
    ]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: event_time: a consent cannot be dated before its last change"),
        "{stderr}"
    );
    let history: Value = db.json(&["consents", "history", "CRM-7"]);
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
}
