//! `/u/{token}`: unsubscribing from an email (RFC 8058).
//!
//! `POST` with the body `List-Unsubscribe=One-Click` (urlencoded or multipart/form-data: mailbox
//! providers send either) unsubscribes at once, with no cookie and no session: the link's token
//! is the authority. It withdraws the consent of the link's type, or, for a link naming no type,
//! every consent in force whose type permits bulk email; answers 200 with a short page, never a
//! redirect (RFC 8058 §3.2); and is idempotent: a second POST finds nothing in force and records
//! nothing. A POST without that body changes nothing (400).
//!
//! `GET` never changes anything, because link scanners and previews open every link of a mail:
//! it shows what would stop and a button that sends the very same one-click POST.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use consento_domain::{CollectionMethod, EventKind};
use consento_store::{ConsentType, CurrentConsent};

use super::{Person, body_bytes, evidence, in_force, message_page, not_found, open_page, record};
use super::{consent_type, with_lang};
use crate::client::client_ip;
use crate::i18n::{Locale, Tr};
use crate::state::AppState;
use crate::web::page::{Page, PageError, render};
use crate::web::public::ControllerFooter;
use consento_app::links::Purpose;

/// What a link unsubscribes from.
enum Scope {
    /// One consent type.
    Type(ConsentType),
    /// Every consent type that permits bulk email: "all newsletters".
    Newsletters,
}

impl Scope {
    /// The message `key`, about this scope: `key-topic` naming the type's title, or `key-all`
    /// (sentences differ too much between the two for one message with a blank).
    fn say(&self, tr: Tr, key: &str) -> String {
        match self {
            Self::Type(t) => tr.with(&format!("{key}-topic"), "topic", &t.spec.title),
            Self::Newsletters => tr.t(&format!("{key}-all")),
        }
    }

    /// The consents in force that unsubscribing withdraws.
    fn targets<'a>(&self, consents: &'a [CurrentConsent]) -> Vec<&'a CurrentConsent> {
        consents
            .iter()
            .filter(|c| in_force(c))
            .filter(|c| match self {
                Self::Type(t) => c.type_id == t.id,
                Self::Newsletters => c.permissions.email_bulk,
            })
            .collect()
    }
}

async fn scope_of(state: &AppState, person: &Person) -> Result<Option<Scope>, PageError> {
    Ok(match person.opened.link.type_id {
        None => Some(Scope::Newsletters),
        Some(id) => consent_type(state, id).await?.map(Scope::Type),
    })
}

#[derive(Template)]
#[template(path = "public_unsubscribe.html")]
struct UnsubscribePage {
    page: Page,
    /// Where the button posts: this page's path, in this language.
    action: String,
    /// What the button stops, in words.
    question: String,
    /// What the page says when nothing is in force.
    nothing: String,
    /// Whether anything is in force to stop.
    subscribed: bool,
    /// The preference center.
    preferences: String,
    /// Who the controller is.
    controller: ControllerFooter,
}

#[derive(Template)]
#[template(path = "public_unsubscribed.html")]
struct UnsubscribedPage {
    page: Page,
    /// "You will no longer receive …".
    stopped: String,
    preferences: String,
    /// Who the controller is.
    controller: ControllerFooter,
}

/// The preference center's path for the same person, in this language.
async fn preferences_path(state: &AppState, person: &Person, tr: Tr) -> Result<String, PageError> {
    let token = consento_app::links::preferences_token(&state.store, person.contact.id).await?;
    Ok(with_lang(&format!("/p/{token}"), tr))
}

