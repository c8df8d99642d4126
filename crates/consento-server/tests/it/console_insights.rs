//! The console's insight pages: the newsletter's recipients and their download, the dashboard
//! (consents per type and state, consents about to expire, justified contacts), and the audit
//! trail.

use consento_domain::{
    Action, Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, ContactId, EventKind,
    Password, Permissions, Role, Timestamp, Username,
};
use consento_server::web::session::SESSION_COOKIE;
use consento_store::{
    AuditFilter, AuditInput, BulkContact, BulkEvent, ConsentEventInput, ContactInput, ContactRef,
};

use crate::support::{Console, TestApp, spawn_app};

const DAY: i64 = 86_400_000_000;

async fn consent_type(app: &TestApp, code: &str, validity: Option<u32>, permissions: Permissions) {
    app.store
        .create_consent_type(ConsentTypeSpec {
            title: format!("Tipo {code}"),
            code: ConsentCode::parse(code).unwrap(),
            description: None,
            validity_days: validity,
            permissions,
            show_in_preference_center: true,
            purpose: Default::default(),
        })
        .await
        .unwrap();
}

fn bulk_email() -> Permissions {
    Permissions {
        email_bulk: true,
        ..Permissions::default()
    }
}

async fn person(app: &TestApp, name: &str, email: &str) -> ContactId {
    app.store
        .create_contact(ContactInput {
            name: Some(name.to_owned()),
            emails: vec![email.to_owned()],
            ..ContactInput::default()
        })
        .await
        .unwrap()
        .id
}

async fn record(app: &TestApp, id: ContactId, code: &str, kind: EventKind, at: Option<Timestamp>) {
    app.store
        .record_consent(ConsentEventInput {
            contact: ContactRef::Id(id),
            type_code: code.to_owned(),
            kind,
            event_time: at,
            method: CollectionMethod::Operator,
            actor: Actor::new(ActorKind::Operator, "test").unwrap(),
            notice_version: None,
            evidence: None,
        })
        .await
        .unwrap();
}

fn days_ago(app: &TestApp, days: i64) -> Timestamp {
    use consento_domain::Clock as _;
    Timestamp::from_micros(app.clock.now().as_micros() - days * DAY)
}

/// The text inside the first element with this id (up to the next tag).
fn text_of(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap();
    rest[open..open + close].trim().to_owned()
}

/// The HTML of the table row of a consent type (`data-type="CODE"`) in the table `table`.
fn row_of(body: &str, table: &str, code: &str) -> String {
    let start = body.find(&format!("id=\"{table}\"")).unwrap();
    let rest = &body[start..];
    let row = rest
        .find(&format!("data-type=\"{code}\""))
        .unwrap_or_else(|| panic!("no row {code} in #{table}"));
    let end = rest[row..].find("</tr>").unwrap();
    rest[row..row + end].to_owned()
}

/// The numbers in the cells (`class="num"`) of a piece of HTML, in order.
fn numbers(html: &str) -> Vec<String> {
    html.split("class=\"num\"")
        .skip(1)
        .map(|piece| {
            let open = piece.find('>').unwrap() + 1;
            let close = piece[open..].find('<').unwrap();
            piece[open..open + close].to_owned()
        })
        .collect()
}

/// GETs `path` as the signed-in `console`, with the response's headers (the console client
/// keeps only the body).
async fn get_with_headers(app: &TestApp, console: &Console, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{path}", app.base))
        .header(
            "cookie",
            format!(
                "{SESSION_COOKIE}={}",
                console.cookie(SESSION_COOKIE).unwrap()
            ),
        )
        .send()
        .await
        .unwrap()
}

