//! The card's telemarketing section: what lets a marketing call reach each of the contact's
//! numbers or stops it (the check against the Registro pubblico delle opposizioni, DPR 26/2022;
//! the public-directory listing, Codice privacy art. 130(3-bis); the customer relationship,
//! L. 5/2018, art. 1; the calls the person asked for), the calls' outcomes, and the objection
//! with both of its instants: when the person said it and when it was recorded.
//!
//! Its four forms record the customer relationship, a number's directory listing, a call the
//! person asked for and a call's outcome, each through the app's audited use case, as the API
//! does. Every field is checked here first, so that a refusal is told at its field in the
//! operator's language and nothing is written; a refusal of the store all the same (a race) is
//! shown the same way. A `refused_marketing` outcome is the person's objection at once ("basta
//! un no", GDPR Art. 21(3)), dated at the instant of the call.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_app::AppError;
use consento_app::calls::CallReport;
use consento_domain::calls::{self as call_rules, CallOutcome};
use consento_domain::{ContactId, DomainError, Permission, Timestamp, Zone};
use consento_store::{
    CallRecord, Contact, ContactFlag, ContactRef, CustomerContract, FlagEvent, StoreError,
    TelemarketingSummary,
};
use serde::Deserialize;

use super::page::{Overlay, card, card_response};
use super::text;
use crate::i18n::{Arg, Tr};
use crate::state::AppState;
use crate::web::contacts::path_contact;
use crate::web::page::{PageError, see_other};
use crate::web::session::Staff;

/// The calls' outcomes the section lists, latest first; the history below lists them all.
const CALLS_SHOWN: usize = 50;

/// The longest source the store keeps (the contract's reference, the directory consulted).
const MAX_SOURCE: usize = 500;

/// One of the contact's numbers, as the register and the directory see it.
pub struct NumberRow {
    /// The number (E.164).
    pub phone: String,
    /// Whether it is the contact's primary number.
    pub primary: bool,
    /// The register's check: when, until when, or that it expired, or never.
    pub register: String,
    /// The badge of the check: `allowed` (valid, not enrolled), `blocked` (enrolled), `needs`
    /// (expired or never checked).
    pub register_class: &'static str,
    /// Whether it is enrolled, and since when; empty when never checked.
    pub enrolment: String,
    /// Its public-directory status.
    pub directory: String,
    /// Where the directory status comes from, when and by whom; empty when not recorded.
    pub directory_detail: String,
}

/// A call the person asked for.
pub struct RequestRow {
    /// The number to call.
    pub phone: String,
    /// When the person asked.
    pub asked: String,
    /// Until when it holds.
    pub valid_until: String,
    /// Used by a call (when), open, or lapsed.
    pub state: String,
    /// The state's badge.
    pub class: &'static str,
    /// How the person asked, and who recorded it.
    pub source: String,
}

/// A call's outcome.
pub struct CallRow {
    /// When the call took place.
    pub when: String,
    /// How it ended.
    pub outcome: String,
    /// The badge: a refusal and a silent call stand out.
    pub class: &'static str,
    /// The campaign.
    pub campaign: String,
    /// Who placed the call.
    pub operator: String,
    /// The number dialled.
    pub phone: String,
}

/// The objection to direct marketing (GDPR Art. 21) with its two instants.
pub struct ObjectionView {
    /// When the person said it.
    pub said: String,
    /// When it was recorded (the flag's history row).
    pub recorded: String,
    /// How it was said, when a refusal during a call raised it.
    pub how: Option<String>,
}

/// What the section's forms hold: what was posted, or what the card suggests.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct TelemarketingForm {
    /// `in_force`, `until` or `none`.
    #[serde(default)]
    pub contract: String,
    /// When the contract ends or ended (`datetime-local`).
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub customer_source: String,
    #[serde(default)]
    pub directory_phone: String,
    /// `1` listed, `0` not listed.
    #[serde(default)]
    pub listed: String,
    #[serde(default)]
    pub directory_source: String,
    #[serde(default)]
    pub request_phone: String,
    /// When the person asked (`datetime-local`).
    #[serde(default)]
    pub requested_at: String,
    #[serde(default)]
    pub request_source: String,
    #[serde(default)]
    pub call_phone: String,
    /// A call outcome's code.
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub campaign: String,
    #[serde(default)]
    pub operator: String,
    /// When the call took place (`datetime-local`).
    #[serde(default)]
    pub called_at: String,
}

