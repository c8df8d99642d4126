//! The resource API end to end over HTTP: the seed's scenario through the API alone (settings,
//! consent types, reasons, a notice, contacts, consents with their proof, decisions after a
//! withdrawal, justified contacts, the streamed audience and its counts, the ledger), then each
//! resource's edges: lookups and pages, partial updates, restriction and objection, and problem
//! documents naming the field for every 400, 404, 409 and 422.

use std::collections::BTreeSet;

use consento_domain::{Actor, ActorKind, CollectionMethod, EventKind};
use consento_store::{ConsentEventInput, ContactInput, ContactRef};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, send, spawn_app, spawn_app_with};

const DAY: i64 = 86_400_000_000;

/// POSTs `body` and asserts `201 Created`; returns the body and the `Location`, if any.
async fn create(app: &TestApp, path: &str, scope: &str, body: &Value) -> (Value, Option<String>) {
    let response = app
        .request(Method::POST, path, scope)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "POST {path}: {body}");
    (body, location)
}

async fn patch(app: &TestApp, path: &str, scope: &str, body: &Value) -> (u16, Value) {
    app.send(Method::PATCH, path, scope, body).await
}

/// Asserts a problem document with `status` naming `field`.
fn problem(status: u16, body: &Value, expected: u16, field: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["status"], expected, "{body}");
    assert_eq!(body["field"], field, "{body}");
}

/// `now` shifted by `days` (negative: in the past), as RFC 3339 text.
fn days_from_now(app: &TestApp, days: i64) -> String {
    consento_domain::Timestamp::from_micros(app.store.now().as_micros() + days * DAY).to_rfc3339()
}

async fn decide(app: &TestApp, contact_id: &str, action: &str) -> Value {
    let (status, body) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "contact_id": contact_id }, "action": action }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// GETs a streamed audience; returns its content type, its `Consento-Audience-At` and its body.
async fn audience(app: &TestApp, query: &str) -> (String, String, String) {
    let response = app
        .request(Method::GET, &format!("/v1/audience?{query}"), "read")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let at = response.headers()["consento-audience-at"]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, at, response.text().await.unwrap())
}

/// The seed's configuration through the API: the switches, a newsletter type (bulk and single
/// email, one year) and a calls type (six months), three reasons (one retired, one marketing),
/// a notice. Returns the reasons' ids: (callback, promotion, retired).
async fn configure(app: &TestApp) -> (String, String, String) {
    let all_on = json!({ "check_email_single": true, "check_email_bulk": true, "check_phone": true, "check_sms": true });
    let (status, body) = app
        .send(Method::PUT, "/v1/settings", "admin", &all_on)
        .await;
    assert_eq!((status, &body), (200, &all_on));
    assert_eq!(app.get("/v1/settings", "read").await, (200, all_on));

    let (news, location) = create(
        app,
        "/v1/consent-types",
        "admin",
        &json!({ "code": "newsletter", "title": "Newsletter", "validity_days": 365,
                 "permits": ["email.bulk", "email.single"], "show_in_preference_center": true }),
    )
    .await;
    assert_eq!(location.as_deref(), Some("/v1/consent-types/newsletter"));
    assert_eq!(news["permits"], json!(["email.single", "email.bulk"]));
    let (status, fetched) = app.get("/v1/consent-types/newsletter", "read").await;
    assert_eq!((status, &fetched), (200, &news));
    create(
        app,
        "/v1/consent-types",
        "admin",
        &json!({ "code": "calls", "title": "Telephone offers", "validity_days": 180, "permits": ["phone.call"] }),
    )
    .await;
    let (status, list) = app.get("/v1/consent-types", "read").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let (callback, location) = create(
        app,
        "/v1/reasons",
        "admin",
        &json!({ "label": "Customer asked to be called back", "marketing": false }),
    )
    .await;
    let callback_id = callback["id"].as_str().unwrap().to_owned();
    assert_eq!(location, Some(format!("/v1/reasons/{callback_id}")));
    assert_eq!(
        app.get(&format!("/v1/reasons/{callback_id}"), "read").await,
        (200, callback)
    );
    let (promo, _) = create(
        app,
        "/v1/reasons",
        "admin",
        &json!({ "label": "Spring promotion", "marketing": true }),
    )
    .await;
    let (retired, _) = create(
        app,
        "/v1/reasons",
        "admin",
        &json!({ "label": "Old campaign", "marketing": false }),
    )
    .await;
    let retired_id = retired["id"].as_str().unwrap().to_owned();
    let (status, body) = patch(
        app,
        &format!("/v1/reasons/{retired_id}"),
        "admin",
        &json!({ "active": false }),
    )
    .await;
    assert_eq!((status, &body["active"]), (200, &json!(false)), "{body}");
    let (_, reasons) = app.get("/v1/reasons", "read").await;
    let labels: Vec<&str> = reasons["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "Customer asked to be called back",
            "Spring promotion",
            "Old campaign"
        ],
        "active first"
    );

    let (notice, location) = create(
        app,
        "/v1/notices",
        "admin",
        &json!({ "version": "2025-03 it", "language": "it", "url": "https://example.it/privacy" }),
    )
    .await;
    assert_eq!(location.as_deref(), Some("/v1/notices/2025-03%20it"));
    assert_eq!(notice["content_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        app.get("/v1/notices/2025-03%20it", "read").await,
        (200, notice)
    );
    let (_, notices) = app.get("/v1/notices", "read").await;
    assert_eq!(notices["items"].as_array().unwrap().len(), 1);
    (
        callback_id,
        promo["id"].as_str().unwrap().to_owned(),
        retired_id,
    )
}

