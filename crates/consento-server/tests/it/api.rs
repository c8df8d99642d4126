//! The HTTP API end to end over real HTTP on loopback: decisions (one, batch, the dialer's GET),
//! problem documents, authentication and scopes on every documented route, the OpenAPI document
//! (a snapshot, and no route served without being documented), the operations endpoints.

use consento_domain::{
    Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind, Permissions,
};
use consento_store::{ConsentEventInput, ContactInput, ContactRef};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{TestApp, send, spawn_app};

/// A newsletter type (bulk + single email) and a phone type; one contact with the newsletter
/// consent, one without any; returns (with, without) contact ids.
async fn seed(app: &TestApp) -> (String, String) {
    for (code, perms) in [
        (
            "newsletter",
            Permissions {
                email_bulk: true,
                email_single: true,
                ..Permissions::default()
            },
        ),
        (
            "calls",
            Permissions {
                phone_call: true,
                ..Permissions::default()
            },
        ),
    ] {
        app.store
            .create_consent_type(ConsentTypeSpec {
                title: code.to_owned(),
                code: ConsentCode::parse(code).unwrap(),
                description: None,
                validity_days: Some(365),
                permissions: perms,
                show_in_preference_center: true,
                purpose: Default::default(),
            })
            .await
            .unwrap();
    }
    let with = app
        .store
        .create_contact(ContactInput {
            external_id: Some("crm-1".into()),
            emails: vec!["anna.rossi@example.it".into()],
            phones: vec!["+39 347 123 4567".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    let without = app
        .store
        .create_contact(ContactInput {
            external_id: Some("crm-2".into()),
            emails: vec!["bruno@example.it".into()],
            phones: vec!["+39 348 765 4321".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    app.store
        .record_consent(ConsentEventInput {
            contact: ContactRef::Id(with.id),
            type_code: "newsletter".into(),
            kind: EventKind::Given,
            event_time: None,
            method: CollectionMethod::Form,
            actor: Actor::new(ActorKind::Operator, "admin").unwrap(),
            notice_version: None,
            evidence: None,
        })
        .await
        .unwrap();
    (with.id.to_string(), without.id.to_string())
}

#[tokio::test]
async fn a_decision_names_the_outcome_and_the_rule_for_every_way_of_naming_a_contact() {
    let app = spawn_app().await;
    let (with, without) = seed(&app).await;
    for contact in [
        json!({ "contact_id": with }),
        json!({ "external_id": "crm-1" }),
        json!({ "email": "Anna.Rossi@Example.it" }),
    ] {
        let (status, body) = app
            .post(
                "/v1/decisions",
                "decide",
                &json!({ "contact": contact, "action": "email.bulk" }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["outcome"], "allowed");
        assert_eq!(body["rule"], "consent");
        assert_eq!(body["consent"]["code"], "newsletter");
        assert_eq!(body["contact_id"], with.as_str());
    }
    let (_, body) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "contact_id": without }, "action": "email.single" }),
        )
        .await;
    assert_eq!(body["outcome"], "needs_justification");
    assert_eq!(body["rule"], "no_consent");
    assert_eq!(body["marketing_reasons_allowed"], true);
    let (_, body) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "contact_id": without }, "action": "email.bulk" }),
        )
        .await;
    assert_eq!(body["outcome"], "blocked");
    assert_eq!(body["cause"]["code"], "no_consent");
}

#[tokio::test]
async fn the_dialer_asks_by_phone_number_in_any_common_format() {
    let app = spawn_app().await;
    let (with, _) = seed(&app).await;
    for number in ["%2B393471234567", "0039%20347%20123%204567", "347-123-4567"] {
        let (status, body) = app
            .get(&format!("/v1/dialer?phone={number}"), "decide")
            .await;
        assert_eq!(status, 200, "{number}: {body}");
        assert_eq!(body["contact_id"], with.as_str());
        assert_eq!(body["action"], "phone.call");
        // Anna gave only the newsletter consent: a call needs a reason.
        assert_eq!(body["outcome"], "needs_justification");
    }
    let (status, body) = app.get("/v1/dialer?phone=%2B390000000", "decide").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app
        .get("/v1/dialer?phone=347-123-4567&action=email.bulk", "decide")
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("action")),
        "{body}"
    );
    let (status, body) = app.get("/v1/dialer?phone=abc", "decide").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "phone");
}

