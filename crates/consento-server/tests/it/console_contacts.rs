//! The console's Contacts section and the contact moment, through real HTTP: searching, paging,
//! creating and editing contacts, the contact card's consents (ticked with a date, unticked after
//! a confirmation), restriction and objection, the decision at the moment of contact with the
//! reason dialog, and roles.

use consento_domain::{
    Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, ContactId, EventKind,
    Permissions, ReasonId, Timestamp, Zone,
};
use consento_server::i18n::{Locale, Tr};
use consento_store::{AuditEntry, AuditFilter, ConsentEventInput, ContactInput, ContactRef};

use crate::support::{Console, TestApp, spawn_app};

const DAY: i64 = 86_400_000_000;

/// The page's text with HTML's escapes undone, for comparing with messages.
pub(crate) fn text(body: &str) -> String {
    body.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#34;", "\"")
}

/// Messages and dates as the test server shows them (its zone is the default, Europe/Rome).
fn tr(locale: Locale) -> Tr {
    Tr::new(locale, consento_server::i18n::interned(&Zone::rome()))
}

fn date_input(at: Timestamp) -> String {
    tr(Locale::It).date_input(at)
}

fn it_date(at: Timestamp) -> String {
    tr(Locale::It).date(at)
}

fn days_ago(app: &TestApp, days: i64) -> Timestamp {
    Timestamp::from_micros(app.store.now().as_micros() - days * DAY)
}

/// The local midnight (Rome) of the day `days` before today, as a date field holds it and as
/// recorded.
fn day(app: &TestApp, days: i64) -> (String, Timestamp) {
    let date = date_input(days_ago(app, days));
    let at = Zone::rome().parse_instant("t", &date).unwrap();
    (date, at)
}

async fn consent_type(app: &TestApp, code: &str, title: &str, permissions: Permissions) {
    app.store
        .create_consent_type(ConsentTypeSpec {
            title: title.to_owned(),
            code: ConsentCode::parse(code).unwrap(),
            description: None,
            validity_days: Some(365),
            permissions,
            show_in_preference_center: true,
            purpose: Default::default(),
        })
        .await
        .unwrap();
}

/// NEWS (newsletter and single emails) and CALL (calls and SMS).
async fn types(app: &TestApp) {
    consent_type(
        app,
        "NEWS",
        "Newsletter",
        Permissions {
            email_bulk: true,
            email_single: true,
            ..Permissions::default()
        },
    )
    .await;
    consent_type(
        app,
        "CALL",
        "Telefonate",
        Permissions {
            phone_call: true,
            sms_single: true,
            ..Permissions::default()
        },
    )
    .await;
}

async fn contact(app: &TestApp, name: &str, email: &str, phone: &str) -> ContactId {
    app.store
        .create_contact(ContactInput {
            name: Some(name.to_owned()),
            emails: vec![email.to_owned()],
            phones: vec![phone.to_owned()],
            ..ContactInput::default()
        })
        .await
        .unwrap()
        .id
}

async fn record(app: &TestApp, id: ContactId, code: &str, kind: EventKind, at: Timestamp) {
    app.store
        .record_consent(ConsentEventInput {
            contact: ContactRef::Id(id),
            type_code: code.to_owned(),
            kind,
            event_time: Some(at),
            method: CollectionMethod::Form,
            actor: Actor::new(ActorKind::System, "").unwrap(),
            notice_version: None,
            evidence: None,
        })
        .await
        .unwrap();
}

async fn audit(app: &TestApp) -> Vec<AuditEntry> {
    app.store
        .audit_entries(&AuditFilter {
            limit: 500,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
}

pub(crate) async fn audited(app: &TestApp, action: &str) -> Vec<AuditEntry> {
    audit(app)
        .await
        .into_iter()
        .filter(|a| a.action == action)
        .collect()
}

async fn user_id(app: &TestApp, username: &str) -> uuid::Uuid {
    app.store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == username)
        .unwrap()
        .id
}

/// The consents form as posted for one ticked type (others listed, unticked).
fn tick<'a>(code: &'a str, date: &'a str) -> Vec<(String, String)> {
    vec![
        ("listed".into(), code.into()),
        (format!("type-{code}"), "1".into()),
        (format!("date-{code}"), date.into()),
        ("method".into(), "paper".into()),
        ("evidence".into(), "modulo 2026/118".into()),
    ]
}

async fn post_pairs(
    console: &Console,
    path: &str,
    pairs: &[(String, String)],
) -> crate::support::Page {
    let fields: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    console.post(path, &fields).await
}

