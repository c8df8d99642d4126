//! The console's Setup section (the seed's "Impostazioni > Privacy"): the data controller, the
//! privacy switches, consent types, contact reasons, privacy-notice versions and console
//! accounts. Only a role
//! with [`Permission::Setup`] opens these pages, GET and POST alike: every handler takes
//! [`Admin`], which refuses anyone else with 403 before the form is even read. Every change is
//! written to the audit trail with what it was before and after.
//!
//! What the pages share lives here: the extractor, the sub-navigation, and turning a value the
//! store refused into a message next to the field, in the request's language.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use consento_domain::Permission;
use consento_store::StoreError;
use serde::Deserialize;

use super::page::PageError;
use super::session::Staff;
use crate::i18n::Tr;
use crate::state::AppState;

pub mod controller;
pub mod notices;
pub mod privacy;
pub mod reasons;
pub mod types;
pub mod users;

/// The signed-in person, when their role may set Consento up; anyone else gets 403.
pub struct Admin(pub Staff);

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let staff = Staff::from_request_parts(parts, state).await?;
        staff.require(Permission::Setup)?;
        Ok(Self(staff))
    }
}

/// What a redirect back to a Setup page may carry.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The sub-navigation of the Setup pages, with the current one marked.
#[derive(Debug, Clone, Copy)]
pub struct Tabs {
    current: &'static str,
}

/// Each Setup page: its tab code, address and label.
const TABS: [(&str, &str, &str); 6] = [
    ("controller", "/setup/controller", "setup-tab-controller"),
    ("privacy", "/setup/privacy", "setup-tab-privacy"),
    ("types", "/setup/types", "setup-tab-types"),
    ("reasons", "/setup/reasons", "setup-tab-reasons"),
    ("notices", "/setup/notices", "setup-tab-notices"),
    ("users", "/setup/users", "setup-tab-users"),
];

impl Tabs {
    fn at(current: &'static str) -> Self {
        Self { current }
    }

    /// The tabs: (address, message key of the label, whether it is the current page).
    pub fn items(&self) -> Vec<(&'static str, &'static str, bool)> {
        TABS.iter()
            .map(|(code, href, label)| (*href, *label, *code == self.current))
            .collect()
    }
}

/// Messages to show next to a form's fields.
#[derive(Debug, Clone, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    /// The message for `field`, if it has one.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Whether no field has a message.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn add(&mut self, field: &'static str, message: String) {
        self.0.push((field, message));
    }

    fn one(field: &'static str, message: String) -> Self {
        Self(vec![(field, message)])
    }
}

/// How a form explains the store's refusals: for each field, the message key when its value
/// breaks a rule, and the one when it duplicates another record's.
type Explained = [(&'static str, &'static str, &'static str)];

/// Turns a refusal of the store into a message next to the field at fault, when `explained`
/// covers that field; any other failure stays an error page.
fn refused(err: StoreError, explained: &Explained, tr: Tr) -> Result<Errors, PageError> {
    let (field, conflict) = match &err {
        StoreError::Invalid(e) => (e.field(), false),
        StoreError::Conflict { field, .. } => (*field, true),
        _ => return Err(err.into()),
    };
    match explained.iter().find(|(f, _, _)| *f == field) {
        Some((f, invalid, taken)) => {
            Ok(Errors::one(f, tr.t(if conflict { taken } else { invalid })))
        }
        None => Err(err.into()),
    }
}

/// A form shown again with what was typed and the messages: 422, so that the refusal is visible
/// to scripts and tests as well as to people.
fn again(response: Result<Response, PageError>) -> Result<Response, PageError> {
    let mut response = response?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
