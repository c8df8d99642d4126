//! Setting and lifting a contact's restriction of processing (GDPR Art. 18) and objection
//! (Art. 21) for the API, the console and the command line alike: the actor is recorded in the
//! flag history, and lifting a restriction writes the email that tells the person (Art. 18(3))
//! to the outbox in the same transaction; the mail worker delivers it.

use consento_domain::Actor;
use consento_store::{Contact, ContactFlag, ContactRef, FlagChange, FlagNotice, Store, StoreError};
use serde_json::json;

use crate::mail::message::RESTRICTION_LIFTED;

/// Who is told, and how, when a restriction is lifted.
#[derive(Debug, Clone, Copy)]
pub struct NoticeSettings<'a> {
    /// The language of the email (`it`, `en`): the person's language is not known, so the
    /// deployment's default.
    pub locale: &'a str,
    /// How to reach the controller, named in the email (`[controller] contact`).
    pub contact: &'a str,
}

/// Sets (`raised`) or lifts `flag` on `contact` as `actor`, and returns the contact after it.
/// Lifting a restriction tells the person by email, when they have an address. Setting a flag
/// already set, or lifting one not set, changes nothing.
pub async fn change(
    store: &Store,
    contact: &ContactRef,
    flag: ContactFlag,
    raised: bool,
    actor: Actor,
    notice: NoticeSettings<'_>,
) -> Result<Contact, StoreError> {
    let before = store.contact(contact).await?;
    let notice = (flag == ContactFlag::Restriction && !raised).then(|| FlagNotice {
        locale: notice.locale.to_owned(),
        template: RESTRICTION_LIFTED.to_owned(),
        payload: json!({
            "restricted_since": before.restricted_at.map(|at| at.as_micros()),
            "lifted_at": store.now().as_micros(),
            "contact": notice.contact,
        }),
    });
    let change = FlagChange {
        flag,
        raised,
        actor,
        request_id: None,
        notice,
    };
    store
        .change_flag(&ContactRef::Id(before.id), &change)
        .await?;
    store.contact(&ContactRef::Id(before.id)).await
}
