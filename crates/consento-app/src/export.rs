//! A person's data export, the answer to the right of access (GDPR Art. 15) and to portability
//! (Art. 20): everything Consento holds about them, with the information Art. 15(1) owes them
//! (purposes, categories, recipients, retention, source, their rights, where to complain), as one
//! JSON document that the shipped JSON Schema (`consento-server/schemas/export.schema.json`)
//! describes, or as a zip of one RFC 4180 CSV file per table ("in a structured, commonly used
//! and machine-readable format", Art. 20(1)). The API and the console both make it with
//! [`export`]; answering it over HTTP is theirs.

use std::io::Write;

use consento_domain::spreadsheet::spreadsheet_safe;
use consento_domain::{ContactId, Timestamp};
use consento_store::{ContactExport, ContactRef, StoreError};
use serde::Serialize;

use crate::controller::NamedController;
use crate::{App, AppError, Policy};

/// The version of the export document; it changes when a field changes meaning or goes away.
pub const VERSION: u32 = 1;

/// The form of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// One JSON document.
    #[default]
    Json,
    /// A zip of one CSV file per table.
    Csv,
}

impl ExportFormat {
    /// Its code, as the audit trail records it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the data failed, or there is no such contact.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The contact was erased (Art. 17): nothing personal is left to give.
    #[error("the contact was erased")]
    Erased,
    /// Writing the document failed.
    #[error("export: {0}")]
    Write(String),
}

impl From<ExportError> for AppError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Store(e) => Self::Store(e),
            ExportError::Erased => Self::Store(StoreError::Conflict {
                field: "contact",
                message: "the contact was erased: no personal data is left to export".to_owned(),
            }),
            ExportError::Write(e) => Self::Internal(e),
        }
    }
}

/// A finished export, ready to download (served as an attachment, never cached: a person's
/// whole record, RFC 9111 §5.2.2.5).
#[derive(Debug)]
pub struct Download {
    /// The file name offered.
    pub filename: String,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: Vec<u8>,
}

/// Gathers a contact's data and writes it in `format`. An erased contact is refused: what is
/// left of it (pseudonymous consent proof) is no longer data about an identifiable person.
pub async fn export(
    app: &App,
    id: ContactId,
    format: ExportFormat,
) -> Result<Download, ExportError> {
    let store = &app.store;
    let data = store.export_contact(&ContactRef::Id(id)).await?;
    if data.contact.erased_at.is_some() {
        return Err(ExportError::Erased);
    }
    let controller = NamedController::merge(&app.policy, store.controller_details().await?);
    let doc = Document::new(&data, &app.policy, &controller, store.now());
    match format {
        ExportFormat::Json => Ok(Download {
            filename: format!("consento-export-{id}.json"),
            content_type: "application/json",
            body: serde_json::to_vec(&doc).map_err(|e| ExportError::Write(e.to_string()))?,
        }),
        ExportFormat::Csv => Ok(Download {
            filename: format!("consento-export-{id}.zip"),
            content_type: "application/zip",
            body: doc.to_csv_zip()?,
        }),
    }
}

/// Text in Italian and English, for what the export explains in words.
#[derive(Debug, Serialize)]
pub struct Words {
    /// Italian.
    pub it: &'static str,
    /// English.
    pub en: &'static str,
}

/// The export document.
#[derive(Debug, Serialize)]
pub struct Document {
    /// Always `consento-contact-export`.
    pub format: &'static str,
    /// [`VERSION`].
    pub version: u32,
    /// When it was made.
    pub generated_at: Timestamp,
    /// Who holds the data (Art. 13(1)(a)–(b)).
    pub controller: Controller,
    /// What Art. 15(1)(a)–(h) owes the person beyond the data itself.
    pub information: Information,
    /// The person's data.
    pub contact: ContactDoc,
    /// Each consent type's current state for the person.
    pub consents: Vec<ConsentRow>,
    /// Every consent event with its proof.
    pub consent_events: Vec<EventRow>,
    /// The justified contacts.
    pub interactions: Vec<InteractionRow>,
    /// The forms of communication switched off and back on.
    pub channel_events: Vec<ChannelRow>,
    /// The person's data-subject requests (Art. 12–22) and how each was answered.
    pub requests: Vec<RequestRow>,
}

