//! Writing an outbox email: the template its row names, in its language, as plain text and HTML
//! alternatives of one message (RFC 2046 §5.1.4, `multipart/alternative`: the plain text first,
//! the richer part last). Every word comes from the message files (`locales/*/mail.ftl`).

use askama::Template;
use consento_app::mail::{HELD_DROPPED, HELD_MESSAGE, RESTRICTION_LIFTED, SUBSCRIPTION_CONFIRM};
use consento_domain::Timestamp;
use consento_store::OutgoingEmail;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use serde::Deserialize;

use crate::config::MailConfig;
use crate::i18n::{Arg, Locale, Tr};

/// Who the emails come from, and the controller they name.
#[derive(Debug, Clone)]
pub struct Sender {
    from: Mailbox,
    domain: String,
    controller: String,
    /// The office's zone, in which dates in emails are written.
    zone: &'static consento_domain::Zone,
}

impl Sender {
    /// The sender of `config`; none if its address is not one.
    pub fn new(config: &MailConfig, zone: &consento_domain::Zone) -> Option<Self> {
        let address: lettre::Address = config.from_address.trim().parse().ok()?;
        let domain = address.domain().to_owned();
        let name = config.from_name.trim();
        Some(Self {
            from: Mailbox::new((!name.is_empty()).then(|| name.to_owned()), address),
            domain,
            controller: config.controller_name.trim().to_owned(),
            zone: crate::i18n::interned(zone),
        })
    }

    /// The domain of the sender's address (EHLO, `Message-ID`).
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

/// Why an email could not be written: nothing a retry would change.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No such template.
    #[error("unknown template")]
    Template,
    /// The payload does not fit the template.
    #[error("the payload does not fit the template")]
    Payload,
    /// The recipient's address is not one.
    #[error("the recipient is not an address")]
    Recipient,
    /// The template failed.
    #[error("template: {0}")]
    Render(String),
    /// The message could not be built.
    #[error("message: {0}")]
    Build(String),
}

/// What the confirmation template needs (written by the subscription request).
#[derive(Debug, Clone, Deserialize)]
pub struct ConfirmPayload {
    /// The confirmation page's absolute URL (it carries the token).
    pub link: String,
    /// The titles of the topics asked for.
    pub topics: Vec<String>,
    /// Until when the link works (microseconds since the epoch).
    pub expires_at: i64,
    /// The controller as named when the email was written (absent in emails queued before it
    /// was carried, and while no name is known: then the sender's `mail.controller_name`).
    #[serde(default)]
    pub controller: Option<String>,
}

/// The confirmation, as plain text.
#[derive(Template)]
#[template(path = "mail/subscription_confirm.txt")]
struct ConfirmText<'a> {
    tr: Tr,
    controller: &'a str,
    topics: &'a [String],
    link: &'a str,
    expires: String,
}

/// The confirmation, as HTML.
#[derive(Template)]
#[template(path = "mail/subscription_confirm.html")]
struct ConfirmHtml<'a> {
    tr: Tr,
    subject: &'a str,
    controller: &'a str,
    topics: &'a [String],
    link: &'a str,
    expires: String,
}

/// What the notice of a lifted restriction needs (written by the lift, see `consento_app::flags`).
#[derive(Debug, Clone, Deserialize)]
pub struct LiftedPayload {
    /// Since when processing was restricted (microseconds since the epoch).
    pub restricted_since: Option<i64>,
    /// When it was lifted.
    pub lifted_at: i64,
    /// How to reach the controller (`[controller] contact`, else its email or address), if
    /// known.
    #[serde(default)]
    pub contact: String,
    /// The controller as named when the email was written (see [`ConfirmPayload::controller`]).
    #[serde(default)]
    pub controller: Option<String>,
}

/// The controller an email names: the one its payload carries, else the sender's.
fn named<'a>(payload: &'a Option<String>, sender: &'a str) -> &'a str {
    payload
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(sender)
}

