//! Contacts: identity (our id, the CRM's external id), channels (normalised emails, E.164
//! phones), provenance (source, Art. 6(1) legal basis, purposes), and the restriction (Art. 18)
//! and objection (Art. 21) flags the decision rules honour, and the forms of communication the
//! person switched off; and the suppression list of keyed hashes that keeps objecting and erased
//! people out of bulk sends.

use consento_domain::text::{self, Lines};
use consento_domain::{
    Actor, ActorKind, Channel, CollectionMethod, ContactId, DomainError, Email, LegalBasis, Phone,
    Timestamp,
};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::flags::{ContactFlag, FlagChange};
use crate::row::Cols;
use crate::users::insert_audit;
use crate::{
    AuditActor, ChannelEvent, Contact, ContactInput, ContactRef, Store, StoreError, in_write_tx,
    on_read_pool,
};

/// A contact's input after validation.
pub(crate) struct ValidContact {
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub attributes: String,
    pub source: Option<String>,
    pub legal_basis: Option<LegalBasis>,
    pub purposes: String,
}

/// The fields a rectification changed: for each, `{"before": …, "after": …}` (only the changed
/// ones; lists and attributes whole).
pub type FieldChanges = serde_json::Map<String, serde_json::Value>;

/// A contact's rectifiable fields as JSON values, in one shape for the row before and the input
/// after, so that comparing them finds exactly the changed fields.
#[allow(clippy::too_many_arguments)]
fn snapshot(
    external_id: &Option<String>,
    name: &Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    attributes: &str,
    source: &Option<String>,
    legal_basis: Option<&str>,
    purposes: &str,
) -> Result<Vec<(&'static str, serde_json::Value)>, StoreError> {
    let parse = |text: &str, what: &'static str| {
        serde_json::from_str::<serde_json::Value>(text).map_err(|_| StoreError::Corrupt(what))
    };
    Ok(vec![
        ("name", serde_json::json!(name)),
        ("emails", serde_json::json!(emails)),
        ("phones", serde_json::json!(phones)),
        ("external_id", serde_json::json!(external_id)),
        ("attributes", parse(attributes, "contact attributes")?),
        ("source", serde_json::json!(source)),
        ("legal_basis", serde_json::json!(legal_basis)),
        ("purposes", parse(purposes, "contact purposes")?),
    ])
}

