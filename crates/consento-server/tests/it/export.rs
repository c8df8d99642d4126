//! A person's data export (GDPR Art. 15 access, Art. 20 portability), through real HTTP: the JSON
//! document against the shipped JSON Schema, the zip of RFC 4180 CSV files, the Art. 15
//! information, scopes and refusals, and the console's download links, roles and audit trail.

use std::io::Read;

use consento_domain::{
    Action, Actor, ActorKind, Channel, CollectionMethod, ConsentCode, ConsentTypeSpec, ContactId,
    EventKind, Permissions, Timestamp,
};
use consento_store::{AuditFilter, ConsentEventInput, ContactInput, ContactRef};
use serde_json::Value;

use crate::support::{TestApp, spawn_app_with};

const DAY: i64 = 86_400_000_000;
const SCHEMA: &str = include_str!("../../schemas/export.schema.json");

async fn app() -> TestApp {
    spawn_app_with(false, |c| {
        c.controller.name = "Rossi Caldaie S.r.l.".into();
        c.controller.contact = "privacy@rossicaldaie.example".into();
        c.controller.dpo_contact = Some("dpo@rossicaldaie.example".into());
        c.controller.recipients = vec!["Fornitore del servizio email (responsabile)".into()];
    })
    .await
    .unwrap()
}

