//! `/setup/privacy`: the privacy switches (the seed's "Impostazioni della privacy": single email,
//! mailing list, contact; plus SMS). A switch that is off lets every contact on its channel
//! through (rule 5 of the decision, `consento_domain::decision::decide`), but never past an
//! erasure, a restriction (GDPR Art. 18), an objection (Art. 21(3)) or the suppression list; the
//! page says so.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use consento_domain::PrivacySettings;
use serde::Deserialize;
use serde_json::json;

use super::{Admin, DoneQuery, Tabs};
use crate::state::AppState;
use crate::web::page::{Page, PageError, render, see_other};

/// One switch as the page shows it.
pub struct Switch {
    /// The form field.
    pub name: &'static str,
    /// Message key of its label.
    pub label: &'static str,
    /// Message key of the line saying what on and off mean.
    pub hint: &'static str,
    /// Whether it is on now.
    pub on: bool,
}

#[derive(Template)]
#[template(path = "setup_privacy.html")]
struct PrivacyPage {
    page: Page,
    tabs: Tabs,
    switches: Vec<Switch>,
}

fn switches(s: PrivacySettings) -> Vec<Switch> {
    vec![
        Switch {
            name: "check_email_single",
            label: "setup-privacy-email-single",
            hint: "setup-privacy-email-single-hint",
            on: s.check_email_single,
        },
        Switch {
            name: "check_email_bulk",
            label: "setup-privacy-email-bulk",
            hint: "setup-privacy-email-bulk-hint",
            on: s.check_email_bulk,
        },
        Switch {
            name: "check_phone",
            label: "setup-privacy-phone",
            hint: "setup-privacy-phone-hint",
            on: s.check_phone,
        },
        Switch {
            name: "check_sms",
            label: "setup-privacy-sms",
            hint: "setup-privacy-sms-hint",
            on: s.check_sms,
        },
    ]
}

/// `GET /setup/privacy`.
pub async fn show(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let settings = state.store.settings().await?;
    render(&PrivacyPage {
        page: staff.page("setup").done(q.done.as_deref()),
        tabs: Tabs::at("privacy"),
        switches: switches(settings),
    })
}

/// The switches as posted: a ticked checkbox is present, an unticked one absent.
#[derive(Debug, Deserialize)]
pub struct SwitchesForm {
    check_email_single: Option<String>,
    check_email_bulk: Option<String>,
    check_phone: Option<String>,
    check_sms: Option<String>,
}

/// `POST /setup/privacy`: replaces the switches, auditing them before and after. A save that
/// changes nothing writes nothing.
pub async fn save(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Form(form): Form<SwitchesForm>,
) -> Result<Response, PageError> {
    let before = state.store.settings().await?;
    let after = PrivacySettings {
        check_email_single: form.check_email_single.is_some(),
        check_email_bulk: form.check_email_bulk.is_some(),
        check_phone: form.check_phone.is_some(),
        check_sms: form.check_sms.is_some(),
    };
    if after != before {
        staff
            .audited(
                &state.app,
                "settings.update",
                Some(("settings", "privacy".to_owned())),
                json!({ "before": before, "after": after }),
                state.store.update_settings(after),
            )
            .await?;
    }
    Ok(see_other("/setup/privacy?done=setup-privacy-saved"))
}