/// The notice of a lifted restriction, as plain text.
#[derive(Template)]
#[template(path = "mail/restriction_lifted.txt")]
struct LiftedText<'a> {
    tr: Tr,
    controller: &'a str,
    intro: &'a str,
    body: &'a str,
    contact_line: Option<&'a str>,
}

/// The notice of a lifted restriction, as HTML.
#[derive(Template)]
#[template(path = "mail/restriction_lifted.html")]
struct LiftedHtml<'a> {
    tr: Tr,
    subject: &'a str,
    controller: &'a str,
    intro: &'a str,
    body: &'a str,
    contact_line: Option<&'a str>,
}

/// What the notice of a held message needs (written by the hold, see `consento_app::held`).
#[derive(Debug, Clone, Deserialize)]
pub struct HeldPayload {
    /// The signed link to the message's page in the console.
    pub link: String,
    /// The recipient's address.
    pub recipient: String,
    /// The rule that asked for a reason.
    pub rule: String,
    /// When it was held (microseconds since the epoch).
    pub held_at: i64,
    /// When it is dropped if nobody gives a reason.
    pub hold_until: i64,
}

/// What the notice of a dropped held message needs.
#[derive(Debug, Clone, Deserialize)]
pub struct DroppedPayload {
    /// The recipient's address.
    pub recipient: String,
    /// The rule that asked for a reason.
    pub rule: String,
    /// When it was held.
    pub held_at: i64,
    /// When it was dropped.
    pub dropped_at: i64,
    /// Why: `operator` or `expired`.
    pub cause: String,
}

/// The notice of a held message, as plain text.
#[derive(Template)]
#[template(path = "mail/held_message.txt")]
struct HeldText<'a> {
    tr: Tr,
    intro: &'a str,
    link: &'a str,
    expiry: &'a str,
}

/// The notice of a held message, as HTML.
#[derive(Template)]
#[template(path = "mail/held_message.html")]
struct HeldHtml<'a> {
    tr: Tr,
    subject: &'a str,
    intro: &'a str,
    link: &'a str,
    expiry: &'a str,
}

/// The notice of a dropped held message, as plain text.
#[derive(Template)]
#[template(path = "mail/held_dropped.txt")]
struct DroppedText<'a> {
    tr: Tr,
    intro: &'a str,
    why: &'a str,
}

/// The notice of a dropped held message, as HTML.
#[derive(Template)]
#[template(path = "mail/held_dropped.html")]
struct DroppedHtml<'a> {
    tr: Tr,
    subject: &'a str,
    intro: &'a str,
    why: &'a str,
}

/// The subject, plain text and HTML of the notice that a message is held until someone gives
/// a reason.
fn held(tr: Tr, payload: serde_json::Value) -> Result<(String, String, String), RenderError> {
    let payload: HeldPayload = serde_json::from_value(payload).map_err(|_| RenderError::Payload)?;
    let subject = tr.with("mail-held-subject", "recipient", &payload.recipient);
    let intro = tr.args(
        "mail-held-intro",
        &[
            ("recipient", Arg::Text(payload.recipient.as_str().into())),
            (
                "date",
                Arg::Text(tr.datetime(Timestamp::from_micros(payload.held_at)).into()),
            ),
            (
                "why",
                Arg::Text(crate::i18n::held_rule(tr, &payload.rule).into()),
            ),
        ],
    );
    let expiry = tr.with(
        "mail-held-expiry",
        "date",
        &tr.datetime(Timestamp::from_micros(payload.hold_until)),
    );
    let text = rendered(
        HeldText {
            tr,
            intro: &intro,
            link: &payload.link,
            expiry: &expiry,
        }
        .render(),
    )?;
    let html = rendered(
        HeldHtml {
            tr,
            subject: &subject,
            intro: &intro,
            link: &payload.link,
            expiry: &expiry,
        }
        .render(),
    )?;
    Ok((subject, text, html))
}

