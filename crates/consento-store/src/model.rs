//! The records the store reads and writes. Inputs arrive as raw text where a person typed them,
//! and are parsed by the domain's constructors so that an error names the field at fault.

use std::collections::BTreeMap;

use consento_domain::{
    Action, Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeId, ConsentTypeSpec,
    ContactId, Decision, Email, EventId, EventKind, LegalBasis, NoticeId, Permissions, Phone,
    ReasonId, Timestamp,
};
use serde::Serialize;

/// A consent type as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentType {
    /// Its id.
    pub id: ConsentTypeId,
    /// Title, code, description, validity, permissions.
    #[serde(flatten)]
    pub spec: ConsentTypeSpec,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A published privacy-notice version: what a person was shown when consenting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Its id.
    pub id: NoticeId,
    /// The version label, unique (e.g. `2025-03`).
    pub version: String,
    /// The language of the text (e.g. `it`).
    pub language: String,
    /// Where the text is published, if online.
    pub url: Option<String>,
    /// The text itself, if kept here.
    pub body: Option<String>,
    /// SHA-256 of the URL and text, hex: proof of what exactly was shown.
    pub content_sha256: String,
    /// When it was published.
    pub published_at: Timestamp,
}

/// A new privacy-notice version.
#[derive(Debug, Clone, Default)]
pub struct NoticeInput {
    /// The version label.
    pub version: String,
    /// Language code.
    pub language: String,
    /// Published URL.
    pub url: Option<String>,
    /// Text.
    pub body: Option<String>,
}

/// A contact (data subject).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// Our id.
    pub id: ContactId,
    /// The CRM's id.
    pub external_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Email addresses, the primary (used for bulk sends) first.
    pub emails: Vec<Email>,
    /// Phone numbers in E.164, the primary first.
    pub phones: Vec<Phone>,
    /// Free attributes from the CRM.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Where the data came from (GDPR Art. 14(2)(f)).
    pub source: Option<String>,
    /// The legal basis of processing (Art. 6(1)).
    pub legal_basis: Option<LegalBasis>,
    /// The purposes of processing (Art. 13(1)(c)).
    pub purposes: Vec<String>,
    /// Since when processing is restricted (Art. 18).
    pub restricted_at: Option<Timestamp>,
    /// Since when the person objects to direct marketing (Art. 21).
    pub objected_at: Option<Timestamp>,
    /// When the contact was erased (Art. 17).
    pub erased_at: Option<Timestamp>,
    /// Since when the person has switched email off (the preference center).
    pub email_off_at: Option<Timestamp>,
    /// Since when the person has switched phone calls off.
    pub phone_off_at: Option<Timestamp>,
    /// Since when the person has switched text messages off.
    pub sms_off_at: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

impl Contact {
    /// Since when the person has switched `channel` off, if they have.
    pub fn off_since(&self, channel: consento_domain::Channel) -> Option<Timestamp> {
        match channel {
            consento_domain::Channel::Email => self.email_off_at,
            consento_domain::Channel::Phone => self.phone_off_at,
            consento_domain::Channel::Sms => self.sms_off_at,
        }
    }
}

/// A person switching a form of communication off or back on, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelEvent {
    /// Which channel.
    pub channel: consento_domain::Channel,
    /// Off (true) or back on.
    pub switched_off: bool,
    /// When.
    pub at: Timestamp,
    /// How it was collected (preference center, phone, form…).
    pub method: consento_domain::CollectionMethod,
    /// Who recorded it.
    pub actor: consento_domain::Actor,
    /// The evidence (user agent, truncated address…), if any.
    pub evidence: Option<String>,
}

/// A contact's fields as given by an operator or an integration, before validation.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    /// The CRM's id.
    pub external_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Email addresses, primary first.
    pub emails: Vec<String>,
    /// Phone numbers in any common format, primary first.
    pub phones: Vec<String>,
    /// Free attributes.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Source.
    pub source: Option<String>,
    /// Legal basis (code or Art. 6(1) letter).
    pub legal_basis: Option<String>,
    /// Purposes.
    pub purposes: Vec<String>,
}

/// How a caller names a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactRef {
    /// Our id.
    Id(ContactId),
    /// The CRM's id.
    External(String),
    /// Any of the contact's email addresses, in any case.
    Email(String),
    /// Any of the contact's phone numbers, in any common format.
    Phone(String),
}

/// One consent event to record.
#[derive(Debug, Clone)]
pub struct ConsentEventInput {
    /// Whose consent.
    pub contact: ContactRef,
    /// Which consent type, by code.
    pub type_code: String,
    /// What happened.
    pub kind: EventKind,
    /// When the person gave or withdrew it; `None` = now. Never in the future.
    pub event_time: Option<Timestamp>,
    /// How it was collected.
    pub method: CollectionMethod,
    /// Who records it.
    pub actor: Actor,
    /// The privacy-notice version shown, if any.
    pub notice_version: Option<String>,
    /// Evidence (a form id, a recording reference…), kept apart from the ledger and erasable.
    pub evidence: Option<String>,
}