/// Which of the section's forms was posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    Customer,
    Directory,
    Request,
    Call,
}

/// A form of the section posted and refused: what was typed, and what is wrong with it, per
/// field.
#[derive(Debug, Clone)]
pub(super) struct Refused {
    which: Which,
    form: TelemarketingForm,
    errors: HashMap<&'static str, String>,
}

/// The section, as the card shows it.
pub struct TelemarketingView {
    /// Each number.
    pub numbers: Vec<NumberRow>,
    /// The customer relationship, or that there is none.
    pub customer: String,
    /// Where it comes from, when and by whom it was recorded.
    pub customer_detail: Option<String>,
    /// What the relationship allows, with the days of grace configured.
    pub customer_hint: String,
    /// The calls the person asked for, latest first.
    pub requests: Vec<RequestRow>,
    /// The latest calls' outcomes.
    pub calls: Vec<CallRow>,
    /// Said when there are more calls than those listed.
    pub calls_more: Option<String>,
    /// The objection, if the person objects.
    pub objection: Option<ObjectionView>,
    /// The numbers the forms offer.
    pub phones: Vec<String>,
    /// The outcomes a call may have: (code, words).
    pub outcomes: Vec<(&'static str, String)>,
    /// The forms' values.
    pub f: TelemarketingForm,
    /// What is wrong with a posted form, per field (the field's name).
    pub errors: HashMap<&'static str, String>,
    /// The form shown open: the one refused (`customer`, `directory`, `request`, `call`), else
    /// none.
    pub open: &'static str,
}

impl TelemarketingView {
    /// What is wrong with `field`, if anything.
    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// What the section is built from.
pub(super) struct Facts<'a> {
    pub(super) summary: TelemarketingSummary,
    pub(super) contact: &'a Contact,
    pub(super) calls: &'a [CallRecord],
    pub(super) flags: &'a [FlagEvent],
    pub(super) users: &'a HashMap<String, String>,
    pub(super) now: Timestamp,
    /// Days the contract exception holds after a contract ended.
    pub(super) grace_days: u32,
    /// The signed-in person's name: who places a call recorded from the card, unless changed.
    pub(super) operator: String,
}

/// The days the contract exception holds after a contract ended, as configured (L. 5/2018,
/// art. 1: at most 30, the default when the register's rules are off).
pub(super) fn grace_days(state: &AppState) -> u32 {
    state
        .app
        .policy()
        .rpo
        .unwrap_or_default()
        .contract_grace_days
}

/// Who recorded a fact, in words: `user:<id>` by the account's display name, an integration by
/// its token, the command line by its operator.
fn recorder_words(tr: Tr, label: &str, users: &HashMap<String, String>) -> String {
    if let Some(id) = label.strip_prefix("user:") {
        return users.get(id).cloned().unwrap_or_else(|| id.to_owned());
    }
    if let Some(id) = label.strip_prefix("token:") {
        return tr.with("card-actor-token", "id", id.get(..8).unwrap_or(id));
    }
    if let Some(operator) = label.strip_prefix("command_line:") {
        return tr.with("tm-by-command-line", "operator", operator);
    }
    label.to_owned()
}

/// "Source: …; recorded on … by …".
fn recorded_words(tr: Tr, source: &str, at: Timestamp, by: &str) -> String {
    tr.args(
        "tm-recorded",
        &[
            ("source", text(source)),
            ("when", text(tr.datetime(at))),
            ("by", text(by)),
        ],
    )
}

/// A call's outcome in words.
pub(super) fn outcome_words(tr: Tr, outcome: CallOutcome) -> String {
    tr.t(&format!(
        "field-outcome-{}",
        outcome.code().replace('_', "-")
    ))
}

/// Builds the section from `facts`, with `refused` (a form posted and refused) over it.
pub(super) fn view(tr: Tr, facts: Facts<'_>, refused: Option<Refused>) -> TelemarketingView {
    let Facts {
        summary,
        contact,
        calls,
        flags,
        users,
        now,
        grace_days,
        operator,
    } = facts;
    let numbers = summary
        .numbers
        .iter()
        .map(|n| {
            let (register, register_class, enrolment) = match &n.register {
                None => (tr.t("tm-register-never"), "needs", String::new()),
                Some(r) => {
                    let args = [
                        ("date", text(tr.datetime(r.answered_at))),
                        ("until", text(tr.datetime(r.valid_until))),
                    ];
                    let valid = r.valid_until > now;
                    let checked = tr.args(
                        if valid {
                            "tm-register-checked"
                        } else {
                            "tm-register-expired"
                        },
                        &args,
                    );
                    let enrolment = if r.enrolled {
                        tr.with(
                            "tm-register-enrolled",
                            "date",
                            &tr.date(r.enrolled_found_at.unwrap_or(r.answered_at)),
                        )
                    } else {
                        tr.t("tm-register-not-enrolled")
                    };
                    let class = match (r.enrolled, valid) {
                        (true, _) => "blocked",
                        (false, true) => "allowed",
                        (false, false) => "needs",
                    };
                    (checked, class, enrolment)
                }
            };
            let (directory, directory_detail) = match &n.directory {
                None => (tr.t("tm-directory-unrecorded"), String::new()),
                Some(d) => (
                    tr.t(if d.listed {
                        "tm-directory-listed"
                    } else {
                        "tm-directory-not-listed"
                    }),
                    recorded_words(
                        tr,
                        &d.source,
                        d.recorded_at,
                        &recorder_words(tr, &d.recorded_by, users),
                    ),
                ),
            };
            NumberRow {
                phone: n.phone.clone(),
                primary: n.primary,
                register,
                register_class,
                enrolment,
                directory,
                directory_detail,
            }
        })
        .collect();
    let (customer, customer_detail) = match &summary.customer {
        None => (tr.t("tm-customer-none"), None),
        Some(r) => {
            let words = match r.contract {
                CustomerContract::InForce => tr.t("tm-customer-in-force"),
                CustomerContract::Until(at) => {
                    let exception_end = at.plus_days(grace_days);
                    let key = if at > now {
                        "tm-customer-ends"
                    } else if exception_end > now {
                        "tm-customer-ended"
                    } else {
                        "tm-customer-ended-expired"
                    };
                    tr.args(
                        key,
                        &[
                            ("date", text(tr.datetime(at))),
                            ("until", text(tr.datetime(exception_end))),
                        ],
                    )
                }
            };
            let detail = recorded_words(
                tr,
                &r.source,
                r.recorded_at,
                &recorder_words(tr, &r.recorded_by, users),
            );
            (words, Some(detail))
        }
    };
    let requests = summary
        .call_requests
        .iter()
        .map(|q| {
            let (state, class) = match q.used_at {
                Some(at) => (tr.with("tm-request-used", "date", &tr.datetime(at)), ""),
                None if q.valid_until > now => (tr.t("tm-request-open"), "allowed"),
                None => (tr.t("tm-request-lapsed"), "off"),
            };
            RequestRow {
                phone: q.phone.clone(),
                asked: tr.datetime(q.requested_at),
                valid_until: tr.datetime(q.valid_until),
                state,
                class,
                source: recorded_words(
                    tr,
                    &q.source,
                    q.recorded_at,
                    &recorder_words(tr, &q.recorded_by, users),
                ),
            }
        })
        .collect();
    let call_rows = calls
        .iter()
        .take(CALLS_SHOWN)
        .map(|c| CallRow {
            when: tr.datetime(c.called_at),
            outcome: outcome_words(tr, c.outcome),
            class: match c.outcome {
                CallOutcome::RefusedMarketing => "blocked",
                CallOutcome::Silent => "needs",
                _ => "",
            },
            campaign: c.campaign.clone(),
            operator: c.operator.clone(),
            phone: c.phone.clone(),
        })
        .collect();
    let calls_more = (calls.len() > CALLS_SHOWN).then(|| {
        tr.args(
            "tm-calls-more",
            &[
                (
                    "shown",
                    Arg::Num(i64::try_from(CALLS_SHOWN).unwrap_or(i64::MAX)),
                ),
                (
                    "total",
                    Arg::Num(i64::try_from(calls.len()).unwrap_or(i64::MAX)),
                ),
            ],
        )
    });
    let objection = contact.objected_at.map(|said| {
        // The flag's latest history row that raised it: written when it was recorded.
        let recorded = flags
            .iter()
            .rev()
            .find(|f| f.flag == ContactFlag::Objection && f.raised)
            .map_or_else(
                || tr.t("tm-objection-recorded-unknown"),
                |f| tr.datetime(f.at),
            );
        // A refusal during a call is dated at the call's instant (GDPR Art. 21(3), "basta un
        // no"): that call tells how it was said.
        let how = calls
            .iter()
            .find(|c| c.outcome.objects() && c.called_at == said)
            .map(|c| {
                tr.args(
                    "tm-objection-during-call",
                    &[
                        ("campaign", text(c.campaign.clone())),
                        ("operator", text(c.operator.clone())),
                    ],
                )
            });
        ObjectionView {
            said: tr.datetime(said),
            recorded,
            how,
        }
    });
    let phones: Vec<String> = contact
        .phones
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    let primary = phones.first().cloned().unwrap_or_default();
    let now_input = tr.datetime_input(now);
    let (contract, until) = match summary.customer.as_ref().map(|r| r.contract) {
        None => ("none", String::new()),
        Some(CustomerContract::InForce) => ("in_force", String::new()),
        Some(CustomerContract::Until(at)) => ("until", tr.datetime_input(at)),
    };
    let mut f = TelemarketingForm {
        contract: contract.to_owned(),
        until,
        customer_source: summary
            .customer
            .as_ref()
            .map(|r| r.source.clone())
            .unwrap_or_default(),
        directory_phone: primary.clone(),
        listed: String::new(),
        directory_source: String::new(),
        request_phone: primary.clone(),
        requested_at: now_input.clone(),
        request_source: String::new(),
        call_phone: primary,
        outcome: String::new(),
        campaign: String::new(),
        operator,
        called_at: now_input,
    };
    let mut errors = HashMap::new();
    let mut open = "";
    if let Some(r) = refused {
        let p = r.form;
        open = match r.which {
            Which::Customer => "customer",
            Which::Directory => "directory",
            Which::Request => "request",
            Which::Call => "call",
        };
        match r.which {
            Which::Customer => {
                f.contract = p.contract;
                f.until = p.until;
                f.customer_source = p.customer_source;
            }
            Which::Directory => {
                f.directory_phone = p.directory_phone;
                f.listed = p.listed;
                f.directory_source = p.directory_source;
            }
            Which::Request => {
                f.request_phone = p.request_phone;
                f.requested_at = p.requested_at;
                f.request_source = p.request_source;
            }
            Which::Call => {
                f.call_phone = p.call_phone;
                f.outcome = p.outcome;
                f.campaign = p.campaign;
                f.operator = p.operator;
                f.called_at = p.called_at;
            }
        }
        errors = r.errors;
    }
    TelemarketingView {
        numbers,
        customer,
        customer_detail,
        customer_hint: tr.count_named("tm-customer-hint", "days", i64::from(grace_days)),
        requests,
        calls: call_rows,
        calls_more,
        objection,
        phones,
        outcomes: CallOutcome::ALL
            .iter()
            .map(|o| (o.code(), outcome_words(tr, *o)))
            .collect(),
        f,
        errors,
        open,
    }
}

/// An instant typed in a `datetime-local` field, on the office's clock; the error is a message
/// key.
fn local_instant(zone: &Zone, text: &str) -> Result<Timestamp, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("tm-error-instant-required");
    }
    // A date alone would be read as local midnight: what happened at an instant needs its
    // time of day.
    if zone.parse_day("instant", text).is_ok() {
        return Err("tm-error-instant-time");
    }
    zone.parse_instant("instant", text)
        .map_err(|_| "tm-error-instant-invalid")
}

