//! Data-subject requests: the API (and, below, the command line) with the Art. 12(3) deadlines.

use consento_domain::Timestamp;
use serde_json::{Value, json};

use crate::support::{spawn_app, spawn_app_with};

fn at(text: &str) -> Timestamp {
    Timestamp::parse("t", text).unwrap()
}

async fn create(app: &crate::support::TestApp, body: Value) -> Value {
    let (status, r) = app.post("/v1/requests", "write", &body).await;
    assert_eq!(status, 201, "{r}");
    r
}

#[tokio::test]
async fn a_request_logged_through_the_api_is_due_on_the_next_working_day_after_one_month() {
    let app = spawn_app().await;
    app.clock.set(at("2025-05-10T12:00:00Z"));
    let r = create(
        &app,
        json!({"kind": "access", "channel": "letter", "received_at": "2025-05-02"}),
    )
    .await;
    assert_eq!(r["due_on"], "2025-06-03", "2 June is a holiday: {r}");
    assert_eq!(r["status"], "received");
    assert_eq!(r["overdue"], false);
    assert_eq!(r["handled_by"]["kind"], "token");
    let (status, _) = app
        .post(
            "/v1/requests",
            "read",
            &json!({"kind": "access", "channel": "email"}),
        )
        .await;
    assert_eq!(status, 403, "reading is not enough to log a request");
    let (status, p) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "forget-me", "channel": "email"}),
        )
        .await;
    assert_eq!((status, p["field"].as_str()), (422, Some("kind")), "{p}");
    let (status, p) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "access", "channel": "email", "urgent": true}),
        )
        .await;
    assert_eq!((status, p["field"].as_str()), (400, Some("urgent")), "{p}");
    let (status, p) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "access", "channel": "email", "contact_id": uuid::Uuid::nil()}),
        )
        .await;
    assert_eq!(status, 404, "{p}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_request_moves_through_its_statuses_and_its_history_says_who_did_what() {
    let app = spawn_app().await;
    let r = create(
        &app,
        json!({"kind": "erasure", "channel": "email", "description": "Delete me"}),
    )
    .await;
    let path = format!("/v1/requests/{}", r["id"].as_str().unwrap());
    let moves = format!("{path}/transitions");
    let (status, p) = app.post(&moves, "write", &json!({"to": "completed"})).await;
    assert_eq!(
        (status, p["field"].as_str()),
        (422, Some("to")),
        "a received request is not done: {p}"
    );
    for to in ["identity_verification", "in_progress"] {
        let (status, body) = app
            .post(&moves, "write", &json!({"to": to, "note": "ok"}))
            .await;
        assert_eq!((status, body["status"].as_str()), (200, Some(to)), "{body}");
    }
    let (status, p) = app
        .post(
            &moves,
            "write",
            &json!({"to": "rejected", "reason": "Legal hold on invoices"}),
        )
        .await;
    assert_eq!(
        (status, p["field"].as_str()),
        (422, Some("remedies")),
        "{p}"
    );
    let (status, done) = app
        .post(
            &moves,
            "write",
            &json!({"to": "rejected", "reason": "Legal hold on invoices",
            "remedies": "Complaint to the Garante; judicial remedy"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["rejection_reason"], "Legal hold on invoices");
    assert!(done["closed_at"].is_string());
    let (status, detail) = app.get(&path, "read").await;
    assert_eq!(status, 200);
    assert_eq!(
        detail["remedies"],
        "Complaint to the Garante; judicial remedy"
    );
    let history: Vec<_> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from_status"].clone(),
                e["to_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![
            (Value::Null, "received".to_owned()),
            (json!("received"), "identity_verification".to_owned()),
            (json!("identity_verification"), "in_progress".to_owned()),
            (json!("in_progress"), "rejected".to_owned()),
        ]
    );
    assert!(
        detail["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["by"]["kind"] == "token")
    );
    let (status, _) = app.get("/v1/requests/not-a-uuid", "read").await;
    assert_eq!(status, 404);
    app.shutdown().await;
}

#[tokio::test]
async fn an_extension_is_granted_once_within_the_first_month_and_never_after() {
    let app = spawn_app().await;
    app.clock.set(at("2025-01-20T10:00:00Z"));
    let r = create(
        &app,
        json!({"kind": "portability", "channel": "form", "received_at": "2025-01-01"}),
    )
    .await;
    let old = create(
        &app,
        json!({"kind": "access", "channel": "form", "received_at": "2024-12-01"}),
    )
    .await;
    let extend = |r: &Value| format!("/v1/requests/{}/extension", r["id"].as_str().unwrap());
    let (status, p) = app
        .post(&extend(&r), "write", &json!({"reason": "  "}))
        .await;
    assert_eq!((status, p["field"].as_str()), (422, Some("reason")), "{p}");
    let (status, e) = app
        .post(&extend(&r), "write", &json!({"reason": "Many archives"}))
        .await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(
        (
            e["due_on"].as_str(),
            e["extended_due_on"].as_str(),
            e["deadline"].as_str()
        ),
        (Some("2025-02-03"), Some("2025-04-01"), Some("2025-04-01"))
    );
    assert_eq!(e["extension_reason"], "Many archives");
    let (status, _) = app
        .post(&extend(&r), "write", &json!({"reason": "Again"}))
        .await;
    assert_eq!(status, 422, "only one extension");
    let (status, _) = app
        .post(&extend(&old), "write", &json!({"reason": "Late"}))
        .await;
    assert_eq!(status, 422, "past the first month");
    app.shutdown().await;
}

#[tokio::test]
async fn the_list_shows_overdue_and_due_soon_requests_most_urgent_first() {
    let app = spawn_app().await;
    app.clock.set(at("2025-06-01T10:00:00Z"));
    let overdue = create(
        &app,
        json!({"kind": "access", "channel": "email", "received_at": "2025-04-05"}),
    )
    .await;
    let soon = create(
        &app,
        json!({"kind": "erasure", "channel": "email", "received_at": "2025-05-02"}),
    )
    .await;
    let later = create(
        &app,
        json!({"kind": "objection", "channel": "email", "received_at": "2025-05-30"}),
    )
    .await;
    let ids = |list: &Value| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].clone())
            .collect::<Vec<_>>()
    };

    let (status, list) = app.get("/v1/requests?status=open", "read").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        ids(&list),
        vec![
            overdue["id"].clone(),
            soon["id"].clone(),
            later["id"].clone()
        ]
    );
    assert_eq!(list["items"][0]["overdue"], true);
    let (_, late) = app.get("/v1/requests?overdue=true", "read").await;
    assert_eq!(ids(&late), vec![overdue["id"].clone()]);
    let (_, week) = app.get("/v1/requests?due_within_days=7", "read").await;
    assert_eq!(ids(&week), vec![overdue["id"].clone(), soon["id"].clone()]);
    let (_, first) = app.get("/v1/requests?limit=2", "read").await;
    assert_eq!(ids(&first).len(), 2);
    let next = first["next"].as_str().unwrap();
    let (_, rest) = app
        .get(&format!("/v1/requests?limit=2&after={next}"), "read")
        .await;
    assert_eq!(ids(&rest), vec![later["id"].clone()]);
    let (status, p) = app.get("/v1/requests?status=lost", "read").await;
    assert_eq!((status, p["field"].as_str()), (400, Some("status")), "{p}");
    let (status, p) = app.get("/v1/requests?sort=due", "read").await;
    assert_eq!((status, p["field"].as_str()), (400, Some("sort")), "{p}");
    let (status, _) = app.get("/v1/requests", "decide").await;
    assert_eq!(status, 403);
    app.shutdown().await;
}

