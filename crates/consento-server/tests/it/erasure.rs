//! Erasure (GDPR Art. 17) end to end: a person with two addresses, two numbers, consents with
//! evidence, a justified contact, a double opt-in, a channel switch, a request and console
//! actions is erased over the API; then the raw bytes of the SQLite file and its `-wal`/`-shm`
//! (or every table of the PostgreSQL schema) are searched for any trace of them, the ledger
//! still verifies, and the address can reach no one again. The console's confirmation page, the
//! erased card and the request page's action; the CLI.

use consento_domain::{
    Action, Actor, ActorKind, Channel, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind,
    Permissions, fold_for_search,
};
use consento_store::{ConsentEventInput, ContactRef};
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app_with};

const NAME: &str = "Ottavina Zappacosta-Brümmel";
const EMAILS: [&str; 2] = ["Ottavina.Zappa@Example.org", "ozb.quintiliana@esempio.it"];
const PHONES: [&str; 2] = ["+39 347 555 0101", "06 5550 2020"];
const PHONES_E164: [&str; 2] = ["+393475550101", "+390655502020"];
const IP: &str = "198.51.100.23";
const AGENT: &str = "UA-Zappacosta/1.0";

/// Every form the person's data was stored in, lower-cased: the name, its folded form, each
/// address as typed and normalised, each number as typed and in E.164, the CRM id, the IP, the
/// user agent.
fn needles() -> Vec<String> {
    let mut n = vec![
        NAME.to_lowercase(),
        fold_for_search(NAME),
        "zappacosta".to_owned(),
        "crm-zap-77".to_owned(),
        IP.to_owned(),
        "198.51.100.0".to_owned(),
        AGENT.to_lowercase(),
    ];
    n.extend(EMAILS.iter().map(|e| e.to_lowercase()));
    n.extend(PHONES.iter().map(|p| p.to_lowercase()));
    n.extend(PHONES_E164.iter().map(|p| (*p).to_owned()));
    n.extend(
        PHONES_E164
            .iter()
            .map(|p| p.trim_start_matches("+39").to_owned()),
    );
    n
}

/// A consent type shown in the preference center.
pub(crate) fn spec(code: &str, validity: Option<u32>, permissions: Permissions) -> ConsentTypeSpec {
    ConsentTypeSpec {
        title: format!("Tipo {code}"),
        code: ConsentCode::parse(code).unwrap(),
        description: None,
        validity_days: validity,
        permissions,
        show_in_preference_center: true,
        purpose: Default::default(),
    }
}

/// A consent event recorded now by an operator, from a form.
pub(crate) fn consent(
    contact: ContactRef,
    code: &str,
    kind: EventKind,
    evidence: Option<String>,
) -> ConsentEventInput {
    ConsentEventInput {
        contact,
        type_code: code.into(),
        kind,
        event_time: None,
        method: CollectionMethod::Form,
        actor: Actor::new(ActorKind::Operator, "op").unwrap(),
        notice_version: None,
        evidence,
    }
}