/// The subject, plain text and HTML of the notice that a held message was dropped.
fn dropped(tr: Tr, payload: serde_json::Value) -> Result<(String, String, String), RenderError> {
    let payload: DroppedPayload =
        serde_json::from_value(payload).map_err(|_| RenderError::Payload)?;
    let subject = tr.with("mail-held-dropped-subject", "recipient", &payload.recipient);
    let key = if payload.cause == "expired" {
        "mail-held-dropped-expired"
    } else {
        "mail-held-dropped-operator"
    };
    let intro = tr.args(
        key,
        &[
            ("recipient", Arg::Text(payload.recipient.as_str().into())),
            (
                "date",
                Arg::Text(tr.datetime(Timestamp::from_micros(payload.held_at)).into()),
            ),
            (
                "until",
                Arg::Text(
                    tr.datetime(Timestamp::from_micros(payload.dropped_at))
                        .into(),
                ),
            ),
        ],
    );
    let why = tr.with(
        "mail-held-dropped-why",
        "why",
        &crate::i18n::held_rule(tr, &payload.rule),
    );
    let text = rendered(
        DroppedText {
            tr,
            intro: &intro,
            why: &why,
        }
        .render(),
    )?;
    let html = rendered(
        DroppedHtml {
            tr,
            subject: &subject,
            intro: &intro,
            why: &why,
        }
        .render(),
    )?;
    Ok((subject, text, html))
}

fn rendered(r: askama::Result<String>) -> Result<String, RenderError> {
    r.map_err(|e| RenderError::Render(e.to_string()))
}

/// The subject, plain text and HTML of the confirmation of a double opt-in request.
fn confirmation(
    tr: Tr,
    payload: serde_json::Value,
    controller: &str,
) -> Result<(String, String, String), RenderError> {
    let payload: ConfirmPayload =
        serde_json::from_value(payload).map_err(|_| RenderError::Payload)?;
    let controller = named(&payload.controller, controller);
    let subject = tr.with("mail-confirm-subject", "controller", controller);
    let expires = tr.datetime(Timestamp::from_micros(payload.expires_at));
    let text = rendered(
        ConfirmText {
            tr,
            controller,
            topics: &payload.topics,
            link: &payload.link,
            expires: expires.clone(),
        }
        .render(),
    )?;
    let html = rendered(
        ConfirmHtml {
            tr,
            subject: &subject,
            controller,
            topics: &payload.topics,
            link: &payload.link,
            expires,
        }
        .render(),
    )?;
    Ok((subject, text, html))
}

/// The subject, plain text and HTML of the notice of a lifted restriction.
fn lifted(
    tr: Tr,
    payload: serde_json::Value,
    controller: &str,
) -> Result<(String, String, String), RenderError> {
    let payload: LiftedPayload =
        serde_json::from_value(payload).map_err(|_| RenderError::Payload)?;
    let controller = named(&payload.controller, controller);
    let subject = tr.with("mail-lifted-subject", "controller", controller);
    let since = payload
        .restricted_since
        .map(|at| tr.date(Timestamp::from_micros(at)))
        .unwrap_or_default();
    let intro = tr.args(
        "mail-lifted-intro",
        &[
            ("controller", Arg::Text(controller.into())),
            ("since", Arg::Text(since.into())),
        ],
    );
    let body = tr.with(
        "mail-lifted-body",
        "date",
        &tr.date(Timestamp::from_micros(payload.lifted_at)),
    );
    let contact = payload.contact.trim();
    let contact_line =
        (!contact.is_empty()).then(|| tr.with("mail-lifted-contact", "contact", contact));
    let text = rendered(
        LiftedText {
            tr,
            controller,
            intro: &intro,
            body: &body,
            contact_line: contact_line.as_deref(),
        }
        .render(),
    )?;
    let html = rendered(
        LiftedHtml {
            tr,
            subject: &subject,
            controller,
            intro: &intro,
            body: &body,
            contact_line: contact_line.as_deref(),
        }
        .render(),
    )?;
    Ok((subject, text, html))
}