/// A newsletter type and three people who gave consent 10 days ago.
async fn three_subscribers(app: &TestApp) -> Vec<ContactId> {
    consent_type(app, "NEWS", Some(365), bulk_email()).await;
    let mut ids = Vec::new();
    for (name, email) in [
        ("Anna Rossi", "anna@example.it"),
        ("Bruno \"Bru\" Neri, jr", "bruno@example.it"),
        ("Carla Bianchi", "carla@example.it"),
    ] {
        let id = person(app, name, email).await;
        record(app, id, "NEWS", EventKind::Given, Some(days_ago(app, 10))).await;
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn the_newsletter_count_drops_by_one_when_a_consent_is_withdrawn() {
    let app = spawn_app().await;
    let ids = three_subscribers(&app).await;
    let operator = app.console_as("operator").await;
    let page = operator.get("/newsletter?type=NEWS").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(text_of(&page.body, "eligible"), "3");
    assert!(page.body.contains("id=\"type\""));
    record(&app, ids[1], "NEWS", EventKind::Withdrawn, None).await;
    let page = operator.get("/newsletter?type=NEWS").await;
    assert_eq!(text_of(&page.body, "eligible"), "2");
    assert!(page.body.contains("Consenso revocato"), "{}", page.body);
    // "Any type that permits bulk email" counts the same people.
    let any = operator.get("/newsletter?type=any").await;
    assert_eq!(text_of(&any.body, "eligible"), "2");
}

#[tokio::test]
async fn the_excluded_counts_name_each_cause() {
    let app = spawn_app().await;
    consent_type(&app, "NEWS", Some(365), bulk_email()).await;
    let given = |days| Some(days_ago(&app, days));
    let ok = person(&app, "Ok", "ok@example.it").await;
    record(&app, ok, "NEWS", EventKind::Given, given(1)).await;
    let withdrawn = person(&app, "Withdrawn", "w@example.it").await;
    record(&app, withdrawn, "NEWS", EventKind::Given, given(5)).await;
    record(&app, withdrawn, "NEWS", EventKind::Withdrawn, given(1)).await;
    let expired = person(&app, "Expired", "e@example.it").await;
    record(&app, expired, "NEWS", EventKind::Given, given(400)).await;
    let refused = person(&app, "Refused", "r@example.it").await;
    record(&app, refused, "NEWS", EventKind::Refused, given(1)).await;
    person(&app, "Nothing", "n@example.it").await;
    let objected = person(&app, "Objected", "o@example.it").await;
    record(&app, objected, "NEWS", EventKind::Given, given(1)).await;
    app.store
        .set_objected(&ContactRef::Id(objected), true)
        .await
        .unwrap();
    let restricted = person(&app, "Restricted", "x@example.it").await;
    record(&app, restricted, "NEWS", EventKind::Given, given(1)).await;
    app.store
        .set_restricted(&ContactRef::Id(restricted), true)
        .await
        .unwrap();

    let dpo = app.console_as("dpo").await;
    let page = dpo.get_in("/newsletter?type=NEWS", "en").await;
    assert_eq!(page.status, 200);
    assert_eq!(text_of(&page.body, "eligible"), "1");
    assert_eq!(text_of(&page.body, "excluded-total"), "6");
    let table = &page.body[page.body.find("id=\"excluded\"").unwrap()..];
    for cause in [
        "Consent withdrawn",
        "Consent expired",
        "Consent refused",
        "No consent",
        "Objected to marketing",
        "Processing restricted",
    ] {
        let at = table
            .find(cause)
            .unwrap_or_else(|| panic!("{cause} missing: {table}"));
        assert_eq!(numbers(&table[at..])[0], "1", "{cause}");
    }
    // Rule order: the restriction (rule 2) is listed before the expiry (rule 7).
    assert!(table.find("Processing restricted") < table.find("Consent expired"));
}

#[tokio::test]
async fn a_type_that_does_not_permit_bulk_email_is_refused_next_to_the_field() {
    let app = spawn_app().await;
    consent_type(
        &app,
        "CALLS",
        None,
        Permissions {
            phone_call: true,
            ..Permissions::default()
        },
    )
    .await;
    let operator = app.console_as("operator").await;
    let page = operator.get_in("/newsletter?type=CALLS", "en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"type-error\""), "{}", page.body);
    assert!(page.body.contains("does not permit bulk email"));
    assert!(!page.body.contains("id=\"eligible\""));
    let unknown = operator.get("/newsletter?type=NOPE").await;
    assert!(unknown.body.contains("«NOPE»"), "{}", unknown.body);
}

#[tokio::test]
async fn the_csv_download_holds_exactly_the_eligible_addresses_under_a_header() {
    let app = spawn_app().await;
    let ids = three_subscribers(&app).await;
    record(&app, ids[2], "NEWS", EventKind::Withdrawn, None).await;
    let operator = app.console_as("operator").await;
    let page = operator.get("/newsletter?type=NEWS").await;
    assert!(
        page.body
            .contains("href=\"/newsletter/export.csv?type=NEWS\""),
        "{}",
        page.body
    );
    let response = get_with_headers(&app, &operator, "/newsletter/export.csv?type=NEWS").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv; charset=utf-8")
    );
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"newsletter-NEWS-"),
        "{disposition}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    let body = response.text().await.unwrap();
    let mut lines: Vec<&str> = body.split("\r\n").collect();
    assert_eq!(lines.pop(), Some(""), "every record ends with CRLF");
    assert_eq!(lines[0], "contact_id,external_id,email,name");
    let mut records = lines[1..].to_vec();
    records.sort();
    let mut want = [
        format!("{},,anna@example.it,Anna Rossi", ids[0]),
        // RFC 4180: a field with a comma or a quote is quoted, its quotes doubled.
        format!(
            "{},,bruno@example.it,\"Bruno \"\"Bru\"\" Neri, jr\"",
            ids[1]
        ),
    ];
    want.sort();
    assert_eq!(records, want);
}