#[tokio::test]
async fn a_batch_answers_each_recipient_in_order_and_an_unknown_one_does_not_fail_it() {
    let app = spawn_app().await;
    seed(&app).await;
    let (status, body) = app
        .post(
            "/v1/decisions/batch",
            "decide",
            &json!({ "action": "email.bulk", "recipients": [
                { "email": "anna.rossi@example.it" },
                { "email": "nobody@example.it" },
                { "external_id": "crm-2", "action": "email.single" },
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["outcome"], "allowed");
    assert_eq!(results[1]["error"]["status"], 404);
    assert_eq!(results[2]["outcome"], "needs_justification");

    let (status, body) = app
        .post(
            "/v1/decisions/batch",
            "decide",
            &json!({ "recipients": [{ "email": "a@b.it" }] }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "recipients[0].action");

    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({ "external_id": i.to_string() }))
        .collect();
    let (status, body) = app
        .post(
            "/v1/decisions/batch",
            "decide",
            &json!({ "action": "email.bulk", "recipients": many }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "recipients");
}

#[tokio::test]
async fn errors_are_problem_documents_naming_the_field() {
    let app = spawn_app().await;
    seed(&app).await;
    let response = app
        .request(Method::POST, "/v1/decisions", "decide")
        .json(&json!({ "contact": { "email": "anna.rossi@example.it" }, "action": "email.bulk", "colour": "red" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["field"], "colour");
    assert_eq!(body["status"], 400);
    assert!(body["type"].as_str().unwrap().starts_with("/problems/"));

    let (status, body) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "email": "anna.rossi@example.it" }, "action": "fax" }),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("action")));
    let (status, body) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "email": "a@b.it", "phone": "+3934" }, "action": "email.bulk" }),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("contact")));
    let (status, body) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "contact_id": 7 }, "action": "email.bulk" }),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("contact.contact_id"))
    );
    let (status, body) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "email": "nobody@example.it" }, "action": "email.bulk" }),
        )
        .await;
    assert_eq!(status, 404, "{body}");

    // Not JSON, too large, unknown route: problems too.
    let (status, _) = send(
        app.request(Method::POST, "/v1/decisions", "decide")
            .header("content-type", "text/plain")
            .body("hello"),
    )
    .await;
    assert_eq!(status, 415);
    let big = format!(
        "{{\"action\":\"email.bulk\",\"recipients\":[{}]}}",
        vec!["{\"email\":\"someone@example.it\"}"; 100_000].join(",")
    );
    let (status, body) = send(
        app.request(Method::POST, "/v1/decisions/batch", "decide")
            .header("content-type", "application/json")
            .body(big),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let (status, body) = app.get("/v1/nothing-here", "admin").await;
    assert_eq!((status, body["status"].as_u64()), (404, Some(404)));
}

/// A body for any route: enough to get past nothing but authentication.
fn probe(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
    let path = path
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "0190a0a0-0000-7000-8000-000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut r = app
        .client
        .request(
            method.to_uppercase().parse().unwrap(),
            format!("{}{path}", app.base),
        )
        .json(&json!({}));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r
}

