//! Contacts: creating one, audited with who created it, and how people name a contact where
//! they type one (the command line, the console's request form): our id, an email address, a
//! phone number in any common format, or the CRM's id.

use consento_domain::ContactId;
use consento_store::{Contact, ContactInput, ContactRef};
use serde_json::json;

use crate::audit::By;
use crate::{App, AppError};

impl App {
    /// Creates a contact, audited (`contact.create`) by `by` in the same transaction. The entry
    /// holds its provenance and how many addresses and numbers it has, never the personal data
    /// itself (the record it names holds that, and an erasure removes it).
    pub async fn create_contact(&self, by: &By, input: ContactInput) -> Result<Contact, AppError> {
        let detail = json!({
            "source": input.source,
            "legal_basis": input.legal_basis,
            "purposes": input.purposes,
            "external_id": input.external_id.is_some(),
            "emails": input.emails.len(),
            "phones": input.phones.len(),
        });
        self.audited(
            by,
            "contact.create",
            None,
            detail,
            self.store.create_contact(input),
        )
        .await
    }
}

/// Reads a contact reference: a UUID is our id, text with `@` an email address, `ext:…` the CRM's
/// id, something that looks like a phone number a phone, and anything else the CRM's id.
pub fn parse_ref(text: &str) -> ContactRef {
    let t = text.trim();
    if let Ok(id) = uuid::Uuid::parse_str(t) {
        ContactRef::Id(ContactId(id))
    } else if t.contains('@') {
        ContactRef::Email(t.to_owned())
    } else if let Some(ext) = t.strip_prefix("ext:") {
        ContactRef::External(ext.trim().to_owned())
    } else if looks_like_phone(t) {
        ContactRef::Phone(t.to_owned())
    } else {
        ContactRef::External(t.to_owned())
    }
}

/// Digits with the usual separators and at least six digits: shorter numbers are more likely a
/// CRM's numeric id than a phone number.
fn looks_like_phone(t: &str) -> bool {
    let digits = t.chars().filter(char::is_ascii_digit).count();
    digits >= 6
        && t.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || " -.()/".contains(c) || (c == '+' && i == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_by_their_shape() {
        let id = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        assert!(matches!(parse_ref(id), ContactRef::Id(_)));
        assert_eq!(
            parse_ref("Mario@Example.it"),
            ContactRef::Email("Mario@Example.it".into())
        );
        assert_eq!(
            parse_ref("ext:12345678"),
            ContactRef::External("12345678".into())
        );
        assert_eq!(
            parse_ref("+39 333 123 4567"),
            ContactRef::Phone("+39 333 123 4567".into())
        );
        assert_eq!(parse_ref("CRM-42"), ContactRef::External("CRM-42".into()));
        assert_eq!(parse_ref("4242"), ContactRef::External("4242".into()));
    }
}
