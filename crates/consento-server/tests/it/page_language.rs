//! Every page in one language only. A data set fills every console page (the dashboard, contacts,
//! a card with consents, its history with a preference-center and a double opt-in proof, the
//! contact moment's answers and pop-up, a withdrawal to confirm, requests in every state, an
//! erasure, the audit trail, imports, bulk rules, retention, the newsletter, the expiring list,
//! every setup page) and the public pages (unsubscribe, preference center, subscription and its
//! confirmation). Each is fetched in Italian and in English; its visible text (text, and the
//! labels a screen reader or a phone shows: `aria-label`, `placeholder`, `title`, `data-label`)
//! must hold no literal piece of the other language's messages that is not also a piece of its
//! own (a message left untranslated), nor any of the words that betray text built outside the
//! catalog: an English note on an Italian page, a raw code (`no_consent`, `email.single`), raw
//! JSON.

use std::collections::BTreeSet;

use consento_server::i18n::{CATALOG, Catalog, Locale};
use serde_json::json;

use crate::smtp_server::SmtpServer;
use crate::support::{Console, TestApp, spawn_app_with};

/// A page of the data set: what it is, and its HTML.
struct Shown {
    what: String,
    html: String,
}

/// Text of the data set (names, labels, notes…) and proper nouns: removed from a page before it is
/// read, since they are what a person typed, not messages.
const DATA: &[&str] = &[
    "Mario Rossi",
    "Lucia Verdi",
    "Luigi Neri",
    "Giulia Bianchi",
    "Anna Gialli",
    "Operatrice Sara",
    "Newsletter mensile",
    "Offerte al telefono",
    "Avvisi via SMS",
    "Offerte e novità una volta al mese",
    "Richiesta del cliente",
    "Promozione estiva",
    "Ha chiesto di essere richiamato",
    "modulo-0042",
    "fiera Milano",
    "vendite",
    "assistenza",
    "Regola fiera",
    "Chiede copia dei dati",
    "Chiede la cancellazione",
    "Verifiche in corso con il CRM",
    "Richiesta infondata",
    "crm-x",
    "export.csv",
    "Città",
    "BrowserDiProva/1.0",
    "Garante per la protezione dei dati personali",
    "Reclamo al",
    "non-un-indirizzo",
    "garanteprivacy.it",
    "Esempio S.r.l.",
    "Europe/Rome",
    "contact.erased",
    "English",
    "Italiano",
    "ufficio@esempio.it",
];

/// Words that never appear on an Italian page: English left in text built outside the catalog,
/// and codes or JSON shown as they are stored.
const NOT_ITALIAN: &[&str] = &[
    "contact erased",
    "Contact erased",
    "GDPR Art.",
    "none",
    "None",
    "consent",
    "Consent",
    "the",
    "The",
    "and",
    "of",
    "by",
    "given",
    "withdrawn",
    "refused",
    "renewed",
    "revoked",
    "allowed",
    "blocked",
    "true",
    "false",
    "null",
    "email.single",
    "email.bulk",
    "phone.call",
    "sms.single",
    "sms.bulk",
    "legitimate_interests",
    "Art. 6(1)",
    "preferences",
    "unsubscribe",
    "paper",
    "to",
    "for",
    "with",
    "extended",
    "linked",
    "erased",
];

/// Words that never appear on an English page: Italian articles, prepositions and negations, and
/// the Italian way of citing an article.
const NOT_ENGLISH: &[&str] = &[
    "il",
    "la",
    "della",
    "di",
    "del",
    "dei",
    "è",
    "non",
    "Non",
    "nessuna",
    "Nessuna",
    "nessuno",
    "Nessuno",
    "art.",
    "dal",
    "Consenso",
    "Anagrafica",
    "true",
    "false",
    "null",
];