/// `GET /u/{token}`: what would stop, and the button. Changes nothing.
pub async fn show(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, PageError> {
    let tr = state.tr(locale);
    let (person, here) = match open_page(&state, tr, path, "/u", Purpose::Unsubscribe).await? {
        Ok(opened) => opened,
        Err(page) => return Ok(page),
    };
    let Some(scope) = scope_of(&state, &person).await? else {
        return not_found(tr, &here);
    };
    let consents = state.store.current_consents(&person.contact_ref()).await?;
    render(&UnsubscribePage {
        page: Page::public(tr, &here),
        action: with_lang(&here, tr),
        question: scope.say(tr, "public-unsubscribe-question"),
        nothing: scope.say(tr, "public-unsubscribe-none"),
        subscribed: !scope.targets(&consents).is_empty(),
        preferences: preferences_path(&state, &person, tr).await?,
        controller: ControllerFooter::load(&state).await?,
    })
}

/// `POST /u/{token}`: the one-click unsubscribe (RFC 8058 §3.2), from a mailbox provider or the
/// page's button alike.
pub async fn one_click(
    State(state): State<AppState>,
    axum::Extension(locale): axum::Extension<Locale>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, PageError> {
    let tr = state.tr(locale);
    let (person, here) = match open_page(&state, tr, path, "/u", Purpose::Unsubscribe).await? {
        Ok(opened) => opened,
        Err(page) => return Ok(page),
    };
    let Some(scope) = scope_of(&state, &person).await? else {
        return not_found(tr, &here);
    };
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let asked = match body_bytes(body).await {
        Some(bytes) => is_one_click(content_type, &bytes),
        None => false,
    };
    if !asked {
        return message_page(
            tr,
            &here,
            StatusCode::BAD_REQUEST,
            ("public-bad-request-title", "public-bad-request"),
            Some(with_lang(&here, tr)),
        );
    }
    let consents = state.store.current_consents(&person.contact_ref()).await?;
    let changes = scope
        .targets(&consents)
        .into_iter()
        .map(|c| (c.code.as_str().to_owned(), EventKind::Withdrawn))
        .collect();
    let proof = evidence(
        state.store.now(),
        &parts.headers,
        client_ip(&state, &parts.extensions, &parts.headers),
        "unsubscribe",
        person.opened.key_id,
    );
    record(
        &state,
        &person,
        changes,
        CollectionMethod::OneClickUnsubscribe,
        None,
        &proof,
    )
    .await?;
    render(&UnsubscribedPage {
        page: Page::public(tr, &here),
        stopped: scope.say(tr, "public-unsubscribed"),
        preferences: preferences_path(&state, &person, tr).await?,
        controller: ControllerFooter::load(&state).await?,
    })
}

/// Whether a body asks for the one-click unsubscribe: the field `List-Unsubscribe` with the
/// value `One-Click` (RFC 8058 §3.1), urlencoded (the default for a body of any other type) or
/// in a multipart/form-data part (RFC 7578).
pub fn is_one_click(content_type: Option<&str>, body: &[u8]) -> bool {
    let wanted =
        |name: &str, value: &str| name == "List-Unsubscribe" && value.trim() == "One-Click";
    let content_type = content_type.unwrap_or_default();
    let (mime, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return boundary(params).is_some_and(|b| {
            multipart_fields(body, &b)
                .iter()
                .any(|(name, value)| wanted(name, value))
        });
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .is_ok_and(|pairs| pairs.iter().any(|(k, v)| wanted(k, v)))
}

/// The `boundary` parameter of a multipart Content-Type (RFC 2046 §5.1.1: 1 to 70 characters,
/// quoted or not).
fn boundary(params: &str) -> Option<String> {
    params
        .split(';')
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
        .filter(|b| (1..=70).contains(&b.len()))
}

/// Where `needle` first occurs in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The named fields of a multipart/form-data body (RFC 7578 §4; RFC 2046 §5.1.1), each
/// (name, value as UTF-8). A body that does not end with its close delimiter is malformed and
/// has no fields: a part is only whole when a delimiter follows it.
fn multipart_fields(body: &[u8], boundary: &str) -> Vec<(String, String)> {
    // Every delimiter is CRLF "--" boundary; the first may open the body without its CRLF.
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut text = b"\r\n".to_vec();
    text.extend_from_slice(body);
    let mut fields = Vec::new();
    let Some(mut at) = find(&text, &delimiter, 0) else {
        return fields;
    };
    loop {
        let after = at + delimiter.len();
        // The close delimiter: the body is whole.
        if text.get(after..after + 2) == Some(b"--") {
            return fields;
        }
        // Transport padding, then the CRLF ending the delimiter's line.
        let Some(line_end) = find(&text, b"\r\n", after) else {
            return Vec::new();
        };
        if text
            .get(after..line_end)
            .is_none_or(|pad| !pad.iter().all(|b| *b == b' ' || *b == b'\t'))
        {
            return Vec::new();
        }
        let part_start = line_end + 2;
        let Some(next) = find(&text, &delimiter, part_start) else {
            return Vec::new();
        };
        if let Some(field) = text.get(part_start..next).and_then(part_field) {
            fields.push(field);
        }
        at = next;
    }
}

/// A part's field name (from `Content-Disposition: form-data; name="…"`) and its value.
fn part_field(part: &[u8]) -> Option<(String, String)> {
    // The headers end at the first empty line; a part may have none (then it starts with one).
    let (headers, content) = if part.starts_with(b"\r\n") {
        (&[][..], part.get(2..)?)
    } else {
        let end = find(part, b"\r\n\r\n", 0)?;
        (part.get(..end)?, part.get(end + 4..)?)
    };
    let headers = std::str::from_utf8(headers).ok()?;
    let name = headers.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if !key.trim().eq_ignore_ascii_case("content-disposition") {
            return None;
        }
        let mut params = value.split(';');
        if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
            return None;
        }
        params.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("name")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    })?;
    Some((name, String::from_utf8(content.to_vec()).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn the_urlencoded_one_click_body_is_recognised_and_nothing_else() {
        assert!(is_one_click(FORM, b"List-Unsubscribe=One-Click"));
        // A provider that names no type, or another one, is read the same way.
        assert!(is_one_click(None, b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(
            Some("text/plain"),
            b"List-Unsubscribe=One-Click"
        ));
        assert!(!is_one_click(FORM, b""));
        assert!(!is_one_click(FORM, b"List-Unsubscribe=Yes"));
        assert!(!is_one_click(FORM, b"list-unsubscribe=one-click"));
        assert!(!is_one_click(FORM, b"Unsubscribe=One-Click"));
    }

    fn multipart(boundary: &str, body: &str) -> bool {
        is_one_click(
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body.as_bytes(),
        )
    }

    #[test]
    fn a_multipart_one_click_body_is_recognised_in_its_common_spellings() {
        let b = "----x7MA4YWxk";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--{b}--\r\n"
        );
        assert!(multipart(b, &body));
        // A preamble, padding after a delimiter, another field first, a quoted boundary.
        let body = format!(
            "preamble\r\n--{b}  \r\ncontent-disposition: form-data; name=other\r\n\r\nx\r\n--{b}\r\nContent-Disposition: form-data; name=List-Unsubscribe\r\nContent-Type: text/plain\r\n\r\nOne-Click\r\n--{b}--"
        );
        assert!(multipart(b, &body));
        assert!(is_one_click(
            Some(&format!(
                "multipart/form-data; charset=utf-8; boundary=\"{b}\""
            )),
            body.as_bytes()
        ));
    }

    #[test]
    fn a_malformed_or_different_multipart_body_is_not_a_one_click() {
        let b = "XyZ";
        let ok = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--{b}--\r\n"
        );
        assert!(multipart(b, &ok));
        // Cut before the close delimiter, the wrong boundary, no boundary, another value,
        // the name only in a filename, an attachment rather than a form field.
        assert!(!multipart(b, &ok[..ok.len() - 8]));
        assert!(!multipart("other", &ok));
        assert!(!is_one_click(Some("multipart/form-data"), ok.as_bytes()));
        assert!(!multipart(b, &ok.replace("One-Click", "Two-Clicks")));
        assert!(!multipart(
            b,
            &ok.replace("name=\"List-Unsubscribe\"", "filename=\"List-Unsubscribe\"")
        ));
        assert!(!multipart(b, &ok.replace("form-data;", "attachment;")));
        assert!(!multipart(b, ""));
        assert!(!multipart(b, &format!("--{b}--")));
    }
}