/// A recorded ledger event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedEvent {
    /// Ledger position.
    pub seq: i64,
    /// Event id.
    pub id: EventId,
    /// The contact.
    pub contact_id: ContactId,
    /// The consent type's code.
    pub type_code: String,
    /// What happened.
    pub kind: EventKind,
    /// When it happened.
    pub event_time: Timestamp,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// For a given/renewed consent with a validity: when it expires.
    pub expires_at: Option<Timestamp>,
    /// The event's hash, hex.
    pub hash: String,
}

impl RecordedEvent {
    /// What its author should know about it although it was recorded as asked: a consent
    /// given or renewed so long ago that it had expired before it was recorded.
    pub fn warnings(&self) -> Vec<consento_domain::consent::EventWarning> {
        consento_domain::consent::event_warnings(self.kind, self.expires_at, self.recorded_at)
    }
}

/// One line of a contact's consent history, with its proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Ledger position.
    pub seq: i64,
    /// Event id.
    pub id: EventId,
    /// The consent type's code.
    pub type_code: String,
    /// What happened.
    pub kind: EventKind,
    /// When it happened.
    pub event_time: Timestamp,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// How it was collected.
    pub method: CollectionMethod,
    /// Who recorded it.
    pub actor_kind: ActorKind,
    /// The actor's identifier.
    pub actor_id: String,
    /// The notice version shown.
    pub notice_version: Option<String>,
    /// The validity in force when it was recorded.
    pub validity_days: Option<u32>,
    /// For a given/renewed consent with a validity: when it expires.
    pub expires_at: Option<Timestamp>,
    /// The evidence, unless erased.
    pub evidence: Option<String>,
    /// The event's hash, hex.
    pub hash: String,
}

/// A contact's consent of one type, as the contact card shows it (one line per type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentConsent {
    /// The type.
    pub type_id: ConsentTypeId,
    /// Its code.
    pub code: ConsentCode,
    /// Its title.
    pub title: String,
    /// What it permits.
    pub permissions: Permissions,
    /// The latest event's kind; none if never recorded.
    pub kind: Option<EventKind>,
    /// When the latest event happened (for a given consent: the date it was given).
    pub event_time: Option<Timestamp>,
    /// When a given consent expires.
    pub expires_at: Option<Timestamp>,
    /// Whether the consent itself is valid now: given or renewed, and not expired (the card's
    /// checkbox; withdrawing is always possible).
    pub valid: bool,
    /// Why none of the contact's consents may be used, whatever they say: erased, restricted or
    /// objecting (the decision's rules 1–3, [`consento_domain::suspension`]).
    pub suspended_by: Option<consento_domain::Cause>,
}

impl CurrentConsent {
    /// Whether a decision may rely on it now: valid and not suspended.
    pub fn in_force(&self) -> bool {
        self.valid && self.suspended_by.is_none()
    }

    /// Why it is not in force although valid (`erased`, `restricted`, `objected`); `None` when
    /// it is in force or not valid anyway.
    pub fn suspension_code(&self) -> Option<&'static str> {
        self.suspended_by
            .as_ref()
            .filter(|_| self.valid)
            .map(consento_domain::Cause::code)
    }
}

/// The answer to "may I reach this contact?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionReport {
    /// The contact asked about.
    pub contact_id: ContactId,
    /// The action.
    pub action: Action,
    /// The instant decided for.
    pub at: Timestamp,
    /// The outcome with the rule that decided it.
    #[serde(flatten)]
    pub decision: Decision,
}

/// A justified contact: an operator reached someone without a valid consent, for a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interaction {
    /// Its id.
    pub id: uuid::Uuid,
    /// The contact.
    pub contact_id: ContactId,
    /// The channel.
    pub action: Action,
    /// Why a reason was needed (the cause code).
    pub cause: Option<String>,
    /// The reason picked.
    pub reason_id: Option<ReasonId>,
    /// Its label.
    pub reason_label: Option<String>,
    /// The operator's note.
    pub note: Option<String>,
    /// Who.
    pub operator: String,
    /// When.
    pub occurred_at: Timestamp,
}

/// Which newsletter audience to compute.
#[derive(Debug, Clone, Default)]
pub struct AudienceQuery {
    /// One consent type by code, or `None` for any type that permits bulk email.
    pub type_code: Option<String>,
    /// The instant of the send; `None` = now. Never in the past.
    pub at: Option<Timestamp>,
}

/// One recipient of a newsletter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AudienceMember {
    /// Our id.
    pub contact_id: ContactId,
    /// The CRM's id.
    pub external_id: Option<String>,
    /// The primary email address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
}

/// How many contacts a newsletter reaches and why the others are left out, by cause code
/// (`erased`, `restricted`, `objected`, `no_email`, `suppressed`, `withdrawn`, `expired`,
/// `refused`, `no_consent`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AudienceCounts {
    /// Contacts the newsletter reaches.
    pub eligible: i64,
    /// Contacts left out, per cause.
    pub excluded: BTreeMap<String, i64>,
}

/// The result of verifying the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerReport {
    /// Events verified.
    pub events: i64,
    /// The hash of the last event (the head), hex: keep it outside the database to anchor the
    /// chain.
    pub head_hash: String,
}
