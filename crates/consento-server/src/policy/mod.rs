//! The policy service for Postfix: an adapter that answers Postfix's policy requests
//! (`check_policy_service inet:127.0.0.1:10040` in `smtpd_recipient_restrictions`) with the
//! application's decision for each recipient, and a worker that tells Postfix what became of
//! the messages it held.
//!
//! At `RCPT TO` (`protocol_state=RCPT`) the recipient is looked up as a contact by address (any
//! case) and decided for the configured action (Postfix asks before any header is known):
//! - allowed: `DUNNO` (Consento has no objection; the next restriction decides);
//! - blocked: `550 5.7.1 <rule>: <why>` (an access(5) answer with its own code: the client is
//!   refused at once, with the rule, whatever `access_map_reject_code` says);
//! - needs a reason: `HOLD <rule>` (the message goes to Postfix's hold queue) and the recipient
//!   is recorded as held (`consento_app::held`); its sender is told once the message has its
//!   queue id (Postfix names a message only after its first recipient is accepted: the id comes
//!   with a later request of the same transaction, `instance`, at the latest at
//!   `END-OF-MESSAGE` when `smtpd_end_of_data_restrictions` asks too);
//! - not a contact, or not an address Consento could hold: `DUNNO` (Consento decides for the
//!   people it knows; mail to colleagues and suppliers is none of its business).
//!
//! When the decision cannot be made (the database is down), the answer is
//! `DEFER_IF_PERMIT 4.3.0`: the client tries again later, and nothing unchecked goes.
//!
//! Every other state is answered `DUNNO`. The protocol has no authentication: listen on
//! loopback, or on an address only the mail server reaches. Addresses are never logged.

mod protocol;
pub mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consento_app::audit::By;
use consento_app::held::Hold;
use consento_app::{App, AppError};
use consento_domain::held::{HeldSource, QueueId};
use consento_domain::{Action, Cause, Decision};
use consento_store::{ContactRef, StoreError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

pub use protocol::{MAX_ATTRIBUTES, MAX_LINE, MAX_REQUEST};

use crate::config::PostfixPolicyConfig;

/// How long a connection may wait, idle, for its next request: longer than Postfix keeps an
/// idle policy connection (`smtpd_policy_service_max_idle`, 300 s), so that Postfix is the one
/// that closes it.
const IDLE: Duration = Duration::from_secs(330);

/// How long the rest of a request may take once its first byte came.
const REQUEST: Duration = Duration::from_secs(10);

/// Transactions whose held recipients still wait for their queue id, remembered this long at
/// most (a message's transaction lasts minutes, not hours).
const PENDING_FOR: Duration = Duration::from_secs(3600);

/// The most transactions remembered; the oldest are forgotten first (the request at
/// `END-OF-MESSAGE` still names them).
const PENDING_MAX: usize = 10_000;

/// The answer when Consento cannot decide now: Postfix tells the client to try again later.
const UNAVAILABLE: &str =
    "DEFER_IF_PERMIT 4.3.0 Consento cannot check this recipient now, try again later";

/// The answer to a request that breaks the protocol (the connection is closed after it).
const MALFORMED: &str = "DEFER_IF_PERMIT 4.3.5 malformed policy request";

/// What every connection shares.
struct Service {
    app: App,
    action: Action,
    /// SMTP transactions (`instance`) with recipients held before the message had a queue id.
    pending: Mutex<HashMap<String, Instant>>,
}

/// Serves Postfix's policy requests on `listener` until `stop` turns true; then stops
/// accepting, and each connection closes once its request in progress is answered.
pub async fn serve(
    listener: TcpListener,
    app: App,
    config: PostfixPolicyConfig,
    mut stop: watch::Receiver<bool>,
) {
    let service = Arc::new(Service {
        app,
        action: config.default_action.action(),
        pending: Mutex::default(),
    });
    let permits = Arc::new(Semaphore::new(
        usize::try_from(config.max_connections).unwrap_or(1).max(1),
    ));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "policy service for Postfix listening");
    }
    loop {
        // A connection beyond the cap waits in the listening socket's backlog, unread.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "policy service: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let service = Arc::clone(&service);
        let stop = stop.clone();
        tokio::spawn(async move {
            connection(stream, &service, stop).await;
            drop(permit);
        });
    }
}

