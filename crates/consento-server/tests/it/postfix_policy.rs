//! The policy service for Postfix, spoken to over TCP as Postfix speaks it (the policy
//! delegation protocol): each recipient answered by its decision (`DUNNO`, `550 5.7.1` with the
//! rule, `HOLD`), a held message recorded and its sender told by email with a signed link, the
//! console's held emails releasing it with a reason (the justified contact recorded, Postfix
//! told with `postsuper -H`, here a script recording its arguments), the expiry dropping one
//! and telling its sender (`postsuper -d`), and a request that breaks the protocol refused
//! without harm to the next connection. On SQLite and on PostgreSQL.

use std::time::Duration;

use consento_domain::held::HeldStatus;
use consento_store::ContactRef;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::smtp_server::{Received, SmtpServer};
use crate::support::{TestApp, spawn_app_with};

const HOUR: i64 = 3_600_000_000;

/// A Postfix `smtpd` process's connection to the policy service.
struct Postfix {
    stream: BufReader<TcpStream>,
}

impl Postfix {
    async fn connect(port: u16) -> Self {
        Self {
            stream: BufReader::new(TcpStream::connect(("127.0.0.1", port)).await.unwrap()),
        }
    }

    /// Sends one request of these attributes (beside `request=smtpd_access_policy` and what
    /// Postfix always sends) and reads the action answered.
    async fn ask(&mut self, attributes: &[(&str, &str)]) -> String {
        let mut text = String::from(
            "request=smtpd_access_policy\nprotocol_name=ESMTP\nclient_address=127.0.0.1\nclient_name=localhost\nhelo_name=crm.esempio.it\nrecipient_count=0\nsize=0\n",
        );
        for (name, value) in attributes {
            text.push_str(&format!("{name}={value}\n"));
        }
        text.push('\n');
        self.stream
            .get_mut()
            .write_all(text.as_bytes())
            .await
            .unwrap();
        self.answer().await
    }

    /// Reads one answer: `action=…` and an empty line; the action.
    async fn answer(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.stream.read_line(&mut line))
            .await
            .expect("an answer within ten seconds")
            .unwrap();
        let mut empty = String::new();
        self.stream.read_line(&mut empty).await.unwrap();
        assert_eq!(empty, "\n", "an answer ends with an empty line");
        line.trim_end()
            .strip_prefix("action=")
            .unwrap_or_else(|| panic!("not an answer: {line:?}"))
            .to_owned()
    }

    /// A `RCPT TO` of `instance`, from `sender` to `recipient`, with the queue id if known.
    async fn rcpt(
        &mut self,
        instance: &str,
        queue_id: &str,
        sender: &str,
        recipient: &str,
    ) -> String {
        self.ask(&[
            ("protocol_state", "RCPT"),
            ("instance", instance),
            ("queue_id", queue_id),
            ("sender", sender),
            ("recipient", recipient),
        ])
        .await
    }

    /// The end of the message of `instance`, with its queue id.
    async fn end_of_message(&mut self, instance: &str, queue_id: &str) -> String {
        self.ask(&[
            ("protocol_state", "END-OF-MESSAGE"),
            ("instance", instance),
            ("queue_id", queue_id),
            ("sender", "x@esempio.it"),
            ("recipient", ""),
        ])
        .await
    }
}

/// The application with the policy service on a free port, the mail worker sending to `smtp`,
/// `postsuper` and `postqueue` a script that appends its arguments to a file, and a quick poll.
async fn app_with_policy(postgres: bool, smtp: &SmtpServer) -> Option<(TestApp, u16)> {
    app_with_policy_and(postgres, smtp, |_| {}).await
}

