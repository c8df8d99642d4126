//! The card's consents form: one line per consent type, and `POST /contacts/{id}/consents`,
//! which records a `given` event per consent ticked (dated as the operator says, never in the
//! future) and a `withdrawn` event per consent unticked, after a confirmation step.

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_domain::{
    Action, CollectionMethod, EventKind, Permission, Permissions, Timestamp, Zone,
};
use consento_store::{ConsentEventInput, ContactRef, CurrentConsent};

use super::page::{Overlay, card, card_response};
use super::{METHODS, action_words, text};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::web::contacts::{display_name, path_contact};
use crate::web::page::{Page, PageError, render, see_other};
use crate::web::session::Staff;

/// What a consent type permits, in words.
fn permits_words(tr: Tr, p: Permissions) -> String {
    let words: Vec<String> = Action::ALL
        .iter()
        .filter(|a| p.permits(**a))
        .map(|a| action_words(tr, *a))
        .collect();
    if words.is_empty() {
        tr.t("card-permits-nothing")
    } else {
        tr.with("card-permits", "list", &words.join(", "))
    }
}

/// One line of the consents form.
pub struct ConsentRow {
    /// The type's code (field names: `type-CODE`, `date-CODE`).
    pub code: String,
    /// Its title.
    pub title: String,
    /// What it permits, in words.
    pub permits: String,
    /// Whether the checkbox is ticked.
    pub checked: bool,
    /// Whether the consent is in force now (its date cannot be changed, only withdrawn).
    pub valid: bool,
    /// The date field's value (`YYYY-MM-DD`).
    pub date: String,
    /// The state in words ("given on 3 March 2026, valid until …", "expired on …").
    pub state: String,
    /// The state's badge class.
    pub state_class: &'static str,
    /// What is wrong with the date, in the page's language.
    pub error: Option<String>,
}

/// What the consents form posted, and what was wrong with it.
#[derive(Debug, Default, Clone)]
pub(super) struct ConsentForm {
    /// Types shown on the form (a type added meanwhile is not "unticked").
    listed: HashSet<String>,
    ticked: HashSet<String>,
    dates: HashMap<String, String>,
    pub(super) method: String,
    pub(super) evidence: String,
    confirm: bool,
    errors: HashMap<String, String>,
    pub(super) error: Option<String>,
    /// Every field as posted, but the token and the confirmation (carried by the confirmation
    /// step).
    pairs: Vec<(String, String)>,
}

impl ConsentForm {
    fn parse(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in &pairs {
            if let Some(code) = k.strip_prefix("type-") {
                f.ticked.insert(code.to_owned());
            } else if let Some(code) = k.strip_prefix("date-") {
                f.dates.insert(code.to_owned(), v.trim().to_owned());
            } else {
                match k.as_str() {
                    "listed" => {
                        f.listed.insert(v.clone());
                    }
                    "method" => f.method = v.clone(),
                    "evidence" => f.evidence = v.clone(),
                    "confirm" => f.confirm = v == "1",
                    _ => {}
                }
            }
        }
        f.pairs = pairs
            .into_iter()
            .filter(|(k, _)| k != "csrf" && k != "confirm")
            .collect();
        f
    }
}