/// Whether `source` is one the store keeps: 1 to 500 characters once trimmed.
fn source_ok(source: &str) -> bool {
    let source = source.trim();
    !source.is_empty() && source.chars().count() <= MAX_SOURCE
}

/// Whether `phone` (as the form's select sends it, E.164) is one of the contact's numbers.
fn own_number(contact: &Contact, phone: &str) -> bool {
    contact.phones.iter().any(|p| p.as_str() == phone.trim())
}

/// The contact `id` of a post, when this person may edit it and it was not erased (GDPR
/// Art. 17: there is nothing left to record about).
async fn editable(staff: &Staff, state: &AppState, id: &str) -> Result<Contact, PageError> {
    staff.require(Permission::EditContacts)?;
    let id = path_contact(id)?;
    let contact = state.store.contact(&ContactRef::Id(id)).await?;
    if contact.erased_at.is_some() {
        return Err(PageError::NotFound);
    }
    Ok(contact)
}

/// The card again with the section's form `which` showing `errors`, answered 422; nothing was
/// written.
async fn again(
    staff: &Staff,
    state: &AppState,
    id: ContactId,
    which: Which,
    form: TelemarketingForm,
    errors: HashMap<&'static str, String>,
) -> Result<Response, PageError> {
    let page = card(
        staff,
        state,
        id,
        Overlay {
            telemarketing: Some(Refused {
                which,
                form,
                errors,
            }),
            ..Overlay::default()
        },
    )
    .await?;
    card_response(page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// A refusal of the app's use case, at the form's field; other errors are the page's.
fn refusal(
    tr: Tr,
    which: Which,
    error: AppError,
) -> Result<HashMap<&'static str, String>, PageError> {
    let (field, key) = match (&error, which) {
        (AppError::Store(StoreError::NotFound { entity: "phone" }), Which::Directory) => {
            ("directory_phone", "tm-error-phone")
        }
        (AppError::Store(StoreError::NotFound { entity: "phone" }), Which::Request) => {
            ("request_phone", "tm-error-phone")
        }
        // The number moved to no contact meanwhile: no contact has it any more.
        (AppError::Store(StoreError::NotFound { entity: "contact" }), Which::Call) => {
            ("call_phone", "tm-error-phone")
        }
        (AppError::Store(StoreError::Invalid(DomainError::Invalid { field, .. })), _) => {
            match (*field, which) {
                ("source", Which::Customer) => ("customer_source", "tm-error-source"),
                ("source", Which::Directory) => ("directory_source", "tm-error-source"),
                ("source", Which::Request) => ("request_source", "tm-error-source"),
                ("phone", Which::Directory) => ("directory_phone", "tm-error-phone"),
                ("phone", Which::Request) => ("request_phone", "tm-error-phone"),
                ("phone", Which::Call) => ("call_phone", "tm-error-phone"),
                ("until", Which::Customer) => ("until", "tm-error-instant-invalid"),
                ("requested_at", Which::Request) => ("requested_at", "tm-error-requested-at"),
                ("called_at", Which::Call) => ("called_at", "tm-error-called-at"),
                ("campaign", Which::Call) => ("campaign", "tm-error-campaign"),
                ("operator", Which::Call) => ("operator", "tm-error-operator"),
                _ => return Err(error.into()),
            }
        }
        _ => return Err(error.into()),
    };
    Ok(HashMap::from([(field, tr.t(key))]))
}

/// Where a write of the section sends the browser: the card, at the section, saying `done`.
fn back(id: ContactId, done: &str) -> Response {
    see_other(&format!("/contacts/{id}?done={done}#telemarketing"))
}

/// `POST /contacts/{id}/customer`: records the customer relationship (a contract in force, or
/// one that ends or ended at an instant, with its source), or clears it (L. 5/2018, art. 1:
/// our own marketing calls may reach an enrolled number while a contract is in force and for
/// 30 days after it ended). Audited by the app as `contact.customer`.
pub async fn customer(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<TelemarketingForm>,
) -> Result<Response, PageError> {
    let contact = editable(&staff, &state, &id).await?;
    let id = contact.id;
    let tr = staff.tr;
    let mut errors = HashMap::new();
    let contract = match f.contract.as_str() {
        "none" => Some(None),
        "in_force" => Some(Some(CustomerContract::InForce)),
        "until" => match local_instant(state.app.zone(), &f.until) {
            Ok(at) => Some(Some(CustomerContract::Until(at))),
            Err(key) => {
                errors.insert("until", tr.t(key));
                None
            }
        },
        _ => {
            errors.insert("contract", tr.t("tm-error-contract"));
            None
        }
    };
    // A relationship says where it comes from; clearing one needs no source.
    if f.contract != "none" && !source_ok(&f.customer_source) {
        errors.insert("customer_source", tr.t("tm-error-source"));
    }
    let Some(contract) = contract.filter(|_| errors.is_empty()) else {
        return again(&staff, &state, id, Which::Customer, f, errors).await;
    };
    let written = state
        .app
        .set_customer(
            &staff.who(),
            id,
            contract.map(|c| (c, f.customer_source.as_str())),
        )
        .await;
    match written {
        Ok(Some(_)) => Ok(back(id, "customer-set")),
        Ok(None) => Ok(back(id, "customer-cleared")),
        Err(e) => {
            let errors = refusal(tr, Which::Customer, e)?;
            again(&staff, &state, id, Which::Customer, f, errors).await
        }
    }
}

/// `POST /contacts/{id}/directory`: records whether one of the contact's numbers is in a public
/// directory, with the directory consulted (Codice privacy art. 130(3-bis): a listed number not
/// enrolled in the register may be called without consent; an unlisted one needs consent).
/// Audited by the app as `contact.directory`.
pub async fn directory(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<TelemarketingForm>,
) -> Result<Response, PageError> {
    let contact = editable(&staff, &state, &id).await?;
    let id = contact.id;
    let tr = staff.tr;
    let mut errors = HashMap::new();
    if !own_number(&contact, &f.directory_phone) {
        errors.insert("directory_phone", tr.t("tm-error-phone"));
    }
    let listed = match f.listed.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        _ => {
            errors.insert("listed", tr.t("tm-error-listed"));
            None
        }
    };
    if !source_ok(&f.directory_source) {
        errors.insert("directory_source", tr.t("tm-error-source"));
    }
    let Some(listed) = listed.filter(|_| errors.is_empty()) else {
        return again(&staff, &state, id, Which::Directory, f, errors).await;
    };
    let written = state
        .app
        .set_directory_listing(
            &staff.who(),
            id,
            Some(f.directory_phone.trim()),
            listed,
            &f.directory_source,
        )
        .await;
    match written {
        Ok(_) => Ok(back(id, "directory-saved")),
        Err(e) => {
            let errors = refusal(tr, Which::Directory, e)?;
            again(&staff, &state, id, Which::Directory, f, errors).await
        }
    }
}

