//! The enforcing SMTP relay end to end: a client (lettre, or a plain dialogue where the test
//! needs each reply) submits to `consento serve`'s relay on loopback, the relay's worker hands
//! the copies to an SMTP sink on loopback, and what arrived is read with mail-parser. Recipients
//! decided at RCPT and at DATA, bulk copies split with their own unsubscribe headers, Consento's
//! headers gone, justified contacts recorded, authentication refused where it must be, limits,
//! a message surviving a restart, bodies purged once delivered.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use consento_domain::{
    Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, ContactId, EventKind,
    Permissions,
};
use consento_server::config::{MailTls, ServeConfig};
use consento_store::{ConsentEventInput, ContactInput, ContactRef};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::smtp_server::SmtpServer;
use crate::support::{TestApp, free_port, spawn_app_with};

/// The contacts every test sends to.
struct People {
    /// A newsletter consent (bulk and single email).
    anna: ContactId,
    /// No consent: a single email needs a justification, a bulk one is blocked.
    bruno: ContactId,
    /// A newsletter consent, and an objection to direct marketing (Art. 21(3)).
    carla: ContactId,
    /// Restricted (Art. 18): blocked, whatever the message says.
    dario: ContactId,
    /// A newsletter consent.
    erika: ContactId,
}

/// The relay's settings for a test: listening on a free port, delivering to `sink`.
fn relay_config(config: &mut ServeConfig, relay_port: u16, sink: &SmtpServer, deliver: bool) {
    config.relay.listen = Some(format!("127.0.0.1:{relay_port}").parse().unwrap());
    config.relay.hostname = "relay.test".to_owned();
    config.relay.deliver = deliver;
    config.relay.poll_interval_ms = 20;
    config.relay.backoff_base_seconds = 60;
    config.relay.upstream.host = "127.0.0.1".to_owned();
    config.relay.upstream.port = sink.port;
    config.relay.upstream.tls = MailTls::None;
    config.relay.upstream.timeout_seconds = 10;
}

/// The application with its relay on a free port, delivering to a new sink (unless `deliver`
/// is false); `None` when the backend asked for is not configured.
async fn relay_app(
    postgres: bool,
    deliver: bool,
    adjust: impl FnOnce(&mut ServeConfig),
) -> Option<(TestApp, u16, SmtpServer)> {
    let sink = SmtpServer::start().await;
    let port = free_port();
    let app = spawn_app_with(postgres, |c| {
        relay_config(c, port, &sink, deliver);
        adjust(c);
    })
    .await?;
    Some((app, port, sink))
}