/// Creates the data set through the console, the API and the public pages, as people would, and
/// returns the admin's console, the console's pages and the public pages' addresses.
async fn world(app: &TestApp, smtp: &SmtpServer) -> (Console, Vec<String>, Vec<String>) {
    let admin = app.console_as("admin").await;
    let ok = |page: &crate::support::Page, what: &str| {
        assert!(
            page.status == 303 || page.status == 200,
            "{what}: {} {}",
            page.status,
            page.body
        );
    };

    // Setup: the switches, three consent types, two reasons, a notice, an account.
    ok(
        &admin
            .post(
                "/setup/privacy",
                &[
                    ("check_email_single", "on"),
                    ("check_email_bulk", "on"),
                    ("check_phone", "on"),
                ],
            )
            .await,
        "privacy",
    );
    ok(
        &admin
            .post(
                "/setup/privacy",
                &[
                    ("check_email_single", "on"),
                    ("check_email_bulk", "on"),
                    ("check_phone", "on"),
                    ("check_sms", "on"),
                ],
            )
            .await,
        "privacy",
    );
    for (title, code, validity, permits, shown) in [
        (
            "Newsletter mensile",
            "NEWS",
            "365",
            &["email.bulk", "email.single"][..],
            true,
        ),
        (
            "Offerte al telefono",
            "TEL",
            "730",
            &["phone.call"][..],
            false,
        ),
        (
            "Avvisi via SMS",
            "SMS",
            "",
            &["sms.single", "sms.bulk"][..],
            false,
        ),
    ] {
        let mut fields = vec![
            ("title", title),
            ("code", code),
            ("description", "Offerte e novità una volta al mese"),
            ("validity_days", validity),
        ];
        fields.extend(permits.iter().map(|p| (*p, "on")));
        if shown {
            fields.push(("show_in_preference_center", "on"));
        }
        ok(&admin.post("/setup/types/new", &fields).await, code);
    }
    ok(
        &admin
            .post(
                "/setup/types/TEL",
                &[
                    ("title", "Offerte al telefono"),
                    ("code", "TEL"),
                    ("description", ""),
                    ("validity_days", "365"),
                    ("phone.call", "on"),
                ],
            )
            .await,
        "type update",
    );
    ok(
        &admin
            .post("/setup/reasons", &[("label", "Richiesta del cliente")])
            .await,
        "reason",
    );
    ok(
        &admin
            .post(
                "/setup/reasons",
                &[("label", "Promozione estiva"), ("marketing", "on")],
            )
            .await,
        "reason",
    );
    ok(
        &admin
            .post(
                "/setup/notices",
                &[
                    ("version", "2026-01"),
                    ("language", "it"),
                    ("url", "https://esempio.it/privacy"),
                    ("body", ""),
                ],
            )
            .await,
        "notice",
    );
    ok(
        &admin
            .post(
                "/setup/users",
                &[
                    ("username", "sara"),
                    ("display_name", "Operatrice Sara"),
                    ("role", "operator"),
                ],
            )
            .await,
        "user",
    );

    // Contacts: Mario through the console, Lucia and Luigi through the API.
    let created = admin
        .post(
            "/contacts",
            &[
                ("name", "Mario Rossi"),
                ("emails", "mario.rossi@example.it"),
                ("phones", "333 123 4567"),
                ("external_id", "CRM-1001"),
                ("source", "fiera Milano"),
                ("legal_basis", "consent"),
                ("purposes", "vendite\nassistenza"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let mario = created
        .location
        .unwrap()
        .trim_start_matches("/contacts/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    for (name, email, phone, ext) in [
        (
            "Lucia Verdi",
            "lucia.verdi@example.it",
            "+39 333 765 4321",
            "CRM-1002",
        ),
        (
            "Luigi Neri",
            "luigi.neri@example.it",
            "+39 347 000 1111",
            "CRM-1003",
        ),
    ] {
        let (status, body) = app
            .post(
                "/v1/contacts",
                "write",
                &json!({"name": name, "emails": [email], "phones": [phone], "external_id": ext,
                        "source": "crm-x", "legal_basis": "legitimate_interests",
                        "purposes": ["vendite"]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let (lucia, luigi) = (ids[0].clone(), ids[1].clone());

    // Mario's consents on the card: the newsletter on the first of this month (on paper, with
    // its form number), the phone today; then the phone is unticked (the confirmation step).
    let today = consento_domain::Zone::rome()
        .date_of(app.store.now())
        .unwrap()
        .to_string();
    let first = format!("{}-01", &today[..7]);
    let card = format!("/contacts/{mario}");
    ok(
        &admin
            .post(
                &format!("{card}/consents"),
                &[
                    ("listed", "NEWS"),
                    ("listed", "TEL"),
                    ("listed", "SMS"),
                    ("type-NEWS", "1"),
                    ("date-NEWS", &first),
                    ("method", "paper"),
                    ("evidence", "modulo-0042"),
                ],
            )
            .await,
        "consents",
    );
    ok(
        &admin
            .post(
                &format!("{card}/consents"),
                &[
                    ("listed", "NEWS"),
                    ("listed", "TEL"),
                    ("listed", "SMS"),
                    ("type-NEWS", "1"),
                    ("date-NEWS", &first),
                    ("type-TEL", "1"),
                    ("date-TEL", &today),
                    ("method", "phone"),
                ],
            )
            .await,
        "consents",
    );
    // The contact moments: an email allowed by the newsletter's consent, an SMS that needs a
    // reason, justified.
    ok(
        &admin
            .post(&format!("{card}/moment"), &[("action", "email.single")])
            .await,
        "moment",
    );
    ok(
        &admin
            .post(&format!("{card}/moment"), &[("action", "sms.single")])
            .await,
        "moment",
    );
    let reasons = app.store.reasons().await.unwrap();
    let service = reasons
        .iter()
        .find(|r| !r.marketing)
        .unwrap()
        .id
        .0
        .to_string();
    let justified = admin
        .post(
            &format!("{card}/justify"),
            &[
                ("action", "sms.single"),
                ("reason", &service),
                ("note", "Ha chiesto di essere richiamato"),
            ],
        )
        .await;
    assert_eq!(justified.status, 303, "{}", justified.body);
    let justified = justified.location.unwrap();
    // A justified call through the API, by a CRM user.
    let (status, body) = app
        .post(
            "/v1/interactions",
            "write",
            &json!({"contact": {"contact_id": mario}, "action": "phone.call",
                    "reason_id": service, "operator": "gbianchi"}),
        )
        .await;
    assert!(status == 201 || status == 200, "{status} {body}");
    admin.get(&format!("{card}/export.json")).await;
    let history = app
        .store
        .consent_history(&consento_store::ContactRef::Id(consento_domain::ContactId(
            uuid::Uuid::parse_str(&mario).unwrap(),
        )))
        .await
        .unwrap();
    admin
        .get(&format!("{card}/receipts/{}", history[0].id.0))
        .await;
    // A rectification of Mario's provenance, and his SMS channel switched off.
    ok(
        &admin
            .post(
                &format!("{card}/provenance"),
                &[
                    ("source", "fiera Milano"),
                    ("legal_basis", "contract"),
                    ("purposes", "vendite"),
                ],
            )
            .await,
        "provenance",
    );
    ok(
        &admin
            .post(
                &format!("{card}/channel"),
                &[("channel", "sms"), ("off", "1")],
            )
            .await,
        "channel",
    );

    // Lucia: restricted and objecting, then the newsletter from a preference center link.
    for flag in ["restriction", "objection"] {
        ok(
            &admin
                .post(&format!("/contacts/{lucia}/{flag}"), &[("on", "1")])
                .await,
            flag,
        );
    }
    ok(
        &admin
            .post(&format!("/contacts/{lucia}/restriction"), &[("on", "0")])
            .await,
        "lift",
    );

    // Public pages: Mario's links (a one-click unsubscribe and a channel switched in the
    // preference center), a subscription confirmed from its email.
    let (status, links) = app
        .get(&format!("/v1/contacts/{mario}/links?type=NEWS"), "write")
        .await;
    assert_eq!(status, 200, "{links}");
    let unsubscribe = links["unsubscribe_url"].as_str().unwrap().to_owned();
    let preferences = links["preferences_url"].as_str().unwrap().to_owned();
    let person = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("BrowserDiProva/1.0")
        .build()
        .unwrap();
    let mut public = vec![unsubscribe.clone(), preferences.clone()];
    let one_click = person
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), 200);
    let switched = person
        .post(&preferences)
        .form(&[("action", "channel-off"), ("channel", "phone")])
        .send()
        .await
        .unwrap();
    assert!(switched.status().is_redirection(), "{}", switched.status());
    let subscribed = person
        .post(format!("{}/subscribe?lang=it", app.base))
        .form(&[
            ("email", "giulia.bianchi@example.it"),
            ("name", "Giulia Bianchi"),
            ("topic", "NEWS"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 303);
    // Lucia was told by email that her restriction was lifted: the confirmation is the second.
    let message = smtp
        .wait_for(2)
        .await
        .into_iter()
        .find(|m| m.to == ["giulia.bianchi@example.it"])
        .unwrap();
    let text = message.parsed().body_text(0).unwrap().into_owned();
    let confirm = text
        .split_whitespace()
        .find(|w| w.contains("/confirm/"))
        .unwrap()
        .to_owned();
    let confirm = confirm.split('?').next().unwrap().to_owned();
    public.push(confirm.clone());
    let confirmed = person
        .post(&confirm)
        .form(&[("confirm", "1")])
        .send()
        .await
        .unwrap();
    assert!(confirmed.status().as_u16() < 400, "{}", confirmed.status());
    public.push(format!("{}/subscribe", app.base));
    public.push(format!("{}/subscribe/sent", app.base));
    public.push(format!("{}/u/not-a-token", app.base));

    // Requests: one open and extended, one rejected, an erasure carried out for Luigi.
    for (kind, channel, contact, description) in [
        ("access", "email", mario.as_str(), "Chiede copia dei dati"),
        ("rectification", "letter", "", "Chiede copia dei dati"),
        (
            "erasure",
            "phone",
            luigi.as_str(),
            "Chiede la cancellazione",
        ),
        ("objection", "in_person", "", "Chiede copia dei dati"),
    ] {
        ok(
            &admin
                .post(
                    "/requests",
                    &[
                        ("kind", kind),
                        ("channel", channel),
                        ("received", &today),
                        ("description", description),
                        ("contact", contact),
                    ],
                )
                .await,
            kind,
        );
    }
    let requests = app
        .store
        .requests(&consento_store::DataRequestFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let of = |kind: &str| {
        requests
            .iter()
            .find(|r| r.kind.code() == kind)
            .unwrap()
            .id
            .to_string()
    };
    let (access, rectification, erasure) = (of("access"), of("rectification"), of("erasure"));
    let objection = of("objection");
    ok(
        &admin
            .post(
                &format!("/requests/{objection}/contact"),
                &[("contact", "CRM-1001")],
            )
            .await,
        "link",
    );
    ok(
        &admin
            .post(
                &format!("/requests/{access}/move"),
                &[("to", "in_progress"), ("note", "")],
            )
            .await,
        "move",
    );
    ok(
        &admin
            .post(
                &format!("/requests/{access}/extension"),
                &[("extension_reason", "Verifiche in corso con il CRM")],
            )
            .await,
        "extend",
    );
    ok(
        &admin
            .post(
                &format!("/requests/{rectification}/move"),
                &[
                    ("to", "rejected"),
                    ("reason", "Richiesta infondata"),
                    (
                        "remedies",
                        "Reclamo al Garante per la protezione dei dati personali",
                    ),
                ],
            )
            .await,
        "reject",
    );
    ok(
        &admin
            .post(
                &format!("/contacts/{luigi}/erase"),
                &[("request", erasure.as_str())],
            )
            .await,
        "erase",
    );

    // An import, a bulk rule applied and reverted, a newsletter count and download.
    const MAPPING: &str = "external_id = \"Codice\"\nname = \"Nome\"\nemails = [\"Email\"]\n\
                           attributes = [\"Città\"]\n\n[[consents]]\ncode = \"NEWS\"\n\
                           date = \"Data\"\nstate = \"Stato\"\n";
    const FILE: &str = "Codice;Nome;Email;Città;Data;Stato\n\
                        C1;Anna Gialli;anna.gialli@example.it;Milano;15/03/2024;dato\n\
                        C2;;;Roma;2024-02-01;dato\n";
    let sent = admin
        .post_multipart(
            "/imports",
            &[("source", "crm-x"), ("mapping", MAPPING), ("delimiter", "")],
            ("file", "export.csv", FILE.as_bytes()),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let run = sent.location.unwrap();
    for _ in 0..200 {
        if !admin
            .get(&run)
            .await
            .body
            .contains("http-equiv=\"refresh\"")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let saved = admin
        .post(
            "/rules",
            &[
                ("name", "Regola fiera"),
                ("source_mode", "equals"),
                ("source", "fiera Milano"),
                ("legal_basis", "contract"),
                ("consent_type", "NEWS"),
                ("consent_state", "granted"),
                ("set_legal_basis", "legitimate_interests"),
                ("purposes_mode", "add"),
                ("purposes", "assistenza"),
                ("attribute_mode", "set"),
                ("set_attr_key", "lista"),
                ("set_attr_value", "fiera"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let rule = saved
        .location
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    ok(
        &admin
            .post(&format!("{rule}/apply"), &[("confirm", "yes")])
            .await,
        "apply",
    );
    let runs = app.store.rule_runs(10).await.unwrap();
    ok(
        &admin
            .post(&format!("/rules/runs/{}/revert", runs[0].id), &[])
            .await,
        "revert",
    );
    let saved = admin
        .post(
            "/rules",
            &[
                ("name", "Regola vuota"),
                ("source_mode", "empty"),
                ("purposes_mode", "replace"),
                ("purposes", "assistenza"),
                ("attribute_mode", "remove"),
                ("set_attr_key", "lista"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    admin.get("/newsletter?type=NEWS").await;
    admin.get("/newsletter/export.csv?type=NEWS").await;
    // The opt-out register: the list due downloaded, the answer imported (its first number
    // enrolled), a campaign's list downloaded.
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({"name": "Lucia Verdi", "phones": ["+39 333 555 0101"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let due = admin.get("/rpo/due.txt").await;
    assert_eq!(due.status, 200, "{}", due.body);
    let first = due.body.lines().next().unwrap().to_owned();
    let answered = app.store.now().to_rfc3339();
    let imported = admin
        .post_files(
            "/rpo/answers",
            &[("checked_at", answered.as_str()), ("mode", "enrolled")],
            &[
                ("answer", "esito.csv", format!("{first}\n").as_bytes()),
                ("sent", "lista.txt", due.body.as_bytes()),
            ],
        )
        .await;
    assert_eq!(imported.status, 303, "{}", imported.body);
    let csv = admin
        .get("/rpo/campaign.csv?campaign=Promozione%20estiva&leave_out_unchecked=1")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    // A number given the phone consent after the check: a campaign's list is refused for it.
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({"name": "Lucia Verdi", "phones": ["+39 333 555 0202"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            &format!("/v1/contacts/{}/consents", body["id"].as_str().unwrap()),
            "write",
            &json!({"kind": "given", "type_code": "TEL", "method": "phone"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // An email to Lucia held by the policy service for Postfix, waiting for a reason.
    let held = consento_domain::EventId::new_v7(app.store.now(), [4; 10]).0;
    app.store
        .hold_message(
            &consento_store::NewHeld {
                id: held,
                source: consento_domain::held::HeldSource::Postfix,
                queue_id: Some(consento_domain::held::QueueId::parse("4F2A1B3C9D").unwrap()),
                transaction_ref: None,
                sender: "ufficio@esempio.it".into(),
                sender_locale: "it".into(),
                recipient: "lucia.verdi@example.it".into(),
                contact_id: consento_domain::ContactId(uuid::Uuid::parse_str(&lucia).unwrap()),
                action: consento_domain::Action::EmailSingle,
                rule: "no_consent".into(),
                hold_until: app.store.now().plus_days(2),
            },
            None,
        )
        .await
        .unwrap();

    let mut pages = vec![
        "/held".to_owned(),
        format!("/held?justify={held}"),
        "/".to_owned(),
        "/contacts".to_owned(),
        "/contacts?q=Rossi".to_owned(),
        "/contacts/new".to_owned(),
        card.clone(),
        format!("{card}?moment=email.single"),
        format!("{card}?moment=phone.call"),
        format!("{card}?moment=sms.single"),
        justified,
        format!("{card}/edit"),
        format!("/contacts/{lucia}"),
        format!("/contacts/{lucia}?moment=email.single"),
        format!("/contacts/{luigi}"),
        format!("/contacts/{lucia}/erase"),
        "/consents/expiring?type=NEWS&days=400".to_owned(),
        "/newsletter".to_owned(),
        "/newsletter?type=NEWS".to_owned(),
        "/newsletter?type=TEL".to_owned(),
        "/audit".to_owned(),
        "/requests".to_owned(),
        "/requests?show=all".to_owned(),
        format!("/requests/{access}"),
        format!("/requests/{rectification}"),
        format!("/requests/{erasure}"),
        format!("/requests/{objection}"),
        "/retention".to_owned(),
        "/rules".to_owned(),
        rule,
        "/imports".to_owned(),
        run,
        "/rpo".to_owned(),
        imported.location.unwrap(),
        "/rpo?campaign=Promozione%20estiva".to_owned(),
        "/setup/privacy".to_owned(),
        "/setup/types".to_owned(),
        "/setup/types/new".to_owned(),
        "/setup/types/NEWS".to_owned(),
        "/setup/reasons".to_owned(),
        format!("/setup/reasons/{service}"),
        "/setup/notices".to_owned(),
        "/setup/users".to_owned(),
        "/account/password".to_owned(),
        "/contacts/00000000-0000-7000-8000-000000000000".to_owned(),
    ];
    // The cards whose history holds a double opt-in's and an import's proof.
    for email in ["giulia.bianchi@example.it", "anna.gialli@example.it"] {
        let c = app
            .store
            .contact(&consento_store::ContactRef::Email(email.into()))
            .await
            .unwrap();
        pages.push(format!("/contacts/{}", c.id));
    }
    let users = app.store.users().await.unwrap();
    let sara = users.iter().find(|u| u.username == "sara").unwrap();
    pages.push(format!("/setup/users/{}", sara.id));
    for page in &pages {
        let shown = admin.get(page).await;
        assert!(
            shown.status == 200 || shown.status == 404,
            "{page}: {}",
            shown.status
        );
    }
    (admin, pages, public)
}

/// Every page of the data set in `locale`: the console's pages as the admin sees them, a few
/// forms answered with their messages, the sign-in page, and the public pages.
async fn every_page(
    app: &TestApp,
    admin: &Console,
    pages: &[String],
    public: &[String],
    locale: Locale,
) -> Vec<Shown> {
    let lang = locale.code();
    let switched = admin
        .post("/language", &[("lang", lang), ("next", "/")])
        .await;
    assert_eq!(switched.status, 303, "{}", switched.body);
    let mut shown = Vec::new();
    for path in pages {
        let page = admin.get(path).await;
        shown.push(Shown {
            what: path.clone(),
            html: page.body,
        });
    }
    let mario = app
        .store
        .contact(&consento_store::ContactRef::External("CRM-1001".into()))
        .await
        .unwrap()
        .id;
    let card = format!("/contacts/{mario}");
    let held = app
        .store
        .held_messages(Some(consento_domain::held::HeldStatus::Held), 1)
        .await
        .unwrap()[0]
        .id;
    // Forms answered with their messages: a withdrawal to confirm, a date in the future, a
    // reason left out, a contact with a bad address, a request of no known kind (the error
    // page), a rule that sets nothing.
    let tomorrow = consento_domain::Zone::rome()
        .date_of(app.store.now())
        .unwrap()
        .next_day()
        .unwrap()
        .to_string();
    for (path, fields) in [
        (
            format!("{card}/consents"),
            vec![
                ("listed", "NEWS"),
                ("listed", "TEL"),
                ("listed", "SMS"),
                ("method", "phone"),
            ],
        ),
        (
            format!("{card}/consents"),
            vec![
                ("listed", "NEWS"),
                ("listed", "TEL"),
                ("listed", "SMS"),
                ("type-TEL", "1"),
                ("type-SMS", "1"),
                ("date-SMS", tomorrow.as_str()),
            ],
        ),
        (
            format!("{card}/justify"),
            vec![("action", "phone.call"), ("reason", "")],
        ),
        (
            format!("/held/{held}/release"),
            vec![("reason", ""), ("note", "")],
        ),
        (
            "/contacts".to_owned(),
            vec![("name", "X"), ("emails", "non-un-indirizzo")],
        ),
        (
            "/requests".to_owned(),
            vec![("kind", "x"), ("channel", "email")],
        ),
        (
            "/rules".to_owned(),
            vec![
                ("name", "Niente"),
                ("source_mode", "any"),
                ("purposes_mode", "keep"),
                ("attribute_mode", "keep"),
            ],
        ),
    ] {
        let page = admin.post(&path, &fields).await;
        assert!(
            page.status < 300 || page.status == 422,
            "{path} {fields:?}: {}",
            page.status
        );
        shown.push(Shown {
            what: format!("POST {path} {fields:?}"),
            html: page.body,
        });
    }
    // The register's answer refused line by line: the list sent, then the answer.
    for (answer, sent) in [
        ("3331234567;1\n", "3331234567\nciao\n"),
        (
            "3331234567;forse\n3330000000;1\n3331234567;1\n3331234567;0\n+4915123456789\n",
            "3331234567\n",
        ),
    ] {
        let page = admin
            .post_files(
                "/rpo/answers",
                &[("checked_at", "2026-03-02T10:00"), ("mode", "callable")],
                &[
                    ("answer", "esito.csv", answer.as_bytes()),
                    ("sent", "lista.txt", sent.as_bytes()),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        shown.push(Shown {
            what: format!("POST /rpo/answers {answer:?}"),
            html: page.body,
        });
    }
    // A campaign's list refused while numbers lack a check, and a name that is none.
    for path in [
        "/rpo/campaign.csv?campaign=Promozione%20estiva",
        "/rpo/campaign.csv?campaign=%20",
    ] {
        let page = admin.get(path).await;
        shown.push(Shown {
            what: path.to_owned(),
            html: page.body,
        });
    }
    let signed_out = Console::new(&app.base);
    let login = signed_out.get_in("/login", lang).await;
    shown.push(Shown {
        what: "/login".to_owned(),
        html: login.body,
    });
    let client = reqwest::Client::new();
    for url in public {
        let sep = if url.contains('?') { '&' } else { '?' };
        let html = client
            .get(format!("{url}{sep}lang={lang}"))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        shown.push(Shown {
            what: url.clone(),
            html,
        });
    }
    shown
}

/// The text a person reads on a page: its text and the labels shown or spoken (`aria-label`,
/// `placeholder`, `title`, `alt`, and `data-label`, which a phone shows above each cell), with
/// the data set's own words taken out.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        text.push(' ');
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + end];
        for attr in [
            "aria-label=\"",
            "placeholder=\"",
            "title=\"",
            "alt=\"",
            "data-label=\"",
        ] {
            if let Some(i) = tag.find(attr) {
                let value = &tag[i + attr.len()..];
                text.push_str(value.split('"').next().unwrap_or_default());
                text.push(' ');
            }
        }
        rest = &rest[start + end + 1..];
    }
    text.push_str(rest);
    let mut text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&nbsp;", " ");
    for data in DATA {
        text = text.replace(data, " ¶ ");
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `needle` stands in `haystack` as whole words (no letter or digit touching it).
fn has_words(haystack: &str, needle: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    haystack.match_indices(needle).any(|(i, _)| {
        !word(haystack[..i].chars().next_back())
            && !word(haystack[i + needle.len()..].chars().next())
    })
}

/// The pieces of `foreign`'s catalog that `own`'s catalog never uses (as whole words in any of
/// its pieces): what a page in `own` must not show. Pieces shorter than three letters ("A",
/// "Da", "By") are left out: they are words of either language.
fn foreign_pieces(own: Locale, foreign: Locale) -> BTreeSet<String> {
    let own = Catalog::literal_pieces(own);
    Catalog::literal_pieces(foreign)
        .into_iter()
        .map(|p| {
            p.trim_matches(|c: char| !c.is_alphanumeric() && c != ')' && c != '»' && c != '”')
                .to_owned()
        })
        .filter(|p| p.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .filter(|p| !own.iter().any(|o| has_words(o, p)))
        .collect()
}

/// What on `pages` is not in `locale`: foreign pieces, words of the list, raw codes and JSON.
fn leaks(pages: &[Shown], locale: Locale, foreign: Locale, words: &[&str]) -> Vec<String> {
    assert!(CATALOG.problems.is_empty());
    let pieces = foreign_pieces(locale, foreign);
    assert!(pieces.len() > 300, "{}", pieces.len());
    let mut found = Vec::new();
    for page in pages {
        assert!(
            page.html.contains(&format!("lang=\"{}\"", locale.code())),
            "{} is not in {}: {}",
            page.what,
            locale.code(),
            page.html
        );
        let text = visible_text(&page.html);
        for piece in &pieces {
            if has_words(&text, piece) {
                found.push(format!("{}: message «{piece}»", page.what));
            }
        }
        for word in words {
            if has_words(&text, word) {
                found.push(format!(
                    "{}: word «{word}» in: {}",
                    page.what,
                    around(&text, word)
                ));
            }
        }
        for raw in ["{\"", "\":", "\\u"] {
            if text.contains(raw) {
                found.push(format!(
                    "{}: raw JSON in: {}",
                    page.what,
                    around(&text, raw)
                ));
            }
        }
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if token.contains('_') && token.chars().any(|c| c.is_ascii_lowercase()) {
                found.push(format!("{}: code «{token}»", page.what));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// A few words either side of the first whole-word `needle` in `text`.
fn around(text: &str, needle: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let i = text
        .match_indices(needle)
        .find(|(i, _)| {
            !word(text[..*i].chars().next_back()) && !word(text[i + needle.len()..].chars().next())
        })
        .map_or(0, |(i, _)| i);
    let start = text[..i].char_indices().rev().nth(60).map_or(0, |(j, _)| j);
    let end = text[i..]
        .char_indices()
        .nth(60)
        .map_or(text.len(), |(j, _)| i + j);
    text[start..end].to_owned()
}

async fn app_with_mail() -> (SmtpServer, TestApp) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let app = spawn_app_with(false, |c| {
        c.mail = crate::subscribe::mail_config(port, true)
    })
    .await
    .unwrap();
    (smtp, app)
}

#[tokio::test]
async fn every_page_in_italian_shows_no_english_message_code_or_json() {
    let (smtp, app) = app_with_mail().await;
    let (admin, pages, public) = world(&app, &smtp).await;
    let shown = every_page(&app, &admin, &pages, &public, Locale::It).await;
    let found = leaks(&shown, Locale::It, Locale::En, NOT_ITALIAN);
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn every_page_in_english_shows_no_italian_message_code_or_json() {
    let (smtp, app) = app_with_mail().await;
    let (admin, pages, public) = world(&app, &smtp).await;
    let shown = every_page(&app, &admin, &pages, &public, Locale::En).await;
    let found = leaks(&shown, Locale::En, Locale::It, NOT_ENGLISH);
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
    app.shutdown().await;
}