#[tokio::test]
async fn an_auditor_sees_the_counts_but_may_not_download_the_recipients() {
    let app = spawn_app().await;
    three_subscribers(&app).await;
    let auditor = app.console_as("auditor").await;
    let page = auditor.get("/newsletter?type=NEWS").await;
    assert_eq!(page.status, 200);
    assert_eq!(text_of(&page.body, "eligible"), "3");
    assert!(!page.body.contains("/newsletter/export.csv"));
    let export = auditor.get("/newsletter/export.csv?type=NEWS").await;
    assert_eq!(export.status, 403);
    assert!(!export.body.contains("anna@example.it"));
    let audit = app
        .store
        .audit_entries(&AuditFilter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(audit.iter().all(|e| e.action != "audience.export"));
}

#[tokio::test]
async fn a_download_is_audited_with_who_and_which_type_and_then_how_many_went_out() {
    let app = spawn_app().await;
    three_subscribers(&app).await;
    let operator = app.console_as("operator").await;
    let csv = operator.get("/newsletter/export.csv?type=NEWS").await;
    assert_eq!(csv.status, 200);
    let user = app
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "operator-user")
        .unwrap();
    let exports = |action: &'static str| {
        let store = app.store.clone();
        async move {
            store
                .audit_entries(&AuditFilter {
                    limit: 50,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.action == action)
                .collect::<Vec<_>>()
        }
    };
    let started = exports("audience.export").await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].user_id, Some(user.id));
    assert_eq!(started[0].detail["type"], "NEWS");
    // The end is written once the stream has stopped, a moment after the body arrived.
    let mut ended = Vec::new();
    for _ in 0..50 {
        ended = exports("audience.export.end").await;
        if !ended.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].detail["rows"], 3);
    assert_eq!(ended[0].detail["complete"], true);
    // The audit page names it.
    let admin = app.console_as("admin").await;
    let page = admin.get_in("/audit", "en").await;
    assert!(
        page.body.contains("Downloaded newsletter recipients"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<dt>Consent type</dt><dd>Tipo NEWS (NEWS)</dd>"),
        "the detail names the type, field by field: {}",
        page.body
    );
    assert!(page.body.contains("<dt>Recipients</dt><dd>3</dd>"));
}

