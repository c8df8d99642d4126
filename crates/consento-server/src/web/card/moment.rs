//! The contact moment: asking the decision engine whether to email, call or text, showing its
//! answer on the card (allowed, blocked, or the reason dialog), and recording the justified
//! contact with the reason picked.
//!
//! The answer, and the confirmation after a reason, are shown in the moment's own section right
//! under its buttons, and every redirect lands the browser there (`#moment`): the operator reads
//! them where they clicked, without scrolling, on a laptop as on a phone, with no script (the
//! console's Content-Security-Policy allows none). The reason dialog is a modal over the page.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_domain::{
    Action, AllowedBy, Cause, ContactId, Decision, DomainError, Permission, ReasonId, Timestamp,
};
use consento_store::{Contact, ContactRef, DecisionReport, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::page::{Overlay, card, card_response};
use super::{Titles, action_words, moment_action, text};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::web::contacts::path_contact;
use crate::web::page::{PageError, see_other};
use crate::web::session::Staff;
use consento_app::AppError;

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
        Cause::OutsideCallingHours {
            next_allowed_at: Some(next),
            ..
        } => tr.with(
            "card-cause-outside-calling-hours",
            "next",
            &tr.datetime(*next),
        ),
        Cause::OutsideCallingHours { .. } => tr.t("card-cause-outside-calling-hours-closed"),
        Cause::RpoEnrolled { found_at } => {
            tr.with("card-cause-rpo-enrolled", "date", &tr.date(*found_at))
        }
        Cause::RpoCheckMissing => tr.t("card-cause-rpo-check-missing"),
        Cause::SilentCallCooldown { until } => tr.with(
            "card-cause-silent-call-cooldown",
            "date",
            &tr.datetime(*until),
        ),
        Cause::RpoCheckExpired { expired_at } => tr.with(
            "card-cause-rpo-check-expired",
            "date",
            &tr.datetime(*expired_at),
        ),
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

/// What the reason dialog posted, and what was wrong with it.
#[derive(Debug, Default, Clone)]
pub(super) struct JustifyState {
    reason: String,
    note: String,
    reason_error: Option<String>,
    note_error: Option<String>,
}

/// The answer of a contact moment: a result panel, or the reason dialog.
pub(super) async fn moment_view(
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
                    ..
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
pub(super) fn allowed(tr: Tr, c: &Contact, action: Action, why: String) -> MomentResult {
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

/// `POST /contacts/{id}/justify`: records the justified contact (rule 7 of the decision,
/// `consento_domain::decision::decide`) with the reason picked, then shows the contact as
/// allowed. A reason that cannot justify it (inactive, or marketing under an objection, GDPR
/// Art. 21(3)) shows the dialog again with the refusal.
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
