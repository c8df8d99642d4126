//! One SMTP session of the relay (RFC 5321, submission per RFC 6409): commands parsed by
//! `smtp-proto`, answered with enhanced status codes (RFC 3463, advertised per RFC 2034).
//! Pipelined commands (RFC 2920) are answered together: replies wait in a buffer that is sent
//! whenever the session would wait for the client.
//!
//! - AUTH PLAIN (RFC 4616) and LOGIN take a token of scope `relay` as the password (the user
//!   name is not read); they are offered and accepted only over TLS or from this machine
//!   (RFC 4954 §4: no password in clear across a network).
//! - RCPT TO decides the recipient at once for the default action (the token's own, else the
//!   relay's): blocked (or unknown) is refused `550 5.7.1 <rule>: …` and the transaction goes
//!   on with the others.
//! - The end of DATA decides every accepted recipient again for the message's own action and
//!   gives one answer for all (see `consento_domain::relay::data_answer`): `250` once the
//!   message is stored, delivered only to those it lets through (the others recorded as refused);
//!   a recipient that needs a justification and has no usable `X-Consento-Reason` is accepted
//!   and its copy held (the sender emailed a signed link to the console, where an operator gives
//!   the reason or drops it; `consento_app::held`); `550 5.7.1` when every recipient is blocked.
//!
//! Limits: SIZE (RFC 1870) and the message's size, recipients per message (452 4.5.3), messages
//! per token per minute (451 4.7.1), command lines (smtp-proto's 4,096 bytes), a timeout on
//! every read (421 4.4.2), and a few failed AUTH or bad commands before the connection is closed.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use consento_app::AppError;
use consento_app::audit::By;
use consento_app::relay::{RecipientCheck, RelayRecipient, RelayedMessage};
use consento_app::tokens::{Principal, Scope};
use consento_domain::relay::{DataAnswer, Verdict};
use consento_store::TOKEN_PREFIX;
use smtp_proto::request::receiver::{
    DataReceiver, DummyDataReceiver, LineReceiver, MAX_LINE_LENGTH, RequestReceiver,
};
use smtp_proto::{
    AUTH_LOGIN, AUTH_PLAIN, EXT_8BIT_MIME, EXT_AUTH, EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING,
    EXT_SIZE, EXT_SMTP_UTF8, EXT_START_TLS, EhloResponse, Request, Response,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::Relay;
use crate::metrics::RelayEvent;

/// Failed AUTH attempts before the connection is closed.
const MAX_AUTH_FAILURES: u32 = 3;
/// Commands answered with an error before the connection is closed.
const MAX_ERRORS: u32 = 20;
/// Bytes read from the client at a time.
const READ_CHUNK: usize = 64 * 1024;

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// The client quit, went away, or was sent away.
    Closed,
    /// The client asked for TLS: the connection is to be secured and a new session started.
    StartTls,
}

/// The mail transaction under way (RFC 5321 §3.3).
struct Transaction {
    from: String,
    recipients: Vec<RelayRecipient>,
}

/// One session's state and buffers.
pub(super) struct Session<'a> {
    relay: &'a Relay,
    peer: SocketAddr,
    tls: bool,
    stop: watch::Receiver<bool>,
    greeted: bool,
    principal: Option<Arc<Principal>>,
    auth_failures: u32,
    errors: u32,
    tx: Option<Transaction>,
    receiver: RequestReceiver,
    input: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
}

/// What handling a command leads to.
enum Flow {
    Next,
    End(End),
}

