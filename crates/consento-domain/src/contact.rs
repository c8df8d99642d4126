//! A contact's identifying channels and its processing status: normalised email addresses and
//! E.164 phone numbers (so that a lookup, a suppression check and a re-import all match), the
//! GDPR Art. 6(1) legal basis, and the flags the decision rules read.

use serde::{Deserialize, Serialize};

use crate::{DomainError, Timestamp};

/// An email address, normalised: trimmed and lower-cased, so `Mario.Rossi@Example.IT` and
/// `mario.rossi@example.it` are the same person for lookups and for the suppression list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address. Accepts the usual `local@domain.tld` shape (RFC 5321
    /// limits: 64 octets of local part, 254 in all); refuses spaces, missing parts and a domain
    /// without a dot.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let value = text.trim().to_lowercase();
        let bad = |why: &str| {
            DomainError::invalid("email", format!("`{}` {why}", text.trim().escape_debug()))
        };
        if value.len() > 254 {
            return Err(bad("is longer than 254 characters"));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(bad("has no @"));
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad("has no valid part before the @"));
        }
        let labels_ok = domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if !domain.contains('.') || !labels_ok {
            return Err(bad("has no valid domain after the @"));
        }
        let allowed =
            |c: char| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:\"".contains(c);
        if !value.chars().all(allowed) {
            return Err(bad("contains characters an address cannot hold"));
        }
        // RFC 5322 §3.4.1 and §3.2.3: an unquoted local part is a dot-atom, atoms joined by
        // single dots; a leading, trailing or doubled dot makes it no address (RFC 5321 §4.1.2).
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad(
                "has a dot at the start or end of the part before the @, or two dots in a row",
            ));
        }
        Ok(Self(value))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 form (`+393331234567`): `+`, an assigned country calling code and a
/// national number of a length that country's numbers have, 15 digits at most (ITU-T E.164;
/// see [`crate::numbering`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Parses a number as people write it (`+39 333 123 4567`, `0039 333-1234567`,
    /// `(06) 1234 5678`) into E.164. A number without an international prefix is taken as national
    /// to `default_country_code` (digits only, e.g. `39` for Italy, where the leading 0 of
    /// landlines is part of the number and is kept). A number that could not be dialled (an
    /// unassigned country code, a length no number of that country has, an Italian range that
    /// does not exist) is refused: it would never reach the person, and would not match them on
    /// a suppression list.
    pub fn parse(text: &str, default_country_code: &str) -> Result<Self, DomainError> {
        let bad = |why: &str| {
            DomainError::invalid("phone", format!("`{}` {why}", text.trim().escape_debug()))
        };
        let trimmed = text.trim();
        let mut digits = String::with_capacity(16);
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                _ => return Err(bad("contains characters a phone number cannot hold")),
            }
        }
        let international = if trimmed.starts_with('+') {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else {
            format!("{default_country_code}{digits}")
        };
        if international.is_empty() || international.starts_with('0') {
            return Err(bad("has no valid country code"));
        }
        crate::numbering::check(&international)
            .map_err(|why| bad(&format!("cannot be dialled: it {why}")))?;
        Ok(Self(format!("+{international}")))
    }

    /// The E.164 text, with its `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The lawful basis for processing a contact's data, GDPR Art. 6(1)(a)–(f).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// Art. 6(1)(a): the person's consent.
    Consent,
    /// Art. 6(1)(b): performance of a contract with the person.
    Contract,
    /// Art. 6(1)(c): a legal obligation of the controller.
    LegalObligation,
    /// Art. 6(1)(d): the vital interests of a person.
    VitalInterests,
    /// Art. 6(1)(e): a task in the public interest.
    PublicTask,
    /// Art. 6(1)(f): the legitimate interests of the controller.
    LegitimateInterests,
}

impl LegalBasis {
    /// Every basis, in the order of Art. 6(1).
    pub const ALL: [LegalBasis; 6] = [
        Self::Consent,
        Self::Contract,
        Self::LegalObligation,
        Self::VitalInterests,
        Self::PublicTask,
        Self::LegitimateInterests,
    ];

    /// The stable code stored and shown to integrations.
    pub fn code(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::Contract => "contract",
            Self::LegalObligation => "legal_obligation",
            Self::VitalInterests => "vital_interests",
            Self::PublicTask => "public_task",
            Self::LegitimateInterests => "legitimate_interests",
        }
    }

    /// The letter of Art. 6(1).
    pub fn letter(self) -> char {
        match self {
            Self::Consent => 'a',
            Self::Contract => 'b',
            Self::LegalObligation => 'c',
            Self::VitalInterests => 'd',
            Self::PublicTask => 'e',
            Self::LegitimateInterests => 'f',
        }
    }

    /// Parses a code (`legitimate_interests`) or the article letter (`f`, `6.1.f`, `6(1)(f)`).
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let t = text.trim().to_lowercase();
        let letter = t
            .trim_start_matches("art.")
            .trim_start_matches("6(1)(")
            .trim_start_matches("6.1.")
            .trim_end_matches(')');
        Self::ALL
            .into_iter()
            .find(|b| b.code() == t || (letter.len() == 1 && letter.starts_with(b.letter())))
            .ok_or_else(|| {
                DomainError::invalid(
                    "legal_basis",
                    format!("`{text}` is not a GDPR Art. 6(1) basis (a–f or consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests)"),
                )
            })
    }
}

