//! The contact card (the seed's "scheda anagrafica") and the contact moment.
//!
//! The card shows one checkbox per consent type with the date it was given. Ticking one records
//! a `given` event dated as the operator says (a paper form signed last week), never in the
//! future; unticking one records a `withdrawn` event after a confirmation step (GDPR Art. 7(3):
//! withdrawing is as easy as giving, but an operator's slip must not withdraw a consent). Both go
//! through the same append as the API, with the operator as actor. The card also edits the
//! provenance (source, Art. 6(1) legal basis, purposes), sets the restriction (Art. 18) and the
//! objection (Art. 21), and lists the history: every ledger event and every justified contact.
//!
//! The contact moment: "Send email", "Call", "Send SMS" ask the decision engine (DESIGN.md §2).
//! Allowed: the card says by which consent. Needs a reason: the card opens the seed's pop-up,
//! a dialog asking for a reason from the active list (it is the card re-rendered with
//! `?moment=<action>`, so it works without JavaScript); the justified contact is recorded before
//! the operator proceeds. Blocked: the card says why, with dates, and offers no way around it.
//!
//! Every change, every contact moment, and every view of a card is audited.

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_domain::{
    Action, ActorKind, AllowedBy, Cause, Channel, CollectionMethod, ContactId, Decision,
    DomainError, EventId, EventKind, Permission, Permissions, ReasonId, Timestamp,
};
use consento_store::{
    ConsentEventInput, Contact, ContactFlag, ContactRef, CurrentConsent, DecisionReport, FlagEvent,
    HistoryEntry, Interaction, StoreError,
};
use serde::Deserialize;
use serde_json::json;

use super::contacts::{ContactFields, basis_label, basis_options, display_name, path_contact};
use super::page::{Page, PageError, render, see_other};
use super::session::Staff;
use crate::http::attachment;
use crate::i18n::{Arg, Tr};
use crate::state::AppState;
use consento_app::AppError;
use consento_app::export::{Download, ExportFormat, export};

/// The collection methods an operator picks from when ticking or unticking a consent on the
/// card; the others (import, API, preference center…) are recorded by machines.
const METHODS: [CollectionMethod; 5] = [
    CollectionMethod::Paper,
    CollectionMethod::Phone,
    CollectionMethod::Email,
    CollectionMethod::Form,
    CollectionMethod::Operator,
];

/// The contact moments of the card: the single contacts an operator makes (bulk sends are the
/// newsletter's).
const MOMENTS: [Action; 3] = [Action::EmailSingle, Action::PhoneCall, Action::SmsSingle];

/// An argument of a message, owned.
fn text(s: impl Into<String>) -> Arg<'static> {
    Arg::Text(s.into().into())
}

/// A key segment of a code: `email.single` → `email-single`.
fn key_of(code: &str) -> String {
    code.replace(['.', '_'], "-")
}

fn action_words(tr: Tr, action: Action) -> String {
    tr.t(&format!("card-action-{}", key_of(action.code())))
}

fn method_words(tr: Tr, method: CollectionMethod) -> String {
    tr.t(&format!("card-method-{}", key_of(method.code())))
}

fn kind_words(tr: Tr, kind: EventKind) -> String {
    tr.t(&format!("card-kind-{}", kind.code()))
}

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

/// Parses the action of a contact moment: one of the card's three.
fn moment_action(code: &str) -> Result<Action, PageError> {
    Action::parse(code)
        .ok()
        .filter(|a| MOMENTS.contains(a))
        .ok_or(PageError::NotFound)
}

/// "Newsletter (NEWS)": a consent type as the card names it.
struct Titles(HashMap<String, String>);

impl Titles {
    fn of(consents: &[CurrentConsent]) -> Self {
        Self(
            consents
                .iter()
                .map(|c| {
                    (
                        c.code.as_str().to_owned(),
                        format!("{} ({})", c.title, c.code),
                    )
                })
                .collect(),
        )
    }

    fn name(&self, code: &str) -> String {
        self.0.get(code).cloned().unwrap_or_else(|| code.to_owned())
    }
}