#[tokio::test]
async fn the_dashboard_counts_consents_per_type_and_state() {
    let app = spawn_app().await;
    let ids = three_subscribers(&app).await;
    consent_type(
        &app,
        "CALLS",
        Some(30),
        Permissions {
            phone_call: true,
            ..Permissions::default()
        },
    )
    .await;
    record(&app, ids[1], "NEWS", EventKind::Withdrawn, None).await;
    record(
        &app,
        ids[0],
        "CALLS",
        EventKind::Given,
        Some(days_ago(&app, 40)),
    )
    .await;
    record(&app, ids[2], "CALLS", EventKind::Refused, None).await;
    let operator = app.console_as("operator").await;
    let home = operator.get("/?done=saved").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("Salvato."),
        "the notice of a redirect is still shown"
    );
    // Valid, suspended, expired, withdrawn, refused, total.
    assert_eq!(
        numbers(&row_of(&home.body, "consent-states", "NEWS")),
        ["2", "0", "0", "1", "0", "3"]
    );
    assert_eq!(
        numbers(&row_of(&home.body, "consent-states", "CALLS")),
        ["0", "0", "1", "0", "1", "2"]
    );
    // The chart is drawn on the server, hidden from screen readers that read the table instead.
    assert!(home.body.contains("<svg class=\"chart\""));
    assert!(home.body.contains("aria-hidden=\"true\""));
    assert!(
        !home.body.contains("style="),
        "no inline styles (the policy refuses them)"
    );
}

#[tokio::test]
async fn the_expiring_list_holds_a_consent_expiring_in_ten_days_but_not_one_in_forty() {
    let app = spawn_app().await;
    consent_type(&app, "NEWS", Some(50), bulk_email()).await;
    let soon = person(&app, "Sara Presto", "soon@example.it").await;
    record(
        &app,
        soon,
        "NEWS",
        EventKind::Given,
        Some(days_ago(&app, 40)),
    )
    .await;
    let later = person(&app, "Luca Tardi", "later@example.it").await;
    record(
        &app,
        later,
        "NEWS",
        EventKind::Given,
        Some(days_ago(&app, 10)),
    )
    .await;
    let operator = app.console_as("operator").await;
    let home = operator.get("/").await;
    let row = row_of(&home.body, "expiring", "NEWS");
    assert_eq!(numbers(&row), ["1"]);
    assert!(
        row.contains("href=\"/consents/expiring?type=NEWS&#38;days=30\""),
        "{row}"
    );
    let list = operator.get("/consents/expiring?type=NEWS&days=30").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains(&format!("href=\"/contacts/{soon}\"")),
        "{}",
        list.body
    );
    assert!(list.body.contains("Sara Presto"));
    assert!(list.body.contains("soon@example.it"));
    assert!(!list.body.contains("Luca Tardi"));
    // Eleven days from now, the first has expired and the other is within the window.
    app.clock.advance(11 * DAY);
    let operator = app.console_as("auditor").await;
    let list = operator.get("/consents/expiring?type=NEWS&days=30").await;
    assert!(list.body.contains("Luca Tardi"), "{}", list.body);
    assert!(!list.body.contains("Sara Presto"));
    // A bad window is said next to its field.
    let bad = operator
        .get_in("/consents/expiring?type=NEWS&days=0", "en")
        .await;
    assert!(bad.body.contains("id=\"days-error\""), "{}", bad.body);
    assert!(!bad.body.contains("Luca Tardi"));
}