/// `POST /contacts/{id}/call-requests`: records a call the person asked for, at the instant
/// they asked: until a call reaches them, or until it lapses, a marketing call to that number
/// is not stopped by the register. Audited by the app as `contact.call_request`.
pub async fn call_request(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<TelemarketingForm>,
) -> Result<Response, PageError> {
    let contact = editable(&staff, &state, &id).await?;
    let id = contact.id;
    let tr = staff.tr;
    let now = state.store.now();
    let days = state.app.policy().requested_call_days;
    let mut errors = HashMap::new();
    if !own_number(&contact, &f.request_phone) {
        errors.insert("request_phone", tr.t("tm-error-phone"));
    }
    let requested_at = match local_instant(state.app.zone(), &f.requested_at) {
        Ok(at) if at > now => {
            errors.insert("requested_at", tr.t("tm-error-requested-future"));
            None
        }
        Ok(at) if at.plus_days(days) <= now => {
            errors.insert(
                "requested_at",
                tr.count_named("tm-error-requested-lapsed", "days", i64::from(days)),
            );
            None
        }
        Ok(at) => Some(at),
        Err(key) => {
            errors.insert("requested_at", tr.t(key));
            None
        }
    };
    if !source_ok(&f.request_source) {
        errors.insert("request_source", tr.t("tm-error-source"));
    }
    let Some(requested_at) = requested_at.filter(|_| errors.is_empty()) else {
        return again(&staff, &state, id, Which::Request, f, errors).await;
    };
    let written = state
        .app
        .record_call_request(
            &staff.who(),
            id,
            Some(f.request_phone.trim()),
            requested_at,
            &f.request_source,
        )
        .await;
    match written {
        Ok(_) => Ok(back(id, "call-request-saved")),
        Err(e) => {
            let errors = refusal(tr, Which::Request, e)?;
            again(&staff, &state, id, Which::Request, f, errors).await
        }
    }
}

