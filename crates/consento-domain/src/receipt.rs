//! Consent receipts: what a person (or an auditor) is given as proof of one ledger event, in two
//! standard shapes built from the same facts.
//!
//! - The Kantara Initiative Consent Receipt v1.1 (`version` "KI-CR-v1.1.0"): the controller,
//!   the person's pseudonymous id, the notice, the services and purposes consented to.
//! - An ISO/IEC TS 27560 consent record in the W3C Data Privacy Vocabulary (DPV 2.2), with the
//!   structure of the DPV-27560 JSON profile (its example record SEP-01b): the data subject, one
//!   process with its purpose, legal basis (`eu-gdpr:A6-1-a`, GDPR Art. 6(1)(a)), the rights
//!   that basis carries, the consent control used and the consent status with its notice.
//!
//! Pure: the facts come in as values (the store reads them, the configuration names the
//! controller), and the instant the record is made is passed in, never read from a clock.
//! Signing is the server's (`receipts.rs`, RFC 7515).
//!
//! No personal data: the person is named by the contact's UUID (pseudonymous, GDPR Art. 4(5)),
//! never by an address; evidence is left out (it may hold personal data and is erasable).

use serde::{Deserialize, Serialize};

use crate::{CollectionMethod, ContactId, EventId, EventKind, Permissions, Timestamp};

/// The Kantara receipt version this module writes.
pub const KANTARA_VERSION: &str = "KI-CR-v1.1.0";

/// The DPV-27560 profile the record conforms to (as SEP-01b names it).
pub const DPV_PROFILE: &str = "dpv-27560:record-2";

/// The id of the controller inside the record's `dpv:hasEntity` map: what `dct:creator` and
/// `dpv:hasDataController` refer to.
pub const CONTROLLER_ENTITY: &str = "consento:controller";

/// The data controller, as the application names it (GDPR Art. 13(1)(a)): the configuration's
/// `[controller]` details over those given on the first run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControllerFacts {
    /// The controller's name.
    pub name: String,
    /// How to reach the controller (the configuration's free `contact` text).
    pub contact: String,
    /// Its postal address, if configured.
    pub address: Option<String>,
    /// Its email address for privacy matters, if configured.
    pub email: Option<String>,
    /// Its phone number, if configured.
    pub phone: Option<String>,
    /// Its web site, if configured.
    pub url: Option<String>,
    /// The jurisdiction whose law governs the processing (e.g. `IT`).
    pub jurisdiction: String,
    /// The recipients or categories of recipients (Art. 13(1)(e)): a disclosure to third parties.
    pub recipients: Vec<String>,
}

/// The privacy notice shown with the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeFacts {
    /// Its version label.
    pub version: String,
    /// Its language.
    pub language: String,
    /// Where it is published, if online.
    pub url: Option<String>,
}

/// One ledger event with what its receipt says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    /// The event's id (the receipt's id: one event, one receipt).
    pub event_id: EventId,
    /// The person, by our pseudonymous id.
    pub contact_id: ContactId,
    /// The consent type's code.
    pub type_code: String,
    /// The consent type's title.
    pub type_title: String,
    /// The consent type's description, if any.
    pub type_description: Option<String>,
    /// What the consent permits.
    pub permissions: Permissions,
    /// What happened.
    pub kind: EventKind,
    /// When it happened.
    pub event_time: Timestamp,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// How it was collected.
    pub method: CollectionMethod,
    /// The validity in force when it was recorded.
    pub validity_days: Option<u32>,
    /// The notice shown, if any.
    pub notice: Option<NoticeFacts>,
}

/// A Kantara Consent Receipt v1.1 (field names as the specification spells them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KantaraReceipt {
    /// Always [`KANTARA_VERSION`].
    pub version: String,
    /// The jurisdiction of the controller.
    pub jurisdiction: String,
    /// When the consent event happened, in seconds since the epoch.
    pub consent_timestamp: i64,
    /// How consent was collected, in words.
    pub collection_method: String,
    /// The receipt's id: the ledger event's UUID.
    #[serde(rename = "consentReceiptID")]
    pub consent_receipt_id: String,
    /// The language of the receipt's words (the notice's, else English).
    pub language: String,
    /// The person, by our pseudonymous id (never an address).
    pub pii_principal_id: String,
    /// The controller.
    pub pii_controllers: Vec<PiiController>,
    /// The privacy notice's address, when the notice shown is published online.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy_url: Option<String>,
    /// The service (the consent type) and its purposes.
    pub services: Vec<Service>,
    /// Whether sensitive personal information is involved: never for a contact consent.
    pub sensitive: bool,
    /// The special categories involved (GDPR Art. 9): none.
    pub spi_cat: Vec<String>,
}