#[tokio::test]
async fn the_expiring_list_is_paged() {
    let app = spawn_app().await;
    consent_type(&app, "NEWS", Some(50), bulk_email()).await;
    let batch = (0..60)
        .map(|i| BulkContact {
            input: ContactInput {
                name: Some(format!("Persona {i:02}")),
                emails: vec![format!("p{i}@example.it")],
                ..ContactInput::default()
            },
            events: vec![BulkEvent {
                type_code: "NEWS".to_owned(),
                kind: EventKind::Given,
                event_time: days_ago(&app, 40),
                method: CollectionMethod::Import,
                actor: Actor::new(ActorKind::Operator, "test").unwrap(),
                evidence: None,
                notice_version: None,
            }],
        })
        .collect();
    app.store.bulk_load(batch).await.unwrap();
    let operator = app.console_as("operator").await;
    let first = operator.get("/consents/expiring?type=NEWS&days=30").await;
    assert_eq!(first.body.matches("href=\"/contacts/").count(), 50);
    let next = first
        .body
        .split("rel=\"next\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    assert!(next.contains("after="), "{next}");
    let second = operator.get(&next).await;
    assert_eq!(second.body.matches("href=\"/contacts/").count(), 10);
    assert!(!second.body.contains("rel=\"next\""));
}

#[tokio::test]
async fn justified_contacts_of_the_last_thirty_days_appear_per_operator_and_reason() {
    let app = spawn_app().await;
    consent_type(
        &app,
        "MAIL",
        Some(365),
        Permissions {
            email_single: true,
            ..Permissions::default()
        },
    )
    .await;
    let support = app
        .store
        .create_reason("Assistenza tecnica", false)
        .await
        .unwrap();
    let offer = app
        .store
        .create_reason("Offerta commerciale", true)
        .await
        .unwrap();
    let giulia = {
        let name = Username::parse("giulia").unwrap();
        consento_app::accounts::create(
            &app.store,
            name.clone(),
            "Giulia Verdi",
            Role::Operator,
            &Password::new("another long password", &name).unwrap(),
            false,
        )
        .await
        .unwrap()
    };
    let someone = person(&app, "Mario", "mario@example.it").await;
    let r = ContactRef::Id(someone);
    let giulia_id = giulia.id.to_string();
    for (reason, operator) in [
        (support.id, giulia_id.as_str()),
        (support.id, giulia_id.as_str()),
        (offer.id, giulia_id.as_str()),
        (offer.id, "crm-agent-7"),
    ] {
        app.store
            .justify(&r, Action::EmailSingle, reason, None, operator)
            .await
            .unwrap();
    }
    let dpo = app.console_as("dpo").await;
    let home = dpo.get("/").await;
    let by_operator = &home.body[home.body.find("id=\"justified-by-operator\"").unwrap()..];
    let giulia_at = by_operator
        .find("Giulia Verdi")
        .expect("the account's name, not its id");
    assert_eq!(numbers(&by_operator[giulia_at..])[0], "3");
    let agent_at = by_operator.find("crm-agent-7").unwrap();
    assert_eq!(numbers(&by_operator[agent_at..])[0], "1");
    let by_reason = &home.body[home.body.find("id=\"justified-by-reason\"").unwrap()..];
    let support_at = by_reason.find("Assistenza tecnica").unwrap();
    assert_eq!(numbers(&by_reason[support_at..])[0], "2");
    let offer_at = by_reason.find("Offerta commerciale").unwrap();
    assert_eq!(numbers(&by_reason[offer_at..])[0], "2");
    // 31 days later they are out of the period.
    app.clock.advance(31 * DAY);
    let later = app.console_as("auditor").await.get("/").await;
    assert!(!later.body.contains("id=\"justified-by-operator\""));
    assert!(later.body.contains("Nessun contatto giustificato"));
}

/// Writes an audit entry for `user` at `at` (the store takes the instant from its clock).
async fn audit_at(
    app: &TestApp,
    at: Timestamp,
    user: uuid::Uuid,
    action: &str,
    target: Option<&str>,
) {
    use consento_domain::Clock as _;
    let now = app.clock.now();
    app.clock.set(at);
    app.store
        .audit(AuditInput {
            user_id: Some(user),
            token_id: None,
            action: action.to_owned(),
            target_kind: target.map(|_| "contact".to_owned()),
            target_id: target.map(str::to_owned),
            detail: serde_json::json!({ "field": "name" }),
        })
        .await
        .unwrap();
    app.clock.set(now);
}

#[tokio::test]
async fn the_audit_page_filters_by_operator_and_by_date_newest_first() {
    let app = spawn_app().await;
    let mk = |name: &'static str, display: &'static str| {
        let store = app.store.clone();
        async move {
            let username = Username::parse(name).unwrap();
            consento_app::accounts::create(
                &store,
                username.clone(),
                display,
                Role::Operator,
                &Password::new("another long password", &username).unwrap(),
                false,
            )
            .await
            .unwrap()
        }
    };
    let paola = mk("paola", "Paola Gialli").await;
    let marco = mk("marco", "Marco Blu").await;
    let contact = person(&app, "Anna", "anna@example.it").await;
    let jan10 = Timestamp::parse("t", "2025-01-10T09:00:00Z").unwrap();
    let jan20 = Timestamp::parse("t", "2025-01-20T09:00:00Z").unwrap();
    audit_at(
        &app,
        jan10,
        paola.id,
        "contact.update",
        Some(&contact.to_string()),
    )
    .await;
    audit_at(
        &app,
        jan20,
        marco.id,
        "contact.view",
        Some(&contact.to_string()),
    )
    .await;
    audit_at(&app, jan20, paola.id, "something.unlabelled", None).await;

    let dpo = app.console_as("dpo").await;
    let all = dpo.get("/audit").await;
    assert_eq!(all.status, 200);
    let update = all
        .body
        .find("Modifica di un&#39;anagrafica")
        .or_else(|| all.body.find("Modifica di un'anagrafica"))
        .expect(&all.body);
    let view = all.body.find("Consultazione di un").unwrap();
    assert!(view < update, "newest first");
    assert!(all.body.contains(&format!("href=\"/contacts/{contact}\"")));
    assert!(
        all.body.contains("something.unlabelled"),
        "an unknown action reads as its code"
    );
    assert!(all.body.contains("Paola Gialli") && all.body.contains("Marco Blu"));
    assert!(
        all.body.contains("<dt>field</dt><dd>name</dd>"),
        "a detail's key without a label reads as itself"
    );
    assert!(
        all.body.contains("Anagrafica: Anna"),
        "the record is named by the person's name"
    );
    assert!(
        all.body.contains("10/01/2025 10:00 CET"),
        "Italian dates, in Rome's time"
    );

    let by_marco = dpo.get(&format!("/audit?user={}", marco.id)).await;
    let table = &by_marco.body[by_marco.body.find("id=\"audit\"").unwrap()..];
    assert!(table.contains("Consultazione di un"));
    assert!(!table.contains("Paola Gialli"));

    let january_first_half = dpo.get("/audit?from=2025-01-01&to=2025-01-10").await;
    let table = &january_first_half.body[january_first_half.body.find("id=\"audit\"").unwrap()..];
    assert!(
        table.contains("Paola Gialli"),
        "the end date is included whole"
    );
    assert!(!table.contains("Marco Blu"));
    assert!(!table.contains("Consultazione di un"));

    let bad = dpo
        .get_in("/audit?from=2025-01-20&to=2025-01-10", "en")
        .await;
    assert!(bad.body.contains("id=\"to-error\""), "{}", bad.body);
    assert!(
        bad.body.contains("value=\"2025-01-20\""),
        "what was typed is kept"
    );
}

#[tokio::test]
async fn the_audit_page_pages_back_with_an_older_link() {
    let app = spawn_app().await;
    let auditor = app.console_as("auditor").await;
    let user = app.store.users().await.unwrap().remove(0);
    let base = Timestamp::parse("t", "2025-02-01T00:00:00Z").unwrap();
    for i in 0..55 {
        audit_at(
            &app,
            Timestamp::from_micros(base.as_micros() + i * 1_000_000),
            user.id,
            "contact.view",
            None,
        )
        .await;
    }
    let first = auditor.get(&format!("/audit?user={}", user.id)).await;
    assert_eq!(
        first.body.matches("<tr>").count(),
        51,
        "a header row and 50 entries"
    );
    let older = first
        .body
        .split("rel=\"next\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    assert!(older.contains("before="), "{older}");
    let second = auditor.get(&older).await;
    // The rest: five more entries and the auditor's own sign-in, written first.
    assert_eq!(
        second.body.matches("<tr>").count(),
        1 + 6,
        "{}",
        second.body
    );
    assert!(second.body.contains("01/02/2025 01:00 CET"));
}

#[tokio::test]
async fn only_administrators_dpos_and_auditors_read_the_audit_trail() {
    let app = spawn_app().await;
    let operator = app.console_as("operator").await;
    let page = operator.get("/audit").await;
    assert_eq!(page.status, 403);
    assert!(
        !operator.get("/").await.body.contains("href=\"/audit\""),
        "not in the menu"
    );
    for role in ["admin", "dpo", "auditor"] {
        assert_eq!(
            app.console_as(role).await.get("/audit").await.status,
            200,
            "{role}"
        );
    }
}

#[tokio::test]
async fn the_pages_render_in_italian_with_italian_number_grouping_and_in_english_with_english() {
    let app = spawn_app().await;
    consent_type(&app, "NEWS", Some(365), bulk_email()).await;
    let batch = (0..1234)
        .map(|i| BulkContact {
            input: ContactInput {
                emails: vec![format!("n{i}@example.it")],
                ..ContactInput::default()
            },
            events: vec![BulkEvent {
                type_code: "NEWS".to_owned(),
                kind: EventKind::Given,
                event_time: days_ago(&app, 1),
                method: CollectionMethod::Import,
                actor: Actor::new(ActorKind::Operator, "test").unwrap(),
                evidence: None,
                notice_version: None,
            }],
        })
        .collect();
    app.store.bulk_load(batch).await.unwrap();
    let operator = app.console_as("operator").await;
    let it = operator.get_in("/newsletter?type=NEWS", "it").await;
    assert!(it.body.contains("<html lang=\"it\""));
    assert_eq!(text_of(&it.body, "eligible"), "1.234");
    assert!(it.body.contains("Scarica i destinatari"));
    let home = operator.get_in("/", "it").await;
    assert_eq!(
        numbers(&row_of(&home.body, "consent-states", "NEWS"))[0],
        "1.234"
    );
    assert!(home.body.contains("Consensi per tipologia e stato"));
    let en = operator.get_in("/newsletter?type=NEWS", "en").await;
    assert_eq!(text_of(&en.body, "eligible"), "1,234");
    assert!(en.body.contains("Download recipients"));
    let home = operator.get_in("/", "en").await;
    assert_eq!(
        numbers(&row_of(&home.body, "consent-states", "NEWS"))[0],
        "1,234"
    );
}

#[tokio::test]
async fn a_name_that_looks_like_a_formula_reaches_every_audience_csv_as_text_unless_raw_is_asked() {
    let app = spawn_app().await;
    consent_type(&app, "NEWS", Some(365), bulk_email()).await;
    let id = person(
        &app,
        "=HYPERLINK(\"http://evil.example\")",
        "eve@example.it",
    )
    .await;
    record(&app, id, "NEWS", EventKind::Given, Some(days_ago(&app, 1))).await;
    let operator = app.console_as("operator").await;
    let csv = get_with_headers(&app, &operator, "/newsletter/export.csv?type=NEWS")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains(&format!(
            "{id},,eve@example.it,\"'=HYPERLINK(\"\"http://evil.example\"\")\""
        )),
        "{csv}"
    );
    let api = |query: &'static str| {
        let request = app.request(reqwest::Method::GET, query, "read");
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    // The API's CSV is defused too (OWASP, "CSV Injection"): it ends up in spreadsheets as well.
    let escaped = api("/v1/audience?type=NEWS&format=csv").await;
    assert!(escaped.contains(",\"'=HYPERLINK("), "{escaped}");
    assert_eq!(api("/v1/audience?type=NEWS&raw=false").await, escaped);
    // A program asks for the values as stored.
    let raw = api("/v1/audience?type=NEWS&format=csv&raw=true").await;
    assert!(raw.contains(",\"=HYPERLINK("), "{raw}");
    // NDJSON is always as stored.
    let ndjson = api("/v1/audience?type=NEWS&format=ndjson").await;
    assert!(ndjson.contains("\"name\":\"=HYPERLINK("), "{ndjson}");
    // `raw` is a boolean.
    let (status, problem) = app.get("/v1/audience?type=NEWS&raw=yes", "read").await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "raw", "{problem}");
}
