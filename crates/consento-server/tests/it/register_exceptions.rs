//! What lets a telemarketing call through the opt-out register besides a check, through the API
//! with the injected clock: a customer's contract (in force, then 30 days after it ended, our own
//! marketing only), a call the person asked for (one call, for the configured days), and a call
//! justified with a marketing reason, which is telemarketing and meets the rules at the ring (the
//! register, the public directory for a number without consent, the hours).

use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, spawn_app_with};
use crate::telemarketing::{anna_unchecked, at, consent, contact, register_answer, ring};

fn rule(body: &Value) -> (&Value, &Value) {
    (&body["outcome"], &body["rule"])
}

async fn put(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.send(reqwest::Method::PUT, path, "write", &body).await
}

async fn a_customer_contract_lets_our_marketing_call_through_until_thirty_days_after_it_ended(
    app: TestApp,
) {
    // Anna's marketing consent (Sunday 1 March 2026); her number never checked.
    let anna = anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    let body = ring(&app, "2026-03-02T09:00:00Z", "phone.call").await;
    assert_eq!(
        rule(&body),
        (&json!("blocked"), &json!("rpo_check_missing"))
    );
    let (status, customer) = put(
        &app,
        &format!("/v1/contacts/{anna}/customer"),
        json!({ "contract": "in_force", "source": "contratto luce n. 4711" }),
    )
    .await;
    assert_eq!(status, 200, "{customer}");
    assert_eq!(customer["contract"], "in_force");
    assert!(
        customer["recorded_by"]
            .as_str()
            .unwrap()
            .starts_with("token:")
    );
    let body = ring(&app, "2026-03-02T09:00:00Z", "phone.call").await;
    assert_eq!(body["outcome"], "allowed", "{body}");
    // The contract ended on Monday 2 March at 13:00 in Rome: 30 days of grace, to the second.
    let (status, customer) = put(
        &app,
        &format!("/v1/contacts/{anna}/customer"),
        json!({ "contract": "until", "until": "2026-03-02T13:00", "source": "disdetta del 2026-02-20" }),
    )
    .await;
    assert_eq!(status, 200, "{customer}");
    assert_eq!(customer["until"], "2026-03-02T12:00:00Z");
    let body = ring(&app, "2026-04-01T11:59:59Z", "phone.call").await;
    assert_eq!(body["outcome"], "allowed", "{body}");
    let body = ring(&app, "2026-04-01T12:00:00Z", "phone.call").await;
    assert_eq!(
        rule(&body),
        (&json!("blocked"), &json!("rpo_check_missing"))
    );
    // A consent to disclosure to third parties: the contract does not cover their marketing.
    app.clock.set(at("2026-04-02T09:00:00Z"));
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "PARTNERS", "title": "Partner offers", "validity_days": 365,
                     "permits": ["phone.call"], "purpose": "third_party", "categories": ["energy"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let bruno = contact(&app, "Bruno", "+39 333 9876543").await;
    consent(&app, &bruno, "given", "PARTNERS").await;
    let (status, _) = put(
        &app,
        &format!("/v1/contacts/{bruno}/customer"),
        json!({ "contract": "in_force", "source": "contratto gas n. 12" }),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = app.get("/v1/dialer?phone=3339876543", "decide").await;
    assert_eq!(
        rule(&body),
        (&json!("blocked"), &json!("rpo_check_missing"))
    );
    // Shown with the contact's numbers; cleared with `none`.
    let (status, summary) = app
        .get(&format!("/v1/contacts/{anna}/telemarketing"), "read")
        .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["customer"]["source"], "disdetta del 2026-02-20");
    assert_eq!(summary["numbers"][0]["phone"], "+393331234567");
    assert_eq!(summary["numbers"][0]["register"], Value::Null);
    let (status, cleared) = put(
        &app,
        &format!("/v1/contacts/{anna}/customer"),
        json!({ "contract": "none" }),
    )
    .await;
    assert_eq!((status, cleared), (200, Value::Null));
    // Bad input names the field and writes nothing.
    let (status, body) = put(
        &app,
        &format!("/v1/contacts/{anna}/customer"),
        json!({ "contract": "in_force" }),
    )
    .await;
    assert_eq!((status, &body["field"]), (422, &json!("source")), "{body}");
    let (status, body) = put(
        &app,
        &format!("/v1/contacts/{anna}/customer"),
        json!({ "contract": "until", "source": "x" }),
    )
    .await;
    assert_eq!((status, &body["field"]), (400, &json!("until")), "{body}");
    let (_, summary) = app
        .get(&format!("/v1/contacts/{anna}/telemarketing"), "read")
        .await;
    assert_eq!(summary["customer"], Value::Null);
}

#[tokio::test]
async fn a_customer_contract_lets_our_marketing_call_through_until_thirty_days_after_it_ended_on_sqlite()
 {
    a_customer_contract_lets_our_marketing_call_through_until_thirty_days_after_it_ended(
        spawn_app().await,
    )
    .await;
}

#[tokio::test]
async fn a_customer_contract_lets_our_marketing_call_through_until_thirty_days_after_it_ended_on_postgresql()
 {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        a_customer_contract_lets_our_marketing_call_through_until_thirty_days_after_it_ended(app)
            .await;
    }
}

