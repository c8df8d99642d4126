//! A relayed message's header block: what the relay reads from it (a mailing list's marks and
//! Consento's own `X-Consento-*` fields), and each copy's header block as it leaves: Consento's
//! fields removed and, for a bulk copy, the contact's own `List-Unsubscribe` and
//! `List-Unsubscribe-Post` (RFC 8058 §3.1, RFC 2369 §3.2) put in place of any the sender gave
//! (the one-click link must be Consento's for the unsubscribe to be recorded). Fields are cut at
//! the offsets mail-parser finds; the body is never decoded or re-encoded. Also the delivery
//! status notification (RFC 3464) a sender gets when a copy of their message is given up.

use std::borrow::Cow;

use consento_app::relay::RelayHeaders;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;
use mail_parser::{HeaderName, MessageParser};

use crate::i18n::{Arg, Tr};

/// The prefix of Consento's own fields, which never leave.
const OWN_PREFIX: &str = "x-consento-";

/// The fields read as text (unfolded, RFC 2047 encoded words decoded: a reason's label may be
/// written in Italian).
const TEXT_FIELDS: [&str; 5] = [
    "X-Consento-Action",
    "X-Consento-Reason",
    "X-Consento-Note",
    "X-Consento-Operator",
    "Precedence",
];

fn parser() -> MessageParser {
    TEXT_FIELDS
        .into_iter()
        .fold(MessageParser::new(), |p, name| p.header_text(name))
}

/// What the relay reads from a message's header block. A field given twice counts once, the
/// first; one that is empty counts as absent.
pub fn read_headers(raw: &[u8]) -> RelayHeaders {
    let Some(message) = parser().parse_headers(raw) else {
        return RelayHeaders::default();
    };
    let text = |name: &'static str| {
        message
            .header(name)
            .and_then(|v| v.as_text())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    RelayHeaders {
        list_id: message.header(HeaderName::ListId).is_some(),
        precedence: text("Precedence"),
        action: text("X-Consento-Action"),
        reason: text("X-Consento-Reason"),
        note: text("X-Consento-Note"),
        operator: text("X-Consento-Operator"),
    }
}

/// The unsubscribe links a bulk copy carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The contact's one-click HTTPS link (RFC 8058 §3.1).
    pub https: String,
    /// A `mailto:` URI offered beside it, if configured.
    pub mailto: Option<String>,
}