/// The fields whose values differ, with both values.
fn diff(
    before: Vec<(&'static str, serde_json::Value)>,
    after: Vec<(&'static str, serde_json::Value)>,
) -> FieldChanges {
    before
        .into_iter()
        .zip(after)
        .filter(|((_, b), (_, a))| a != b)
        .map(|((field, b), (_, a))| {
            (
                field.to_owned(),
                serde_json::json!({ "before": b, "after": a }),
            )
        })
        .collect()
}

/// The keyed hashes of a contact's primary email and phone.
pub(crate) type PrimaryHashes = (Option<Vec<u8>>, Option<Vec<u8>>);

/// A line of a contact search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactSummary {
    /// Our id.
    pub id: ContactId,
    /// The CRM's id.
    pub external_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Primary email.
    pub email: Option<String>,
    /// Primary phone.
    pub phone: Option<String>,
    /// Since when processing is restricted (GDPR Art. 18), if it is: a list shows it as a badge.
    pub restricted_at: Option<Timestamp>,
    /// Since when the person objects to direct marketing (Art. 21), if they do.
    pub objected_at: Option<Timestamp>,
    /// When the contact was erased (Art. 17), if it was.
    pub erased_at: Option<Timestamp>,
}

/// A trimmed, optional single-line field (names, ids, sources, purposes): no control characters
/// ([`consento_domain::text`]), at most `max` characters.
fn optional_text(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    text::optional(field, value.as_deref(), max, Lines::One)
}

/// The INSERT and the UPDATE of a contact's own row take the same parameters in the same order
/// ([`bind_contact`]): $1 id, $2 external id, $3 name, $4–$7 primary email and phone with their
/// keyed hashes, $8 attributes, $9 source, $10 legal basis, $11 purposes, $12 the instant, $13 the
/// name folded for search.
pub(crate) const INSERT_CONTACT: &str = "INSERT INTO contacts (id, external_id, name, email, email_hash, phone, phone_hash, attributes, source, legal_basis, purposes, created_at, updated_at, name_folded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)";
const UPDATE_CONTACT: &str = "UPDATE contacts SET external_id = $2, name = $3, email = $4, email_hash = $5, phone = $6, phone_hash = $7, attributes = $8, source = $9, legal_basis = $10, purposes = $11, updated_at = $12, name_folded = $13 WHERE id = $1";

/// Binds a validated contact to [`INSERT_CONTACT`] or [`UPDATE_CONTACT`].
macro_rules! bind_contact {
    ($sql:expr, $id:expr, $v:expr, $hashes:expr, $now:expr) => {
        sqlx::query($sql)
            .bind($id.0)
            .bind(&$v.external_id)
            .bind(&$v.name)
            .bind($v.emails.first().map(Email::as_str))
            .bind(&$hashes.0)
            .bind($v.phones.first().map(Phone::as_str))
            .bind(&$hashes.1)
            .bind(&$v.attributes)
            .bind(&$v.source)
            .bind($v.legal_basis.map(LegalBasis::code))
            .bind(&$v.purposes)
            .bind($now.as_micros())
            .bind($v.name.as_deref().map(consento_domain::fold_for_search))
    };
}

/// Writes a contact's addresses and numbers, in order (position 0 is the primary).
macro_rules! insert_channels {
    ($tx:ident, $id:expr, $v:expr) => {
        for (i, e) in $v.emails.iter().enumerate() {
            sqlx::query(
                "INSERT INTO contact_emails (email, contact_id, position) VALUES ($1, $2, $3)",
            )
            .bind(e.as_str())
            .bind($id.0)
            .bind(i as i64)
            .execute(&mut *$tx)
            .await?;
        }
        for (i, p) in $v.phones.iter().enumerate() {
            sqlx::query(
                "INSERT INTO contact_phones (phone, contact_id, position) VALUES ($1, $2, $3)",
            )
            .bind(p.as_str())
            .bind($id.0)
            .bind(i as i64)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

pub(crate) use {bind_contact, insert_channels};

fn summary_from(row: &impl Cols) -> Result<ContactSummary, StoreError> {
    Ok(ContactSummary {
        id: ContactId(row.uuid("id")?),
        external_id: row.opt_text("external_id")?,
        name: row.opt_text("name")?,
        email: row.opt_text("email")?,
        phone: row.opt_text("phone")?,
        restricted_at: row.opt_int("restricted_at")?.map(Timestamp::from_micros),
        objected_at: row.opt_int("objected_at")?.map(Timestamp::from_micros),
        erased_at: row.opt_int("erased_at")?.map(Timestamp::from_micros),
    })
}

impl Store {
    pub(crate) fn validate_contact(
        &self,
        input: ContactInput,
    ) -> Result<ValidContact, DomainError> {
        let mut emails: Vec<Email> = Vec::new();
        for e in &input.emails {
            let e = Email::parse(e)?;
            if !emails.contains(&e) {
                emails.push(e);
            }
        }
        let mut phones: Vec<Phone> = Vec::new();
        for p in &input.phones {
            let p = Phone::parse(p, &self.country_code)?;
            if !phones.contains(&p) {
                phones.push(p);
            }
        }
        let mut purposes: Vec<String> = Vec::new();
        for p in input.purposes {
            let p = optional_text("purposes", Some(p), 200)?;
            if let Some(p) = p.filter(|p| !purposes.contains(p)) {
                purposes.push(p);
            }
        }
        Ok(ValidContact {
            external_id: optional_text("external_id", input.external_id, 128)?,
            name: optional_text("name", input.name, 200)?,
            emails,
            phones,
            attributes: {
                let attributes = serde_json::Value::Object(input.attributes);
                text::check_json("attributes", &attributes)?;
                attributes.to_string()
            },
            source: optional_text("source", input.source, 200)?,
            legal_basis: input
                .legal_basis
                .as_deref()
                .map(LegalBasis::parse)
                .transpose()?,
            purposes: serde_json::to_string(&purposes)
                .map_err(|_| DomainError::invalid("purposes", "cannot be stored"))?,
        })
    }

    /// The keyed hash (HMAC-SHA-256 with this instance's secret key) of a normalised address or
    /// number: the suppression list stores only these, so it reveals nothing to whoever reads it
    /// without the key, yet still matches a re-imported address.
    pub(crate) fn channel_hash(
        &self,
        channel: &str,
        normalised: &str,
    ) -> Result<Vec<u8>, StoreError> {
        keyed_hash(&self.suppression_key, channel, normalised)
    }

    /// The keyed hashes of a contact's primary address and number.
    pub(crate) fn primary_hashes(&self, v: &ValidContact) -> Result<PrimaryHashes, StoreError> {
        let email = v
            .emails
            .first()
            .map(|e| self.channel_hash("email", e.as_str()))
            .transpose()?;
        let phone = v
            .phones
            .first()
            .map(|p| self.channel_hash("phone", p.as_str()))
            .transpose()?;
        Ok((email, phone))
    }

    /// Creates a contact. Email addresses, phone numbers and the external id are unique across
    /// contacts (a conflict names the field).
    pub async fn create_contact(&self, input: ContactInput) -> Result<Contact, StoreError> {
        let v = self.validate_contact(input)?;
        let hashes = self.primary_hashes(&v)?;
        let now = self.now();
        let id = ContactId(self.new_uuid(now)?);
        crate::audit::set_target_id("contact", id.0);
        in_write_tx!(self, tx => {
            bind_contact!(INSERT_CONTACT, id, v, hashes, now).execute(&mut *tx).await?;
            insert_channels!(tx, id, v);
        });
        self.contact(&ContactRef::Id(id)).await
    }

    /// Replaces a contact's fields with `input` (emails and phones as a whole), audited as done
    /// by the system (the command line). An erased contact cannot be changed.
    pub async fn update_contact(
        &self,
        contact: &ContactRef,
        input: ContactInput,
    ) -> Result<Contact, StoreError> {
        Ok(self
            .rectify_contact(contact, input, AuditActor::System)
            .await?
            .0)
    }

    /// Rectifies a contact (GDPR Art. 16): replaces its fields with `input` (emails and phones as
    /// a whole) and, in the same transaction, appends to the audit trail a `contact.update` entry
    /// by `by` holding the before and after of each field that changed, and of no other. A save
    /// that changes nothing writes nothing and returns no changes. An erased contact cannot be
    /// changed.
    pub async fn rectify_contact(
        &self,
        contact: &ContactRef,
        input: ContactInput,
        by: AuditActor,
    ) -> Result<(Contact, FieldChanges), StoreError> {
        let v = self.validate_contact(input)?;
        let hashes = self.primary_hashes(&v)?;
        let id = self.resolve_contact(contact).await?;
        let now = self.now();
        let audit_id = self.new_uuid(now)?;
        let after = snapshot(
            &v.external_id,
            &v.name,
            v.emails.iter().map(|e| e.as_str().to_owned()).collect(),
            v.phones.iter().map(|p| p.as_str().to_owned()).collect(),
            &v.attributes,
            &v.source,
            v.legal_basis.map(LegalBasis::code),
            &v.purposes,
        )?;
        let changes = in_write_tx!(self, tx => {
            let row = sqlx::query("SELECT external_id, name, attributes, source, legal_basis, purposes, erased_at FROM contacts WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::not_found("contact"))?;
            if row.opt_int("erased_at")?.is_some() {
                return Err(StoreError::conflict("id", "the contact was erased"));
            }
            let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM contact_emails WHERE contact_id = $1 ORDER BY position")
                .bind(id.0).fetch_all(&mut *tx).await?;
            let phones: Vec<String> = sqlx::query_scalar("SELECT phone FROM contact_phones WHERE contact_id = $1 ORDER BY position")
                .bind(id.0).fetch_all(&mut *tx).await?;
            let before = snapshot(
                &row.opt_text("external_id")?,
                &row.opt_text("name")?,
                emails,
                phones,
                &row.text("attributes")?,
                &row.opt_text("source")?,
                row.opt_text("legal_basis")?.as_deref(),
                &row.text("purposes")?,
            )?;
            let changes = diff(before, after);
            if !changes.is_empty() {
                bind_contact!(UPDATE_CONTACT, id, v, hashes, now).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM contact_emails WHERE contact_id = $1").bind(id.0).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM contact_phones WHERE contact_id = $1").bind(id.0).execute(&mut *tx).await?;
                insert_channels!(tx, id, v);
                let entry = by.entry("contact.update", Some(("contact", id.to_string())), serde_json::json!({ "changes": changes }));
                let detail = serde_json::to_string(&entry.detail).map_err(|_| StoreError::Corrupt("audit detail"))?;
                insert_audit!(tx, audit_id, now, entry, detail);
            }
            changes
        });
        Ok((self.contact(&ContactRef::Id(id)).await?, changes))
    }

    /// Finds a contact's id by any of its identifiers. Emails and phones are normalised first,
    /// so any common spelling finds the contact.
    pub async fn resolve_contact(&self, contact: &ContactRef) -> Result<ContactId, StoreError> {
        let found: Option<uuid::Uuid> = match contact {
            ContactRef::Id(id) => on_read_pool!(self, pool => {
                sqlx::query_scalar("SELECT id FROM contacts WHERE id = $1").bind(id.0).fetch_optional(pool).await?
            }),
            ContactRef::External(ext) => on_read_pool!(self, pool => {
                sqlx::query_scalar("SELECT id FROM contacts WHERE external_id = $1").bind(ext.trim()).fetch_optional(pool).await?
            }),
            ContactRef::Email(e) => {
                let e = Email::parse(e)?;
                on_read_pool!(self, pool => {
                    sqlx::query_scalar("SELECT contact_id FROM contact_emails WHERE email = $1").bind(e.as_str()).fetch_optional(pool).await?
                })
            }
            ContactRef::Phone(p) => {
                let p = Phone::parse(p, &self.country_code)?;
                on_read_pool!(self, pool => {
                    sqlx::query_scalar("SELECT contact_id FROM contact_phones WHERE phone = $1").bind(p.as_str()).fetch_optional(pool).await?
                })
            }
        };
        found
            .map(ContactId)
            .ok_or_else(|| StoreError::not_found("contact"))
    }

    /// A contact's id without a lookup when the caller already has it (the statement using it
    /// checks that it exists).
    pub(crate) async fn contact_key(&self, contact: &ContactRef) -> Result<ContactId, StoreError> {
        match contact {
            ContactRef::Id(id) => Ok(*id),
            other => self.resolve_contact(other).await,
        }
    }

    /// A contact with all its fields.
    pub async fn contact(&self, contact: &ContactRef) -> Result<Contact, StoreError> {
        let id = self.resolve_contact(contact).await?;
        on_read_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT id, external_id, name, attributes, source, legal_basis, purposes, restricted_at, objected_at, erased_at, email_off_at, phone_off_at, sms_off_at, created_at, updated_at FROM contacts WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::not_found("contact"))?;
            let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM contact_emails WHERE contact_id = $1 ORDER BY position")
                .bind(id.0).fetch_all(pool).await?;
            let phones: Vec<String> = sqlx::query_scalar("SELECT phone FROM contact_phones WHERE contact_id = $1 ORDER BY position")
                .bind(id.0).fetch_all(pool).await?;
            let ts = |v: Option<i64>| v.map(Timestamp::from_micros);
            Ok(Contact {
                id,
                external_id: row.opt_text("external_id")?,
                name: row.opt_text("name")?,
                emails: emails.iter().map(|e| Email::parse(e)).collect::<Result<_, _>>()?,
                phones: phones.iter().map(|p| Phone::parse(p, &self.country_code)).collect::<Result<_, _>>()?,
                attributes: serde_json::from_str(&row.text("attributes")?).map_err(|_| StoreError::Corrupt("contact attributes"))?,
                source: row.opt_text("source")?,
                legal_basis: row.opt_text("legal_basis")?.as_deref().map(LegalBasis::parse).transpose()?,
                purposes: serde_json::from_str(&row.text("purposes")?).map_err(|_| StoreError::Corrupt("contact purposes"))?,
                restricted_at: ts(row.opt_int("restricted_at")?),
                objected_at: ts(row.opt_int("objected_at")?),
                erased_at: ts(row.opt_int("erased_at")?),
                email_off_at: ts(row.opt_int("email_off_at")?),
                phone_off_at: ts(row.opt_int("phone_off_at")?),
                sms_off_at: ts(row.opt_int("sms_off_at")?),
                created_at: Timestamp::from_micros(row.int("created_at")?),
                updated_at: Timestamp::from_micros(row.int("updated_at")?),
            })
        })
    }

    /// Searches contacts: an email address or phone number matches exactly (normalised), anything
    /// else matches the external id exactly or the name by substring, case-insensitively.
    pub async fn search_contacts(
        &self,
        query: &str,
        limit: i64,
    ) -> Result<Vec<ContactSummary>, StoreError> {
        let q = query.trim();
        let limit = limit.clamp(1, 500);
        if q.contains('@') {
            return self
                .contact_summaries(ContactRef::Email(q.to_owned()))
                .await;
        }
        if q.chars().filter(char::is_ascii_digit).count() >= 6
            && Phone::parse(q, &self.country_code).is_ok()
        {
            return self
                .contact_summaries(ContactRef::Phone(q.to_owned()))
                .await;
        }
        let pattern = format!(
            "%{}%",
            consento_domain::fold_for_search(q)
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        on_read_pool!(self, pool => {
            sqlx::query(
                "SELECT id, external_id, name, email, phone, restricted_at, objected_at, erased_at FROM contacts WHERE erased_at IS NULL AND (external_id = $1 OR name_folded LIKE $2 ESCAPE '\\') ORDER BY name, id LIMIT $3",
            )
            .bind(q)
            .bind(&pattern)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(summary_from)
            .collect()
        })
    }

    /// A page of contacts in id order (UUIDv7: creation order), after `after` (keyset paging:
    /// each page costs one index range scan however deep it is).
    pub async fn list_contacts(
        &self,
        after: Option<ContactId>,
        limit: i64,
    ) -> Result<Vec<ContactSummary>, StoreError> {
        let limit = limit.clamp(1, 10_000);
        on_read_pool!(self, pool => {
            let q = match after {
                Some(a) => sqlx::query("SELECT id, external_id, name, email, phone, restricted_at, objected_at, erased_at FROM contacts WHERE id > $1 ORDER BY id LIMIT $2").bind(a.0).bind(limit),
                None => sqlx::query("SELECT id, external_id, name, email, phone, restricted_at, objected_at, erased_at FROM contacts ORDER BY id LIMIT $1").bind(limit),
            };
            q.fetch_all(pool).await?.iter().map(summary_from).collect()
        })
    }

    /// The one contact `r` names, as a list of zero or one summaries (a lookup shown like a
    /// search).
    pub async fn contact_summaries(
        &self,
        r: ContactRef,
    ) -> Result<Vec<ContactSummary>, StoreError> {
        match self.contact(&r).await {
            Ok(c) => Ok(vec![ContactSummary {
                id: c.id,
                external_id: c.external_id,
                name: c.name,
                email: c.emails.first().map(|e| e.as_str().to_owned()),
                phone: c.phones.first().map(|p| p.as_str().to_owned()),
                restricted_at: c.restricted_at,
                objected_at: c.objected_at,
                erased_at: c.erased_at,
            }]),
            Err(StoreError::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Restricts processing (GDPR Art. 18) or lifts the restriction, recorded as done by the
    /// system (see [`Store::change_flag`] for an operator's or a request's change). While
    /// restricted, every contact is blocked, with no override.
    pub async fn set_restricted(
        &self,
        contact: &ContactRef,
        restricted: bool,
    ) -> Result<Contact, StoreError> {
        self.change_flag(
            contact,
            &FlagChange::system(ContactFlag::Restriction, restricted),
        )
        .await?;
        self.contact(contact).await
    }

    /// Records an objection to direct marketing (GDPR Art. 21(3)), or its withdrawal, as done by
    /// the system (see [`Store::change_flag`]). An objection also puts the primary address and
    /// number on the suppression list, so a later re-import under another id cannot mail them;
    /// withdrawing it takes them off again.
    pub async fn set_objected(
        &self,
        contact: &ContactRef,
        objected: bool,
    ) -> Result<Contact, StoreError> {
        self.change_flag(
            contact,
            &FlagChange::system(ContactFlag::Objection, objected),
        )
        .await?;
        self.contact(contact).await
    }

    /// Records that the person switched `channel` off (or back on), with how, who and the
    /// evidence, in one transaction: the contact's flag (read by every decision and the audience,
    /// rule 3b) and an append-only history row. Switching to the state it is already in records
    /// nothing.
    pub async fn set_channel(
        &self,
        contact: &ContactRef,
        channel: Channel,
        off: bool,
        method: CollectionMethod,
        actor: &Actor,
        evidence: Option<&str>,
    ) -> Result<Contact, StoreError> {
        let id = self.resolve_contact(contact).await?;
        let evidence = text::optional("evidence", evidence, 16_384, Lines::Many)?;
        let now = self.now();
        let event_id = self.new_uuid(now)?;
        // One statement per channel: a column name cannot be a bound parameter.
        let update = match channel {
            Channel::Email => {
                "UPDATE contacts SET email_off_at = CASE WHEN $2 THEN $3 ELSE NULL END, updated_at = $3 WHERE id = $1 AND erased_at IS NULL AND ((email_off_at IS NULL) = $2)"
            }
            Channel::Phone => {
                "UPDATE contacts SET phone_off_at = CASE WHEN $2 THEN $3 ELSE NULL END, updated_at = $3 WHERE id = $1 AND erased_at IS NULL AND ((phone_off_at IS NULL) = $2)"
            }
            Channel::Sms => {
                "UPDATE contacts SET sms_off_at = CASE WHEN $2 THEN $3 ELSE NULL END, updated_at = $3 WHERE id = $1 AND erased_at IS NULL AND ((sms_off_at IS NULL) = $2)"
            }
        };
        in_write_tx!(self, tx => {
            let changed = sqlx::query(update)
                .bind(id.0).bind(off).bind(now.as_micros())
                .execute(&mut *tx).await?.rows_affected();
            if changed > 0 {
                sqlx::query("INSERT INTO channel_events (id, contact_id, channel, switched_off, at, method, actor_kind, actor_id, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(event_id).bind(id.0).bind(channel.code()).bind(off).bind(now.as_micros())
                    .bind(method.code()).bind(actor.kind.code()).bind(&actor.id).bind(&evidence)
                    .execute(&mut *tx).await?;
            }
        });
        let contact = self.contact(&ContactRef::Id(id)).await?;
        if contact.erased_at.is_some() {
            return Err(StoreError::conflict("contact", "the contact was erased"));
        }
        Ok(contact)
    }

    /// Every channel switch of a contact, oldest first.
    pub async fn channel_history(
        &self,
        contact: &ContactRef,
    ) -> Result<Vec<ChannelEvent>, StoreError> {
        let id = self.resolve_contact(contact).await?;
        on_read_pool!(self, pool => {
            sqlx::query("SELECT channel, switched_off, at, method, actor_kind, actor_id, evidence FROM channel_events WHERE contact_id = $1 ORDER BY at, id")
                .bind(id.0)
                .fetch_all(pool).await?
                .iter()
                .map(|row| {
                    Ok(ChannelEvent {
                        channel: Channel::parse(&row.text("channel")?)?,
                        switched_off: row.flag("switched_off")?,
                        at: Timestamp::from_micros(row.int("at")?),
                        method: CollectionMethod::parse(&row.text("method")?)?,
                        actor: Actor {
                            kind: ActorKind::parse(&row.text("actor_kind")?)?,
                            id: row.text("actor_id")?,
                        },
                        evidence: row.opt_text("evidence")?,
                    })
                })
                .collect()
        })
    }

    /// Puts an address or number on the suppression list (reason: `objection`, `erasure`,
    /// `complaint`, `bounce`…).
    pub async fn suppress(
        &self,
        channel_value: &ContactRef,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (channel, normalised) = match channel_value {
            ContactRef::Email(e) => ("email", Email::parse(e)?.as_str().to_owned()),
            ContactRef::Phone(p) => (
                "phone",
                Phone::parse(p, &self.country_code)?.as_str().to_owned(),
            ),
            _ => {
                return Err(DomainError::invalid(
                    "channel",
                    "give an email address or a phone number",
                )
                .into());
            }
        };
        let reason = optional_text("reason", Some(reason.to_owned()), 64)?
            .ok_or_else(|| DomainError::invalid("reason", "is required"))?;
        let hash = self.channel_hash(channel, &normalised)?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query("INSERT INTO suppression (hash, channel, reason, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING")
                .bind(hash).bind(channel).bind(&reason).bind(now)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Whether an address or number is on the suppression list (matched by its keyed hash, so any
    /// spelling of it matches).
    pub async fn is_suppressed(&self, channel_value: &ContactRef) -> Result<bool, StoreError> {
        let hash = match channel_value {
            ContactRef::Email(e) => self.channel_hash("email", Email::parse(e)?.as_str())?,
            ContactRef::Phone(p) => {
                self.channel_hash("phone", Phone::parse(p, &self.country_code)?.as_str())?
            }
            _ => {
                return Err(DomainError::invalid(
                    "channel",
                    "give an email address or a phone number",
                )
                .into());
            }
        };
        on_read_pool!(self, pool => {
            let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppression WHERE hash = $1")
                .bind(hash)
                .fetch_one(pool)
                .await?;
            Ok(found > 0)
        })
    }
}

impl Store {
    /// A page of the contacts whose name contains `query` (case-insensitively) or whose external
    /// id is exactly `query`, erased contacts left out, in id order after `after`: keyset paging,
    /// so every page costs the same however deep it is and a contact added meanwhile is neither
    /// skipped nor repeated. The API's paged search (`GET /v1/contacts?q=`).
    pub async fn search_contacts_page(
        &self,
        query: &str,
        after: Option<ContactId>,
        limit: i64,
    ) -> Result<Vec<ContactSummary>, StoreError> {
        let q = query.trim();
        let limit = limit.clamp(1, 10_000);
        // LIKE's own wildcards in the query are matched literally.
        let pattern = format!(
            "%{}%",
            consento_domain::fold_for_search(q)
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        on_read_pool!(self, pool => {
            let q = match after {
                Some(a) => sqlx::query("SELECT id, external_id, name, email, phone, restricted_at, objected_at, erased_at FROM contacts WHERE erased_at IS NULL AND (external_id = $1 OR name_folded LIKE $2 ESCAPE '\\') AND id > $3 ORDER BY id LIMIT $4").bind(q).bind(&pattern).bind(a.0).bind(limit),
                None => sqlx::query("SELECT id, external_id, name, email, phone, restricted_at, objected_at, erased_at FROM contacts WHERE erased_at IS NULL AND (external_id = $1 OR name_folded LIKE $2 ESCAPE '\\') ORDER BY id LIMIT $3").bind(q).bind(&pattern).bind(limit),
            };
            q.fetch_all(pool).await?.iter().map(summary_from).collect()
        })
    }
}

impl Store {
    /// Fills the folded name of contacts written before it existed (migration 4), a batch per
    /// transaction; a no-op once done. Runs at open, so searches find every contact.
    pub(crate) async fn fold_names(&self) -> Result<(), StoreError> {
        loop {
            let batch: Vec<(uuid::Uuid, String)> = on_read_pool!(self, pool => {
                sqlx::query_as("SELECT id, name FROM contacts WHERE name IS NOT NULL AND name_folded IS NULL LIMIT 5000")
                    .fetch_all(pool).await?
            });
            if batch.is_empty() {
                return Ok(());
            }
            in_write_tx!(self, tx => {
                for (id, name) in &batch {
                    sqlx::query("UPDATE contacts SET name_folded = $2 WHERE id = $1 AND name = $3")
                        .bind(id).bind(consento_domain::fold_for_search(name)).bind(name)
                        .execute(&mut *tx).await?;
                }
            });
        }
    }
}

/// [`Store::channel_hash`] with the key given: for a writer that runs on a thread of its own
/// (the SQLite import).
pub(crate) fn keyed_hash(
    key: &[u8; 32],
    channel: &str,
    normalised: &str,
) -> Result<Vec<u8>, StoreError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| StoreError::Corrupt("suppression key"))?;
    mac.update(channel.as_bytes());
    mac.update(b":");
    mac.update(normalised.as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}