#[tokio::test]
async fn every_documented_route_refuses_a_missing_token_and_a_too_small_scope() {
    let app = spawn_app().await;
    let (_, doc) = app.get("/openapi.json", "admin").await;
    // A scope that grants none of the needed ones (admin ⊇ write ⊇ {read, decide}), if any.
    let grants = |have: &str, needed: &str| match have {
        "admin" => true,
        "write" => needed != "admin",
        other => other == needed,
    };
    let smaller = |needed: &[&str]| {
        ["decide", "read", "write", "admin"]
            .into_iter()
            .find(|have| needed.iter().all(|n| !grants(have, n)))
    };
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let security = op["security"]
                .as_array()
                .expect("every operation states its security");
            let needed: Vec<&str> = security
                .iter()
                .filter_map(|s| s.get("token"))
                .flat_map(|v| v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()))
                .collect();
            if needed.is_empty() {
                // Public by design: only the probes, and the keys that verify consent receipts.
                assert!(
                    ["/healthz", "/readyz", "/.well-known/jwks.json"].contains(&path.as_str()),
                    "{method} {path} is public"
                );
                continue;
            }
            for documented in ["401", "403"] {
                assert!(
                    op["responses"][documented].is_object(),
                    "{method} {path} does not document {documented}"
                );
            }
            let (status, body) = send(probe(&app, method, path, None)).await;
            assert_eq!(status, 401, "{method} {path} without a token: {body}");
            let (status, body) =
                send(probe(&app, method, path, Some("cns_not-a-real-token"))).await;
            assert_eq!(status, 401, "{method} {path} with a wrong token: {body}");
            if let Some(small) = smaller(&needed) {
                let (status, body) = send(probe(&app, method, path, Some(app.token(small)))).await;
                assert_eq!(status, 403, "{method} {path} with scope {small}: {body}");
                assert_eq!(body["type"], "/problems/insufficient-scope");
            }
            for scope in &needed {
                let (status, _) = send(probe(&app, method, path, Some(app.token(scope)))).await;
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} with scope {scope}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} routes walked");
    // A dialer's `decide` token reads the reasons it offers in its pop-up, and nothing else.
    assert_eq!(app.get("/v1/reasons", "decide").await.0, 200);
    assert_eq!(app.get("/v1/contacts?external_id=x", "decide").await.0, 403);
    // A revoked token stops working (after the cache is bypassed by a fresh server: here, at
    // once, since this token was never cached).
    let (token, secret) = app
        .store
        .create_token("gone", &["decide".to_owned()], None, None)
        .await
        .unwrap();
    app.store.revoke_token(token.id).await.unwrap();
    let (status, _) = send(probe(&app, "post", "/v1/decisions", Some(&secret))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_openapi_document_matches_its_snapshot_and_the_command_prints_the_same() {
    let doc = serde_json::to_value(consento_server::api::openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/openapi.json");
    let pretty = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &pretty).unwrap();
    }
    let saved = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        saved == pretty,
        "the OpenAPI document changed; review and run with UPDATE_SNAPSHOTS=1 to accept"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_consento"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, doc);
}