/// `POST /contacts/{id}/calls`: records how a call to one of the contact's numbers ended, as
/// the dialer reports outcomes, with the signed-in person as the one who records it. A refusal
/// of promotional calls is the person's objection to direct marketing at once, dated at the
/// instant of the call (GDPR Art. 21(3); "basta un no", Garante, February 2023). Audited by the
/// app as `call.outcome` (and `contact.objection` for the refusal).
pub async fn call_outcome(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<TelemarketingForm>,
) -> Result<Response, PageError> {
    let contact = editable(&staff, &state, &id).await?;
    let id = contact.id;
    let tr = staff.tr;
    let mut errors = HashMap::new();
    if !own_number(&contact, &f.call_phone) {
        errors.insert("call_phone", tr.t("tm-error-phone"));
    }
    let outcome = CallOutcome::parse(f.outcome.trim()).ok();
    if outcome.is_none() {
        errors.insert("outcome", tr.t("tm-error-outcome"));
    }
    if call_rules::campaign(&f.campaign).is_err() {
        errors.insert("campaign", tr.t("tm-error-campaign"));
    }
    if call_rules::operator(&f.operator).is_err() {
        errors.insert("operator", tr.t("tm-error-operator"));
    }
    let now = state.store.now();
    let called_at = match local_instant(state.app.zone(), &f.called_at) {
        Ok(at) => match call_rules::check_called_at(at, now) {
            Ok(()) => Some(at),
            Err(_) => {
                let key = if at > now {
                    "tm-error-called-future"
                } else {
                    "tm-error-called-old"
                };
                errors.insert("called_at", tr.t(key));
                None
            }
        },
        Err(key) => {
            errors.insert("called_at", tr.t(key));
            None
        }
    };
    let (Some(outcome), Some(called_at), true) = (outcome, called_at, errors.is_empty()) else {
        return again(&staff, &state, id, Which::Call, f, errors).await;
    };
    let written = state
        .app
        .record_call_outcome(
            &staff.who(),
            staff.actor(),
            CallReport {
                phone: f.call_phone.trim().to_owned(),
                outcome,
                campaign: f.campaign.clone(),
                operator: f.operator.clone(),
                called_at,
            },
        )
        .await;
    match written {
        Ok(r) if r.objection_raised => Ok(back(id, "call-recorded-objection")),
        Ok(_) => Ok(back(id, "call-recorded")),
        Err(e) => {
            let errors = refusal(tr, Which::Call, e)?;
            again(&staff, &state, id, Which::Call, f, errors).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn every_message_chosen_at_run_time_exists_in_both_languages() {
        for locale in Locale::ALL {
            let tr = Tr::rome(locale);
            let mut keys: Vec<String> = CallOutcome::ALL
                .iter()
                .map(|o| format!("field-outcome-{}", o.code().replace('_', "-")))
                .collect();
            keys.extend(
                [
                    "tm-error-instant-required",
                    "tm-error-instant-time",
                    "tm-error-instant-invalid",
                    "tm-error-phone",
                    "tm-error-source",
                    "tm-error-requested-at",
                    "tm-error-called-at",
                    "tm-error-called-future",
                    "tm-error-called-old",
                    "tm-error-campaign",
                    "tm-error-operator",
                    "tm-register-checked",
                    "tm-register-expired",
                    "tm-directory-listed",
                    "tm-directory-not-listed",
                    "tm-customer-ends",
                    "tm-customer-ended",
                    "tm-customer-ended-expired",
                    "done-customer-set",
                    "done-customer-cleared",
                    "done-directory-saved",
                    "done-call-request-saved",
                    "done-call-recorded",
                    "done-call-recorded-objection",
                ]
                .map(str::to_owned),
            );
            for key in keys {
                assert!(tr.has(&key), "{}: {key}", locale.code());
            }
        }
    }

    #[test]
    fn an_instant_needs_its_time_of_day_and_is_read_on_the_offices_clock() {
        let rome = Zone::rome();
        assert_eq!(
            local_instant(&rome, "2026-03-02T10:15"),
            Ok(Timestamp::parse("t", "2026-03-02T09:15:00Z").unwrap())
        );
        assert_eq!(
            local_instant(&rome, "2026-03-02"),
            Err("tm-error-instant-time")
        );
        assert_eq!(local_instant(&rome, " "), Err("tm-error-instant-required"));
        assert_eq!(
            local_instant(&rome, "ieri alle 10"),
            Err("tm-error-instant-invalid")
        );
    }

    #[test]
    fn a_source_is_one_to_five_hundred_characters() {
        assert!(source_ok("elenco pubblico"));
        assert!(!source_ok("   "));
        assert!(source_ok(&"x".repeat(500)));
        assert!(!source_ok(&"x".repeat(501)));
    }
}
