//! Double opt-in over real email: the public form and the API ask, the mail worker hands the
//! confirmation to an SMTP server on loopback (the test's receiver), the test reads the message
//! it got (parsed by a MIME library), follows its link like a person, and checks what the ledger
//! recorded and what the newsletter now reaches.

use std::time::Duration;

use consento_domain::{
    ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind, Permissions,
};
use consento_server::config::{MailConfig, MailTls};
use consento_store::{AudienceQuery, ContactRef, NoticeInput};
use futures_util::TryStreamExt;
use serde_json::{Value, json};

use crate::smtp_server::{Received, SmtpServer};
use crate::support::{TestApp, spawn_app_with};

const HOUR: i64 = 3_600_000_000;

/// The mail settings of a test: the receiver on loopback, plain text (allowed there only),
/// a quick poll.
pub(crate) fn mail_config(port: u16, enabled: bool) -> MailConfig {
    MailConfig {
        enabled,
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        tls: MailTls::None,
        from_address: "privacy@esempio.it".into(),
        from_name: "Esempio Privacy".into(),
        controller_name: "Esempio S.r.l.".into(),
        poll_interval_ms: 20,
        ..MailConfig::default()
    }
}

/// The application with the mail worker sending to `smtp`, a newsletter and an events topic,
/// and a published Italian privacy notice.
async fn app_mailing_to(smtp: &SmtpServer, worker: bool) -> TestApp {
    let port = smtp.port;
    let app = spawn_app_with(false, |c| c.mail = mail_config(port, worker))
        .await
        .unwrap();
    for (code, title) in [
        ("NEWS", "Newsletter mensile"),
        ("EVENTS", "Inviti agli eventi"),
    ] {
        app.store
            .create_consent_type(ConsentTypeSpec {
                title: title.into(),
                code: ConsentCode::parse(code).unwrap(),
                description: Some(format!("Descrizione di {title}")),
                validity_days: Some(365),
                permissions: Permissions {
                    email_bulk: true,
                    ..Permissions::default()
                },
                show_in_preference_center: true,
                purpose: Default::default(),
            })
            .await
            .unwrap();
    }
    app.store
        .publish_notice(NoticeInput {
            version: "2025-06".into(),
            language: "it".into(),
            url: Some("https://esempio.it/privacy".into()),
            body: None,
        })
        .await
        .unwrap();
    app
}

/// A browser on the public pages: no cookies, no redirects followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("TestBrowser/1.0")
        .build()
        .unwrap()
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.text().await.unwrap(),
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Answer {
    answer(client.get(url).send().await.unwrap()).await
}

