//! The facts that let a telemarketing call through the opt-out register, for every adapter: a
//! contact's customer relationship (L. 5/2018, art. 1), a number's public-directory listing
//! (Codice privacy art. 130(3-bis)) and a one-off call the person asked for, each recorded with
//! its source and audited; and the contact's telemarketing summary.

use consento_domain::{ContactId, Timestamp};
use consento_store::{
    CallRequest, CustomerContract, CustomerRelationship, DirectoryListing, NewCallRequest,
    TelemarketingSummary,
};
use serde_json::json;

use crate::audit::By;
use crate::{App, AppError};

impl App {
    /// Records `contact`'s customer relationship (`None` clears it) with its source, audited as
    /// `contact.customer`.
    pub async fn set_customer(
        &self,
        by: &By,
        contact: ContactId,
        contract: Option<(CustomerContract, &str)>,
    ) -> Result<Option<CustomerRelationship>, AppError> {
        let detail = match contract {
            None => json!({ "contract": null }),
            Some((CustomerContract::InForce, _)) => json!({ "contract": "in_force" }),
            Some((CustomerContract::Until(at), _)) => {
                json!({ "contract": "until", "until": at.to_rfc3339() })
            }
        };
        let target = Some(("contact", contact.0.to_string()));
        Ok(self
            .store
            .audited(
                by.entry("contact.customer", target, detail),
                self.store.set_customer(contact, contract, &by.label()),
            )
            .await?
            .0)
    }

    /// Records whether one of `contact`'s numbers (the primary one when `phone` is `None`) is in
    /// a public directory, with the directory as source, audited as `contact.directory`.
    pub async fn set_directory_listing(
        &self,
        by: &By,
        contact: ContactId,
        phone: Option<&str>,
        listed: bool,
        source: &str,
    ) -> Result<DirectoryListing, AppError> {
        let target = Some(("contact", contact.0.to_string()));
        Ok(self
            .store
            .audited(
                by.entry("contact.directory", target, json!({ "listed": listed })),
                self.store
                    .set_directory_listing(contact, phone, listed, source, &by.label()),
            )
            .await?
            .0)
    }

    /// Records a one-off call `contact` asked for at `requested_at`, to `phone` (the primary
    /// number when `None`), holding for the configured days unless a call reaches the person
    /// first; audited as `contact.call_request`.
    pub async fn record_call_request(
        &self,
        by: &By,
        contact: ContactId,
        phone: Option<&str>,
        requested_at: Timestamp,
        source: &str,
    ) -> Result<CallRequest, AppError> {
        let request = NewCallRequest {
            phone: phone.map(str::to_owned),
            requested_at,
            valid_until: requested_at.plus_days(self.policy.requested_call_days),
            source: source.to_owned(),
            recorded_by: by.label(),
        };
        let target = Some(("contact", contact.0.to_string()));
        let detail = json!({ "requested_at": requested_at.to_rfc3339() });
        Ok(self
            .store
            .audited(
                by.entry("contact.call_request", target, detail),
                self.store.record_call_request(contact, request),
            )
            .await?
            .0)
    }

    /// `contact`'s telemarketing facts: customer relationship, each number's register answer
    /// and directory status, call requests.
    pub async fn telemarketing_summary(
        &self,
        contact: ContactId,
    ) -> Result<TelemarketingSummary, AppError> {
        Ok(self.store.telemarketing_summary(contact).await?)
    }
}
