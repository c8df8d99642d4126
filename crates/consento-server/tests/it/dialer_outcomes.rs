//! The dialer's call outcomes through the API with the injected clock: a refusal during a call
//! ("basta un no") blocks every later campaign's marketing at once, dated when it was said, with
//! no confirmation and no override; a number no contact has is a 404; every refused field is
//! named; a campaign's report counts its calls and flags more than 3 silent calls per 100
//! answered.

use consento_domain::Timestamp;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

fn at(text: &str) -> Timestamp {
    Timestamp::parse("t", text).unwrap()
}

/// Thursday 3 December 2026, 11:00 in Rome: inside the weekday calling hours.
const NOW: &str = "2026-12-03T10:00:00Z";

/// A marketing type permitting calls and text messages, and Anna (two numbers), who gave it;
/// the clock at [`NOW`]. Returns Anna's id.
async fn anna_with_marketing_consent(app: &TestApp) -> String {
    app.clock.set(at("2026-12-01T10:00:00Z"));
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "OFFERS", "title": "Offers", "validity_days": 730,
                     "permits": ["phone.call", "sms.single", "sms.bulk"], "purpose": "marketing" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, c) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "name": "Anna Rossi", "emails": ["anna.rossi@example.it"],
                     "phones": ["+39 333 1234567", "02 8765 4321"] }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            &format!("/v1/contacts/{id}/consents"),
            "write",
            &json!({ "kind": "given", "type_code": "OFFERS", "method": "phone" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.clock.set(at(NOW));
    // Checked against the opt-out register, not enrolled: calls depend on consents alone.
    app.checked_against_the_register(&["+393331234567"]).await;
    id
}

/// Reports one call's outcome as the write token.
async fn report(app: &TestApp, body: &Value) -> (u16, Value) {
    app.post("/v1/dialer/outcomes", "write", body).await
}

fn outcome(phone: &str, outcome: &str, campaign: &str, called_at: &str) -> Value {
    json!({ "phone": phone, "outcome": outcome, "campaign": campaign,
            "operator": "m.bianchi", "called_at": called_at })
}

/// The dialer's answer for Anna's first number, `action` at the clock's instant.
async fn ring(app: &TestApp, action: &str) -> Value {
    let (status, body) = app
        .get(
            &format!("/v1/dialer?phone=3331234567&action={action}"),
            "decide",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_no_during_a_call_blocks_every_later_campaigns_marketing_at_once_dated_when_it_was_said()
{
    let app = spawn_app().await;
    let id = anna_with_marketing_consent(&app).await;
    assert_eq!(ring(&app, "phone.call").await["outcome"], "allowed");

    // Anna says no at 10:50 in Rome; the dialer reports it ten minutes later, with the local
    // time of the call.
    let (status, body) = report(
        &app,
        &outcome(
            "+39 333 123 4567",
            "refused_marketing",
            "Offerte inverno",
            "2026-12-03T10:50:00+01:00",
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["contact_id"], json!(id));
    assert_eq!(body["phone"], "+393331234567");
    assert_eq!(body["outcome"], "refused_marketing");
    assert_eq!(body["called_at"], "2026-12-03T09:50:00Z");
    assert_eq!(body["recorded_at"], NOW);
    assert_eq!(
        body["objected_at"], "2026-12-03T09:50:00Z",
        "the instant she said it"
    );

    // At once, on the very next ring: the objection, since the instant said. A marketing call
    // may not be placed (only a reason that is not marketing could justify a call), a mass text
    // is blocked outright.
    let call = ring(&app, "phone.call").await;
    assert_eq!(call["rule"], "objected", "{call}");
    assert_eq!(call["cause"]["since"], "2026-12-03T09:50:00Z", "{call}");
    assert_eq!(call["marketing_reasons_allowed"], false, "{call}");
    let (status, bulk) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "phone": "02 8765 4321" }, "action": "sms.bulk" }),
        )
        .await;
    assert_eq!(status, 200, "{bulk}");
    assert_eq!(
        (&bulk["outcome"], &bulk["rule"]),
        (&json!("blocked"), &json!("objected"))
    );

    // No override: a marketing reason cannot justify the call.
    let (status, promo) = app
        .post(
            "/v1/reasons",
            "admin",
            &json!({ "label": "Winter promotion", "marketing": true }),
        )
        .await;
    assert_eq!(status, 201, "{promo}");
    let (status, refused) = app
        .post(
            "/v1/interactions",
            "decide",
            &json!({ "contact": { "phone": "+393331234567" }, "action": "phone.call",
                     "reason_id": promo["id"], "operator": "m.bianchi" }),
        )
        .await;
    assert_eq!(
        (status, &refused["field"]),
        (422, &json!("reason_id")),
        "{refused}"
    );

    // Another campaign, days later: still objected, and a later answered call changes nothing.
    app.clock.set(at("2026-12-09T10:00:00Z"));
    let (status, body) = report(
        &app,
        &outcome(
            "+393331234567",
            "answered",
            "Offerte primavera",
            "2026-12-09T09:55:00Z",
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("objected_at").is_none(), "{body}");
    assert_eq!(ring(&app, "phone.call").await["rule"], "objected");

    // The contact and its history, as PUT /v1/contacts/{id}/objection leaves them.
    let (_, contact) = app.get(&format!("/v1/contacts/{id}"), "read").await;
    assert_eq!(contact["objected_at"], "2026-12-03T09:50:00Z", "{contact}");
    let (_, history) = app.get(&format!("/v1/contacts/{id}/flags"), "read").await;
    let items = history.as_array().unwrap();
    assert_eq!(items.len(), 1, "{history}");
    assert_eq!(
        (&items[0]["flag"], &items[0]["raised"], &items[0]["at"]),
        (&json!("objection"), &json!(true), &json!(NOW)),
        "recorded when the dialer reported it: {history}"
    );
    assert!(
        app.store
            .is_suppressed(&consento_store::ContactRef::Phone("+393331234567".into()))
            .await
            .unwrap()
    );

    // A second refusal keeps the first date.
    let (status, again) = report(
        &app,
        &outcome(
            "0287654321",
            "refused_marketing",
            "Offerte primavera",
            "2026-12-09T09:58:00Z",
        ),
    )
    .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["objected_at"], "2026-12-03T09:50:00Z");

    // The trail names the calls and the objection, by the dialer's token and operator.
    let entries = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            user_id: None,
            from: None,
            until: None,
            target: Some(("contact".into(), id.clone())),
            before: None,
            limit: 20,
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e.action.starts_with("call.") || e.action == "contact.objection")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "call.outcome",
            "call.outcome",
            "call.outcome",
            "contact.objection"
        ]
    );
    assert!(entries.iter().all(|e| e.token_id.is_some()));
}

