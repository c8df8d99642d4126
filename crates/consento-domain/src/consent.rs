//! Consent types (what a consent permits and for how long), the events of the consent ledger,
//! and the current state of one consent, projected from its events.

use serde::{Deserialize, Serialize};

use crate::{ConsentTypeId, DomainError, Timestamp};

/// Generates an enum with a stable text code per variant, `code()`, `parse()` and `ALL`.
macro_rules! coded_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored in the database and used by integrations.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Parses a code.
            pub fn parse(text: &str) -> Result<Self, DomainError> {
                let t = text.trim();
                Self::ALL.iter().copied().find(|v| v.code() == t).ok_or_else(|| {
                    let codes: Vec<&str> = Self::ALL.iter().map(|v| v.code()).collect();
                    DomainError::invalid($field, format!("`{t}` is not one of {}", codes.join(", ")))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

pub(crate) use coded_enum;

coded_enum!(
    /// A way of reaching a person, which the decision engine is asked about.
    Action, "action" {
        /// One email to one person (the seed's "invio singolo").
        EmailSingle = "email.single",
        /// A newsletter or any mass mailing (the seed's "invii massivi").
        EmailBulk = "email.bulk",
        /// A phone call, e.g. from a dialer (the seed's "contatto").
        PhoneCall = "phone.call",
        /// One SMS to one person.
        SmsSingle = "sms.single",
        /// A mass SMS campaign.
        SmsBulk = "sms.bulk",
    }
);

impl Action {
    /// Whether the action is a mass sending: those are never justified one by one (rule 7 of
    /// [`crate::decision::decide`]), and the suppression list applies to them (rule 4).
    pub fn is_bulk(self) -> bool {
        matches!(self, Self::EmailBulk | Self::SmsBulk)
    }

    /// The form of communication the action uses: what a person switches off in the preference
    /// center ("attivare o disattivare ogni forma di comunicazione", seed).
    pub fn channel(self) -> Channel {
        match self {
            Self::EmailSingle | Self::EmailBulk => Channel::Email,
            Self::PhoneCall => Channel::Phone,
            Self::SmsSingle | Self::SmsBulk => Channel::Sms,
        }
    }
}

coded_enum!(
    /// A form of communication a person can switch off for themself.
    Channel, "channel" {
        /// Email, single and bulk.
        Email = "email",
        /// Phone calls.
        Phone = "phone",
        /// Text messages, single and bulk.
        Sms = "sms",
    }
);

coded_enum!(
    /// What happened to a consent, as recorded in the ledger.
    EventKind, "kind" {
        /// The person gave consent.
        Given = "given",
        /// The person was asked and said no.
        Refused = "refused",
        /// The person withdrew an earlier consent (GDPR Art. 7(3)).
        Withdrawn = "withdrawn",
        /// The person confirmed an existing consent; the validity starts again.
        Renewed = "renewed",
        /// The controller revoked the consent (e.g. the number enrolled in the Registro pubblico
        /// delle opposizioni, or proof found invalid).
        Revoked = "revoked",
    }
);

impl EventKind {
    /// Whether this event leaves the consent in force (subject to its validity).
    pub fn grants(self) -> bool {
        matches!(self, Self::Given | Self::Renewed)
    }
}

coded_enum!(
    /// How a consent event was collected: part of its proof (GDPR Art. 7(1)).
    CollectionMethod, "method" {
        /// A web form of the controller.
        Form = "form",
        /// A signed paper form.
        Paper = "paper",
        /// A recorded phone call.
        Phone = "phone",
        /// An email from the person.
        Email = "email",
        /// Said in person, at a desk or a shop, to an operator.
        InPerson = "in_person",
        /// Entered by an operator in the console or CLI.
        Operator = "operator",
        /// A file imported from another system.
        Import = "import",
        /// An integration through the API.
        Api = "api",
        /// The person, in the preference center.
        PreferenceCenter = "preference_center",
        /// A double opt-in confirmation.
        DoubleOptIn = "double_opt_in",
        /// An RFC 8058 one-click unsubscribe.
        OneClickUnsubscribe = "one_click_unsubscribe",
        /// Consento itself (e.g. a revocation rule).
        System = "system",
        /// Revoked by the controller because the number was found enrolled in the Registro
        /// pubblico delle opposizioni (L. 5/2018).
        Rpo = "rpo",
    }
);

impl CollectionMethod {
    /// Whether only Consento's own flows produce this method: the preference center, the double
    /// opt-in confirmation, the RFC 8058 one-click unsubscribe, a file import, Consento's own
    /// rules and an opt-out register check. Their proof is what Consento itself saw (the person's click, the confirmation's
    /// link, the imported line), so an integration or an operator stating one would forge that
    /// proof (GDPR Art. 7(1): the controller must be able to show how consent was given).
    pub fn is_consentos_own(self) -> bool {
        matches!(
            self,
            Self::PreferenceCenter
                | Self::DoubleOptIn
                | Self::OneClickUnsubscribe
                | Self::Import
                | Self::System
                | Self::Rpo
        )
    }

    /// The method as an integration, an operator or the command line states it: refused, naming
    /// `method`, when only Consento's own flows may record it ([`Self::is_consentos_own`]).
    pub fn claimed(self) -> Result<Self, DomainError> {
        if self.is_consentos_own() {
            return Err(DomainError::invalid(
                "method",
                format!(
                    "`{}` is recorded only by Consento's own flows; state how the consent was collected ({})",
                    self.code(),
                    Self::ALL
                        .iter()
                        .filter(|m| !m.is_consentos_own())
                        .map(|m| m.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(self)
    }
}

coded_enum!(
    /// Who recorded an event.
    ActorKind, "actor" {
        /// A staff member, by their account handle.
        Operator = "operator",
        /// An integration, by its API token id.
        Token = "token",
        /// The person the consent belongs to.
        Subject = "subject",
        /// Consento itself.
        System = "system",
    }
);

/// Who recorded an event: a kind and an identifier that is not the data subject's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// What kind of actor.
    pub kind: ActorKind,
    /// Its identifier (operator handle, token id; empty for the subject and the system).
    pub id: String,
}

impl Actor {
    /// Builds an actor, refusing an identifier that is empty or too long for an operator/token.
    pub fn new(kind: ActorKind, id: &str) -> Result<Self, DomainError> {
        let id = id.trim();
        crate::text::check("actor", id, crate::text::Lines::One)?;
        if matches!(kind, ActorKind::Operator | ActorKind::Token) && id.is_empty() {
            return Err(DomainError::invalid(
                "actor",
                "an operator or token needs an identifier",
            ));
        }
        if id.len() > 128 {
            return Err(DomainError::invalid("actor", "at most 128 characters"));
        }
        Ok(Self {
            kind,
            id: id.to_owned(),
        })
    }
}

/// The unique, immutable code of a consent type: 1–64 characters of `A–Z a–z 0–9 _ - .`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConsentCode(String);

impl ConsentCode {
    /// Parses a code.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let t = text.trim();
        let ok = !t.is_empty()
            && t.len() <= 64
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(DomainError::invalid(
                "code",
                format!("`{t}` must be 1 to 64 letters, digits, `_`, `-` or `.`"),
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConsentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a valid consent of a type allows (the seed's "permetti invii massivi / invio singolo /
/// contatto", plus SMS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Permissions {
    /// Newsletters and mass mailings.
    pub email_bulk: bool,
    /// Single emails.
    pub email_single: bool,
    /// Phone calls.
    pub phone_call: bool,
    /// Single SMS.
    pub sms_single: bool,
    /// Mass SMS.
    pub sms_bulk: bool,
}

impl Permissions {
    /// Whether a consent with these permissions covers `action`.
    pub fn permits(self, action: Action) -> bool {
        match action {
            Action::EmailSingle => self.email_single,
            Action::EmailBulk => self.email_bulk,
            Action::PhoneCall => self.phone_call,
            Action::SmsSingle => self.sms_single,
            Action::SmsBulk => self.sms_bulk,
        }
    }

    /// Whether a consent with these permissions covers no action at all.
    pub fn is_empty(self) -> bool {
        Action::ALL.iter().all(|a| !self.permits(*a))
    }

    /// Makes a consent with these permissions cover `action`, or stop covering it.
    pub fn set(&mut self, action: Action, on: bool) {
        let flag = match action {
            Action::EmailSingle => &mut self.email_single,
            Action::EmailBulk => &mut self.email_bulk,
            Action::PhoneCall => &mut self.phone_call,
            Action::SmsSingle => &mut self.sms_single,
            Action::SmsBulk => &mut self.sms_bulk,
        };
        *flag = on;
    }
}

/// What the consents of a type are for. One type, one purpose: consent is specific to its
/// purpose and never bundled (GDPR Art. 4(11), 6(1)(a) and 7(2); the Garante's guidelines on
/// promotional communications of 4 July 2013), so a person can say yes to our newsletter and no
/// to profiling. The purpose decides which Italian telemarketing rules a phone call falls under
/// (L. 5/2018 on the opt-out register annuls earlier consents to marketing and to disclosure
/// to third parties).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(tag = "purpose", content = "categories", rename_all = "snake_case")]
pub enum Purpose {
    /// Direct marketing by the controller itself (the default: the strictest reading for a
    /// type defined before purposes were recorded).
    #[default]
    Marketing,
    /// Profiling, including statistics on customers' habits.
    Profiling,
    /// Disclosure to other controllers for their marketing, for the product categories the
    /// person chose (telephony, energy, insurance…): an "omnibus" disclosure to anyone for
    /// anything is not specific consent (the same guidelines).
    ThirdParty(Vec<String>),
    /// Not marketing: service communications the person asked for.
    Service,
}

impl Purpose {
    /// The codes, in the order they are offered.
    pub const CODES: [&'static str; 4] = ["marketing", "profiling", "third_party", "service"];

    /// Its stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Marketing => "marketing",
            Self::Profiling => "profiling",
            Self::ThirdParty(_) => "third_party",
            Self::Service => "service",
        }
    }

    /// The product categories of a disclosure to third parties (empty for other purposes).
    pub fn categories(&self) -> &[String] {
        match self {
            Self::ThirdParty(c) => c,
            _ => &[],
        }
    }

    /// Whether a call or message relying on it is marketing (direct or for third parties):
    /// what the telemarketing rules apply to.
    pub fn is_marketing(&self) -> bool {
        matches!(self, Self::Marketing | Self::ThirdParty(_))
    }

    /// Reads a purpose from its code and, for `third_party`, its categories (each a lower-case
    /// word of letters, digits, `-` or `_`, at most 40 characters; duplicates dropped, order
    /// kept). Errors name `purpose` or `categories`.
    pub fn parse(code: &str, categories: &[String]) -> Result<Self, DomainError> {
        let cleaned: Vec<String> = categories
            .iter()
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty())
            .fold(Vec::new(), |mut all, c| {
                if !all.contains(&c) {
                    all.push(c);
                }
                all
            });
        let purpose = match code.trim() {
            "marketing" => Self::Marketing,
            "profiling" => Self::Profiling,
            "third_party" => Self::ThirdParty(cleaned.clone()),
            "service" => Self::Service,
            other => {
                return Err(DomainError::invalid(
                    "purpose",
                    format!(
                        "`{other}` is not a purpose (marketing, profiling, third_party, service)"
                    ),
                ));
            }
        };
        if !matches!(purpose, Self::ThirdParty(_)) && !cleaned.is_empty() {
            return Err(DomainError::invalid(
                "categories",
                "only a disclosure to third parties (purpose third_party) has product categories",
            ));
        }
        purpose.validate()
    }

    /// Checks a purpose: a disclosure to third parties names at least one product category, and
    /// at most 20, each a lower-case word.
    pub fn validate(self) -> Result<Self, DomainError> {
        if let Self::ThirdParty(categories) = &self {
            if categories.is_empty() {
                return Err(DomainError::invalid(
                    "categories",
                    "a disclosure to third parties names the product categories it covers (telephony, energy, insurance…): consent to any disclosure for anything is not specific",
                ));
            }
            if categories.len() > 20 {
                return Err(DomainError::invalid(
                    "categories",
                    "at most 20 product categories",
                ));
            }
            if let Some(bad) = categories.iter().find(|c| {
                c.is_empty()
                    || c.chars().count() > 40
                    || !c.chars().all(|ch| {
                        ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_'
                    })
            }) {
                return Err(DomainError::invalid(
                    "categories",
                    format!(
                        "`{bad}` is not a category: lower-case letters, digits, - and _, at most 40"
                    ),
                ));
            }
        }
        Ok(self)
    }
}

/// The longest validity a consent type may have: 100 years.
pub const MAX_VALIDITY_DAYS: u32 = 36_500;

/// A consent type as an administrator defines it, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentTypeSpec {
    /// The title (the seed's "titolo").
    pub title: String,
    /// The unique code.
    pub code: ConsentCode,
    /// An optional longer description.
    pub description: Option<String>,
    /// Days a consent stays valid after it is given or renewed; `None` = never expires.
    pub validity_days: Option<u32>,
    /// What a valid consent of this type permits.
    pub permissions: Permissions,
    /// Whether the preference center offers this type as a topic.
    pub show_in_preference_center: bool,
    /// What its consents are for (one purpose per type).
    #[serde(default)]
    pub purpose: Purpose,
}

impl ConsentTypeSpec {
    /// Checks the fields: a non-empty title of at most 200 characters on one line, a description
    /// of at most 2000 (several lines allowed), a validity of at least one day, and at least one
    /// permission: a consent that permits nothing would be asked of people for no use, and the
    /// decision rules could never cite it (rule 6 of [`crate::decision::decide`]).
    pub fn validate(self) -> Result<Self, DomainError> {
        use crate::text::{Lines, check};
        let title = self.title.trim().to_owned();
        check("title", &title, Lines::One)?;
        if title.is_empty() || title.chars().count() > 200 {
            return Err(DomainError::invalid("title", "must be 1 to 200 characters"));
        }
        let description = self
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if let Some(d) = &description {
            check("description", d, Lines::Many)?;
            if d.chars().count() > 2000 {
                return Err(DomainError::invalid(
                    "description",
                    "must be at most 2000 characters",
                ));
            }
        }
        // 100 years bounds the expiry arithmetic in Rust and in the database's trigger alike.
        if self
            .validity_days
            .is_some_and(|d| !(1..=MAX_VALIDITY_DAYS).contains(&d))
        {
            return Err(DomainError::invalid(
                "validity_days",
                "must be 1 to 36500 days, or empty for a consent that never expires",
            ));
        }
        if self.permissions.is_empty() {
            return Err(DomainError::invalid(
                "permissions",
                "a consent type must permit at least one action (email.bulk, email.single, phone.call, sms.single, sms.bulk)",
            ));
        }
        let purpose = self.purpose.validate()?;
        Ok(Self {
            title,
            description,
            purpose,
            ..self
        })
    }
}

/// The earliest instant a consent event may be dated: 1 January 1900 at 00:00 in the earliest
/// time zone (UTC+14), i.e. 1899-12-31T10:00:00Z, so that the first day of 1900 typed in any
/// zone passes and no date of 1899 does. No consent to electronic marketing predates the year
/// 1900: such a date is a typing error (a year `1025` for `2025`) or a placeholder of another
/// system (`1899-12-30`, spreadsheets' day zero), never proof.
pub const EARLIEST_EVENT_TIME: Timestamp = Timestamp::from_micros(-2_209_039_200_000_000);

/// Checks the date of a consent event: never in the future (the person cannot have consented
/// yet), never before 1900 ([`EARLIEST_EVENT_TIME`]). The field named is `event_time`.
pub fn check_event_time(event_time: Timestamp, now: Timestamp) -> Result<(), DomainError> {
    if event_time > now {
        return Err(DomainError::invalid(
            "event_time",
            "a consent cannot be dated in the future",
        ));
    }
    if event_time < EARLIEST_EVENT_TIME {
        return Err(DomainError::invalid(
            "event_time",
            "a consent cannot be dated before 1900",
        ));
    }
    Ok(())
}

/// Something about a recorded event that its author should know although it was recorded as
/// asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventWarning {
    /// A given or renewed consent dated so far back that its validity had already run out when
    /// it was recorded: it is proof of the past, but permits nothing now.
    AlreadyExpired,
}

impl EventWarning {
    /// The stable code shown to integrations.
    pub fn code(self) -> &'static str {
        match self {
            Self::AlreadyExpired => "already_expired",
        }
    }

    /// What it means, in plain words.
    pub fn message(self) -> &'static str {
        match self {
            Self::AlreadyExpired => {
                "the consent was recorded, but its validity had already run out at the date it was given: it permits nothing now"
            }
        }
    }
}

/// The warnings of an event of `kind` recorded at `recorded_at` whose consent expires at
/// `expires_at` (for a given or renewed consent with a validity).
pub fn event_warnings(
    kind: EventKind,
    expires_at: Option<Timestamp>,
    recorded_at: Timestamp,
) -> Vec<EventWarning> {
    // The expiry instant itself is already expired (ConsentState::is_valid_at).
    if kind.grants() && expires_at.is_some_and(|e| e <= recorded_at) {
        vec![EventWarning::AlreadyExpired]
    } else {
        Vec::new()
    }
}

/// The current state of one consent (one contact, one type): the latest event, by event time
/// then by ledger order (rule 6 of [`crate::decision::decide`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentState {
    /// The consent type.
    pub type_id: ConsentTypeId,
    /// Its code.
    pub code: ConsentCode,
    /// What the type permits now.
    pub permissions: Permissions,
    /// Whether the type's purpose is marketing, ours or for third parties
    /// ([`Purpose::is_marketing`]): a phone call it allows is telemarketing.
    pub marketing: bool,
    /// The kind of the latest event.
    pub kind: EventKind,
    /// When the latest event happened (for a given/renewed consent: the date it was given).
    pub event_time: Timestamp,
    /// For a given/renewed consent with a validity: the first instant it is no longer valid
    /// (`event_time + validity`, with the validity in force when it was given).
    pub expires_at: Option<Timestamp>,
}

impl ConsentState {
    /// Whether this consent is in force at `at`. The instant `event_time + validity` itself is
    /// already expired.
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        self.kind.grants() && self.event_time <= at && self.expires_at.is_none_or(|e| at < e)
    }
}

/// The expiry instant of an event: `event_time + validity_days` for a granting event with a
/// validity, otherwise none.
pub fn expiry_of(
    kind: EventKind,
    event_time: Timestamp,
    validity_days: Option<u32>,
) -> Option<Timestamp> {
    if kind.grants() {
        validity_days.map(|d| event_time.plus_days(d))
    } else {
        None
    }
}

/// One event as the projection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    /// Position in the ledger (recording order).
    pub seq: i64,
    /// The kind of event.
    pub kind: EventKind,
    /// When it happened.
    pub event_time: Timestamp,
    /// The validity in force when it was recorded.
    pub validity_days: Option<u32>,
}

/// Projects the events of one (contact, type) onto its state as known at `at`: the latest event
/// whose time is not after `at`, ordered by event time and then by ledger position, so that a
/// backdated event recorded late takes its proper place and insertion order does not matter when
/// times differ.
pub fn latest_event_at(events: &[EventFacts], at: Timestamp) -> Option<&EventFacts> {
    events
        .iter()
        .filter(|e| e.event_time <= at)
        .max_by_key(|e| (e.event_time, e.seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_for_every_action_and_kind() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.code()).unwrap(), *a);
        }
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.code()).unwrap(), *k);
        }
        assert_eq!(Action::parse("fax").unwrap_err().field(), "action");
    }

    #[test]
    fn a_zero_day_validity_is_refused() {
        let spec = ConsentTypeSpec {
            title: "Newsletter".into(),
            code: ConsentCode::parse("NEWS").unwrap(),
            description: None,
            validity_days: Some(0),
            permissions: Permissions::default(),
            show_in_preference_center: true,
            purpose: Purpose::default(),
        };
        assert_eq!(spec.validate().unwrap_err().field(), "validity_days");
    }

    #[test]
    fn a_validity_over_a_century_is_refused_and_a_century_is_accepted() {
        let spec = |days| ConsentTypeSpec {
            title: "Newsletter".into(),
            code: ConsentCode::parse("NEWS").unwrap(),
            description: None,
            validity_days: Some(days),
            permissions: Permissions {
                email_bulk: true,
                ..Permissions::default()
            },
            show_in_preference_center: true,
            purpose: Purpose::default(),
        };
        assert_eq!(
            spec(36_501).validate().unwrap_err().field(),
            "validity_days"
        );
        assert!(spec(36_500).validate().is_ok());
    }

    fn spec_permitting(permissions: Permissions) -> ConsentTypeSpec {
        ConsentTypeSpec {
            title: "Newsletter".into(),
            code: ConsentCode::parse("NEWS").unwrap(),
            description: None,
            validity_days: Some(365),
            permissions,
            show_in_preference_center: true,
            purpose: Purpose::default(),
        }
    }

    #[test]
    fn a_disclosure_to_third_parties_without_categories_is_refused_as_omnibus() {
        let mut spec = spec_permitting(Permissions {
            phone_call: true,
            ..Permissions::default()
        });
        spec.purpose = Purpose::ThirdParty(Vec::new());
        assert_eq!(spec.clone().validate().unwrap_err().field(), "categories");
        spec.purpose = Purpose::ThirdParty(vec!["Energy Drinks!".into()]);
        assert_eq!(spec.clone().validate().unwrap_err().field(), "categories");
        spec.purpose = Purpose::ThirdParty(vec!["energy".into(), "telephony".into()]);
        assert!(spec.validate().is_ok());
    }

    #[test]
    fn a_purpose_is_read_from_its_code_and_only_third_parties_take_categories() {
        let cats = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            Purpose::parse("marketing", &[]).unwrap(),
            Purpose::Marketing
        );
        assert_eq!(
            Purpose::parse("third_party", &cats(&[" Energy", "energy", "insurance"])).unwrap(),
            Purpose::ThirdParty(cats(&["energy", "insurance"]))
        );
        assert_eq!(
            Purpose::parse("third_party", &[]).unwrap_err().field(),
            "categories"
        );
        assert_eq!(
            Purpose::parse("service", &cats(&["energy"]))
                .unwrap_err()
                .field(),
            "categories"
        );
        assert_eq!(Purpose::parse("spam", &[]).unwrap_err().field(), "purpose");
        assert!(
            Purpose::Marketing.is_marketing()
                && Purpose::ThirdParty(cats(&["energy"])).is_marketing()
        );
        assert!(!Purpose::Service.is_marketing() && !Purpose::Profiling.is_marketing());
        for code in Purpose::CODES {
            let c = if code == "third_party" {
                cats(&["energy"])
            } else {
                Vec::new()
            };
            assert_eq!(Purpose::parse(code, &c).unwrap().code(), code);
        }
    }

    #[test]
    fn a_type_that_permits_nothing_is_refused_naming_permissions() {
        let err = spec_permitting(Permissions::default())
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "permissions");
        let mut one = Permissions::default();
        one.set(Action::SmsSingle, true);
        assert!(spec_permitting(one).validate().is_ok());
    }

    #[test]
    fn a_title_with_a_control_character_is_refused() {
        let mut spec = spec_permitting(Permissions {
            email_bulk: true,
            ..Permissions::default()
        });
        spec.title = "News\u{0}letter".into();
        assert_eq!(spec.validate().unwrap_err().field(), "title");
    }

    #[test]
    fn only_consentos_own_flows_record_their_methods() {
        for m in [
            "double_opt_in",
            "one_click_unsubscribe",
            "preference_center",
            "import",
            "system",
        ] {
            let err = CollectionMethod::parse(m).unwrap().claimed().unwrap_err();
            assert_eq!(err.field(), "method", "{m}");
        }
        for m in ["form", "paper", "phone", "email", "operator", "api"] {
            assert!(CollectionMethod::parse(m).unwrap().claimed().is_ok(), "{m}");
        }
    }

    #[test]
    fn event_dates_before_1900_or_in_the_future_are_refused() {
        let now = Timestamp::parse("t", "2025-06-01T10:00:00Z").unwrap();
        let at = |t| Timestamp::parse("t", t).unwrap();
        assert!(check_event_time(at("1900-01-01"), now).is_ok());
        assert!(check_event_time(at("1900-01-01T00:00:00+14:00"), now).is_ok());
        let err = check_event_time(at("1899-12-31"), now).unwrap_err();
        assert_eq!(err.field(), "event_time");
        assert!(err.to_string().contains("1900"), "{err}");
        assert!(check_event_time(at("1899-06-15T12:00:00Z"), now).is_err());
        assert!(check_event_time(at("2025-06-01T10:00:01Z"), now).is_err());
        assert!(check_event_time(now, now).is_ok());
    }

    #[test]
    fn a_consent_given_longer_ago_than_its_validity_warns_and_a_live_one_does_not() {
        let now = Timestamp::parse("t", "2025-06-01T00:00:00Z").unwrap();
        let given = Timestamp::parse("t", "2024-01-01").unwrap();
        let expired = given.plus_days(365);
        assert_eq!(
            event_warnings(EventKind::Given, Some(expired), now),
            vec![EventWarning::AlreadyExpired]
        );
        assert!(event_warnings(EventKind::Given, Some(given.plus_days(730)), now).is_empty());
        assert!(event_warnings(EventKind::Given, None, now).is_empty());
        assert!(event_warnings(EventKind::Withdrawn, None, now).is_empty());
        // The expiry instant itself is already expired.
        assert!(!event_warnings(EventKind::Renewed, Some(now), now).is_empty());
    }

    #[test]
    fn a_code_with_spaces_is_refused() {
        assert_eq!(
            ConsentCode::parse("news letter").unwrap_err().field(),
            "code"
        );
    }
}
