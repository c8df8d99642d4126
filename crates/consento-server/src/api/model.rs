//! Shapes shared by several API resources, and the schema names of domain values (instants,
//! actions) as the OpenAPI document shows them.

use consento_domain::{Action, ContactId};
use consento_store::ContactRef;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;

/// What the consents of a type are for: one type, one purpose (GDPR Art. 7(2)).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `Purpose` is what runs.
pub enum PurposeName {
    /// Direct marketing by the controller (the default).
    Marketing,
    /// Profiling, including statistics on customers' habits.
    Profiling,
    /// Disclosure to other controllers for their marketing, for the `categories` named.
    ThirdParty,
    /// Not marketing: service communications.
    Service,
}

/// A way of reaching a person.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `Action` is what runs.
pub enum ActionName {
    /// One email to one person.
    #[serde(rename = "email.single")]
    EmailSingle,
    /// A newsletter or any mass mailing.
    #[serde(rename = "email.bulk")]
    EmailBulk,
    /// A phone call.
    #[serde(rename = "phone.call")]
    PhoneCall,
    /// One SMS to one person.
    #[serde(rename = "sms.single")]
    SmsSingle,
    /// A mass SMS campaign.
    #[serde(rename = "sms.bulk")]
    SmsBulk,
}

/// A form of communication a person can switch off for themself (decision rule 3b).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's `Channel` is what runs.
pub enum ChannelName {
    /// Email, single and bulk.
    Email,
    /// Phone calls.
    Phone,
    /// Text messages, single and bulk.
    Sms,
}

/// Free attributes from the CRM: a JSON object of the CRM's own keys and values.
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)] // Named only in the OpenAPI document: the fields hold a JSON map.
pub struct Attributes(serde_json::Map<String, serde_json::Value>);

/// How a request names a contact: exactly one of our id, the CRM's id, an email address, or a
/// phone number in any common format (`+39 347 123 4567`, `0039…`, `347…` with the default
/// country code).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactSelector {
    /// Our id.
    #[serde(default)]
    pub contact_id: Option<uuid::Uuid>,
    /// The CRM's id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Any of the contact's email addresses.
    #[serde(default)]
    pub email: Option<String>,
    /// Any of the contact's phone numbers.
    #[serde(default)]
    pub phone: Option<String>,
}

impl ContactSelector {
    /// The one reference given; an error naming the selector (`prefix` without its final dot)
    /// when none or several are.
    pub fn reference(&self, prefix: &str) -> Result<ContactRef, ApiError> {
        let given = [
            self.contact_id.map(|id| ContactRef::Id(ContactId(id))),
            self.external_id.clone().map(ContactRef::External),
            self.email.clone().map(ContactRef::Email),
            self.phone.clone().map(ContactRef::Phone),
        ];
        let mut given = given.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(one), None) => Ok(one),
            _ => Err(ApiError::bad_request(
                prefix.trim_end_matches('.'),
                "give exactly one of contact_id, external_id, email, phone",
            )),
        }
    }
}

/// Parses an action name, naming `field` when it is not one.
pub fn action(field: &str, text: &str) -> Result<Action, ApiError> {
    Action::parse(text).map_err(|_| {
        ApiError::bad_request(
            field,
            "must be one of email.single, email.bulk, phone.call, sms.single, sms.bulk",
        )
    })
}
