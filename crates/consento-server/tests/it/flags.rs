//! Restriction (GDPR Art. 18) and objection (Art. 21) as data-subject requests: completing the
//! request sets the flag the decision engine honours, lifting a restriction tells the person by
//! a real email (delivered by the mail worker to an SMTP server on loopback), and the history
//! keeps who did what, through the API and the console.

use serde_json::{Value, json};

use crate::smtp_server::SmtpServer;
use crate::subscribe::mail_config;
use crate::support::{TestApp, spawn_app, spawn_app_with};

async fn contact(app: &TestApp, email: &str) -> String {
    let (status, c) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({"name": "Paola Neri", "emails": [email], "phones": [format!("+39 347 555 {:04}", email.len())]}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

async fn request(app: &TestApp, kind: &str, contact_id: Option<&str>) -> String {
    let mut body = json!({"kind": kind, "channel": "email"});
    if let Some(c) = contact_id {
        body["contact_id"] = json!(c);
    }
    let (status, r) = app.post("/v1/requests", "write", &body).await;
    assert_eq!(status, 201, "{r}");
    r["id"].as_str().unwrap().to_owned()
}

async fn move_to(app: &TestApp, id: &str, to: &str) -> (u16, Value) {
    app.post(
        &format!("/v1/requests/{id}/transitions"),
        "write",
        &json!({"to": to}),
    )
    .await
}

async fn lift_restriction(app: &TestApp, contact_id: &str) -> u16 {
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/contacts/{contact_id}/restriction"),
        "write",
    )
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
}

async fn decide(app: &TestApp, contact_id: &str, action: &str) -> Value {
    let (status, d) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({"contact": {"contact_id": contact_id}, "action": action}),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    d
}

#[tokio::test]
async fn completing_a_restriction_request_blocks_every_contact_and_lifting_it_emails_the_person() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let app = spawn_app_with(false, |c| {
        c.mail = mail_config(port, true);
        c.controller.contact = "privacy@esempio.it".into();
        c.console.default_locale = "en".into();
    })
    .await
    .unwrap();
    let id = contact(&app, "paola.neri@example.it").await;
    let r = request(&app, "restriction", Some(&id)).await;
    assert_eq!(
        decide(&app, &id, "phone.call").await["outcome"],
        "needs_justification"
    );

    assert_eq!(move_to(&app, &r, "in_progress").await.0, 200);
    let (status, done) = move_to(&app, &r, "completed").await;
    assert_eq!(status, 200, "{done}");
    let (_, c) = app.get(&format!("/v1/contacts/{id}"), "read").await;
    assert!(c["restricted_at"].is_string(), "{c}");
    let d = decide(&app, &id, "phone.call").await;
    assert_eq!(d["outcome"], "blocked", "{d}");
    assert_eq!(d["cause"]["code"], "restricted", "{d}");
    assert!(
        smtp.messages().is_empty(),
        "setting a restriction mails nobody"
    );

    // Lifting it: the person is told (Art. 18(3)), once.
    assert_eq!(lift_restriction(&app, &id).await, 200);
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages[0].to, vec!["paola.neri@example.it".to_owned()]);
    let parsed = messages[0].parsed();
    assert!(
        parsed
            .subject()
            .unwrap()
            .contains("restriction of processing of your data is lifted"),
        "{:?}",
        parsed.subject()
    );
    let text = parsed.body_text(0).unwrap().into_owned();
    assert!(text.contains("Art. 18(3)"), "{text}");
    assert!(
        text.contains("privacy@esempio.it"),
        "the controller's contact: {text}"
    );
    let html = parsed.body_html(0).unwrap().into_owned();
    assert!(html.contains("lodge a complaint"), "{html}");
    assert_eq!(
        decide(&app, &id, "phone.call").await["outcome"],
        "needs_justification"
    );
    assert_eq!(lift_restriction(&app, &id).await, 200);

    // The history: set by the request, lifted by the token; nothing for the repeated lift.
    let (status, history) = app.get(&format!("/v1/contacts/{id}/flags"), "read").await;
    assert_eq!(status, 200, "{history}");
    let rows = history.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{history}");
    assert_eq!(rows[0]["flag"], "restriction");
    assert_eq!(rows[0]["raised"], true);
    assert_eq!(rows[0]["request_id"], r.as_str());
    assert_eq!(rows[1]["raised"], false);
    assert_eq!(rows[1]["actor"]["kind"], "token");
    assert!(rows[1]["request_id"].is_null());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(smtp.messages().len(), 1, "a lift of nothing sends nothing");
    app.shutdown().await;
}

