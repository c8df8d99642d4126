//! What lets a telemarketing call through the opt-out register besides a check (migration
//! 0028): a contact's customer relationship (L. 5/2018, art. 1: a contract in force, or ended
//! no more than 30 days ago, allows our own marketing calls), a number's public-directory listing
//! (Codice privacy art. 130(3-bis): a listed number that is not enrolled may be called without
//! consent; an unlisted one needs consent), and a one-off call the person asked for. Each is
//! recorded with its source and who recorded it; call requests are append-only. Also the
//! contact's telemarketing summary the card and the API show.

use consento_domain::{ContactId, DomainError, Phone, Timestamp};
use serde::Serialize;

use crate::row::Cols;
use crate::rpo::RpoNumber;
use crate::{Store, StoreError, in_write_tx, on_read_pool};

/// The longest a source may be (the contract's reference, the directory consulted).
const MAX_SOURCE: usize = 500;

/// A contact's customer contract, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "contract", content = "until", rename_all = "snake_case")]
pub enum CustomerContract {
    /// A contract in force, no end known.
    InForce,
    /// A contract that ends, or ended, at this instant.
    Until(Timestamp),
}

/// A contact's customer relationship, with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerRelationship {
    /// The contract.
    #[serde(flatten)]
    pub contract: CustomerContract,
    /// Where it comes from (the contract's reference, the CRM record).
    pub source: String,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: String,
}

/// A number's public-directory status, with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryListing {
    /// The number (E.164).
    pub phone: String,
    /// Whether it is listed in a public directory.
    pub listed: bool,
    /// The directory consulted, or how it is known.
    pub source: String,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: String,
}

/// A one-off call the person asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRequest {
    /// Its id.
    pub id: uuid::Uuid,
    /// The contact.
    pub contact_id: ContactId,
    /// The number to call (E.164).
    pub phone: String,
    /// When the person asked.
    pub requested_at: Timestamp,
    /// Until when it holds, if no call reaches the person first.
    pub valid_until: Timestamp,
    /// How the person asked (a web form, a call, a letter).
    pub source: String,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: String,
    /// The first call after the request that reached the person (answered, refused, callback,
    /// silent): the one call it allowed. `None` while it is still open.
    pub used_at: Option<Timestamp>,
}

/// One of a contact's numbers, as the register and the directory see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumberStatus {
    /// The number (E.164).
    pub phone: String,
    /// Whether it is the contact's primary number.
    pub primary: bool,
    /// The register's latest answer about it, if it was ever checked.
    pub register: Option<RpoNumber>,
    /// Its public-directory status, if recorded (not listed otherwise).
    pub directory: Option<DirectoryListing>,
}

/// What the card and the API show of a contact's telemarketing facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TelemarketingSummary {
    /// The customer relationship, if recorded.
    pub customer: Option<CustomerRelationship>,
    /// Each number.
    pub numbers: Vec<NumberStatus>,
    /// The call requests, latest first.
    pub call_requests: Vec<CallRequest>,
}

/// A call request to record.
#[derive(Debug, Clone)]
pub struct NewCallRequest {
    /// The number to call, one of the contact's (its primary one when `None`).
    pub phone: Option<String>,
    /// When the person asked (not in the future).
    pub requested_at: Timestamp,
    /// Until when it holds (after `requested_at`).
    pub valid_until: Timestamp,
    /// How the person asked.
    pub source: String,
    /// Who records it.
    pub recorded_by: String,
}

/// The outcomes of a call that reached the person: the one call a request allows.
macro_rules! reached {
    () => {
        "('answered', 'refused_marketing', 'callback_requested', 'silent')"
    };
}
pub(crate) use reached;

fn source(text: &str) -> Result<String, DomainError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_SOURCE {
        return Err(DomainError::invalid(
            "source",
            "say where this comes from, in 1 to 500 characters",
        ));
    }
    Ok(text.to_owned())
}

