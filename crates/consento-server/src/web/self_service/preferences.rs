//! `/p/{token}`: the preference center. The person sees their topics (the consent types set to
//! show in the preference center) with their state and since when, subscribes to or
//! unsubscribes from each, or withdraws every consent at once (GDPR Art. 7(3)). Each change is
//! recorded with method `preference_center`, the person as actor, the privacy-notice version the
//! page showed (with a given consent) and the evidence of the request.
//!
//! The page shows nothing about the person beyond their consents (not even their address: a
//! forwarded email must not disclose it), and nothing about anyone else. While the person objects
//! to direct marketing (Art. 21(3), absolute) or their processing is restricted (Art. 18), the
//! page still shows every topic and still unsubscribes, but subscribes to nothing: only the
//! controller lifts an objection or a restriction, and the page says so.
//!
//! The person also switches each form of communication (email, phone calls, text messages) off
//! or back on: "attivare o disattivare ogni forma di comunicazione" (seed). A channel switched
//! off weighs like an objection for that channel (decision rule 3b); each switch is kept with its
//! evidence in the channel history.

use askama::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_domain::{Actor, ActorKind, Channel, CollectionMethod, EventKind};
use consento_store::{ConsentType, CurrentConsent, Notice};
use serde::Deserialize;

use super::{Person, body_bytes, evidence, in_force, open_page, record, with_lang};
use crate::client::client_ip;
use crate::i18n::{Locale, Tr};
use crate::state::AppState;
use crate::web::page::{Page, PageError, render, see_other};
use crate::web::public::ControllerFooter;
use consento_app::links::Purpose;

/// One topic as the page shows it.
pub struct Topic {
    /// The consent type's code (the form's `topic`).
    pub code: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: Option<String>,
    /// Whether the person's consent is in force.
    pub subscribed: bool,
    /// "since 3 March 2026", when known.
    pub since: Option<String>,
    /// The button's label, naming the topic.
    pub button: String,
}

/// One form of communication as the page shows it.
pub struct ChannelRow {
    /// `email`, `phone`, `sms` (the form's `channel`).
    pub code: &'static str,
    /// Its name.
    pub name: String,
    /// Whether the person switched it off.
    pub off: bool,
    /// "since 3 March 2026", when off.
    pub since: Option<String>,
}

/// The privacy notice shown: what a person subscribing accepts.
pub struct ShownNotice {
    /// Its version (recorded with each consent given here).
    pub version: String,
    /// Where it is published.
    pub url: Option<String>,
    /// Its text, when kept here.
    pub body: Option<String>,
}

#[derive(Template)]
#[template(path = "public_preferences.html")]
struct PreferencesPage {
    page: Page,
    action: String,
    topics: Vec<Topic>,
    channels: Vec<ChannelRow>,
    notice: Option<ShownNotice>,
    objected: bool,
    restricted: bool,
    /// Whether any consent of the person, of any type, is in force (withdrawing everything).
    any_in_force: bool,
    error: Option<String>,
    /// Who the controller is: named in the introduction and at the foot of the page.
    controller: ControllerFooter,
}

impl PreferencesPage {
    /// The introduction: what to receive from whom, naming the controller when it has a name
    /// (never a generic "us").
    fn intro(&self) -> String {
        match &self.controller.name {
            Some(name) => self
                .page
                .tr
                .with("public-preferences-intro-named", "controller", name),
            None => self.page.t("public-preferences-intro"),
        }
    }

    /// Whether the page may subscribe to anything (neither objection nor restriction stands).
    fn can_subscribe(&self) -> bool {
        !self.objected && !self.restricted
    }
}

/// The page's query after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Shown {
    done: Option<String>,
}

/// The privacy notice to show: the newest in the page's language, else the newest of all.
fn latest_notice(notices: Vec<Notice>, tr: Tr) -> Option<ShownNotice> {
    let lang = tr.locale.code();
    let pick = notices
        .iter()
        .position(|n| n.language.split('-').next() == Some(lang))
        .unwrap_or(0);
    notices.into_iter().nth(pick).map(|n| ShownNotice {
        version: n.version,
        url: n.url,
        body: n.body,
    })
}