/// A controller of a Kantara receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PiiController {
    /// The controller's name.
    pub pii_controller: String,
    /// How to reach it.
    pub contact: String,
    /// Postal address.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address: Option<String>,
    /// Email.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phone: Option<String>,
    /// Web site.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pii_controller_url: Option<String>,
}

/// A service of a Kantara receipt: one consent type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// The consent type's title.
    pub service: String,
    /// Its purposes (one: the type's).
    pub purposes: Vec<Purpose>,
}

/// A purpose of a Kantara receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Purpose {
    /// The purpose in words: the type's description, else its title.
    pub purpose: String,
    /// Its categories.
    pub purpose_category: Vec<String>,
    /// `EXPLICIT`: every consent in the ledger was expressed by an action of the person.
    pub consent_type: String,
    /// The categories of personal data the consent lets the controller use.
    pub pii_category: Vec<String>,
    /// Whether the purpose is the core of the service: a contact consent never is.
    pub primary_purpose: bool,
    /// When and how the consent ends.
    pub termination: String,
    /// Whether the data is disclosed to third parties (configured recipients).
    pub third_party_disclosure: bool,
    /// Who they are.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub third_party_name: Option<String>,
}

/// The words for a collection method in a receipt.
pub fn method_words(method: CollectionMethod) -> &'static str {
    match method {
        CollectionMethod::Form => "web form",
        CollectionMethod::Paper => "signed paper form",
        CollectionMethod::Phone => "recorded phone call",
        CollectionMethod::Email => "email from the person",
        CollectionMethod::InPerson => "in person, to an operator",
        CollectionMethod::Operator => "entered by an operator",
        CollectionMethod::Import => "imported from another system",
        CollectionMethod::Api => "integration through the API",
        CollectionMethod::PreferenceCenter => "preference center",
        CollectionMethod::DoubleOptIn => "double opt-in confirmation",
        CollectionMethod::OneClickUnsubscribe => "one-click unsubscribe (RFC 8058)",
        CollectionMethod::System => "recorded by the controller's system",
        CollectionMethod::Rpo => "revoked: the number was found in the Italian opt-out register",
    }
}

/// When the consent of `event` ends, in words (GDPR Art. 7(3): it may be withdrawn at any time).
fn termination(event: &EventFacts) -> String {
    let ends = match event.kind {
        EventKind::Given | EventKind::Renewed => match event.validity_days {
            Some(days) => format!(
                "expires {} ({days} days after it was given) unless renewed",
                event.event_time.plus_days(days).to_rfc3339()
            ),
            None => "in force until withdrawn".to_owned(),
        },
        EventKind::Withdrawn => "withdrawn by the person at the consent timestamp".to_owned(),
        EventKind::Refused => "refused by the person at the consent timestamp".to_owned(),
        EventKind::Revoked => "revoked by the controller at the consent timestamp".to_owned(),
    };
    format!("{ends}; may be withdrawn at any time, as easily as it was given (GDPR Art. 7(3))")
}

/// The categories of personal data a consent with `permissions` lets the controller use.
fn pii_categories(permissions: Permissions) -> Vec<String> {
    let mut out = Vec::new();
    if permissions.email_bulk || permissions.email_single {
        out.push("contact details: email address".to_owned());
    }
    if permissions.phone_call || permissions.sms_single || permissions.sms_bulk {
        out.push("contact details: phone number".to_owned());
    }
    if out.is_empty() {
        out.push("contact details".to_owned());
    }
    out
}

/// Seconds since the epoch of `t` (rounded down, so a receipt never dates an event later than
/// it happened).
pub fn epoch_seconds(t: Timestamp) -> i64 {
    t.as_micros().div_euclid(1_000_000)
}