/// The controller.
#[derive(Debug, Serialize)]
pub struct Controller {
    /// Its name: never empty (until the controller is named, the fallback of
    /// [`crate::controller`]).
    pub name: String,
    /// How to reach it.
    pub contact: String,
    /// How to reach its data protection officer.
    pub dpo_contact: Option<String>,
    /// The IANA time zone it operates in (`Europe/Rome`): the instants of this document are UTC,
    /// the dates its people read and typed were local to this zone.
    pub time_zone: String,
    /// Its postal address, when known.
    pub address: Option<String>,
    /// Its email address for privacy matters, when known.
    pub email: Option<String>,
    /// Where its privacy notice is published, when known.
    pub privacy_notice_url: Option<String>,
}

/// The information of Art. 15(1).
#[derive(Debug, Serialize)]
pub struct Information {
    /// The purposes of processing (Art. 15(1)(a)).
    pub purposes: Vec<String>,
    /// The legal basis (Art. 6(1)), as a code.
    pub legal_basis: Option<&'static str>,
    /// The categories of data held (Art. 15(1)(b)).
    pub categories: Vec<Category>,
    /// The recipients (Art. 15(1)(c)).
    pub recipients: Vec<String>,
    /// How long the data is kept (Art. 15(1)(d)).
    pub retention: String,
    /// Where the data came from (Art. 15(1)(g)).
    pub source: Option<String>,
    /// The person's rights (Art. 15(1)(e), Art. 22(3)).
    pub rights: Vec<Right>,
    /// Where to complain (Art. 15(1)(f), Art. 77).
    pub complaint: Complaint,
}

/// A category of data held.
#[derive(Debug, Serialize)]
pub struct Category {
    /// Its code.
    pub code: &'static str,
    /// What it is.
    pub description: Words,
}

/// A right of the person.
#[derive(Debug, Serialize)]
pub struct Right {
    /// Its code.
    pub code: &'static str,
    /// The GDPR article granting it.
    pub article: &'static str,
    /// What it lets the person do.
    pub description: Words,
}

/// The supervisory authority.
#[derive(Debug, Serialize)]
pub struct Complaint {
    /// Its name.
    pub authority: String,
    /// Its postal address.
    pub address: String,
    /// Its web page.
    pub url: String,
}

