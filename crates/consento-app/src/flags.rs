//! Setting and lifting a contact's restriction of processing (GDPR Art. 18) and objection
//! (Art. 21) for the API, the console and the command line alike: the actor is recorded in the
//! flag history, and lifting a restriction writes the email that tells the person (Art. 18(3))
//! to the outbox in the same transaction; the mail worker delivers it.

use consento_domain::{Actor, Locale};
use consento_store::{Contact, ContactFlag, ContactRef, FlagChange, FlagNotice};
use serde_json::json;

use crate::audit::By;
use crate::mail::RESTRICTION_LIFTED;
use crate::{App, AppError};

impl App {
    /// Sets (`raised`) or lifts `flag` on `contact` as `actor`, and returns the contact after it.
    /// Lifting a restriction tells the person by email, when they have an address, in `locale`
    /// (the person's language is not known: else the deployment's default), naming how to reach
    /// the controller. Setting a flag already set, or lifting one not set, changes nothing. The
    /// change is audited (`contact.restriction`, `contact.objection`) by `by` in its
    /// transaction.
    pub async fn change_flag(
        &self,
        by: &By,
        contact: &ContactRef,
        flag: ContactFlag,
        raised: bool,
        actor: Actor,
        locale: Option<Locale>,
    ) -> Result<Contact, AppError> {
        let store = &self.store;
        let before = store.contact(contact).await?;
        let lifting = flag == ContactFlag::Restriction && !raised;
        // The controller as named now (GDPR Art. 18(3): the person learns who lifted it and
        // how to reach them); read only when an email is written.
        let named = if lifting {
            Some(self.controller().await?)
        } else {
            None
        };
        let notice = named.map(|named| FlagNotice {
            locale: locale
                .unwrap_or(self.policy.default_locale)
                .code()
                .to_owned(),
            template: RESTRICTION_LIFTED.to_owned(),
            payload: json!({
                "restricted_since": before.restricted_at.map(|at| at.as_micros()),
                "lifted_at": store.now().as_micros(),
                "contact": named.contact,
                "controller": named.name_given.then_some(named.name),
            }),
        });
        let change = FlagChange {
            flag,
            raised,
            actor,
            request_id: None,
            notice,
        };
        let was = match flag {
            ContactFlag::Restriction => before.restricted_at,
            ContactFlag::Objection => before.objected_at,
        };
        // Set since the moment it is set (the store's clock, read just before it writes), or
        // since before when it already was.
        let after = if raised {
            was.or(Some(store.now()))
        } else {
            None
        };
        self.audited(
            by,
            &format!("contact.{}", flag.code()),
            Some(("contact", before.id.0.to_string())),
            json!({ "before": was, "after": after }),
            store.change_flag(&ContactRef::Id(before.id), &change),
        )
        .await?;
        Ok(store.contact(&ContactRef::Id(before.id)).await?)
    }
}