/// What the decision rules need to know about a contact besides its consents (rules 1–4 of
/// [`crate::decision::decide`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactStatus {
    /// When the contact was erased (GDPR Art. 17), if it was.
    pub erased_at: Option<Timestamp>,
    /// Since when processing is restricted (Art. 18), if it is.
    pub restricted_since: Option<Timestamp>,
    /// Since when the person objects to direct marketing (Art. 21(3)), if they do.
    pub objected_since: Option<Timestamp>,
    /// Whether the primary email address is on the suppression list.
    pub email_suppressed: bool,
    /// Whether the primary phone number is on the suppression list.
    pub phone_suppressed: bool,
    /// Since when the person has switched email off, if they have.
    pub email_off_since: Option<Timestamp>,
    /// Since when the person has switched phone calls off, if they have.
    pub phone_off_since: Option<Timestamp>,
    /// Since when the person has switched text messages off, if they have.
    pub sms_off_since: Option<Timestamp>,
}

impl ContactStatus {
    /// Since when the person has switched `channel` off, if they have.
    pub fn off_since(&self, channel: crate::Channel) -> Option<Timestamp> {
        match channel {
            crate::Channel::Email => self.email_off_since,
            crate::Channel::Phone => self.phone_off_since,
            crate::Channel::Sms => self.sms_off_since,
        }
    }
}

/// A name as searches compare it: lower case, Latin accents taken off, so that `nicolo`,
/// `NICOLÒ` and `Nicolò` find each other on every backend (SQLite's `lower()` folds ASCII only;
/// the store keeps this form beside the name and matches against it).
pub fn fold_for_search(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'ď' | 'đ' => 'd',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
            'ł' | 'ľ' => 'l',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
            'ř' => 'r',
            'ś' | 'š' | 'ş' => 's',
            'ť' | 'ţ' => 't',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
            'ý' | 'ÿ' => 'y',
            'ź' | 'ż' | 'ž' => 'z',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lower_cased_and_trimmed() {
        assert_eq!(
            Email::parse("  Mario.Rossi@Example.IT ").unwrap().as_str(),
            "mario.rossi@example.it"
        );
    }

    #[test]
    fn email_without_domain_dot_is_refused() {
        assert_eq!(
            Email::parse("mario@localhost").unwrap_err().field(),
            "email"
        );
        assert!(Email::parse("mario rossi@example.it").is_err());
        assert!(Email::parse("@example.it").is_err());
    }

    #[test]
    fn email_local_parts_with_a_leading_trailing_or_doubled_dot_are_refused() {
        for bad in [
            ".mario@example.it",
            "mario.@example.it",
            "mario..rossi@example.it",
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().field(), "email", "{bad}");
        }
        assert!(Email::parse("mario.rossi.jr@example.it").is_ok());
        assert!(Email::parse("o'brien+news@example.ie").is_ok());
    }

    #[test]
    fn email_with_a_control_character_is_refused() {
        assert!(Email::parse("mario\u{0}@example.it").is_err());
    }

    #[test]
    fn undialable_phones_are_refused_naming_phone() {
        for bad in [
            "+39 333 12",        // an Italian mobile of 5 digits
            "+39 112",           // a short code, not reachable from abroad
            "+280 1234 5678",    // an unassigned country code
            "+1 202 555 012",    // NANP numbers have ten digits
            "+39 0612345678901", // an Italian landline of 13 digits
        ] {
            let err = Phone::parse(bad, "39").unwrap_err();
            assert_eq!(err.field(), "phone", "{bad}");
            assert!(err.to_string().contains("cannot be dialled"), "{err}");
        }
        assert_eq!(
            Phone::parse("+1 (202) 555-0123", "39").unwrap().as_str(),
            "+12025550123"
        );
    }

    #[test]
    fn phones_in_common_formats_become_e164() {
        for text in [
            "+39 333 123 4567",
            "0039 333-1234567",
            "333.123.4567",
            "+39 (333) 1234567",
        ] {
            assert_eq!(
                Phone::parse(text, "39").unwrap().as_str(),
                "+393331234567",
                "{text}"
            );
        }
        assert_eq!(
            Phone::parse("06 1234 5678", "39").unwrap().as_str(),
            "+390612345678"
        );
    }

    #[test]
    fn phones_with_letters_or_too_many_digits_are_refused() {
        assert!(Phone::parse("333-CALL-ME", "39").is_err());
        assert!(Phone::parse("+39 1234567890123456", "39").is_err());
        assert!(Phone::parse("12", "39").is_err());
    }

    #[test]
    fn legal_basis_reads_codes_and_article_letters() {
        assert_eq!(
            LegalBasis::parse("f").unwrap(),
            LegalBasis::LegitimateInterests
        );
        assert_eq!(LegalBasis::parse("6(1)(a)").unwrap(), LegalBasis::Consent);
        assert_eq!(LegalBasis::parse("contract").unwrap(), LegalBasis::Contract);
        assert!(LegalBasis::parse("g").is_err());
    }
}
