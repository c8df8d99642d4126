//! The SMTP client every adapter that sends mail shares (the mail worker, the relay's worker):
//! lettre's transport with the TLS, credentials and timeout of one configured server, and the
//! one reading of a failed attempt (retry later, or give up). Neither adapter imports the other;
//! both build on this.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use crate::config::MailTls;

/// One SMTP server to send through.
#[derive(Clone, Copy)]
pub struct Server<'a> {
    /// Its host name.
    pub host: &'a str,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: MailTls,
    /// The user name, if it wants one.
    pub username: Option<&'a str>,
    /// The password that goes with it.
    pub password: Option<&'a str>,
    /// How long one exchange may take.
    pub timeout: Duration,
    /// The name given in `EHLO`.
    pub hello: &'a str,
}

/// Why the transport cannot be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up TLS for the SMTP server: {0}")]
pub struct TlsSetupError(String);

/// A transport to `server`: TLS as configured (rustls with the web PKI roots; STARTTLS is then
/// required, RFC 3207), credentials if given, the timeout for each exchange, and the `EHLO`
/// name given (a domain rather than this machine's host name).
pub fn transport(server: Server<'_>) -> Result<AsyncSmtpTransport<Tokio1Executor>, TlsSetupError> {
    let params =
        || TlsParameters::new(server.host.to_owned()).map_err(|e| TlsSetupError(e.to_string()));
    let tls = match server.tls {
        MailTls::None => Tls::None,
        MailTls::Starttls => Tls::Required(params()?),
        MailTls::Tls => Tls::Wrapper(params()?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host)
        .port(server.port)
        .tls(tls)
        .timeout(Some(server.timeout))
        .hello_name(ClientId::Domain(server.hello.to_owned()));
    if let Some(user) = server.username {
        builder = builder.credentials(Credentials::new(
            user.to_owned(),
            server.password.unwrap_or_default().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// A failed attempt, read: a short code for the record (`smtp_451`, `timeout`, `tls`, `client`,
/// `connect`; never the server's text, which may quote an address) and whether it is permanent
/// (a 5xx answer: RFC 5321 §4.2.1, "the SMTP client SHOULD NOT repeat the exact request").
pub fn failure(e: &lettre::transport::smtp::Error) -> (String, bool) {
    let code = match e.status() {
        Some(status) => format!("smtp_{status}"),
        None if e.is_timeout() => "timeout".to_owned(),
        None if e.is_tls() => "tls".to_owned(),
        None if e.is_client() => "client".to_owned(),
        None => "connect".to_owned(),
    };
    (code, e.is_permanent())
}