/// Why a contact is blocked or needs a reason, in words with its dates.
fn cause_words(tr: Tr, cause: &Cause, titles: &Titles) -> String {
    let consent = |key: &str, code: &consento_domain::ConsentCode, at: &Timestamp| {
        tr.args(
            key,
            &[
                ("consent", text(titles.name(code.as_str()))),
                ("date", text(tr.date(*at))),
            ],
        )
    };
    match cause {
        Cause::Erased => tr.t("card-cause-erased"),
        Cause::Restricted { since } => tr.with("card-cause-restricted", "date", &tr.date(*since)),
        Cause::Objected { since } => tr.with("card-cause-objected", "date", &tr.date(*since)),
        Cause::ChannelOff { channel, since } => tr.args(
            "card-cause-channel-off",
            &[
                (
                    "channel",
                    text(tr.t(&format!("channel-{}", channel.code()))),
                ),
                ("date", text(tr.date(*since))),
            ],
        ),
        Cause::Suppressed => tr.t("card-cause-suppressed"),
        Cause::NoConsent => tr.t("card-cause-no-consent"),
        Cause::Refused { code, at } => consent("card-cause-refused", code, at),
        Cause::Withdrawn { code, at } => consent("card-cause-withdrawn", code, at),
        Cause::Expired { code, at } => consent("card-cause-expired", code, at),
    }
}