/// The contact with every field.
#[derive(Debug, Serialize)]
pub struct ContactDoc {
    /// Our id.
    pub id: uuid::Uuid,
    /// The CRM's id.
    pub external_id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Email addresses, the primary first.
    pub emails: Vec<String>,
    /// Phone numbers (E.164), the primary first.
    pub phones: Vec<String>,
    /// Free attributes from the CRM.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Where the data came from.
    pub source: Option<String>,
    /// The legal basis code.
    pub legal_basis: Option<&'static str>,
    /// The purposes.
    pub purposes: Vec<String>,
    /// Since when processing is restricted (Art. 18).
    pub restricted_at: Option<Timestamp>,
    /// Since when the person objects to direct marketing (Art. 21).
    pub objected_at: Option<Timestamp>,
    /// Since when email is switched off.
    pub email_off_at: Option<Timestamp>,
    /// Since when phone calls are switched off.
    pub phone_off_at: Option<Timestamp>,
    /// Since when text messages are switched off.
    pub sms_off_at: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// The contact as one CSV line: lists joined by `; `, attributes as JSON text.
#[derive(Debug, Serialize)]
struct ContactRow<'a> {
    id: uuid::Uuid,
    external_id: &'a Option<String>,
    name: &'a Option<String>,
    emails: String,
    phones: String,
    attributes: String,
    source: &'a Option<String>,
    legal_basis: Option<&'static str>,
    purposes: String,
    restricted_at: Option<Timestamp>,
    objected_at: Option<Timestamp>,
    email_off_at: Option<Timestamp>,
    phone_off_at: Option<Timestamp>,
    sms_off_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// A consent type's current state for the person.
#[derive(Debug, Serialize)]
pub struct ConsentRow {
    /// The type's code.
    pub code: String,
    /// Its title.
    pub title: String,
    /// The latest event's kind, if any.
    pub kind: Option<&'static str>,
    /// When the latest event happened.
    pub event_time: Option<Timestamp>,
    /// When a given consent expires.
    pub expires_at: Option<Timestamp>,
    /// Whether a decision may rely on it now: valid, and its contact not erased, restricted or
    /// objecting.
    pub valid: bool,
    /// Why it is not in force although given and not expired: `erased`, `restricted`,
    /// `objected`.
    pub suspended_by: Option<&'static str>,
    /// It permits newsletters.
    pub email_bulk: bool,
    /// It permits single emails.
    pub email_single: bool,
    /// It permits calls.
    pub phone_call: bool,
    /// It permits single text messages.
    pub sms_single: bool,
    /// It permits mass text messages.
    pub sms_bulk: bool,
}

/// A consent event with its proof.
#[derive(Debug, Serialize)]
pub struct EventRow {
    /// Position in the ledger.
    pub seq: i64,
    /// Its id.
    pub id: uuid::Uuid,
    /// The consent type's code.
    pub type_code: String,
    /// given, refused, withdrawn, renewed, revoked.
    pub kind: &'static str,
    /// When it happened.
    pub event_time: Timestamp,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// How it was collected.
    pub method: &'static str,
    /// Who recorded it: kind.
    pub actor_kind: &'static str,
    /// Who recorded it: identifier.
    pub actor_id: String,
    /// The privacy notice version shown.
    pub notice_version: Option<String>,
    /// The validity in force, in days.
    pub validity_days: Option<u32>,
    /// When it expires.
    pub expires_at: Option<Timestamp>,
    /// The evidence.
    pub evidence: Option<String>,
    /// The event's hash in the ledger (hex SHA-256).
    pub hash: String,
}

/// A justified contact.
#[derive(Debug, Serialize)]
pub struct InteractionRow {
    /// Its id.
    pub id: uuid::Uuid,
    /// The channel (action).
    pub action: &'static str,
    /// Why a reason was needed.
    pub cause: Option<String>,
    /// The reason given.
    pub reason: Option<String>,
    /// The operator's note.
    pub note: Option<String>,
    /// The operator.
    pub operator: String,
    /// When.
    pub occurred_at: Timestamp,
}

/// A channel switched off or back on.
#[derive(Debug, Serialize)]
pub struct ChannelRow {
    /// email, phone, sms.
    pub channel: &'static str,
    /// Off (true) or back on.
    pub switched_off: bool,
    /// When.
    pub at: Timestamp,
    /// How it was collected.
    pub method: &'static str,
    /// Who recorded it: kind.
    pub actor_kind: &'static str,
    /// Who recorded it: identifier.
    pub actor_id: String,
    /// The evidence.
    pub evidence: Option<String>,
}

/// One data-subject request.
#[derive(Debug, Serialize)]
pub struct RequestRow {
    /// Its id.
    pub id: uuid::Uuid,
    /// The right exercised.
    pub kind: &'static str,
    /// Where it stands.
    pub status: &'static str,
    /// How it arrived.
    pub channel: &'static str,
    /// What the person asked.
    pub description: String,
    /// When it arrived.
    pub received_at: Timestamp,
    /// The Art. 12(3) deadline, `YYYY-MM-DD`.
    pub due_on: String,
    /// The extended deadline, if extended.
    pub extended_due_on: Option<String>,
    /// Why it was extended.
    pub extension_reason: Option<String>,
    /// When it was completed or refused.
    pub closed_at: Option<Timestamp>,
    /// What was done.
    pub outcome: Option<String>,
    /// Why it was refused.
    pub rejection_reason: Option<String>,
    /// The remedies the person was told about (Art. 12(4)).
    pub remedies: Option<String>,
}

const RIGHTS: [(&str, &str, &str, &str); 7] = [
    (
        "access",
        "15",
        "Ottenere conferma del trattamento, copia dei dati e queste informazioni.",
        "Obtain confirmation of processing, a copy of the data and this information.",
    ),
    (
        "rectification",
        "16",
        "Ottenere la correzione dei dati inesatti e l'integrazione di quelli incompleti.",
        "Have inaccurate data corrected and incomplete data completed.",
    ),
    (
        "erasure",
        "17",
        "Ottenere la cancellazione dei dati, salvo gli obblighi di conservazione di legge.",
        "Have the data erased, save where the law requires keeping it.",
    ),
    (
        "restriction",
        "18",
        "Ottenere la limitazione del trattamento.",
        "Have processing restricted.",
    ),
    (
        "portability",
        "20",
        "Ricevere i dati forniti in un formato strutturato e leggibile da dispositivo automatico, e trasmetterli a un altro titolare.",
        "Receive the data provided in a structured, machine-readable format and pass it to another controller.",
    ),
    (
        "objection",
        "21",
        "Opporsi al trattamento, in qualsiasi momento e senza motivazione per il marketing diretto.",
        "Object to processing, at any time and without giving reasons for direct marketing.",
    ),
    (
        "human_review",
        "22",
        "Non essere sottoposto a una decisione basata unicamente su un trattamento automatizzato, e ottenere l'intervento umano.",
        "Not be subject to a decision based solely on automated processing, and obtain human intervention.",
    ),
];

impl Document {
    /// Builds the document from the data read, the controller as named now and what the
    /// configuration says of recipients, retention and complaints.
    pub fn new(
        data: &ContactExport,
        policy: &Policy,
        named: &NamedController,
        now: Timestamp,
    ) -> Self {
        let c = &data.contact;
        let controller = &policy.controller;
        // The declared purposes, then those of the consents the person was asked for.
        let mut purposes = c.purposes.clone();
        for consent in data.consents.iter().filter(|k| k.kind.is_some()) {
            if !purposes.contains(&consent.title) {
                purposes.push(consent.title.clone());
            }
        }
        Self {
            format: "consento-contact-export",
            version: VERSION,
            generated_at: now,
            controller: Controller {
                name: named.name.clone(),
                contact: named.contact.clone(),
                dpo_contact: named.details.dpo_contact.clone(),
                time_zone: policy.zone.name().to_owned(),
                address: named.details.address.clone(),
                email: named.details.email.clone(),
                privacy_notice_url: named.details.privacy_notice_url.clone(),
            },
            information: Information {
                purposes,
                legal_basis: c.legal_basis.map(|b| b.code()),
                categories: categories(data),
                recipients: controller.recipients.clone(),
                retention: controller.retention.clone(),
                source: c.source.clone(),
                rights: RIGHTS
                    .iter()
                    .map(|(code, article, it, en)| Right {
                        code,
                        article,
                        description: Words { it, en },
                    })
                    .collect(),
                complaint: Complaint {
                    authority: controller.complaint_authority.clone(),
                    address: controller.complaint_address.clone(),
                    url: controller.complaint_url.clone(),
                },
            },
            contact: ContactDoc {
                id: c.id.0,
                external_id: c.external_id.clone(),
                name: c.name.clone(),
                emails: c.emails.iter().map(|e| e.as_str().to_owned()).collect(),
                phones: c.phones.iter().map(|p| p.as_str().to_owned()).collect(),
                attributes: c.attributes.clone(),
                source: c.source.clone(),
                legal_basis: c.legal_basis.map(|b| b.code()),
                purposes: c.purposes.clone(),
                restricted_at: c.restricted_at,
                objected_at: c.objected_at,
                email_off_at: c.email_off_at,
                phone_off_at: c.phone_off_at,
                sms_off_at: c.sms_off_at,
                created_at: c.created_at,
                updated_at: c.updated_at,
            },
            consents: data
                .consents
                .iter()
                .map(|k| ConsentRow {
                    code: k.code.as_str().to_owned(),
                    title: k.title.clone(),
                    kind: k.kind.map(|v| v.code()),
                    event_time: k.event_time,
                    expires_at: k.expires_at,
                    valid: k.in_force(),
                    suspended_by: k.suspension_code(),
                    email_bulk: k.permissions.email_bulk,
                    email_single: k.permissions.email_single,
                    phone_call: k.permissions.phone_call,
                    sms_single: k.permissions.sms_single,
                    sms_bulk: k.permissions.sms_bulk,
                })
                .collect(),
            consent_events: data
                .consent_events
                .iter()
                .map(|e| EventRow {
                    seq: e.seq,
                    id: e.id.0,
                    type_code: e.type_code.clone(),
                    kind: e.kind.code(),
                    event_time: e.event_time,
                    recorded_at: e.recorded_at,
                    method: e.method.code(),
                    actor_kind: e.actor_kind.code(),
                    actor_id: e.actor_id.clone(),
                    notice_version: e.notice_version.clone(),
                    validity_days: e.validity_days,
                    expires_at: e.expires_at,
                    evidence: e.evidence.clone(),
                    hash: e.hash.clone(),
                })
                .collect(),
            interactions: data
                .interactions
                .iter()
                .map(|i| InteractionRow {
                    id: i.id,
                    action: i.action.code(),
                    cause: i.cause.clone(),
                    reason: i.reason_label.clone(),
                    note: i.note.clone(),
                    operator: i.operator.clone(),
                    occurred_at: i.occurred_at,
                })
                .collect(),
            channel_events: data
                .channel_events
                .iter()
                .map(|e| ChannelRow {
                    channel: e.channel.code(),
                    switched_off: e.switched_off,
                    at: e.at,
                    method: e.method.code(),
                    actor_kind: e.actor.kind.code(),
                    actor_id: e.actor.id.clone(),
                    evidence: e.evidence.clone(),
                })
                .collect(),
            requests: data
                .requests
                .iter()
                .map(|r| RequestRow {
                    id: r.id.0,
                    kind: r.kind.code(),
                    status: r.status.code(),
                    channel: r.channel.code(),
                    description: r.description.clone(),
                    received_at: r.received_at,
                    due_on: r.due_on.clone(),
                    extended_due_on: r.extended_due_on.clone(),
                    extension_reason: r.extension_reason.clone(),
                    closed_at: r.closed_at,
                    outcome: r.outcome.clone(),
                    rejection_reason: r.rejection_reason.clone(),
                    remedies: r.remedies.clone(),
                })
                .collect(),
        }
    }

