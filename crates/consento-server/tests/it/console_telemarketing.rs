//! The contact card's telemarketing section through real HTTP, with the injected clock: each
//! number's check against the opt-out register and its directory listing in the office's time,
//! the customer relationship, the calls asked for and the calls' outcomes; its four forms write
//! through the audited use cases, refuse bad input in the operator's language without writing
//! anything, and a refusal recorded from the card is at once the person's objection, shown with
//! the instant it was said and the instant it was recorded.

use consento_domain::ContactId;
use consento_store::ContactRef;
use serde_json::Value;

use crate::console_contacts::{audited, text};
use crate::support::{Console, TestApp, spawn_app};
use crate::telemarketing::{at, contact, register_answer};

/// Every action the section's forms audit.
const ACTIONS: [&str; 5] = [
    "contact.customer",
    "contact.directory",
    "contact.call_request",
    "call.outcome",
    "contact.objection",
];

/// A console signed in again as the account `console_as(role)` made (after the clock moved past
/// its session).
async fn signed_in_again(app: &TestApp, role: &str) -> Console {
    let console = Console::new(&app.base);
    console
        .login(&format!("{role}-user"), "a long test password")
        .await;
    console
}

/// Anna, with a mobile (her main number) and a landline.
async fn anna(app: &TestApp) -> String {
    let (status, body) = app
        .post(
            "/v1/contacts",
            "write",
            &serde_json::json!({ "name": "Anna Rossi", "phones": ["+39 333 1234567", "06 1234 5678"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The card of `id` in `language`, its HTML escapes undone.
async fn card(console: &Console, id: &str, language: &str) -> String {
    let page = console.get_in(&format!("/contacts/{id}"), language).await;
    assert_eq!(page.status, 200, "{}", page.body);
    text(&page.body)
}

/// Posts a form of the section in Italian.
async fn post_it(console: &Console, path: &str, fields: &[(&str, &str)]) -> crate::support::Page {
    console
        .post_with(path, fields, &[("accept-language", "it")])
        .await
}

/// The text of the element with `id` up to its first tag.
fn element(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {body}"))
        + marker.len();
    body[start..]
        .split('<')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// What the section's facts are through the API.
async fn summary(app: &TestApp, id: &str) -> Value {
    let (status, body) = app
        .get(&format!("/v1/contacts/{id}/telemarketing"), "read")
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A form posted with bad input: its path under the contact, its fields, and the message
/// expected at each refused field (by the message's element id).
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, &'static str)>,
);

fn contact_id(id: &str) -> ContactId {
    ContactId(uuid::Uuid::parse_str(id).unwrap())
}

#[tokio::test]
async fn each_numbers_register_check_and_directory_status_are_shown_in_the_offices_time() {
    let app = spawn_app().await;
    // Monday 2 March 2026, 10:00 in Rome: the register answers about Anna's mobile (not
    // enrolled) and Bruno's (enrolled); Anna's landline is never checked.
    app.clock.set(at("2026-03-02T09:00:00Z"));
    let anna = anna(&app).await;
    let bruno = contact(&app, "Bruno Bianchi", "+39 333 9876543").await;
    register_answer(
        &app,
        "2026-03-02T09:00:00Z",
        &["+393339876543"],
        &["+393331234567"],
    )
    .await;
    let operator = app.console_as("operator").await;
    let body = card(&operator, &anna, "it").await;
    for expected in [
        "Telemarketing e Registro delle opposizioni",
        "+393331234567 <span class=\"hint\">(principale)</span>",
        "Verificato il 02/03/2026 10:00 CET, valido fino al 17/03/2026 10:00 CET",
        "Non iscritto",
        "+390612345678",
        "Mai verificato sul Registro",
        "Non registrato: considerato non presente",
        "Nessun rapporto contrattuale registrato.",
        "L'interessato non ha chiesto di essere chiamato.",
        "L'interessato non si oppone al marketing diretto.",
        "Nessuna chiamata registrata.",
        "Gli orari sono in Europe/Rome.",
    ] {
        assert!(body.contains(expected), "{expected} in {body}");
    }
    let body = card(&operator, &bruno, "it").await;
    assert!(
        body.contains("Iscritto al Registro dal 2 marzo 2026"),
        "{body}"
    );
    // Sixteen days on, the check no longer counts: the card says when it expired.
    app.clock.set(at("2026-03-18T09:00:00Z"));
    let operator = signed_in_again(&app, "operator").await;
    let body = card(&operator, &anna, "it").await;
    assert!(
        body.contains(
            "Verificato il 02/03/2026 10:00 CET: scaduto il 17/03/2026 10:00 CET, va verificato di nuovo"
        ),
        "{body}"
    );
    let body = card(&operator, &anna, "en").await;
    assert!(
        body.contains("Checked on 2026-03-02 10:00 CET: expired on 2026-03-17 10:00 CET"),
        "{body}"
    );
    assert!(body.contains("Not recorded: treated as not listed"));
}

#[tokio::test]
async fn each_form_of_the_section_writes_through_the_audited_use_case_and_the_card_then_shows_it() {
    let app = spawn_app().await;
    // Monday 2 March 2026, 10:30 in Rome.
    app.clock.set(at("2026-03-02T09:30:00Z"));
    let anna = anna(&app).await;
    let operator = app.console_as("operator").await;
    let body = card(&operator, &anna, "it").await;
    // A call is recorded by default as placed now, by whoever is signed in.
    assert!(
        body.contains("id=\"operator\" name=\"operator\" value=\"Test operator\""),
        "{body}"
    );
    assert!(
        body.contains("id=\"called_at\" name=\"called_at\" value=\"2026-03-02T10:30\""),
        "{body}"
    );
    let back = |done: &str| Some(format!("/contacts/{anna}?done={done}#telemarketing"));

    // The customer relationship: a contract that ends on 10 March at 18:00; the exception
    // holds 30 days of 24 hours after it, past the change to summer time.
    let page = post_it(
        &operator,
        &format!("/contacts/{anna}/customer"),
        &[
            ("contract", "until"),
            ("until", "2026-03-10T18:00"),
            ("customer_source", "contratto luce n. 4711"),
        ],
    )
    .await;
    assert_eq!((page.status, page.location), (303, back("customer-set")));
    let body = card(&operator, &anna, "it").await;
    for expected in [
        "Il contratto termina il 10/03/2026 18:00 CET; l'eccezione al Registro vale fino al 09/04/2026 19:00 CEST.",
        "Fonte: contratto luce n. 4711; registrato il 02/03/2026 10:30 CET da Test operator.",
    ] {
        assert!(body.contains(expected), "{expected} in {body}");
    }
    let page = post_it(
        &operator,
        &format!("/contacts/{anna}/customer"),
        &[
            ("contract", "in_force"),
            ("customer_source", "contratto gas n. 12"),
        ],
    )
    .await;
    assert_eq!(page.status, 303);
    assert!(
        card(&operator, &anna, "it")
            .await
            .contains("Contratto in essere.")
    );
    assert_eq!(
        summary(&app, &anna).await["customer"]["contract"],
        "in_force"
    );
    let page = post_it(
        &operator,
        &format!("/contacts/{anna}/customer"),
        &[("contract", "none"), ("customer_source", "")],
    )
    .await;
    assert_eq!(
        (page.status, page.location),
        (303, back("customer-cleared"))
    );
    let body = operator
        .get_in(&format!("/contacts/{anna}?done=customer-cleared"), "it")
        .await
        .body;
    assert!(text(&body).contains("Rapporto contrattuale cancellato."));
    assert!(text(&body).contains("Nessun rapporto contrattuale registrato."));

    // The landline is in the public phone directory.
    let page = post_it(
        &operator,
        &format!("/contacts/{anna}/directory"),
        &[
            ("directory_phone", "+390612345678"),
            ("listed", "1"),
            ("directory_source", "elenco telefonico pubblico"),
        ],
    )
    .await;
    assert_eq!((page.status, page.location), (303, back("directory-saved")));
    let body = card(&operator, &anna, "it").await;
    assert!(
        body.contains("Presente in un elenco pubblico<br><span class=\"hint\">Fonte: elenco telefonico pubblico; registrato il 02/03/2026 10:30 CET da Test operator.</span>"),
        "{body}"
    );
    let numbers = &summary(&app, &anna).await["numbers"];
    assert_eq!(numbers[1]["phone"], "+390612345678");
    assert_eq!(numbers[1]["directory"]["listed"], true);
    assert_eq!(numbers[0]["directory"], Value::Null);

    // She asked to be called on her mobile, at 10:15 this morning: open for 7 days.
    let page = post_it(
        &operator,
        &format!("/contacts/{anna}/call-requests"),
        &[
            ("request_phone", "+393331234567"),
            ("requested_at", "2026-03-02T10:15"),
            ("request_source", "modulo «richiamami» sul sito"),
        ],
    )
    .await;
    assert_eq!(
        (page.status, page.location),
        (303, back("call-request-saved"))
    );
    let body = card(&operator, &anna, "it").await;
    for expected in [
        "<td data-label=\"Richiesta il\">02/03/2026 10:15 CET</td>",
        "<td data-label=\"Valida fino al\">09/03/2026 10:15 CET</td>",
        ">Aperta</span>",
    ] {
        assert!(body.contains(expected), "{expected} in {body}");
    }

    // The call she asked for, answered at 10:20: it uses up her request.
    let page = post_it(
        &operator,
        &format!("/contacts/{anna}/calls"),
        &[
            ("call_phone", "+393331234567"),
            ("outcome", "answered"),
            ("campaign", "Offerte primavera"),
            ("operator", "Test operator"),
            ("called_at", "2026-03-02T10:20"),
        ],
    )
    .await;
    assert_eq!((page.status, page.location), (303, back("call-recorded")));
    let body = card(&operator, &anna, "it").await;
    for expected in [
        "<td data-label=\"Quando\">02/03/2026 10:20 CET</td>",
        ">Risposta, con l'operatore</span>",
        "<td data-label=\"Campagna\">Offerte primavera</td>",
        "Usata dalla chiamata del 02/03/2026 10:20 CET",
        // The history names who placed the call and who recorded it.
        "Test operator (registrato nella console da Test operator)",
        // A call that is not a refusal raises no objection.
        "L'interessato non si oppone al marketing diretto.",
    ] {
        assert!(body.contains(expected), "{expected} in {body}");
    }

    // Each write audited by the operator, on Anna.
    let operator_id = app
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "operator-user")
        .unwrap()
        .id;
    for (action, count) in [
        ("contact.customer", 3),
        ("contact.directory", 1),
        ("contact.call_request", 1),
        ("call.outcome", 1),
        ("contact.objection", 0),
    ] {
        let entries = audited(&app, action).await;
        assert_eq!(entries.len(), count, "{action}");
        for e in entries {
            assert_eq!(e.user_id, Some(operator_id), "{action}");
            assert_eq!(e.target_id.as_deref(), Some(anna.as_str()), "{action}");
        }
    }
}

#[tokio::test]
async fn bad_input_in_each_form_is_refused_at_its_field_in_italian_and_nothing_is_written() {
    let app = spawn_app().await;
    // Monday 2 March 2026, 10:30 in Rome.
    app.clock.set(at("2026-03-02T09:30:00Z"));
    let anna = anna(&app).await;
    contact(&app, "Bruno Bianchi", "+39 333 9876543").await;
    let operator = app.console_as("operator").await;
    let cases: [Case; 8] = [
        (
            "customer",
            vec![("contract", "in_force"), ("customer_source", "   ")],
            vec![(
                "customer_source-error",
                "Indica la provenienza, da 1 a 500 caratteri.",
            )],
        ),
        (
            "customer",
            vec![
                ("contract", "until"),
                ("until", "2026-03-10"),
                ("customer_source", "disdetta"),
            ],
            vec![("until-error", "Indica anche l'ora, oltre alla data.")],
        ),
        (
            "directory",
            vec![
                ("directory_phone", "+393331234567"),
                ("listed", ""),
                ("directory_source", "elenco telefonico pubblico"),
            ],
            vec![(
                "listed-error",
                "Indica se il numero è presente in un elenco pubblico.",
            )],
        ),
        (
            "directory",
            vec![
                ("directory_phone", "+393339876543"),
                ("listed", "1"),
                ("directory_source", "elenco telefonico pubblico"),
            ],
            vec![(
                "directory_phone-error",
                "Scegli uno dei numeri dell'anagrafica.",
            )],
        ),
        (
            "call-requests",
            vec![
                ("request_phone", "+393331234567"),
                ("requested_at", "2026-03-02T11:00"),
                ("request_source", "telefonata"),
            ],
            vec![(
                "requested_at-error",
                "L'interessato non può aver chiesto nel futuro.",
            )],
        ),
        (
            "call-requests",
            vec![
                ("request_phone", "+393331234567"),
                ("requested_at", "2026-02-20T10:00"),
                ("request_source", "telefonata"),
            ],
            vec![(
                "requested_at-error",
                "Questa richiesta è già scaduta (7 giorni): la chiamata richiesta non può più essere fatta.",
            )],
        ),
        (
            "calls",
            vec![
                ("call_phone", "+393331234567"),
                ("outcome", ""),
                ("campaign", " "),
                ("operator", "Test operator"),
                ("called_at", "2026-01-30T10:00"),
            ],
            vec![
                ("outcome-error", "Scegli com'è finita la chiamata."),
                (
                    "campaign-error",
                    "Indica la campagna, da 1 a 200 caratteri su una riga.",
                ),
                (
                    "called_at-error",
                    "La chiamata è di più di 30 giorni fa: non può più essere registrata.",
                ),
            ],
        ),
        (
            // A refusal said to be 10 minutes from now: refused, so no objection either.
            "calls",
            vec![
                ("call_phone", "+393331234567"),
                ("outcome", "refused_marketing"),
                ("campaign", "Offerte primavera"),
                ("operator", "m.bianchi"),
                ("called_at", "2026-03-02T10:40"),
            ],
            vec![("called_at-error", "La chiamata non può essere nel futuro.")],
        ),
    ];
    for (path, fields, errors) in cases {
        let page = post_it(&operator, &format!("/contacts/{anna}/{path}"), &fields).await;
        assert_eq!(page.status, 422, "{path} {fields:?}: {}", page.body);
        let body = text(&page.body);
        for (id, message) in errors {
            assert_eq!(element(&body, id), message, "{path} {fields:?}");
        }
        // What was typed is shown again, in the form left open.
        for (name, value) in fields {
            let value = value.trim();
            if !value.is_empty()
                && !name.ends_with("phone")
                && !["listed", "outcome", "contract"].contains(&name)
            {
                assert!(
                    body.contains(&format!("name=\"{name}\" value=\"{value}\"")),
                    "{name}={value} kept in {body}"
                );
            }
        }
        assert!(body.contains(" open>"), "{path}: the form is open");
    }
    // Nothing was written.
    let s = summary(&app, &anna).await;
    assert_eq!(s["customer"], Value::Null);
    assert_eq!(s["call_requests"], serde_json::json!([]));
    assert!(
        s["numbers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["directory"].is_null())
    );
    assert!(
        app.store
            .call_outcomes(contact_id(&anna))
            .await
            .unwrap()
            .is_empty()
    );
    let c = app
        .store
        .contact(&ContactRef::Id(contact_id(&anna)))
        .await
        .unwrap();
    assert_eq!(c.objected_at, None);
    for action in ACTIONS {
        assert!(audited(&app, action).await.is_empty(), "{action}");
    }
}

#[tokio::test]
async fn a_refusal_recorded_from_the_card_is_the_objection_shown_as_said_during_the_call_and_as_recorded_now()
 {
    let app = spawn_app().await;
    // Monday 2 March 2026, 11:30 in Rome; the call took place at 11:05.
    app.clock.set(at("2026-03-02T10:30:00Z"));
    let anna = anna(&app).await;
    let operator = app.console_as("operator").await;
    let page = post_it(
        &operator,
        &format!("/contacts/{anna}/calls"),
        &[
            ("call_phone", "+393331234567"),
            ("outcome", "refused_marketing"),
            ("campaign", "Offerte primavera"),
            ("operator", "m.bianchi"),
            ("called_at", "2026-03-02T11:05"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.unwrap();
    assert_eq!(
        location,
        format!("/contacts/{anna}?done=call-recorded-objection#telemarketing")
    );
    // The redirect's page shows the objection at once.
    let redirected = operator
        .get_in(location.split('#').next().unwrap(), "it")
        .await;
    assert_eq!(redirected.status, 200);
    let body = text(&redirected.body);
    assert!(
        body.contains("Chiamata registrata. Il rifiuto è l'opposizione dell'interessato al marketing diretto, registrata dall'istante della chiamata."),
        "{body}"
    );
    assert_eq!(element(&body, "tm-objection-said"), "02/03/2026 11:05 CET");
    assert_eq!(
        element(&body, "tm-objection-recorded"),
        "02/03/2026 11:30 CET"
    );
    assert_eq!(
        element(&body, "tm-objection-how"),
        "Ha rifiutato le chiamate promozionali durante una chiamata (campagna «Offerte primavera», operatore m.bianchi)."
    );
    for expected in [
        "Opposizione al marketing dal 2 marzo 2026",
        ">Rifiuto delle chiamate promozionali</span>",
        "m.bianchi (registrato nella console da Test operator)",
    ] {
        assert!(body.contains(expected), "{expected} in {body}");
    }
    let body = card(&operator, &anna, "en").await;
    assert_eq!(element(&body, "tm-objection-said"), "2026-03-02 11:05 CET");
    assert_eq!(
        element(&body, "tm-objection-recorded"),
        "2026-03-02 11:30 CET"
    );
    assert!(body.contains("Said on") && body.contains("Recorded on"));
    // Recorded as the objection itself: dated when it was said, audited by the operator.
    let c = app
        .store
        .contact(&ContactRef::Id(contact_id(&anna)))
        .await
        .unwrap();
    assert_eq!(c.objected_at, Some(at("2026-03-02T10:05:00Z")));
    let objection = audited(&app, "contact.objection").await;
    assert_eq!(objection.len(), 1);
    assert_eq!(objection[0].username.as_deref(), Some("operator-user"));
    assert_eq!(objection[0].detail["after"], "2026-03-02T10:05:00Z");
}

#[tokio::test]
async fn an_auditor_sees_the_section_without_its_forms_and_is_refused_every_post() {
    let app = spawn_app().await;
    app.clock.set(at("2026-03-02T09:30:00Z"));
    let anna = anna(&app).await;
    let operator = app.console_as("operator").await;
    let body = card(&operator, &anna, "it").await;
    for form in ["customer", "directory", "call-requests", "calls"] {
        assert!(
            body.contains(&format!("action=\"/contacts/{anna}/{form}#telemarketing\"")),
            "{form}"
        );
    }
    let auditor = app.console_as("auditor").await;
    let body = card(&auditor, &anna, "it").await;
    assert!(body.contains("id=\"telemarketing\""));
    assert!(!body.contains("#telemarketing\" class=\"row\""), "{body}");
    for (path, fields) in [
        (
            "customer",
            vec![("contract", "in_force"), ("customer_source", "contratto")],
        ),
        (
            "directory",
            vec![
                ("directory_phone", "+393331234567"),
                ("listed", "1"),
                ("directory_source", "elenco"),
            ],
        ),
        (
            "call-requests",
            vec![
                ("request_phone", "+393331234567"),
                ("requested_at", "2026-03-02T10:15"),
                ("request_source", "telefonata"),
            ],
        ),
        (
            "calls",
            vec![
                ("call_phone", "+393331234567"),
                ("outcome", "refused_marketing"),
                ("campaign", "Offerte primavera"),
                ("operator", "a.verdi"),
                ("called_at", "2026-03-02T10:20"),
            ],
        ),
    ] {
        let page = post_it(&auditor, &format!("/contacts/{anna}/{path}"), &fields).await;
        assert_eq!(page.status, 403, "{path}");
    }
    for action in ACTIONS {
        assert!(audited(&app, action).await.is_empty(), "{action}");
    }
    let c = app
        .store
        .contact(&ContactRef::Id(contact_id(&anna)))
        .await
        .unwrap();
    assert_eq!(c.objected_at, None);
}

#[tokio::test]
async fn the_section_lists_the_latest_fifty_calls_latest_first_and_says_how_many_there_are() {
    let app = spawn_app().await;
    app.clock.set(at("2026-03-02T17:00:00Z"));
    let anna = anna(&app).await;
    // 51 calls, one a minute from 09:00 in Rome; the first one a refusal.
    for minute in 0..51 {
        let called_at = format!("2026-03-02T08:{minute:02}:00Z");
        let (status, body) = app
            .post(
                "/v1/dialer/outcomes",
                "write",
                &serde_json::json!({
                    "phone": "+393331234567",
                    "outcome": if minute == 0 { "refused_marketing" } else { "no_answer" },
                    "campaign": format!("Campagna {minute}"), "operator": "m.bianchi",
                    "called_at": called_at,
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let operator = app.console_as("operator").await;
    let body = card(&operator, &anna, "it").await;
    let table = body
        .split("id=\"tm-calls\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap();
    assert_eq!(table.matches("<tr>").count(), 51, "a header and 50 rows");
    let latest = table.find("Campagna 50<").unwrap();
    let earlier = table.find("Campagna 49<").unwrap();
    assert!(latest < earlier, "latest first");
    assert!(!table.contains("Campagna 0<"), "the oldest is left out");
    assert_eq!(
        element(&body, "tm-calls-more"),
        "Le ultime 50 di 51 chiamate; la cronologia qui sotto le elenca tutte."
    );
    // The objection the oldest call raised still names it.
    assert_eq!(element(&body, "tm-objection-said"), "02/03/2026 09:00 CET");
    assert!(element(&body, "tm-objection-how").contains("«Campagna 0»"));
}
