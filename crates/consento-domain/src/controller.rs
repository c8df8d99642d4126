//! The data controller's identity, as a person is owed it (GDPR Art. 13(1)(a)–(b), Art. 14(1)(a)–(b),
//! Art. 15): its name, postal address, contact email, how to reach its data protection officer,
//! and where its privacy notice is published. What each fact must look like, and which are still
//! missing, is decided here; where the facts are kept (the database, the configuration) is not.

use serde::{Deserialize, Serialize};

use crate::{DomainError, Email};

/// One fact about the controller that an installation is asked for on its first run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControllerField {
    /// Who the controller is (Art. 13(1)(a)).
    Name,
    /// Its postal address (Art. 13(1)(a): "contact details").
    Address,
    /// An email address for privacy matters (Art. 13(1)(a)).
    Email,
    /// How to reach the data protection officer (Art. 13(1)(b)).
    DpoContact,
    /// Where the privacy notice is published (Art. 12(1), Art. 13).
    PrivacyNoticeUrl,
}

impl ControllerField {
    /// Every fact, in the order forms and lists show them.
    pub const ALL: [ControllerField; 5] = [
        ControllerField::Name,
        ControllerField::Address,
        ControllerField::Email,
        ControllerField::DpoContact,
        ControllerField::PrivacyNoticeUrl,
    ];

    /// Its code: the form field, the configuration key under `[controller]`, and the name a
    /// refusal gives.
    pub fn code(self) -> &'static str {
        match self {
            ControllerField::Name => "name",
            ControllerField::Address => "address",
            ControllerField::Email => "email",
            ControllerField::DpoContact => "dpo_contact",
            ControllerField::PrivacyNoticeUrl => "privacy_notice_url",
        }
    }

    /// The longest value accepted, in characters.
    fn max_chars(self) -> usize {
        match self {
            ControllerField::Name => 200,
            ControllerField::Address | ControllerField::DpoContact => 500,
            ControllerField::Email => 254,
            ControllerField::PrivacyNoticeUrl => 2000,
        }
    }
}

/// The controller's facts; `None` is a fact not given. Built by [`ControllerDetails::parse`],
/// whose values are trimmed, non-empty and of the right shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerDetails {
    /// Its name.
    pub name: Option<String>,
    /// Its postal address.
    pub address: Option<String>,
    /// Its email address for privacy matters.
    pub email: Option<String>,
    /// How to reach its data protection officer (an address, an email, a phone number).
    pub dpo_contact: Option<String>,
    /// The address of its privacy notice (`https://` or `http://`).
    pub privacy_notice_url: Option<String>,
}

impl ControllerDetails {
    /// The value of `field`, if given.
    pub fn get(&self, field: ControllerField) -> Option<&str> {
        match field {
            ControllerField::Name => self.name.as_deref(),
            ControllerField::Address => self.address.as_deref(),
            ControllerField::Email => self.email.as_deref(),
            ControllerField::DpoContact => self.dpo_contact.as_deref(),
            ControllerField::PrivacyNoticeUrl => self.privacy_notice_url.as_deref(),
        }
    }

    fn slot(&mut self, field: ControllerField) -> &mut Option<String> {
        match field {
            ControllerField::Name => &mut self.name,
            ControllerField::Address => &mut self.address,
            ControllerField::Email => &mut self.email,
            ControllerField::DpoContact => &mut self.dpo_contact,
            ControllerField::PrivacyNoticeUrl => &mut self.privacy_notice_url,
        }
    }

    /// Sets `field` to `value` as typed (not yet checked: see [`ControllerDetails::parse`]).
    pub fn set(&mut self, field: ControllerField, value: Option<String>) {
        *self.slot(field) = value;
    }

    /// The facts as typed, checked: each trimmed, an empty one not given; a refusal names the
    /// field at fault. A name, address or DPO contact is free text on one line or a few (an
    /// address has several); the email must have the shape of an address (RFC 5321 limits), the
    /// notice's address must start with `https://` or `http://` and name a host.
    pub fn parse(self) -> Result<Self, DomainError> {
        let mut out = Self::default();
        for field in ControllerField::ALL {
            let value = self
                .get(field)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| check(field, v))
                .transpose()?;
            out.set(field, value);
        }
        Ok(out)
    }

    /// The facts not given, in form order.
    pub fn missing(&self) -> Vec<ControllerField> {
        ControllerField::ALL
            .into_iter()
            .filter(|f| self.get(*f).is_none())
            .collect()
    }
}