/// Creates a contact as `write`; returns its id.
async fn contact(app: &TestApp, body: Value) -> String {
    let (c, location) = create(app, "/v1/contacts", "write", &body).await;
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(location, Some(format!("/v1/contacts/{id}")));
    id
}

async fn consent(app: &TestApp, contact_id: &str, body: Value) -> Value {
    create(
        app,
        &format!("/v1/contacts/{contact_id}/consents"),
        "write",
        &body,
    )
    .await
    .0
}

#[tokio::test]
async fn the_seed_scenario_runs_through_the_api_alone() {
    seed_scenario(spawn_app().await, "sqlite").await;
}

#[tokio::test]
async fn the_seed_scenario_runs_through_the_api_alone_on_postgresql_too() {
    // Runs when CONSENTO_TEST_POSTGRES_URL names a server (as `.ci/run` sets it).
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        seed_scenario(app, "postgres").await;
    }
}

async fn seed_scenario(app: TestApp, backend: &str) {
    assert_eq!(app.db.backend(), backend);
    let (callback, promotion, retired) = configure(&app).await;

    // Contacts: Anna consents on paper a month ago; Bruno consents and withdraws; Carla refuses;
    // Dario objects to marketing; Elena has no consent; Fabio consents but restricts processing.
    let anna = contact(
        &app,
        json!({ "external_id": "crm-1", "name": "Rossi, Anna \"Annie\"", "emails": ["Anna.Rossi@Example.it"],
                "phones": ["+39 347 123 4567"], "legal_basis": "a", "purposes": ["newsletter"],
                "source": "trade fair 2025", "attributes": { "segment": "retail" } }),
    )
    .await;
    let bruno = contact(
        &app,
        json!({ "external_id": "crm-2", "name": "Bruno Bianchi", "emails": ["bruno@example.it"] }),
    )
    .await;
    let carla = contact(
        &app,
        json!({ "external_id": "crm-3", "emails": ["carla@example.it"] }),
    )
    .await;
    let dario = contact(
        &app,
        json!({ "external_id": "crm-4", "emails": ["dario@example.it"], "phones": ["0039 348 765 4321"] }),
    )
    .await;
    let elena = contact(
        &app,
        json!({ "external_id": "crm-5", "emails": ["elena@example.it"] }),
    )
    .await;
    let fabio = contact(
        &app,
        json!({ "external_id": "crm-6", "emails": ["fabio@example.it"] }),
    )
    .await;
    let (status, card) = app.get(&format!("/v1/contacts/{anna}"), "read").await;
    assert_eq!(status, 200);
    assert_eq!(card["emails"], json!(["anna.rossi@example.it"]));
    assert_eq!(card["phones"], json!(["+393471234567"]));
    assert_eq!(card["legal_basis"], "consent");
    assert_eq!(card["attributes"]["segment"], "retail");

    // A backdated consent on paper, citing the notice, with evidence.
    let given_at = days_from_now(&app, -30);
    let event = consent(
        &app,
        &anna,
        json!({ "kind": "given", "type_code": "newsletter", "event_time": given_at, "method": "paper",
                "notice_version": "2025-03 it", "evidence": "paper form 2025/118" }),
    )
    .await;
    assert_eq!(event["kind"], "given");
    assert_eq!(event["event_time"], given_at.as_str());
    assert_eq!(event["expires_at"], days_from_now(&app, 335).as_str());
    assert_eq!(event["hash"].as_str().unwrap().len(), 64);
    // Never in the future: 422 naming the field, and nothing recorded.
    let (status, body) = app
        .post(
            &format!("/v1/contacts/{anna}/consents"),
            "write",
            &json!({ "kind": "withdrawn", "type_code": "newsletter", "event_time": days_from_now(&app, 1), "method": "form" }),
        )
        .await;
    problem(status, &body, 422, "event_time");

    // The decision follows the ledger at once, before and after a withdrawal.
    consent(
        &app,
        &bruno,
        json!({ "kind": "given", "type_code": "newsletter", "method": "form" }),
    )
    .await;
    let d = decide(&app, &bruno, "email.bulk").await;
    assert_eq!(
        (d["outcome"].as_str(), d["rule"].as_str()),
        (Some("allowed"), Some("consent"))
    );
    consent(
        &app,
        &bruno,
        json!({ "kind": "withdrawn", "type_code": "newsletter", "method": "email" }),
    )
    .await;
    let d = decide(&app, &bruno, "email.bulk").await;
    assert_eq!(
        (d["outcome"].as_str(), d["rule"].as_str()),
        (Some("blocked"), Some("withdrawn"))
    );
    consent(
        &app,
        &carla,
        json!({ "kind": "refused", "type_code": "newsletter", "method": "form" }),
    )
    .await;
    consent(
        &app,
        &fabio,
        json!({ "kind": "given", "type_code": "newsletter", "method": "form" }),
    )
    .await;
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/v1/contacts/{fabio}/restriction"),
            "write",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["restricted_at"].is_string());
    let d = decide(&app, &fabio, "email.single").await;
    assert_eq!(
        (d["outcome"].as_str(), d["rule"].as_str()),
        (Some("blocked"), Some("restricted"))
    );
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/v1/contacts/{dario}/objection"),
            "write",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["objected_at"].is_string());

    // Justified contacts: a retired reason and a marketing reason under an objection are
    // refused naming `reason_id`; a good one is recorded with the token and the CRM user.
    let justify = |reason: &str, contact_id: &str, action: &str| {
        json!({ "contact": { "contact_id": contact_id }, "action": action, "reason_id": reason,
                "note": "called back about order 1182", "operator": "m.bianchi" })
    };
    let (status, body) = app
        .post(
            "/v1/interactions",
            "decide",
            &justify(&retired, &elena, "phone.call"),
        )
        .await;
    problem(status, &body, 422, "reason_id");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no longer active"),
        "{body}"
    );
    let (status, body) = app
        .post(
            "/v1/interactions",
            "decide",
            &justify(&promotion, &dario, "phone.call"),
        )
        .await;
    problem(status, &body, 422, "reason_id");
    assert!(
        body["detail"].as_str().unwrap().contains("Art. 21(3)"),
        "{body}"
    );
    let (status, body) = app
        .post(
            "/v1/interactions",
            "decide",
            &justify(&callback, &dario, "phone.call"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["recorded"], true);
    assert_eq!(body["decision"]["outcome"], "needs_justification");
    assert_eq!(body["interaction"]["cause"], "objected");
    // Anna's newsletter consent permits single emails: nothing to justify.
    let (status, body) = app
        .post(
            "/v1/interactions",
            "decide",
            &justify(&callback, &anna, "email.single"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["recorded"].as_bool(),
            body["decision"]["outcome"].as_str()
        ),
        (Some(false), Some("allowed"))
    );
    assert!(body.get("interaction").is_none());
    // A bulk send is never justified.
    let (status, body) = app
        .post(
            "/v1/interactions",
            "decide",
            &justify(&callback, &elena, "email.bulk"),
        )
        .await;
    problem(status, &body, 422, "action");
    let decide_token = app
        .store
        .token_by_digest(&consento_store::token_digest(app.token("decide")))
        .await
        .unwrap()
        .unwrap();
    let (status, listed) = app
        .get(&format!("/v1/contacts/{dario}/interactions"), "read")
        .await;
    assert_eq!(status, 200);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["reason_id"], callback.as_str());
    assert_eq!(items[0]["reason_label"], "Customer asked to be called back");
    assert_eq!(items[0]["note"], "called back about order 1182");
    assert_eq!(items[0]["action"], "phone.call");
    assert_eq!(
        items[0]["operator"],
        format!("token:{};operator:m.bianchi", decide_token.id)
    );
    assert_eq!(
        app.get(&format!("/v1/contacts/{elena}/interactions"), "read")
            .await
            .1["items"],
        json!([])
    );

    // The history carries the proof: method, actor (the writing token), notice, evidence.
    let write_token = app
        .store
        .token_by_digest(&consento_store::token_digest(app.token("write")))
        .await
        .unwrap()
        .unwrap();
    let (status, history) = app
        .get(&format!("/v1/contacts/{anna}/consents/history"), "read")
        .await;
    assert_eq!(status, 200);
    let events = history["items"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "the refused future withdrawal left no trace: {history}"
    );
    let e = &events[0];
    assert_eq!(e["kind"], "given");
    assert_eq!(e["method"], "paper");
    assert_eq!(
        e["actor"],
        json!({ "kind": "token", "id": write_token.id.to_string() })
    );
    assert_eq!(e["notice_version"], "2025-03 it");
    assert_eq!(e["evidence"], "paper form 2025/118");
    assert_eq!(e["validity_days"], 365);
    assert_eq!(e["hash"], event["hash"]);
    let (_, history) = app
        .get(&format!("/v1/contacts/{bruno}/consents/history"), "read")
        .await;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["given", "withdrawn"]);
    assert_eq!(
        history["items"][0]["method"], "form",
        "the method the client named"
    );

    // The card: one line per type.
    let (status, card) = app
        .get(&format!("/v1/contacts/{anna}/consents"), "read")
        .await;
    assert_eq!(status, 200);
    let lines = card["items"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    let news = lines
        .iter()
        .find(|l| l["type_code"] == "newsletter")
        .unwrap();
    assert_eq!(
        (news["state"].as_str(), news["valid"].as_bool()),
        (Some("given"), Some(true))
    );
    let calls = lines.iter().find(|l| l["type_code"] == "calls").unwrap();
    assert_eq!(
        (calls["state"].as_str(), calls["valid"].as_bool()),
        (Some("none"), Some(false))
    );

    // The audience: exactly Anna, in CSV (RFC 4180: CRLF, header, quoting) and NDJSON, and the
    // counts name every excluded cause.
    let (content_type, at, csv) = audience(&app, "type=newsletter").await;
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    assert_eq!(
        csv,
        format!(
            "contact_id,external_id,email,name\r\n{anna},crm-1,anna.rossi@example.it,\"Rossi, Anna \"\"Annie\"\"\"\r\n"
        )
    );
    let (content_type, _, ndjson) = audience(&app, "type=any&format=ndjson").await;
    assert_eq!(content_type, "application/x-ndjson");
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![
            json!({ "contact_id": anna, "external_id": "crm-1", "email": "anna.rossi@example.it", "name": "Rossi, Anna \"Annie\"" })
        ]
    );
    let (status, counts) = app
        .get(
            &format!(
                "/v1/audience/counts?type=newsletter&at={}",
                at.replace('+', "%2B")
            ),
            "read",
        )
        .await;
    assert_eq!(status, 200, "{counts}");
    assert_eq!(counts["eligible"], 1);
    assert_eq!(counts["at"], at.as_str());
    assert_eq!(
        counts["excluded"],
        json!({ "withdrawn": 1, "refused": 1, "objected": 1, "no_consent": 1, "restricted": 1 })
    );
    assert_eq!(counts["excluded_total"], 5);

    // The ledger verifies: five events.
    let (status, report) = app.get("/v1/ledger/verify", "read").await;
    assert_eq!(status, 200);
    assert_eq!(
        (report["verified"].as_bool(), report["events"].as_i64()),
        (Some(true), Some(5)),
        "{report}"
    );
    assert!(report.get("broken_at").is_none());

    // A year on, Anna's consent has expired: the card says so and the audience is empty.
    app.clock.advance(340 * DAY);
    let (_, card) = app
        .get(&format!("/v1/contacts/{anna}/consents"), "read")
        .await;
    let news = card["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["type_code"] == "newsletter")
        .unwrap()
        .clone();
    assert_eq!(
        (news["state"].as_str(), news["valid"].as_bool()),
        (Some("expired"), Some(false))
    );
    let (_, _, csv) = audience(&app, "type=newsletter").await;
    assert_eq!(csv, "contact_id,external_id,email,name\r\n");
    let (_, counts) = app.get("/v1/audience/counts?type=newsletter", "read").await;
    assert_eq!(
        (
            counts["eligible"].as_i64(),
            counts["excluded"]["expired"].as_i64()
        ),
        (Some(0), Some(1))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn contacts_are_found_by_any_identifier_and_listed_and_searched_page_by_page() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            contact(
                &app,
                json!({ "external_id": format!("crm-{i}"), "name": format!("Giulia Verdi {i}"),
                        "emails": [format!("giulia{i}@example.it")], "phones": [format!("+39 333 000 000{i}")] }),
            )
            .await,
        );
        app.clock.advance(1_000);
    }
    let other = contact(&app, json!({ "name": "Marco Neri" })).await;
    for query in [
        "external_id=crm-3",
        "email=GIULIA3%40Example.IT",
        "phone=0039%20333-0000003",
        "phone=333%20000%200003",
    ] {
        let (status, page) = app.get(&format!("/v1/contacts?{query}"), "read").await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            1,
            "{query}: {page}"
        );
        assert_eq!(page["items"][0]["id"], ids[3].as_str());
        assert_eq!(page["items"][0]["email"], "giulia3@example.it");
        assert_eq!(page["next_cursor"], Value::Null);
    }
    let (status, page) = app
        .get("/v1/contacts?email=nobody%40example.it", "read")
        .await;
    assert_eq!((status, page["items"].as_array().unwrap().len()), (200, 0));
    let (status, body) = app.get("/v1/contacts?email=not-an-address", "read").await;
    problem(status, &body, 422, "email");

    // Every contact, two per page, then a search, three per page: each once, in creation order.
    let mut all = ids.clone();
    all.push(other);
    for (query, expected) in [("limit=2", &all), ("q=giulia%20VERDI&limit=3", &ids)] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/contacts?{query}&cursor={c}"),
                None => format!("/v1/contacts?{query}"),
            };
            let (status, page) = app.get(&path, "read").await;
            assert_eq!(status, 200, "{path}: {page}");
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(&seen, expected, "{query}");
    }

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=many", "limit"),
        ("cursor=xyz", "cursor"),
        ("colour=red", "colour"),
        ("email=a%40b.it&phone=3331234567", "query"),
    ] {
        let (status, body) = app.get(&format!("/v1/contacts?{query}"), "read").await;
        problem(status, &body, 400, field);
    }
}

