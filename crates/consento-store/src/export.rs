//! A person's data gathered for an export (GDPR Art. 15 access, Art. 20 portability): the
//! contact with every field, each consent's current state, the full consent history with its
//! proof, the justified contacts and the channel switches. The pieces are read concurrently on
//! the read pool, one query each, so a contact with thousands of events exports quickly.

use serde::Serialize;

use crate::{
    ChannelEvent, Contact, ContactRef, CurrentConsent, HistoryEntry, Interaction, Store, StoreError,
};

/// Everything Consento holds about one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactExport {
    /// The contact with its provenance, flags and channel opt-outs.
    pub contact: Contact,
    /// One line per consent type (never recorded ones included).
    pub consents: Vec<CurrentConsent>,
    /// Every consent event with its proof, in ledger order.
    pub consent_events: Vec<HistoryEntry>,
    /// Justified contacts (an operator reached the person for a reason), oldest first.
    pub interactions: Vec<Interaction>,
    /// The forms of communication the person switched off and back on, oldest first.
    pub channel_events: Vec<ChannelEvent>,
    /// The person's data-subject requests, by deadline.
    pub requests: Vec<crate::DataRequest>,
}

impl Store {
    /// Gathers a contact's data for an export. An erased contact is exported too (what is left
    /// of it); the caller decides whether to serve it.
    pub async fn export_contact(&self, contact: &ContactRef) -> Result<ContactExport, StoreError> {
        let id = self.resolve_contact(contact).await?;
        let key = ContactRef::Id(id);
        let requests_of = crate::DataRequestFilter {
            contact_id: Some(id),
            limit: 500,
            ..Default::default()
        };
        let (contact, consents, consent_events, mut interactions, channel_events, requests) = tokio::try_join!(
            self.contact(&key),
            self.current_consents(&key),
            self.consent_history(&key),
            self.interactions(&key),
            self.channel_history(&key),
            self.requests(&requests_of),
        )?;
        // The store lists justified contacts newest first (the card); an export reads in time order.
        interactions.reverse();
        Ok(ContactExport {
            contact,
            consents,
            consent_events,
            interactions,
            channel_events,
            requests,
        })
    }
}