pub(super) fn consent_rows(
    tr: Tr,
    consents: &[CurrentConsent],
    form: Option<&ConsentForm>,
    today: &str,
) -> Vec<ConsentRow> {
    consents
        .iter()
        .map(|c| {
            let code = c.code.as_str().to_owned();
            let (state, state_class) = match (c.kind, c.event_time) {
                (Some(kind), Some(at)) if kind.grants() && c.valid => (
                    match c.expires_at {
                        Some(until) => tr.args(
                            "card-state-given-until",
                            &[("date", text(tr.date(at))), ("until", text(tr.date(until)))],
                        ),
                        None => tr.with("card-state-given", "date", &tr.date(at)),
                    },
                    "allowed",
                ),
                (Some(kind), Some(at)) if kind.grants() => (
                    tr.with(
                        "card-state-expired",
                        "date",
                        &tr.date(c.expires_at.unwrap_or(at)),
                    ),
                    "off",
                ),
                (Some(kind), Some(at)) => (
                    tr.with(&format!("card-state-{}", kind.code()), "date", &tr.date(at)),
                    "blocked",
                ),
                _ => (tr.t("card-state-none"), "off"),
            };
            let valid_date = c
                .event_time
                .filter(|_| c.valid)
                .map(|t| tr.date_input(t))
                .unwrap_or_else(|| today.to_owned());
            let (checked, date, error) = match form.filter(|f| f.listed.contains(&code)) {
                Some(f) => (
                    f.ticked.contains(&code),
                    if c.valid {
                        valid_date
                    } else {
                        f.dates.get(&code).cloned().unwrap_or(valid_date)
                    },
                    f.errors.get(&code).cloned(),
                ),
                None => (c.valid, valid_date, None),
            };
            ConsentRow {
                title: c.title.clone(),
                permits: permits_words(tr, c.permissions),
                checked,
                valid: c.valid,
                date,
                state,
                state_class,
                error,
                code,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "card_confirm.html")]
struct ConfirmPage {
    page: Page,
    id: String,
    name: String,
    withdrawals: Vec<String>,
    gives: Vec<String>,
    hidden: Vec<(String, String)>,
}

/// `POST /contacts/{id}/consents`: records what changed on the consents form, one ledger event
/// per consent ticked (`given`, dated as entered) or unticked (`withdrawn`, after confirmation).
/// Every field is checked before anything is recorded.
pub async fn save_consents(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    let id = path_contact(&id)?;
    let tr = staff.tr;
    let r = ContactRef::Id(id);
    let mut form = ConsentForm::parse(pairs);
    let contact = state.store.contact(&r).await?;
    if contact.erased_at.is_some() {
        return Err(PageError::NotFound);
    }
    let current = state.store.current_consents(&r).await?;
    let now = state.store.now();
    let today = tr.date_input(now);
    let method = CollectionMethod::parse(&form.method)
        .ok()
        .filter(|m| METHODS.contains(m));
    if method.is_none() {
        form.error = Some(tr.t("card-error-method"));
    }
    if form.evidence.len() > 16_384 {
        form.error = Some(tr.t("card-error-evidence"));
    }
    let mut gives: Vec<(&CurrentConsent, Option<Timestamp>)> = Vec::new();
    let mut withdrawals: Vec<&CurrentConsent> = Vec::new();
    for c in current
        .iter()
        .filter(|c| form.listed.contains(c.code.as_str()))
    {
        let code = c.code.as_str();
        let ticked = form.ticked.contains(code);
        if ticked && !c.valid {
            // The seed: "va specificata anche la data in cui il cliente ha dato il consenso".
            let date = form.dates.get(code).cloned().unwrap_or_default();
            // A date before the consent's last change (a withdrawal, a refusal) would enter the
            // ledger as history but leave the current state as it is: refused at the field.
            let checked =
                given_at(&date, &today, now, tr.zone).and_then(|at| match (at, c.event_time) {
                    (Some(at), Some(last)) if at < last => Err("card-error-date-before-last"),
                    _ => Ok(at),
                });
            match checked {
                Ok(at) => gives.push((c, at)),
                Err(key) => {
                    form.errors.insert(code.to_owned(), tr.t(key));
                }
            }
        } else if !ticked && c.valid {
            withdrawals.push(c);
        }
    }
    let Some(method) = method.filter(|_| form.errors.is_empty() && form.error.is_none()) else {
        let page = card(
            &staff,
            &state,
            id,
            Overlay {
                consents: Some(form),
                ..Overlay::default()
            },
        )
        .await?;
        return card_response(page, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if gives.is_empty() && withdrawals.is_empty() {
        return Ok(see_other(&format!(
            "/contacts/{id}?done=consents-unchanged"
        )));
    }
    if !withdrawals.is_empty() && !form.confirm {
        return render(&ConfirmPage {
            page: staff.page("contacts"),
            id: id.to_string(),
            name: display_name(tr, contact.name.as_deref()),
            withdrawals: withdrawals
                .iter()
                .map(|w| {
                    tr.args(
                        "card-confirm-withdraw",
                        &[
                            ("consent", text(format!("{} ({})", w.title, w.code))),
                            (
                                "date",
                                text(w.event_time.map(|t| tr.date(t)).unwrap_or_default()),
                            ),
                        ],
                    )
                })
                .collect(),
            gives: gives
                .iter()
                .map(|(g, at)| {
                    tr.args(
                        "card-confirm-give",
                        &[
                            ("consent", text(format!("{} ({})", g.title, g.code))),
                            ("date", text(tr.date(at.unwrap_or(now)))),
                        ],
                    )
                })
                .collect(),
            hidden: form.pairs.clone(),
        });
    }
    let evidence = Some(form.evidence.trim().to_owned()).filter(|e| !e.is_empty());
    let event = |code: &str, kind: EventKind, event_time: Option<Timestamp>| {
        (
            ConsentEventInput {
                contact: r.clone(),
                type_code: code.to_owned(),
                kind,
                event_time,
                method,
                actor: staff.actor(),
                notice_version: None,
                evidence: evidence.clone(),
            },
            None,
        )
    };
    let events: Vec<_> = gives
        .iter()
        .map(|(c, at)| event(c.code.as_str(), EventKind::Given, *at))
        .chain(
            withdrawals
                .iter()
                .map(|c| event(c.code.as_str(), EventKind::Withdrawn, None)),
        )
        .collect();
    state.app.record_consents(&staff.who(), events).await?;
    Ok(see_other(&format!("/contacts/{id}?done=consents-saved")))
}

/// The instant a ticked consent was given, from the local date typed: today (in the office's
/// zone) means now (the validity counts from the moment), an earlier day the start of that local
/// day; never a day after today. Err: the key of the message saying what is wrong.
fn given_at(
    date: &str,
    today: &str,
    now: Timestamp,
    zone: &Zone,
) -> Result<Option<Timestamp>, &'static str> {
    let date = date.trim();
    if date.is_empty() {
        return Err("card-error-date-required");
    }
    if date == today {
        return Ok(None);
    }
    let (_, at, _) = zone
        .parse_day("date", date)
        .map_err(|_| "card-error-date-invalid")?;
    // No consent collected with this product predates the GDPR's own text (2016).
    if at < Timestamp::from_micros(1_451_606_400_000_000) {
        return Err("card-error-date-invalid");
    }
    if at > now {
        return Err("card-error-date-future");
    }
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consent_dated_today_counts_from_now_and_one_dated_tomorrow_is_refused() {
        let rome = Zone::rome();
        let now = Timestamp::parse("t", "2026-03-03T15:00:00Z").unwrap();
        assert_eq!(given_at("2026-03-03", "2026-03-03", now, &rome), Ok(None));
        // 1 March in Rome starts at 23:00 UTC on 28 February (CET).
        assert_eq!(
            given_at("2026-03-01", "2026-03-03", now, &rome),
            Ok(Some(Timestamp::parse("t", "2026-02-28T23:00:00Z").unwrap()))
        );
        assert_eq!(
            given_at("2026-03-04", "2026-03-03", now, &rome),
            Err("card-error-date-future")
        );
        assert_eq!(
            given_at("", "2026-03-03", now, &rome),
            Err("card-error-date-required")
        );
        assert_eq!(
            given_at("03/03/2026", "2026-03-03", now, &rome),
            Err("card-error-date-invalid")
        );
    }

    #[test]
    fn at_half_past_midnight_in_rome_the_local_date_is_today_not_the_future() {
        let rome = Zone::rome();
        // 23:30 UTC on 30 November: 00:30 on 1 December in Rome.
        let now = Timestamp::parse("t", "2026-11-30T23:30:00Z").unwrap();
        let today = rome.today(now).unwrap().to_string();
        assert_eq!(today, "2026-12-01");
        assert_eq!(given_at("2026-12-01", &today, now, &rome), Ok(None));
        assert_eq!(
            given_at("2026-12-02", &today, now, &rome),
            Err("card-error-date-future")
        );
    }
}