#[tokio::test]
async fn a_contact_changes_field_by_field_and_duplicates_are_conflicts_naming_the_field() {
    let app = spawn_app().await;
    let anna = contact(
        &app,
        json!({ "external_id": "crm-1", "name": "Anna", "emails": ["anna@example.it"], "source": "web", "legal_basis": "contract", "purposes": ["support"] }),
    )
    .await;
    contact(&app, json!({ "external_id": "crm-2", "emails": ["bruno@example.it"], "phones": ["+39 348 111 2222"] })).await;

    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "emails": ["ANNA@example.it"] }),
        )
        .await;
    problem(status, &body, 409, "emails");
    let (status, body) = app
        .post("/v1/contacts", "write", &json!({ "external_id": "crm-1" }))
        .await;
    problem(status, &body, 409, "external_id");
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "emails": ["ok@example.it", "broken"] }),
        )
        .await;
    problem(status, &body, 422, "emails[1]");
    let (status, body) = app
        .post("/v1/contacts", "write", &json!({ "phones": ["call me"] }))
        .await;
    problem(status, &body, 422, "phones");
    let (status, body) = app
        .post("/v1/contacts", "write", &json!({ "legal_basis": "g" }))
        .await;
    problem(status, &body, 422, "legal_basis");
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "emails": "anna@example.it" }),
        )
        .await;
    problem(status, &body, 400, "emails");

    // Absent stays, null clears, a list replaces.
    let (status, c) = patch(
        &app,
        &format!("/v1/contacts/{anna}"),
        "write",
        &json!({ "name": "Anna Maria", "source": null, "phones": ["+39 347 000 1111"], "purposes": null }),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["name"], "Anna Maria");
    assert_eq!(c["source"], Value::Null);
    assert_eq!(c["phones"], json!(["+393470001111"]));
    assert_eq!(c["emails"], json!(["anna@example.it"]));
    assert_eq!(c["legal_basis"], "contract");
    assert_eq!(c["external_id"], "crm-1");
    assert_eq!(c["purposes"], json!([]));
    let (status, body) = patch(
        &app,
        &format!("/v1/contacts/{anna}"),
        "write",
        &json!({ "phones": ["348 111 2222"] }),
    )
    .await;
    problem(status, &body, 409, "phones");
    assert_eq!(
        app.get(&format!("/v1/contacts/{anna}"), "read").await.1,
        c,
        "nothing changed"
    );

    // Restriction and objection: set, idempotent, lifted.
    for flag in ["restriction", "objection"] {
        let field = if flag == "restriction" {
            "restricted_at"
        } else {
            "objected_at"
        };
        let path = format!("/v1/contacts/{anna}/{flag}");
        let (status, first) = app.send(Method::PUT, &path, "write", &json!({})).await;
        assert_eq!(status, 200, "{first}");
        app.clock.advance(DAY);
        let (_, again) = app.send(Method::PUT, &path, "write", &json!({})).await;
        assert_eq!(first[field], again[field], "the original date is kept");
        let (status, lifted) = app.send(Method::DELETE, &path, "write", &json!({})).await;
        assert_eq!((status, &lifted[field]), (200, &Value::Null));
    }

    let missing = "0190a0a0-0000-7000-8000-000000000000";
    for (method, path) in [
        (Method::GET, format!("/v1/contacts/{missing}")),
        (Method::GET, "/v1/contacts/not-a-uuid".to_owned()),
        (Method::PATCH, format!("/v1/contacts/{missing}")),
        (Method::PUT, format!("/v1/contacts/{missing}/restriction")),
        (Method::DELETE, format!("/v1/contacts/{missing}/objection")),
        (Method::GET, format!("/v1/contacts/{missing}/consents")),
        (
            Method::GET,
            format!("/v1/contacts/{missing}/consents/history"),
        ),
        (Method::GET, format!("/v1/contacts/{missing}/interactions")),
    ] {
        let (status, body) = app.send(method.clone(), &path, "write", &json!({})).await;
        assert_eq!(
            (status, body["status"].as_u64()),
            (404, Some(404)),
            "{method} {path}: {body}"
        );
        assert_eq!(body["type"], "/problems/not-found");
    }
}