fn check(field: ControllerField, value: &str) -> Result<String, DomainError> {
    let code = field.code();
    if value.chars().count() > field.max_chars() {
        return Err(DomainError::invalid(
            code,
            format!("must be at most {} characters", field.max_chars()),
        ));
    }
    // Control characters would end up in email headers and JSON documents; line breaks are
    // allowed only where a value may span lines (a postal address, a DPO's contact details).
    let multiline = matches!(
        field,
        ControllerField::Address | ControllerField::DpoContact
    );
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(DomainError::invalid(
            code,
            "must not contain control characters",
        ));
    }
    match field {
        ControllerField::Email => Email::parse(value)
            .map(|e| e.as_str().to_owned())
            .map_err(|_| DomainError::invalid(code, "must be an email address (name@example.it)")),
        ControllerField::PrivacyNoticeUrl => {
            web_address(value).map(str::to_owned).ok_or_else(|| {
                DomainError::invalid(
                    code,
                    "must be a web address starting with https:// or http://",
                )
            })
        }
        _ => Ok(value.to_owned()),
    }
}

/// `value` when it is an absolute `https://` or `http://` address with a host and no spaces.
pub fn web_address(value: &str) -> Option<&str> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let ok = !host.is_empty()
        && !host.starts_with(':')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(pairs: &[(ControllerField, &str)]) -> ControllerDetails {
        let mut d = ControllerDetails::default();
        for (f, v) in pairs {
            d.set(*f, Some((*v).to_owned()));
        }
        d
    }

    #[test]
    fn facts_are_trimmed_and_an_empty_one_is_not_given() {
        let d = typed(&[
            (ControllerField::Name, "  Rossi Caldaie S.r.l. "),
            (ControllerField::Address, "   "),
            (ControllerField::Email, " Privacy@RossiCaldaie.example "),
        ])
        .parse()
        .unwrap();
        assert_eq!(d.name.as_deref(), Some("Rossi Caldaie S.r.l."));
        assert_eq!(d.address, None);
        assert_eq!(d.email.as_deref(), Some("privacy@rossicaldaie.example"));
        assert_eq!(
            d.missing(),
            vec![
                ControllerField::Address,
                ControllerField::DpoContact,
                ControllerField::PrivacyNoticeUrl
            ]
        );
    }

    #[test]
    fn an_email_without_the_shape_of_one_is_refused_naming_the_field() {
        let e = typed(&[(ControllerField::Email, "privacy at rossi")])
            .parse()
            .unwrap_err();
        assert_eq!(e.field(), "email");
    }

    #[test]
    fn the_notice_address_must_be_a_web_address() {
        for bad in [
            "www.rossi.example/privacy",
            "ftp://rossi.example",
            "https://",
            "https:///privacy",
            "https://rossi.example/pri vacy",
        ] {
            let e = typed(&[(ControllerField::PrivacyNoticeUrl, bad)])
                .parse()
                .unwrap_err();
            assert_eq!(e.field(), "privacy_notice_url", "{bad}");
        }
        for good in ["https://rossi.example/privacy", "http://127.0.0.1:8080/p"] {
            let d = typed(&[(ControllerField::PrivacyNoticeUrl, good)])
                .parse()
                .unwrap();
            assert_eq!(d.privacy_notice_url.as_deref(), Some(good));
        }
    }

    #[test]
    fn an_address_may_span_lines_but_a_name_may_not() {
        assert!(
            typed(&[(ControllerField::Address, "Via Roma 1\n20100 Milano")])
                .parse()
                .is_ok()
        );
        let e = typed(&[(ControllerField::Name, "Rossi\nS.r.l.")])
            .parse()
            .unwrap_err();
        assert_eq!(e.field(), "name");
        let long = "x".repeat(201);
        let e = typed(&[(ControllerField::Name, long.as_str())])
            .parse()
            .unwrap_err();
        assert_eq!(e.field(), "name");
    }

    #[test]
    fn nothing_given_means_every_fact_is_missing() {
        assert_eq!(
            ControllerDetails::default().missing(),
            ControllerField::ALL.to_vec()
        );
    }
}
