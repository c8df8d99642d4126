//! The Postfix policy delegation protocol (Postfix's SMTPD_POLICY_README, "Protocol
//! description"): Postfix sends a request as `name=value` lines, each ended by a newline, closed
//! by an empty line; the policy server answers `action=<ACTION>`, a newline and an empty line.
//! A connection carries any number of requests, one after the other.
//!
//! A small line protocol, read here by hand, strictly: a line, a request and the number of its
//! attributes are bounded, a line without `=` or a name that is not a Postfix attribute name is
//! refused, and an answer never carries a newline of its own.

use std::collections::HashMap;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest line accepted, newline included. Postfix's values are short (addresses are at
/// most 254 bytes); a client certificate's subject or issuer is the longest it sends.
pub const MAX_LINE: usize = 4096;

/// The most bytes one request may take.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The most attributes one request may hold (Postfix 3.x sends about 30).
pub const MAX_ATTRIBUTES: usize = 128;

/// One policy request: its attributes by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Request {
    attributes: HashMap<String, String>,
}

impl Request {
    /// The value of attribute `name`, if sent and not empty (Postfix sends an attribute it has
    /// no value for as `name=`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Why a request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A line is longer than [`MAX_LINE`].
    #[error("a line is longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// The request is longer than [`MAX_REQUEST`] or has more than [`MAX_ATTRIBUTES`].
    #[error("the request is too large")]
    TooLarge,
    /// A line is not `name=value`, or the name is not an attribute name.
    #[error("a line is not name=value")]
    Malformed,
    /// The connection ended inside a request.
    #[error("the connection ended inside a request")]
    Truncated,
    /// The connection failed.
    #[error("read: {0}")]
    Io(String),
}

/// Reads one line of at most `max` bytes into `line` (the newline included, if one came). An
/// empty `line` means the connection ended.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> Result<(), ReadError> {
    line.clear();
    loop {
        let available = reader
            .fill_buf()
            .await
            .map_err(|e| ReadError::Io(e.kind().to_string()))?;
        if available.is_empty() {
            return Ok(());
        }
        let (taken, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken > max {
            return Err(ReadError::LineTooLong);
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if done {
            return Ok(());
        }
    }
}

/// Whether `name` can be a Postfix attribute name: lower-case letters, digits, `_` and `-`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Reads the next request: `None` when the connection ends cleanly between requests.
pub async fn read_request<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Result<Option<Request>, ReadError> {
    let mut request = Request::default();
    let mut size = 0;
    let mut line = Vec::with_capacity(256);
    loop {
        read_line(reader, &mut line, MAX_LINE).await?;
        if line.is_empty() {
            return if size == 0 {
                Ok(None)
            } else {
                Err(ReadError::Truncated)
            };
        }
        size += line.len();
        if size > MAX_REQUEST {
            return Err(ReadError::TooLarge);
        }
        if line.last() != Some(&b'\n') {
            return Err(ReadError::Truncated);
        }
        let text = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&line);
        if text.is_empty() {
            // The empty line closes the request; one with no attribute is no request.
            return if request.attributes.is_empty() {
                Err(ReadError::Malformed)
            } else {
                Ok(Some(request))
            };
        }
        let text = String::from_utf8_lossy(text);
        let Some((name, value)) = text.split_once('=') else {
            return Err(ReadError::Malformed);
        };
        if !is_name(name) {
            return Err(ReadError::Malformed);
        }
        if request.attributes.len() >= MAX_ATTRIBUTES {
            return Err(ReadError::TooLarge);
        }
        request.attributes.insert(name.to_owned(), value.to_owned());
    }
}

/// The answer to a request: `action=<action>` and the empty line. Whatever could break the
/// framing (a newline, a control character) is replaced by a space: an answer is one line.
pub fn answer(action: &str) -> String {
    let action: String = action
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .collect();
    format!("action={}\n\n", action.trim())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    async fn read_all(input: &[u8]) -> Vec<Result<Option<Request>, ReadError>> {
        let mut reader = tokio::io::BufReader::with_capacity(7, input);
        let mut out = Vec::new();
        loop {
            let r = read_request(&mut reader).await;
            let end = !matches!(r, Ok(Some(_)));
            out.push(r);
            if end {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn requests_follow_each_other_on_one_connection_and_empty_values_read_as_absent() {
        let input = b"request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=Anna@Example.com\nqueue_id=\nsender=a=b@x.it\n\nrequest=smtpd_access_policy\r\nprotocol_state=END-OF-MESSAGE\r\n\r\n";
        let got = read_all(input).await;
        assert_eq!(got.len(), 3);
        let first = got[0].clone().unwrap().unwrap();
        assert_eq!(first.get("recipient"), Some("Anna@Example.com"));
        assert_eq!(first.get("queue_id"), None);
        assert_eq!(first.get("sender"), Some("a=b@x.it"));
        let second = got[1].clone().unwrap().unwrap();
        assert_eq!(second.get("protocol_state"), Some("END-OF-MESSAGE"));
        assert_eq!(got[2], Ok(None));
    }

    #[tokio::test]
    async fn a_malformed_oversized_or_cut_request_is_refused() {
        for (input, expected) in [
            (b"no equals sign\n\n".to_vec(), ReadError::Malformed),
            (b"Request=x\n\n".to_vec(), ReadError::Malformed),
            (b"=value\n\n".to_vec(), ReadError::Malformed),
            (b"\n".to_vec(), ReadError::Malformed),
            (
                b"request=smtpd_access_policy\nsender=x".to_vec(),
                ReadError::Truncated,
            ),
            (
                b"request=smtpd_access_policy\n".to_vec(),
                ReadError::Truncated,
            ),
            (
                format!("sender={}\n\n", "a".repeat(MAX_LINE)).into_bytes(),
                ReadError::LineTooLong,
            ),
            (
                (0..=MAX_ATTRIBUTES)
                    .map(|i| format!("a{i}=1\n"))
                    .collect::<String>()
                    .into_bytes(),
                ReadError::TooLarge,
            ),
            (
                (0..40)
                    .map(|i| format!("a{i}={}\n", "v".repeat(MAX_LINE - 10)))
                    .collect::<String>()
                    .into_bytes(),
                ReadError::TooLarge,
            ),
        ] {
            let got = read_all(&input).await;
            assert_eq!(got.last().unwrap(), &Err(expected.clone()), "{expected:?}");
        }
    }

    #[test]
    fn an_answer_is_one_line_whatever_its_text() {
        assert_eq!(answer("DUNNO"), "action=DUNNO\n\n");
        assert_eq!(
            answer("550 5.7.1 no_consent:\nx\r\0"),
            "action=550 5.7.1 no_consent: x\n\n"
        );
    }
}