#[tokio::test]
async fn a_consent_type_has_one_purpose_third_parties_name_their_categories_and_a_used_purpose_stays()
 {
    let app = spawn_app().await;
    configure(&app).await;
    let (status, t) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "partners", "title": "Partner", "permits": ["phone.call"],
                     "purpose": "third_party", "categories": ["Energy", "telephony"] }),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(
        (&t["purpose"], &t["categories"]),
        (&json!("third_party"), &json!(["energy", "telephony"]))
    );
    // Without a purpose: marketing.
    let (_, news) = app.get("/v1/consent-types/newsletter", "read").await;
    assert_eq!(
        (&news["purpose"], &news["categories"]),
        (&json!("marketing"), &json!([]))
    );
    for (body, status, field) in [
        // An omnibus disclosure: to anyone, for anything.
        (
            json!({ "code": "omni", "title": "X", "permits": ["phone.call"], "purpose": "third_party" }),
            422,
            "categories",
        ),
        (
            json!({ "code": "svc", "title": "X", "permits": ["phone.call"], "purpose": "service", "categories": ["energy"] }),
            422,
            "categories",
        ),
        (
            json!({ "code": "spam", "title": "X", "permits": ["phone.call"], "purpose": "everything" }),
            422,
            "purpose",
        ),
    ] {
        let (s, b) = app.post("/v1/consent-types", "admin", &body).await;
        problem(s, &b, status, field);
    }
    // Unused: the purpose may be corrected.
    let (status, t) = patch(
        &app,
        "/v1/consent-types/partners",
        "admin",
        &json!({ "categories": ["energy"] }),
    )
    .await;
    assert_eq!((status, &t["categories"]), (200, &json!(["energy"])), "{t}");
    let anna = contact(
        &app,
        json!({ "emails": ["anna@example.it"], "phones": ["+393331234567"] }),
    )
    .await;
    consent(
        &app,
        &anna,
        json!({ "kind": "given", "type_code": "partners", "method": "form" }),
    )
    .await;
    // Used: the consents were given for it.
    let (status, body) = patch(
        &app,
        "/v1/consent-types/partners",
        "admin",
        &json!({ "purpose": "marketing" }),
    )
    .await;
    problem(status, &body, 409, "purpose");
    let (status, body) = patch(
        &app,
        "/v1/consent-types/partners",
        "admin",
        &json!({ "categories": ["energy", "insurance"] }),
    )
    .await;
    problem(status, &body, 409, "purpose");
    let (status, _) = patch(
        &app,
        "/v1/consent-types/partners",
        "admin",
        &json!({ "title": "Partner: energia" }),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn consent_types_keep_their_code_once_used_and_consent_writes_name_the_field_at_fault() {
    let app = spawn_app().await;
    configure(&app).await;
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "newsletter", "title": "Again", "permits": ["email.bulk"] }),
        )
        .await;
    problem(status, &body, 409, "code");
    for (body, status, field) in [
        (json!({ "code": "news letter", "title": "X" }), 422, "code"),
        (json!({ "code": "x", "title": "" }), 422, "title"),
        (
            json!({ "code": "x", "title": "X", "validity_days": 0 }),
            422,
            "validity_days",
        ),
        (
            json!({ "code": "x", "title": "X", "validity_days": -1 }),
            400,
            "validity_days",
        ),
        (
            json!({ "code": "x", "title": "X", "permits": ["email.bulk", "fax"] }),
            400,
            "permits[1]",
        ),
        (json!({ "title": "X" }), 400, "code"),
    ] {
        let (s, b) = app.post("/v1/consent-types", "admin", &body).await;
        problem(s, &b, status, field);
    }

    // Unused: the code may be corrected; null validity = never expires.
    let (status, t) = patch(
        &app,
        "/v1/consent-types/calls",
        "admin",
        &json!({ "code": "phone-offers", "validity_days": null, "description": "Calls about offers" }),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        (t["code"].as_str(), t["validity_days"].as_u64()),
        (Some("phone-offers"), None)
    );
    assert_eq!(t["permits"], json!(["phone.call"]), "absent fields stay");
    assert_eq!(app.get("/v1/consent-types/calls", "read").await.0, 404);

    let anna = contact(&app, json!({ "emails": ["anna@example.it"] })).await;
    consent(
        &app,
        &anna,
        json!({ "kind": "given", "type_code": "newsletter", "method": "form" }),
    )
    .await;
    let (status, body) = patch(
        &app,
        "/v1/consent-types/newsletter",
        "admin",
        &json!({ "code": "nl" }),
    )
    .await;
    problem(status, &body, 409, "code");
    // Other fields still change; the consent already given keeps its validity.
    let (status, t) = patch(
        &app,
        "/v1/consent-types/newsletter",
        "admin",
        &json!({ "validity_days": 30 }),
    )
    .await;
    assert_eq!(
        (status, t["validity_days"].as_u64()),
        (200, Some(30)),
        "{t}"
    );
    let (_, history) = app
        .get(&format!("/v1/contacts/{anna}/consents/history"), "read")
        .await;
    assert_eq!(history["items"][0]["validity_days"], 365);
    let (status, body) = patch(
        &app,
        "/v1/consent-types/nothing",
        "admin",
        &json!({ "title": "X" }),
    )
    .await;
    assert_eq!(status, 404, "{body}");

    let path = format!("/v1/contacts/{anna}/consents");
    for (body, status, field) in [
        (
            json!({ "kind": "given", "type_code": "unknown", "method": "form" }),
            422,
            "type_code",
        ),
        (
            json!({ "kind": "given", "type_code": "bad code", "method": "form" }),
            422,
            "type_code",
        ),
        (
            json!({ "kind": "given", "type_code": "newsletter", "notice_version": "1999", "method": "form" }),
            422,
            "notice_version",
        ),
        (
            json!({ "kind": "loved", "type_code": "newsletter", "method": "form" }),
            400,
            "kind",
        ),
        (
            json!({ "kind": "given", "type_code": "newsletter", "method": "pigeon" }),
            400,
            "method",
        ),
        // No default method: the proof names how the person gave consent, or nothing is written.
        (
            json!({ "kind": "given", "type_code": "newsletter" }),
            400,
            "method",
        ),
        (
            json!({ "kind": "given", "type_code": "newsletter", "event_time": "yesterday", "method": "form" }),
            400,
            "event_time",
        ),
        (
            json!({ "kind": "given", "type_code": "newsletter", "evidence": "x".repeat(16_385), "method": "form" }),
            422,
            "evidence",
        ),
    ] {
        let (s, b) = app.post(&path, "write", &body).await;
        problem(s, &b, status, field);
    }
    let (_, history) = app
        .get(&format!("/v1/contacts/{anna}/consents/history"), "read")
        .await;
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        1,
        "nothing refused was recorded"
    );

    // Reasons and notices: duplicates and bad values name their field.
    let (status, body) = app
        .post(
            "/v1/reasons",
            "admin",
            &json!({ "label": "Spring promotion", "marketing": false }),
        )
        .await;
    problem(status, &body, 409, "label");
    let (status, body) = app
        .post(
            "/v1/reasons",
            "admin",
            &json!({ "label": " ", "marketing": false }),
        )
        .await;
    problem(status, &body, 422, "label");
    let (status, body) = patch(
        &app,
        "/v1/reasons/0190a0a0-0000-7000-8000-000000000000",
        "admin",
        &json!({ "active": true }),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app
        .post(
            "/v1/notices",
            "admin",
            &json!({ "version": "2025-03 it", "language": "it", "body": "Testo" }),
        )
        .await;
    problem(status, &body, 409, "version");
    let (status, body) = app
        .post(
            "/v1/notices",
            "admin",
            &json!({ "version": "2026", "language": "it" }),
        )
        .await;
    problem(status, &body, 422, "body");
    assert_eq!(app.get("/v1/notices/2030", "read").await.0, 404);
}