#[tokio::test]
async fn an_objection_request_can_only_be_completed_once_linked_to_its_contact() {
    let app = spawn_app().await;
    let id = contact(&app, "obiezione@example.it").await;
    let r = request(&app, "objection", None).await;
    assert_eq!(move_to(&app, &r, "in_progress").await.0, 200);
    let (status, p) = move_to(&app, &r, "completed").await;
    assert_eq!(
        (status, p["field"].as_str()),
        (409, Some("contact_id")),
        "{p}"
    );
    let (_, still) = app.get(&format!("/v1/requests/{r}"), "read").await;
    assert_eq!(
        still["status"], "in_progress",
        "nothing half-written: {still}"
    );

    let link = format!("/v1/requests/{r}/contact");
    let (status, p) = app
        .send(
            reqwest::Method::PUT,
            &link,
            "write",
            &json!({"contact_id": uuid::Uuid::nil()}),
        )
        .await;
    assert_eq!(status, 404, "{p}");
    let (status, linked) = app
        .send(
            reqwest::Method::PUT,
            &link,
            "write",
            &json!({"contact_id": id}),
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked["contact_id"], id.as_str());
    let (status, p) = app
        .send(
            reqwest::Method::PUT,
            &link,
            "read",
            &json!({"contact_id": id}),
        )
        .await;
    assert_eq!(status, 403, "{p}");

    let (status, done) = move_to(&app, &r, "completed").await;
    assert_eq!(status, 200, "{done}");
    let d = decide(&app, &id, "email.bulk").await;
    assert_eq!(
        (d["outcome"].as_str(), d["cause"]["code"].as_str()),
        (Some("blocked"), Some("objected")),
        "{d}"
    );
    let (_, detail) = app.get(&format!("/v1/requests/{r}"), "read").await;
    let notes: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["note"].as_str())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with("linked to contact")),
        "{detail}"
    );

    // Another contact cannot take the request over.
    let other = contact(&app, "altro@example.it").await;
    let (status, p) = app
        .send(
            reqwest::Method::PUT,
            &link,
            "write",
            &json!({"contact_id": other}),
        )
        .await;
    assert_eq!(
        (status, p["field"].as_str()),
        (409, Some("contact_id")),
        "{p}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_dpo_logs_a_restriction_for_a_contact_in_the_console_and_completing_it_restricts_them()
{
    let app = spawn_app().await;
    let id = contact(&app, "console.limitazione@example.it").await;
    let dpo = app.console_as("dpo").await;

    let card = dpo.get(&format!("/contacts/{id}")).await;
    assert!(
        card.body
            .contains(&format!("/requests?show=all&amp;contact={id}")),
        "{}",
        card.body
    );
    let form = dpo.get(&format!("/requests?show=all&contact={id}")).await;
    assert!(
        form.body
            .contains(&format!(r#"name="contact" value="{id}""#)),
        "{}",
        form.body
    );

    // An unknown person is refused at the field, in the console's language.
    let wrong = dpo
        .post(
            "/requests",
            &[
                ("kind", "restriction"),
                ("channel", "letter"),
                ("contact", "nessuno@example.it"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 200);
    assert!(
        wrong.body.contains("Nessun contatto corrisponde"),
        "{}",
        wrong.body
    );

    let created = dpo
        .post(
            "/requests",
            &[
                ("kind", "restriction"),
                ("channel", "letter"),
                ("contact", "console.limitazione@example.it"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let path = created.location.unwrap();
    let path = path.split('?').next().unwrap().to_owned();
    let moved = dpo
        .post(&format!("{path}/move"), &[("to", "in_progress")])
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let page = dpo.get(&path).await;
    assert!(
        page.body.contains(r#"id="complete-effect""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("/contacts/{id}")),
        "linked to the card"
    );
    assert!(
        !page.body.contains(r#"id="link""#),
        "a linked request offers no link form"
    );
    let moved = dpo
        .post(&format!("{path}/move"), &[("to", "completed")])
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let (_, c) = app.get(&format!("/v1/contacts/{id}"), "read").await;
    assert!(c["restricted_at"].is_string(), "{c}");
    let card = dpo.get(&format!("/contacts/{id}")).await;
    assert!(
        card.body.contains("Trattamento limitato (art. 18 GDPR)"),
        "{}",
        card.body
    );
    assert!(
        card.body.contains("Richiesta dell&#39;interessato")
            || card.body.contains("Richiesta dell'interessato"),
        "{}",
        card.body
    );

    // A request logged without the person gets a link form instead.
    let unlinked = dpo
        .post("/requests", &[("kind", "objection"), ("channel", "phone")])
        .await;
    let path = unlinked
        .location
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let page = dpo.get(&path).await;
    assert!(page.body.contains(r#"id="link""#), "{}", page.body);
    let linked = dpo
        .post(
            &format!("{path}/contact"),
            &[("contact", "+39 347 555 0030")],
        )
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    let (_, r) = app
        .get(
            &format!("/v1/requests/{}", path.trim_start_matches("/requests/")),
            "read",
        )
        .await;
    assert_eq!(r["contact_id"], id.as_str(), "{r}");
    let operator = app.console_as("operator").await;
    let refused = operator
        .post(&format!("{path}/contact"), &[("contact", id.as_str())])
        .await;
    assert_eq!(refused.status, 403);
    app.shutdown().await;
}

#[tokio::test]
async fn the_card_the_dashboard_the_api_and_the_export_agree_with_the_decisions_for_suspended_people()
 {
    let app = spawn_app().await;
    let (status, t) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({"code": "NEWS", "title": "Newsletter", "validity_days": 365, "permits": ["email.bulk"]}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let mut people = Vec::new();
    for name in ["plain", "restricted", "objecting", "erased"] {
        let id = contact(&app, &format!("{name}@example.it")).await;
        let (status, e) = app
            .post(
                &format!("/v1/contacts/{id}/consents"),
                "write",
                &json!({"kind": "given", "type_code": "NEWS", "method": "form"}),
            )
            .await;
        assert_eq!(status, 201, "{e}");
        people.push(id);
    }
    let (plain, restricted, objecting, erased) = (&people[0], &people[1], &people[2], &people[3]);
    let empty = json!({});
    for (id, path) in [(restricted, "restriction"), (objecting, "objection")] {
        let (status, c) = app
            .send(
                reqwest::Method::PUT,
                &format!("/v1/contacts/{id}/{path}"),
                "write",
                &empty,
            )
            .await;
        assert_eq!(status, 200, "{c}");
    }
    let (status, report) = app
        .post(&format!("/v1/contacts/{erased}/erasure"), "admin", &empty)
        .await;
    assert_eq!(status, 200, "{report}");

    // The decisions: only the plain contact may receive the newsletter.
    for (id, expected, cause) in [
        (plain, "allowed", None),
        (restricted, "blocked", Some("restricted")),
        (objecting, "blocked", Some("objected")),
        (erased, "blocked", Some("erased")),
    ] {
        let d = decide(&app, id, "email.bulk").await;
        assert_eq!(d["outcome"], expected, "{d}");
        assert_eq!(d["cause"]["code"].as_str(), cause, "{d}");
        // The API's consent state says the same.
        let (status, consents) = app
            .get(&format!("/v1/contacts/{id}/consents"), "read")
            .await;
        assert_eq!(status, 200, "{consents}");
        let news = &consents["items"][0];
        assert_eq!(news["valid"], cause.is_none(), "{news}");
        assert_eq!(news["suspended_by"].as_str(), cause, "{news}");
    }

    // The export of the restricted person: given, not expired, and not in force.
    let (status, export) = app
        .get(&format!("/v1/contacts/{restricted}/export"), "read")
        .await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["consents"][0]["valid"], false, "{export}");
    assert_eq!(export["consents"][0]["suspended_by"], "restricted");

    // The dashboard counts one valid consent; the others are suspended, never valid.
    let dpo = app.console_as("dpo").await;
    let dashboard = dpo.get("/").await;
    let row = dashboard
        .body
        .split(r#"<tr data-type="NEWS">"#)
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_default()
        .to_owned();
    let cell = |label: &str| {
        row.split(&format!(r#"data-label="{label}">"#))
            .nth(1)
            .and_then(|c| c.split('<').next())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(cell("Validi"), "1", "{row}");
    assert_eq!(cell("Sospesi"), "3", "{row}");

    // The cards: the erased person's consent is not ticked; the restricted one says why it is
    // suspended instead of "valid until".
    let card = dpo.get(&format!("/contacts/{erased}")).await;
    assert!(
        !card
            .body
            .contains(r#"id="consent-NEWS" name="type-NEWS" value="1" checked"#),
        "{}",
        card.body
    );
    assert!(
        card.body
            .contains("sospeso: interessato cancellato (art. 17 GDPR)")
    );
    let card = dpo.get(&format!("/contacts/{restricted}")).await;
    assert!(
        card.body
            .contains("sospeso: trattamento limitato (art. 18 GDPR)"),
        "{}",
        card.body
    );
    let state = card
        .body
        .split(r#"id="state-NEWS">"#)
        .nth(1)
        .and_then(|c| c.split("</td>").next())
        .unwrap_or_default();
    assert!(!state.contains("valido fino al"), "{state}");
}
