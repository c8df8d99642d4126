//! What configuration decides for the use cases: how long an erasure keeps its proof, the
//! retention per purpose, the holiday calendar of deadlines, the controller's facts, the public
//! address links are built on, the office's time zone, the double opt-in's limits, the hours
//! telemarketing calls may be placed at, and how long a message waits for a reason. The server
//! builds one [`Policy`] from its configuration file and environment; `consento serve` and every
//! other command use the same, so the command line never applies other periods than the server.

use consento_domain::calling_hours::CallingWindows;
use consento_domain::erasure::{ErasurePolicy, RetentionPolicy};
use consento_domain::requests::HolidayCalendar;
use consento_domain::{Locale, Zone};
use serde::{Deserialize, Serialize};

/// Everything configuration decides for the use cases.
#[derive(Debug, Clone)]
pub struct Policy {
    /// What an erasure keeps, and for how long (GDPR Art. 17(3)).
    pub erasure: ErasurePolicy,
    /// The retention per purpose (Art. 5(1)(e)).
    pub retention: RetentionPolicy,
    /// Contacts anonymised per transaction by a retention run.
    pub retention_batch: usize,
    /// The working days Art. 12(3) deadlines are counted on (kept in `zone`'s local dates).
    pub calendar: HolidayCalendar,
    /// The office's time zone: "today", a typed date, and every date shown to people.
    pub zone: Zone,
    /// The controller's facts the configuration gives; they win over those kept in the
    /// database (see [`crate::controller`], which every adapter names the controller through).
    pub controller: Controller,
    /// The controller's name when neither `controller.name` nor the database gives one (the
    /// mail's sender name, `mail.controller_name`).
    pub controller_fallback_name: String,
    /// The address people reach the public pages at, as written in emails and links: the
    /// configured `public.base_url`, else derived from the address the server listens on.
    pub public_base_url: String,
    /// The double opt-in's limits.
    pub subscriptions: SubscriptionPolicy,
    /// The language of emails to a person whose language is not known.
    pub default_locale: Locale,
    /// The largest cell an import accepts, in bytes (see [`crate::import::ImportJob`]).
    pub import_max_cell_bytes: usize,
    /// The hours telemarketing calls may be placed at, per kind of day (judged on `calendar`,
    /// in `zone`).
    pub calling_hours: CallingWindows,
    /// Whether telemarketing calls to Italian numbers need a valid check against the Registro
    /// pubblico delle opposizioni, and how long a check counts.
    pub rpo: Option<consento_domain::rpo::RpoPolicy>,
    /// Days a silent call keeps telemarketing calls away from its number.
    pub silent_call_cooldown_days: u32,
    /// Days a one-off call the person asked for may be placed in, despite the register, unless
    /// a call reaches them first.
    pub requested_call_days: u32,
    /// Hours a message Postfix holds for a reason waits before it is dropped (see
    /// [`crate::held`]).
    pub hold_hours: u32,
    /// Hours a copy the relay holds for a reason waits before it is dropped.
    pub relay_hold_hours: u32,
}

/// The double opt-in's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionPolicy {
    /// How long a confirmation link stays valid.
    pub confirm_hours: u32,
    /// The least time between two confirmation emails to one address.
    pub resend_minutes: u32,
    /// The most confirmation emails to one address per day.
    pub daily_limit: u32,
}

impl Policy {
    /// An absolute address on the public pages for `path` (which starts with `/`).
    pub fn public_url(&self, path: &str) -> String {
        format!("{}{path}", self.public_base_url.trim_end_matches('/'))
    }
}

/// The data controller, as a person's data export names it, with the information GDPR Art. 15(1)
/// owes them beyond their data: who receives it, how long it is kept, where to complain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Controller {
    /// The controller's name (Art. 13(1)(a)); empty: the one given on the console's first-run
    /// page or with `consento init`, else `mail.controller_name`.
    pub name: String,
    /// How to reach the controller (an address, an email, a web page).
    pub contact: String,
    /// How to reach the data protection officer (Art. 13(1)(b)), if one is designated.
    pub dpo_contact: Option<String>,
    /// Postal address, email, phone and web site, named in consent receipts (Kantara CR v1.1
    /// `piiControllers`) when given.
    pub address: Option<String>,
    /// See `address`.
    pub email: Option<String>,
    /// See `address`.
    pub phone: Option<String>,
    /// See `address`.
    pub url: Option<String>,
    /// Where the controller's privacy notice is published (`https://…`), named on the public
    /// pages and in a person's export; empty: the one given on the first-run page.
    pub privacy_notice_url: Option<String>,
    /// The jurisdiction whose law governs the processing, as consent receipts state it.
    pub jurisdiction: String,
    /// The recipients or categories of recipients of the data (Art. 15(1)(c)).
    pub recipients: Vec<String>,
    /// How long the data is kept, or the criteria that decide it (Art. 15(1)(d)).
    pub retention: String,
    /// The supervisory authority a person may complain to (Art. 15(1)(f), Art. 77).
    pub complaint_authority: String,
    /// Its postal address.
    pub complaint_address: String,
    /// Its web page on complaints.
    pub complaint_url: String,
}

impl Default for Controller {
    fn default() -> Self {
        Self {
            name: String::new(),
            contact: String::new(),
            dpo_contact: None,
            address: None,
            email: None,
            phone: None,
            url: None,
            privacy_notice_url: None,
            jurisdiction: "IT".to_owned(),
            recipients: Vec::new(),
            // The Italian DPA's benchmarks for marketing (24 months) and profiling (12 months);
            // consent proof is kept as long as a claim about it can be brought.
            retention: "Dati per finalità di marketing: 24 mesi dall'ultimo consenso; profilazione: 12 mesi; prova dei consensi: per la durata del trattamento e fino a 10 anni dopo, per la tutela in giudizio.".to_owned(),
            complaint_authority: "Garante per la protezione dei dati personali".to_owned(),
            complaint_address: "Piazza Venezia 11, 00187 Roma".to_owned(),
            complaint_url: "https://www.garanteprivacy.it".to_owned(),
        }
    }
}

impl Controller {
    /// Refuses an export that could not tell the person where to complain (Art. 15(1)(f)), or
    /// that would name a recipient with no name.
    pub fn check(&self) -> Result<(), String> {
        if self.complaint_authority.trim().is_empty() {
            return Err(
                "config: controller.complaint_authority: name the supervisory authority".to_owned(),
            );
        }
        if !self.complaint_url.starts_with("https://") && !self.complaint_url.starts_with("http://")
        {
            return Err("config: controller.complaint_url: must be an http(s) address".to_owned());
        }
        if self.retention.trim().is_empty() {
            return Err("config: controller.retention: say how long data is kept".to_owned());
        }
        if let Some(url) = self.privacy_notice_url.as_deref().map(str::trim)
            && !url.is_empty()
            && consento_domain::controller::web_address(url).is_none()
        {
            return Err(
                "config: controller.privacy_notice_url: must be an http(s) address".to_owned(),
            );
        }
        if self.recipients.iter().any(|r| r.trim().is_empty()) {
            return Err("config: controller.recipients: a recipient is empty".to_owned());
        }
        Ok(())
    }
}