/// Builds the Kantara Consent Receipt v1.1 of `event`.
pub fn kantara(event: &EventFacts, controller: &ControllerFacts) -> KantaraReceipt {
    let recipients = controller.recipients.join("; ");
    KantaraReceipt {
        version: KANTARA_VERSION.to_owned(),
        jurisdiction: controller.jurisdiction.clone(),
        consent_timestamp: epoch_seconds(event.event_time),
        collection_method: method_words(event.method).to_owned(),
        consent_receipt_id: event.event_id.0.to_string(),
        language: language(event),
        pii_principal_id: event.contact_id.0.to_string(),
        pii_controllers: vec![PiiController {
            pii_controller: controller.name.clone(),
            contact: controller.contact.clone(),
            address: controller.address.clone(),
            email: controller.email.clone(),
            phone: controller.phone.clone(),
            pii_controller_url: controller.url.clone(),
        }],
        policy_url: event.notice.as_ref().and_then(|n| n.url.clone()),
        services: vec![Service {
            service: event.type_title.clone(),
            purposes: vec![Purpose {
                purpose: event
                    .type_description
                    .clone()
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(|| event.type_title.clone()),
                // The consents Consento keeps are consents to be contacted (Codice Privacy
                // art. 130): direct marketing in the Kantara categories.
                purpose_category: vec!["Marketing".to_owned()],
                consent_type: "EXPLICIT".to_owned(),
                pii_category: pii_categories(event.permissions),
                primary_purpose: false,
                termination: termination(event),
                third_party_disclosure: !controller.recipients.is_empty(),
                third_party_name: (!recipients.is_empty()).then_some(recipients),
            }],
        }],
        sensitive: false,
        spi_cat: Vec::new(),
    }
}

fn language(event: &EventFacts) -> String {
    event
        .notice
        .as_ref()
        .map(|n| n.language.clone())
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| "en".to_owned())
}

/// The DPV consent status of an event kind (dpv-2.2 consent_status).
pub fn dpv_status(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Given => "dpv:ConsentGiven",
        EventKind::Renewed => "dpv:RenewedConsentGiven",
        EventKind::Refused => "dpv:ConsentRefused",
        EventKind::Withdrawn => "dpv:ConsentWithdrawn",
        // Revoked: by the controller (a Registro delle opposizioni enrolment, proof found
        // invalid), not by the person; DPV's term for consent revoked by another party.
        EventKind::Revoked => "dpv:ConsentRevoked",
    }
}

/// The DPV consent control the person used for an event (dpv-2.2 consent_controls); none for a
/// revocation, which is the controller's act.
pub fn dpv_control(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::Given => Some("dpv:ProvideConsent"),
        EventKind::Renewed => Some("dpv:ReaffirmConsent"),
        EventKind::Refused => Some("dpv:RefuseConsent"),
        EventKind::Withdrawn => Some("dpv:WithdrawConsent"),
        EventKind::Revoked => None,
    }
}

/// The legal basis of every consent in the ledger: GDPR Art. 6(1)(a) (eu-gdpr 2.2 legal_basis).
pub const DPV_LEGAL_BASIS: &str = "eu-gdpr:A6-1-a";

/// The rights the person holds under a consent basis, as the eu-gdpr legal-basis/rights mapping
/// lists them for A6-1-a: withdrawal (Art. 7(3)), information (Art. 13), access, rectification,
/// erasure, restriction (Arts. 15-18), portability (Art. 20), complaint (Art. 77).
pub const DPV_RIGHTS: &[&str] = &[
    "eu-gdpr:A7-3",
    "eu-gdpr:A13",
    "eu-gdpr:A15",
    "eu-gdpr:A16",
    "eu-gdpr:A17",
    "eu-gdpr:A18",
    "eu-gdpr:A20",
    "eu-gdpr:A77",
];