/// A copy of `raw` as it leaves: every `X-Consento-*` field removed; with `unsubscribe`, the
/// sender's `List-Unsubscribe` and `List-Unsubscribe-Post` removed too and the contact's own put
/// first. A message whose header block cannot be read leaves as it came (with the new fields,
/// if any).
pub fn copy(raw: &[u8], unsubscribe: Option<&Unsubscribe>) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 512);
    if let Some(u) = unsubscribe {
        out.extend_from_slice(b"List-Unsubscribe: <");
        out.extend_from_slice(u.https.as_bytes());
        out.push(b'>');
        if let Some(mailto) = &u.mailto {
            out.extend_from_slice(b", <");
            out.extend_from_slice(mailto.as_bytes());
            out.push(b'>');
        }
        out.extend_from_slice(b"\r\nList-Unsubscribe-Post: ");
        out.extend_from_slice(consento_app::links::ONE_CLICK.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let Some(message) = MessageParser::new().parse_headers(raw) else {
        out.extend_from_slice(raw);
        return out;
    };
    let mut cut: Vec<(usize, usize)> = message
        .headers()
        .iter()
        .filter(|h| {
            let name = h.name.as_str();
            name.len() >= OWN_PREFIX.len()
                && name
                    .get(..OWN_PREFIX.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(OWN_PREFIX))
                || (unsubscribe.is_some()
                    && (name.eq_ignore_ascii_case("list-unsubscribe")
                        || name.eq_ignore_ascii_case("list-unsubscribe-post")))
        })
        .map(|h| (h.offset_field as usize, h.offset_end as usize))
        .collect();
    cut.sort_unstable();
    let mut at = 0;
    for (start, end) in cut {
        if start < at || end > raw.len() || start > end {
            continue;
        }
        out.extend_from_slice(raw.get(at..start).unwrap_or_default());
        at = end;
    }
    out.extend_from_slice(raw.get(at..).unwrap_or_default());
    out
}

/// A copy given up, as its sender is told.
pub struct GivenUp<'a> {
    /// The relay's host name: the reporting MTA.
    pub hostname: &'a str,
    /// The message's envelope sender, who is told.
    pub sender: &'a str,
    /// The recipient the copy was for.
    pub recipient: &'a str,
    /// The failure's short code (`smtp_550`, `timeout`…).
    pub error: &'a str,
    /// Whether the upstream server refused it for good (else every attempt failed).
    pub refused: bool,
    /// The copy's id: the notification's `Message-ID` is made of it.
    pub copy: uuid::Uuid,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// The delivery status notification for a copy given up (RFC 3464 `multipart/report;
/// report-type=delivery-status`): a few words in `tr`'s language, the machine-readable status
/// (`Final-Recipient`, `Action: failed`, `Status`, and the SMTP reply code when there is one),
/// and the original message's header block (RFC 6522 `text/rfc822-headers`), never its body.
/// From the mailer daemon, marked `Auto-Submitted: auto-replied` (RFC 3834).
pub fn notice(raw: &[u8], given_up: &GivenUp<'_>, tr: Tr) -> std::io::Result<Vec<u8>> {
    let original = MessageParser::new().parse_headers(raw);
    let subject = original
        .as_ref()
        .and_then(|m| m.subject())
        .unwrap_or_default()
        .to_owned();
    // The header block: up to the end of the last field mail-parser found.
    let head_end = original
        .as_ref()
        .and_then(|m| m.headers().iter().map(|h| h.offset_end as usize).max())
        .unwrap_or(0)
        .min(raw.len());
    let head = String::from_utf8_lossy(raw.get(..head_end).unwrap_or_default()).into_owned();
    let smtp = given_up
        .error
        .strip_prefix("smtp_")
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()));
    let status = match (smtp, given_up.error) {
        (Some(code), _) if code.starts_with('5') => "5.0.0",
        (_, "recipient_address") => "5.1.3",
        (_, "sender_address" | "envelope") => "5.1.7",
        // Every attempt failed for now, and the last one is past (RFC 3463 X.4.7).
        _ => "4.4.7",
    };
    let args = [
        ("recipient", Arg::Text(Cow::Borrowed(given_up.recipient))),
        ("error", Arg::Text(Cow::Borrowed(given_up.error))),
    ];
    let text = format!(
        "{}\r\n\r\n{}\r\n",
        tr.args(
            if given_up.refused {
                "relay-dsn-refused"
            } else {
                "relay-dsn-expired"
            },
            &args
        ),
        tr.t("relay-dsn-details")
    );
    let mut status_fields = format!(
        "Reporting-MTA: dns; {}\r\n\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {status}\r\n",
        given_up.hostname, given_up.recipient
    );
    if let Some(code) = smtp {
        status_fields.push_str(&format!("Diagnostic-Code: smtp; {code}\r\n"));
    }
    let report = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
        vec![
            MimePart::new(
                ContentType::new("text/plain").attribute("charset", "utf-8"),
                text,
            ),
            MimePart::new("message/delivery-status", status_fields).transfer_encoding("7bit"),
            MimePart::new("text/rfc822-headers", head),
        ],
    );
    MessageBuilder::new()
        .from(Address::new_address(
            Some("Mail Delivery System"),
            format!("mailer-daemon@{}", given_up.hostname),
        ))
        .to(given_up.sender)
        .subject(tr.with("relay-dsn-subject", "subject", &subject))
        .message_id(format!("dsn-{}@{}", given_up.copy, given_up.hostname))
        .date(given_up.now)
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(report)
        .write_to_vec()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const MESSAGE: &str = "From: Ufficio <ufficio@example.com>\r\nTo: rossi@example.com\r\nX-Consento-Reason: =?UTF-8?Q?Verifica_identit=C3=A0?=\r\nSubject: Ciao\r\nx-consento-note: a note\r\n  folded on two lines\r\nList-Unsubscribe: <https://crm.example/u/1>\r\nPrecedence: bulk\r\nList-Id: <news.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nX-Consento-Reason: not a header, the body\r\n.. è\r\n";

    #[test]
    fn the_relay_reads_its_fields_unfolded_and_decoded_and_a_lists_marks() {
        let h = read_headers(MESSAGE.as_bytes());
        assert_eq!(h.reason.as_deref(), Some("Verifica identità"));
        assert_eq!(h.note.as_deref(), Some("a note folded on two lines"));
        assert_eq!(h.precedence.as_deref(), Some("bulk"));
        assert!(h.list_id);
        assert_eq!(h.action, None);
        assert_eq!(
            read_headers(b"Subject: x\r\n\r\nbody"),
            RelayHeaders::default()
        );
    }

    #[test]
    fn a_copy_loses_consentos_fields_and_the_senders_unsubscribe_and_keeps_the_body_byte_for_byte()
    {
        let links = Unsubscribe {
            https: "https://privacy.example/u/TOKEN".into(),
            mailto: Some("mailto:unsubscribe@example.com?subject=unsubscribe%20TOKEN".into()),
        };
        let out = String::from_utf8(copy(MESSAGE.as_bytes(), Some(&links))).unwrap();
        assert!(out.starts_with("List-Unsubscribe: <https://privacy.example/u/TOKEN>, <mailto:unsubscribe@example.com?subject=unsubscribe%20TOKEN>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nFrom: Ufficio"), "{out}");
        assert!(!out.contains("crm.example"), "{out}");
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(!head.to_ascii_lowercase().contains("x-consento"), "{head}");
        assert!(!head.contains("folded"), "{head}");
        assert!(
            head.contains("Subject: Ciao\r\nPrecedence: bulk\r\nList-Id"),
            "{head}"
        );
        assert_eq!(
            body,
            MESSAGE.split_once("\r\n\r\n").unwrap().1,
            "the body is untouched"
        );
        let parsed = MessageParser::new().parse(out.as_bytes()).unwrap();
        assert_eq!(parsed.subject(), Some("Ciao"));
        // A single copy keeps the sender's own headers but Consento's.
        let single = String::from_utf8(copy(MESSAGE.as_bytes(), None)).unwrap();
        assert!(single.starts_with("From: Ufficio"));
        assert!(single.contains("List-Unsubscribe: <https://crm.example/u/1>"));
        assert!(
            !single
                .split_once("\r\n\r\n")
                .unwrap()
                .0
                .contains("X-Consento")
        );
    }
}
