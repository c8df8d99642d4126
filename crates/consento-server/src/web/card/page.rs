//! The card itself: the page, what is shown over it (a form again with its errors, the contact
//! moment's answer, a message after a redirect), its builder, and `GET /contacts/{id}`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_domain::{Action, Channel, ContactId, Permission};
use consento_store::ContactRef;
use serde::Deserialize;
use serde_json::json;

use super::consents::{ConsentForm, ConsentRow, consent_rows};
use super::history::{HistoryRow, history_rows};
use super::moment::{Dialog, JustifyState, MomentResult, allowed, moment_view};
use super::telemarketing::{Facts, Refused, TelemarketingView, grace_days, view};
use super::{METHODS, Titles, method_words, moment_action, text};
use crate::state::AppState;
use crate::web::contacts::{ContactFields, basis_label, basis_options, display_name, path_contact};
use crate::web::page::{Page, PageError, render};
use crate::web::session::Staff;

#[derive(Template)]
#[template(path = "card.html")]
pub(super) struct CardPage {
    page: Page,
    id: String,
    name: String,
    erased: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    external_id: String,
    created: String,
    restricted: Option<String>,
    objected: Option<String>,
    /// (channel code, its name, since when it is off).
    channels: Vec<(&'static str, String, Option<String>)>,
    consents: Vec<ConsentRow>,
    today: String,
    methods: Vec<(&'static str, String)>,
    method: String,
    evidence: String,
    consents_error: Option<String>,
    f: ContactFields,
    errors: HashMap<&'static str, String>,
    bases: Vec<(&'static str, String)>,
    basis_words: String,
    purposes: Vec<String>,
    history: Vec<HistoryRow>,
    /// The relay's log for this contact, newest first.
    relay: Vec<RelayRow>,
    /// The telemarketing section (not for an erased contact: nothing is left to call).
    tm: Option<TelemarketingView>,
    result: Option<MomentResult>,
    dialog: Option<Dialog>,
    can_edit: bool,
    can_lift: bool,
    can_contact: bool,
    can_erase: bool,
    /// For an erased contact: what was kept, why, until when (GDPR Art. 17(3)).
    kept: Vec<crate::web::erasure::KeptRow>,
}

impl CardPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// One copy of a message the relay took for this contact, as its log shows it: no address,
/// no body.
pub(super) struct RelayRow {
    message: String,
    action: String,
    rule: String,
    reason: String,
    status: String,
    status_code: &'static str,
    updated: String,
    delivered: String,
}

/// The relay's log rows of a contact, with its reasons' labels.
fn relay_rows(
    tr: crate::i18n::Tr,
    copies: Vec<consento_store::RelayDelivery>,
    reasons: &[consento_domain::ContactReason],
) -> Vec<RelayRow> {
    copies
        .into_iter()
        .map(|d| RelayRow {
            message: d.message_id.to_string(),
            action: super::action_words(tr, d.action),
            rule: d.rule,
            reason: d
                .reason_id
                .and_then(|r| reasons.iter().find(|x| x.id == r))
                .map(|r| r.label.clone())
                .unwrap_or_default(),
            status: tr.t(&format!("card-relay-status-{}", d.status.code())),
            status_code: d.status.code(),
            updated: tr.datetime(d.updated_at),
            delivered: d.delivered_at.map(|t| tr.datetime(t)).unwrap_or_default(),
        })
        .collect()
}

/// What a card shows beyond the stored contact: a form shown again with its errors, the
/// contact moment's answer, a message after a redirect.
#[derive(Debug, Default)]
pub(super) struct Overlay {
    pub(super) consents: Option<ConsentForm>,
    pub(super) provenance: Option<(ContactFields, HashMap<&'static str, String>)>,
    pub(super) moment: Option<Action>,
    pub(super) justify: Option<JustifyState>,
    pub(super) justified: Option<uuid::Uuid>,
    pub(super) done: Option<String>,
    /// A warning after a redirect (`?warn=`): consents recorded that permit nothing now.
    pub(super) warn: Option<String>,
    /// A form of the telemarketing section shown again with its errors.
    pub(super) telemarketing: Option<Refused>,
}

/// Builds the card of contact `id` with `overlay` over it, and audits the view.
pub(super) async fn card(
    staff: &Staff,
    state: &AppState,
    id: ContactId,
    overlay: Overlay,
) -> Result<CardPage, PageError> {
    let tr = staff.tr;
    let r = ContactRef::Id(id);
    let c = state.store.contact(&r).await?;
    let live = c.erased_at.is_none();
    let (relayed, reasons) = tokio::try_join!(
        state.store.relay_deliveries_of(id, 50),
        state.store.reasons(),
    )?;
    let (consents, events, interactions, flags, calls, users, summary) = tokio::try_join!(
        state.store.current_consents(&r),
        state.store.consent_history(&r),
        state.store.interactions(&r),
        state.store.flag_history(id),
        state.store.call_outcomes(id),
        state.store.users(),
        async {
            if live {
                state.store.telemarketing_summary(id).await.map(Some)
            } else {
                Ok(None)
            }
        },
    )?;
    let users: HashMap<String, String> = users
        .into_iter()
        .map(|u| (u.id.to_string(), u.display_name))
        .collect();
    let titles = Titles::of(&consents);
    let today = tr.date_input(state.store.now());
    let (mut result, mut dialog) = (None, None);
    if let Some(action) = overlay.moment {
        let report = state.app.decide(&r, action, None).await?;
        (result, dialog) = moment_view(state, tr, &c, &report, &titles, overlay.justify).await?;
    }
    if let Some(interaction) = overlay
        .justified
        .and_then(|j| interactions.iter().find(|i| i.id == j))
    {
        let why = tr.args(
            "card-allowed-justified",
            &[
                (
                    "reason",
                    text(interaction.reason_label.clone().unwrap_or_default()),
                ),
                ("when", text(tr.datetime(interaction.occurred_at))),
            ],
        );
        result = Some(allowed(tr, &c, interaction.action, why));
    }
    let form = overlay.consents.as_ref();
    let (f, errors) = overlay
        .provenance
        .unwrap_or_else(|| (ContactFields::of(&c), HashMap::new()));
    staff
        .audit(
            &state.app,
            "contact.view",
            Some(("contact", id.to_string())),
            json!({ "moment": overlay.moment.map(Action::code) }),
        )
        .await?;
    let tm = summary.map(|summary| {
        view(
            tr,
            Facts {
                summary,
                contact: &c,
                calls: &calls,
                flags: &flags,
                users: &users,
                now: state.store.now(),
                grace_days: grace_days(state),
                operator: staff.user.display_name.clone(),
            },
            overlay.telemarketing,
        )
    });
    Ok(CardPage {
        page: staff
            .page("contacts")
            .done(overlay.done.as_deref())
            .warned(overlay.warn.as_deref()),
        id: id.to_string(),
        // An erased contact has no name any more (GDPR Art. 17): the card says what it is.
        name: if c.erased_at.is_some() {
            tr.t("card-erased-name")
        } else {
            display_name(tr, c.name.as_deref())
        },
        erased: c
            .erased_at
            .map(|at| tr.with("card-erased", "date", &tr.date(at))),
        emails: c.emails.iter().map(|e| e.as_str().to_owned()).collect(),
        phones: c.phones.iter().map(|p| p.as_str().to_owned()).collect(),
        external_id: c.external_id.clone().unwrap_or_default(),
        created: tr.date(c.created_at),
        restricted: c.restricted_at.map(|at| tr.date(at)),
        objected: c.objected_at.map(|at| tr.date(at)),
        channels: Channel::ALL
            .iter()
            .map(|&ch| {
                (
                    ch.code(),
                    tr.t(&format!("card-channel-{}", ch.code())),
                    c.off_since(ch).map(|at| tr.date(at)),
                )
            })
            .collect(),
        consents: consent_rows(tr, &consents, form, &today),
        methods: METHODS
            .iter()
            .map(|m| (m.code(), method_words(tr, *m)))
            .collect(),
        // No method is preselected: the operator says how the person gave or withdrew consent
        // (GDPR Art. 7(1): the proof must be true, not a form's default).
        method: form.map(|f| f.method.clone()).unwrap_or_default(),
        evidence: form.map(|f| f.evidence.clone()).unwrap_or_default(),
        consents_error: form.and_then(|f| f.error.clone()),
        today,
        f,
        errors,
        bases: basis_options(tr),
        basis_words: c
            .legal_basis
            .map_or_else(|| tr.t("contacts-basis-none"), |b| basis_label(tr, b)),
        purposes: c.purposes.clone(),
        history: history_rows(tr, events, &interactions, &flags, &calls, &titles, &users),
        relay: relay_rows(tr, relayed, &reasons),
        tm,
        result,
        dialog,
        can_edit: live && staff.user.role.can(Permission::EditContacts),
        can_lift: staff.user.role.can(Permission::LiftRights),
        can_contact: live && staff.user.role.can(Permission::ContactPeople),
        can_erase: live && staff.user.role.can(Permission::Erase),
        kept: crate::web::erasure::card_kept(tr, state, c.erased_at),
    })
}

/// Renders a card with `status`.
pub(super) fn card_response(page: CardPage, status: StatusCode) -> Result<Response, PageError> {
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// The query of a card.
#[derive(Debug, Default, Deserialize)]
pub struct CardQuery {
    #[serde(default)]
    done: Option<String>,
    /// A warning to show (`consents-expired`).
    #[serde(default)]
    warn: Option<String>,
    /// The contact moment whose answer to show (`phone.call`…).
    #[serde(default)]
    moment: Option<String>,
    /// The justified contact just recorded.
    #[serde(default)]
    justified: Option<String>,
}

/// `GET /contacts/{id}`: the card; with `?moment=<action>`, the contact moment's answer (the
/// reason dialog open when one is needed).
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CardQuery>,
) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    let id = path_contact(&id)?;
    let moment = match q.moment.as_deref() {
        Some(code) => {
            staff.require(Permission::ContactPeople)?;
            Some(moment_action(code)?)
        }
        None => None,
    };
    let justified = match q.justified.as_deref() {
        Some(j) => {
            staff.require(Permission::ContactPeople)?;
            uuid::Uuid::parse_str(j).ok()
        }
        None => None,
    };
    let page = card(
        &staff,
        &state,
        id,
        Overlay {
            moment,
            justified,
            done: q.done,
            warn: q.warn,
            ..Overlay::default()
        },
    )
    .await?;
    card_response(page, StatusCode::OK)
}