/// Builds the ISO/IEC TS 27560 consent record of `event` in DPV terms, shaped like the
/// DPV-27560 profile's example SEP-01b. `at` is when the record is made: a given or renewed
/// consent whose validity ran out before it also carries `dpv:ConsentExpired` at its expiry.
pub fn dpv_record(
    event: &EventFacts,
    controller: &ControllerFacts,
    at: Timestamp,
) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut types = vec![json!(dpv_status(event.kind)), json!("dpv:ExpressedConsent")];
    if event.notice.is_some() {
        // The person was shown a notice: informed consent (Art. 4(11), Art. 7(2)).
        types.push(json!("dpv:InformedConsent"));
    }
    let mut status = Map::new();
    status.insert("@type".into(), Value::Array(types));
    status.insert(
        "dpv:isIndicatedAtTime".into(),
        json!(event.event_time.to_rfc3339()),
    );
    if event.kind.grants()
        && let Some(days) = event.validity_days
    {
        status.insert(
            "dpv:hasDuration".into(),
            json!({ "@type": ["dpv:TemporalDuration"], "rdf:value": format!("P{days}D") }),
        );
    }
    if let Some(n) = &event.notice {
        let mut notice = Map::new();
        notice.insert("@type".into(), json!(["dpv:ConsentNotice"]));
        notice.insert("dpv:hasIdentifier".into(), json!(n.version));
        if let Some(url) = &n.url {
            notice.insert("dpv:hasLocation".into(), json!(url));
        }
        notice.insert("dct:language".into(), json!(n.language));
        status.insert("dpv:hasNotice".into(), Value::Object(notice));
    }
    let mut statuses = vec![Value::Object(status)];
    if let Some(expiry) =
        crate::consent::expiry_of(event.kind, event.event_time, event.validity_days)
        && expiry <= at
    {
        statuses.push(json!({
            "@type": ["dpv:ConsentExpired"],
            "dpv:isIndicatedAtTime": expiry.to_rfc3339(),
        }));
    }
    let mut process = Map::new();
    process.insert("@type".into(), json!("dpv:Process"));
    let mut purpose = Map::new();
    // Contact consents are consents to direct marketing (Codice Privacy art. 130).
    purpose.insert("@type".into(), json!(["dpv:Marketing"]));
    purpose.insert("dpv:hasIdentifier".into(), json!(event.type_code));
    purpose.insert("dct:title".into(), json!(event.type_title));
    if let Some(d) = event
        .type_description
        .as_ref()
        .filter(|d| !d.trim().is_empty())
    {
        purpose.insert("dct:description".into(), json!(d));
    }
    process.insert(
        "dpv:hasPurpose".into(),
        Value::Array(vec![Value::Object(purpose)]),
    );
    process.insert("dpv:hasDataController".into(), json!([CONTROLLER_ENTITY]));
    process.insert(
        "dpv:hasLegalBasis".into(),
        json!(["dpv:ExpressedConsent", DPV_LEGAL_BASIS]),
    );
    process.insert("dpv:hasRight".into(), json!(DPV_RIGHTS));
    if let Some(control) = dpv_control(event.kind) {
        process.insert(
            "dpv:hasConsentControl".into(),
            json!({ "@type": [control] }),
        );
    }
    process.insert("dpv:hasConsentStatus".into(), Value::Array(statuses));
    let mut contact = Map::new();
    for (key, value) in [
        ("schema:email", &controller.email),
        ("schema:telephone", &controller.phone),
        ("schema:url", &controller.url),
    ] {
        if let Some(v) = value {
            contact.insert(key.into(), json!(v));
        }
    }
    if !controller.contact.is_empty() {
        contact.insert("schema:description".into(), json!(controller.contact));
    }
    let mut entity = Map::new();
    entity.insert(
        "@type".into(),
        json!(["dpv:Organisation", "dpv:DataController"]),
    );
    entity.insert("dpv:hasName".into(), json!(controller.name));
    if let Some(address) = &controller.address {
        entity.insert("dpv:hasAddress".into(), json!(address));
    }
    entity.insert("dpv:hasContact".into(), Value::Object(contact));
    json!({
        "dct:conformsTo": DPV_PROFILE,
        "dpv:hasIdentifier": event.event_id.0.to_string(),
        "dpv:hasDataSubject": {
            "@type": ["dpv:DataSubject"],
            "dpv:hasIdentifier": event.contact_id.0.to_string(),
        },
        "dct:created": event.recorded_at.to_rfc3339(),
        "dct:creator": CONTROLLER_ENTITY,
        "dct:language": language(event),
        "dpv:hasProcess": [Value::Object(process)],
        "dpv:hasEntity": { CONTROLLER_ENTITY: Value::Object(entity) },
    })
}

/// Keys whose values name entities of `dpv:hasEntity` (a string, or a list of strings).
const ENTITY_REFERENCES: &[&str] = &[
    "dct:creator",
    "dpv:hasDataController",
    "dpv:hasDataProcessor",
    "dpv:hasRecipient",
    "dpv:hasJointDataControllers",
];

/// The entity references of a DPV record that `dpv:hasEntity` does not declare (referential
/// integrity): empty when every one is declared. Walks the whole record, nested processes
/// included.
pub fn undeclared_entities(record: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let declared: Vec<&str> = record
        .get("dpv:hasEntity")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut missing = Vec::new();
    let mut stack = vec![record];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    if ENTITY_REFERENCES.contains(&key.as_str()) {
                        let names: Vec<&Value> = match v {
                            Value::Array(items) => items.iter().collect(),
                            other => vec![other],
                        };
                        for name in names.into_iter().filter_map(Value::as_str) {
                            if !declared.contains(&name) && !missing.iter().any(|m| m == name) {
                                missing.push(name.to_owned());
                            }
                        }
                    } else {
                        stack.push(v);
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    missing
}