#[test]
fn no_route_is_served_without_being_in_the_openapi_document() {
    // Documented routes are registered with `routes!`, which adds the handler and its document
    // together. A plain `.route(…)` or `get(…)` would serve a route the document does not show:
    // only the document's own route may be added that way (and the benchmark's minimal handler,
    // which is a server of its own). The console (`src/web`) is not API and is left out.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            // The console's pages are HTML, not API; their own test walks them (console.rs).
            if path.is_dir() {
                if !path.ends_with("web") {
                    stack.push(path);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let l = line.trim();
                if (l.contains(".route(") || l.contains(".nest(") || l.contains("routing::"))
                    && !l.to_lowercase().contains("openapi")
                    && !l.contains("minimal")
                    && !l.starts_with("//")
                {
                    offenders.push(format!("{}:{}: {l}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes outside the OpenAPI document:\n{}",
        offenders.join("\n")
    );
    // And every handler's documented path is actually served: the walk above gets 401, not 404.
}

#[tokio::test]
async fn probes_are_public_and_metrics_count_requests_and_decisions() {
    let app = spawn_app().await;
    seed(&app).await;
    for path in ["/healthz", "/readyz"] {
        let (status, body) = send(app.client.get(format!("{}{path}", app.base))).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("ok")),
            "{path}"
        );
    }
    app.post(
        "/v1/decisions",
        "decide",
        &json!({ "contact": { "external_id": "crm-1" }, "action": "email.bulk" }),
    )
    .await;
    let response = app
        .request(Method::GET, "/metrics", "read")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("consento_decisions_total{outcome=\"allowed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "consento_http_requests_total{route=\"/v1/decisions\",method=\"POST\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "consento_http_request_duration_seconds_bucket{route=\"/v1/decisions\",le=\"+Inf\"} 1"
        ),
        "{text}"
    );
    // The contact just decided on is remembered, and what that takes is shown.
    let gauge = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
    };
    assert!(gauge("consento_decision_cache_contacts") >= 1, "{text}");
    assert!(gauge("consento_decision_cache_bytes") > 0, "{text}");
    assert!(!text.contains("example.it"));
    // An invented method does not become a label of its own.
    let foo = reqwest::Method::from_bytes(b"FROBNICATE").unwrap();
    app.client
        .request(foo, format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    let text = app
        .request(Method::GET, "/metrics", "read")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("method=\"other\"") && !text.contains("FROBNICATE"),
        "{text}"
    );
    // A request id is made when none is given, and kept when a proxy gave a sane one.
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    app.shutdown().await;
}

#[tokio::test]
async fn a_shutdown_lets_the_request_in_flight_finish_and_refuses_new_ones() {
    let app = spawn_app().await;
    seed(&app).await;
    // A batch of 10,000 decisions takes a while: it is still running when the signal comes.
    let many: Vec<Value> = (0..10_000)
        .map(|_| json!({ "external_id": "crm-1" }))
        .collect();
    let in_flight = app
        .request(Method::POST, "/v1/decisions/batch", "decide")
        .json(&json!({ "action": "email.bulk", "recipients": many }))
        .send();
    let in_flight = tokio::spawn(in_flight);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let base = app.base.clone();
    let client = app.client.clone();
    app.shutdown().await;
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["results"].as_array().unwrap().len(), 10_000);
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}

#[tokio::test]
async fn audience_exports_are_capped_so_slow_readers_cannot_take_every_connection() {
    // Two connections: one export at a time.
    let app = crate::support::spawn_app_with(false, |c| c.max_connections = 2)
        .await
        .unwrap();
    seed(&app).await;
    let now = app.store.now();
    let batch = (0..30_000)
        .map(|i| consento_store::BulkContact {
            input: ContactInput {
                emails: vec![format!("reader{i}@example.it")],
                // Long rows: more than the server's socket buffers hold (up to 4 MiB).
                name: Some(format!("Maria {}", "Bianchi ".repeat(24))),
                ..ContactInput::default()
            },
            events: vec![consento_store::BulkEvent {
                type_code: "newsletter".into(),
                kind: EventKind::Given,
                event_time: now,
                method: CollectionMethod::Import,
                actor: Actor::new(ActorKind::System, "")
                    .unwrap_or_else(|_| Actor::new(ActorKind::Operator, "import").unwrap()),
                evidence: None,
                notice_version: None,
            }],
        })
        .collect();
    app.store.bulk_load(batch).await.unwrap();
    // A client that starts an export and does not read it holds its place, however fast the
    // server hands the list to the socket (the list is longer than the socket buffers on both
    // sides, the client's kept small)…
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let mut slow = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET /v1/audience?type=newsletter HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\nconnection: close\r\n\r\n",
        app.token("read")
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    let mut first = [0_u8; 12];
    slow.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // Time for the server to push into the socket all it can.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (status, body) = app.get("/v1/audience?type=newsletter", "read").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "/problems/busy");
    // …decisions go on meanwhile…
    let (status, _) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "external_id": "crm-1" }, "action": "email.bulk" }),
        )
        .await;
    assert_eq!(status, 200);
    // …and once it has read everything, the next export runs.
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest).await.unwrap();
    let rest = String::from_utf8_lossy(&rest);
    assert_eq!(rest.matches("reader").count(), 30_000);
    let response = app
        .request(Method::GET, "/v1/audience?type=newsletter", "read")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