/// The same, with `adjust` applied to the configuration.
async fn app_with_policy_and(
    postgres: bool,
    smtp: &SmtpServer,
    adjust: impl FnOnce(&mut consento_server::config::ServeConfig),
) -> Option<(TestApp, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let smtp_port = smtp.port;
    let script = std::env::temp_dir().join(format!(
        "consento-postsuper-{}-{port}.sh",
        std::process::id()
    ));
    let app = spawn_app_with(postgres, |c| {
        c.mail = crate::subscribe::mail_config(smtp_port, true);
        c.postfix_policy.listen = Some(format!("127.0.0.1:{port}").parse().unwrap());
        c.postfix_policy.postsuper = Some(script.clone());
        c.postfix_policy.postqueue = Some(script.clone());
        c.postfix_policy.poll_interval_ms = 50;
        adjust(c);
    })
    .await?;
    let log = app.db.dir.join("postsuper.log");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Some((app, port))
}

/// What `postsuper` was run with so far, one run per line.
fn postsuper_runs(app: &TestApp) -> Vec<String> {
    std::fs::read_to_string(app.db.dir.join("postsuper.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `check` holds, for ten seconds at most.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within ten seconds");
}

/// The messages the receiver got to `to`, once there are `n`.
async fn mail_to(smtp: &SmtpServer, to: &str, n: usize) -> Vec<Received> {
    eventually(&format!("{n} emails to {to}"), async || {
        let got: Vec<Received> = smtp
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .collect();
        (got.len() >= n).then_some(got)
    })
    .await
}

/// Email checks on; a type permitting single emails; a reason; contacts: Anna (who gave the
/// consent), Bruno (who gave none), Carla (restricted, GDPR Art. 18); and the console account
/// `mario.rossi@esempio.it`, who chose English. Returns the reason's id and the contacts' ids.
async fn office(app: &TestApp) -> (String, [String; 3]) {
    let settings = json!({ "check_email_single": true, "check_email_bulk": true, "check_phone": true, "check_sms": true });
    assert_eq!(
        app.send(reqwest::Method::PUT, "/v1/settings", "admin", &settings)
            .await
            .0,
        200
    );
    let (status, body) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "INFO", "title": "Informazioni", "validity_days": 730,
                     "permits": ["email.single"], "purpose": "service" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, reason) = app
        .post(
            "/v1/reasons",
            "admin",
            &json!({ "label": "Risposta a una richiesta del cliente", "marketing": false }),
        )
        .await;
    assert_eq!(status, 201, "{reason}");
    let mut ids = Vec::new();
    for (name, email) in [
        ("Anna Neri", "anna.neri@example.com"),
        ("Bruno Verdi", "bruno.verdi@example.com"),
        ("Carla Blu", "carla.blu@example.com"),
    ] {
        let (status, c) = app
            .post(
                "/v1/contacts",
                "write",
                &json!({ "name": name, "emails": [email] }),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let (status, body) = app
        .post(
            &format!("/v1/contacts/{}/consents", ids[0]),
            "write",
            &json!({ "kind": "given", "type_code": "INFO", "method": "email" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &format!("/v1/contacts/{}/restriction", ids[2]),
            "write",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let name = consento_domain::Username::parse("mario.rossi@esempio.it").unwrap();
    let mario = consento_app::accounts::create(
        &app.store,
        name.clone(),
        "Mario Rossi",
        consento_domain::Role::Operator,
        &consento_domain::Password::new("a long test password", &name).unwrap(),
        false,
    )
    .await
    .unwrap();
    app.store.set_user_locale(mario.id, "en").await.unwrap();
    let ids: [String; 3] = ids.try_into().unwrap();
    (reason["id"].as_str().unwrap().to_owned(), ids)
}

async fn each_recipient_is_answered_by_its_decision_and_a_held_one_is_released_with_a_reason(
    app: TestApp,
    port: u16,
    smtp: SmtpServer,
) {
    let (reason, [_anna, bruno, carla]) = office(&app).await;
    let mut postfix = Postfix::connect(port).await;
    let sender = "mario.rossi@esempio.it";
    // Before the recipients: nothing to say.
    assert_eq!(
        postfix
            .ask(&[
                ("protocol_state", "CONNECT"),
                ("sender", ""),
                ("recipient", "")
            ])
            .await,
        "DUNNO"
    );
    // Anna gave the consent: Consento has no objection. Found whatever the case.
    assert_eq!(
        postfix
            .rcpt("A1", "", sender, "Anna.Neri@EXAMPLE.com")
            .await,
        "DUNNO"
    );
    // Carla's processing is restricted: refused at once, with the rule.
    let refused = postfix
        .rcpt("A1", "", sender, "carla.blu@example.com")
        .await;
    assert!(refused.starts_with("550 5.7.1 restricted: "), "{refused}");
    // Not a contact: none of Consento's business.
    assert_eq!(
        postfix
            .rcpt("A1", "", sender, "fornitore@altra-ditta.it")
            .await,
        "DUNNO"
    );
    // Bruno gave no consent: held, before Postfix has named the message.
    let held = postfix
        .rcpt("A1", "", sender, "bruno.verdi@example.com")
        .await;
    assert_eq!(held, "HOLD no_consent: waiting for a reason");
    let recorded = app
        .store
        .held_messages(Some(HeldStatus::Held), 10)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let h = &recorded[0];
    assert_eq!(h.contact_id.0.to_string(), bruno);
    assert_eq!(h.rule, "no_consent");
    assert_eq!(h.recipient, "bruno.verdi@example.com");
    assert_eq!(h.queue_id, None);
    assert_eq!(h.hold_until.as_micros() - h.held_at.as_micros(), 48 * HOUR);
    // Nobody is told of a message that may never be queued.
    assert!(app.store.email_messages(10).await.unwrap().is_empty());
    assert!(h.notified_at.is_none());
    // The end of the message names it: the sender is told, in the language they chose.
    assert_eq!(postfix.end_of_message("A1", "4F2A1B3C9D").await, "DUNNO");
    let h = app.store.held_message(h.id).await.unwrap();
    assert_eq!(h.queue_id.as_deref(), Some("4F2A1B3C9D"));
    let notice = mail_to(&smtp, sender, 1).await;
    let parsed = notice[0].parsed();
    let subject = parsed.subject().unwrap().to_owned();
    assert!(subject.contains("bruno.verdi@example.com"), "{subject}");
    assert!(subject.contains("on hold"), "{subject}");
    let text = parsed.body_text(0).unwrap().into_owned();
    assert!(text.contains("never gave a consent"), "{text}");
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{}/held/", app.base)))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .to_owned();
    // The link is no credential: without a session, the login page.
    let visitor = crate::support::Console::new(&app.base);
    let page = visitor.get(link.trim_start_matches(&app.base)).await;
    assert_eq!(page.status, 303);
    assert!(
        page.location
            .as_deref()
            .unwrap()
            .starts_with("/login?next="),
        "{page:?}"
    );
    // An altered link names nothing.
    let operator = app.console_as("operator").await;
    let altered = format!("{}A", link.trim_start_matches(&app.base));
    assert_eq!(operator.get(&altered).await.status, 404);
    // Signed in, the link opens the message's reason pop-up.
    let page = operator.get(link.trim_start_matches(&app.base)).await;
    assert_eq!(page.status, 303, "{page:?}");
    let dialog = page.location.unwrap();
    assert_eq!(dialog, format!("/held?justify={}#justify-dialog", h.id));
    let page = operator
        .get(dialog.trim_end_matches("#justify-dialog"))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Bruno Verdi"), "{}", page.body);
    assert!(page.body.contains("id=\"justify-dialog\""), "{}", page.body);
    assert!(page.body.contains("Risposta a una richiesta del cliente"));
    // A form from elsewhere, without the session's token, is refused.
    let forged = operator
        .post_raw(
            &format!("/held/{}/release", h.id),
            &[("reason".to_owned(), reason.clone())],
        )
        .await;
    assert_eq!(forged.status, 403);
    // No reason picked: the pop-up again, saying so.
    let page = operator
        .post(&format!("/held/{}/release", h.id), &[("reason", "")])
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    // The reason picked: the justified contact recorded with the operator, the email let go.
    let page = operator
        .post(
            &format!("/held/{}/release", h.id),
            &[("reason", &reason), ("note", "Ha chiesto un preventivo")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/held?done=held-released"));
    let h = app.store.held_message(h.id).await.unwrap();
    assert_eq!(h.status, HeldStatus::Released);
    let justified = app
        .store
        .interactions(&ContactRef::Id(h.contact_id))
        .await
        .unwrap();
    assert_eq!(justified.len(), 1);
    assert_eq!(Some(justified[0].id), h.interaction_id);
    assert_eq!(justified[0].reason_id.unwrap().0.to_string(), reason);
    assert_eq!(
        justified[0].note.as_deref(),
        Some("Ha chiesto un preventivo")
    );
    let operator_id = app
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "operator-user")
        .unwrap()
        .id;
    assert_eq!(justified[0].operator, operator_id.to_string());
    assert_eq!(
        h.operator.as_deref(),
        Some(operator_id.to_string().as_str())
    );
    // Released from the hold queue, then delivered at once (`postqueue -i`).
    eventually("postsuper -H and postqueue -i", async || {
        (postsuper_runs(&app) == ["-H 4F2A1B3C9D", "-i 4F2A1B3C9D"]).then_some(())
    })
    .await;
    // Released once: a second try finds it gone.
    let page = operator
        .post(&format!("/held/{}/release", h.id), &[("reason", &reason)])
        .await;
    assert_eq!(page.location.as_deref(), Some("/held?warn=held-gone"));
    // The release and the hold are in the activity log.
    let audit = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    for action in [
        "held_message.hold",
        "held_message.queue",
        "held_message.release",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
    let _ = carla;
    app.shutdown().await;
}

#[tokio::test]
async fn each_recipient_is_answered_by_its_decision_and_a_held_one_is_released_with_a_reason_on_sqlite()
 {
    let smtp = SmtpServer::start().await;
    let (app, port) = app_with_policy(false, &smtp).await.unwrap();
    each_recipient_is_answered_by_its_decision_and_a_held_one_is_released_with_a_reason(
        app, port, smtp,
    )
    .await;
}

#[tokio::test]
async fn each_recipient_is_answered_by_its_decision_and_a_held_one_is_released_with_a_reason_on_postgresql()
 {
    let smtp = SmtpServer::start().await;
    if let Some((app, port)) = app_with_policy(true, &smtp).await {
        each_recipient_is_answered_by_its_decision_and_a_held_one_is_released_with_a_reason(
            app, port, smtp,
        )
        .await;
    }
}

async fn a_message_nobody_gives_a_reason_for_is_dropped_after_its_hours_and_its_sender_told(
    app: TestApp,
    port: u16,
    smtp: SmtpServer,
) {
    let (_, [_, bruno, _]) = office(&app).await;
    let mut postfix = Postfix::connect(port).await;
    // A sender with no console account: the default language (Italian). The queue id known at
    // once (smtpd_delay_open_until_valid_rcpt = no).
    let sender = "ufficio@esempio.it";
    assert_eq!(
        postfix
            .rcpt("B7", "9C8B7A6F5E", sender, "bruno.verdi@example.com")
            .await,
        "HOLD no_consent: waiting for a reason"
    );
    let notice = mail_to(&smtp, sender, 1).await;
    let subject = notice[0].parsed().subject().unwrap().to_owned();
    assert!(subject.contains("in attesa"), "{subject}");
    // The console lists it, for the operator.
    let operator = app.console_as("operator").await;
    let page = operator.get("/held").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Bruno Verdi"), "{}", page.body);
    assert!(page.body.contains(&format!("/contacts/{bruno}")));
    // Not for the auditor, who only reads.
    let auditor = app.console_as("auditor").await;
    assert_eq!(auditor.get("/held").await.status, 403);
    // 47 hours on, it still waits; past 48, the worker drops it and tells the sender.
    app.clock.advance(47 * HOUR);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.store
            .held_messages(Some(HeldStatus::Held), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    app.clock.advance(HOUR + 1);
    let dropped = mail_to(&smtp, sender, 2).await;
    let parsed = dropped[1].parsed();
    let subject = parsed.subject().unwrap().to_owned();
    assert!(subject.contains("non consegnata"), "{subject}");
    let text = parsed.body_text(0).unwrap().into_owned();
    assert!(text.contains("nessuno lo ha indicato"), "{text}");
    let held = app.store.held_messages(None, 10).await.unwrap();
    assert_eq!(held[0].status, HeldStatus::Dropped);
    assert_eq!(
        held[0].drop_cause,
        Some(consento_domain::held::DropCause::Expired)
    );
    eventually("postsuper -d", async || {
        postsuper_runs(&app)
            .contains(&"-d 9C8B7A6F5E".to_owned())
            .then_some(())
    })
    .await;
    assert!(!postsuper_runs(&app).iter().any(|r| r.starts_with("-H")));
    // The metrics count it.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(app.token("read"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("consento_held_messages_total{event=\"held\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("consento_held_messages_total{event=\"dropped\"} 1"));
    assert!(metrics.contains("consento_held_messages_waiting 0"));
    app.shutdown().await;
}

#[tokio::test]
async fn a_message_nobody_gives_a_reason_for_is_dropped_after_its_hours_and_its_sender_told_on_sqlite()
 {
    let smtp = SmtpServer::start().await;
    let (app, port) = app_with_policy(false, &smtp).await.unwrap();
    a_message_nobody_gives_a_reason_for_is_dropped_after_its_hours_and_its_sender_told(
        app, port, smtp,
    )
    .await;
}

#[tokio::test]
async fn a_message_nobody_gives_a_reason_for_is_dropped_after_its_hours_and_its_sender_told_on_postgresql()
 {
    let smtp = SmtpServer::start().await;
    if let Some((app, port)) = app_with_policy(true, &smtp).await {
        a_message_nobody_gives_a_reason_for_is_dropped_after_its_hours_and_its_sender_told(
            app, port, smtp,
        )
        .await;
    }
}

#[tokio::test]
async fn an_operator_drops_a_held_message_with_every_recipient_of_it_and_the_sender_is_told() {
    let smtp = SmtpServer::start().await;
    let (app, port) = app_with_policy(false, &smtp).await.unwrap();
    let (_, [_, bruno, _]) = office(&app).await;
    // A second person without consent, in the same message.
    let (status, c) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "name": "Dario Gialli", "emails": ["dario@example.com"] }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let mut postfix = Postfix::connect(port).await;
    let sender = "mario.rossi@esempio.it";
    for to in ["bruno.verdi@example.com", "dario@example.com"] {
        assert!(
            postfix
                .rcpt("C3", "77AA88BB99", sender, to)
                .await
                .starts_with("HOLD ")
        );
    }
    mail_to(&smtp, sender, 2).await;
    let held = app
        .store
        .held_messages(Some(HeldStatus::Held), 10)
        .await
        .unwrap();
    let bruno_held = held
        .iter()
        .find(|h| h.contact_id.0.to_string() == bruno)
        .unwrap();
    let operator = app.console_as("operator").await;
    let page = operator
        .post(&format!("/held/{}/drop", bruno_held.id), &[])
        .await;
    assert_eq!(
        page.location.as_deref(),
        Some("/held?done=held-dropped"),
        "{}",
        page.body
    );
    // Postfix holds the message whole: both recipients are dropped, and both notices go.
    let all = app.store.held_messages(None, 10).await.unwrap();
    assert!(
        all.iter().all(|h| h.status == HeldStatus::Dropped),
        "{all:?}"
    );
    let notices = mail_to(&smtp, sender, 4).await;
    assert!(
        notices[2]
            .parsed()
            .subject()
            .unwrap()
            .contains("not delivered")
    );
    eventually("postsuper -d", async || {
        (postsuper_runs(&app) == ["-d 77AA88BB99"]).then_some(())
    })
    .await;
    // Dropped, it cannot be released any more.
    let page = operator.get("/held").await;
    assert!(page.body.contains("id=\"held-empty\""), "{}", page.body);
    app.shutdown().await;
}

#[tokio::test]
async fn a_request_that_breaks_the_protocol_is_refused_and_the_service_goes_on() {
    let smtp = SmtpServer::start().await;
    let (app, port) = app_with_policy(false, &smtp).await.unwrap();
    office(&app).await;
    // A line that is not name=value: an answer that defers, then the connection is closed.
    let mut bad = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    bad.write_all(b"request=smtpd_access_policy\nthis is not an attribute\n\n")
        .await
        .unwrap();
    let mut got = String::new();
    tokio::time::timeout(Duration::from_secs(10), bad.read_to_string(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got,
        "action=DEFER_IF_PERMIT 4.3.5 malformed policy request\n\n"
    );
    // A line longer than any Postfix sends: the same.
    let mut long = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let line = format!("sender={}\n", "a".repeat(100_000));
    let _ = long.write_all(line.as_bytes()).await;
    let mut got = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), long.read_to_string(&mut got)).await;
    assert!(
        got.is_empty() || got.starts_with("action=DEFER_IF_PERMIT"),
        "{got}"
    );
    // Not a policy request at all.
    let mut other = Postfix::connect(port).await;
    other
        .stream
        .get_mut()
        .write_all(b"request=something_else\n\n")
        .await
        .unwrap();
    assert!(other.answer().await.starts_with("DEFER_IF_PERMIT"));
    // A connection cut inside a request, then a good one: answered as ever.
    let mut cut = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    cut.write_all(b"request=smtpd_access_policy\nprotocol_st")
        .await
        .unwrap();
    drop(cut);
    let mut postfix = Postfix::connect(port).await;
    assert_eq!(
        postfix
            .rcpt("D1", "", "x@esempio.it", "anna.neri@example.com")
            .await,
        "DUNNO"
    );
    // Many requests on one connection.
    for _ in 0..5 {
        assert!(
            postfix
                .rcpt("D1", "", "x@esempio.it", "carla.blu@example.com")
                .await
                .starts_with("550 5.7.1 restricted")
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_newsletter_to_an_erased_persons_address_is_refused_though_no_contact_has_it_any_more() {
    for postgres in [false, true] {
        let smtp = SmtpServer::start().await;
        let Some((app, port)) = app_with_policy_and(postgres, &smtp, |c| {
            c.postfix_policy.default_action = consento_server::config::PolicyAction::EmailBulk;
        })
        .await
        else {
            continue;
        };
        let (_, [anna, _, _]) = office(&app).await;
        let anna = consento_domain::ContactId(anna.parse().unwrap());
        app.store
            .erase_contact(
                anna,
                &consento_store::ErasureInput {
                    reason: consento_domain::erasure::ErasureReason::Request,
                    request_id: None,
                    actor: consento_domain::Actor::new(consento_domain::ActorKind::Operator, "dpo")
                        .unwrap(),
                    by: consento_store::AuditActor::System,
                },
            )
            .await
            .unwrap();
        let mut postfix = Postfix::connect(port).await;
        let refused = postfix
            .rcpt("E1", "", "news@esempio.it", "Anna.Neri@example.com")
            .await;
        assert!(refused.starts_with("550 5.7.1 suppressed: "), "{refused}");
        // An address Consento never knew is none of its business, newsletter or not.
        assert_eq!(
            postfix
                .rcpt("E1", "", "news@esempio.it", "fornitore@altra-ditta.it")
                .await,
            "DUNNO"
        );
        app.shutdown().await;
    }
}