    /// The tables as a zip of RFC 4180 CSV files (UTF-8, CRLF, a header row each; csv quotes
    /// any field holding a comma, a quote or a line break). A person opens these files in a
    /// spreadsheet, so every cell that starts like a formula is defused (OWASP, "CSV Injection";
    /// [`consento_domain::spreadsheet`]): a name such as `=HYPERLINK(…)` stays text. The values
    /// as stored, for a program (GDPR Art. 20, machine-readable), are the JSON form's; the zip
    /// has no raw form.
    pub fn to_csv_zip(&self) -> Result<Vec<u8>, ExportError> {
        let c = &self.contact;
        let contact = ContactRow {
            id: c.id,
            external_id: &c.external_id,
            name: &c.name,
            emails: c.emails.join("; "),
            phones: c.phones.join("; "),
            attributes: serde_json::to_string(&c.attributes)
                .map_err(|e| ExportError::Write(e.to_string()))?,
            source: &c.source,
            legal_basis: c.legal_basis,
            purposes: c.purposes.join("; "),
            restricted_at: c.restricted_at,
            objected_at: c.objected_at,
            email_off_at: c.email_off_at,
            phone_off_at: c.phone_off_at,
            sms_off_at: c.sms_off_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        };
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            // The fastest level: an export is made while someone waits for it, and CSV of
            // repeated codes and dates shrinks well at any level.
            .compression_level(Some(1));
        let fail = |e: &dyn std::fmt::Display| ExportError::Write(e.to_string());
        let mut add = |name: &str, table: Vec<u8>| -> Result<(), ExportError> {
            zip.start_file(name, options).map_err(|e| fail(&e))?;
            zip.write_all(&table).map_err(|e| fail(&e))
        };
        add(
            "contact.csv",
            csv_table(CONTACT_HEADER, std::slice::from_ref(&contact))?,
        )?;
        add("consents.csv", csv_table(CONSENTS_HEADER, &self.consents)?)?;
        add(
            "consent_events.csv",
            csv_table(EVENTS_HEADER, &self.consent_events)?,
        )?;
        add(
            "interactions.csv",
            csv_table(INTERACTIONS_HEADER, &self.interactions)?,
        )?;
        add(
            "channel_events.csv",
            csv_table(CHANNELS_HEADER, &self.channel_events)?,
        )?;
        add("requests.csv", csv_table(REQUESTS_HEADER, &self.requests)?)?;
        Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
    }
}

/// One CSV table with its header row, also when it has no lines (serde would write the header
/// only with a first record, so the names are given), every cell defused for spreadsheets. Each
/// row is serialized once as serde writes it, read back as a record, and its cells written
/// through [`spreadsheet_safe`]: one rule for every column of every table, whatever its type.
fn csv_table<T: Serialize>(header: &[&str], rows: &[T]) -> Result<Vec<u8>, ExportError> {
    let fail = |e: csv::Error| ExportError::Write(e.to_string());
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(header).map_err(fail)?;
    let mut record = csv::StringRecord::new();
    for row in rows {
        let mut one = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        one.serialize(row).map_err(fail)?;
        let bytes = one
            .into_inner()
            .map_err(|e| ExportError::Write(e.to_string()))?;
        let mut back = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes.as_slice());
        if back.read_record(&mut record).map_err(fail)? {
            let cells: Vec<_> = record.iter().map(spreadsheet_safe).collect();
            w.write_record(cells.iter().map(|c| c.as_bytes()))
                .map_err(fail)?;
        }
    }
    w.into_inner()
        .map_err(|e| ExportError::Write(e.to_string()))
}

