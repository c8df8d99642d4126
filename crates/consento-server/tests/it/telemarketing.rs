//! Italian telemarketing at the ring, through the dialer's API with the injected clock: a call a
//! marketing consent allows is blocked outside the calling hours of its kind of day (weekday,
//! Saturday, day before a holiday, Sunday, holiday, judged in Rome), naming the next instant it
//! may be placed; service calls, SMS and other hours are not touched; the windows are
//! configurable. And the opt-out register: a number needs a check that still counts (15 days to
//! the minute), an enrolment revokes the earlier consents only, a consent given after it allows.

use consento_domain::Timestamp;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, spawn_app_with};

pub(crate) fn at(text: &str) -> Timestamp {
    Timestamp::parse("t", text).unwrap()
}

/// A marketing type and a service type permitting calls and SMS, and Anna, who gave the
/// marketing one on 1 December 2026 (the clock then set there); her number checked against the
/// opt-out register, not enrolled, at the same instant.
pub(crate) async fn anna_with_consents(app: &TestApp) -> String {
    let id = anna_unchecked(app, "2026-12-01T10:00:00Z").await;
    register_answer(app, "2026-12-01T10:00:00Z", &[], &["+393331234567"]).await;
    id
}

/// The register's answer at `answered_at` (the clock set there): `enrolled` and `not_enrolled`
/// numbers, E.164.
pub(crate) async fn register_answer(
    app: &TestApp,
    answered_at: &str,
    enrolled: &[&str],
    not_enrolled: &[&str],
) -> Value {
    app.clock.set(at(answered_at));
    let report = app
        .register_answer(at(answered_at), enrolled, not_enrolled)
        .await;
    serde_json::to_value(report).unwrap()
}