/// A contact with a newsletter consent given then withdrawn, a justified email and SMS switched
/// off; its name and evidence hold a comma, quotes and a line break, for CSV quoting.
async fn person(app: &TestApp) -> ContactId {
    let store = &app.store;
    for (code, perms) in [
        (
            "newsletter",
            Permissions {
                email_bulk: true,
                ..Permissions::default()
            },
        ),
        (
            "calls",
            Permissions {
                phone_call: true,
                ..Permissions::default()
            },
        ),
    ] {
        store
            .create_consent_type(ConsentTypeSpec {
                title: format!("Consenso {code}"),
                code: ConsentCode::parse(code).unwrap(),
                description: None,
                validity_days: Some(730),
                permissions: perms,
                show_in_preference_center: true,
                purpose: Default::default(),
            })
            .await
            .unwrap();
    }
    let reason = store
        .create_reason("Assistenza tecnica", false)
        .await
        .unwrap();
    let c = store
        .create_contact(ContactInput {
            name: Some("Rossi, \"Mario\"".into()),
            emails: vec!["mario.rossi@example.it".into()],
            phones: vec!["+39 347 123 4567".into()],
            source: Some("Fiera di Milano 2025".into()),
            purposes: vec!["Newsletter commerciale".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    let r = ContactRef::Id(c.id);
    let now = consento_domain::Clock::now(&*app.clock);
    for (kind, days_ago, evidence) in [
        (
            EventKind::Given,
            10,
            Some("modulo n. 12,\nfirmato \"a mano\""),
        ),
        (EventKind::Withdrawn, 2, None),
    ] {
        store
            .record_consent(ConsentEventInput {
                contact: r.clone(),
                type_code: "newsletter".into(),
                kind,
                event_time: Some(Timestamp::from_micros(now.as_micros() - days_ago * DAY)),
                method: CollectionMethod::Paper,
                actor: Actor::new(ActorKind::Operator, "lverdi").unwrap(),
                notice_version: None,
                evidence: evidence.map(str::to_owned),
            })
            .await
            .unwrap();
    }
    store
        .justify(
            &r,
            Action::EmailSingle,
            reason.id,
            Some("caldaia guasta"),
            "lverdi",
        )
        .await
        .unwrap();
    store
        .set_channel(
            &r,
            Channel::Sms,
            true,
            CollectionMethod::PreferenceCenter,
            &Actor::new(ActorKind::Subject, "").unwrap(),
            None,
        )
        .await
        .unwrap();
    store
        .create_request(
            consento_store::NewDataRequest {
                contact_id: Some(c.id),
                kind: consento_domain::requests::RequestKind::Access,
                channel: consento_domain::requests::RequestChannel::Email,
                description: "Copia dei miei dati".into(),
                received_at: None,
                actor: Actor::new(ActorKind::Operator, "lverdi").unwrap(),
            },
            &consento_domain::requests::HolidayCalendar::italy(),
        )
        .await
        .unwrap();
    c.id
}

async fn get_bytes(app: &TestApp, path: &str, scope: &str) -> reqwest::Response {
    app.request(reqwest::Method::GET, path, scope)
        .send()
        .await
        .unwrap()
}

fn assert_valid(doc: &Value) {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn a_json_export_validates_against_the_shipped_schema_and_holds_every_piece() {
    let app = app().await;
    let id = person(&app).await;
    let response = get_bytes(&app, &format!("/v1/contacts/{id}/export"), "read").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"consento-export-{id}.json\"").as_str()
    );
    let doc: Value = response.json().await.unwrap();
    assert_valid(&doc);
    // The shipped schema is strict: a field it does not know is refused.
    let mut extra = doc.clone();
    extra["contact"]["shoe_size"] = 42.into();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    assert!(!jsonschema::draft202012::is_valid(&schema, &extra));

    assert_eq!(doc["version"], 1);
    assert_eq!(doc["controller"]["name"], "Rossi Caldaie S.r.l.");
    assert_eq!(doc["controller"]["dpo_contact"], "dpo@rossicaldaie.example");
    let c = &doc["contact"];
    assert_eq!(c["id"], id.to_string());
    assert_eq!(c["name"], "Rossi, \"Mario\"");
    assert_eq!(c["emails"][0], "mario.rossi@example.it");
    assert_eq!(c["phones"][0], "+393471234567");
    assert_eq!(c["source"], "Fiera di Milano 2025");
    assert!(c["sms_off_at"].is_string());
    let news = doc["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["code"] == "newsletter")
        .unwrap();
    assert_eq!(news["kind"], "withdrawn");
    assert_eq!(news["valid"], false);
    let events = doc["consent_events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["given", "withdrawn"]);
    assert_eq!(events[0]["method"], "paper");
    assert_eq!(events[0]["actor_id"], "lverdi");
    assert_eq!(events[0]["evidence"], "modulo n. 12,\nfirmato \"a mano\"");
    assert_eq!(events[0]["validity_days"], 730);
    assert_eq!(doc["interactions"][0]["reason"], "Assistenza tecnica");
    assert_eq!(doc["interactions"][0]["note"], "caldaia guasta");
    assert_eq!(doc["interactions"][0]["action"], "email.single");
    assert_eq!(doc["channel_events"][0]["channel"], "sms");
    assert_eq!(doc["channel_events"][0]["switched_off"], true);
    assert_eq!(doc["requests"][0]["kind"], "access");
    assert_eq!(doc["requests"][0]["status"], "received");
    assert_eq!(doc["requests"][0]["description"], "Copia dei miei dati");
    assert!(doc["requests"][0]["due_on"].is_string());
    app.shutdown().await;
}

#[tokio::test]
async fn the_art_15_section_names_purposes_recipients_retention_source_rights_and_the_authority() {
    let app = app().await;
    let id = person(&app).await;
    let (status, doc) = app
        .get(&format!("/v1/contacts/{id}/export?format=json"), "read")
        .await;
    assert_eq!(status, 200);
    let info = &doc["information"];
    let purposes: Vec<&str> = info["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    // The declared purpose, and the consent the person was asked for (never-asked ones are not).
    assert_eq!(purposes, ["Newsletter commerciale", "Consenso newsletter"]);
    assert_eq!(
        info["recipients"][0],
        "Fornitore del servizio email (responsabile)"
    );
    assert!(info["retention"].as_str().unwrap().contains("24 mesi"));
    assert_eq!(info["source"], "Fiera di Milano 2025");
    let categories: Vec<&str> = info["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        [
            "identity",
            "contact_details",
            "consents",
            "contact_history",
            "communication_preferences"
        ]
    );
    let rights: Vec<(&str, &str)> = info["rights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].as_str().unwrap(), r["article"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rights,
        [
            ("access", "15"),
            ("rectification", "16"),
            ("erasure", "17"),
            ("restriction", "18"),
            ("portability", "20"),
            ("objection", "21"),
            ("human_review", "22")
        ]
    );
    assert!(
        info["rights"][5]["description"]["it"]
            .as_str()
            .unwrap()
            .contains("marketing diretto")
    );
    assert_eq!(
        info["complaint"]["authority"],
        "Garante per la protezione dei dati personali"
    );
    assert_eq!(info["complaint"]["url"], "https://www.garanteprivacy.it");
    assert!(
        info["complaint"]["address"]
            .as_str()
            .unwrap()
            .contains("Roma")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_csv_export_is_a_zip_of_one_rfc_4180_file_per_table_with_header_rows() {
    let app = app().await;
    let id = person(&app).await;
    let response = get_bytes(
        &app,
        &format!("/v1/contacts/{id}/export?format=csv"),
        "read",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"consento-export-{id}.zip\"").as_str()
    );
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "channel_events.csv",
            "consent_events.csv",
            "consents.csv",
            "contact.csv",
            "interactions.csv",
            "requests.csv"
        ]
    );
    let mut table = |name: &str| {
        let mut file = zip.by_name(name).unwrap();
        assert_eq!(file.compression(), zip::CompressionMethod::Deflated);
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        text
    };
    let contact = table("contact.csv");
    assert!(contact.starts_with("id,external_id,name,emails,phones,attributes,source,legal_basis,purposes,restricted_at,objected_at,email_off_at,phone_off_at,sms_off_at,created_at,updated_at\r\n"), "{contact}");
    // RFC 4180 §2.6–2.7: a field with a comma or a quote is quoted, its quotes doubled.
    assert!(contact.contains(&format!("{id},,\"Rossi, \"\"Mario\"\"\",mario.rossi@example.it,+393471234567,{{}},Fiera di Milano 2025,")), "{contact}");
    let events = table("consent_events.csv");
    assert!(events.starts_with("seq,id,type_code,kind,event_time,recorded_at,method,actor_kind,actor_id,notice_version,validity_days,expires_at,evidence,hash\r\n"), "{events}");
    // A line break inside a field stays inside its quotes.
    assert!(
        events.contains(",\"modulo n. 12,\nfirmato \"\"a mano\"\"\","),
        "{events}"
    );
    let mut reader = csv::Reader::from_reader(events.as_bytes());
    let kinds: Vec<String> = reader.records().map(|r| r.unwrap()[3].to_owned()).collect();
    assert_eq!(kinds, ["given", "withdrawn"]);
    assert!(table("consents.csv").starts_with("code,title,kind,event_time,expires_at,valid,suspended_by,email_bulk,email_single,phone_call,sms_single,sms_bulk\r\n"));
    let interactions = table("interactions.csv");
    assert!(interactions.starts_with("id,action,cause,reason,note,operator,occurred_at\r\n"));
    assert!(interactions.contains(",email.single,"));
    let channels = table("channel_events.csv");
    assert!(
        channels.starts_with("channel,switched_off,at,method,actor_kind,actor_id,evidence\r\n")
    );
    assert!(channels.contains("\r\nsms,true,"));
    app.shutdown().await;
}

#[tokio::test]
async fn a_name_that_looks_like_a_formula_is_exported_as_text_and_a_phone_number_as_it_is() {
    let app = app().await;
    let c = app
        .store
        .create_contact(ContactInput {
            name: Some("=HYPERLINK(\"http://evil.example\")".into()),
            emails: vec!["eve@example.it".into()],
            phones: vec!["+39 333 123 4567".into(), "+39 06 1234 5678".into()],
            source: Some("@campagna".into()),
            ..ContactInput::default()
        })
        .await
        .unwrap();
    let id = c.id;
    let response = get_bytes(
        &app,
        &format!("/v1/contacts/{id}/export?format=csv"),
        "read",
    )
    .await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut contact = String::new();
    zip.by_name("contact.csv")
        .unwrap()
        .read_to_string(&mut contact)
        .unwrap();
    // OWASP "CSV Injection": the cells a spreadsheet would run get a quote in front; the
    // phone numbers (a `+` and digits) cannot run anything and stay as they are.
    assert!(
        contact.contains(&format!(
            "{id},,\"'=HYPERLINK(\"\"http://evil.example\"\")\",eve@example.it,+393331234567; +390612345678,{{}},'@campagna,"
        )),
        "{contact}"
    );
    // The JSON form gives the values as stored.
    let (status, json) = app
        .get(&format!("/v1/contacts/{id}/export?format=json"), "read")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        json["contact"]["name"], "=HYPERLINK(\"http://evil.example\")",
        "{json}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_export_needs_the_read_scope_and_a_contact_that_exists_and_was_not_erased() {
    let app = app().await;
    let id = person(&app).await;
    let path = format!("/v1/contacts/{id}/export");
    let (status, body) = app.get(&path, "decide").await;
    assert_eq!(status, 403, "{body}");
    let unknown = "0190a0a0-0000-7000-8000-0000000000ff";
    let (status, body) = app
        .get(&format!("/v1/contacts/{unknown}/export"), "read")
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["status"], 404);
    let (status, body) = app.get(&format!("{path}?format=xml"), "read").await;
    assert_eq!(status, 400, "{body}");
    // Erasure is another part of the issue: the flag is set by hand here.
    let url = app.db.url.clone();
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query("UPDATE contacts SET erased_at = $1 WHERE id = $2")
        .bind(consento_domain::Clock::now(&*app.clock).as_micros())
        .bind(id.0)
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = app.get(&path, "read").await;
    assert_eq!(status, 409, "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_console_offers_the_export_to_the_dpo_not_to_an_operator_and_audits_the_download() {
    let app = app().await;
    let id = person(&app).await;
    let card = format!("/contacts/{id}");
    let dpo = app.console_as("dpo").await;
    let page = dpo.get(&card).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(&format!("href=\"/contacts/{id}/export.json\""))
    );
    assert!(
        page.body
            .contains(&format!("href=\"/contacts/{id}/export.csv\""))
    );
    assert!(page.body.contains("Esporta (JSON)"), "{}", page.body);
    let page = dpo.get_in(&card, "en").await;
    assert!(page.body.contains("Export (JSON)") && page.body.contains("Export (CSV)"));

    let operator = app.console_as("operator").await;
    let page = operator.get(&card).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("export.json"));
    assert_eq!(
        operator.get(&format!("{card}/export.json")).await.status,
        403
    );

    let download = dpo.get(&format!("{card}/export.json")).await;
    assert_eq!(download.status, 200);
    let doc: Value = serde_json::from_str(&download.body).unwrap();
    assert_valid(&doc);
    assert_eq!(dpo.get(&format!("{card}/export.csv")).await.status, 200);
    let auditor = app.console_as("auditor").await;
    assert_eq!(auditor.get(&format!("{card}/export.csv")).await.status, 200);

    let audited: Vec<(Option<String>, Value)> = app
        .store
        .audit_entries(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "contact.export")
        .map(|a| {
            assert_eq!(a.target_id.as_deref(), Some(id.to_string().as_str()));
            (a.username, a.detail)
        })
        .collect();
    // Newest first; the operator's refused attempt is not there.
    assert_eq!(audited.len(), 3, "{audited:?}");
    assert_eq!(audited[0].1["format"], "csv");
    assert_eq!(audited[2].0.as_deref(), Some("dpo-user"));
    assert_eq!(audited[2].1["format"], "json");
    app.shutdown().await;
}

/// GDPR Art. 15(1): the right of access is never held back until the controller is named, and
/// the answer never names an empty controller.
#[tokio::test]
async fn an_export_made_before_the_controller_is_named_names_a_placeholder_never_nothing() {
    let app = spawn_app_with(false, |_| {}).await.unwrap();
    let id = person(&app).await;
    let path = format!("/v1/contacts/{id}/export");
    let doc: Value = get_bytes(&app, &path, "read").await.json().await.unwrap();
    assert_valid(&doc);
    assert_eq!(
        doc["controller"]["name"],
        consento_app::controller::UNNAMED_IT
    );
    // The schema itself refuses a document naming an empty controller.
    let mut empty = doc.clone();
    empty["controller"]["name"] = "".into();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    assert!(!jsonschema::draft202012::is_valid(&schema, &empty));

    // Named on the first-run page: the next export names it, with its contact details.
    app.store
        .set_controller_details(consento_domain::ControllerDetails {
            name: Some("Rossi Caldaie S.r.l.".into()),
            address: Some("Via Roma 1, 20100 Milano".into()),
            email: Some("privacy@rossicaldaie.example".into()),
            dpo_contact: Some("dpo@rossicaldaie.example".into()),
            privacy_notice_url: Some("https://rossicaldaie.example/privacy".into()),
        })
        .await
        .unwrap();
    let doc: Value = get_bytes(&app, &path, "read").await.json().await.unwrap();
    assert_valid(&doc);
    let c = &doc["controller"];
    assert_eq!(c["name"], "Rossi Caldaie S.r.l.");
    assert_eq!(c["contact"], "privacy@rossicaldaie.example");
    assert_eq!(c["address"], "Via Roma 1, 20100 Milano");
    assert_eq!(c["dpo_contact"], "dpo@rossicaldaie.example");
    assert_eq!(
        c["privacy_notice_url"],
        "https://rossicaldaie.example/privacy"
    );
}