// The header rows: the field names of the row types, in order.
const CONTACT_HEADER: &[&str] = &[
    "id",
    "external_id",
    "name",
    "emails",
    "phones",
    "attributes",
    "source",
    "legal_basis",
    "purposes",
    "restricted_at",
    "objected_at",
    "email_off_at",
    "phone_off_at",
    "sms_off_at",
    "created_at",
    "updated_at",
];
const CONSENTS_HEADER: &[&str] = &[
    "code",
    "title",
    "kind",
    "event_time",
    "expires_at",
    "valid",
    "suspended_by",
    "email_bulk",
    "email_single",
    "phone_call",
    "sms_single",
    "sms_bulk",
];
const EVENTS_HEADER: &[&str] = &[
    "seq",
    "id",
    "type_code",
    "kind",
    "event_time",
    "recorded_at",
    "method",
    "actor_kind",
    "actor_id",
    "notice_version",
    "validity_days",
    "expires_at",
    "evidence",
    "hash",
];
const INTERACTIONS_HEADER: &[&str] = &[
    "id",
    "action",
    "cause",
    "reason",
    "note",
    "operator",
    "occurred_at",
];
const REQUESTS_HEADER: &[&str] = &[
    "id",
    "kind",
    "status",
    "channel",
    "description",
    "received_at",
    "due_on",
    "extended_due_on",
    "extension_reason",
    "closed_at",
    "outcome",
    "rejection_reason",
    "remedies",
];