/// Builds the person everywhere the product can hold them; returns their id and the erasure
/// request's id.
async fn the_person(app: &TestApp) -> (String, String) {
    let store = &app.store;
    store
        .create_consent_type(spec(
            "NEWS",
            Some(365),
            Permissions {
                email_bulk: true,
                ..Permissions::default()
            },
        ))
        .await
        .unwrap();
    store
        .create_consent_type(spec(
            "CALLS",
            Some(365),
            Permissions {
                phone_call: true,
                ..Permissions::default()
            },
        ))
        .await
        .unwrap();
    let reason = store.create_reason("Assistenza", false).await.unwrap();
    // Created in the console, so the audit trail's detail names them.
    let admin = app.console_as("admin").await;
    let created = admin
        .post(
            "/contacts",
            &[
                ("name", NAME),
                ("emails", &EMAILS.join("\n")),
                ("phones", &PHONES.join("\n")),
                ("external_id", "CRM-ZAP-77"),
                ("source", "Fiera di Ottavina Zappacosta"),
                ("legal_basis", "consent"),
                ("purposes", "marketing"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let c = store
        .contact(&ContactRef::Email(EMAILS[0].into()))
        .await
        .unwrap();
    let id = c.id.to_string();
    let r = ContactRef::Id(c.id);
    let card = admin.get(&format!("/contacts/{id}")).await;
    assert!(card.body.contains("Zappacosta"));
    // A rectification through the API: the audit trail keeps the name before and after.
    let (status, c) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/contacts/{id}"),
            "write",
            &json!({"name": format!("{NAME} in Rossi")}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    let (status, c) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/contacts/{id}"),
            "write",
            &json!({"name": NAME}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    // A bulk rule run over them: its revert data keeps their source.
    let (status, rule) = app
        .post(
            "/v1/rules",
            "admin",
            &json!({"name": "Marketing by consent", "filter": {"purpose": "marketing"},
                "changes": {"legal_basis": "legitimate_interests"}}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let (status, run) = app
        .post(
            &format!("/v1/rules/{}/runs", rule["id"].as_str().unwrap()),
            "admin",
            &json!({}),
        )
        .await;
    assert_eq!((status, run["changed"].as_i64()), (201, Some(1)), "{run}");
    for code in ["NEWS", "CALLS"] {
        store
            .record_consent(ConsentEventInput {
                contact: r.clone(),
                type_code: code.into(),
                kind: EventKind::Given,
                event_time: None,
                method: CollectionMethod::Form,
                actor: Actor::new(ActorKind::Operator, "op").unwrap(),
                notice_version: None,
                evidence: Some(format!("form of {NAME}, {} from {IP}, {AGENT}", EMAILS[0])),
            })
            .await
            .unwrap();
    }
    store
        .justify(
            &r,
            Action::PhoneCall,
            reason.id,
            Some("Ottavina Zappacosta asked to be called on 347 555 0101"),
            "op",
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
            Some(&format!("{AGENT} from {IP}")),
        )
        .await
        .unwrap();
    // A double opt-in: the outbox and the request hold the second address.
    let (status, answer) = app
        .post(
            "/v1/subscriptions",
            "write",
            &json!({"email": EMAILS[1], "types": ["NEWS"], "name": NAME, "locale": "it",
                "user_agent": AGENT, "ip": IP}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(store.email_messages(10).await.unwrap().len(), 1);
    // A restriction set and lifted: the notice of Art. 18(3) waits in the outbox, addressed.
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let (status, c) = app
            .send(
                method,
                &format!("/v1/contacts/{id}/restriction"),
                "write",
                &json!({}),
            )
            .await;
        assert_eq!(status, 200, "{c}");
    }
    assert_eq!(store.email_messages(10).await.unwrap().len(), 2);
    let (status, request) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "erasure", "channel": "email", "contact_id": id,
                "description": format!("{NAME} ({}) asks to be forgotten", EMAILS[0])}),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    (id, request["id"].as_str().unwrap().to_owned())
}

/// The needles found in `haystack` (lower-cased by the caller).
fn found_in(haystack: &[u8]) -> Vec<String> {
    needles()
        .into_iter()
        .filter(|n| haystack.windows(n.len()).any(|w| w == n.as_bytes()))
        .collect()
}

/// Every needle found in any table of the PostgreSQL schema, as `table: needle`.
async fn found_in_postgres(app: &TestApp) -> Vec<String> {
    use sqlx::Connection as _;
    let schema = app.db.pg_schema.clone().unwrap();
    let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
    )
    .bind(&schema)
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(tables.len() > 20, "{tables:?}");
    let mut found = Vec::new();
    for t in tables {
        for n in needles() {
            let sql = format!("SELECT COUNT(*) FROM {schema}.{t} t WHERE t::text ILIKE $1");
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(format!("%{n}%"))
                .fetch_one(&mut c)
                .await
                .unwrap();
            if count > 0 {
                found.push(format!("{t}: {n}"));
            }
        }
    }
    found
}

async fn erase_and_search(app: TestApp) {
    let (id, request_id) = the_person(&app).await;
    // Only an admin token erases.
    let path = format!("/v1/contacts/{id}/erasure");
    let (status, _) = app
        .send(reqwest::Method::POST, &path, "write", &json!({}))
        .await;
    assert_eq!(status, 403);
    let (status, report) = app
        .post(&path, "admin", &json!({"request_id": request_id}))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["reason"], "erasure");
    assert_eq!(report["suppressed"], 4);
    // Audited in the erasure's transaction, as the admin token that asked for it.
    let trail = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            target: Some(("contact".into(), id.clone())),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let erase = trail.iter().find(|e| e.action == "contact.erase").unwrap();
    assert!(
        erase.token_id.is_some() && erase.user_id.is_none(),
        "{erase:?}"
    );
    let count = |category: &str| {
        report["erased"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["category"] == category)
            .map(|e| e["count"].as_i64().unwrap())
            .unwrap()
    };
    assert_eq!((count("emails"), count("phones")), (2, 2));
    assert_eq!(count("consent_evidence"), 2);
    assert!(count("audit_details") >= 1);
    let kept: Vec<(&str, &str)> = report["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["category"].as_str().unwrap(),
                k["ground"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        kept.contains(&("consent_proof", "art7_1_art17_3_e")),
        "{kept:?}"
    );
    assert!(kept.contains(&("suppression", "art17_art21_3")));
    assert!(kept.contains(&("request_records", "art5_2")));
    let (status, again) = app.post(&path, "admin", &json!({})).await;
    assert_eq!(status, 409, "{again}");
    let (status, _) = app
        .post(
            "/v1/contacts/0190a0a0-0000-7000-8000-00000000dead/erasure",
            "admin",
            &json!({}),
        )
        .await;
    assert_eq!(status, 404);

    // No byte of the person is left: the SQLite file and its WAL and index, or every table.
    if app.db.pg_schema.is_some() {
        let found = found_in_postgres(&app).await;
        assert!(found.is_empty(), "left behind: {found:?}");
    } else {
        let db = app.db.dir.join("consento.db");
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", db.display());
            // The database itself must be there; the WAL and index may have been removed.
            let bytes = if suffix.is_empty() {
                std::fs::read(&file).unwrap()
            } else {
                std::fs::read(&file).unwrap_or_default()
            }
            .to_ascii_lowercase();
            let found = found_in(&bytes);
            assert!(found.is_empty(), "{file} still holds {found:?}");
        }
    }

    // The proof stays and verifies; the request is completed; the person is blocked.
    let (status, verify) = app.get("/v1/ledger/verify", "read").await;
    assert_eq!(status, 200, "{verify}");
    assert_eq!(verify["events"], 2);
    let (_, request) = app.get(&format!("/v1/requests/{request_id}"), "read").await;
    assert_eq!(request["status"], "completed");
    let (_, decision) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({"contact": {"contact_id": id}, "action": "phone.call"}),
        )
        .await;
    assert_eq!(
        (decision["outcome"].as_str(), decision["rule"].as_str()),
        (Some("blocked"), Some("erased"))
    );
    // Its export holds nothing of the person.
    let export = app
        .client
        .get(format!("{}/v1/contacts/{id}/export", app.base))
        .bearer_auth(app.token("read"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 409);
    let body = export.text().await.unwrap().to_lowercase();
    assert!(found_in(body.as_bytes()).is_empty(), "{body}");
    let stored = serde_json::to_string(
        &app.store
            .export_contact(&ContactRef::Id(consento_domain::ContactId(
                id.parse().unwrap(),
            )))
            .await
            .unwrap(),
    )
    .unwrap()
    .to_lowercase();
    assert!(found_in(stored.as_bytes()).is_empty(), "{stored}");

    // Decided: the same address may start a new relationship (a new contact), but it stays
    // suppressed, so no bulk send reaches it, and no new double opt-in mails it.
    let (status, again) = app
        .post("/v1/contacts", "write", &json!({"emails": [EMAILS[0]]}))
        .await;
    assert_eq!(status, 201, "{again}");
    app.store
        .record_consent(consent(
            ContactRef::Email(EMAILS[0].into()),
            "NEWS",
            EventKind::Given,
            None,
        ))
        .await
        .unwrap();
    let (_, decision) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({"contact": {"email": EMAILS[0]}, "action": "email.bulk"}),
        )
        .await;
    assert_eq!(
        (decision["outcome"].as_str(), decision["rule"].as_str()),
        (Some("blocked"), Some("suppressed")),
        "{decision}"
    );
    let before = app.store.email_messages(100).await.unwrap().len();
    for email in EMAILS {
        let (status, _) = app
            .post(
                "/v1/subscriptions",
                "write",
                &json!({"email": email, "types": ["NEWS"], "locale": "it"}),
            )
            .await;
        assert_eq!(status, 202);
    }
    let form = reqwest::Client::new()
        .post(format!("{}/subscribe?lang=it", app.base))
        .form(&[("email", EMAILS[1]), ("name", "x"), ("topic", "NEWS")])
        .send()
        .await
        .unwrap();
    assert!(form.status().is_success() || form.status().is_redirection());
    assert_eq!(app.store.email_messages(100).await.unwrap().len(), before);
    app.shutdown().await;
}

#[tokio::test]
async fn an_erased_person_leaves_no_byte_in_the_sqlite_file_or_its_wal_and_cannot_be_reached_again()
{
    erase_and_search(spawn_app_with(false, |_| {}).await.unwrap()).await;
}

#[tokio::test]
async fn an_erased_person_leaves_no_trace_in_any_postgres_table() {
    if let Some(app) = spawn_app_with(true, |_| {}).await {
        erase_and_search(app).await;
    }
}

#[tokio::test]
async fn the_dpo_erases_from_the_request_page_after_a_confirmation_listing_what_is_kept() {
    let app = spawn_app_with(false, |_| {}).await.unwrap();
    let c = app
        .store
        .create_contact(consento_store::ContactInput {
            name: Some("Teodolinda Sperandio".into()),
            emails: vec!["teo@example.it".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let (_, request) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "erasure", "channel": "letter", "contact_id": c.id.to_string()}),
        )
        .await;
    let rid = request["id"].as_str().unwrap();
    let operator = app.console_as("operator").await;
    let card = operator.get(&format!("/contacts/{}", c.id)).await;
    assert!(!card.body.contains("id=\"erase-contact\""));
    assert_eq!(
        operator
            .get(&format!("/contacts/{}/erase", c.id))
            .await
            .status,
        403
    );
    assert_eq!(
        operator
            .post(&format!("/contacts/{}/erase", c.id), &[])
            .await
            .status,
        403
    );

    let dpo = app.console_as("dpo").await;
    let card = dpo.get(&format!("/contacts/{}", c.id)).await;
    assert!(card.body.contains("id=\"erase-contact\""));
    let page = dpo.get(&format!("/requests/{rid}")).await;
    let href = format!("/contacts/{}/erase?request={rid}", c.id);
    assert!(page.body.contains(&href), "{}", page.body);
    let confirm = dpo.get(&href).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Teodolinda Sperandio"));
    assert!(confirm.body.contains("Tutti gli indirizzi email"));
    assert!(confirm.body.contains("art. 7, par. 1"));
    assert!(
        confirm
            .body
            .contains(&format!("name=\"request\" value=\"{rid}\""))
    );
    // Without the form's token nothing happens.
    let forged = dpo
        .post_raw(
            &format!("/contacts/{}/erase", c.id),
            &[("request".into(), rid.into())],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(
        app.store
            .contact(&ContactRef::Id(c.id))
            .await
            .unwrap()
            .erased_at
            .is_none()
    );
    let done = dpo
        .post(&format!("/contacts/{}/erase", c.id), &[("request", rid)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location.unwrap();
    let card = dpo.get(&location).await;
    assert!(
        card.body.contains("L&#39;anagrafica è stata cancellata")
            || card.body.contains("anagrafica è stata cancellata"),
        "{}",
        card.body
    );
    assert!(card.body.contains("id=\"erasure-kept\""));
    assert!(!card.body.contains("Teodolinda"));
    assert!(!card.body.contains("id=\"erase-contact\""));
    let (_, r) = app.get(&format!("/v1/requests/{rid}"), "read").await;
    assert_eq!(r["status"], "completed");
    let page = dpo.get(&format!("/requests/{rid}")).await;
    assert!(!page.body.contains("carry-out-erasure"));
    // The audit trail names the erasure, and says the contact it touched is erased (it has no
    // name left to show).
    let audit = dpo.get("/audit").await;
    assert!(
        audit.body.contains("Cancellazione di un&#39;anagrafica")
            || audit.body.contains("Cancellazione di un'anagrafica"),
        "{}",
        audit.body
    );
    assert!(
        audit.body.contains("Anagrafica: cancellata"),
        "{}",
        audit.body
    );
    assert!(!audit.body.contains("Teodolinda"));
    app.shutdown().await;
}

#[tokio::test]
async fn the_command_line_erases_only_with_yes_and_prints_what_was_kept() {
    let app = spawn_app_with(false, |_| {}).await.unwrap();
    let c = app
        .store
        .create_contact(consento_store::ContactInput {
            name: Some("Cli Person".into()),
            emails: vec!["cli.person@example.it".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let (code, err) = app
        .db
        .fails(&["contacts", "erase", "cli.person@example.it"]);
    assert_ne!(code, 0);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out: Value = app
        .db
        .json(&["contacts", "erase", "cli.person@example.it", "--yes"]);
    assert_eq!(out["contact_id"], c.id.to_string());
    assert_eq!(out["suppressed"], 1);
    assert!(
        out["kept"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["category"] == "consent_proof")
    );
    let (_, err) = app
        .db
        .fails(&["contacts", "erase", &c.id.to_string(), "--yes"]);
    assert!(err.contains("already erased"), "{err}");
    app.shutdown().await;
}