impl Store {
    /// Records `contact`'s customer relationship (`None` clears it), with its source, by `by`.
    /// Not found for an unknown or erased contact.
    pub async fn set_customer(
        &self,
        contact: ContactId,
        contract: Option<(CustomerContract, &str)>,
        by: &str,
    ) -> Result<Option<CustomerRelationship>, StoreError> {
        let now = self.now();
        let relationship = match contract {
            None => None,
            Some((contract, text)) => Some(CustomerRelationship {
                contract,
                source: source(text)?,
                recorded_at: now,
                recorded_by: by.to_owned(),
            }),
        };
        let (kind, until) = match relationship.as_ref().map(|r| r.contract) {
            None => (None, None),
            Some(CustomerContract::InForce) => (Some("in_force"), None),
            Some(CustomerContract::Until(at)) => (Some("until"), Some(at.as_micros())),
        };
        in_write_tx!(self, tx => {
            let n = sqlx::query("UPDATE contacts SET customer_contract = $2, customer_until = $3, customer_source = $4, customer_recorded_at = $5, customer_recorded_by = $6, updated_at = $7 WHERE id = $1 AND erased_at IS NULL")
                .bind(contact.0).bind(kind).bind(until)
                .bind(relationship.as_ref().map(|r| r.source.clone()))
                .bind(relationship.as_ref().map(|_| now.as_micros()))
                .bind(relationship.as_ref().map(|_| by.to_owned()))
                .bind(now.as_micros())
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::not_found("contact"));
            }
            crate::audit::set_target_id("contact", contact.0);
        });
        Ok(relationship)
    }

    /// Records whether one of `contact`'s numbers (its primary one when `phone` is `None`) is in
    /// a public directory, with the directory as source, by `by`.
    pub async fn set_directory_listing(
        &self,
        contact: ContactId,
        phone: Option<&str>,
        listed: bool,
        source_text: &str,
        by: &str,
    ) -> Result<DirectoryListing, StoreError> {
        let now = self.now();
        let text = source(source_text)?;
        let phone = self.parse_phone(phone)?;
        in_write_tx!(self, tx => {
            let phone = contact_number!(tx, contact, phone);
            sqlx::query("INSERT INTO phone_directory (phone, listed, source, recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (phone) DO UPDATE SET listed = excluded.listed, source = excluded.source, recorded_at = excluded.recorded_at, recorded_by = excluded.recorded_by")
                .bind(&phone).bind(listed).bind(&text).bind(now.as_micros()).bind(by)
                .execute(&mut *tx).await?;
            crate::audit::set_target_id("contact", contact.0);
            Ok(DirectoryListing { phone, listed, source: text, recorded_at: now, recorded_by: by.to_owned() })
        })
    }

    /// Records a one-off call `contact` asked for.
    pub async fn record_call_request(
        &self,
        contact: ContactId,
        request: NewCallRequest,
    ) -> Result<CallRequest, StoreError> {
        let now = self.now();
        let text = source(&request.source)?;
        if request.requested_at > now {
            return Err(DomainError::invalid(
                "requested_at",
                "the person cannot have asked in the future",
            )
            .into());
        }
        if request.valid_until <= now {
            return Err(DomainError::invalid(
                "requested_at",
                "this request has already lapsed: the call it asked for may no longer be made",
            )
            .into());
        }
        let phone = self.parse_phone(request.phone.as_deref())?;
        let id = self.new_uuid(now)?;
        in_write_tx!(self, tx => {
            let phone = contact_number!(tx, contact, phone);
            sqlx::query("INSERT INTO call_requests (id, contact_id, phone, requested_at, valid_until, source, recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(id).bind(contact.0).bind(&phone)
                .bind(request.requested_at.as_micros()).bind(request.valid_until.as_micros())
                .bind(&text).bind(now.as_micros()).bind(&request.recorded_by)
                .execute(&mut *tx).await?;
            crate::audit::set_target_id("contact", contact.0);
            Ok(CallRequest {
                id, contact_id: contact, phone, requested_at: request.requested_at,
                valid_until: request.valid_until, source: text, recorded_at: now,
                recorded_by: request.recorded_by.clone(), used_at: None,
            })
        })
    }

    /// `contact`'s telemarketing facts: its customer relationship, each of its numbers with the
    /// register's latest answer and its directory status, its call requests.
    pub async fn telemarketing_summary(
        &self,
        contact: ContactId,
    ) -> Result<TelemarketingSummary, StoreError> {
        Ok(on_read_pool!(self, pool => {
            let row = sqlx::query("SELECT customer_contract, customer_until, customer_source, customer_recorded_at, customer_recorded_by FROM contacts WHERE id = $1 AND erased_at IS NULL")
                .bind(contact.0).fetch_optional(pool).await?
                .ok_or_else(|| StoreError::not_found("contact"))?;
            let customer = customer_from(&row)?;
            let numbers = sqlx::query(concat!("SELECT p.phone, CASE WHEN p.phone = c.phone THEN TRUE ELSE FALSE END AS is_primary, ", rpo_columns!(), ", d.phone AS listed_phone, d.listed, d.source, d.recorded_at, d.recorded_by FROM contact_phones p JOIN contacts c ON c.id = p.contact_id LEFT JOIN rpo_numbers r ON r.phone = p.phone LEFT JOIN phone_directory d ON d.phone = p.phone WHERE p.contact_id = $1 ORDER BY is_primary DESC, p.phone"))
                .bind(contact.0).fetch_all(pool).await?
                .iter()
                .map(|row| {
                    let phone = row.text("phone")?;
                    Ok(NumberStatus {
                        primary: row.flag("is_primary")?,
                        register: rpo_number_from(row, &phone)?,
                        directory: match row.opt_text("listed_phone")? {
                            None => None,
                            Some(_) => Some(DirectoryListing {
                                phone: phone.clone(),
                                listed: row.flag("listed")?,
                                source: row.text("source")?,
                                recorded_at: Timestamp::from_micros(row.int("recorded_at")?),
                                recorded_by: row.text("recorded_by")?,
                            }),
                        },
                        phone,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let call_requests = sqlx::query(concat!("SELECT q.id, q.phone, q.requested_at, q.valid_until, q.source, q.recorded_at, q.recorded_by, (SELECT MIN(o.called_at) FROM call_outcomes o WHERE o.phone = q.phone AND o.called_at >= q.requested_at AND o.outcome IN ", reached!(), ") AS used_at FROM call_requests q WHERE q.contact_id = $1 ORDER BY q.requested_at DESC"))
                .bind(contact.0).fetch_all(pool).await?
                .iter()
                .map(|row| Ok(CallRequest {
                    id: row.uuid("id")?,
                    contact_id: contact,
                    phone: row.text("phone")?,
                    requested_at: Timestamp::from_micros(row.int("requested_at")?),
                    valid_until: Timestamp::from_micros(row.int("valid_until")?),
                    source: row.text("source")?,
                    recorded_at: Timestamp::from_micros(row.int("recorded_at")?),
                    recorded_by: row.text("recorded_by")?,
                    used_at: row.opt_int("used_at")?.map(Timestamp::from_micros),
                }))
                .collect::<Result<Vec<_>, StoreError>>()?;
            TelemarketingSummary { customer, numbers, call_requests }
        }))
    }

    /// A number given in any common format, in E.164.
    fn parse_phone(&self, phone: Option<&str>) -> Result<Option<Phone>, StoreError> {
        Ok(phone
            .map(|p| Phone::parse(p, &self.country_code))
            .transpose()?)
    }
}

/// The number of `$contact` to record a fact about, in the transaction: `$phone` when it is one
/// of its numbers (404 `phone` otherwise), else its primary one (422 `phone` when it has none).
macro_rules! contact_number {
    ($tx:ident, $contact:expr, $phone:expr) => {{
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT phone FROM contacts WHERE id = $1 AND erased_at IS NULL")
                .bind($contact.0)
                .fetch_optional(&mut *$tx)
                .await?;
        let (primary,) = row.ok_or_else(|| StoreError::not_found("contact"))?;
        match &$phone {
            Some(p) => {
                let known: Option<String> = sqlx::query_scalar(
                    "SELECT phone FROM contact_phones WHERE contact_id = $1 AND phone = $2",
                )
                .bind($contact.0)
                .bind(p.as_str())
                .fetch_optional(&mut *$tx)
                .await?;
                known.ok_or_else(|| StoreError::not_found("phone"))?
            }
            None => primary.ok_or_else(|| {
                StoreError::from(DomainError::invalid(
                    "phone",
                    "the contact has no phone number",
                ))
            })?,
        }
    }};
}
use contact_number;

/// The register's columns of `rpo_numbers r`, as [`rpo_number_from`] reads them.
macro_rules! rpo_columns {
    () => {
        "r.answered_at, r.valid_until, r.enrolled, r.enrolled_found_at"
    };
}
pub(crate) use rpo_columns;

/// The register's latest answer about `phone` from a row with [`RPO_COLUMNS`].
pub(crate) fn rpo_number_from<R: Cols>(
    row: &R,
    phone: &str,
) -> Result<Option<RpoNumber>, StoreError> {
    let Some(answered_at) = row.opt_int("answered_at")? else {
        return Ok(None);
    };
    Ok(Some(RpoNumber {
        phone: phone.to_owned(),
        answered_at: Timestamp::from_micros(answered_at),
        valid_until: Timestamp::from_micros(row.int("valid_until")?),
        enrolled: row.flag("enrolled")?,
        enrolled_found_at: row
            .opt_int("enrolled_found_at")?
            .map(Timestamp::from_micros),
    }))
}

/// The customer relationship from a row with the `customer_*` columns.
pub(crate) fn customer_from<R: Cols>(row: &R) -> Result<Option<CustomerRelationship>, StoreError> {
    let contract = match row.opt_text("customer_contract")?.as_deref() {
        None => return Ok(None),
        Some("in_force") => CustomerContract::InForce,
        Some("until") => {
            CustomerContract::Until(Timestamp::from_micros(row.int("customer_until")?))
        }
        Some(_) => return Err(StoreError::Corrupt("contacts.customer_contract")),
    };
    Ok(Some(CustomerRelationship {
        contract,
        source: row.text("customer_source")?,
        recorded_at: Timestamp::from_micros(row.int("customer_recorded_at")?),
        recorded_by: row.text("customer_recorded_by")?,
    }))
}
