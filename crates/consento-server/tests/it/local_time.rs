//! Local time at the zone boundary, with the injected clock: at 00:30 in Rome (23:30 UTC the day
//! before) the API, the console and the deadlines take the local date as today; and the command
//! line, on the real clock, reads and prints dates in the configured zone.

use std::time::{SystemTime, UNIX_EPOCH};

use consento_domain::{Timestamp, Zone};
use serde_json::json;

use crate::support::{Scratch, TestApp, spawn_app};

/// 00:30 on 1 December 2026 in Rome: still 30 November in UTC.
const HALF_PAST_MIDNIGHT: &str = "2026-11-30T23:30:00Z";

fn at(text: &str) -> Timestamp {
    Timestamp::parse("t", text).unwrap()
}

/// A newsletter type and a contact, through the API; returns the contact's id.
async fn newsletter_and_contact(app: &TestApp) -> String {
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "NEWS", "title": "Newsletter", "validity_days": 365,
                     "permits": ["email.bulk"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, c) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "name": "Anna Rossi", "emails": ["anna@example.it"] }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn at_half_past_midnight_in_rome_the_api_takes_the_local_date_as_today() {
    let app = spawn_app().await;
    app.clock.set(at(HALF_PAST_MIDNIGHT));
    let id = newsletter_and_contact(&app).await;
    let path = format!("/v1/contacts/{id}/consents");
    let (status, tomorrow) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "given", "type_code": "NEWS", "method": "paper",
                     "event_time": "2026-12-02" }),
        )
        .await;
    assert_eq!(
        (status, tomorrow["field"].as_str()),
        (422, Some("event_time"))
    );
    let (status, today) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "given", "type_code": "NEWS", "method": "paper",
                     "event_time": "2026-12-01" }),
        )
        .await;
    assert_eq!(
        status, 201,
        "the local date is today, not the future: {today}"
    );
    // The start of 1 December in Rome (CET), stored as UTC; the validity counts from there.
    assert_eq!(today["event_time"], "2026-11-30T23:00:00Z");
    assert_eq!(today["expires_at"], "2027-11-30T23:00:00Z");
    // An instant with an offset is taken as given.
    let (status, offset) = app
        .post(
            &path,
            "write",
            &json!({ "kind": "withdrawn", "type_code": "NEWS", "method": "phone",
                     "event_time": "2026-12-01T00:20:00+01:00" }),
        )
        .await;
    assert_eq!(status, 201, "{offset}");
    assert_eq!(offset["event_time"], "2026-11-30T23:20:00Z");
}

#[tokio::test]
async fn at_half_past_midnight_in_rome_the_card_offers_and_accepts_the_local_date() {
    let app = spawn_app().await;
    app.clock.set(at(HALF_PAST_MIDNIGHT));
    let id = newsletter_and_contact(&app).await;
    let operator = app.console_as("operator").await;
    let card = operator.get(&format!("/contacts/{id}")).await;
    assert_eq!(card.status, 200);
    assert!(
        card.body.contains(r#"value="2026-12-01" max="2026-12-01""#),
        "the date field offers today's local date: {}",
        card.body
    );
    assert!(
        card.body
            .contains("Date e orari nel fuso orario Europe/Rome.")
    );
    let saved = operator
        .post(
            &format!("/contacts/{id}/consents"),
            &[
                ("listed", "NEWS"),
                ("type-NEWS", "1"),
                ("date-NEWS", "2026-12-01"),
                ("method", "paper"),
                ("evidence", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (_, history) = app
        .get(&format!("/v1/contacts/{id}/consents/history"), "read")
        .await;
    // Today's date on the card means now: the validity counts from the moment.
    assert_eq!(history["items"][0]["event_time"], HALF_PAST_MIDNIGHT);
    let card = operator.get(&format!("/contacts/{id}")).await;
    assert!(card.body.contains("1º dicembre 2026"), "{}", card.body);
}

#[tokio::test]
async fn a_request_received_at_half_past_midnight_in_rome_is_due_a_month_from_the_local_day() {
    let app = spawn_app().await;
    app.clock.set(at(HALF_PAST_MIDNIGHT));
    let (status, r) = app
        .post(
            "/v1/requests",
            "write",
            &json!({ "kind": "access", "channel": "email" }),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    // Received on 1 December (local): one month later is 1 January, a holiday, then a
    // weekend: Monday 4 January. Counted from the UTC date it would be 30 December.
    assert_eq!(r["due_on"], "2027-01-04");
    let (status, typed) = app
        .post(
            "/v1/requests",
            "write",
            &json!({ "kind": "access", "channel": "letter", "received_at": "2026-09-04" }),
        )
        .await;
    assert_eq!(status, 201, "{typed}");
    // 4 October 2026 is a Sunday and, from 2026, San Francesco: Monday 5 October.
    assert_eq!(typed["received_at"], "2026-09-03T22:00:00Z");
    assert_eq!(typed["due_on"], "2026-10-05");
}

/// The real now.
fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros();
    Timestamp::from_micros(i64::try_from(micros).unwrap())
}

#[test]
fn the_command_line_reads_and_prints_dates_in_the_configured_zone() {
    // Kiritimati (UTC+14) is a day ahead of UTC from 10:00 UTC, Pago Pago (UTC-11) a day behind
    // until 11:00 UTC: whatever the hour, one of them has another date than UTC's.
    for name in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        let zone = Zone::parse(name).unwrap();
        let today = zone.today(now()).unwrap().to_string();
        let db = Scratch::new().with_env("CONSENTO_LOCALE__TIME_ZONE", name);
        db.ok(&[
            "types",
            "add",
            "--code",
            "NEWS",
            "--title",
            "Newsletter",
            "--validity-days",
            "10",
            "--bulk-email",
        ]);
        db.ok(&[
            "contacts",
            "add",
            "--external-id",
            "C-1",
            "--email",
            "c1@example.it",
        ]);
        let out = db.ok(&[
            "consents", "give", "C-1", "--type", "NEWS", "--date", &today, "--method", "paper",
        ]);
        assert!(
            out.contains(&format!(" on {today}, expires ")),
            "{name}: today's local date is accepted and printed as typed: {out}"
        );
        let history = db.json(&["consents", "history", "C-1"]);
        let stored = Timestamp::parse("t", history[0]["event_time"].as_str().unwrap()).unwrap();
        assert_eq!(
            zone.start_of(zone.today(now()).unwrap()),
            Some(stored),
            "{name}: the start of the local day"
        );
    }
}