async fn post(client: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Answer {
    answer(client.post(url).form(form).send().await.unwrap()).await
}

/// Submits the public form in `lang`.
async fn subscribe(app: &TestApp, lang: &str, email: &str, topics: &[&str]) -> Answer {
    let mut form = vec![("email", email), ("name", "Giulia Bianchi")];
    form.extend(topics.iter().map(|t| ("topic", *t)));
    post(
        &browser(),
        &format!("{}/subscribe?lang={lang}", app.base),
        &form,
    )
    .await
}

/// The confirmation link of a message, from its plain-text part.
fn link_of(message: &Received) -> String {
    let parsed = message.parsed();
    let text = parsed.body_text(0).unwrap().into_owned();
    text.split_whitespace()
        .find(|w| w.contains("/confirm/"))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .to_owned()
}

/// The consent events of the contact with `email`.
async fn history(app: &TestApp, email: &str) -> Vec<consento_store::HistoryEntry> {
    app.store
        .consent_history(&ContactRef::Email(email.into()))
        .await
        .unwrap()
}

async fn newsletter(app: &TestApp) -> Vec<String> {
    app.store
        .audience(&AudienceQuery {
            type_code: Some("NEWS".into()),
            at: None,
        })
        .await
        .unwrap()
        .map_ok(|m| m.email)
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_person_subscribes_on_the_form_confirms_from_the_email_and_joins_the_newsletter() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp, true).await;
    let client = browser();

    // The form, in Italian, offers the preference center's topics.
    let form = get(&client, &format!("{}/subscribe?lang=it", app.base)).await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("Iscrizione alle comunicazioni"),
        "{}",
        form.body
    );
    assert!(form.body.contains("Newsletter mensile") && form.body.contains("Inviti agli eventi"));
    assert!(form.body.contains(r#"<label for="email">"#));
    assert!(form.body.contains("https://esempio.it/privacy"));

    let sent = subscribe(&app, "it", " Giulia.Bianchi@Example.it ", &["NEWS"]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location.as_deref(), Some("/subscribe/sent?lang=it"));
    let page = get(&client, &format!("{}/subscribe/sent?lang=it", app.base)).await;
    assert!(page.body.contains("Controllare la casella di posta"));
    assert!(
        page.body.contains("Il link è valido per 48 ore."),
        "{}",
        page.body
    );

    // The email: to the address, from the controller's sender, both parts, in Italian.
    let messages = smtp.wait_for(1).await;
    let message = &messages[0];
    assert_eq!(message.to, vec!["giulia.bianchi@example.it".to_owned()]);
    assert_eq!(message.from, "privacy@esempio.it");
    let raw = message.raw();
    assert!(raw.contains("multipart/alternative"), "{raw}");
    let parsed = message.parsed();
    assert_eq!(
        parsed.subject(),
        Some("Conferma dell'iscrizione alle comunicazioni di Esempio S.r.l.")
    );
    assert_eq!(
        parsed.from().unwrap().first().unwrap().name(),
        Some("Esempio Privacy")
    );
    let text = parsed.body_text(0).unwrap().into_owned();
    let html = parsed.body_html(0).unwrap().into_owned();
    for part in [&text, &html] {
        assert!(part.contains("Buongiorno,"), "{part}");
        assert!(
            part.contains("Newsletter mensile"),
            "what they subscribe to: {part}"
        );
        assert!(
            !part.contains("Inviti agli eventi"),
            "only what was asked: {part}"
        );
        assert!(part.contains("Titolare del trattamento dei dati: Esempio S.r.l."));
        assert!(!part.contains("S.r.l.."));
        assert!(part.contains("basta ignorare questa email: senza conferma non succede nulla"));
        assert!(
            part.contains("Il link è valido fino al"),
            "the expiry: {part}"
        );
    }
    assert!(!text.contains('<'), "the text part is plain: {text}");
    let link = link_of(message);
    assert!(
        link.starts_with(&format!("{}/confirm/", app.base)),
        "{link}"
    );
    assert!(link.ends_with("?lang=it"), "{link}");
    assert!(html.contains(&format!(r#"<a href="{link}">"#)), "{html}");
    assert!(
        !text.contains("Giulia Bianchi"),
        "a typed name is never mailed"
    );

    // Opening the link (as a mail scanner would) gives nothing.
    let opened = get(&client, &link).await;
    assert_eq!(opened.status, 200);
    assert!(
        opened.body.contains("Confermo l&#39;iscrizione")
            || opened.body.contains("Confermo l'iscrizione"),
        "{}",
        opened.body
    );
    assert!(opened.body.contains("versione 2025-06"), "{}", opened.body);
    assert!(history(&app, "giulia.bianchi@example.it").await.is_empty());
    assert!(newsletter(&app).await.is_empty());

    // Pressing the button gives it, with both proofs.
    let token_path = link.trim_start_matches(&app.base).to_owned();
    let confirmed = post(&client, &link, &[]).await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(confirmed.location.as_deref(), Some(token_path.as_str()));
    let done = get(&client, &link).await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("Iscrizione confermata"), "{}", done.body);

    let events = history(&app, "giulia.bianchi@example.it").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let given = &events[0];
    assert_eq!(
        (given.type_code.as_str(), given.kind),
        ("NEWS", EventKind::Given)
    );
    assert_eq!(given.method, CollectionMethod::DoubleOptIn);
    assert_eq!(given.actor_kind, ActorKind::Subject);
    assert_eq!(given.notice_version.as_deref(), Some("2025-06"));
    let evidence: Value = serde_json::from_str(given.evidence.as_deref().unwrap()).unwrap();
    let proof = &evidence["double_opt_in"];
    assert_eq!(proof["address"], "giulia.bianchi@example.it");
    assert_eq!(proof["request"]["source"], "form");
    assert_eq!(proof["request"]["user_agent"], "TestBrowser/1.0");
    assert_eq!(proof["request"]["ip"], "127.0.0.0/24");
    assert!(proof["request"]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(proof["confirmation"]["user_agent"], "TestBrowser/1.0");
    assert_eq!(proof["confirmation"]["ip"], "127.0.0.0/24");
    assert!(proof["confirmation"]["at"].as_str().is_some());
    // The newsletter now reaches the address.
    assert_eq!(
        newsletter(&app).await,
        vec!["giulia.bianchi@example.it".to_owned()]
    );

    // Confirming twice records nothing new.
    let again = post(&client, &link, &[]).await;
    assert_eq!(again.status, 303);
    assert_eq!(history(&app, "giulia.bianchi@example.it").await.len(), 1);
    // The sent email keeps no link in the outbox.
    let outbox = app.store.email_messages(10).await.unwrap();
    assert!(outbox[0].sent_at.is_some());
    app.shutdown().await;
}

#[tokio::test]
async fn the_form_refuses_a_bad_address_and_no_topic_in_the_persons_language() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp, false).await;
    let it = post(
        &browser(),
        &format!("{}/subscribe?lang=it", app.base),
        &[("email", "non-un-indirizzo"), ("name", "Giulia")],
    )
    .await;
    assert_eq!(it.status, 422);
    assert!(
        it.body.contains("Inserire un indirizzo email valido"),
        "{}",
        it.body
    );
    assert!(it.body.contains("Scegliere almeno un argomento"));
    assert!(
        it.body.contains(r#"value="non-un-indirizzo""#),
        "what was typed is kept"
    );
    let en = post(
        &browser(),
        &format!("{}/subscribe?lang=en", app.base),
        &[
            ("email", "ok@example.com"),
            ("topic", "NEWS"),
            ("topic", "NOT-A-TOPIC"),
        ],
    )
    .await;
    assert_eq!(en.status, 422);
    assert!(
        en.body.contains("Choose at least one topic."),
        "{}",
        en.body
    );
    assert!(en.body.contains(r#"value="ok@example.com""#));
    assert_eq!(app.store.email_outbox_stats().await.unwrap().pending, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn an_expired_link_records_nothing_and_offers_to_subscribe_again() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp, true).await;
    subscribe(&app, "en", "late@example.com", &["NEWS", "EVENTS"]).await;
    let link = link_of(&smtp.wait_for(1).await[0]);
    app.clock.advance(48 * HOUR + 1);
    let client = browser();
    let page = get(&client, &link).await;
    assert_eq!(page.status, 410);
    assert!(page.body.contains("This link has expired"), "{}", page.body);
    assert!(
        page.body.contains(r#"href="/subscribe?lang=en""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("confirm-button"));
    let posted = post(&client, &link, &[]).await;
    assert_eq!(posted.status, 303);
    assert_eq!(get(&client, &link).await.status, 410);
    assert!(history(&app, "late@example.com").await.is_empty());
    // A link that is not ours says so, and reveals nothing.
    let forged = format!("{}/confirm/{}", app.base, "A".repeat(43));
    let unknown = post(&client, &forged, &[]).await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body.contains("This link is not valid") || unknown.body.contains("Link non valido")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_repeat_request_within_the_window_sends_no_second_email() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp, true).await;
    let first = subscribe(&app, "it", "ripetuto@example.it", &["NEWS"]).await;
    smtp.wait_for(1).await;
    app.clock.advance(5 * 60_000_000);
    let second = subscribe(&app, "it", "Ripetuto@example.it", &["NEWS", "EVENTS"]).await;
    // The same answer either way.
    assert_eq!(
        (first.status, first.location.clone()),
        (second.status, second.location)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        smtp.messages().len(),
        1,
        "a second email within ten minutes"
    );
    assert_eq!(app.store.email_messages(10).await.unwrap().len(), 1);
    // After the window, another one goes.
    app.clock.advance(6 * 60_000_000);
    subscribe(&app, "it", "ripetuto@example.it", &["NEWS"]).await;
    assert_eq!(smtp.wait_for(2).await.len(), 2);
    app.shutdown().await;
}

#[tokio::test]
async fn a_suppressed_address_gets_no_email_and_the_same_answer() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp, true).await;
    app.store
        .suppress(&ContactRef::Email("blocked@example.it".into()), "objection")
        .await
        .unwrap();
    let known = subscribe(&app, "it", "someone@example.it", &["NEWS"]).await;
    let suppressed = subscribe(&app, "it", "Blocked@Example.it", &["NEWS"]).await;
    assert_eq!(
        (known.status, known.location, known.body),
        (suppressed.status, suppressed.location, suppressed.body)
    );
    smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, vec!["someone@example.it".to_owned()]);
    assert!(
        app.store
            .contact(&ContactRef::Email("blocked@example.it".into()))
            .await
            .is_err(),
        "no contact is made for a suppressed address"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_refused_delivery_is_retried_later_with_backoff_and_then_delivered() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp, true).await;
    smtp.refuse_next(451);
    subscribe(&app, "it", "retry@example.it", &["NEWS"]).await;
    // The first attempt is refused for now: recorded with its code, retried no sooner than half
    // the first backoff (60 s).
    let mut failed = None;
    for _ in 0..500 {
        let m = app.store.email_messages(1).await.unwrap().remove(0);
        if m.last_error.is_some() {
            failed = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failed = failed.expect("the refusal is recorded");
    assert_eq!(smtp.refused(), 1);
    assert_eq!(
        (failed.attempts, failed.last_error.as_deref()),
        (1, Some("smtp_451"))
    );
    let wait = failed.next_attempt_at.as_micros() - app.store.now().as_micros();
    assert!((30_000_000..=60_000_000).contains(&wait), "{wait}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(smtp.messages().is_empty(), "not retried before its time");
    // Once due, it goes.
    app.clock.advance(wait);
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages[0].to, vec!["retry@example.it".to_owned()]);
    // The server has the message before the worker records the delivery: wait for the record.
    let mut sent = app.store.email_messages(1).await.unwrap().remove(0);
    for _ in 0..250 {
        if sent.sent_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        sent = app.store.email_messages(1).await.unwrap().remove(0);
    }
    assert_eq!(sent.attempts, 2);
    assert!(sent.sent_at.is_some() && sent.last_error.is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn an_email_waits_while_the_smtp_server_is_down_and_goes_when_it_is_back() {
    let smtp = SmtpServer::start().await;
    // No worker of its own: the test drives the passes.
    let app = app_mailing_to(&smtp, false).await;
    subscribe(&app, "en", "down@example.com", &["NEWS"]).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_port = closed.local_addr().unwrap().port();
    drop(closed);
    let store = std::sync::Arc::clone(&app.store);
    let pass = consento_server::mail::send_once(
        store.clone(),
        mail_config(down_port, true),
        &consento_domain::Zone::rome(),
    )
    .await
    .unwrap();
    assert_eq!((pass.claimed, pass.retrying), (1, 1));
    let m = app.store.email_messages(1).await.unwrap().remove(0);
    assert_eq!(m.last_error.as_deref(), Some("connect"));
    // Not due yet: the next pass, even with the server back, sends nothing.
    let pass = consento_server::mail::send_once(
        store.clone(),
        mail_config(smtp.port, true),
        &consento_domain::Zone::rome(),
    )
    .await
    .unwrap();
    assert_eq!(pass.claimed, 0);
    app.clock.advance(HOUR);
    let pass = consento_server::mail::send_once(
        store.clone(),
        mail_config(smtp.port, true),
        &consento_domain::Zone::rome(),
    )
    .await
    .unwrap();
    assert_eq!((pass.claimed, pass.sent), (1, 1));
    let message = &smtp.messages()[0];
    assert_eq!(
        message.parsed().subject(),
        Some("Please confirm your subscription to Esempio S.r.l.")
    );
    // A permanent refusal gives up at once.
    subscribe(&app, "en", "bounce@example.com", &["NEWS"]).await;
    smtp.refuse_next(550);
    let pass = consento_server::mail::send_once(
        store.clone(),
        mail_config(smtp.port, true),
        &consento_domain::Zone::rome(),
    )
    .await
    .unwrap();
    assert_eq!((pass.claimed, pass.dead), (1, 1));
    app.shutdown().await;
}

#[tokio::test]
async fn the_api_asks_for_a_confirmation_in_english_and_the_person_confirms_it() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp, true).await;
    let body = json!({
        "email": "Crm.Person@Example.com", "types": ["EVENTS"], "name": "Crm Person",
        "locale": "en", "user_agent": "Mozilla/5.0 (CRM form)", "ip": "203.0.113.77"
    });
    let (status, _) = app
        .send(reqwest::Method::POST, "/v1/subscriptions", "read", &body)
        .await;
    assert_eq!(status, 403, "needs write");
    let (status, answer) = app.post("/v1/subscriptions", "write", &body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer, json!({"status": "accepted", "confirm_hours": 48}));
    // Refusals name the field.
    let (status, problem) = app
        .post(
            "/v1/subscriptions",
            "write",
            &json!({"email": "x@example.com", "types": ["NOPE"]}),
        )
        .await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("types")));
    let (status, problem) = app
        .post(
            "/v1/subscriptions",
            "write",
            &json!({"email": "x@example.com", "types": ["NEWS"], "locale": "fr"}),
        )
        .await;
    assert_eq!((status, problem["field"].as_str()), (400, Some("locale")));

    let message = &smtp.wait_for(1).await[0];
    let parsed = message.parsed();
    assert_eq!(
        parsed.subject(),
        Some("Please confirm your subscription to Esempio S.r.l.")
    );
    let text = parsed.body_text(0).unwrap().into_owned();
    assert!(
        text.contains("Hello,") && text.contains("Inviti agli eventi"),
        "{text}"
    );
    assert!(text.contains("simply ignore this email"));
    let link = link_of(message);
    assert!(link.ends_with("?lang=en"));
    let client = browser();
    let page = get(&client, &link).await;
    assert!(
        page.body.contains("I confirm the subscription"),
        "{}",
        page.body
    );
    post(&client, &link, &[]).await;
    let events = history(&app, "crm.person@example.com").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].type_code, "EVENTS");
    let evidence: Value = serde_json::from_str(events[0].evidence.as_deref().unwrap()).unwrap();
    let request = &evidence["double_opt_in"]["request"];
    assert_eq!(request["source"], "api");
    assert_eq!(request["ip"], "203.0.113.0/24", "never the full address");
    assert_eq!(request["user_agent"], "Mozilla/5.0 (CRM form)");
    assert!(
        request["requested_by"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(
        !events[0]
            .evidence
            .as_deref()
            .unwrap()
            .contains("203.0.113.77")
    );
    app.shutdown().await;
}