#[tokio::test]
async fn every_write_refuses_unknown_fields_and_every_query_unknown_parameters() {
    let app = spawn_app().await;
    let (callback, _, _) = configure(&app).await;
    let anna = contact(&app, json!({ "emails": ["anna@example.it"] })).await;
    let writes = [
        (Method::PUT, "/v1/settings".to_owned(), "admin"),
        (Method::POST, "/v1/consent-types".to_owned(), "admin"),
        (
            Method::PATCH,
            "/v1/consent-types/newsletter".to_owned(),
            "admin",
        ),
        (Method::POST, "/v1/reasons".to_owned(), "admin"),
        (Method::PATCH, format!("/v1/reasons/{callback}"), "admin"),
        (Method::POST, "/v1/notices".to_owned(), "admin"),
        (Method::POST, "/v1/contacts".to_owned(), "write"),
        (Method::PATCH, format!("/v1/contacts/{anna}"), "write"),
        (
            Method::POST,
            format!("/v1/contacts/{anna}/consents"),
            "write",
        ),
        (Method::POST, "/v1/interactions".to_owned(), "decide"),
    ];
    for (method, path, scope) in writes {
        let (status, body) = app
            .send(method.clone(), &path, scope, &json!({ "colour": "red" }))
            .await;
        assert_eq!(status, 400, "{method} {path}: {body}");
        assert_eq!(body["field"], "colour", "{method} {path}: {body}");
    }
    for path in [
        "/v1/contacts?colour=red",
        "/v1/audience?type=any&colour=red",
        "/v1/audience/counts?type=any&colour=red",
    ] {
        let (status, body) = app.get(path, "read").await;
        problem(status, &body, 400, "colour");
    }
    let (status, body) = app
        .post(
            "/v1/interactions",
            "decide",
            &json!({ "contact": { "contact_id": anna }, "action": "phone.call", "reason_id": callback, "operator": "Mario Rossi" }),
        )
        .await;
    problem(status, &body, 422, "operator");
    let (status, body) = app
        .post(
            "/v1/interactions",
            "decide",
            &json!({ "contact": { "contact_id": anna }, "action": "phone.call", "reason_id": "0190a0a0-0000-7000-8000-000000000000" }),
        )
        .await;
    problem(status, &body, 422, "reason_id");
    let (status, body) = app
        .post(
            "/v1/interactions",
            "decide",
            &json!({ "contact": { "email": "nobody@example.it" }, "action": "phone.call", "reason_id": callback }),
        )
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn the_audience_refuses_what_it_cannot_compute_and_follows_the_newsletter_switch() {
    let app = spawn_app().await;
    configure(&app).await;
    for (query, status, field) in [
        ("", 400, "type"),
        ("type=", 400, "type"),
        ("type=calls", 422, "type"),
        ("type=unknown", 422, "type"),
        ("type=any&format=xml", 400, "format"),
        ("type=any&at=tomorrow", 400, "at"),
        ("type=any&at=2020-01-01", 422, "at"),
    ] {
        let (s, b) = app.get(&format!("/v1/audience?{query}"), "read").await;
        problem(s, &b, status, field);
        if !query.contains("format") {
            let (s, b) = app
                .get(&format!("/v1/audience/counts?{query}"), "read")
                .await;
            problem(s, &b, status, field);
        }
    }
    // A streamed list of many recipients (loaded through the store, for speed) arrives whole,
    // in several chunks.
    let mut expected = BTreeSet::new();
    for i in 0..1_200 {
        let email = format!("p{i}@example.it");
        let c = app
            .store
            .create_contact(ContactInput {
                emails: vec![email.clone()],
                ..ContactInput::default()
            })
            .await
            .unwrap();
        if i % 3 != 0 {
            app.store
                .record_consent(ConsentEventInput {
                    contact: ContactRef::Id(c.id),
                    type_code: "newsletter".into(),
                    kind: EventKind::Given,
                    event_time: None,
                    method: CollectionMethod::Import,
                    actor: Actor::new(ActorKind::System, "").unwrap(),
                    notice_version: None,
                    evidence: None,
                })
                .await
                .unwrap();
            expected.insert(email);
        }
    }
    let (_, _, csv) = audience(&app, "type=newsletter").await;
    let got: BTreeSet<String> = csv
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').nth(2).unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
    let (_, counts) = app.get("/v1/audience/counts?type=any", "read").await;
    assert_eq!(counts["eligible"], 800);
    assert_eq!(counts["excluded"], json!({ "no_consent": 400 }));
    // With the newsletter check off, everyone with an address and no block is reached.
    app.send(
        Method::PUT,
        "/v1/settings",
        "admin",
        &json!({ "check_email_single": true, "check_email_bulk": false, "check_phone": true, "check_sms": true }),
    )
    .await;
    let (_, _, ndjson) = audience(&app, "type=any&format=ndjson").await;
    assert_eq!(ndjson.lines().count(), 1_200);
    // The response is not cacheable: it holds personal data.
    let response = app
        .request(Method::GET, "/v1/audience?type=any", "read")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn a_consent_write_retried_with_its_idempotency_key_is_recorded_once() {
    let app = spawn_app().await;
    configure(&app).await;
    let id = contact(&app, json!({ "emails": ["retry@example.it"] })).await;
    let path = format!("/v1/contacts/{id}/consents");
    let give = json!({ "type_code": "newsletter", "kind": "given", "evidence": "form 7", "method": "form" });
    let post = |body: &Value, key: &str, scope: &str| {
        app.request(Method::POST, &path, scope)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
    };
    let first = post(&give, "k-1", "write").await.unwrap();
    assert_eq!(first.status(), 201);
    assert_eq!(first.headers()["idempotent-replayed"], "false");
    let first: Value = first.json().await.unwrap();
    // The client timed out and retries, several times, some at once.
    let retries = futures_util::future::join_all((0..5).map(|_| post(&give, "k-1", "write"))).await;
    for r in retries {
        let r = r.unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        assert_eq!(r.json::<Value>().await.unwrap(), first);
    }
    // The same key with another body is a conflict naming the header; nothing is recorded.
    let withdraw = json!({ "type_code": "newsletter", "kind": "withdrawn", "method": "form" });
    let (status, body) = send(
        app.request(Method::POST, &path, "write")
            .header("Idempotency-Key", "k-1")
            .json(&withdraw),
    )
    .await;
    problem(status, &body, 409, "Idempotency-Key");
    // Another token's key of the same text is another key.
    let other = post(&give, "k-1", "admin").await.unwrap();
    assert_eq!(other.headers()["idempotent-replayed"], "false");
    let (_, history) = app.get(&format!("{path}/history"), "read").await;
    assert_eq!(history["items"].as_array().unwrap().len(), 2, "{history}");
    // A key that is not visible ASCII is refused.
    let (status, body) = send(
        app.request(Method::POST, &path, "write")
            .header("Idempotency-Key", "   ")
            .json(&give),
    )
    .await;
    problem(status, &body, 400, "Idempotency-Key");
}

#[tokio::test]
async fn a_channel_switched_off_through_the_api_blocks_bulk_on_it_and_comes_back_when_switched_on()
{
    let app = crate::support::spawn_app().await;
    let c = app
        .store
        .create_contact(consento_store::ContactInput {
            emails: vec!["sms@example.it".into()],
            phones: vec!["+39 333 765 4321".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let path = format!("/v1/contacts/{}/channels/sms", c.id);
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &path,
            "write",
            &serde_json::json!(null),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["sms_off_at"].is_string());
    assert!(body["email_off_at"].is_null());
    let ask = |action: &'static str| serde_json::json!({ "contact": { "contact_id": c.id.0 }, "action": action });
    let (_, bulk) = app.post("/v1/decisions", "decide", &ask("sms.bulk")).await;
    assert_eq!(
        (
            bulk["outcome"].as_str(),
            bulk["cause"]["code"].as_str(),
            bulk["cause"]["channel"].as_str()
        ),
        (Some("blocked"), Some("channel_off"), Some("sms"))
    );
    let (_, single) = app
        .post("/v1/decisions", "decide", &ask("sms.single"))
        .await;
    assert_eq!(single["outcome"], "needs_justification");
    assert_eq!(single["marketing_reasons_allowed"], false);
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            &format!("/v1/contacts/{}/channels/fax", c.id),
            "write",
            &serde_json::json!(null),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .send(
            reqwest::Method::DELETE,
            &path,
            "write",
            &serde_json::json!(null),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body["sms_off_at"].is_null());
    let history = app
        .store
        .channel_history(&consento_store::ContactRef::Id(c.id))
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].actor.kind, consento_domain::ActorKind::Token);
}

/// The id of the test token of `scope`.
async fn token_id(app: &TestApp, scope: &str) -> uuid::Uuid {
    let name = format!("test-{scope}");
    app.store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap()
        .id
}

#[tokio::test]
async fn an_api_change_appears_in_the_audit_trail_with_its_token() {
    let app = spawn_app().await;
    let (created, _) = create(
        &app,
        "/v1/consent-types",
        "admin",
        &json!({ "code": "audited", "title": "Audited", "permits": ["email.bulk"] }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = patch(
        &app,
        "/v1/consent-types/audited",
        "admin",
        &json!({ "validity_days": 365 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let admin = token_id(&app, "admin").await;
    let trail = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            target: Some(("consent_type".into(), id)),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<_> = trail.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["consent_type.create", "consent_type.update"]);
    for entry in &trail {
        assert_eq!(entry.token_id, Some(admin), "{entry:?}");
        assert_eq!(entry.user_id, None, "{entry:?}");
    }
    assert_eq!(
        trail[1].detail["after"]["code"], "audited",
        "{:?}",
        trail[1]
    );
    assert_eq!(trail[0].detail["before"]["validity_days"], Value::Null);
    assert_eq!(trail[0].detail["after"]["validity_days"], 365);

    // A use case of the app (restriction) is audited as the token too, by the contact's id.
    let contact_id = contact(&app, json!({ "emails": ["audited@example.it"] })).await;
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/v1/contacts/{contact_id}/restriction"),
            "write",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let trail = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            target: Some(("contact".into(), contact_id.clone())),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let write = token_id(&app, "write").await;
    let actions: Vec<_> = trail.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["contact.create", "contact.restriction"]);
    assert!(trail.iter().all(|e| e.token_id == Some(write)), "{trail:?}");
    // Never the address in the trail.
    assert!(
        !format!("{trail:?}").contains("audited@example.it"),
        "{trail:?}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_api_change_whose_audit_row_cannot_be_written_is_rolled_back() {
    use sqlx::Connection as _;
    let app = spawn_app().await;
    let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
    )
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "unaudited", "title": "Unaudited", "permits": ["email.bulk"] }),
        )
        .await;
    assert!((500..600).contains(&status), "{status} {body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], "/problems/internal", "{body}");
    let (status, body) = app.get("/v1/consent-types/unaudited", "read").await;
    assert_eq!(status, 404, "{body}");
    assert!(app.store.consent_type("unaudited").await.is_err());
    app.shutdown().await;
}