/// Writes `email` from `sender`: its template in its language (English if the language is not
/// one of ours), the `Message-ID` made of its outbox id.
pub fn render(email: &OutgoingEmail, sender: &Sender) -> Result<Message, RenderError> {
    let tr = Tr::new(
        Locale::parse(&email.locale).unwrap_or(Locale::En),
        sender.zone,
    );
    let payload = email.payload.clone();
    let (subject, text, html) = match email.template.as_str() {
        SUBSCRIPTION_CONFIRM => confirmation(tr, payload, &sender.controller)?,
        RESTRICTION_LIFTED => lifted(tr, payload, &sender.controller)?,
        HELD_MESSAGE => held(tr, payload)?,
        HELD_DROPPED => dropped(tr, payload)?,
        _ => return Err(RenderError::Template),
    };
    let to: lettre::Address = email.to.parse().map_err(|_| RenderError::Recipient)?;
    Message::builder()
        .from(sender.from.clone())
        .to(Mailbox::new(None, to))
        .subject(subject)
        .message_id(Some(format!("<{}@{}>", email.id, sender.domain)))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| RenderError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_email_names_the_controller_its_payload_carries_else_the_senders() {
        let tr = Tr::rome(Locale::It);
        let confirm = |controller: Option<&str>| {
            json!({
                "link": "https://privacy.example.com/confirm/t",
                "topics": ["Newsletter"],
                "expires_at": 0,
                "controller": controller,
            })
        };
        let (subject, text, html) =
            confirmation(tr, confirm(Some("Rossi Caldaie S.r.l.")), "Mittente S.r.l.").unwrap();
        for part in [&subject, &text, &html] {
            assert!(part.contains("Rossi Caldaie S.r.l."), "{part}");
            assert!(!part.contains("Mittente"), "{part}");
        }
        let (subject, _, _) = confirmation(tr, confirm(None), "Mittente S.r.l.").unwrap();
        assert!(subject.contains("Mittente S.r.l."), "{subject}");
        let lifted_payload = json!({
            "restricted_since": 0,
            "lifted_at": 0,
            "contact": "privacy@rossicaldaie.example",
            "controller": "Rossi Caldaie S.r.l.",
        });
        let (subject, text, _) = lifted(tr, lifted_payload, "Mittente S.r.l.").unwrap();
        assert!(subject.contains("Rossi Caldaie S.r.l."), "{subject}");
        assert!(text.contains("privacy@rossicaldaie.example"), "{text}");
    }

    #[test]
    fn the_held_notices_name_the_recipient_the_rule_and_the_link_in_either_language() {
        for (locale, words) in [
            (Locale::It, "non ha mai dato un consenso"),
            (Locale::En, "never gave a consent"),
        ] {
            let tr = Tr::rome(locale);
            let (subject, text, html) = held(
                tr,
                json!({
                    "link": "https://privacy.example.com/held/TOKEN",
                    "recipient": "anna@example.com",
                    "rule": "no_consent",
                    "held_at": 0,
                    "hold_until": 172_800_000_000i64,
                }),
            )
            .unwrap();
            assert!(subject.contains("anna@example.com"), "{subject}");
            for part in [&text, &html] {
                assert!(
                    part.contains("https://privacy.example.com/held/TOKEN"),
                    "{part}"
                );
                assert!(part.contains(words), "{part}");
            }
            let (subject, text, _) = dropped(
                tr,
                json!({
                    "recipient": "anna@example.com",
                    "rule": "withdrawn",
                    "held_at": 0,
                    "dropped_at": 172_800_000_000i64,
                    "cause": "expired",
                }),
            )
            .unwrap();
            assert!(subject.contains("anna@example.com"), "{subject}");
            assert!(
                text.contains(&tr.datetime(Timestamp::from_micros(172_800_000_000))),
                "{text}"
            );
        }
    }
}