/// Records a consent event of `kind` for `code` on the contact `id`, by phone.
pub(crate) async fn consent(app: &TestApp, id: &str, kind: &str, code: &str) {
    let (status, body) = app
        .post(
            &format!("/v1/contacts/{id}/consents"),
            "write",
            &json!({ "kind": kind, "type_code": code, "method": "phone" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// A contact named `name` with the number `phone`; returns its id.
pub(crate) async fn contact(app: &TestApp, name: &str, phone: &str) -> String {
    let (status, c) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "name": name, "phones": [phone] }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

/// As [`anna_with_consents`], at `given_at`, with no check of her number.
pub(crate) async fn anna_unchecked(app: &TestApp, given_at: &str) -> String {
    app.clock.set(at(given_at));
    let settings = json!({ "check_email_single": true, "check_email_bulk": true, "check_phone": true, "check_sms": true });
    assert_eq!(
        app.send(reqwest::Method::PUT, "/v1/settings", "admin", &settings)
            .await
            .0,
        200
    );
    for (code, purpose) in [("OFFERS", "marketing"), ("SERVICE", "service")] {
        let (status, body) = app
            .post(
                "/v1/consent-types",
                "admin",
                &json!({ "code": code, "title": code, "validity_days": 730,
                         "permits": ["phone.call", "sms.single"], "purpose": purpose }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let id = contact(app, "Anna Rossi", "+39 333 1234567").await;
    consent(app, &id, "given", "OFFERS").await;
    id
}

/// The dialer's answer for Anna's number at `now` (the clock set there).
pub(crate) async fn ring(app: &TestApp, now: &str, action: &str) -> Value {
    app.clock.set(at(now));
    let (status, body) = app
        .get(
            &format!("/v1/dialer?phone=3331234567&action={action}"),
            "decide",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn blocked_until(body: &Value, day: &str, next: &str) {
    assert_eq!(body["outcome"], "blocked", "{body}");
    assert_eq!(body["rule"], "outside_calling_hours", "{body}");
    assert_eq!(body["cause"]["day"], day, "{body}");
    assert_eq!(body["cause"]["next_allowed_at"], next, "{body}");
}

async fn a_marketing_call_on_christmas_eve_at_half_past_seven_waits_for_the_monday_after_christmas(
    app: TestApp,
) {
    anna_with_consents(&app).await;
    register_answer(&app, "2026-12-20T10:00:00Z", &[], &["+393331234567"]).await;
    // 24 December is the day before a holiday: 10:00-19:00 in Rome (UTC+1).
    assert_eq!(
        ring(&app, "2026-12-24T17:59:59Z", "phone.call").await["outcome"],
        "allowed"
    );
    let body = ring(&app, "2026-12-24T18:30:00Z", "phone.call").await;
    // 25 and 26 December are holidays, the 27th a Sunday: Monday the 28th at 09:00 in Rome.
    blocked_until(&body, "pre_holiday", "2026-12-28T08:00:00Z");
    // An SMS is not a call: the calling hours do not apply.
    assert_eq!(
        ring(&app, "2026-12-24T18:30:00Z", "sms.single").await["outcome"],
        "allowed"
    );
}

#[tokio::test]
async fn a_marketing_call_on_christmas_eve_at_half_past_seven_waits_for_the_monday_after_christmas_on_sqlite()
 {
    a_marketing_call_on_christmas_eve_at_half_past_seven_waits_for_the_monday_after_christmas(
        spawn_app().await,
    )
    .await;
}

#[tokio::test]
async fn a_marketing_call_on_christmas_eve_at_half_past_seven_waits_for_the_monday_after_christmas_on_postgresql()
 {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        a_marketing_call_on_christmas_eve_at_half_past_seven_waits_for_the_monday_after_christmas(
            app,
        )
        .await;
    }
}

#[tokio::test]
async fn weekday_and_saturday_windows_hold_to_the_second_in_romes_time_not_utcs() {
    let app = spawn_app().await;
    anna_with_consents(&app).await;
    // Thursday 3 December 2026: 09:00-20:00 in Rome.
    blocked_until(
        &ring(&app, "2026-12-03T07:59:59Z", "phone.call").await,
        "weekday",
        "2026-12-03T08:00:00Z",
    );
    assert_eq!(
        ring(&app, "2026-12-03T08:00:00Z", "phone.call").await["outcome"],
        "allowed"
    );
    assert_eq!(
        ring(&app, "2026-12-03T18:59:59Z", "phone.call").await["outcome"],
        "allowed"
    );
    blocked_until(
        &ring(&app, "2026-12-03T19:00:00Z", "phone.call").await,
        "weekday",
        "2026-12-04T08:00:00Z",
    );
    // Friday 4 December at 23:30 UTC is already Saturday 00:30 in Rome: Saturday's window,
    // 10:00-19:00.
    blocked_until(
        &ring(&app, "2026-12-04T23:30:00Z", "phone.call").await,
        "saturday",
        "2026-12-05T09:00:00Z",
    );
    assert_eq!(
        ring(&app, "2026-12-05T09:00:00Z", "phone.call").await["outcome"],
        "allowed"
    );
    // Tuesday 8 December is a holiday (the Immaculate Conception): closed, and Monday the 7th
    // is the day before it.
    blocked_until(
        &ring(&app, "2026-12-07T18:30:00Z", "phone.call").await,
        "pre_holiday",
        "2026-12-09T08:00:00Z",
    );
    blocked_until(
        &ring(&app, "2026-12-08T10:00:00Z", "phone.call").await,
        "holiday",
        "2026-12-09T08:00:00Z",
    );
}

#[tokio::test]
async fn a_call_a_service_consent_allows_is_not_telemarketing_and_keeps_no_hours() {
    let app = spawn_app().await;
    let id = anna_with_consents(&app).await;
    // Anna withdraws the marketing consent and gives the service one.
    consent(&app, &id, "withdrawn", "OFFERS").await;
    consent(&app, &id, "given", "SERVICE").await;
    // Sunday 6 December at 21:00 in Rome.
    let body = ring(&app, "2026-12-06T20:00:00Z", "phone.call").await;
    assert_eq!(
        (&body["outcome"], &body["consent"]["code"]),
        (&json!("allowed"), &json!("SERVICE")),
        "{body}"
    );
}

#[tokio::test]
async fn configured_windows_replace_the_code_of_conducts() {
    let app = spawn_app_with(false, |c| {
        c.telemarketing.calling_hours = c
            .telemarketing
            .calling_hours
            .with_text(consento_domain::calling_hours::DayKind::Saturday, "none")
            .unwrap()
            .with_text(
                consento_domain::calling_hours::DayKind::Weekday,
                "10:00-18:00",
            )
            .unwrap();
    })
    .await
    .unwrap();
    anna_with_consents(&app).await;
    // Saturday closed: Monday 7 December is the day before a holiday (10:00-19:00).
    blocked_until(
        &ring(&app, "2026-12-05T11:00:00Z", "phone.call").await,
        "saturday",
        "2026-12-07T09:00:00Z",
    );
    blocked_until(
        &ring(&app, "2026-12-03T17:00:00Z", "phone.call").await,
        "weekday",
        "2026-12-04T09:00:00Z",
    );
}

async fn a_check_at_ten_allows_a_call_fifteen_days_later_at_nine_fifty_nine_and_not_at_ten(
    app: TestApp,
) {
    anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    // Never checked: no telemarketing call.
    let body = ring(&app, "2026-03-02T08:00:00Z", "phone.call").await;
    assert_eq!(
        (&body["outcome"], &body["rule"]),
        (&json!("blocked"), &json!("rpo_check_missing")),
        "{body}"
    );
    // Checked on Monday 2 March 2026 at 10:00 in Rome (09:00 UTC).
    register_answer(&app, "2026-03-02T09:00:00Z", &[], &["+393331234567"]).await;
    assert_eq!(
        ring(&app, "2026-03-17T08:59:00Z", "phone.call").await["outcome"],
        "allowed"
    );
    let body = ring(&app, "2026-03-17T09:00:00Z", "phone.call").await;
    assert_eq!(body["rule"], "rpo_check_expired", "{body}");
    assert_eq!(body["cause"]["since"], "2026-03-17T09:00:00Z", "{body}");
    // A foreign number is not the register's business.
    let hans = contact(&app, "Hans", "+49 151 23456789").await;
    consent(&app, &hans, "given", "OFFERS").await;
    app.clock.set(at("2026-03-18T10:00:00Z"));
    let (_, body) = app.get("/v1/dialer?phone=%2B4915123456789", "decide").await;
    assert_eq!(body["outcome"], "allowed", "{body}");
}

#[tokio::test]
async fn a_check_at_ten_allows_a_call_fifteen_days_later_at_nine_fifty_nine_and_not_at_ten_on_sqlite()
 {
    a_check_at_ten_allows_a_call_fifteen_days_later_at_nine_fifty_nine_and_not_at_ten(
        spawn_app().await,
    )
    .await;
}

#[tokio::test]
async fn a_check_at_ten_allows_a_call_fifteen_days_later_at_nine_fifty_nine_and_not_at_ten_on_postgresql()
 {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        a_check_at_ten_allows_a_call_fifteen_days_later_at_nine_fifty_nine_and_not_at_ten(app)
            .await;
    }
}

async fn an_enrolment_revokes_only_earlier_consents_and_a_consent_after_it_allows(app: TestApp) {
    let anna = anna_with_consents(&app).await;
    // A service consent, given before as well: the register does not concern it.
    consent(&app, &anna, "given", "SERVICE").await;
    let report = register_answer(&app, "2026-12-03T09:00:00Z", &["+393331234567"], &[]).await;
    assert_eq!(
        (&report["newly_enrolled"], &report["revoked"]),
        (&json!(1), &json!(1)),
        "{report}"
    );
    let (_, history) = app
        .get(&format!("/v1/contacts/{anna}/consents/history"), "read")
        .await;
    let revoked: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{history}");
    assert_eq!(
        (&revoked[0]["type_code"], &revoked[0]["method"]),
        (&json!("OFFERS"), &json!("rpo"))
    );
    assert_eq!(revoked[0]["event_time"], "2026-12-03T09:00:00Z");
    // The marketing consent is gone: a call now needs a reason; the service one still allows
    // its own calls.
    let body = ring(&app, "2026-12-03T10:00:00Z", "phone.call").await;
    assert_eq!(
        (&body["outcome"], &body["consent"]["code"]),
        (&json!("allowed"), &json!("SERVICE")),
        "{body}"
    );
    // The same answer again finds nothing new and revokes nothing.
    let again = register_answer(&app, "2026-12-04T09:00:00Z", &["+393331234567"], &[]).await;
    assert_eq!(
        (&again["newly_enrolled"], &again["revoked"]),
        (&json!(0), &json!(0)),
        "{again}"
    );
    // Anna withdraws the service consent and gives the marketing one again, after the
    // enrolment was found: it allows.
    consent(&app, &anna, "withdrawn", "SERVICE").await;
    consent(&app, &anna, "given", "OFFERS").await;
    let body = ring(&app, "2026-12-04T10:00:00Z", "phone.call").await;
    assert_eq!(
        (&body["outcome"], &body["consent"]["code"]),
        (&json!("allowed"), &json!("OFFERS")),
        "{body}"
    );
    // Bruno's number is found enrolled before any consent of his is recorded; a paper consent
    // dated before that finding, recorded afterwards, does not allow the call.
    let bruno = contact(&app, "Bruno", "+39 333 9876543").await;
    register_answer(&app, "2026-12-04T09:00:00Z", &["+393339876543"], &[]).await;
    app.clock.set(at("2026-12-04T10:00:00Z"));
    let (status, body) = app
        .post(
            &format!("/v1/contacts/{bruno}/consents"),
            "write",
            &json!({ "kind": "given", "type_code": "OFFERS", "method": "paper", "event_time": "2026-12-02T10:00:00Z" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, body) = app.get("/v1/dialer?phone=3339876543", "decide").await;
    assert_eq!(body["rule"], "rpo_enrolled", "{body}");
    assert_eq!(body["cause"]["since"], "2026-12-04T09:00:00Z", "{body}");
    let (status, verified) = app.get("/v1/ledger/verify", "admin").await;
    assert_eq!(status, 200, "{verified}");
}

#[tokio::test]
async fn an_enrolment_revokes_only_earlier_consents_and_a_consent_after_it_allows_on_sqlite() {
    an_enrolment_revokes_only_earlier_consents_and_a_consent_after_it_allows(spawn_app().await)
        .await;
}

#[tokio::test]
async fn an_enrolment_revokes_only_earlier_consents_and_a_consent_after_it_allows_on_postgresql() {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        an_enrolment_revokes_only_earlier_consents_and_a_consent_after_it_allows(app).await;
    }
}

async fn a_silent_call_keeps_marketing_calls_away_from_the_number_for_seven_days(app: TestApp) {
    anna_with_consents(&app).await;
    app.clock.set(at("2026-12-03T10:05:00Z"));
    let (status, body) = app
        .post(
            "/v1/dialer/outcomes",
            "write",
            &json!({ "phone": "+39 333 1234567", "outcome": "silent", "campaign": "Inverno",
                     "operator": "dialer-1", "called_at": "2026-12-03T10:00:00Z" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let body = ring(&app, "2026-12-09T10:00:00Z", "phone.call").await;
    assert_eq!(body["rule"], "silent_call_cooldown", "{body}");
    assert_eq!(
        body["cause"]["next_allowed_at"], "2026-12-10T10:00:00Z",
        "{body}"
    );
    assert_eq!(
        ring(&app, "2026-12-10T10:00:00Z", "phone.call").await["outcome"],
        "allowed"
    );
    // An SMS is not a call.
    assert_eq!(
        ring(&app, "2026-12-09T10:00:00Z", "sms.single").await["outcome"],
        "allowed"
    );
}

#[tokio::test]
async fn a_silent_call_keeps_marketing_calls_away_from_the_number_for_seven_days_on_sqlite() {
    a_silent_call_keeps_marketing_calls_away_from_the_number_for_seven_days(spawn_app().await)
        .await;
}

#[tokio::test]
async fn a_silent_call_keeps_marketing_calls_away_from_the_number_for_seven_days_on_postgresql() {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        a_silent_call_keeps_marketing_calls_away_from_the_number_for_seven_days(app).await;
    }
}

async fn a_campaign_list_holds_the_numbers_callable_now_and_refuses_unchecked_ones_unless_left_out(
    app: TestApp,
) {
    let anna = anna_with_consents(&app).await;
    // Bruno gave the marketing consent too, but his number was never checked.
    let bruno = contact(&app, "Bruno", "+39 333 9876543").await;
    consent(&app, &bruno, "given", "OFFERS").await;
    // Thursday 3 December at 11:00 in Rome.
    app.clock.set(at("2026-12-03T10:00:00Z"));
    let (status, body) = app.get("/v1/campaigns/Inverno/list", "decide").await;
    assert_eq!(
        (status, &body["field"]),
        (409, &json!("unchecked")),
        "{body}"
    );
    let (status, body) = app
        .get(
            "/v1/campaigns/Inverno/list?leave_out_unchecked=true",
            "decide",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["numbers"],
        json!([{ "contact_id": anna, "phone": "+393331234567" }]),
        "{body}"
    );
    assert_eq!(
        body["excluded"],
        json!([{ "cause": "rpo_check_missing", "count": 1 }]),
        "{body}"
    );
    // On Sunday nobody; Bruno's missing check is still named, whatever the hour.
    app.clock.set(at("2026-12-06T10:00:00Z"));
    let (status, _) = app.get("/v1/campaigns/Inverno/list", "decide").await;
    assert_eq!(status, 409);
    let (_, body) = app
        .get(
            "/v1/campaigns/Inverno/list?leave_out_unchecked=true",
            "decide",
        )
        .await;
    assert_eq!(body["count"], 0, "{body}");
    assert_eq!(
        body["excluded"],
        json!([
            { "cause": "outside_calling_hours", "count": 1 },
            { "cause": "rpo_check_missing", "count": 1 }
        ]),
        "{body}"
    );
}

#[tokio::test]
async fn a_campaign_list_holds_the_numbers_callable_now_and_refuses_unchecked_ones_unless_left_out_on_sqlite()
 {
    a_campaign_list_holds_the_numbers_callable_now_and_refuses_unchecked_ones_unless_left_out(
        spawn_app().await,
    )
    .await;
}

#[tokio::test]
async fn a_campaign_list_holds_the_numbers_callable_now_and_refuses_unchecked_ones_unless_left_out_on_postgresql()
 {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        a_campaign_list_holds_the_numbers_callable_now_and_refuses_unchecked_ones_unless_left_out(
            app,
        )
        .await;
    }
}

/// The opt-out register's answer imported through the API as `scope`: `answer` to the list
/// `sent`, answered at `checked_at`, read in `enrolled` mode.
async fn import_answer(
    app: &TestApp,
    scope: &str,
    answer: &str,
    sent: &str,
    checked_at: &str,
) -> (u16, Value) {
    app.post(
        "/v1/rpo/answers",
        scope,
        &json!({ "answer": answer, "sent": sent, "file_name": "esito-marzo.csv",
                 "checked_at": checked_at, "mode": "enrolled" }),
    )
    .await
}

/// The due list as the API gives it: status, media type, the count header, the text.
async fn due_list(app: &TestApp, query: &str) -> (u16, String, String, String) {
    let response = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/rpo/due{query}"),
            "admin",
        )
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (media, count) = (header("content-type"), header("consento-count"));
    (
        response.status().as_u16(),
        media,
        count,
        response.text().await.unwrap(),
    )
}

#[tokio::test]
async fn the_due_list_holds_the_unchecked_italian_numbers_in_the_registers_form_with_their_count() {
    let app = spawn_app().await;
    // Anna's number is checked on 1 December; Bruno's and Carla's never; Hans's is German.
    anna_with_consents(&app).await;
    contact(&app, "Bruno", "+39 333 9876543").await;
    contact(&app, "Carla", "+39 06 1234 5678").await;
    contact(&app, "Hans", "+49 151 23456789").await;
    app.clock.set(at("2026-12-02T10:00:00Z"));
    let (status, media, count, text) = due_list(&app, "").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(media, "text/plain; charset=utf-8");
    assert_eq!(
        (count.as_str(), text.as_str()),
        ("2", "0612345678\n3339876543\n")
    );
    let (_, _, _, text) = due_list(&app, "?form=e164").await;
    assert_eq!(text, "+390612345678\n+393339876543\n");
    // Every callable number, checked or not; and Anna's is due again once her check stops
    // counting, 15 days after it.
    let (_, _, count, text) = due_list(&app, "?all=true").await;
    assert_eq!(
        (count.as_str(), text.as_str()),
        ("3", "0612345678\n3331234567\n3339876543\n")
    );
    app.clock.set(at("2026-12-16T10:00:00Z"));
    let (_, _, count, _) = due_list(&app, "").await;
    assert_eq!(count, "3");
    let (status, body) = app.get("/v1/rpo/due?form=international", "admin").await;
    assert_eq!((status, &body["field"]), (400, &json!("form")), "{body}");
}

async fn an_answer_imported_through_the_api_revokes_the_earlier_consent_and_shows_in_the_status(
    app: TestApp,
) {
    let anna = anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    let bruno = contact(&app, "Bruno", "+39 333 9876543").await;
    consent(&app, &bruno, "given", "OFFERS").await;
    app.clock.set(at("2026-03-02T11:00:00Z"));
    let (status, before) = app.get("/v1/rpo/status", "admin").await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["latest"], Value::Null, "{before}");
    assert_eq!(
        (
            &before["due"],
            &before["enrolled"],
            &before["checked_valid"]
        ),
        (&json!(2), &json!(0), &json!(0)),
        "{before}"
    );
    // The register answers that Anna's number is enrolled, at 10:00 in Rome (local time).
    let (_, _, _, sent) = due_list(&app, "").await;
    let answer = "numero;esito\n3331234567;1\n3339876543;0\n";
    let (status, report) = import_answer(&app, "admin", answer, &sent, "2026-03-02T10:00").await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(
        (
            &report["numbers"],
            &report["enrolled"],
            &report["newly_enrolled"],
            &report["revoked"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(1)),
        "{report}"
    );
    assert_eq!(report["valid_until"], "2026-03-17T09:00:00Z", "{report}");
    let (_, history) = app
        .get(&format!("/v1/contacts/{anna}/consents/history"), "read")
        .await;
    let revoked: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{history}");
    assert_eq!(
        (
            &revoked[0]["type_code"],
            &revoked[0]["method"],
            &revoked[0]["event_time"]
        ),
        (
            &json!("OFFERS"),
            &json!("rpo"),
            &json!("2026-03-02T09:00:00Z")
        )
    );
    let (_, after) = app.get("/v1/rpo/status", "admin").await;
    let latest = &after["latest"];
    assert_eq!(latest["id"], report["check_id"], "{after}");
    assert_eq!(
        (
            &latest["answered_at"],
            &latest["valid_until"],
            &latest["file_name"],
            &latest["answer_mode"]
        ),
        (
            &json!("2026-03-02T09:00:00Z"),
            &json!("2026-03-17T09:00:00Z"),
            &json!("esito-marzo.csv"),
            &json!("enrolled")
        ),
        "{after}"
    );
    use sha2::Digest as _;
    let sha: String = sha2::Sha256::digest(answer.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(latest["file_sha256"], sha, "{after}");
    assert!(
        latest["imported_by"]
            .as_str()
            .unwrap()
            .starts_with("token:"),
        "{after}"
    );
    assert_eq!(
        (
            &latest["numbers"],
            &latest["enrolled"],
            &latest["newly_enrolled"],
            &latest["revoked"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(1)),
        "{after}"
    );
    assert_eq!(after["recent"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(
        (&after["due"], &after["enrolled"], &after["checked_valid"]),
        (&json!(0), &json!(1), &json!(2)),
        "{after}"
    );
    let (status, verified) = app.get("/v1/ledger/verify", "admin").await;
    assert_eq!(status, 200, "{verified}");
}

#[tokio::test]
async fn an_answer_imported_through_the_api_revokes_the_earlier_consent_and_shows_in_the_status_on_sqlite()
 {
    an_answer_imported_through_the_api_revokes_the_earlier_consent_and_shows_in_the_status(
        spawn_app().await,
    )
    .await;
}

#[tokio::test]
async fn an_answer_imported_through_the_api_revokes_the_earlier_consent_and_shows_in_the_status_on_postgresql()
 {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        an_answer_imported_through_the_api_revokes_the_earlier_consent_and_shows_in_the_status(app)
            .await;
    }
}

async fn an_answer_with_a_bad_line_is_refused_naming_the_file_and_writes_nothing(app: TestApp) {
    let anna = anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    app.clock.set(at("2026-03-02T11:00:00Z"));
    let sent = "3331234567\n";
    // A number the list did not hold, and an outcome that is not one.
    let answer = "3331234567;iscritto\n3330000000;1\n3331234567;forse\n";
    let (status, body) = import_answer(&app, "admin", answer, sent, "2026-03-02T10:00").await;
    assert_eq!((status, &body["field"]), (422, &json!("answer")), "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("line 2") && detail.contains("line 3"),
        "{body}"
    );
    // The list sent is read first, and named when it is the one at fault.
    let (status, body) = import_answer(
        &app,
        "admin",
        "3331234567;1\n",
        "3331234567\nnot a number\n",
        "2026-03-02T10:00",
    )
    .await;
    assert_eq!((status, &body["field"]), (422, &json!("sent")), "{body}");
    // The register cannot have answered tomorrow.
    let (status, body) =
        import_answer(&app, "admin", "3331234567;1\n", sent, "2026-03-03T10:00").await;
    assert_eq!(
        (status, &body["field"]),
        (422, &json!("checked_at")),
        "{body}"
    );
    // Nothing was written: no check, the consent in force, the number still due.
    let (_, status_now) = app.get("/v1/rpo/status", "admin").await;
    assert_eq!(status_now["latest"], Value::Null, "{status_now}");
    assert_eq!(status_now["due"], 1, "{status_now}");
    let (_, current) = app
        .get(&format!("/v1/contacts/{anna}/consents"), "read")
        .await;
    assert!(current.to_string().contains("OFFERS"), "{current}");
    let (_, history) = app
        .get(&format!("/v1/contacts/{anna}/consents/history"), "read")
        .await;
    assert!(
        !history["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "revoked"),
        "{history}"
    );
}

#[tokio::test]
async fn an_answer_with_a_bad_line_is_refused_naming_the_file_and_writes_nothing_on_sqlite() {
    an_answer_with_a_bad_line_is_refused_naming_the_file_and_writes_nothing(spawn_app().await)
        .await;
}

#[tokio::test]
async fn an_answer_with_a_bad_line_is_refused_naming_the_file_and_writes_nothing_on_postgresql() {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        an_answer_with_a_bad_line_is_refused_naming_the_file_and_writes_nothing(app).await;
    }
}

#[tokio::test]
async fn the_registers_routes_need_an_admin_token() {
    let app = spawn_app().await;
    let body = json!({ "answer": "3331234567;1\n", "sent": "3331234567\n", "file_name": "a.csv",
                       "checked_at": "2026-03-02T10:00", "mode": "enrolled" });
    for (method, path) in [
        (reqwest::Method::GET, "/v1/rpo/status"),
        (reqwest::Method::GET, "/v1/rpo/due"),
        (reqwest::Method::POST, "/v1/rpo/answers"),
    ] {
        let url = format!("{}{path}", app.base);
        let (status, problem) =
            crate::support::send(app.client.request(method.clone(), &url).json(&body)).await;
        assert_eq!(status, 401, "{method} {path}: {problem}");
        let (status, _) = app.send(method.clone(), path, "write", &body).await;
        assert_eq!(status, 403, "{method} {path}");
    }
    let (_, status_now) = app.get("/v1/rpo/status", "admin").await;
    assert_eq!(status_now["latest"], Value::Null, "{status_now}");
}