/// What the page shows the person now.
async fn page_for(
    state: &AppState,
    tr: Tr,
    person: &Person,
    here: &str,
    error: Option<String>,
) -> Result<PreferencesPage, PageError> {
    let types = state.store.consent_types().await?;
    let consents = state.store.current_consents(&person.contact_ref()).await?;
    let topics = types
        .iter()
        .filter(|t| t.spec.show_in_preference_center)
        .map(|t| topic(tr, t, consents.iter().find(|c| c.type_id == t.id)))
        .collect();
    let c = &person.contact;
    // Only the channels the controller can reach the person by.
    let channels = Channel::ALL
        .iter()
        .filter(|ch| match ch {
            Channel::Email => !c.emails.is_empty(),
            Channel::Phone | Channel::Sms => !c.phones.is_empty(),
        })
        .map(|&ch| ChannelRow {
            code: ch.code(),
            name: tr.t(&format!("public-channel-{}", ch.code())),
            off: c.off_since(ch).is_some(),
            since: c
                .off_since(ch)
                .map(|at| tr.with("public-channel-off-since", "date", &tr.date(at))),
        })
        .collect();
    Ok(PreferencesPage {
        page: Page::public(tr, here),
        action: with_lang(here, tr),
        topics,
        channels,
        notice: latest_notice(state.store.notices().await?, tr),
        objected: person.contact.objected_at.is_some(),
        restricted: person.contact.restricted_at.is_some(),
        any_in_force: consents.iter().any(in_force),
        error,
        controller: ControllerFooter::load(state).await?,
    })
}

fn topic(tr: Tr, t: &ConsentType, current: Option<&CurrentConsent>) -> Topic {
    let subscribed = current.is_some_and(in_force);
    // Since when: given (in force), expired (its end), or withdrawn, refused, revoked.
    let since = current.and_then(|c| match c.kind {
        Some(k) if k.grants() && !c.valid => c.expires_at,
        _ => c.event_time,
    });
    let title = t.spec.title.clone();
    Topic {
        code: t.spec.code.as_str().to_owned(),
        button: tr.with(
            if subscribed {
                "public-topic-unsubscribe"
            } else {
                "public-topic-subscribe"
            },
            "topic",
            &title,
        ),
        title,
        description: t.spec.description.clone(),
        subscribed,
        since: since.map(|at| tr.with("public-since", "date", &tr.date(at))),
    }
}

