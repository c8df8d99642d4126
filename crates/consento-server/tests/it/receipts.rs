//! Consent receipts: the Kantara Consent Receipt v1.1 fields, the DPV record's terms checked
//! against the vendored W3C DPV 2.2 vocabularies, referential integrity (which flags the
//! vendored example SEP-01b), the JWS verified by an independent library with the key set fetched
//! over HTTP, any changed character refused, key rotation, the command line and the console.

use std::collections::BTreeSet;
use std::path::PathBuf;

use consento_app::receipts::{RECORD_CLAIM, verify, verify_document};
use consento_domain::receipt::undeclared_entities;
use consento_domain::{
    Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind, Permissions,
    Timestamp,
};
use consento_store::{ConsentEventInput, ContactInput, ContactRef, NoticeInput, RecordedEvent};
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, spawn_app_with};

const DAY: i64 = 86_400_000_000;

fn vendored(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vendor-schemas")
        .join(path)
}

/// The `term` column of a vendored DPV CSV, each with `prefix`.
fn terms(file: &str, prefix: &str) -> BTreeSet<String> {
    let mut reader = csv::Reader::from_path(vendored(&format!("w3c-dpv/{file}"))).unwrap();
    let headers = reader.headers().unwrap().clone();
    let term = headers.iter().position(|h| h == "term").unwrap();
    reader
        .records()
        .map(|r| format!("{prefix}:{}", &r.unwrap()[term]))
        .collect()
}

fn sep01b() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(vendored("dpv-consent-record/SEP-01b.record.json")).unwrap(),
    )
    .unwrap()
}

/// Every string value of a record that names a DPV or eu-gdpr term (keys are properties; only
/// values name classes and instances).
fn term_values(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if s.starts_with("dpv:") || s.starts_with("eu-gdpr:") => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| term_values(v, out)),
        Value::Object(map) => map.values().for_each(|v| term_values(v, out)),
        _ => {}
    }
}