#[tokio::test]
async fn searching_finds_a_contact_by_a_phone_written_another_way_by_email_by_name_and_by_crm_id() {
    let app = spawn_app().await;
    app.store
        .create_contact(ContactInput {
            name: Some("Anna Rossi".into()),
            external_id: Some("crm-7".into()),
            emails: vec!["anna.rossi@example.it".into()],
            phones: vec!["+39 333 123 4567".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    contact(&app, "Bruno Neri", "bruno@example.it", "+39 347 000 1111").await;
    let operator = app.console_as("operator").await;
    for q in [
        "0039%20333-1234567",
        "333.123.4567",
        "(333)%201234567",
        "ANNA.Rossi%40example.it",
        "rossi",
        "crm-7",
    ] {
        let page = operator.get(&format!("/contacts?q={q}")).await;
        assert_eq!(page.status, 200, "{q}");
        assert!(page.body.contains("Anna Rossi"), "{q}: {}", page.body);
        assert!(!page.body.contains("Bruno Neri"), "{q}");
        assert!(page.body.contains("+393331234567"), "{q}");
    }
    let none = operator.get("/contacts?q=Verdi").await;
    assert!(text(&none.body).contains("Nessuna anagrafica corrisponde a «Verdi»."));
    // The search box keeps what was typed.
    let kept = operator.get("/contacts?q=rossi").await;
    assert!(
        kept.body
            .contains(r#"id="q" name="q" type="search" value="rossi""#)
    );
}

#[tokio::test]
async fn the_list_shows_fifty_contacts_a_page_and_the_next_page_follows_the_cursor_with_badges() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..57 {
        ids.push(
            app.store
                .create_contact(ContactInput {
                    name: Some(format!("Persona {i:02}")),
                    ..ContactInput::default()
                })
                .await
                .unwrap()
                .id,
        );
        app.clock.advance(1_000);
    }
    app.store
        .set_restricted(&ContactRef::Id(ids[55]), true)
        .await
        .unwrap();
    app.store
        .set_objected(&ContactRef::Id(ids[56]), true)
        .await
        .unwrap();
    let auditor = app.console_as("auditor").await;
    let rows = |body: &str| body.matches(r#""><a href="/contacts/"#).count();
    let first = auditor.get("/contacts").await;
    assert_eq!(first.status, 200);
    assert_eq!(rows(&first.body), 50);
    assert!(first.body.contains("Persona 00") && first.body.contains("Persona 49"));
    let next = format!("/contacts?after={}", ids[49]);
    assert!(
        first.body.contains(&format!(r#"href="{next}""#)),
        "{}",
        first.body
    );
    let second = auditor.get(&next).await;
    assert_eq!(rows(&second.body), 7);
    assert!(second.body.contains("Persona 56") && !second.body.contains("Persona 49"));
    assert!(!second.body.contains(r#"id="next-page""#));
    let today = it_date(app.store.now());
    assert!(
        second
            .body
            .contains(&format!("Trattamento limitato dal {today}"))
    );
    assert!(
        second
            .body
            .contains(&format!("Opposizione al marketing dal {today}"))
    );
    // A search pages the same way.
    let search = auditor.get("/contacts?q=persona").await;
    assert_eq!(rows(&search.body), 50);
    assert!(
        search
            .body
            .contains(&format!("/contacts?q=persona&#38;after={}", ids[49])),
        "{}",
        search.body.split("pager").nth(1).unwrap_or_default()
    );
}

#[tokio::test]
async fn a_new_contact_is_created_from_the_form_and_a_refused_field_keeps_what_was_typed() {
    let app = spawn_app().await;
    contact(&app, "Già Presente", "gia@example.it", "+39 347 555 0000").await;
    let operator = app.console_as("operator").await;
    let form = operator.get("/contacts/new").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Legittimo interesse (art. 6.1.f GDPR)"));
    let mut fields = vec![
        ("name", "Carla Bianchi"),
        ("emails", "non-un-indirizzo"),
        ("phones", "0039 347 123 4567"),
        ("external_id", "crm-99"),
        ("source", "Fiera 2026"),
        ("legal_basis", "legitimate_interests"),
        ("purposes", "assistenza\nnewsletter"),
    ];
    let refused = operator.post("/contacts", &fields).await;
    assert_eq!(refused.status, 422);
    assert!(text(&refused.body).contains("«non-un-indirizzo» non è un indirizzo email valido."));
    assert!(refused.body.contains(r#"value="Carla Bianchi""#));
    assert!(
        refused
            .body
            .contains(r#"<option value="legitimate_interests" selected>"#)
    );
    fields[1] = ("emails", "Carla.Bianchi@Example.it");
    fields[2] = ("phones", "347 555 0000");
    let taken = operator.post("/contacts", &fields).await;
    assert_eq!(taken.status, 422);
    assert!(text(&taken.body).contains("ha già questo numero di telefono"));
    fields[2] = ("phones", "0039 347 123 4567");
    let created = operator.post("/contacts", &fields).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let location = created.location.unwrap();
    assert!(location.ends_with("?done=contact-created"), "{location}");
    let c = app
        .store
        .contact(&ContactRef::External("crm-99".into()))
        .await
        .unwrap();
    assert_eq!(c.emails[0].as_str(), "carla.bianchi@example.it");
    assert_eq!(c.phones[0].as_str(), "+393471234567");
    assert_eq!(c.purposes, vec!["assistenza", "newsletter"]);
    assert_eq!(location, format!("/contacts/{}?done=contact-created", c.id));
    let card = operator.get(&location).await;
    assert!(card.body.contains("Anagrafica creata."));
    let entry = &audited(&app, "contact.create").await[0];
    assert_eq!(entry.target_id.as_deref(), Some(c.id.to_string().as_str()));
    assert_eq!(entry.detail["after"]["legal_basis"], "legitimate_interests");
    // The audit trail keeps which identity fields changed, never their values.
    assert!(!entry.detail.to_string().contains("carla"));
}

#[tokio::test]
async fn ticking_a_consent_with_a_date_records_a_given_event_with_that_date_and_the_operator_as_actor()
 {
    let app = spawn_app().await;
    types(&app).await;
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let operator = app.console_as("operator").await;
    let card = operator.get(&format!("/contacts/{id}")).await;
    assert_eq!(card.status, 200);
    assert!(card.body.contains(r#"id="consent-NEWS" name="type-NEWS""#));
    assert!(card.body.contains(r#"id="date-NEWS" name="date-NEWS""#));
    let (date, at) = day(&app, 10);
    let saved = post_pairs(
        &operator,
        &format!("/contacts/{id}/consents"),
        &tick("NEWS", &date),
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location.as_deref(),
        Some(format!("/contacts/{id}?done=consents-saved").as_str())
    );
    // Through the API: the event, dated as entered, with the operator as its actor.
    let (status, history) = app
        .get(&format!("/v1/contacts/{id}/consents/history"), "read")
        .await;
    assert_eq!(status, 200);
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "given");
    assert_eq!(items[0]["type_code"], "NEWS");
    assert_eq!(items[0]["event_time"], at.to_rfc3339());
    assert_eq!(items[0]["method"], "paper");
    assert_eq!(items[0]["evidence"], "modulo 2026/118");
    assert_eq!(items[0]["actor"]["kind"], "operator");
    assert_eq!(
        items[0]["actor"]["id"],
        user_id(&app, "operator-user").await.to_string()
    );
    // The card: ticked, with its date; the history names the operator.
    let card = operator
        .get(&format!("/contacts/{id}?done=consents-saved"))
        .await;
    assert!(card.body.contains("Consensi registrati."));
    assert!(
        card.body
            .contains(r#"id="consent-NEWS" name="type-NEWS" value="1" checked"#)
    );
    assert!(card.body.contains(&format!(
        r#"id="date-NEWS" name="date-NEWS" value="{date}""#
    )));
    assert!(card.body.contains(&format!("Dato il {}", it_date(at))));
    let history = card.body.split(r#"id="history""#).nth(1).unwrap();
    assert!(history.contains("Newsletter (NEWS): dato"));
    assert!(history.contains("Test operator"));
    assert!(history.contains("Modulo cartaceo"));
    let entry = &audited(&app, "contact.consent").await[0];
    assert_eq!(entry.detail["events"][0]["kind"], "given");
    assert!(!audited(&app, "contact.view").await.is_empty());
}

#[tokio::test]
async fn a_consent_dated_in_the_future_is_refused_in_the_pages_language_and_nothing_is_recorded() {
    let app = spawn_app().await;
    types(&app).await;
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let operator = app.console_as("operator").await;
    let tomorrow = date_input(Timestamp::from_micros(app.store.now().as_micros() + DAY));
    let mut pairs = tick("NEWS", &tomorrow);
    pairs.extend(tick("CALL", "")[..3].iter().cloned());
    let refused = post_pairs(&operator, &format!("/contacts/{id}/consents"), &pairs).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("La data non può essere nel futuro."));
    assert!(
        refused
            .body
            .contains("Indicare la data in cui è stato dato il consenso.")
    );
    // The form is kept as typed.
    assert!(
        refused
            .body
            .contains(r#"id="consent-NEWS" name="type-NEWS" value="1" checked"#)
    );
    assert!(
        refused
            .body
            .contains(&format!(r#"name="date-NEWS" value="{tomorrow}""#))
    );
    assert!(refused.body.contains(r#"value="modulo 2026/118""#));
    let history = app
        .store
        .consent_history(&ContactRef::Id(id))
        .await
        .unwrap();
    assert!(history.is_empty(), "{history:?}");
    // In English when the person chose English.
    operator
        .post("/language", &[("lang", "en"), ("next", "/contacts")])
        .await;
    let english = post_pairs(
        &operator,
        &format!("/contacts/{id}/consents"),
        &tick("NEWS", &tomorrow),
    )
    .await;
    assert_eq!(english.status, 422);
    assert!(english.body.contains("The date cannot be in the future."));
    assert!(
        app.store
            .consent_history(&ContactRef::Id(id))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unticking_a_consent_asks_for_confirmation_and_only_then_records_the_withdrawal() {
    let app = spawn_app().await;
    types(&app).await;
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let given = days_ago(&app, 30);
    record(&app, id, "NEWS", EventKind::Given, given).await;
    let operator = app.console_as("operator").await;
    let card = operator.get(&format!("/contacts/{id}")).await;
    assert!(
        card.body
            .contains(r#"id="consent-NEWS" name="type-NEWS" value="1" checked"#)
    );
    // No method is preselected: the operator must say how the person withdrew.
    assert!(
        card.body
            .contains(r#"<option value="" selected>— scegliere —</option>"#),
        "{}",
        card.body
    );
    assert!(!card.body.contains(r#"value="paper" selected"#));
    let no_method = post_pairs(
        &operator,
        &format!("/contacts/{id}/consents"),
        &[
            ("listed".into(), "NEWS".into()),
            ("method".into(), String::new()),
            ("confirm".into(), "1".into()),
        ],
    )
    .await;
    assert_eq!(no_method.status, 422);
    assert!(
        no_method
            .body
            .contains("Indicare come l&#39;interessato ha dato o revocato il consenso.")
            || no_method
                .body
                .contains("Indicare come l'interessato ha dato o revocato il consenso."),
        "{}",
        no_method.body
    );
    let untick = vec![
        ("listed".to_owned(), "NEWS".to_owned()),
        ("listed".to_owned(), "CALL".to_owned()),
        ("date-CALL".to_owned(), date_input(app.store.now())),
        ("method".to_owned(), "phone".to_owned()),
        ("evidence".to_owned(), String::new()),
    ];
    let confirm = post_pairs(&operator, &format!("/contacts/{id}/consents"), &untick).await;
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains(&format!(
            "Revocare il consenso Newsletter (NEWS) dato il {}?",
            it_date(given)
        )),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains(r#"name="confirm" value="1""#));
    assert_eq!(
        app.store
            .consent_history(&ContactRef::Id(id))
            .await
            .unwrap()
            .len(),
        1,
        "nothing is recorded before the confirmation"
    );
    let mut confirmed = untick.clone();
    confirmed.push(("confirm".into(), "1".into()));
    let done = post_pairs(&operator, &format!("/contacts/{id}/consents"), &confirmed).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let history = app
        .store
        .consent_history(&ContactRef::Id(id))
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].kind, EventKind::Withdrawn);
    assert_eq!(history[1].actor_kind, ActorKind::Operator);
    assert_eq!(
        history[1].method,
        CollectionMethod::Phone,
        "the method the operator chose, not a default"
    );
    let card = operator.get(&format!("/contacts/{id}")).await;
    assert!(
        card.body
            .contains(r#"id="consent-NEWS" name="type-NEWS" value="1" aria-describedby"#)
    );
    assert!(
        card.body
            .contains(&format!("Revocato il {}", it_date(app.store.now())))
    );
    // The same question in English.
    operator
        .post("/language", &[("lang", "en"), ("next", "/contacts")])
        .await;
    record(&app, id, "CALL", EventKind::Given, given).await;
    let english = post_pairs(
        &operator,
        &format!("/contacts/{id}/consents"),
        &[
            ("listed".into(), "CALL".into()),
            ("method".into(), "phone".into()),
        ],
    )
    .await;
    assert!(english.body.contains(&format!(
        "Withdraw consent Telefonate (CALL) given on {}?",
        tr(Locale::En).date(given)
    )));
}

#[tokio::test]
async fn an_expired_consent_shows_as_expired_with_its_date_and_a_call_names_a_valid_one() {
    let app = spawn_app().await;
    types(&app).await;
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let old = days_ago(&app, 400);
    record(&app, id, "NEWS", EventKind::Given, old).await;
    let recent = days_ago(&app, 3);
    record(&app, id, "CALL", EventKind::Given, recent).await;
    app.in_calling_hours();
    app.checked_against_the_register(&["+393331234567"]).await;
    let operator = app.console_as("operator").await;
    let card = operator.get(&format!("/contacts/{id}")).await;
    let expired = Timestamp::from_micros(old.as_micros() + 365 * DAY);
    assert!(
        card.body
            .contains(&format!("Scaduto il {}", it_date(expired)))
    );
    assert!(
        card.body
            .contains(r#"id="consent-NEWS" name="type-NEWS" value="1" aria-describedby"#)
    );
    let asked = operator
        .post(
            &format!("/contacts/{id}/moment"),
            &[("action", "phone.call")],
        )
        .await;
    assert_eq!(asked.status, 303);
    let location = asked.location.unwrap();
    assert_eq!(location, format!("/contacts/{id}?moment=phone.call#moment"));
    let answer = operator.get(&location).await;
    assert_eq!(answer.status, 200);
    let until = Timestamp::from_micros(recent.as_micros() + 365 * DAY);
    assert!(
        answer.body.contains(&format!(
            "Consentito dal consenso Telefonate (CALL) dato il {}, valido fino al {}.",
            it_date(recent),
            it_date(until)
        )),
        "{}",
        answer.body
    );
    assert!(answer.body.contains(r#"href="tel:+393331234567""#));
    assert!(!answer.body.contains("justify-dialog"));
    // An email is not covered by the expired newsletter consent: a reason is asked, saying why.
    operator
        .post(
            &format!("/contacts/{id}/moment"),
            &[("action", "email.single")],
        )
        .await;
    let email = operator
        .get(&format!("/contacts/{id}?moment=email.single"))
        .await;
    assert!(email.body.contains(&format!(
        "Consenso Newsletter (NEWS) scaduto il {}.",
        it_date(expired)
    )));
    let moments = audited(&app, "contact.moment").await;
    assert_eq!(moments.len(), 2);
    assert_eq!(moments[1].detail["outcome"], "allowed");
    assert_eq!(moments[1].detail["rule"], "consent");
}

#[tokio::test]
async fn calling_without_consent_opens_the_reason_dialog_and_the_justified_contact_joins_the_history()
 {
    let app = spawn_app().await;
    types(&app).await;
    let reason = app
        .store
        .create_reason("Richiamata su richiesta del cliente", false)
        .await
        .unwrap();
    app.store
        .create_reason("Vecchio motivo", false)
        .await
        .unwrap();
    let inactive = app.store.reasons().await.unwrap();
    let inactive = inactive
        .iter()
        .find(|r| r.label == "Vecchio motivo")
        .unwrap();
    app.store
        .update_reason(inactive.id, None, Some(false), None)
        .await
        .unwrap();
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let operator = app.console_as("operator").await;
    let card = operator.get(&format!("/contacts/{id}")).await;
    for button in ["moment-email", "moment-phone", "moment-sms"] {
        assert!(card.body.contains(&format!(r#"id="{button}""#)), "{button}");
    }
    let asked = operator
        .post(
            &format!("/contacts/{id}/moment"),
            &[("action", "phone.call")],
        )
        .await;
    let dialog = operator.get(&asked.location.unwrap()).await;
    assert_eq!(dialog.status, 200);
    for part in [
        r#"id="justify-dialog" role="dialog" aria-modal="true" aria-labelledby="justify-title""#,
        r#"<div class="modal-backdrop">"#,
        r#"<select id="reason" name="reason""#,
        r#"<textarea id="note" name="note""#,
        "Richiamata su richiesta del cliente",
        "Non è mai stato dato un consenso che lo permetta.",
    ] {
        assert!(dialog.body.contains(part), "{part}: {}", dialog.body);
    }
    // Only active reasons are offered; cancelling is a link back to the card.
    assert!(!dialog.body.contains("Vecchio motivo"));
    assert!(
        dialog
            .body
            .contains(&format!(r#"id="justify-cancel" href="/contacts/{id}""#))
    );
    // No reason picked: the dialog again, with the message.
    let missing = operator
        .post(
            &format!("/contacts/{id}/justify"),
            &[
                ("action", "phone.call"),
                ("reason", ""),
                ("note", "richiamato"),
            ],
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(text(&missing.body).contains("Scegliere un motivo dall'elenco."));
    assert!(missing.body.contains(">richiamato</textarea>"));
    let picked = reason.id.0.to_string();
    let justified = operator
        .post(
            &format!("/contacts/{id}/justify"),
            &[
                ("action", "phone.call"),
                ("reason", &picked),
                ("note", "richiamato"),
            ],
        )
        .await;
    assert_eq!(justified.status, 303, "{}", justified.body);
    let after = operator.get(&justified.location.unwrap()).await;
    assert!(after.body.contains(r#"id="moment-result""#));
    assert!(text(&after.body).contains("Consentito: contatto giustificato registrato il"));
    assert!(after.body.contains(r#"href="tel:+393331234567""#));
    let history = after.body.split(r#"id="history""#).nth(1).unwrap();
    assert!(history.contains("Contatto giustificato"));
    assert!(history.contains("Richiamata su richiesta del cliente — richiamato"));
    assert!(history.contains("Test operator"));
    let interactions = app.store.interactions(&ContactRef::Id(id)).await.unwrap();
    assert_eq!(interactions.len(), 1);
    assert_eq!(interactions[0].reason_id, Some(reason.id));
    assert_eq!(
        interactions[0].operator,
        user_id(&app, "operator-user").await.to_string()
    );
    let entry = &audited(&app, "contact.justify").await[0];
    assert_eq!(entry.detail["recorded"], true);
    assert_eq!(entry.detail["action"], "phone.call");
}

#[tokio::test]
async fn an_email_after_a_withdrawn_consent_needs_a_reason_that_names_the_withdrawal_date() {
    let app = spawn_app().await;
    types(&app).await;
    app.store.create_reason("Assistenza", false).await.unwrap();
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    record(&app, id, "NEWS", EventKind::Given, days_ago(&app, 40)).await;
    let withdrawn = days_ago(&app, 5);
    record(&app, id, "NEWS", EventKind::Withdrawn, withdrawn).await;
    let operator = app.console_as("operator").await;
    operator
        .post(
            &format!("/contacts/{id}/moment"),
            &[("action", "email.single")],
        )
        .await;
    let page = operator
        .get(&format!("/contacts/{id}?moment=email.single"))
        .await;
    assert!(page.body.contains("justify-dialog"));
    assert!(page.body.contains(&format!(
        "Consenso Newsletter (NEWS) revocato il {}.",
        it_date(withdrawn)
    )));
    // A newsletter to the same person is blocked outright (rule 7 of the decision: bulk is never justified).
    let (_, decision) = app
        .post(
            "/v1/decisions",
            "decide",
            &serde_json::json!({ "contact": { "contact_id": id.0 }, "action": "email.bulk" }),
        )
        .await;
    assert_eq!(decision["outcome"], "blocked");
    assert_eq!(decision["rule"], "withdrawn");
}

#[tokio::test]
async fn a_restricted_contact_is_blocked_with_its_date_no_reason_gets_around_it_and_only_the_dpo_lifts_it()
 {
    let app = spawn_app().await;
    types(&app).await;
    let reason = app.store.create_reason("Assistenza", false).await.unwrap();
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let operator = app.console_as("operator").await;
    let set = operator
        .post(&format!("/contacts/{id}/restriction"), &[("on", "1")])
        .await;
    assert_eq!(set.status, 303);
    let entry = &audited(&app, "contact.restriction").await[0];
    assert!(entry.detail["before"].is_null());
    assert!(entry.detail["after"].is_string());
    operator
        .post(
            &format!("/contacts/{id}/moment"),
            &[("action", "email.single")],
        )
        .await;
    let page = operator
        .get(&format!("/contacts/{id}?moment=email.single"))
        .await;
    let today = it_date(app.store.now());
    assert!(page.body.contains("Bloccato"));
    assert!(
        page.body
            .contains(&format!("Trattamento limitato dal {today} (art. 18 GDPR)."))
    );
    assert!(
        page.body
            .contains("Nessun motivo può superare questo blocco.")
    );
    assert!(!page.body.contains("justify-dialog"));
    assert!(!page.body.contains("/justify"));
    // Posting a reason anyway records nothing and shows the block again.
    let forced = operator
        .post(
            &format!("/contacts/{id}/justify"),
            &[
                ("action", "email.single"),
                ("reason", &reason.id.0.to_string()),
            ],
        )
        .await;
    assert_eq!(forced.status, 303);
    assert!(
        app.store
            .interactions(&ContactRef::Id(id))
            .await
            .unwrap()
            .is_empty()
    );
    // The operator may not lift it (lift, call, set it again would get around the block): the
    // card offers no button, and a forged post is refused.
    assert!(!page.body.contains("restriction-toggle"));
    let refused = operator
        .post(&format!("/contacts/{id}/restriction"), &[("on", "0")])
        .await;
    assert_eq!(refused.status, 403);
    let c = app.store.contact(&ContactRef::Id(id)).await.unwrap();
    assert!(c.restricted_at.is_some());
    // The DPO lifts it, and that is audited too.
    let dpo = app.console_as("dpo").await;
    assert!(
        dpo.get(&format!("/contacts/{id}"))
            .await
            .body
            .contains("restriction-toggle")
    );
    dpo.post(&format!("/contacts/{id}/restriction"), &[("on", "0")])
        .await;
    let c = app.store.contact(&ContactRef::Id(id)).await.unwrap();
    assert!(c.restricted_at.is_none());
    assert_eq!(audited(&app, "contact.restriction").await.len(), 2);
}

#[tokio::test]
async fn under_an_objection_a_marketing_reason_is_refused_with_a_clear_message() {
    let app = spawn_app().await;
    types(&app).await;
    let marketing = app
        .store
        .create_reason("Offerta promozionale", true)
        .await
        .unwrap();
    let service = app.store.create_reason("Assistenza", false).await.unwrap();
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let operator = app.console_as("operator").await;
    let objected = operator
        .post(&format!("/contacts/{id}/objection"), &[("on", "1")])
        .await;
    assert_eq!(objected.status, 303);
    assert!(
        app.store
            .contact(&ContactRef::Id(id))
            .await
            .unwrap()
            .objected_at
            .is_some()
    );
    operator
        .post(
            &format!("/contacts/{id}/moment"),
            &[("action", "phone.call")],
        )
        .await;
    let dialog = operator
        .get(&format!("/contacts/{id}?moment=phone.call"))
        .await;
    assert!(dialog.body.contains("justify-dialog"));
    assert!(dialog.body.contains("Assistenza"));
    assert!(!dialog.body.contains("Offerta promozionale"));
    assert!(text(&dialog.body).contains("i motivi di marketing non si possono usare"));
    let refused = operator
        .post(
            &format!("/contacts/{id}/justify"),
            &[
                ("action", "phone.call"),
                ("reason", &marketing.id.0.to_string()),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("justify-dialog"));
    assert!(text(&refused.body).contains(
        "La persona si è opposta al marketing diretto: un motivo di marketing non può giustificare questo contatto"
    ));
    assert!(
        app.store
            .interactions(&ContactRef::Id(id))
            .await
            .unwrap()
            .is_empty()
    );
    let accepted = operator
        .post(
            &format!("/contacts/{id}/justify"),
            &[
                ("action", "phone.call"),
                ("reason", &service.id.0.to_string()),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303);
    let recorded = app.store.interactions(&ContactRef::Id(id)).await.unwrap();
    assert_eq!(recorded[0].reason_id, Some(ReasonId(service.id.0)));
    assert_eq!(recorded[0].cause.as_deref(), Some("objected"));
}

#[tokio::test]
async fn the_provenance_is_edited_on_the_card_and_audited_with_before_and_after() {
    let app = spawn_app().await;
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let dpo = app.console_as("dpo").await;
    let saved = dpo
        .post(
            &format!("/contacts/{id}/provenance"),
            &[
                ("source", "Fiera 2026"),
                ("legal_basis", "contract"),
                ("purposes", "assistenza\nfatturazione"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let c = app.store.contact(&ContactRef::Id(id)).await.unwrap();
    assert_eq!(c.source.as_deref(), Some("Fiera 2026"));
    assert_eq!(c.purposes, vec!["assistenza", "fatturazione"]);
    assert_eq!(c.emails[0].as_str(), "anna@example.it", "the rest is kept");
    let entry = &audited(&app, "contact.update").await[0];
    let changes = &entry.detail["changes"];
    assert!(changes["legal_basis"]["before"].is_null());
    assert_eq!(changes["legal_basis"]["after"], "contract");
    assert_eq!(changes["source"]["after"], "Fiera 2026");
    assert!(changes.get("emails").is_none(), "only the changed fields");
    let card = dpo.get(&format!("/contacts/{id}")).await;
    assert!(
        card.body
            .contains(r#"<option value="contract" selected>Contratto (art. 6.1.b GDPR)</option>"#)
    );
    // The edit page rectifies the identity; a bad number is shown next to its field.
    let bad = dpo
        .post(
            &format!("/contacts/{id}/edit"),
            &[
                ("name", "Anna Maria Rossi"),
                ("emails", "anna@example.it"),
                ("phones", "12"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(text(&bad.body).contains("«12» non è un numero di telefono valido."));
    assert!(bad.body.contains(r#"value="Anna Maria Rossi""#));
}

#[tokio::test]
async fn an_auditor_sees_the_card_but_gets_403_on_every_change_and_the_dpo_does_not_contact_people()
{
    let app = spawn_app().await;
    types(&app).await;
    let reason = app.store.create_reason("Assistenza", false).await.unwrap();
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let auditor = app.console_as("auditor").await;
    assert_eq!(auditor.get("/contacts").await.status, 200);
    let card = auditor.get(&format!("/contacts/{id}")).await;
    assert_eq!(card.status, 200);
    assert!(card.body.contains("Anna Rossi"));
    assert!(card.body.contains(r#"id="history""#));
    for absent in [
        "consents-form",
        "moment-phone",
        "restriction-toggle",
        "save-provenance",
    ] {
        assert!(!card.body.contains(absent), "{absent}");
    }
    for path in [
        "/contacts/new".to_owned(),
        format!("/contacts/{id}/edit"),
        format!("/contacts/{id}?moment=phone.call"),
    ] {
        assert_eq!(auditor.get(&path).await.status, 403, "GET {path}");
    }
    let reason_id = reason.id.0.to_string();
    let (date, _) = day(&app, 1);
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/contacts".into(), vec![("name", "X")]),
        (format!("/contacts/{id}/edit"), vec![("name", "X")]),
        (
            format!("/contacts/{id}/consents"),
            vec![
                ("listed", "NEWS"),
                ("type-NEWS", "1"),
                ("date-NEWS", &date),
                ("method", "paper"),
            ],
        ),
        (format!("/contacts/{id}/provenance"), vec![("source", "X")]),
        (format!("/contacts/{id}/restriction"), vec![("on", "1")]),
        (format!("/contacts/{id}/objection"), vec![("on", "1")]),
        (
            format!("/contacts/{id}/moment"),
            vec![("action", "phone.call")],
        ),
        (
            format!("/contacts/{id}/justify"),
            vec![("action", "phone.call"), ("reason", &reason_id)],
        ),
    ];
    for (path, fields) in &posts {
        assert_eq!(auditor.post(path, fields).await.status, 403, "POST {path}");
    }
    let c = app.store.contact(&ContactRef::Id(id)).await.unwrap();
    assert!(c.restricted_at.is_none() && c.objected_at.is_none() && c.source.is_none());
    assert!(
        app.store
            .consent_history(&ContactRef::Id(id))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        app.store
            .interactions(&ContactRef::Id(id))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.store.list_contacts(None, 10).await.unwrap().len(), 1);
    // The DPO changes contacts but does not reach people.
    let dpo = app.console_as("dpo").await;
    let dpo_card = dpo.get(&format!("/contacts/{id}")).await;
    assert!(dpo_card.body.contains("consents-form"));
    assert!(!dpo_card.body.contains("moment-phone"));
    let moment = dpo
        .post(
            &format!("/contacts/{id}/moment"),
            &[("action", "phone.call")],
        )
        .await;
    assert_eq!(moment.status, 403);
}

#[tokio::test]
async fn an_unknown_contact_or_action_is_not_found() {
    let app = spawn_app().await;
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let operator = app.console_as("operator").await;
    assert_eq!(operator.get("/contacts/not-an-id").await.status, 404);
    assert_eq!(
        operator
            .get("/contacts/0190a000-0000-7000-8000-000000000000")
            .await
            .status,
        404
    );
    let bulk = operator
        .post(
            &format!("/contacts/{id}/moment"),
            &[("action", "email.bulk")],
        )
        .await;
    assert_eq!(bulk.status, 404);
}

#[tokio::test]
async fn giving_again_a_withdrawn_consent_with_a_date_before_the_withdrawal_is_refused_at_the_field()
 {
    let app = spawn_app().await;
    types(&app).await;
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    record(&app, id, "NEWS", EventKind::Given, days_ago(&app, 60)).await;
    record(&app, id, "NEWS", EventKind::Withdrawn, days_ago(&app, 10)).await;
    let operator = app.console_as("operator").await;
    let before = date_input(days_ago(&app, 20));
    let refused = post_pairs(
        &operator,
        &format!("/contacts/{id}/consents"),
        &tick("NEWS", &before),
    )
    .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains(
            "La data è precedente all&#39;ultima variazione registrata per questo consenso"
        ),
        "{}",
        refused.body
    );
    let history = app
        .store
        .consent_history(&ContactRef::Id(id))
        .await
        .unwrap();
    assert_eq!(history.len(), 2, "nothing was recorded");
    // A date after the withdrawal gives it again.
    let after = date_input(days_ago(&app, 5));
    let given = post_pairs(
        &operator,
        &format!("/contacts/{id}/consents"),
        &tick("NEWS", &after),
    )
    .await;
    assert_eq!(given.status, 303, "{}", given.body);
    let current = app
        .store
        .current_consents(&ContactRef::Id(id))
        .await
        .unwrap();
    assert!(current.iter().any(|c| c.code.as_str() == "NEWS" && c.valid));
}

#[tokio::test]
async fn an_operator_records_that_the_person_wants_no_calls_and_only_the_dpo_switches_calls_back_on()
 {
    let app = spawn_app().await;
    types(&app).await;
    let id = contact(&app, "Anna Rossi", "anna@example.it", "+39 333 123 4567").await;
    let operator = app.console_as("operator").await;
    let off = operator
        .post(
            &format!("/contacts/{id}/channel"),
            &[("channel", "phone"), ("off", "1")],
        )
        .await;
    assert_eq!(off.status, 303);
    let card = operator.get(&format!("/contacts/{id}")).await;
    assert!(
        card.body.contains("disattivato dalla persona il"),
        "{}",
        card.body
    );
    let call = app
        .store
        .decide(
            &ContactRef::Id(id),
            consento_domain::Action::PhoneCall,
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        call.decision,
        consento_domain::Decision::NeedsJustification {
            marketing_reasons_allowed: false,
            ..
        }
    ));
    let refused = operator
        .post(
            &format!("/contacts/{id}/channel"),
            &[("channel", "phone"), ("off", "0")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let dpo = app.console_as("dpo").await;
    let on = dpo
        .post(
            &format!("/contacts/{id}/channel"),
            &[("channel", "phone"), ("off", "0")],
        )
        .await;
    assert_eq!(on.status, 303);
    let c = app.store.contact(&ContactRef::Id(id)).await.unwrap();
    assert!(c.phone_off_at.is_none());
    assert_eq!(audited(&app, "contact.channel").await.len(), 2);
}
