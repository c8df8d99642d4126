//! The data controller as every adapter names it (GDPR Art. 13(1)(a)–(b), Art. 15(1)): in a
//! person's export, in consent receipts, on the public pages, in emails, and what the console's
//! first-run page, `consento init` and `/readyz` say is still missing.
//!
//! The facts come from two places, merged here fact by fact: the configuration's `[controller]`
//! section wins where it gives a value (an installation run from configuration management keeps
//! its values, and the console shows them as set by configuration); otherwise the value the
//! administrator gave on the first-run page or with `consento init`, kept in the database.
//!
//! A person's rights never wait for the controller to be named: until it is, the name falls back
//! to the mail sender's configured controller name (`mail.controller_name`), and then to a
//! placeholder that says the name has not been given yet, so no document or page ever names
//! an empty controller.

use consento_domain::{ControllerDetails, ControllerField, Locale};
use serde::Serialize;
use serde_json::json;

use crate::audit::By;
use crate::policy::{Controller, Policy};
use crate::{App, AppError};

/// The name documents give the controller before anyone has named it, in Italian.
pub const UNNAMED_IT: &str = "Titolare del trattamento (nome non ancora indicato)";
/// The same, in English.
pub const UNNAMED_EN: &str = "Data controller (name not yet given)";

/// Where a fact of the controller comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The configuration's `[controller]` section: it wins, and the console cannot change it.
    Configuration,
    /// The database: given on the first-run page or with `consento init`.
    Database,
}

/// The controller as named now: the merged facts, where each came from, and the name to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedController {
    /// The facts in force: the configuration's where it gives one, else the stored one.
    pub details: ControllerDetails,
    /// The facts kept in the database (what the first-run page edits).
    pub stored: ControllerDetails,
    /// The facts the configuration gives.
    pub configured: ControllerDetails,
    /// The name to show: never empty (see the module's fallbacks).
    pub name: String,
    /// Whether [`NamedController::name`] is a name someone gave (the controller's, or the
    /// mail sender's fallback) rather than the placeholder.
    pub name_given: bool,
    /// How to reach the controller, in words: the configuration's `contact`, else the email,
    /// else the postal address (empty only when none of them is known).
    pub contact: String,
}

impl NamedController {
    /// Merges the configuration's facts over the stored ones.
    pub fn merge(policy: &Policy, stored: ControllerDetails) -> Self {
        let configured = configured(&policy.controller);
        let mut details = ControllerDetails::default();
        for field in ControllerField::ALL {
            let value = configured.get(field).or_else(|| stored.get(field));
            details.set(field, value.map(str::to_owned));
        }
        let fallback = policy.controller_fallback_name.trim();
        let (name, name_given) = match details.name.as_deref() {
            Some(name) => (name.to_owned(), true),
            None if !fallback.is_empty() => (fallback.to_owned(), true),
            None => (unnamed(policy.default_locale).to_owned(), false),
        };
        let contact = [
            Some(policy.controller.contact.trim()).filter(|c| !c.is_empty()),
            details.email.as_deref(),
            details.address.as_deref(),
        ]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_default()
        .to_owned();
        Self {
            details,
            stored,
            configured,
            name,
            name_given,
            contact,
        }
    }

    /// Where `field`'s value in force comes from; `None` when it is missing.
    pub fn source(&self, field: ControllerField) -> Option<Source> {
        if self.configured.get(field).is_some() {
            Some(Source::Configuration)
        } else if self.stored.get(field).is_some() {
            Some(Source::Database)
        } else {
            None
        }
    }

    /// The facts still missing, in form order: what the dashboard's warning and `/readyz` list.
    pub fn missing(&self) -> Vec<ControllerField> {
        self.details.missing()
    }

    /// Whether the controller has been named (by the configuration or the first-run page).
    pub fn is_named(&self) -> bool {
        self.details.name.is_some()
    }

    /// The controller as consent receipts name it (Kantara CR v1.1 `piiControllers`, the DPV
    /// record's controller entity).
    pub fn facts(&self, policy: &Policy) -> consento_domain::receipt::ControllerFacts {
        let c = &policy.controller;
        consento_domain::receipt::ControllerFacts {
            name: self.name.clone(),
            contact: self.contact.clone(),
            address: self.details.address.clone(),
            email: self.details.email.clone(),
            phone: c.phone.clone(),
            url: c.url.clone(),
            jurisdiction: c.jurisdiction.clone(),
            recipients: c.recipients.clone(),
        }
    }
}

/// The placeholder name in `locale`.
pub fn unnamed(locale: Locale) -> &'static str {
    match locale {
        Locale::It => UNNAMED_IT,
        Locale::En => UNNAMED_EN,
    }
}

/// The facts the configuration's `[controller]` section gives (empty text is no value).
fn configured(c: &Controller) -> ControllerDetails {
    let given = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    ControllerDetails {
        name: given(Some(&c.name)),
        address: given(c.address.as_deref()),
        email: given(c.email.as_deref()),
        dpo_contact: given(c.dpo_contact.as_deref()),
        privacy_notice_url: given(c.privacy_notice_url.as_deref()),
    }
}

impl App {
    /// The controller as named now: the configuration's facts over the stored ones.
    pub async fn controller(&self) -> Result<NamedController, AppError> {
        let stored = self.store.controller_details().await?;
        Ok(NamedController::merge(&self.policy, stored))
    }

    /// Records the controller's facts given by `by` (the first-run page, `consento init`,
    /// `consento controller set`): each fact in `changes` that is `Some` replaces the stored
    /// one (an empty text removes it), each `None` is left as it is. The values are checked
    /// ([`ControllerDetails::parse`]: a refusal names the field and changes nothing); the change
    /// is audited (`controller.update`, with the facts before and after) in its transaction, and
    /// a change to the same values writes nothing. A fact the configuration gives is stored all
    /// the same but stays overridden while the configuration gives it.
    pub async fn set_controller(
        &self,
        by: &By,
        changes: ControllerDetails,
    ) -> Result<NamedController, AppError> {
        let before = self.store.controller_details().await?;
        let mut after = before.clone();
        for field in ControllerField::ALL {
            if let Some(value) = changes.get(field) {
                after.set(field, Some(value.to_owned()));
            }
        }
        let after = after.parse()?;
        if after != before {
            self.audited(
                by,
                "controller.update",
                None,
                json!({ "before": before, "after": after }),
                self.store.set_controller_details(after),
            )
            .await?;
        }
        self.controller().await
    }
}
