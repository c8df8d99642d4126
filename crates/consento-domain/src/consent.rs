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
    }
);

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
}

impl ConsentTypeSpec {
    /// Checks the fields: a non-empty title of at most 200 characters, a description of at most
    /// 2000, a validity of at least one day.
    pub fn validate(self) -> Result<Self, DomainError> {
        let title = self.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(DomainError::invalid("title", "must be 1 to 200 characters"));
        }
        let description = self
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 2000)
        {
            return Err(DomainError::invalid(
                "description",
                "must be at most 2000 characters",
            ));
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
        Ok(Self {
            title,
            description,
            ..self
        })
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
            permissions: Permissions::default(),
            show_in_preference_center: true,
        };
        assert_eq!(
            spec(36_501).validate().unwrap_err().field(),
            "validity_days"
        );
        assert!(spec(36_500).validate().is_ok());
    }

    #[test]
    fn a_code_with_spaces_is_refused() {
        assert_eq!(
            ConsentCode::parse("news letter").unwrap_err().field(),
            "code"
        );
    }
}
