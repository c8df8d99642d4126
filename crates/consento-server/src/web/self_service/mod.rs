//! What the people in the CRM do themselves from an email, with no account (GDPR Art. 7(3):
//! withdrawing must be as easy as giving): the one-click unsubscribe (RFC 8058) and its page
//! ([`unsubscribe`]), and the preference center ([`preferences`]).
//!
//! Both are reached only through a personal link ([`consento_app::links`]), which names the contact.
//! Whatever is wrong with a link (altered, cut short, another installation's, sealed by a retired
//! key, meant for the other page, or naming a contact that does not exist or was erased) gets
//! the same 404 page: nothing tells a guesser which. Every change is recorded in the consent
//! ledger with the person as its actor and, as evidence kept apart from the ledger, the time,
//! the browser's user agent and the client's address cut to its network.

use std::net::IpAddr;

use askama::Template;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use consento_domain::{Actor, ActorKind, CollectionMethod, ConsentTypeId, EventKind, Timestamp};
use consento_store::{
    ConsentEventInput, ConsentType, Contact, ContactRef, CurrentConsent, RecordedEvent, StoreError,
};
use serde_json::json;

use super::page::{Page, PageError, render};
use crate::i18n::Tr;
use crate::state::AppState;
use consento_app::links::{self, Opened, Purpose};

pub mod preferences;
pub mod unsubscribe;

/// The largest form body a public page accepts: its forms have three short fields, and a
/// mailbox provider's one-click POST one.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The person a valid link names, with their record.
pub(super) struct Person {
    /// The link as opened.
    pub opened: Opened,
    /// The contact (never erased).
    pub contact: Contact,
}

impl Person {
    /// The contact as the store is asked about it.
    pub fn contact_ref(&self) -> ContactRef {
        ContactRef::Id(self.contact.id)
    }
}

/// The person `token` names for `purpose`, or `None` for every kind of wrong link alike.
pub(super) async fn resolve(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Option<Person>, PageError> {
    let Some(opened) = links::open(&state.store, token).await? else {
        return Ok(None);
    };
    if opened.link.purpose != purpose {
        return Ok(None);
    }
    let contact = match state
        .store
        .contact(&ContactRef::Id(opened.link.contact))
        .await
    {
        Ok(c) => c,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if contact.erased_at.is_some() {
        return Ok(None);
    }
    Ok(Some(Person { opened, contact }))
}

/// A consent type by id (a link names its type by id, which never changes, not by its code).
pub(super) async fn consent_type(
    state: &AppState,
    id: ConsentTypeId,
) -> Result<Option<ConsentType>, PageError> {
    Ok(state
        .store
        .consent_types()
        .await?
        .into_iter()
        .find(|t| t.id == id))
}

#[derive(Template)]
#[template(path = "public_message.html")]
struct MessagePage {
    page: Page,
    title: String,
    message: String,
    back: Option<String>,
}

/// A short public page with a title and a message (and a link back), with `status`.
pub(super) fn message_page(
    tr: Tr,
    path: &str,
    status: StatusCode,
    (title, message): (&str, &str),
    back: Option<String>,
) -> Result<Response, PageError> {
    let mut response = render(&MessagePage {
        page: Page::public(tr, path),
        title: tr.t(title),
        message: tr.t(message),
        back,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// The one answer to every wrong link: 404, saying only that the link does not work.
/// The person the token in a `{prefix}/{token}` path opens for `purpose`, with the page's path;
/// or, for any link that opens nothing (malformed, tampered, foreign, retired, misdirected,
/// unknown or erased person), the same 404 page.
pub(super) async fn open_page(
    state: &AppState,
    tr: Tr,
    path: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    prefix: &str,
    purpose: Purpose,
) -> Result<Result<(Person, String), Response>, PageError> {
    let Ok(axum::extract::Path(token)) = path else {
        return not_found(tr, prefix).map(Err);
    };
    let here = format!("{prefix}/{token}");
    match resolve(state, &token, purpose).await? {
        Some(person) => Ok(Ok((person, here))),
        None => not_found(tr, &here).map(Err),
    }
}

pub(super) fn not_found(tr: Tr, path: &str) -> Result<Response, PageError> {
    message_page(
        tr,
        path,
        StatusCode::NOT_FOUND,
        ("public-not-found-title", "public-not-found"),
        None,
    )
}

/// The evidence of a person's action through a link: when, from which browser (its user agent,
/// cut to 512 characters), from which network (the address cut to /24 or /48: never the whole
/// address), through which page and the id of the link's key. Kept in the erasable evidence
/// store, never in the ledger row: the hashed row keeps only the evidence's digest, no plain
/// personal data, so an erasure (GDPR Art. 17) deletes the evidence while the chain still
/// verifies.
pub(super) fn evidence(
    now: Timestamp,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    page: &str,
    key_id: u32,
) -> String {
    let user_agent: String = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(512)
        .collect();
    json!({
        "page": page,
        "at": now.to_rfc3339(),
        "user_agent": user_agent,
        "ip": peer.map(links::truncated_ip),
        "link_key": key_id,
    })
    .to_string()
}

/// Records one event per consent, in order, by the person themselves (actor `subject`).
pub(super) async fn record(
    state: &AppState,
    person: &Person,
    changes: Vec<(String, EventKind)>,
    method: CollectionMethod,
    notice_version: Option<String>,
    evidence: &str,
) -> Result<Vec<RecordedEvent>, PageError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let actor = Actor::new(ActorKind::Subject, "")?;
    let events = changes
        .into_iter()
        .map(|(code, kind)| {
            (
                ConsentEventInput {
                    contact: person.contact_ref(),
                    type_code: code,
                    kind,
                    event_time: None,
                    method,
                    actor: actor.clone(),
                    // The notice is what the person accepted when giving; a withdrawal needs none.
                    notice_version: if kind.grants() {
                        notice_version.clone()
                    } else {
                        None
                    },
                    evidence: Some(evidence.to_owned()),
                },
                None,
            )
        })
        .collect();
    let recorded = state
        .app
        .record_consents(&consento_app::audit::By::person(), events)
        .await?;
    Ok(recorded.into_iter().map(|(e, _)| e).collect())
}

/// Reads a form body (at most [`MAX_FORM_BYTES`]): `None` if it is larger or cannot be read.
pub(super) async fn body_bytes(body: axum::body::Body) -> Option<axum::body::Bytes> {
    axum::body::to_bytes(body, MAX_FORM_BYTES).await.ok()
}

/// A consent in force now: what unsubscribing or withdrawing changes.
pub(super) fn in_force(c: &CurrentConsent) -> bool {
    c.valid
}

/// The form action and redirect target of a public page: its path with the page's language,
/// so that the answer comes in the language the person was reading.
pub(super) fn with_lang(path: &str, tr: Tr) -> String {
    format!("{path}?lang={}", tr.locale.code())
}