impl<'a> Session<'a> {
    pub(super) fn new(
        relay: &'a Relay,
        peer: SocketAddr,
        tls: bool,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            relay,
            peer,
            tls,
            stop,
            greeted: false,
            principal: None,
            auth_failures: 0,
            errors: 0,
            tx: None,
            receiver: RequestReceiver::default(),
            input: Vec::with_capacity(4096),
            pos: 0,
            out: Vec::with_capacity(1024),
        }
    }

    /// Whether AUTH is offered and accepted: over TLS, or from this machine.
    fn may_authenticate(&self) -> bool {
        self.tls || self.peer.ip().to_canonical().is_loopback()
    }

    fn reply(&mut self, code: u16, esc: [u8; 3], text: &str) {
        let [a, b, c] = esc;
        let _ = Response::new(code, a, b, c, text).write(&mut self.out);
    }

    fn error(&mut self, code: u16, esc: [u8; 3], text: &str) {
        self.errors += 1;
        self.reply(code, esc, text);
    }

    /// Sends the replies waiting.
    async fn flush<S: AsyncWrite + Unpin>(&mut self, io: &mut S) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let ok = io.write_all(&self.out).await.is_ok() && io.flush().await.is_ok();
        self.out.clear();
        ok
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.input.len());
        if self.pos == self.input.len() {
            self.input.clear();
            self.pos = 0;
        }
    }

    /// Sends the replies waiting, then waits for more from the client: `None` when there is
    /// more to read, else how the session ends (the client went away, went silent past the
    /// timeout, or the relay is stopping).
    async fn fill<S: AsyncRead + AsyncWrite + Unpin>(&mut self, io: &mut S) -> Option<End> {
        if !self.flush(io).await {
            return Some(End::Closed);
        }
        if self.pos > 0 {
            self.input.drain(..self.pos);
            self.pos = 0;
        }
        let start = self.input.len();
        self.input.resize(start + READ_CHUNK, 0);
        let timeout = self.relay.timeout;
        let read = tokio::select! {
            read = tokio::time::timeout(timeout, io.read(&mut self.input[start..])) => Some(read),
            _ = self.stop.wait_for(|s| *s) => None,
        };
        let Some(read) = read else {
            self.input.truncate(start);
            self.reply(421, [4, 3, 2], "Service shutting down, try again later");
            let _ = self.flush(io).await;
            return Some(End::Closed);
        };
        match read {
            Ok(Ok(n)) if n > 0 => {
                self.input.truncate(start + n);
                None
            }
            Ok(_) => {
                self.input.truncate(start);
                Some(End::Closed)
            }
            Err(_) => {
                self.input.truncate(start);
                self.reply(421, [4, 4, 2], "Timeout waiting for the client, closing");
                let _ = self.flush(io).await;
                Some(End::Closed)
            }
        }
    }

    /// Runs the dialogue until it ends.
    pub(super) async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, io: &mut S) -> End {
        loop {
            // smtp-proto bounds a line that arrives in pieces; one that arrives whole is
            // bounded here (RFC 5321 §4.5.3.1.4, raised by extensions: smtp-proto's 4,096).
            let pending = self.input.get(self.pos..).unwrap_or_default();
            if let Some(end) = memchr_lf(pending).filter(|end| *end >= MAX_LINE_LENGTH) {
                self.consume(end + 1);
                self.receiver = RequestReceiver::default();
                self.error(500, [5, 5, 2], "Line too long");
                continue;
            }
            let (parsed, used) = {
                let mut bytes = self.input.get(self.pos..).unwrap_or_default().iter();
                let before = bytes.len();
                let parsed = self.receiver.ingest(&mut bytes).map(Request::into_owned);
                (parsed, before - bytes.len())
            };
            self.consume(used);
            let flow = match parsed {
                Err(smtp_proto::Error::NeedsMoreData { .. }) => match self.fill(io).await {
                    None => continue,
                    Some(end) => Flow::End(end),
                },
                Err(e) => {
                    self.syntax_error(&e);
                    Flow::Next
                }
                Ok(request) => self.handle(request, io).await,
            };
            if let Flow::End(end) = flow {
                if end == End::Closed {
                    let _ = self.flush(io).await;
                }
                return end;
            }
            if self.errors >= MAX_ERRORS {
                self.reply(421, [4, 7, 0], "Too many errors, closing");
                let _ = self.flush(io).await;
                return End::Closed;
            }
        }
    }

    fn syntax_error(&mut self, e: &smtp_proto::Error) {
        match e {
            smtp_proto::Error::UnknownCommand => self.error(500, [5, 5, 1], "Unrecognized command"),
            smtp_proto::Error::InvalidSenderAddress => {
                self.error(501, [5, 1, 7], "Bad sender address syntax")
            }
            smtp_proto::Error::InvalidRecipientAddress => {
                self.error(501, [5, 1, 3], "Bad recipient address syntax")
            }
            smtp_proto::Error::SyntaxError { syntax } => {
                self.error(501, [5, 5, 2], &format!("Syntax: {syntax}"))
            }
            smtp_proto::Error::InvalidParameter { param } => {
                self.error(501, [5, 5, 4], &format!("Invalid parameter {param}"))
            }
            smtp_proto::Error::UnsupportedParameter { .. } => {
                self.error(504, [5, 5, 4], "Unsupported parameter")
            }
            smtp_proto::Error::ResponseTooLong => self.error(500, [5, 5, 2], "Line too long"),
            smtp_proto::Error::NeedsMoreData { .. } | smtp_proto::Error::InvalidResponse { .. } => {
                self.error(500, [5, 5, 2], "Syntax error")
            }
        }
    }

    async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        request: Request<String>,
        io: &mut S,
    ) -> Flow {
        match request {
            Request::Ehlo { host } => {
                let _ = host;
                self.greeted = true;
                self.tx = None;
                let mut ehlo = EhloResponse::new(self.relay.config.hostname.as_str());
                ehlo.capabilities = EXT_PIPELINING
                    | EXT_8BIT_MIME
                    | EXT_SMTP_UTF8
                    | EXT_SIZE
                    | EXT_ENHANCED_STATUS_CODES;
                ehlo.size = usize::try_from(self.relay.config.max_message_bytes).unwrap_or(0);
                if self.relay.tls.is_some() && !self.tls {
                    ehlo.capabilities |= EXT_START_TLS;
                }
                if self.may_authenticate() {
                    ehlo.capabilities |= EXT_AUTH;
                    ehlo.auth_mechanisms = AUTH_PLAIN | AUTH_LOGIN;
                }
                let _ = ehlo.write(&mut self.out);
            }
            Request::Helo { .. } => {
                self.greeted = true;
                self.tx = None;
                let host = self.relay.config.hostname.clone();
                self.reply(250, [2, 0, 0], &host);
            }
            Request::StartTls => {
                if self.tls {
                    self.error(503, [5, 5, 1], "TLS already active");
                } else if self.relay.tls.is_none() {
                    self.error(502, [5, 5, 1], "STARTTLS not available");
                } else {
                    self.reply(220, [2, 0, 0], "Ready to start TLS");
                    if !self.flush(io).await {
                        return Flow::End(End::Closed);
                    }
                    // Anything the client sent after STARTTLS, before the handshake, is
                    // discarded: it could be injected in clear (RFC 3207 §6).
                    self.input.clear();
                    self.pos = 0;
                    return Flow::End(End::StartTls);
                }
            }
            Request::Auth {
                mechanism,
                initial_response,
            } => return self.auth(mechanism, initial_response, io).await,
            Request::Mail { from } => self.mail(from),
            Request::Rcpt { to } => self.rcpt(&to.address).await,
            Request::Data => return self.data(io).await,
            Request::Bdat { .. } => self.error(502, [5, 5, 1], "BDAT not available, use DATA"),
            Request::Rset => {
                self.tx = None;
                self.reply(250, [2, 0, 0], "OK");
            }
            Request::Noop { .. } => self.reply(250, [2, 0, 0], "OK"),
            Request::Quit => {
                self.reply(221, [2, 0, 0], "Bye");
                return Flow::End(End::Closed);
            }
            // RFC 5321 §3.5.3: an answer that neither confirms nor denies an address.
            Request::Vrfy { .. } => self.reply(252, [2, 5, 0], "Cannot VRFY, send the message"),
            Request::Lhlo { .. }
            | Request::Expn { .. }
            | Request::Help { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => self.error(502, [5, 5, 1], "Command not implemented"),
        }
        Flow::Next
    }

    /// Reads one line of an AUTH exchange (a base64 answer to a 334 challenge).
    async fn auth_line<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
    ) -> Result<String, End> {
        let mut line = LineReceiver::new(());
        loop {
            let (done, used) = {
                let mut bytes = self.input.get(self.pos..).unwrap_or_default().iter();
                let before = bytes.len();
                let done = line.ingest(&mut bytes);
                (done, before - bytes.len())
            };
            self.consume(used);
            if done {
                return Ok(String::from_utf8_lossy(&line.buf).trim().to_owned());
            }
            if let Some(end) = self.fill(io).await {
                return Err(end);
            }
        }
    }

    /// An answer to a challenge (or an initial response), decoded; `None` when the client
    /// cancelled (`*`, RFC 4954 §4) or sent what is not base64.
    fn decode(text: &str) -> Option<Vec<u8>> {
        match text {
            "*" => None,
            "=" => Some(Vec::new()),
            t => STANDARD.decode(t).ok(),
        }
    }

    async fn auth<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        mechanism: u64,
        initial: String,
        io: &mut S,
    ) -> Flow {
        if !self.greeted {
            self.error(503, [5, 5, 1], "Send EHLO first");
            return Flow::Next;
        }
        if self.principal.is_some() {
            self.error(503, [5, 5, 1], "Already authenticated");
            return Flow::Next;
        }
        if self.tx.is_some() {
            self.error(
                503,
                [5, 5, 1],
                "AUTH is not allowed during a mail transaction",
            );
            return Flow::Next;
        }
        if !self.may_authenticate() {
            self.error(
                538,
                [5, 7, 11],
                "Encryption required for requested authentication mechanism: STARTTLS first",
            );
            return Flow::Next;
        }
        let password = match mechanism {
            AUTH_PLAIN => {
                let answer = if initial.is_empty() {
                    // An empty challenge (RFC 4954 §4).
                    self.challenge("");
                    match self.auth_line(io).await {
                        Ok(line) => line,
                        Err(end) => return Flow::End(end),
                    }
                } else {
                    initial
                };
                // authzid NUL authcid NUL passwd (RFC 4616 §2); only the password is read.
                Self::decode(&answer).and_then(|raw| {
                    raw.split(|b| *b == 0)
                        .nth(2)
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                })
            }
            AUTH_LOGIN => {
                // The user name is asked for (unless given at once) and not read.
                let cancelled = if initial.is_empty() {
                    self.challenge("VXNlcm5hbWU6");
                    match self.auth_line(io).await {
                        Ok(line) => line == "*",
                        Err(end) => return Flow::End(end),
                    }
                } else {
                    initial == "*"
                };
                if cancelled {
                    None
                } else {
                    self.challenge("UGFzc3dvcmQ6");
                    match self.auth_line(io).await {
                        Ok(line) => {
                            Self::decode(&line).map(|p| String::from_utf8_lossy(&p).into_owned())
                        }
                        Err(end) => return Flow::End(end),
                    }
                }
            }
            _ => {
                self.error(
                    504,
                    [5, 5, 4],
                    "Unrecognized authentication type: use PLAIN or LOGIN",
                );
                return Flow::Next;
            }
        };
        let Some(password) = password else {
            self.error(501, [5, 7, 0], "Authentication cancelled or malformed");
            return Flow::Next;
        };
        match self.principal_of(password.trim()).await {
            Ok(Some(principal)) if principal.scopes.iter().any(|s| s.grants(Scope::Relay)) => {
                tracing::info!(token = %principal.token_id, "relay: client authenticated");
                self.principal = Some(principal);
                self.reply(235, [2, 7, 0], "Authentication successful");
            }
            Ok(found) => {
                self.auth_failures += 1;
                let text = if found.is_some() {
                    "Authentication credentials invalid: this token has no relay scope"
                } else {
                    "Authentication credentials invalid"
                };
                self.error(535, [5, 7, 8], text);
                if self.auth_failures >= MAX_AUTH_FAILURES {
                    self.reply(421, [4, 7, 0], "Too many failed authentications, closing");
                    return Flow::End(End::Closed);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "relay: cannot check a token");
                self.reply(454, [4, 7, 0], "Temporary authentication failure");
            }
        }
        Flow::Next
    }

    fn challenge(&mut self, base64: &str) {
        self.out.extend_from_slice(b"334 ");
        self.out.extend_from_slice(base64.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    async fn principal_of(
        &self,
        secret: &str,
    ) -> Result<Option<Arc<Principal>>, consento_store::StoreError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        self.relay.tokens.principal(&self.relay.store, secret).await
    }

    fn mail(&mut self, from: smtp_proto::MailFrom<String>) {
        if !self.greeted {
            return self.error(503, [5, 5, 1], "Send EHLO first");
        }
        let Some(principal) = self.principal.clone() else {
            return self.error(530, [5, 7, 0], "Authentication required");
        };
        if self.tx.is_some() {
            return self.error(503, [5, 5, 1], "Nested MAIL command");
        }
        let max = self.relay.config.max_message_bytes;
        if u64::try_from(from.size).unwrap_or(u64::MAX) > max {
            return self.error(
                552,
                [5, 3, 4],
                &format!("Message size exceeds fixed maximum message size ({max} bytes)"),
            );
        }
        if !self
            .relay
            .limiter
            .allow(principal.token_id, self.relay.config.messages_per_minute)
        {
            return self.reply(
                451,
                [4, 7, 1],
                &format!(
                    "Rate limit: at most {} messages a minute for this token, try again later",
                    self.relay.config.messages_per_minute
                ),
            );
        }
        self.tx = Some(Transaction {
            from: from.address.trim().to_owned(),
            recipients: Vec::new(),
        });
        self.reply(250, [2, 1, 0], "Sender OK");
    }

    /// The action a recipient is decided for at `RCPT TO`, and a message without a mailing
    /// list's marks is: the authenticated token's own default, else the relay's.
    fn default_action(&self) -> consento_domain::Action {
        self.principal
            .as_ref()
            .and_then(|p| p.relay_action)
            .unwrap_or(self.relay.action)
    }

    async fn rcpt(&mut self, address: &str) {
        let Some(tx) = &self.tx else {
            return self.error(503, [5, 5, 1], "Need MAIL command first");
        };
        let max = usize::try_from(self.relay.config.max_recipients).unwrap_or(usize::MAX);
        if tx.recipients.len() >= max {
            return self.reply(452, [4, 5, 3], "Too many recipients");
        }
        match self
            .relay
            .app
            .relay_recipient(address, self.default_action())
            .await
        {
            Ok(RecipientCheck::Accept { contact }) => {
                let address = consento_domain::Email::parse(address)
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default();
                if let Some(tx) = &mut self.tx
                    && !tx.recipients.iter().any(|r| r.contact == contact)
                {
                    tx.recipients.push(RelayRecipient { address, contact });
                }
                self.reply(250, [2, 1, 5], "Recipient OK");
            }
            Ok(RecipientCheck::Refuse { rule }) => {
                self.relay.metrics.relay(RelayEvent::Refused, 1);
                let text = format!("{rule}: {}", explain(&rule));
                self.reply(550, [5, 7, 1], &text);
            }
            Err(e) if e.field().is_some() => {
                self.error(501, [5, 1, 3], "Bad recipient address");
            }
            Err(e) => {
                tracing::warn!(error = %e, "relay: cannot decide a recipient");
                self.reply(451, [4, 3, 0], "Local error in processing, try again later");
            }
        }
    }

    async fn data<S: AsyncRead + AsyncWrite + Unpin>(&mut self, io: &mut S) -> Flow {
        let Some(tx) = &self.tx else {
            self.error(503, [5, 5, 1], "Need MAIL command first");
            return Flow::Next;
        };
        if tx.recipients.is_empty() {
            // RFC 5321 §3.3: DATA with no recipient accepted is answered 554 (or 503).
            self.error(554, [5, 5, 1], "No valid recipients");
            return Flow::Next;
        }
        // An intermediate reply carries no enhanced status code (RFC 2034 §4).
        self.out
            .extend_from_slice(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n");
        let max = usize::try_from(self.relay.config.max_message_bytes).unwrap_or(usize::MAX);
        let mut receiver = DataReceiver::new();
        // The receiver finds the end only after a line break: it starts as if after one, so
        // that a first line of "." ends an empty message and ".." is unstuffed there too.
        let mut primed = Vec::new();
        receiver.ingest(&mut b"\r\n".iter(), &mut primed);
        let mut body = Vec::new();
        let mut discard: Option<DummyDataReceiver> = None;
        loop {
            let (done, used) = {
                let mut bytes = self.input.get(self.pos..).unwrap_or_default().iter();
                let before = bytes.len();
                let done = match &mut discard {
                    None => receiver.ingest(&mut bytes, &mut body),
                    Some(d) => d.ingest(&mut bytes),
                };
                (done, before - bytes.len())
            };
            self.consume(used);
            if discard.is_none() && body.len() > max {
                discard = Some(DummyDataReceiver::new_data(&receiver));
                body = Vec::new();
            }
            if done {
                break;
            }
            if let Some(end) = self.fill(io).await {
                return Flow::End(end);
            }
        }
        let Some(tx) = self.tx.take() else {
            return Flow::Next;
        };
        if discard.is_some() {
            self.reply(
                552,
                [5, 3, 4],
                &format!("Message size exceeds fixed maximum message size ({max} bytes)"),
            );
            return Flow::Next;
        }
        // The session waits for the database here; replies waiting go first.
        if !self.flush(io).await {
            return Flow::End(End::Closed);
        }
        self.decide_message(tx, body).await;
        Flow::Next
    }

    /// Decides and stores a complete message, and answers it.
    async fn decide_message(&mut self, tx: Transaction, body: Vec<u8>) {
        let Some(principal) = self.principal.clone() else {
            return self.error(530, [5, 7, 0], "Authentication required");
        };
        let recipients = tx.recipients.len();
        let message = RelayedMessage {
            token_id: principal.token_id,
            token_name: principal.name.clone(),
            envelope_from: tx.from,
            recipients: tx.recipients,
            headers: super::message::read_headers(&body),
            body,
        };
        let by = By::token(principal.token_id);
        let outcome = self
            .relay
            .app
            .relay_message(&by, self.default_action(), message)
            .await;
        let metrics = &self.relay.metrics;
        match outcome {
            Ok(outcome) => match &outcome.answer {
                DataAnswer::Accept {
                    deliver,
                    held,
                    refused,
                } => {
                    let Some(stored) = &outcome.stored else {
                        return self.reply(
                            451,
                            [4, 3, 0],
                            "Local error in processing, try again later",
                        );
                    };
                    metrics.relay(RelayEvent::Relayed, 1);
                    metrics.relay(RelayEvent::Refused, *refused as u64);
                    tracing::info!(
                        message = %stored.id,
                        token = %principal.token_id,
                        action = %outcome.action,
                        deliver,
                        held,
                        refused,
                        justified = stored.interactions.len(),
                        "relay: message accepted"
                    );
                    let mut text = format!("{} queued for {deliver} recipient(s)", stored.id);
                    if *held > 0 {
                        // The sender is told by email, with the link to give the reason.
                        text.push_str(&format!("; {held} held for a justification"));
                    }
                    if *refused > 0 {
                        let rules: Vec<&str> = outcome
                            .verdicts
                            .iter()
                            .filter_map(|v| match v {
                                Verdict::Refuse(r) => Some(r.rule()),
                                Verdict::Deliver | Verdict::Hold { .. } => None,
                            })
                            .collect();
                        text.push_str(&format!("; {refused} not delivered ({})", rules.join(", ")));
                    }
                    self.reply(250, [2, 0, 0], &text);
                }
                DataAnswer::Permanent(refusal) => {
                    metrics.relay(RelayEvent::Refused, recipients as u64);
                    let rule = refusal.rule();
                    tracing::info!(token = %principal.token_id, recipients, rule, "relay: message refused");
                    self.reply(550, [5, 7, 1], &format!("{rule}: {}", explain(rule)));
                }
            },
            Err(AppError::Store(consento_store::StoreError::Invalid(e))) => {
                self.reply(550, [5, 6, 0], &sanitize(&e.to_string()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "relay: cannot store a message");
                self.reply(451, [4, 3, 0], "Local error in processing, try again later");
            }
        }
    }
}

/// Where the first line feed of `bytes` is.
fn memchr_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b'\n')
}

/// A reply's text kept to printable ASCII on one line (RFC 5321 §4.2): an error may quote what
/// the client sent.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(400)
        .collect()
}

/// A refusal's rule in a few words, after its code in the reply (the code is what a CRM or a
/// person looks up; the text is the protocol's, in English like the API's problems).
pub(super) fn explain(rule: &str) -> &'static str {
    match rule {
        "erased" => "the person's data was erased (GDPR Art. 17)",
        "restricted" => "processing is restricted (GDPR Art. 18)",
        "objected" => "the person objected to direct marketing (GDPR Art. 21(3))",
        "channel_off" => "the person switched email off",
        "suppressed" => "the address is on the suppression list",
        "no_consent" => "no consent allows this email",
        "refused" => "the person refused the consent this email needs",
        "withdrawn" => "the person withdrew the consent this email needs",
        "expired" => "the consent this email needs has expired",
        consento_app::relay::UNKNOWN_CONTACT => {
            "no contact has this address: add the contact to Consento first"
        }
        _ => "this contact may not be reached",
    }
}