#[tokio::test]
async fn an_outcome_for_a_number_no_contact_has_is_not_found_and_nothing_is_recorded() {
    let app = spawn_app().await;
    anna_with_marketing_consent(&app).await;
    let response = app
        .request(reqwest::Method::POST, "/v1/dialer/outcomes", "write")
        .json(&outcome(
            "+39 347 000 0000",
            "refused_marketing",
            "Offerte inverno",
            "2026-12-03T09:59:00Z",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        app.get("/v1/campaigns/Offerte%20inverno/report", "read")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn every_refused_field_of_an_outcome_is_named() {
    let app = spawn_app().await;
    anna_with_marketing_consent(&app).await;
    let good = outcome(
        "+393331234567",
        "answered",
        "Offerte inverno",
        "2026-12-03T09:59:00Z",
    );
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let cases = [
        (with("outcome", json!("hung_up")), 400, "outcome"),
        (with("called_at", json!("yesterday")), 400, "called_at"),
        // A day is no instant: the call would be dated at midnight.
        (with("called_at", json!("2026-12-03")), 400, "called_at"),
        // Five minutes of clock skew are allowed, not six.
        (
            with("called_at", json!("2026-12-03T10:06:00Z")),
            422,
            "called_at",
        ),
        // At most 30 days old.
        (
            with("called_at", json!("2026-11-02T09:59:59Z")),
            422,
            "called_at",
        ),
        (with("campaign", json!(" ")), 422, "campaign"),
        (with("campaign", json!("x".repeat(201))), 422, "campaign"),
        (with("operator", json!("")), 422, "operator"),
        (with("phone", json!("not a number")), 422, "phone"),
        (with("duration", json!(42)), 400, "duration"),
    ];
    for (body, status, field) in cases {
        let (got, problem) = report(&app, &body).await;
        assert_eq!(
            (got, &problem["field"]),
            (status, &json!(field)),
            "{body} → {problem}"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("campaign");
    let (got, problem) = report(&app, &missing).await;
    assert_eq!(
        (got, &problem["field"]),
        (400, &json!("campaign")),
        "{problem}"
    );
    // A dialer that only decides cannot record.
    assert_eq!(
        app.post("/v1/dialer/outcomes", "decide", &good).await.0,
        403
    );
    assert_eq!(
        app.get("/v1/campaigns/Offerte%20inverno/report", "read")
            .await
            .0,
        404,
        "nothing was recorded"
    );
    // The edges themselves are accepted; a local time without offset is Rome's.
    for called_at in ["2026-12-03T10:05:00Z", "2026-11-03T10:00:00Z"] {
        let (status, body) = report(&app, &with("called_at", json!(called_at))).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = report(&app, &with("called_at", json!("2026-12-03T10:55"))).await;
    assert_eq!(
        (status, &body["called_at"]),
        (201, &json!("2026-12-03T09:55:00Z")),
        "{body}"
    );
}

#[tokio::test]
async fn a_campaign_with_four_silent_calls_in_a_hundred_answered_is_flagged_and_one_in_thirty_four_is_not()
 {
    let app = spawn_app().await;
    anna_with_marketing_consent(&app).await;
    let (status, c) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "name": "Bruno Verdi", "phones": ["+39 347 7654321"] }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    // 100 calls that connected (90 answered, 4 silent, 3 refusals, 3 callbacks) and 25 that did
    // not, a minute apart, between 08:00 and 10:04 UTC.
    let mut plan = Vec::new();
    for (kind, n) in [
        ("no_answer", 20),
        ("answered", 90),
        ("silent", 4),
        ("refused_marketing", 3),
        ("callback_requested", 3),
        ("busy", 5),
    ] {
        plan.extend(std::iter::repeat_n(kind, n));
    }
    let start = at("2026-12-03T08:00:00Z").as_micros();
    let mut last_silent = None;
    for (i, kind) in plan.iter().enumerate() {
        let called_at = Timestamp::from_micros(start + i64::try_from(i).unwrap() * 60_000_000);
        app.clock.set(called_at);
        let phone = if i % 2 == 0 {
            "+393331234567"
        } else {
            "+393477654321"
        };
        if *kind == "silent" && phone == "+393331234567" {
            last_silent = Some(called_at);
        }
        let (status, body) = report(
            &app,
            &outcome(phone, kind, "Offerte inverno", &called_at.to_rfc3339()),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, r) = app
        .get("/v1/campaigns/Offerte%20inverno/report", "read")
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["campaign"], "Offerte inverno");
    assert_eq!(r["calls"], 125);
    assert_eq!(
        r["counts"],
        json!({ "answered": 90, "no_answer": 20, "busy": 5, "silent": 4,
                "refused_marketing": 3, "callback_requested": 3 })
    );
    assert_eq!(r["connected"], 100);
    assert_eq!(r["silent_per_100_answered"], 4.0);
    assert_eq!(
        (&r["silent_flag"], &r["silent_limit_per_100"]),
        (&json!(true), &json!(3))
    );
    assert_eq!(r["first_call_at"], "2026-12-03T08:00:00Z");
    assert_eq!(r["last_call_at"], "2026-12-03T10:04:00Z");
    // The latest silent call to each number, for the dialer's cooldown.
    assert_eq!(
        app.store.last_silent_call("333 123 4567").await.unwrap(),
        last_silent
    );

    // Another campaign: 1 silent call in 34 that connected is 2.94 per 100.
    for i in 0..34 {
        let kind = if i == 0 { "silent" } else { "answered" };
        let (status, body) = report(
            &app,
            &outcome(
                "+393477654321",
                kind,
                "Offerte primavera",
                "2026-12-03T10:00:00Z",
            ),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, r) = app
        .get("/v1/campaigns/Offerte%20primavera/report", "read")
        .await;
    assert_eq!(
        (&r["silent_per_100_answered"], &r["silent_flag"]),
        (&json!(2.94), &json!(false)),
        "{r}"
    );
}

#[tokio::test]
async fn the_contact_card_and_the_activity_log_tell_each_call_in_italian_and_english() {
    let app = spawn_app().await;
    let id = anna_with_marketing_consent(&app).await;
    for (kind, called_at) in [
        ("silent", "2026-12-03T09:40:00Z"),
        ("refused_marketing", "2026-12-03T09:50:00Z"),
    ] {
        let (status, body) = report(
            &app,
            &outcome("+393331234567", kind, "Offerte inverno", called_at),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let dpo = app.console_as("dpo").await;
    for (language, expected) in [
        (
            "it",
            [
                "Chiamata: Rifiuto delle chiamate promozionali",
                "Chiamata: Chiamata muta",
                "m.bianchi (dal sistema di chiamata)",
                "Opposizione dal 3 dicembre 2026",
            ],
        ),
        (
            "en",
            [
                "Call: Refused promotional calls",
                "Call: Silent call",
                "m.bianchi (from the dialer)",
                "Objecting since 3 December 2026",
            ],
        ),
    ] {
        let card = dpo.get_in(&format!("/contacts/{id}"), language).await;
        assert_eq!(card.status, 200);
        for text in expected {
            assert!(
                card.body.contains(text),
                "{language}: {text} in {}",
                card.body
            );
        }
        assert!(card.body.contains("Offerte inverno") && card.body.contains("+393331234567"));
    }
    let log = dpo.get_in("/audit", "it").await;
    assert_eq!(log.status, 200);
    for text in [
        "Registrazione dell&#39;esito di una chiamata",
        "Rifiuto delle chiamate promozionali",
        "Campagna",
        "Ora della chiamata",
    ] {
        assert!(log.body.contains(text), "{text} in {}", log.body);
    }
    assert!(!log.body.contains("call.outcome") && !log.body.contains("refused_marketing"));
}