/// Answers the requests of one connection until it closes, breaks the protocol, idles too long,
/// or the service stops.
async fn connection(stream: TcpStream, service: &Service, mut stop: watch::Receiver<bool>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        // Idle: wait for the first byte of the next request (or the end, or the stop).
        tokio::select! {
            first = tokio::time::timeout(IDLE, reader.fill_buf()) => match first {
                Ok(Ok(bytes)) if !bytes.is_empty() => {}
                _ => return,
            },
            () = stopped(&mut stop) => return,
        }
        let request = match tokio::time::timeout(REQUEST, protocol::read_request(&mut reader)).await
        {
            Ok(Ok(Some(request))) => request,
            Ok(Ok(None)) => return,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "policy service: refused a request");
                let _ = write
                    .write_all(protocol::answer(MALFORMED).as_bytes())
                    .await;
                return;
            }
            Err(_) => {
                tracing::warn!("policy service: a request did not arrive in time");
                return;
            }
        };
        let action = service.answer(&request).await;
        if write
            .write_all(protocol::answer(&action).as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Resolves once `stop` turns true (the guard `wait_for` gives is not kept across a select).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

impl Service {
    /// The action for one request.
    async fn answer(&self, request: &protocol::Request) -> String {
        if request.get("request") != Some("smtpd_access_policy") {
            return MALFORMED.to_owned();
        }
        let queue_id = request.get("queue_id").and_then(|q| QueueId::parse(q).ok());
        let instance = request.get("instance");
        // The transaction's message has its queue id now: the recipients held before it had
        // one are named by it, and their senders told.
        if let (Some(queue_id), Some(instance)) = (&queue_id, instance) {
            let end = request.get("protocol_state") == Some("END-OF-MESSAGE");
            if end || self.is_pending(instance) {
                self.name(instance, queue_id).await;
            }
        }
        match request.get("protocol_state") {
            Some("RCPT") => self.recipient(request, queue_id, instance).await,
            _ => "DUNNO".to_owned(),
        }
    }

    /// The decision for the recipient of a `RCPT TO`.
    async fn recipient(
        &self,
        request: &protocol::Request,
        queue_id: Option<QueueId>,
        instance: Option<&str>,
    ) -> String {
        let Some(recipient) = request.get("recipient") else {
            return "DUNNO".to_owned();
        };
        let contact = ContactRef::Email(recipient.to_owned());
        let report = match self.app.decide(&contact, self.action, None).await {
            Ok(report) => report,
            // Not a contact: nothing Consento decides (Postfix carries the company's other mail
            // too, to suppliers and colleagues), unless a newsletter would reach an address on
            // the suppression list, an erased or objecting person's (rule 4 of the decision).
            Err(AppError::Store(StoreError::NotFound { .. })) => {
                if !self.action.is_bulk() {
                    return "DUNNO".to_owned();
                }
                return match self.app.is_suppressed(&contact).await {
                    Ok(true) => {
                        tracing::info!(rule = "suppressed", "policy service: recipient refused");
                        format!("550 5.7.1 suppressed: {}", why(&Cause::Suppressed))
                    }
                    Ok(false) => "DUNNO".to_owned(),
                    Err(e) => {
                        tracing::warn!(error = %e, "policy service: cannot decide");
                        UNAVAILABLE.to_owned()
                    }
                };
            }
            // Not an address: nothing Consento decides.
            Err(AppError::Store(StoreError::Invalid(_))) => {
                return "DUNNO".to_owned();
            }
            Err(e) => {
                tracing::warn!(error = %e, "policy service: cannot decide");
                return UNAVAILABLE.to_owned();
            }
        };
        match &report.decision {
            Decision::Allowed { .. } => "DUNNO".to_owned(),
            Decision::Blocked { cause } => {
                tracing::info!(rule = cause.code(), "policy service: recipient refused");
                format!("550 5.7.1 {}: {}", cause.code(), why(cause))
            }
            Decision::NeedsJustification { cause, .. } => {
                let hold = Hold {
                    source: HeldSource::Postfix,
                    queue_id: queue_id.clone(),
                    transaction_ref: instance.map(str::to_owned),
                    // `<>` (a bounce) comes as an empty sender.
                    sender: request.get("sender").unwrap_or_default().to_owned(),
                    recipient: recipient.to_owned(),
                    contact_id: report.contact_id,
                    action: report.action,
                    rule: cause.code().to_owned(),
                };
                match self.app.hold(&By::system(), hold).await {
                    Ok(id) => {
                        tracing::info!(held_message = %id, rule = cause.code(), "policy service: recipient held");
                        if let (None, Some(instance)) = (&queue_id, instance) {
                            self.remember(instance);
                        }
                        format!("HOLD {}: waiting for a reason", cause.code())
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "policy service: cannot hold");
                        UNAVAILABLE.to_owned()
                    }
                }
            }
        }
    }

    /// Names the message of transaction `instance` by `queue_id` for its held recipients.
    async fn name(&self, instance: &str, queue_id: &QueueId) {
        match self
            .app
            .name_held_message(&By::system(), HeldSource::Postfix, instance, queue_id)
            .await
        {
            Ok(_) => {
                if let Ok(mut pending) = self.pending.lock() {
                    pending.remove(instance);
                }
            }
            Err(e) => tracing::warn!(error = %e, "policy service: cannot name a held message"),
        }
    }

    fn is_pending(&self, instance: &str) -> bool {
        self.pending
            .lock()
            .map(|p| p.contains_key(instance))
            .unwrap_or(false)
    }

    /// Remembers that transaction `instance` has recipients waiting for its queue id.
    fn remember(&self, instance: &str) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        let now = Instant::now();
        pending.retain(|_, at| now.duration_since(*at) < PENDING_FOR);
        if pending.len() >= PENDING_MAX
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| k.clone())
        {
            pending.remove(&oldest);
        }
        pending.insert(instance.to_owned(), now);
    }
}

/// Why a recipient is refused, in a few words of the reply's text (English: SMTP replies are
/// ASCII, RFC 5321 §4.2, and the client shows them as they are).
fn why(cause: &Cause) -> &'static str {
    match cause {
        Cause::Erased => "the person was erased (GDPR Art. 17)",
        Cause::Restricted { .. } => "processing is restricted (GDPR Art. 18)",
        Cause::Objected { .. } => "the person objects to direct marketing (GDPR Art. 21)",
        Cause::ChannelOff { .. } => "the person switched email off",
        Cause::Suppressed => "the address is on the suppression list",
        Cause::NoConsent => "no consent allows this email",
        Cause::Refused { .. } => "the person refused the consent this email needs",
        Cause::Withdrawn { .. } => "the person withdrew the consent this email needs",
        Cause::Expired { .. } => "the consent this email needs has expired",
        _ => "the rules do not allow this email",
    }
}

/// Binds the policy service's address, if one is configured.
pub async fn bind(config: &PostfixPolicyConfig) -> std::io::Result<Option<TcpListener>> {
    match config.listen {
        Some(addr) => TcpListener::bind(addr).await.map(Some),
        None => Ok(None),
    }
}