#[tokio::test]
async fn a_configured_local_holiday_moves_the_deadline() {
    let app = spawn_app_with(false, |c| {
        c.requests.extra_holidays = vec!["2025-06-24".into()]
    })
    .await
    .unwrap();
    app.clock.set(at("2025-05-30T10:00:00Z"));
    let r = create(
        &app,
        json!({"kind": "access", "channel": "email", "received_at": "2025-05-24"}),
    )
    .await;
    assert_eq!(
        r["due_on"], "2025-06-25",
        "the patron saint's day is no working day: {r}"
    );
    app.shutdown().await;
    let bad = consento_server::config::ServeConfig::load(
        None,
        vec![(
            "CONSENTO_REQUESTS__EXTRA_HOLIDAYS".to_owned(),
            "[\"2025-13-01\"]".to_owned(),
        )],
        Default::default(),
    )
    .unwrap_err();
    assert!(bad.contains("requests.extra_holidays"), "{bad}");
}

#[test]
fn the_command_line_logs_lists_moves_extends_and_shows_a_request() {
    let db = crate::support::Scratch::new();
    db.ok(&["init"]);
    let old = db.json(&[
        "--operator",
        "dpo-rossi",
        "requests",
        "create",
        "--kind",
        "access",
        "--channel",
        "letter",
        "--received",
        "2025-05-02",
    ]);
    assert_eq!(old["due_on"], "2025-06-03");
    assert_eq!(old["overdue"], true);
    assert_eq!(
        old["handled_by"],
        json!({"kind": "operator", "id": "dpo-rossi"})
    );
    let fresh = db.json(&[
        "requests",
        "create",
        "--kind",
        "erasure",
        "--channel",
        "email",
        "--description",
        "Delete me",
    ]);
    let id = fresh["id"].as_str().unwrap();

    let overdue = db.json(&["requests", "list", "--overdue"]);
    assert_eq!(overdue.as_array().unwrap().len(), 1);
    assert_eq!(overdue[0]["id"], old["id"]);
    let table = db.ok(&["requests", "list", "--status", "open"]);
    assert!(
        table.contains("OVERDUE") && table.contains("Delete me"),
        "{table}"
    );

    let extended = db.json(&[
        "--operator",
        "dpo1",
        "requests",
        "extend",
        id,
        "--reason",
        "Many archives",
    ]);
    assert!(extended["extended_due_on"].is_string(), "{extended}");
    let (code, err) = db.fails(&[
        "requests",
        "move",
        id,
        "--to",
        "rejected",
        "--reason",
        "Legal hold",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("remedies"), "{err}");
    db.ok(&["requests", "move", id, "--to", "in_progress"]);
    db.ok(&[
        "requests",
        "move",
        id,
        "--to",
        "completed",
        "--note",
        "Erased everywhere",
    ]);
    let shown = db.ok(&["requests", "show", id]);
    assert!(
        shown.contains("Erased everywhere")
            && shown.contains("operator:dpo1")
            && shown.contains("completed"),
        "{shown}"
    );
    let detail = db.json(&["requests", "show", id]);
    assert_eq!(detail["history"].as_array().unwrap().len(), 4, "{detail}");
}

fn id_of(location: &str) -> String {
    location
        .trim_start_matches("/requests/")
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_console_lists_overdue_requests_first_and_flags_those_due_soon_in_both_languages() {
    let app = spawn_app().await;
    app.clock.set(at("2025-06-01T10:00:00Z"));
    let dpo = app.console_as("dpo").await;
    let later = create(&app, json!({"kind": "objection", "channel": "email", "received_at": "2025-05-30", "description": "Later one"})).await;
    let overdue = create(&app, json!({"kind": "access", "channel": "email", "received_at": "2025-04-05", "description": "Late one"})).await;
    let logged = dpo
        .post(
            "/requests",
            &[
                ("kind", "erasure"),
                ("channel", "letter"),
                ("received", "2025-05-05"),
                ("description", "Soon one"),
            ],
        )
        .await;
    assert_eq!(logged.status, 303, "{}", logged.body);
    let soon = id_of(logged.location.as_deref().unwrap());

    let list = dpo.get("/requests").await;
    assert_eq!(list.status, 200);
    let pos = |id: &str| list.body.find(&format!("/requests/{id}")).unwrap();
    assert!(
        pos(overdue["id"].as_str().unwrap()) < pos(&soon),
        "overdue first"
    );
    assert!(pos(&soon) < pos(later["id"].as_str().unwrap()));
    assert!(
        list.body.contains("badge blocked\">Scaduta")
            && list.body.contains("badge needs\">In scadenza"),
        "{}",
        list.body
    );
    assert!(list.body.contains("Cancellazione") && list.body.contains("href=\"/requests\""));
    let english = dpo.get_in("/requests", "en").await;
    assert!(
        english.body.contains("badge blocked\">Overdue")
            && english.body.contains("badge needs\">Due soon")
    );
    let only_late = dpo.get("/requests?show=overdue").await;
    assert!(only_late.body.contains("Late one") && !only_late.body.contains("Soon one"));

    let future = dpo
        .post(
            "/requests",
            &[
                ("kind", "access"),
                ("channel", "phone"),
                ("received", "2099-01-01"),
                ("description", "Typed text"),
            ],
        )
        .await;
    assert_eq!(future.status, 200);
    assert!(
        future
            .body
            .contains("Indicare una data di ricevimento valida")
            && future.body.contains("Typed text")
    );

    let operator = app.console_as("operator").await;
    assert_eq!(operator.get("/requests").await.status, 403);
    assert!(!operator.get("/").await.body.contains("href=\"/requests\""));
    let auditor = app.console_as("auditor").await;
    let read_only = auditor.get("/requests").await;
    assert_eq!(read_only.status, 200);
    assert!(!read_only.body.contains("id=\"new-request\""));
    assert_eq!(
        auditor
            .post("/requests", &[("kind", "access"), ("channel", "email")])
            .await
            .status,
        403
    );
    assert_eq!(
        auditor
            .post(&format!("/requests/{soon}/move"), &[("to", "in_progress")])
            .await
            .status,
        403
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_dpo_verifies_starts_extends_and_refuses_a_request_from_its_page_and_each_step_is_audited()
 {
    let app = spawn_app().await;
    app.clock.set(at("2025-01-10T10:00:00Z"));
    let dpo = app.console_as("dpo").await;
    let logged = dpo
        .post(
            "/requests",
            &[
                ("kind", "portability"),
                ("channel", "form"),
                ("received", "2025-01-01"),
            ],
        )
        .await;
    let location = logged.location.unwrap();
    assert!(location.ends_with("?done=request-created"), "{location}");
    let id = id_of(&location);
    let path = format!("/requests/{id}");
    let page = dpo.get(&location).await;
    assert!(
        page.body.contains("Richiesta registrata.") && page.body.contains("3 febbraio 2025"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"identity_verification\""));

    let moves = format!("{path}/move");
    assert_eq!(
        dpo.post(&moves, &[("to", "identity_verification")])
            .await
            .status,
        303
    );
    assert_eq!(dpo.post(&moves, &[("to", "in_progress")]).await.status, 303);
    let wrong = dpo.post(&moves, &[("to", "received")]).await;
    assert!(
        wrong
            .body
            .contains("La richiesta non può passare a questo stato."),
        "{}",
        wrong.body
    );

    let extension = format!("{path}/extension");
    let blank = dpo.post(&extension, &[("extension_reason", " ")]).await;
    assert_eq!(blank.status, 200);
    assert!(blank.body.contains("Indicare il motivo della proroga."));
    assert_eq!(
        dpo.post(&extension, &[("extension_reason", "Molti archivi")])
            .await
            .status,
        303
    );
    let extended = dpo.get(&path).await;
    assert!(
        extended.body.contains("1º aprile 2025") && extended.body.contains("Molti archivi"),
        "{}",
        extended.body
    );
    assert!(
        !extended.body.contains("id=\"extend\""),
        "one extension only"
    );

    let no_reason = dpo
        .post(
            &moves,
            &[
                ("to", "rejected"),
                ("reason", ""),
                ("remedies", "Reclamo al Garante"),
            ],
        )
        .await;
    assert_eq!(no_reason.status, 200);
    assert!(
        no_reason.body.contains("Indicare il motivo del rifiuto.")
            && no_reason.body.contains("Reclamo al Garante")
    );
    let refused = dpo
        .post(
            &moves,
            &[
                ("to", "rejected"),
                ("reason", "Richiesta infondata"),
                ("remedies", "Reclamo al Garante"),
            ],
        )
        .await;
    assert_eq!(refused.status, 303);
    let closed = dpo.get(&path).await;
    assert!(closed.body.contains("Richiesta infondata") && closed.body.contains("Rifiutata"));
    assert!(!closed.body.contains("id=\"reject\""));

    let trail = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            target: Some(("request".into(), id.clone())),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<_> = trail.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "request.create",
            "request.move",
            "request.move",
            "request.extend",
            "request.move"
        ]
    );
    let (_, api) = app
        .get(&path.replacen("/requests", "/v1/requests", 1), "read")
        .await;
    assert_eq!(api["history"].as_array().unwrap().len(), 5, "{api}");
    assert_eq!(api["history"][1]["by"]["kind"], "operator");
    app.shutdown().await;
}