/// A newsletter type, a published notice, a contact, and a consent given 10 days ago on paper
/// and withdrawn today.
async fn seed(app: &TestApp) -> (String, RecordedEvent, RecordedEvent) {
    app.store
        .create_consent_type(ConsentTypeSpec {
            title: "Newsletter".to_owned(),
            code: ConsentCode::parse("NEWS").unwrap(),
            description: Some("Offerte e novità via email".to_owned()),
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
    app.store
        .publish_notice(NoticeInput {
            version: "2025-03".into(),
            language: "it".into(),
            url: Some("https://example.it/privacy".into()),
            body: None,
        })
        .await
        .unwrap();
    let contact = app
        .store
        .create_contact(ContactInput {
            name: Some("Anna Rossi".into()),
            emails: vec!["anna.rossi@example.it".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    let r = ContactRef::Id(contact.id);
    let now = app.store.now();
    let event = |kind, at, notice: Option<&str>| ConsentEventInput {
        contact: r.clone(),
        type_code: "NEWS".into(),
        kind,
        event_time: at,
        method: CollectionMethod::Paper,
        actor: Actor::new(ActorKind::Operator, "lverdi").unwrap(),
        notice_version: notice.map(str::to_owned),
        evidence: Some("modulo 0042, Anna Rossi".into()),
    };
    let given = app
        .store
        .record_consent(event(
            EventKind::Given,
            Some(Timestamp::from_micros(now.as_micros() - 10 * DAY)),
            Some("2025-03"),
        ))
        .await
        .unwrap();
    let withdrawn = app
        .store
        .record_consent(event(EventKind::Withdrawn, None, None))
        .await
        .unwrap();
    (contact.id.0.to_string(), given, withdrawn)
}

async fn receipt(app: &TestApp, event: &RecordedEvent) -> Value {
    let (status, body) = app
        .get(
            &format!("/v1/consent-events/{}/receipt", event.id.0),
            "read",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_receipt_has_every_kantara_field_and_a_dpv_record_made_of_vendored_terms() {
    let app = spawn_app_with(false, |c| {
        c.controller.name = "Esempio S.r.l.".into();
        c.controller.contact = "Ufficio privacy".into();
        c.controller.address = Some("Via Roma 1, 20100 Milano".into());
        c.controller.email = Some("privacy@esempio.it".into());
        c.controller.phone = Some("+39 02 1234567".into());
    })
    .await
    .unwrap();
    let (contact_id, given, withdrawn) = seed(&app).await;
    let body = receipt(&app, &given).await;
    let r = &body["receipt"];

    // Kantara CR v1.1: every field, with its type.
    assert_eq!(r["version"], "KI-CR-v1.1.0");
    assert_eq!(r["jurisdiction"], "IT");
    assert!(r["consentTimestamp"].is_i64(), "{r}");
    assert_eq!(
        r["consentTimestamp"].as_i64().unwrap(),
        given.event_time.as_micros().div_euclid(1_000_000)
    );
    assert_eq!(r["collectionMethod"], "signed paper form");
    assert_eq!(r["consentReceiptID"], given.id.0.to_string());
    assert_eq!(r["piiPrincipalId"], contact_id);
    assert_eq!(r["language"], "it");
    assert_eq!(r["policyUrl"], "https://example.it/privacy");
    let controller = &r["piiControllers"][0];
    assert_eq!(controller["piiController"], "Esempio S.r.l.");
    assert_eq!(controller["contact"], "Ufficio privacy");
    assert_eq!(controller["address"], "Via Roma 1, 20100 Milano");
    assert_eq!(controller["email"], "privacy@esempio.it");
    assert_eq!(controller["phone"], "+39 02 1234567");
    let service = &r["services"][0];
    assert_eq!(service["service"], "Newsletter");
    let purpose = &service["purposes"][0];
    assert_eq!(purpose["purpose"], "Offerte e novità via email");
    assert!(purpose["purposeCategory"].as_array().unwrap()[0].is_string());
    assert_eq!(purpose["consentType"], "EXPLICIT");
    assert!(purpose["piiCategory"].as_array().unwrap()[0].is_string());
    assert_eq!(purpose["primaryPurpose"], false);
    assert!(purpose["termination"].as_str().unwrap().contains("7(3)"));
    assert_eq!(purpose["thirdPartyDisclosure"], false);
    assert_eq!(r["sensitive"], false);
    assert_eq!(r["spiCat"], json!([]));
    // Pseudonymous: no name, no address, no evidence anywhere in what is handed out.
    let text = body.to_string();
    for personal in ["anna", "Anna", "modulo 0042"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    // The DPV record: only terms the vendored DPV 2.2 and eu-gdpr vocabularies define, or
    // that the DPV-27560 profile's own example (SEP-01b) uses for its structure.
    let mut known = BTreeSet::new();
    for file in [
        "dpv-2.2-consent_status.csv",
        "dpv-2.2-consent_types.csv",
        "dpv-2.2-consent_controls.csv",
        "dpv-2.2-status.csv",
    ] {
        known.extend(terms(file, "dpv"));
    }
    known.extend(terms("eu-gdpr-2.2-legal_basis.csv", "eu-gdpr"));
    known.extend(terms("eu-gdpr-2.2-rights.csv", "eu-gdpr"));
    let mut structural = BTreeSet::new();
    term_values(&sep01b(), &mut structural);
    let record = &body["record"];
    let mut used = BTreeSet::new();
    term_values(record, &mut used);
    let unknown: Vec<&String> = used
        .iter()
        .filter(|t| !known.contains(*t) && !structural.contains(*t))
        .collect();
    assert!(unknown.is_empty(), "terms in no vocabulary: {unknown:?}");
    assert_eq!(record["dct:conformsTo"], "dpv-27560:record-2");
    assert_eq!(record["dpv:hasIdentifier"], given.id.0.to_string());
    assert_eq!(
        record["dpv:hasDataSubject"]["dpv:hasIdentifier"],
        contact_id
    );
    let process = &record["dpv:hasProcess"][0];
    let bases = process["dpv:hasLegalBasis"].as_array().unwrap();
    assert!(bases.contains(&json!("eu-gdpr:A6-1-a")), "{bases:?}");
    let status = &process["dpv:hasConsentStatus"][0];
    assert_eq!(status["@type"][0], "dpv:ConsentGiven");
    assert_eq!(
        status["dpv:isIndicatedAtTime"],
        given.event_time.to_rfc3339()
    );
    assert_eq!(status["dpv:hasDuration"]["rdf:value"], "P365D");
    assert_eq!(status["dpv:hasNotice"]["dpv:hasIdentifier"], "2025-03");
    assert_eq!(
        process["dpv:hasConsentControl"]["@type"][0],
        "dpv:ProvideConsent"
    );
    // Every right named is one the eu-gdpr mapping gives a consent basis (A6-1-a).
    let mut mapping = csv::Reader::from_path(vendored(
        "w3c-dpv/eu-gdpr-2.2-legal_basis_rights_mapping.csv",
    ))
    .unwrap();
    let consent_rights: BTreeSet<String> = mapping
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[0] == "https://w3id.org/dpv/legal/eu/gdpr#A6-1-a")
        .map(|r| r[1].replace("https://w3id.org/dpv/legal/eu/gdpr#", "eu-gdpr:"))
        .collect();
    for right in process["dpv:hasRight"].as_array().unwrap() {
        assert!(
            consent_rights.contains(right.as_str().unwrap()),
            "{right} is not a right of A6-1-a"
        );
    }

    // The withdrawal's receipt says so, with the control the person used.
    let body = receipt(&app, &withdrawn).await;
    let process = &body["record"]["dpv:hasProcess"][0];
    assert_eq!(
        process["dpv:hasConsentStatus"][0]["@type"][0],
        "dpv:ConsentWithdrawn"
    );
    assert_eq!(
        process["dpv:hasConsentControl"]["@type"][0],
        "dpv:WithdrawConsent"
    );
    assert_eq!(body["receipt"]["language"], "en", "no notice: English");
    assert!(body["receipt"].get("policyUrl").is_none());

    // Once its validity has run out, the given consent's record also says it expired.
    app.clock.advance(400 * DAY);
    let body = receipt(&app, &given).await;
    let statuses = body["record"]["dpv:hasProcess"][0]["dpv:hasConsentStatus"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(statuses[1]["@type"][0], "dpv:ConsentExpired");
    assert_eq!(
        statuses[1]["dpv:isIndicatedAtTime"],
        given.event_time.plus_days(365).to_rfc3339()
    );
    assert!(known.contains("dpv:ConsentExpired"));

    // The history links each event to its receipt.
    let (_, history) = app
        .get(
            &format!("/v1/contacts/{contact_id}/consents/history"),
            "read",
        )
        .await;
    assert_eq!(
        history["items"][0]["receipt_url"],
        format!("/v1/consent-events/{}/receipt", given.id.0)
    );
}

#[tokio::test]
async fn an_unknown_event_or_form_is_a_problem_document() {
    let app = spawn_app().await;
    let (_, given, _) = seed(&app).await;
    for path in [
        "/v1/consent-events/0190a0a0-0000-7000-8000-000000000001/receipt".to_owned(),
        "/v1/consent-events/not-an-id/receipt".to_owned(),
    ] {
        let response = app
            .request(reqwest::Method::GET, &path, "read")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let (status, body) = app
        .get(
            &format!("/v1/consent-events/{}/receipt?format=pdf", given.id.0),
            "read",
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("format")));
    // A dialer's token reads no receipts.
    let (status, _) = app
        .get(
            &format!("/v1/consent-events/{}/receipt", given.id.0),
            "decide",
        )
        .await;
    assert_eq!(status, 403);
}

#[test]
fn referential_integrity_passes_on_our_record_and_flags_the_vendored_example() {
    use consento_domain::receipt::{ControllerFacts, EventFacts, dpv_record};
    let facts = EventFacts {
        event_id: consento_domain::EventId(uuid::Uuid::from_u128(1)),
        contact_id: consento_domain::ContactId(uuid::Uuid::from_u128(2)),
        type_code: "NEWS".into(),
        type_title: "Newsletter".into(),
        type_description: None,
        permissions: Permissions::default(),
        kind: EventKind::Given,
        event_time: Timestamp::from_micros(0),
        recorded_at: Timestamp::from_micros(0),
        method: CollectionMethod::Form,
        validity_days: None,
        notice: None,
    };
    let record = dpv_record(
        &facts,
        &ControllerFacts::default(),
        Timestamp::from_micros(0),
    );
    assert_eq!(undeclared_entities(&record), Vec::<String>::new());
    // No empty fields: a type without a description has none in the record.
    assert!(!record.to_string().contains("null"), "{record}");
    // SEP-01b's creator and controller name `company:SignatuAS`; it declares `company:Signatu`.
    assert_eq!(undeclared_entities(&sep01b()), vec!["company:SignatuAS"]);
    // And the check does look: a record naming an undeclared processor is flagged.
    let mut broken = record.clone();
    broken["dpv:hasProcess"][0]["dpv:hasDataProcessor"] = json!(["consento:nobody"]);
    assert_eq!(undeclared_entities(&broken), vec!["consento:nobody"]);
}

async fn jwks(app: &TestApp) -> Value {
    // Public: no token.
    let response = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/jwk-set+json"
    );
    response.json().await.unwrap()
}

/// Verifies `jws` with the jsonwebtoken crate and the key set as served, and returns the claims.
fn independently_verified(jws: &str, set: &Value) -> Value {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
    let set: JwkSet = serde_json::from_value(set.clone()).unwrap();
    let header = decode_header(jws).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    decode::<Value>(jws, &key, &validation).unwrap().claims
}

#[tokio::test]
async fn an_independent_jws_library_verifies_a_receipt_with_the_key_set_served_over_http() {
    let app = spawn_app().await;
    let (_, given, _) = seed(&app).await;
    let body = receipt(&app, &given).await;
    let set = jwks(&app).await;
    let key = &set["keys"][0];
    assert_eq!(
        (&key["kty"], &key["crv"], &key["alg"]),
        (&json!("OKP"), &json!("Ed25519"), &json!("EdDSA"))
    );
    let claims = independently_verified(body["jws"].as_str().unwrap(), &set);
    // The payload is the receipt's claims with the record beside them.
    let mut expected = body["receipt"].clone();
    expected[RECORD_CLAIM] = body["record"].clone();
    assert_eq!(claims, expected);
    // The JWS alone, as application/jose, is the same signature.
    let response = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/consent-events/{}/receipt?format=jws", given.id.0),
            "read",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/jose");
    assert_eq!(
        response.text().await.unwrap(),
        body["jws"].as_str().unwrap()
    );
}

#[tokio::test]
async fn changing_any_character_of_the_jws_makes_it_fail_to_verify() {
    let app = spawn_app().await;
    let (_, given, _) = seed(&app).await;
    let body = receipt(&app, &given).await;
    let jws = body["jws"].as_str().unwrap();
    let keys = app.store.receipt_verifying_keys().await.unwrap();
    assert!(verify(jws, &keys).is_ok());
    let mut tried = 0;
    for i in 0..jws.len() {
        // Neighbours in the base64url alphabet (the last character of a part differs from
        // its neighbour only in padding bits), a separator, padding and a stray byte.
        for replacement in [b'A', b'B', b'Q', b'g', b'w', b'_', b'-', b'.', b'=', b' '] {
            let mut bytes = jws.as_bytes().to_vec();
            if bytes[i] == replacement {
                continue;
            }
            bytes[i] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            // Whitespace at the ends is not part of a JWS someone pasted; inside it is.
            if changed.trim() != changed {
                continue;
            }
            assert!(
                verify(&changed, &keys).is_err(),
                "position {i} changed to {} still verifies",
                replacement as char
            );
            tried += 1;
        }
    }
    assert!(tried > jws.len() * 8, "{tried}");
    // Cut short, or lengthened, it fails too.
    assert!(verify(&jws[..jws.len() - 1], &keys).is_err());
    assert!(verify(&format!("{jws}A"), &keys).is_err());
    // Another installation's key set does not verify it.
    let other = spawn_app().await;
    other.store.receipt_signing_key().await.unwrap();
    let foreign = other.store.receipt_verifying_keys().await.unwrap();
    assert!(verify(jws, &foreign).is_err());
}

#[tokio::test]
async fn after_a_key_rotation_old_receipts_still_verify_and_new_ones_carry_the_new_kid() {
    // On SQLite, and on PostgreSQL when the tests have one.
    for postgres in [false, true] {
        if let Some(app) = spawn_app_with(postgres, |_| {}).await {
            rotation(app).await;
        }
    }
}

async fn rotation(app: TestApp) {
    let (_, given, withdrawn) = seed(&app).await;
    let old = receipt(&app, &given).await;
    let old_jws = old["jws"].as_str().unwrap().to_owned();
    let old_kid = jsonwebtoken::decode_header(&old_jws).unwrap().kid.unwrap();

    let out = app.db.ok(&["receipts", "rotate-key"]);
    assert!(out.contains("now signs new receipts"), "{out}");
    let new = receipt(&app, &withdrawn).await;
    let new_kid = jsonwebtoken::decode_header(new["jws"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert_ne!(new_kid, old_kid);
    assert!(out.contains(&new_kid), "{out}");
    // Both keys are published, and both receipts verify, independently and by the CLI.
    let set = jwks(&app).await;
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()]);
    independently_verified(&old_jws, &set);
    independently_verified(new["jws"].as_str().unwrap(), &set);
    let keys = app.store.receipt_verifying_keys().await.unwrap();
    assert_eq!(verify(&old_jws, &keys).unwrap().kid, old_kid);

    let listed = app.db.ok(&["receipts", "keys"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(lines[1].starts_with(&new_kid) && lines[1].trim_end().ends_with('-'));
    assert!(lines[2].starts_with(&old_kid) && !lines[2].trim_end().ends_with('-'));

    // The CLI verifies the JSON as served, and the JWS alone.
    let json_file = app.db.dir.join("receipt.json");
    std::fs::write(&json_file, old.to_string()).unwrap();
    let out = app
        .db
        .ok(&["receipts", "verify", json_file.to_str().unwrap()]);
    assert!(
        out.contains(&format!("signed by key {old_kid}")) && out.contains(&given.id.0.to_string()),
        "{out}"
    );
    let jws_file = app.db.dir.join("receipt.jws");
    std::fs::write(&jws_file, format!("{old_jws}\n")).unwrap();
    app.db
        .ok(&["receipts", "verify", jws_file.to_str().unwrap()]);
    // A receipt whose JSON was edited next to its intact signature is refused, in one line.
    let mut edited = old.clone();
    edited["receipt"]["consentTimestamp"] = json!(0);
    std::fs::write(&json_file, edited.to_string()).unwrap();
    let (code, err) = app
        .db
        .fails(&["receipts", "verify", json_file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: receipt does not verify"), "{err}");
    // And so is a tampered JWS.
    let mut tampered = old_jws.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    std::fs::write(&jws_file, tampered).unwrap();
    let (code, err) = app
        .db
        .fails(&["receipts", "verify", jws_file.to_str().unwrap()]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(verify_document(&edited.to_string(), &keys).is_err());
}

#[tokio::test]
async fn the_card_history_offers_each_events_receipt_to_whoever_sees_the_history() {
    let app = spawn_app().await;
    let (contact_id, given, _) = seed(&app).await;
    let console = app.console_as("auditor").await;
    let card = console.get(&format!("/contacts/{contact_id}")).await;
    assert_eq!(card.status, 200);
    let link = format!("/contacts/{contact_id}/receipts/{}", given.id.0);
    assert!(card.body.contains(&link), "no receipt link");
    assert!(card.body.contains("class=\"receipt\""));
    let download = console.get(&link).await;
    assert_eq!(download.status, 200);
    let body: Value = serde_json::from_str(&download.body).unwrap();
    let keys = app.store.receipt_verifying_keys().await.unwrap();
    verify_document(&body.to_string(), &keys).unwrap();
    // The event must belong to the contact the address names.
    let other = app
        .store
        .create_contact(ContactInput {
            external_id: Some("other".into()),
            ..ContactInput::default()
        })
        .await
        .unwrap();
    let page = console
        .get(&format!("/contacts/{}/receipts/{}", other.id.0, given.id.0))
        .await;
    assert_eq!(page.status, 404);
    // Taking a receipt is audited, by the event's id.
    let trail = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(trail.iter().any(|e| e.action == "consent.receipt"
        && e.target_id.as_deref() == Some(given.id.0.to_string().as_str())));
}

/// Kantara CR v1.1 requires `piiController`; GDPR Art. 13(1)(a) that it name someone: a receipt
/// issued before the controller is named names a placeholder in its JSON and in what the JWS
/// signs, and the first receipt after it is named names it.
#[tokio::test]
async fn a_receipt_never_names_an_empty_controller() {
    let app = spawn_app().await;
    let (_, given, _) = seed(&app).await;
    let signed_name = |body: &Value| {
        let payload = body["jws"].as_str().unwrap().split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap();
        claims["piiControllers"][0]["piiController"].clone()
    };
    let body = receipt(&app, &given).await;
    let unnamed = consento_app::controller::UNNAMED_IT;
    assert_eq!(
        body["receipt"]["piiControllers"][0]["piiController"],
        unnamed
    );
    assert_eq!(signed_name(&body), unnamed);
    assert_eq!(
        body["record"]["dpv:hasEntity"]["consento:controller"]["dpv:hasName"],
        unnamed
    );
    app.store
        .set_controller_details(consento_domain::ControllerDetails {
            name: Some("Esempio S.r.l.".into()),
            email: Some("privacy@esempio.it".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let body = receipt(&app, &given).await;
    let c = &body["receipt"]["piiControllers"][0];
    assert_eq!(c["piiController"], "Esempio S.r.l.");
    assert_eq!(c["email"], "privacy@esempio.it");
    assert_eq!(c["contact"], "privacy@esempio.it");
    assert_eq!(signed_name(&body), "Esempio S.r.l.");
}