/// The page again with the message `key` at the top, answered with `status`: nothing was
/// recorded.
async fn refused(
    state: &AppState,
    tr: Tr,
    person: &Person,
    here: &str,
    status: StatusCode,
    key: &str,
) -> Result<Response, PageError> {
    let page = page_for(state, tr, person, here, Some(tr.t(key))).await?;
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /p/{token}`: the preference center.
pub async fn show(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    path: Result<Path<String>, PathRejection>,
    shown: Result<Query<Shown>, QueryRejection>,
) -> Result<Response, PageError> {
    let tr = state.tr(locale);
    let (person, here) = match open_page(&state, tr, path, "/p", Purpose::Preferences).await? {
        Ok(opened) => opened,
        Err(page) => return Ok(page),
    };
    let done = shown.map(|Query(s)| s.done).unwrap_or_default();
    let mut page = page_for(&state, tr, &person, &here, None).await?;
    page.page = page.page.done(done.as_deref());
    render(&page)
}

/// `POST /p/{token}`: `action` = `give` or `withdraw` with `topic` (a consent type's code) and,
/// for `give`, `notice` (the notice version the page showed); or `withdraw-all`. Then back to
/// the page (303) with what was done.
pub async fn save(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, PageError> {
    let tr = state.tr(locale);
    let (person, here) = match open_page(&state, tr, path, "/p", Purpose::Preferences).await? {
        Ok(opened) => opened,
        Err(page) => return Ok(page),
    };
    // The page again with the message, for a request it cannot carry out.
    let refuse = |status, key| refused(&state, tr, &person, &here, status, key);
    let (parts, body) = request.into_parts();
    let fields: Vec<(String, String)> = match body_bytes(body).await {
        Some(bytes) => serde_urlencoded::from_bytes(&bytes).unwrap_or_default(),
        None => Vec::new(),
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let consents = state.store.current_consents(&person.contact_ref()).await?;
    let types = state.store.consent_types().await?;
    let action = field("action");
    let (changes, notice, done) = match action.as_str() {
        "give" => {
            let Some(t) = types.iter().find(|t| {
                t.spec.show_in_preference_center && t.spec.code.as_str() == field("topic")
            }) else {
                return refuse(StatusCode::UNPROCESSABLE_ENTITY, "public-error-topic").await;
            };
            // Art. 21(3): an objection to direct marketing is absolute; only the controller,
            // told by the person, lifts it (and a restriction, Art. 18(3)). Subscribing here
            // would record a consent that reaches nobody.
            if person.contact.objected_at.is_some() {
                return refuse(StatusCode::CONFLICT, "public-error-objected").await;
            }
            if person.contact.restricted_at.is_some() {
                return refuse(StatusCode::CONFLICT, "public-error-restricted").await;
            }
            let shown = Some(field("notice")).filter(|v| !v.is_empty());
            if let Some(version) = &shown
                && !state
                    .store
                    .notices()
                    .await?
                    .iter()
                    .any(|n| &n.version == version)
            {
                return refuse(StatusCode::UNPROCESSABLE_ENTITY, "public-error-notice").await;
            }
            let in_force_now = consents.iter().any(|c| c.type_id == t.id && in_force(c));
            let changes = if in_force_now {
                Vec::new()
            } else {
                vec![(t.spec.code.as_str().to_owned(), EventKind::Given)]
            };
            (changes, shown, "public-subscribed")
        }
        "withdraw" => {
            let code = field("topic");
            if !types.iter().any(|t| t.spec.code.as_str() == code) {
                return refuse(StatusCode::UNPROCESSABLE_ENTITY, "public-error-topic").await;
            }
            let changes = consents
                .iter()
                .filter(|c| c.code.as_str() == code && in_force(c))
                .map(|c| (c.code.as_str().to_owned(), EventKind::Withdrawn))
                .collect();
            (changes, None, "public-unsubscribed")
        }
        "channel-off" | "channel-on" => {
            let Ok(channel) = Channel::parse(&field("channel")) else {
                return refuse(StatusCode::UNPROCESSABLE_ENTITY, "public-error-form").await;
            };
            let proof = evidence(
                state.store.now(),
                &parts.headers,
                client_ip(&state, &parts.extensions, &parts.headers),
                "preferences",
                person.opened.key_id,
            );
            let off = action == "channel-off";
            let subject = Actor {
                kind: ActorKind::Subject,
                id: String::new(),
            };
            state
                .store
                .set_channel(
                    &person.contact_ref(),
                    channel,
                    off,
                    CollectionMethod::PreferenceCenter,
                    &subject,
                    Some(&proof),
                )
                .await?;
            let done = if off {
                "public-channel-switched-off"
            } else {
                "public-channel-switched-on"
            };
            return Ok(see_other(&format!("{}&done={done}", with_lang(&here, tr))));
        }
        "withdraw-all" => {
            let changes = consents
                .iter()
                .filter(|c| in_force(c))
                .map(|c| (c.code.as_str().to_owned(), EventKind::Withdrawn))
                .collect();
            (changes, None, "public-withdrawn-all")
        }
        _ => {
            return refuse(StatusCode::BAD_REQUEST, "public-error-form").await;
        }
    };
    let proof = evidence(
        state.store.now(),
        &parts.headers,
        client_ip(&state, &parts.extensions, &parts.headers),
        "preferences",
        person.opened.key_id,
    );
    record(
        &state,
        &person,
        changes,
        CollectionMethod::PreferenceCenter,
        notice,
        &proof,
    )
    .await?;
    Ok(see_other(&format!("{}&done={done}", with_lang(&here, tr))))
}