/// The rule that decided, as the audit trail records it.
fn rule_code(decision: &Decision) -> &'static str {
    match decision {
        Decision::Allowed {
            allowed_by: AllowedBy::CheckDisabled,
        } => "check_disabled",
        Decision::Allowed {
            allowed_by: AllowedBy::Consent { .. },
        } => "consent",
        Decision::NeedsJustification { cause, .. } | Decision::Blocked { cause } => cause.code(),
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

/// One line of the history: a ledger event or a justified contact.
pub struct HistoryRow {
    /// When it was recorded (sorting: newest first).
    sort: (Timestamp, i64),
    /// When it happened.
    pub date: String,
    /// What happened.
    pub what: String,
    /// The badge of what happened.
    pub class: &'static str,
    /// When it was recorded.
    pub recorded: String,
    /// How it was collected, or the channel of the contact.
    pub how: String,
    /// The evidence, or the reason and the note.
    pub detail: String,
    /// Who.
    pub by: String,
    /// A ledger event's id: its signed receipt is offered for download.
    pub receipt: Option<String>,
}

/// The answer of a contact moment shown on the card.
pub struct MomentResult {
    /// `allowed` or `blocked`.
    pub outcome: &'static str,
    /// The heading ("Allowed: Call").
    pub heading: String,
    /// Why, with dates.
    pub why: String,
    /// Where to go on (a `mailto:`, `tel:` or `sms:` link) and its words, when allowed.
    pub proceed: Option<(String, String)>,
    /// Said when the contact has no address or number for the channel.
    pub missing: Option<String>,
}

/// The reason dialog (the seed's "motivazione" pop-up).
pub struct Dialog {
    /// The action's code.
    pub action: &'static str,
    /// The dialog's title.
    pub title: String,
    /// Why a reason is needed.
    pub cause: String,
    /// Said when marketing reasons are left out (an objection, GDPR Art. 21(3)).
    pub objection: Option<String>,
    /// The reasons offered: (id, label).
    pub reasons: Vec<(String, String)>,
    /// The reason picked (when shown again).
    pub selected: String,
    /// The note typed.
    pub note: String,
    /// What is wrong with the reason.
    pub reason_error: Option<String>,
    /// What is wrong with the note.
    pub note_error: Option<String>,
}

#[derive(Template)]
#[template(path = "card.html")]
struct CardPage {
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
    result: Option<MomentResult>,
    dialog: Option<Dialog>,
    can_edit: bool,
    can_lift: bool,
    can_contact: bool,
    can_erase: bool,
    /// For an erased contact: what was kept, why, until when (GDPR Art. 17(3)).
    kept: Vec<super::erasure::KeptRow>,
}

impl CardPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// What the consents form posted, and what was wrong with it.
#[derive(Debug, Default, Clone)]
struct ConsentForm {
    /// Types shown on the form (a type added meanwhile is not "unticked").
    listed: HashSet<String>,
    ticked: HashSet<String>,
    dates: HashMap<String, String>,
    method: String,
    evidence: String,
    confirm: bool,
    errors: HashMap<String, String>,
    error: Option<String>,
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

/// What the reason dialog posted, and what was wrong with it.
#[derive(Debug, Default, Clone)]
struct JustifyState {
    reason: String,
    note: String,
    reason_error: Option<String>,
    note_error: Option<String>,
}

/// What a card shows beyond the stored contact: a form shown again with its errors, the
/// contact moment's answer, a message after a redirect.
#[derive(Debug, Default)]
struct Overlay {
    consents: Option<ConsentForm>,
    provenance: Option<(ContactFields, HashMap<&'static str, String>)>,
    moment: Option<Action>,
    justify: Option<JustifyState>,
    justified: Option<uuid::Uuid>,
    done: Option<String>,
}

/// Who did it, in words: an operator by their display name.
fn actor_words(tr: Tr, kind: ActorKind, id: &str, users: &HashMap<String, String>) -> String {
    match kind {
        ActorKind::Operator => users.get(id).cloned().unwrap_or_else(|| id.to_owned()),
        ActorKind::Token => tr.with("card-actor-token", "id", id.get(..8).unwrap_or(id)),
        ActorKind::Subject => tr.t("card-actor-subject"),
        ActorKind::System => tr.t("card-actor-system"),
    }
}

/// Who made a justified contact: an operator of the console by their display name; an
/// integration's user by the handle it gave (`token:<id>;operator:<handle>`).
fn operator_words(tr: Tr, operator: &str, users: &HashMap<String, String>) -> String {
    if let Some(name) = users.get(operator) {
        return name.clone();
    }
    match operator.split_once(";operator:") {
        Some((_, handle)) => tr.with("card-actor-crm-user", "handle", handle),
        None => match operator.strip_prefix("token:") {
            Some(id) => tr.with("card-actor-token", "id", id.get(..8).unwrap_or(id)),
            None => operator.to_owned(),
        },
    }
}

fn history_rows(
    tr: Tr,
    events: Vec<HistoryEntry>,
    interactions: &[Interaction],
    flags: &[FlagEvent],
    titles: &Titles,
    users: &HashMap<String, String>,
) -> Vec<HistoryRow> {
    let mut rows: Vec<HistoryRow> = events
        .into_iter()
        .map(|e| {
            let mut what = tr.args(
                "card-history-consent",
                &[
                    ("consent", text(titles.name(&e.type_code))),
                    ("kind", text(kind_words(tr, e.kind))),
                ],
            );
            if let Some(until) = e.expires_at {
                what = format!(
                    "{what} {}",
                    tr.with("card-history-valid-until", "date", &tr.date(until))
                );
            }
            HistoryRow {
                sort: (e.recorded_at, e.seq),
                date: tr.date(e.event_time),
                what,
                class: if e.kind.grants() {
                    "allowed"
                } else {
                    "blocked"
                },
                recorded: tr.datetime(e.recorded_at),
                how: method_words(tr, e.method),
                detail: e.evidence.unwrap_or_default(),
                by: actor_words(tr, e.actor_kind, &e.actor_id, users),
                receipt: Some(e.id.0.to_string()),
            }
        })
        .collect();
    rows.extend(interactions.iter().map(|i| {
        let reason = i.reason_label.clone().unwrap_or_default();
        HistoryRow {
            sort: (i.occurred_at, i64::MAX),
            date: tr.date(i.occurred_at),
            what: tr.t("card-history-justified"),
            class: "needs",
            recorded: tr.datetime(i.occurred_at),
            how: action_words(tr, i.action),
            detail: match i.note.as_deref() {
                Some(note) => format!("{reason} — {note}"),
                None => reason,
            },
            by: operator_words(tr, &i.operator, users),
            receipt: None,
        }
    }));
    rows.extend(flags.iter().map(|f| {
        let state = if f.raised { "raised" } else { "lifted" };
        HistoryRow {
            sort: (f.at, i64::MAX),
            date: tr.date(f.at),
            what: tr.t(&format!("flags-history-{}-{state}", f.flag.code())),
            class: if f.raised { "blocked" } else { "allowed" },
            recorded: tr.datetime(f.at),
            how: match f.request_id {
                Some(_) => tr.t("flags-history-by-request"),
                None => String::new(),
            },
            detail: match (f.flag, f.raised) {
                (ContactFlag::Restriction, false) => tr.t("flags-history-person-told"),
                _ => String::new(),
            },
            by: actor_words(tr, f.actor.kind, &f.actor.id, users),
            receipt: None,
        }
    }));
    rows.sort_by_key(|r| std::cmp::Reverse(r.sort));
    rows
}

fn consent_rows(
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
                .map(Tr::date_input)
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

/// The answer of a contact moment: a result panel, or the reason dialog.
async fn moment_view(
    state: &AppState,
    tr: Tr,
    c: &Contact,
    report: &DecisionReport,
    titles: &Titles,
    justify: Option<JustifyState>,
) -> Result<(Option<MomentResult>, Option<Dialog>), PageError> {
    let action = report.action;
    let words = action_words(tr, action);
    match &report.decision {
        Decision::Allowed { allowed_by } => {
            let why = match allowed_by {
                AllowedBy::CheckDisabled => tr.t("card-allowed-check-disabled"),
                AllowedBy::Consent {
                    code,
                    given_at,
                    expires_at,
                } => match expires_at {
                    Some(until) => tr.args(
                        "card-allowed-consent-until",
                        &[
                            ("consent", text(titles.name(code.as_str()))),
                            ("date", text(tr.date(*given_at))),
                            ("until", text(tr.date(*until))),
                        ],
                    ),
                    None => tr.args(
                        "card-allowed-consent",
                        &[
                            ("consent", text(titles.name(code.as_str()))),
                            ("date", text(tr.date(*given_at))),
                        ],
                    ),
                },
            };
            Ok((Some(allowed(tr, c, action, why)), None))
        }
        Decision::Blocked { cause } => Ok((
            Some(MomentResult {
                outcome: "blocked",
                heading: tr.with("card-blocked-heading", "action", &words),
                why: cause_words(tr, cause, titles),
                proceed: None,
                missing: None,
            }),
            None,
        )),
        Decision::NeedsJustification {
            cause,
            marketing_reasons_allowed,
        } => {
            // Only active reasons can be picked; under an objection, only those that are not
            // marketing (GDPR Art. 21(3)). The store checks both again when one is posted.
            let reasons = state
                .store
                .reasons()
                .await?
                .into_iter()
                .filter(|r| r.active && (*marketing_reasons_allowed || !r.marketing))
                .map(|r| (r.id.0.to_string(), r.label))
                .collect();
            let j = justify.unwrap_or_default();
            Ok((
                None,
                Some(Dialog {
                    action: action.code(),
                    title: tr.with("card-dialog-title", "action", &words),
                    cause: tr.with(
                        "card-dialog-cause",
                        "cause",
                        &cause_words(tr, cause, titles),
                    ),
                    objection: (!marketing_reasons_allowed).then(|| tr.t("card-dialog-objection")),
                    reasons,
                    selected: j.reason,
                    note: j.note,
                    reason_error: j.reason_error,
                    note_error: j.note_error,
                }),
            ))
        }
    }
}

/// The "allowed" panel: why, and the link to go on with (the contact's primary address or
/// number), or a word when the contact has none for the channel.
fn allowed(tr: Tr, c: &Contact, action: Action, why: String) -> MomentResult {
    let (scheme, to, missing_key) = match action {
        Action::EmailSingle | Action::EmailBulk => (
            "mailto:",
            c.emails.first().map(|e| e.as_str().to_owned()),
            "card-missing-email",
        ),
        Action::PhoneCall => (
            "tel:",
            c.phones.first().map(|p| p.as_str().to_owned()),
            "card-missing-phone",
        ),
        Action::SmsSingle | Action::SmsBulk => (
            "sms:",
            c.phones.first().map(|p| p.as_str().to_owned()),
            "card-missing-phone",
        ),
    };
    MomentResult {
        outcome: "allowed",
        heading: tr.with("card-allowed-heading", "action", &action_words(tr, action)),
        why,
        missing: to.is_none().then(|| tr.t(missing_key)),
        proceed: to.map(|to| {
            (
                format!("{scheme}{to}"),
                tr.args(
                    "card-proceed",
                    &[("action", text(action_words(tr, action))), ("to", text(to))],
                ),
            )
        }),
    }
}

/// Builds the card of contact `id` with `overlay` over it, and audits the view.
async fn card(
    staff: &Staff,
    state: &AppState,
    id: ContactId,
    overlay: Overlay,
) -> Result<CardPage, PageError> {
    let tr = staff.tr;
    let r = ContactRef::Id(id);
    let c = state.store.contact(&r).await?;
    let (consents, events, interactions, flags, users) = tokio::try_join!(
        state.store.current_consents(&r),
        state.store.consent_history(&r),
        state.store.interactions(&r),
        state.store.flag_history(id),
        state.store.users(),
    )?;
    let users: HashMap<String, String> = users
        .into_iter()
        .map(|u| (u.id.to_string(), u.display_name))
        .collect();
    let titles = Titles::of(&consents);
    let today = Tr::date_input(state.store.now());
    let (mut result, mut dialog) = (None, None);
    if let Some(action) = overlay.moment {
        let report = state.store.decide(&r, action, None).await?;
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
    let live = c.erased_at.is_none();
    Ok(CardPage {
        page: staff.page("contacts").done(overlay.done.as_deref()),
        id: id.to_string(),
        name: display_name(tr, c.name.as_deref()),
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
        method: form.map_or_else(
            || CollectionMethod::Paper.code().to_owned(),
            |f| f.method.clone(),
        ),
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
        history: history_rows(tr, events, &interactions, &flags, &titles, &users),
        result,
        dialog,
        can_edit: live && staff.user.role.can(Permission::EditContacts),
        can_lift: staff.user.role.can(Permission::LiftRights),
        can_contact: live && staff.user.role.can(Permission::ContactPeople),
        can_erase: live && staff.user.role.can(Permission::Erase),
        kept: super::erasure::card_kept(tr, state, c.erased_at),
    })
}

/// Renders a card with `status`.
fn card_response(page: CardPage, status: StatusCode) -> Result<Response, PageError> {
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// The query of a card.
#[derive(Debug, Default, Deserialize)]
pub struct CardQuery {
    #[serde(default)]
    done: Option<String>,
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
            ..Overlay::default()
        },
    )
    .await?;
    card_response(page, StatusCode::OK)
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
    let today = Tr::date_input(now);
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
            let checked = given_at(&date, &today, now).and_then(|at| match (at, c.event_time) {
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

/// The instant a ticked consent was given, from the date typed: today means now (the validity
/// counts from the moment), an earlier day its midnight (UTC); never a day after today. Err: the
/// key of the message saying what is wrong.
fn given_at(date: &str, today: &str, now: Timestamp) -> Result<Option<Timestamp>, &'static str> {
    let date = date.trim();
    if date.is_empty() {
        return Err("card-error-date-required");
    }
    if date == today {
        return Ok(None);
    }
    let at = Timestamp::parse("date", date).map_err(|_| "card-error-date-invalid")?;
    // No consent collected with this product predates the GDPR's own text (2016).
    if at < Timestamp::from_micros(1_451_606_400_000_000) {
        return Err("card-error-date-invalid");
    }
    if at > now {
        return Err("card-error-date-future");
    }
    Ok(Some(at))
}

/// The provenance fields of the card.
#[derive(Debug, Default, Deserialize)]
pub struct ProvenanceForm {
    #[serde(default)]
    source: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    purposes: String,
}

/// `POST /contacts/{id}/provenance`: source, legal basis and purposes.
pub async fn save_provenance(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(p): Form<ProvenanceForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    let id = path_contact(&id)?;
    let before = state.store.contact(&ContactRef::Id(id)).await?;
    let f = ContactFields {
        source: p.source,
        legal_basis: p.legal_basis,
        purposes: p.purposes,
        ..ContactFields::of(&before)
    };
    match super::contacts::save(&staff, &state, &before, &f).await? {
        Ok(_) => Ok(see_other(&format!("/contacts/{id}?done=contact-saved"))),
        Err((field, message)) => {
            let page = card(
                &staff,
                &state,
                id,
                Overlay {
                    provenance: Some((f, HashMap::from([(field, message)]))),
                    ..Overlay::default()
                },
            )
            .await?;
            card_response(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// A switch of the card: `on=1` sets it, anything else lifts it.
#[derive(Debug, Default, Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    on: String,
}

/// `POST /contacts/{id}/restriction`: restricts processing (GDPR Art. 18) or lifts it.
pub async fn restriction(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(s): Form<SwitchForm>,
) -> Result<Response, PageError> {
    set_flag(&staff, &state, &id, s.on == "1", ContactFlag::Restriction).await
}

/// `POST /contacts/{id}/objection`: records the objection to direct marketing (GDPR Art. 21) or
/// its withdrawal.
pub async fn objection(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(s): Form<SwitchForm>,
) -> Result<Response, PageError> {
    set_flag(&staff, &state, &id, s.on == "1", ContactFlag::Objection).await
}

/// The channel switch's fields.
#[derive(Debug, Default, Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    off: String,
}

/// `POST /contacts/{id}/channel`: records that the person switched a form of communication off
/// (told an operator "no more calls"), or, for the DPO or an administrator, back on: like an
/// objection, switching back on is not for the operator who wants to call.
pub async fn channel(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ChannelForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    let off = f.off == "1";
    if !off {
        staff.require(Permission::LiftRights)?;
    }
    let channel = Channel::parse(&f.channel).map_err(|_| PageError::NotFound)?;
    let id = path_contact(&id)?;
    let r = ContactRef::Id(id);
    let before = state.store.contact(&r).await?;
    if before.erased_at.is_some() {
        return Err(PageError::NotFound);
    }
    // Off since the moment it is switched off (the store's clock, read just before it
    // writes), or since before when it already was.
    let was = before.off_since(channel);
    let will_be = if off {
        was.or(Some(state.store.now()))
    } else {
        None
    };
    staff
        .audited(
            &state.app,
            "contact.channel",
            Some(("contact", id.to_string())),
            json!({ "channel": channel.code(), "before": was, "after": will_be }),
            state.store.set_channel(
                &r,
                channel,
                off,
                CollectionMethod::Phone,
                &staff.actor(),
                None,
            ),
        )
        .await?;
    let done = if off { "channel-off" } else { "channel-on" };
    Ok(see_other(&format!("/contacts/{id}?done={done}")))
}

/// Sets or lifts a flag, audited with its date before and after; an erased contact has nothing
/// left to flag.
async fn set_flag(
    staff: &Staff,
    state: &AppState,
    id: &str,
    on: bool,
    flag: ContactFlag,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    // Anyone who edits contacts may record a restriction or an objection a person asks for;
    // lifting one is for the DPO or an administrator (else: lift, call, set it again).
    if !on {
        staff.require(Permission::LiftRights)?;
    }
    let id = path_contact(id)?;
    let r = ContactRef::Id(id);
    let before = state.store.contact(&r).await?;
    if before.erased_at.is_some() {
        return Err(PageError::NotFound);
    }
    // Audited by the app, in the change's transaction.
    state
        .app
        .change_flag(&staff.who(), &r, flag, on, staff.actor(), None)
        .await?;
    let name = flag.code();
    let done = format!("{name}-{}", if on { "set" } else { "lifted" });
    Ok(see_other(&format!("/contacts/{id}?done={done}")))
}

/// The contact moment's button.
#[derive(Debug, Default, Deserialize)]
pub struct MomentForm {
    #[serde(default)]
    action: String,
}

/// `POST /contacts/{id}/moment`: asks the decision engine, audits the question and its answer,
/// and shows the answer on the card.
pub async fn moment(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(m): Form<MomentForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::ContactPeople)?;
    let id = path_contact(&id)?;
    let action = moment_action(&m.action)?;
    let report = state.app.decide(&ContactRef::Id(id), action, None).await?;
    staff
        .audit(
            &state.app,
            "contact.moment",
            Some(("contact", id.to_string())),
            json!({
                "action": action.code(),
                "outcome": report.decision.outcome(),
                "rule": rule_code(&report.decision),
            }),
        )
        .await?;
    Ok(see_other(&format!(
        "/contacts/{id}?moment={}#moment",
        action.code()
    )))
}

/// The reason dialog's fields.
#[derive(Debug, Default, Deserialize)]
pub struct JustifyForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

/// `POST /contacts/{id}/justify`: records the justified contact (DESIGN.md §2, rule 7) with the
/// reason picked, then shows the contact as allowed. A reason that cannot justify it (inactive,
/// or marketing under an objection, GDPR Art. 21(3)) shows the dialog again with the refusal.
pub async fn justify(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(j): Form<JustifyForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::ContactPeople)?;
    let id = path_contact(&id)?;
    let action = moment_action(&j.action)?;
    let tr = staff.tr;
    let r = ContactRef::Id(id);
    let mut again = JustifyState {
        reason: j.reason.clone(),
        note: j.note.clone(),
        ..JustifyState::default()
    };
    let reason = uuid::Uuid::parse_str(j.reason.trim()).ok().map(ReasonId);
    let outcome = match reason {
        None => Err(AppError::Store(StoreError::NotFound { entity: "reason" })),
        Some(reason) => {
            state
                .app
                .justify(
                    &staff.who(),
                    &r,
                    action,
                    reason,
                    Some(j.note.as_str()),
                    &staff.actor_id(),
                )
                .await
        }
    };
    match outcome {
        // Audited by the app, in the interaction's transaction (or traced when allowed).
        Ok((_, interaction)) => {
            Ok(match interaction {
                Some(i) => see_other(&format!("/contacts/{id}?justified={}#moment", i.id)),
                // Allowed meanwhile (a consent was recorded): nothing to justify.
                None => see_other(&format!("/contacts/{id}?moment={}#moment", action.code())),
            })
        }
        // Blocked meanwhile: the card says why.
        Err(AppError::Store(StoreError::Invalid(DomainError::Invalid {
            field: "action", ..
        }))) => Ok(see_other(&format!(
            "/contacts/{id}?moment={}#moment",
            action.code()
        ))),
        Err(AppError::Store(StoreError::NotFound { entity: "reason" })) => {
            again.reason_error = Some(tr.t("card-error-reason-required"));
            justify_again(&staff, &state, id, action, again).await
        }
        Err(AppError::Store(StoreError::Invalid(DomainError::Invalid {
            field: "reason", ..
        }))) => {
            let marketing = match reason {
                Some(reason) => state.store.reason(reason).await?.marketing,
                None => false,
            };
            again.reason_error = Some(tr.t(if marketing {
                "card-error-reason-objection"
            } else {
                "card-error-reason-inactive"
            }));
            justify_again(&staff, &state, id, action, again).await
        }
        Err(AppError::Store(StoreError::Invalid(DomainError::Invalid {
            field: "note", ..
        }))) => {
            again.note_error = Some(tr.t("card-error-note"));
            justify_again(&staff, &state, id, action, again).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The card with the reason dialog open again, showing what was wrong.
async fn justify_again(
    staff: &Staff,
    state: &AppState,
    id: ContactId,
    action: Action,
    again: JustifyState,
) -> Result<Response, PageError> {
    let page = card(
        staff,
        state,
        id,
        Overlay {
            moment: Some(action),
            justify: Some(again),
            ..Overlay::default()
        },
    )
    .await?;
    card_response(page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// `GET /contacts/{id}/export.json` and `.csv`: the person's data export (GDPR Art. 15 access,
/// Art. 20 portability), the same document as the API's. Only those who answer data-subject
/// requests may download it (the DPO, admins, auditors), and every download is audited: it is
/// the whole record of a person leaving the system.
pub async fn export_json(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    download(staff, state, id, ExportFormat::Json).await
}

/// `GET /contacts/{id}/export.csv`: the zip of CSV files; see [`export_json`].
pub async fn export_csv(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    download(staff, state, id, ExportFormat::Csv).await
}

async fn download(
    staff: Staff,
    state: AppState,
    id: String,
    format: ExportFormat,
) -> Result<Response, PageError> {
    staff.require(Permission::Audit)?;
    let id = path_contact(&id)?;
    let file = export(&state.app, id, format)
        .await
        .map_err(AppError::from)?;
    staff
        .audit(
            &state.app,
            "contact.export",
            Some(("contact", id.to_string())),
            json!({ "format": format.code() }),
        )
        .await?;
    Ok(attachment(file))
}

/// `GET /contacts/{id}/receipts/{event}`: the signed consent receipt of one of the contact's
/// ledger events (Kantara CR v1.1 and ISO/IEC TS 27560 record, JWS), as a JSON download: the
/// proof of consent to hand the person (GDPR Art. 7(1)). Whoever sees the history may take it.
pub async fn receipt(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, event)): Path<(String, String)>,
) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    let id = path_contact(&id)?;
    let event = uuid::Uuid::parse_str(event.trim()).map_err(|_| PageError::NotFound)?;
    let signed = consento_app::receipts::issue(&state.app, EventId(event))
        .await
        .map_err(AppError::from)?;
    // The event must be this contact's: the address names both.
    if signed.receipt.pii_principal_id != id.0.to_string() {
        return Err(PageError::NotFound);
    }
    staff
        .audit(
            &state.app,
            "consent.receipt",
            Some(("consent_event", event.to_string())),
            json!({ "contact": id.to_string() }),
        )
        .await?;
    let body = serde_json::to_vec_pretty(&signed)
        .map_err(|e| PageError::Internal(format!("receipt: {e}")))?;
    Ok(attachment(Download {
        filename: format!("consent-receipt-{event}.json"),
        content_type: "application/json",
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consent_dated_today_counts_from_now_and_one_dated_tomorrow_is_refused() {
        let now = Timestamp::parse("t", "2026-03-03T15:00:00Z").unwrap();
        assert_eq!(given_at("2026-03-03", "2026-03-03", now), Ok(None));
        assert_eq!(
            given_at("2026-03-01", "2026-03-03", now),
            Ok(Some(Timestamp::parse("t", "2026-03-01").unwrap()))
        );
        assert_eq!(
            given_at("2026-03-04", "2026-03-03", now),
            Err("card-error-date-future")
        );
        assert_eq!(
            given_at("", "2026-03-03", now),
            Err("card-error-date-required")
        );
        assert_eq!(
            given_at("03/03/2026", "2026-03-03", now),
            Err("card-error-date-invalid")
        );
    }

    #[test]
    fn every_action_method_kind_and_basis_has_words_in_both_languages() {
        use crate::i18n::Locale;
        for locale in Locale::ALL {
            let tr = Tr::new(locale);
            let mut keys: Vec<String> = Vec::new();
            keys.extend(
                Action::ALL
                    .iter()
                    .map(|a| format!("card-action-{}", key_of(a.code()))),
            );
            keys.extend(
                CollectionMethod::ALL
                    .iter()
                    .map(|m| format!("card-method-{}", key_of(m.code()))),
            );
            keys.extend(
                EventKind::ALL
                    .iter()
                    .map(|k| format!("card-kind-{}", k.code())),
            );
            keys.extend(
                EventKind::ALL
                    .iter()
                    .filter(|k| !k.grants())
                    .map(|k| format!("card-state-{}", k.code())),
            );
            keys.extend(
                consento_domain::LegalBasis::ALL
                    .iter()
                    .map(|b| format!("contacts-basis-{}", key_of(b.code()))),
            );
            // Keys chosen at run time rather than written in a `.t("…")` call.
            keys.extend(
                [
                    "card-error-date-required",
                    "card-error-date-invalid",
                    "card-error-date-future",
                    "card-error-reason-objection",
                    "card-error-reason-inactive",
                    "card-missing-email",
                    "card-missing-phone",
                    "done-contact-created",
                    "done-contact-saved",
                    "done-consents-saved",
                    "done-consents-unchanged",
                    "done-restriction-set",
                    "done-restriction-lifted",
                    "done-objection-set",
                    "done-objection-lifted",
                ]
                .map(str::to_owned),
            );
            for key in keys {
                assert!(tr.has(&key), "{}: {key}", locale.code());
            }
        }
    }

    #[test]
    fn only_the_three_single_contacts_are_moments_of_the_card() {
        assert!(moment_action("phone.call").is_ok());
        assert!(moment_action("email.bulk").is_err());
        assert!(moment_action("fax").is_err());
    }
}