async fn seed(app: &TestApp) -> People {
    app.store
        .create_consent_type(ConsentTypeSpec {
            title: "Newsletter".to_owned(),
            code: ConsentCode::parse("newsletter").unwrap(),
            description: None,
            validity_days: Some(365),
            permissions: Permissions {
                email_bulk: true,
                email_single: true,
                ..Permissions::default()
            },
            show_in_preference_center: true,
            purpose: Default::default(),
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (name, consent) in [
        ("anna", true),
        ("bruno", false),
        ("carla", true),
        ("dario", true),
        ("erika", true),
    ] {
        let c = app
            .store
            .create_contact(ContactInput {
                external_id: Some(format!("crm-{name}")),
                emails: vec![format!("{name}@example.it")],
                ..ContactInput::default()
            })
            .await
            .unwrap();
        if consent {
            app.store
                .record_consent(ConsentEventInput {
                    contact: ContactRef::Id(c.id),
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
        }
        ids.push(c.id);
    }
    let people = People {
        anna: ids[0],
        bruno: ids[1],
        carla: ids[2],
        dario: ids[3],
        erika: ids[4],
    };
    app.store
        .set_objected(&ContactRef::Id(people.carla), true)
        .await
        .unwrap();
    app.store
        .set_restricted(&ContactRef::Id(people.dario), true)
        .await
        .unwrap();
    people
}

/// A lettre client of the relay on loopback, in clear, authenticated with `password`.
fn client(port: u16, password: &str) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(Tls::None)
        .credentials(Credentials::new("crm".into(), password.into()))
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

fn envelope(from: &str, to: &[&str]) -> lettre::address::Envelope {
    lettre::address::Envelope::new(
        Some(from.parse().unwrap()),
        to.iter().map(|t| t.parse().unwrap()).collect(),
    )
    .unwrap()
}

/// A message with `headers` (whole lines) before the usual ones.
fn message(headers: &str, subject: &str) -> Vec<u8> {
    format!(
        "{headers}From: Ufficio Vendite <vendite@example.com>\r\nTo: undisclosed-recipients:;\r\nSubject: {subject}\r\nDate: Mon, 6 Jan 2025 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBuongiorno,\r\n.una riga che inizia con un punto\r\nè tutto.\r\n"
    )
    .into_bytes()
}

/// The id of the stored message a `250` after DATA names.
fn stored_id(response: &lettre::transport::smtp::response::Response) -> uuid::Uuid {
    response
        .message()
        .flat_map(|l| l.split(' '))
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no message id in {response:?}"))
}

/// An SMTP dialogue written by hand, for the replies a library would hide.
struct Dialogue {
    read: BufReader<Box<dyn AsyncRead + Unpin + Send>>,
    write: Box<dyn AsyncWrite + Unpin + Send>,
}

impl Dialogue {
    async fn connect(port: u16) -> (Self, String) {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        Self::over(stream).await
    }

    async fn over(stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static) -> (Self, String) {
        let (read, write) = tokio::io::split(stream);
        let mut d = Self {
            read: BufReader::new(Box::new(read)),
            write: Box::new(write),
        };
        let greeting = d.reply().await;
        (d, greeting)
    }

    /// One whole reply (every line of a multi-line one), lines joined with `\n`.
    async fn reply(&mut self) -> String {
        let mut all = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.read.read_line(&mut line))
                .await
                .expect("a reply within ten seconds")
                .unwrap();
            assert!(n > 0, "the relay closed the connection after {all:?}");
            let line = line.trim_end().to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            all.push(line);
            if last {
                return all.join("\n");
            }
        }
    }

    async fn send(&mut self, line: &str) -> String {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }

    /// EHLO and AUTH PLAIN with `token` (the user name is anything).
    async fn login(&mut self, token: &str) {
        let ehlo = self.send("EHLO crm.example.com").await;
        assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
        let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0crm\0{token}"));
        let auth = self.send(&format!("AUTH PLAIN {plain}")).await;
        assert!(auth.starts_with("235 2.7.0"), "{auth}");
    }

    /// DATA, the message (dot-stuffed) and its end; the final reply.
    async fn data(&mut self, message: &[u8]) -> String {
        let go = self.send("DATA").await;
        assert!(go.starts_with("354"), "{go}");
        let text = String::from_utf8_lossy(message).replace("\r\n.", "\r\n..");
        self.write.write_all(text.as_bytes()).await.unwrap();
        self.send(".").await
    }
}

fn tests_backends() -> [bool; 2] {
    [false, true]
}

#[tokio::test]
async fn a_message_reaches_only_the_recipients_the_decisions_allow_and_leaves_without_consentos_headers()
 {
    for postgres in tests_backends() {
        let Some((app, port, sink)) = relay_app(postgres, true, |_| {}).await else {
            continue;
        };
        let people = seed(&app).await;
        let (mut d, greeting) = Dialogue::connect(port).await;
        assert!(greeting.starts_with("220 relay.test"), "{greeting}");
        d.login(app.token("relay")).await;
        assert!(
            d.send("MAIL FROM:<vendite@example.com>")
                .await
                .starts_with("250")
        );
        assert!(
            d.send("RCPT TO:<Anna@Example.IT>").await.starts_with("250"),
            "found by address, in any case"
        );
        let refused = d.send("RCPT TO:<dario@example.it>").await;
        assert!(
            refused.starts_with("550 5.7.1 restricted:"),
            "blocked at RCPT with its rule: {refused}"
        );
        let unknown = d.send("RCPT TO:<nobody@example.it>").await;
        assert!(
            unknown.starts_with("550 5.7.1 unknown_contact:"),
            "{unknown}"
        );
        assert!(
            d.send("RCPT TO:<bruno@example.it>")
                .await
                .starts_with("250"),
            "needs a justification: decided again at DATA"
        );
        let done = d
            .data(&message(
                "X-Consento-Note: not a reason\r\nX-Consento-Operator: m.bianchi\r\n",
                "Preventivo",
            ))
            .await;
        assert!(
            done.starts_with("250 2.0.0")
                && done.contains("queued for 1 recipient(s); 1 held for a justification"),
            "{done}"
        );
        assert!(d.send("QUIT").await.starts_with("221"));
        let got = sink.wait_for(1).await;
        assert_eq!(got[0].to, ["anna@example.it"]);
        assert_eq!(got[0].from, "vendite@example.com");
        let raw = got[0].raw();
        assert!(!raw.to_ascii_lowercase().contains("x-consento"), "{raw}");
        assert!(
            !raw.contains("List-Unsubscribe"),
            "a single email gets none: {raw}"
        );
        let parsed = got[0].parsed();
        assert_eq!(parsed.subject(), Some("Preventivo"));
        assert_eq!(
            parsed.body_text(0).unwrap().trim_end(),
            "Buongiorno,\r\n.una riga che inizia con un punto\r\nè tutto."
        );
        // The record: one copy delivered, one held for a reason; the body kept while it waits.
        let id = done
            .strip_prefix("250 2.0.0 ")
            .and_then(|t| t.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        let mut record = app.store.relay_record(id).await.unwrap().unwrap();
        for _ in 0..500 {
            if record
                .deliveries
                .iter()
                .any(|d| d.status.code() == "delivered")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            record = app.store.relay_record(id).await.unwrap().unwrap();
        }
        assert!(record.body_kept, "a held copy keeps the body");
        assert_eq!(record.deliveries.len(), 2);
        let anna = record
            .deliveries
            .iter()
            .find(|r| r.contact_id == Some(people.anna))
            .unwrap();
        assert_eq!(
            (anna.status.code(), anna.rule.as_str()),
            ("delivered", "consent")
        );
        assert!(anna.delivered_at.is_some());
        let bruno = record
            .deliveries
            .iter()
            .find(|r| r.contact_id == Some(people.bruno))
            .unwrap();
        assert_eq!(
            (bruno.status.code(), bruno.rule.as_str()),
            ("held", "no_consent")
        );
        assert!(
            app.store
                .interactions(&ContactRef::Id(people.bruno))
                .await
                .unwrap()
                .is_empty(),
            "nothing justified without a reason"
        );
        let text = app
            .client
            .get(format!("{}/metrics", app.base))
            .bearer_auth(app.token("read"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for line in [
            "consento_relay_events_total{event=\"relayed\"} 1",
            "consento_relay_events_total{event=\"refused\"} 2",
            "consento_relay_events_total{event=\"delivered\"} 1",
            "consento_relay_outbox_copies 0",
            "consento_held_messages_total{event=\"held\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        app.shutdown().await;
    }
}

/// Waits (up to ten seconds) until message `id`'s body is gone; returns its record.
async fn wait_until_purged(app: &TestApp, id: uuid::Uuid) -> consento_store::RelayRecord {
    for _ in 0..500 {
        let record = app.store.relay_record(id).await.unwrap().unwrap();
        if record.purged_at.is_some() {
            assert!(!record.body_kept);
            return record;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("message {id} was not purged");
}

#[tokio::test]
async fn a_bulk_message_is_split_per_recipient_each_copy_with_its_own_one_click_unsubscribe() {
    for postgres in tests_backends() {
        a_bulk_message_is_split_on(postgres).await;
    }
}

async fn a_bulk_message_is_split_on(postgres: bool) {
    let Some((app, port, sink)) = relay_app(postgres, true, |c| {
        c.relay.mailto_unsubscribe = Some("disiscrizioni@example.com".to_owned());
    })
    .await
    else {
        return;
    };
    let people = seed(&app).await;
    let crm = client(port, app.token("relay"));
    let sent = crm
        .send_raw(
            &envelope(
                "news@example.com",
                &["anna@example.it", "erika@example.it"],
            ),
            &message(
                "List-Id: Novita <news.example.com>\r\nList-Unsubscribe: <https://crm.example/unsub>\r\n",
                "Le novità di gennaio",
            ),
        )
        .await
        .unwrap();
    assert!(
        sent.message().any(|l| l.contains("queued for 2")),
        "{sent:?}"
    );
    let got = sink.wait_for(2).await;
    let mut seen = Vec::new();
    for copy in &got {
        assert_eq!(copy.to.len(), 1, "one recipient per copy");
        let parsed = copy.parsed();
        let header = parsed
            .header_raw("List-Unsubscribe")
            .unwrap()
            .trim()
            .to_owned();
        assert!(
            !header.contains("crm.example"),
            "the sender's link is replaced: {header}"
        );
        assert_eq!(
            parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );
        let (https, mailto) = header.split_once(", ").unwrap();
        let url = https.trim_start_matches('<').trim_end_matches('>');
        assert!(url.starts_with(&format!("{}/u/", app.base)), "{url}");
        let token = url.rsplit('/').next().unwrap();
        assert_eq!(
            mailto,
            format!("<mailto:disiscrizioni@example.com?subject=unsubscribe%20{token}>")
        );
        // The link is this recipient's own.
        let opened = consento_app::links::open(&app.store, token)
            .await
            .unwrap()
            .unwrap();
        let expected = if copy.to[0] == "anna@example.it" {
            people.anna
        } else {
            people.erika
        };
        assert_eq!(opened.link.contact, expected);
        assert!(!copy.raw().to_ascii_lowercase().contains("x-consento"));
        assert_eq!(parsed.subject(), Some("Le novità di gennaio"));
        seen.push(copy.to[0].clone());
    }
    seen.sort();
    assert_eq!(seen, ["anna@example.it", "erika@example.it"]);
    // A bulk message to someone who objected is refused, and to no one at all not stored.
    let refused = crm
        .send_raw(
            &envelope("news@example.com", &["carla@example.it"]),
            &message("Precedence: bulk\r\n", "Promo"),
        )
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("objected"),
        "bulk to an objection: {refused}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_reason_in_the_message_justifies_the_contact_records_it_and_lets_the_copy_go() {
    for postgres in tests_backends() {
        let Some((app, port, sink)) = relay_app(postgres, true, |_| {}).await else {
            continue;
        };
        let people = seed(&app).await;
        let reason = app
            .store
            .create_reason("Risposta a una richiesta del cliente", false)
            .await
            .unwrap();
        let promo = app
            .store
            .create_reason("Promozione di primavera", true)
            .await
            .unwrap();
        let crm = client(port, app.token("relay"));
        // A marketing reason cannot justify writing to someone who objected (Art. 21(3)): the
        // copy is held for an operator's reason, not sent.
        let held = crm
            .send_raw(
                &envelope("vendite@example.com", &["carla@example.it"]),
                &message(&format!("X-Consento-Reason: {}\r\n", promo.id.0), "Promo"),
            )
            .await
            .unwrap();
        let held = stored_id(&held);
        let record = app.store.relay_record(held).await.unwrap().unwrap();
        assert_eq!(record.deliveries[0].status.code(), "held");
        assert_eq!(record.deliveries[0].rule, "objected");
        // The label in any case, with a note and the CRM user named.
        crm.send_raw(
            &envelope("vendite@example.com", &["bruno@example.it"]),
            &message(
                "X-Consento-Reason: risposta a una richiesta del CLIENTE\r\nX-Consento-Note: richiesta del 3 gennaio\r\nX-Consento-Operator: m.bianchi\r\n",
                "Il preventivo richiesto",
            ),
        )
        .await
        .unwrap();
        let got = sink.wait_for(1).await;
        assert_eq!(got[0].to, ["bruno@example.it"]);
        assert!(!got[0].raw().to_ascii_lowercase().contains("x-consento"));
        let recorded = app
            .store
            .interactions(&ContactRef::Id(people.bruno))
            .await
            .unwrap();
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!(recorded[0].reason_id, Some(reason.id));
        assert_eq!(recorded[0].operator, "m.bianchi");
        assert_eq!(recorded[0].note.as_deref(), Some("richiesta del 3 gennaio"));
        assert_eq!(recorded[0].cause.as_deref(), Some("no_consent"));
        let copies = app
            .store
            .relay_deliveries_of(people.bruno, 10)
            .await
            .unwrap();
        assert_eq!(copies.len(), 1);
        assert_eq!(copies[0].reason_id, Some(reason.id));
        assert_eq!(copies[0].interaction_id, Some(recorded[0].id));
        // The acceptance is audited, by the token, naming the message and the justified
        // contact.
        let message_id = copies[0].message_id.to_string();
        let audit = app
            .store
            .audit_entries(&consento_store::AuditFilter {
                target: Some(("relay_message".into(), message_id)),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0].action, "relay.accept");
        assert_eq!(audit[0].token_name.as_deref(), Some("test-relay"));
        assert_eq!(audit[0].detail["justified"], 1);
        assert_eq!(
            audit[0].detail["interaction_ids"][0],
            recorded[0].id.to_string()
        );
        app.shutdown().await;
    }
}

#[tokio::test]
async fn authentication_is_refused_for_a_wrong_token_a_token_without_the_relay_scope_and_in_clear_from_afar()
 {
    let (app, port, sink) = relay_app(false, false, |_| {}).await.unwrap();
    seed(&app).await;
    for password in [
        app.token("decide"),
        app.token("write"),
        "cns_not_a_token",
        "x",
    ] {
        let e = client(port, password)
            .send_raw(
                &envelope("vendite@example.com", &["anna@example.it"]),
                &message("", "x"),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("535"), "{password}: {e}");
    }
    let (mut d, _) = Dialogue::connect(port).await;
    d.send("EHLO crm.example.com").await;
    assert!(
        d.send("MAIL FROM:<vendite@example.com>")
            .await
            .starts_with("530 5.7.0"),
        "no mail without authentication"
    );
    let plain = base64::engine::general_purpose::STANDARD.encode("\0crm\0cns_wrong");
    for _ in 0..2 {
        assert!(
            d.send(&format!("AUTH PLAIN {plain}"))
                .await
                .starts_with("535 5.7.8")
        );
    }
    assert!(
        d.send(&format!("AUTH PLAIN {plain}"))
            .await
            .starts_with("535 5.7.8")
    );
    let last = d.reply().await;
    assert!(
        last.starts_with("421 4.7.0"),
        "closed after three failures: {last}"
    );

    // From another machine, in clear: AUTH is neither offered nor accepted (RFC 4954 §4).
    let mut config = ServeConfig::default();
    relay_config(&mut config, 0, &sink, false);
    let policy = config.policy();
    let relay = consento_server::relay::Relay::from_parts(
        consento_app::App::new(
            Arc::clone(&app.store),
            policy,
            Arc::new(consento_app::NoHooks),
        ),
        Arc::default(),
        Arc::default(),
        config.relay.clone(),
    )
    .unwrap();
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let relay = Arc::new(relay);
    let serving = Arc::clone(&relay);
    tokio::spawn(async move {
        serving
            .connection(server_end, "203.0.113.9:40000".parse().unwrap(), stop)
            .await;
    });
    let (mut far, _) = Dialogue::over(client_end).await;
    let ehlo = far.send("EHLO crm.example.com").await;
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    let plain =
        base64::engine::general_purpose::STANDARD.encode(format!("\0crm\0{}", app.token("relay")));
    let refused = far.send(&format!("AUTH PLAIN {plain}")).await;
    assert!(refused.starts_with("538 5.7.11"), "{refused}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_limits_are_answered_with_the_standard_replies() {
    let (app, port, _sink) = relay_app(false, false, |c| {
        c.relay.max_recipients = 2;
        c.relay.max_message_bytes = 2048;
        c.relay.messages_per_minute = 1;
    })
    .await
    .unwrap();
    seed(&app).await;
    let (mut d, _) = Dialogue::connect(port).await;
    d.login(app.token("relay")).await;
    let ehlo = d.send("EHLO crm.example.com").await;
    for ext in ["PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE 2048"] {
        assert!(ehlo.contains(ext), "{ext} in {ehlo}");
    }
    assert!(
        !ehlo.contains("STARTTLS"),
        "no certificate configured: {ehlo}"
    );
    assert!(
        d.send("MAIL FROM:<vendite@example.com> SIZE=5000")
            .await
            .starts_with("552 5.3.4")
    );
    assert!(
        d.send("MAIL FROM:<vendite@example.com>")
            .await
            .starts_with("250")
    );
    assert!(d.send("RCPT TO:<anna@example.it>").await.starts_with("250"));
    assert!(
        d.send("RCPT TO:<erika@example.it>")
            .await
            .starts_with("250")
    );
    assert!(
        d.send("RCPT TO:<bruno@example.it>")
            .await
            .starts_with("452 4.5.3")
    );
    let big = message("", &"x".repeat(3000));
    assert!(d.data(&big).await.starts_with("552 5.3.4"));
    // Pipelined (RFC 2920): the replies come in order, together.
    d.write
        .write_all(
            b"RSET\r\nMAIL FROM:<vendite@example.com>\r\nRCPT TO:<anna@example.it>\r\nRCPT TO:<dario@example.it>\r\nNOOP\r\n",
        )
        .await
        .unwrap();
    let replies = [
        d.reply().await,
        d.reply().await,
        d.reply().await,
        d.reply().await,
        d.reply().await,
    ];
    assert!(replies[0].starts_with("250"), "{replies:?}");
    assert!(
        replies[1].starts_with("451 4.7.1"),
        "the second message in the minute is over the limit of one: {replies:?}"
    );
    assert!(
        replies[2].starts_with("503") && replies[3].starts_with("503"),
        "{replies:?}"
    );
    assert!(replies[4].starts_with("250"), "{replies:?}");
    let long = format!("NOOP {}", "x".repeat(5000));
    let too_long = d.send(&long).await;
    assert!(too_long.starts_with("500 5.5.2"), "{too_long}");
    assert!(d.send("QUIT").await.starts_with("221"));
    app.shutdown().await;
}

#[tokio::test]
async fn a_message_answered_250_survives_a_restart_before_delivery_and_its_body_goes_once_delivered()
 {
    for postgres in tests_backends() {
        // The first server stores but does not deliver (its worker is off).
        let Some((app, port, sink)) = relay_app(postgres, false, |_| {}).await else {
            continue;
        };
        let people = seed(&app).await;
        let sent = client(port, app.token("relay"))
            .send_raw(
                &envelope("vendite@example.com", &["anna@example.it"]),
                &message("", "Conferma d'ordine"),
            )
            .await
            .unwrap();
        let id = stored_id(&sent);
        let record = app.store.relay_record(id).await.unwrap().unwrap();
        assert!(record.body_kept && record.purged_at.is_none());
        assert_eq!(record.deliveries[0].status.code(), "queued");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(sink.messages().is_empty());
        // Restarted with its worker on: the stored message goes out.
        let relay_port = free_port();
        let app = app
            .restart_with(|c| relay_config(c, relay_port, &sink, true))
            .await;
        let got = sink.wait_for(1).await;
        assert_eq!(got[0].to, ["anna@example.it"]);
        assert_eq!(got[0].parsed().subject(), Some("Conferma d'ordine"));
        let record = wait_until_purged(&app, id).await;
        assert_eq!(record.deliveries[0].status.code(), "delivered");
        assert_eq!(record.deliveries[0].contact_id, Some(people.anna));
        app.shutdown().await;
    }
}

#[tokio::test]
async fn an_upstream_refusal_defers_a_copy_for_later_or_bounces_it_and_tells_the_sender() {
    let (app, port, sink) = relay_app(false, true, |_| {}).await.unwrap();
    seed(&app).await;
    let crm = client(port, app.token("relay"));
    sink.refuse_next(451);
    let sent = crm
        .send_raw(
            &envelope("vendite@example.com", &["anna@example.it"]),
            &message("", "Primo"),
        )
        .await
        .unwrap();
    let id = stored_id(&sent);
    let deferred = wait_for_status(&app, id, "deferred").await;
    assert_eq!(deferred.last_error.as_deref(), Some("smtp_451"));
    assert!(sink.messages().is_empty());
    // Once the retry is due, it goes.
    app.clock.advance(3_600_000_000);
    wait_for_status(&app, id, "delivered").await;
    assert_eq!(sink.wait_for(1).await.len(), 1);
    sink.refuse_next(550);
    let sent = crm
        .send_raw(
            &envelope("vendite@example.com", &["erika@example.it"]),
            &message("", "Secondo"),
        )
        .await
        .unwrap();
    let id = stored_id(&sent);
    let bounced = wait_for_status(&app, id, "bounced").await;
    assert_eq!(bounced.last_error.as_deref(), Some("smtp_550"));
    let record = wait_until_purged(&app, id).await;
    assert_eq!(record.deliveries.len(), 1);
    // The sender is told (RFC 3464), from the null sender, with the headers and not the body.
    let got = sink.wait_for(2).await;
    let notice = &got[1];
    assert_eq!(
        (notice.from.as_str(), notice.to.as_slice()),
        ("", ["vendite@example.com".to_owned()].as_slice())
    );
    let raw = notice.raw();
    for expected in [
        "multipart/report",
        "report-type=\"delivery-status\"",
        "message/delivery-status",
        "Reporting-MTA: dns; relay.test",
        "Final-Recipient: rfc822; erika@example.it",
        "Action: failed",
        "Status: 5.0.0",
        "Diagnostic-Code: smtp; 550",
        "text/rfc822-headers",
        "Auto-Submitted: auto-replied",
    ] {
        assert!(raw.contains(expected), "{expected} in {raw}");
    }
    assert!(!raw.contains("Buongiorno"), "never the body: {raw}");
    let parsed = notice.parsed();
    assert_eq!(
        parsed.subject(),
        Some("Non recapitato: Secondo"),
        "in the office's language"
    );
    assert!(
        parsed.body_text(0).unwrap().contains("erika@example.it"),
        "{raw}"
    );
    // The notice's own record goes like any copy's: marked delivered once the sink's answer is
    // back, which may come a moment after the sink holds the message.
    let mut pending = i64::MAX;
    for _ in 0..500 {
        pending = app.store.relay_outbox_stats().await.unwrap().pending;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(pending, 0);
    app.shutdown().await;
}

/// Waits (up to ten seconds) until message `id`'s one copy has `status`.
async fn wait_for_status(
    app: &TestApp,
    id: uuid::Uuid,
    status: &str,
) -> consento_store::RelayDelivery {
    for _ in 0..500 {
        let record = app.store.relay_record(id).await.unwrap().unwrap();
        if record.deliveries[0].status.code() == status {
            return record.deliveries[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("message {id} never reached {status}");
}

#[tokio::test]
async fn starttls_secures_the_session_with_the_configured_certificate() {
    let dir = std::env::temp_dir().join(format!("consento-relay-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !made.is_ok_and(|o| o.status.success()) {
        // No openssl to make a certificate with: nothing to test STARTTLS against.
        return;
    }
    let (app, port, sink) = relay_app(false, true, |c| {
        c.relay.tls_cert = Some(cert.clone());
        c.relay.tls_key = Some(key.clone());
    })
    .await
    .unwrap();
    seed(&app).await;
    let (mut d, _) = Dialogue::connect(port).await;
    assert!(d.send("EHLO crm.example.com").await.contains("STARTTLS"));
    let tls = TlsParameters::builder("localhost".into())
        .dangerous_accept_invalid_certs(true)
        .dangerous_accept_invalid_hostnames(true)
        .build()
        .unwrap();
    let crm = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(Tls::Required(tls))
        .credentials(Credentials::new("crm".into(), app.token("relay").into()))
        .timeout(Some(Duration::from_secs(10)))
        .build();
    crm.send_raw(
        &envelope("vendite@example.com", &["anna@example.it"]),
        &message("", "Cifrato"),
    )
    .await
    .unwrap();
    assert_eq!(
        sink.wait_for(1).await[0].parsed().subject(),
        Some("Cifrato")
    );
    app.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The relay on a free port, delivering to a new sink, and the application's own emails (the
/// held notices) sent to the same sink.
async fn relay_app_with_mail(postgres: bool) -> Option<(TestApp, u16, SmtpServer)> {
    relay_app_with_mail_and(postgres, |_| {}).await
}

/// The same, with `adjust` applied to the configuration.
async fn relay_app_with_mail_and(
    postgres: bool,
    adjust: impl FnOnce(&mut ServeConfig),
) -> Option<(TestApp, u16, SmtpServer)> {
    let sink = SmtpServer::start().await;
    let port = free_port();
    let app = spawn_app_with(postgres, |c| {
        relay_config(c, port, &sink, true);
        c.mail = crate::subscribe::mail_config(sink.port, true);
        adjust(c);
    })
    .await?;
    Some((app, port, sink))
}

/// Sends a message to Bruno, who needs a reason, naming none: its id, once its sender has been
/// told it is held.
async fn send_held_to_bruno(app: &TestApp, port: u16, sink: &SmtpServer) -> uuid::Uuid {
    let response = client(port, app.token("relay"))
        .send_raw(
            &envelope("vendite@example.com", &["bruno@example.it"]),
            &message("", "Preventivo"),
        )
        .await
        .unwrap();
    let id = stored_id(&response);
    received_by(sink, "vendite@example.com", 1).await;
    id
}

/// What the sink got for `to`, once there are `n`.
async fn received_by(sink: &SmtpServer, to: &str, n: usize) -> Vec<crate::smtp_server::Received> {
    for _ in 0..500 {
        let got: Vec<_> = sink
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .collect();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{to} never got {n} message(s)");
}

#[tokio::test]
async fn a_recipient_that_needs_a_justification_is_held_its_sender_told_and_its_copy_sent_once_an_operator_gives_the_reason()
 {
    for postgres in tests_backends() {
        let Some((app, port, sink)) = relay_app_with_mail(postgres).await else {
            continue;
        };
        let people = seed(&app).await;
        let reason = app
            .store
            .create_reason("Risposta a una richiesta del cliente", false)
            .await
            .unwrap();
        let crm = client(port, app.token("relay"));
        let response = crm
            .send_raw(
                &envelope(
                    "vendite@example.com",
                    &["anna@example.it", "bruno@example.it"],
                ),
                &message("", "Preventivo"),
            )
            .await
            .unwrap();
        let text: Vec<&str> = response.message().collect();
        assert!(
            text.concat()
                .contains("queued for 1 recipient(s); 1 held for a justification"),
            "{text:?}"
        );
        let id = stored_id(&response);
        // Anna's copy goes; Bruno's waits, held for the console like a Postfix one.
        received_by(&sink, "anna@example.it", 1).await;
        let held = app
            .store
            .held_messages(Some(consento_domain::held::HeldStatus::Held), 10)
            .await
            .unwrap();
        assert_eq!(held.len(), 1, "{held:?}");
        let h = &held[0];
        assert_eq!(h.source, consento_domain::held::HeldSource::Relay);
        assert_eq!(h.contact_id, people.bruno);
        assert_eq!(h.queue_id, Some(id.simple().to_string()));
        assert_eq!(h.rule, "no_consent");
        assert!(h.notified_at.is_some(), "told at once: the message exists");
        let record = app.store.relay_record(id).await.unwrap().unwrap();
        let bruno = record
            .deliveries
            .iter()
            .find(|d| d.contact_id == Some(people.bruno))
            .unwrap();
        assert_eq!(bruno.status.code(), "held");
        assert!(record.body_kept, "the body waits with the held copy");
        // The sender is told, with the signed link to the message's pop-up.
        let notice = received_by(&sink, "vendite@example.com", 1).await;
        let body = notice[0].parsed().body_text(0).unwrap().into_owned();
        assert!(body.contains(&format!("{}/held/", app.base)), "{body}");
        assert!(
            received_by(&sink, "bruno@example.it", 0).await.is_empty(),
            "nothing to Bruno yet"
        );
        // An operator picks the reason: the justified contact recorded, the copy sent.
        let operator = app.console_as("operator").await;
        let page = operator
            .post(
                &format!("/held/{}/release", h.id),
                &[("reason", &reason.id.0.to_string())],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let got = received_by(&sink, "bruno@example.it", 1).await;
        assert!(!got[0].raw().to_ascii_lowercase().contains("x-consento"));
        let justified = app
            .store
            .interactions(&ContactRef::Id(people.bruno))
            .await
            .unwrap();
        assert_eq!(justified.len(), 1);
        assert_eq!(justified[0].reason_id, Some(reason.id));
        let record = wait_until_purged(&app, id).await;
        let bruno = record
            .deliveries
            .iter()
            .find(|d| d.contact_id == Some(people.bruno))
            .unwrap();
        assert_eq!(bruno.status.code(), "delivered");
        assert_eq!(bruno.reason_id, Some(reason.id));
        assert_eq!(bruno.interaction_id, Some(justified[0].id));
        app.shutdown().await;
    }
}

#[tokio::test]
async fn a_held_copy_dropped_by_an_operator_is_never_sent_its_body_goes_and_its_sender_is_told() {
    for postgres in tests_backends() {
        let Some((app, port, sink)) = relay_app_with_mail(postgres).await else {
            continue;
        };
        let people = seed(&app).await;
        let id = send_held_to_bruno(&app, port, &sink).await;
        let held = app.store.held_messages(None, 10).await.unwrap();
        assert_eq!(held.len(), 1);
        let operator = app.console_as("operator").await;
        let page = operator
            .post(&format!("/held/{}/drop", held[0].id), &[])
            .await;
        assert_eq!(
            page.location.as_deref(),
            Some("/held?done=held-dropped"),
            "{}",
            page.body
        );
        let record = app.store.relay_record(id).await.unwrap().unwrap();
        assert_eq!(record.deliveries[0].status.code(), "dropped");
        assert!(
            record.purged_at.is_some() && !record.body_kept,
            "{record:?}"
        );
        let notices = received_by(&sink, "vendite@example.com", 2).await;
        assert_eq!(notices.len(), 2);
        // The card shows the relay's log for Bruno: the message, the rule, the outcome.
        let page = operator.get(&format!("/contacts/{}", people.bruno.0)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("id=\"relay-log\""), "{}", page.body);
        assert!(page.body.contains(&id.to_string()), "{}", page.body);
        assert!(page.body.contains("no_consent"), "{}", page.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            sink.messages()
                .iter()
                .all(|m| !m.to.iter().any(|t| t == "bruno@example.it")),
            "a dropped copy never leaves"
        );
        app.shutdown().await;
    }
}

#[tokio::test]
async fn a_held_copy_nobody_gives_a_reason_for_is_dropped_after_the_relays_hold_hours_and_its_sender_told()
 {
    const HOUR: i64 = 3_600_000_000;
    for postgres in tests_backends() {
        // The relay's own hold; the Postfix policy's (48 hours) plays no part.
        let Some((app, port, sink)) = relay_app_with_mail_and(postgres, |c| {
            c.relay.hold_hours = 24;
        })
        .await
        else {
            continue;
        };
        seed(&app).await;
        let id = send_held_to_bruno(&app, port, &sink).await;
        app.clock.advance(23 * HOUR);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let record = app.store.relay_record(id).await.unwrap().unwrap();
        assert_eq!(record.deliveries[0].status.code(), "held", "23 hours on");
        app.clock.advance(HOUR + 1);
        received_by(&sink, "vendite@example.com", 2).await;
        let record = wait_until_purged(&app, id).await;
        assert_eq!(record.deliveries[0].status.code(), "dropped");
        let held = app.store.held_messages(None, 10).await.unwrap();
        assert_eq!(
            held[0].drop_cause,
            Some(consento_domain::held::DropCause::Expired)
        );
        app.shutdown().await;
    }
}

/// A 1024-bit RSA key for tests only (PKCS #1), and its public half as DNS publishes it.
const DKIM_KEY: &str = include_str!("../dkim/test-key.pem");
const DKIM_RECORD: &str = include_str!("../dkim/test-key.txt");

/// The DNS as the verifier sees it: the selector's TXT record, no real server asked.
struct DkimDns(mail_auth::Txt);

impl mail_auth::ResolverCache<Box<str>, mail_auth::Txt> for DkimDns {
    fn get<Q>(&self, name: &Q) -> Option<mail_auth::Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let key: Box<str> = "consento._domainkey.example.com.".into();
        (std::borrow::Borrow::<Q>::borrow(&key) == name).then(|| self.0.clone())
    }
    fn remove<Q>(&self, _: &Q) -> Option<mail_auth::Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        None
    }
    fn insert(&self, _: Box<str>, _: mail_auth::Txt, _: std::time::Instant) {}
}

#[tokio::test]
async fn a_relayed_bulk_copy_carries_a_dkim_signature_covering_its_unsubscribe_headers_that_verifies()
 {
    for postgres in tests_backends() {
        a_dkim_signature_verifies_on(postgres).await;
    }
}

async fn a_dkim_signature_verifies_on(postgres: bool) {
    use mail_auth::common::parse::TxtRecordParser as _;
    let dir = std::env::temp_dir().join(format!("consento-it-dkim-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("dkim.pem");
    std::fs::write(&key, DKIM_KEY).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let Some((app, port, sink)) = relay_app(postgres, true, |c| {
        c.relay.dkim = Some(consento_server::config::DkimConfig {
            domain: "example.com".to_owned(),
            selector: "consento".to_owned(),
            private_key_file: key.clone(),
            headers: None,
        });
    })
    .await
    else {
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    };
    seed(&app).await;
    client(port, app.token("relay"))
        .send_raw(
            &envelope("news@example.com", &["anna@example.it"]),
            &message("List-Id: Novita <news.example.com>\r\n", "Le novità"),
        )
        .await
        .unwrap();
    let got = sink.wait_for(1).await;
    let raw = got[0].raw();
    let parsed = got[0].parsed();
    let signature = parsed
        .header_raw("DKIM-Signature")
        .expect("a DKIM-Signature")
        .to_ascii_lowercase();
    let h: String = signature
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    for name in [
        "list-unsubscribe",
        "list-unsubscribe-post",
        "from",
        "subject",
    ] {
        assert!(h.split(':').any(|n| n == name), "{name} not in h={h}");
    }
    let dns = DkimDns(mail_auth::Txt::from(
        mail_auth::common::verify::DomainKey::parse(DKIM_RECORD.as_bytes()).unwrap(),
    ));
    let message = mail_auth::AuthenticatedMessage::parse(raw.as_bytes()).unwrap();
    let results = mail_auth::MessageAuthenticator::new_cloudflare()
        .unwrap()
        .verify_dkim(mail_auth::Parameters::new(&message).with_txt_cache(&dns))
        .await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].result(), &mail_auth::DkimResult::Pass);
    app.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_token_whose_default_is_bulk_has_its_plain_messages_decided_as_a_newsletter() {
    for postgres in tests_backends() {
        let Some((app, port, sink)) = relay_app(postgres, true, |_| {}).await else {
            continue;
        };
        seed(&app).await;
        let (_, newsletter) = app
            .store
            .create_token(
                "newsletter",
                &["relay".to_owned()],
                None,
                Some(consento_domain::Action::EmailBulk),
            )
            .await
            .unwrap();
        // No List-Id, no Precedence: the relay's own default (a single email) would let Bruno,
        // who has no consent, wait for a reason; this token's default blocks him at RCPT.
        let (mut d, _) = Dialogue::connect(port).await;
        d.login(&newsletter).await;
        assert!(
            d.send("MAIL FROM:<news@example.com>")
                .await
                .starts_with("250")
        );
        let bruno = d.send("RCPT TO:<bruno@example.it>").await;
        assert!(
            bruno.starts_with("550 5.7.1") && bruno.contains("no_consent"),
            "{bruno}"
        );
        assert!(d.send("RCPT TO:<anna@example.it>").await.starts_with("250"));
        let done = d.data(&message("", "Le novità di febbraio")).await;
        assert!(done.starts_with("250"), "{done}");
        let got = sink.wait_for(1).await;
        assert_eq!(got[0].to, ["anna@example.it"]);
        let parsed = got[0].parsed();
        assert_eq!(
            parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click"),
            "decided and headed as a bulk copy"
        );
        // The relay's token without a default: the same plain message to Bruno is a single
        // email, accepted at RCPT to wait for a reason.
        let (mut d, _) = Dialogue::connect(port).await;
        d.login(app.token("relay")).await;
        assert!(
            d.send("MAIL FROM:<vendite@example.com>")
                .await
                .starts_with("250")
        );
        let bruno = d.send("RCPT TO:<bruno@example.it>").await;
        assert!(bruno.starts_with("250"), "{bruno}");
        app.shutdown().await;
    }
}