async fn a_call_the_person_asked_for_passes_the_register_once_within_its_days(app: TestApp) {
    let anna = anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    register_answer(&app, "2026-03-02T09:00:00Z", &[], &["+393331234567"]).await;
    // Sixteen days later the check no longer counts.
    let body = ring(&app, "2026-03-18T09:00:00Z", "phone.call").await;
    assert_eq!(body["rule"], "rpo_check_expired", "{body}");
    let (status, request) = app
        .post(
            &format!("/v1/contacts/{anna}/call-requests"),
            "write",
            &json!({ "requested_at": "2026-03-18T09:30", "source": "modulo 'richiamami' sul sito" }),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    assert_eq!(request["phone"], "+393331234567");
    assert_eq!(request["valid_until"], "2026-03-25T08:30:00Z");
    let body = ring(&app, "2026-03-18T09:00:00Z", "phone.call").await;
    assert_eq!(body["outcome"], "allowed", "{body}");
    // Nobody answered: the request still holds. Then the call that reaches her uses it.
    for (outcome, called_at) in [
        ("no_answer", "2026-03-18T09:05:00Z"),
        ("answered", "2026-03-18T10:00:00Z"),
    ] {
        app.clock.set(at("2026-03-18T10:05:00Z"));
        let (status, body) = app
            .post(
                "/v1/dialer/outcomes",
                "write",
                &json!({ "phone": "+39 333 1234567", "outcome": outcome, "campaign": "Richiami",
                         "operator": "m.bianchi", "called_at": called_at }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let body = ring(&app, "2026-03-18T10:05:00Z", "phone.call").await;
        let expected = if outcome == "no_answer" {
            "allowed"
        } else {
            "blocked"
        };
        assert_eq!(body["outcome"], expected, "after {outcome}: {body}");
    }
    let (_, summary) = app
        .get(&format!("/v1/contacts/{anna}/telemarketing"), "read")
        .await;
    assert_eq!(
        summary["call_requests"][0]["used_at"], "2026-03-18T10:00:00Z",
        "{summary}"
    );
    // A new request lapses after seven days.
    app.clock.set(at("2026-03-19T09:00:00Z"));
    let (status, _) = app
        .post(
            &format!("/v1/contacts/{anna}/call-requests"),
            "write",
            &json!({ "requested_at": "2026-03-19T09:00:00Z", "source": "telefonata al numero verde" }),
        )
        .await;
    assert_eq!(status, 201);
    let body = ring(&app, "2026-03-26T08:59:59Z", "phone.call").await;
    assert_eq!(body["outcome"], "allowed", "{body}");
    let body = ring(&app, "2026-03-26T09:00:00Z", "phone.call").await;
    assert_eq!(body["rule"], "rpo_check_expired", "{body}");
    // Not in the future; a number that is not hers is not found.
    let (status, body) = app
        .post(
            &format!("/v1/contacts/{anna}/call-requests"),
            "write",
            &json!({ "requested_at": "2026-03-27T09:00:00Z", "source": "x" }),
        )
        .await;
    assert_eq!(
        (status, &body["field"]),
        (422, &json!("requested_at")),
        "{body}"
    );
    let (status, body) = app
        .post(
            &format!("/v1/contacts/{anna}/call-requests"),
            "write",
            &json!({ "requested_at": "2026-03-26T09:00:00Z", "source": "x", "phone": "+39 02 1234567" }),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["detail"], "phone not found", "{body}");
}

#[tokio::test]
async fn a_call_the_person_asked_for_passes_the_register_once_within_its_days_on_sqlite() {
    a_call_the_person_asked_for_passes_the_register_once_within_its_days(spawn_app().await).await;
}

#[tokio::test]
async fn a_call_the_person_asked_for_passes_the_register_once_within_its_days_on_postgresql() {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        a_call_the_person_asked_for_passes_the_register_once_within_its_days(app).await;
    }
}

/// A call to `contact` justified with `reason` by an operator.
async fn justify(app: &TestApp, contact: &str, reason: &str) -> (u16, Value) {
    let body = json!({ "contact": { "contact_id": contact }, "action": "phone.call",
                       "reason_id": reason, "operator": "m.bianchi" });
    app.post("/v1/interactions", "decide", &body).await
}

async fn a_call_justified_with_a_marketing_reason_meets_the_register_the_directory_and_the_hours(
    app: TestApp,
) {
    // The switches on and the types defined; Carla has no consent at all.
    anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    let carla = contact(&app, "Carla", "+39 06 1234567").await;
    let mut reasons = Vec::new();
    for (label, marketing) in [("Spring promotion", true), ("Order follow-up", false)] {
        let (status, reason) = app
            .post(
                "/v1/reasons",
                "admin",
                &json!({ "label": label, "marketing": marketing }),
            )
            .await;
        assert_eq!(status, 201, "{reason}");
        reasons.push(reason["id"].as_str().unwrap().to_owned());
    }
    app.clock.set(at("2026-03-02T09:00:00Z"));
    // Never checked.
    let (status, body) = justify(&app, &carla, &reasons[0]).await;
    assert_eq!(
        (status, &body["field"]),
        (422, &json!("reason_id")),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("never checked"),
        "{body}"
    );
    // Checked, not enrolled, but in no public directory: it needs consent.
    register_answer(&app, "2026-03-02T09:00:00Z", &[], &["+39061234567"]).await;
    let (status, body) = justify(&app, &carla, &reasons[0]).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no public directory"),
        "{body}"
    );
    // Listed in a public directory: the call may go, justified and recorded.
    let (status, listing) = put(
        &app,
        &format!("/v1/contacts/{carla}/directory"),
        json!({ "listed": true, "source": "elenco telefonico pubblico, consultato il 2026-03-01" }),
    )
    .await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["phone"], "+39061234567");
    let (status, body) = justify(&app, &carla, &reasons[0]).await;
    assert_eq!((status, &body["recorded"]), (201, &json!(true)), "{body}");
    // At 21:00 in Rome the hours close, for a marketing reason only.
    app.clock.set(at("2026-03-02T20:00:00Z"));
    let (status, body) = justify(&app, &carla, &reasons[0]).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("2026-03-03T08:00:00Z"),
        "{body}"
    );
    let (status, body) = justify(&app, &carla, &reasons[1]).await;
    assert_eq!(status, 201, "{body}");
    // Found enrolled: listed or not, no marketing call without a consent given after it.
    register_answer(&app, "2026-03-03T09:00:00Z", &["+39061234567"], &[]).await;
    let (status, body) = justify(&app, &carla, &reasons[0]).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("enrolled"),
        "{body}"
    );
}

#[tokio::test]
async fn a_call_justified_with_a_marketing_reason_meets_the_register_the_directory_and_the_hours_on_sqlite()
 {
    a_call_justified_with_a_marketing_reason_meets_the_register_the_directory_and_the_hours(
        spawn_app().await,
    )
    .await;
}

#[tokio::test]
async fn a_call_justified_with_a_marketing_reason_meets_the_register_the_directory_and_the_hours_on_postgresql()
 {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        a_call_justified_with_a_marketing_reason_meets_the_register_the_directory_and_the_hours(
            app,
        )
        .await;
    }
}