const CHANNELS_HEADER: &[&str] = &[
    "channel",
    "switched_off",
    "at",
    "method",
    "actor_kind",
    "actor_id",
    "evidence",
];

/// The categories of data the export holds (Art. 15(1)(b)).
fn categories(data: &ContactExport) -> Vec<Category> {
    let c = &data.contact;
    let mut out = vec![Category {
        code: "identity",
        description: Words {
            it: "Dati identificativi: nome, identificativi nel CRM.",
            en: "Identity: name, CRM identifiers.",
        },
    }];
    if !c.emails.is_empty() || !c.phones.is_empty() {
        out.push(Category {
            code: "contact_details",
            description: Words {
                it: "Recapiti: indirizzi email e numeri di telefono.",
                en: "Contact details: email addresses and phone numbers.",
            },
        });
    }
    if !c.attributes.is_empty() {
        out.push(Category {
            code: "crm_attributes",
            description: Words {
                it: "Altri dati registrati nel CRM.",
                en: "Other data recorded in the CRM.",
            },
        });
    }
    out.push(Category {
        code: "consents",
        description: Words {
            it: "Consensi, revoche e relativa prova.",
            en: "Consents, withdrawals and their proof.",
        },
    });
    if !data.interactions.is_empty() {
        out.push(Category {
            code: "contact_history",
            description: Words {
                it: "Contatti avvenuti senza consenso, con il motivo.",
                en: "Contacts made without consent, with the reason.",
            },
        });
    }
    if !data.channel_events.is_empty() {
        out.push(Category {
            code: "communication_preferences",
            description: Words {
                it: "Preferenze sui canali di comunicazione.",
                en: "Communication channel preferences.",
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The header constants name the row types' fields, in their order.
    fn keys<T: Serialize>(row: &T) -> Vec<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(row).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let first = text.lines().next().unwrap_or_default();
        first.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn every_csv_header_names_its_row_fields_in_order() {
        let t = Timestamp::from_micros(0);
        let consent = ConsentRow {
            code: String::new(),
            title: String::new(),
            kind: None,
            event_time: None,
            expires_at: None,
            valid: false,
            suspended_by: None,
            email_bulk: false,
            email_single: false,
            phone_call: false,
            sms_single: false,
            sms_bulk: false,
        };
        let event = EventRow {
            seq: 1,
            id: uuid::Uuid::nil(),
            type_code: String::new(),
            kind: "given",
            event_time: t,
            recorded_at: t,
            method: "form",
            actor_kind: "operator",
            actor_id: String::new(),
            notice_version: None,
            validity_days: None,
            expires_at: None,
            evidence: None,
            hash: String::new(),
        };
        let interaction = InteractionRow {
            id: uuid::Uuid::nil(),
            action: "phone.call",
            cause: None,
            reason: None,
            note: None,
            operator: String::new(),
            occurred_at: t,
        };
        let channel = ChannelRow {
            channel: "sms",
            switched_off: true,
            at: t,
            method: "form",
            actor_kind: "subject",
            actor_id: String::new(),
            evidence: None,
        };
        let none = None;
        let contact = ContactRow {
            id: uuid::Uuid::nil(),
            external_id: &none,
            name: &none,
            emails: String::new(),
            phones: String::new(),
            attributes: String::new(),
            source: &none,
            legal_basis: None,
            purposes: String::new(),
            restricted_at: None,
            objected_at: None,
            email_off_at: None,
            phone_off_at: None,
            sms_off_at: None,
            created_at: t,
            updated_at: t,
        };
        assert_eq!(keys(&consent), CONSENTS_HEADER);
        assert_eq!(keys(&event), EVENTS_HEADER);
        assert_eq!(keys(&interaction), INTERACTIONS_HEADER);
        assert_eq!(keys(&channel), CHANNELS_HEADER);
        assert_eq!(keys(&contact), CONTACT_HEADER);
    }
}
