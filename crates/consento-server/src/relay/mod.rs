//! The enforcing SMTP relay: Consento as the CRM's outgoing mail server. A CRM, a newsletter
//! tool or a mail merge submits its mail here (RFC 6409), authenticated with a Consento token of
//! scope `relay` as the password; every recipient is decided by the application as the API
//! decides it ([`consento_app::relay`]), each allowed copy is stored before `250` is answered
//! and handed to the upstream server by the relay's worker ([`worker`]), and what leaves carries
//! the contact's own unsubscribe headers (bulk) and none of Consento's.
//!
//! This module owns the listener (connections capped, STARTTLS per RFC 3207), the per-token rate
//! limit, and the session ([`session`]: the SMTP dialogue, parsed by `smtp-proto`); [`message`]
//! owns the header block. Logs name messages and copies by id, never an address or a body.

pub mod dkim;
pub mod message;
mod session;
pub mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consento_app::App;
use consento_domain::Action;
use consento_store::Store;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::state::{AppState, TokenCache};

/// Why the relay cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The configuration is not usable (checked when loaded; a configuration built otherwise is
    /// checked here).
    #[error("{0}")]
    Config(String),
    /// The STARTTLS certificate or key cannot be read.
    #[error("relay.tls_cert/tls_key: {0}")]
    Tls(String),
}

/// What every session of the relay shares.
pub struct Relay {
    app: App,
    store: Arc<Store>,
    tokens: Arc<TokenCache>,
    metrics: Arc<Metrics>,
    config: RelayConfig,
    action: Action,
    tls: Option<TlsAcceptor>,
    limiter: TokenLimiter,
    timeout: Duration,
}

impl Relay {
    /// The relay of a server with `state`, configured by its `[relay]`: the STARTTLS
    /// certificate read now, so that a bad one stops the start rather than the first client.
    pub fn new(state: &AppState) -> Result<Self, RelayError> {
        Self::from_parts(
            state.app.clone(),
            Arc::clone(&state.tokens),
            Arc::clone(&state.metrics),
            state.config.relay.clone(),
        )
    }

    /// The relay over these parts: the application (its store), the verified tokens, the
    /// metrics and `[relay]`.
    pub fn from_parts(
        app: App,
        tokens: Arc<TokenCache>,
        metrics: Arc<Metrics>,
        config: RelayConfig,
    ) -> Result<Self, RelayError> {
        let action = config.action().map_err(RelayError::Config)?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(acceptor(cert, key)?),
            (None, None) => None,
            _ => {
                return Err(RelayError::Config(
                    "config: relay.tls_cert: give tls_cert and tls_key together".to_owned(),
                ));
            }
        };
        Ok(Self {
            store: Arc::clone(app.store()),
            app,
            tokens,
            metrics,
            timeout: Duration::from_secs(config.command_timeout_seconds.max(1)),
            config,
            action,
            tls,
            limiter: TokenLimiter::default(),
        })
    }

    /// Accepts connections on `listener` until `stop` turns true, each served by a session of
    /// its own; past `max_connections` a client is answered 421 and closed (RFC 5321 §3.8).
    /// Once stopped, sessions under way are told 421 at their next read and waited for.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(
            usize::try_from(self.config.max_connections.max(1)).unwrap_or(usize::MAX),
        ));
        let mut sessions = JoinSet::new();
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "relay listening");
        }
        loop {
            // Finished sessions are reaped as they come, so the set stays small.
            while sessions.try_join_next().is_some() {}
            let accepted = tokio::select! {
                changed = stop.wait_for(|s| *s) => { let _ = changed; break; }
                accepted = listener.accept() => accepted,
            };
            let (mut socket, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "relay: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                sessions.spawn(async move {
                    let _ = socket
                        .write_all(b"421 4.7.0 Too many connections, try again later\r\n")
                        .await;
                    let _ = socket.shutdown().await;
                });
                continue;
            };
            let relay = Arc::clone(&self);
            let stop = stop.clone();
            sessions.spawn(async move {
                let _ = socket.set_nodelay(true);
                relay.connection(socket, peer, stop).await;
                drop(slot);
            });
        }
        while sessions.join_next().await.is_some() {}
        tracing::info!("relay stopped");
    }

    /// Serves one client connection from `peer` until it quits, goes silent or the relay stops:
    /// the greeting, the dialogue, and after STARTTLS the dialogue again over TLS, from a clean
    /// state (RFC 3207 §4.2).
    pub async fn connection<S>(&self, mut stream: S, peer: SocketAddr, stop: watch::Receiver<bool>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let greeting = format!("220 {} ESMTP Consento\r\n", self.config.hostname);
        if stream.write_all(greeting.as_bytes()).await.is_err() {
            return;
        }
        let mut plain = session::Session::new(self, peer, false, stop.clone());
        if plain.run(&mut stream).await != session::End::StartTls {
            let _ = stream.shutdown().await;
            return;
        }
        let Some(acceptor) = &self.tls else {
            return;
        };
        let handshake = tokio::time::timeout(self.timeout, acceptor.accept(stream)).await;
        let Ok(Ok(mut tls)) = handshake else {
            tracing::info!("relay: TLS handshake failed");
            return;
        };
        let mut secured = session::Session::new(self, peer, true, stop);
        secured.run(&mut tls).await;
        let _ = tls.shutdown().await;
    }
}

/// A TLS acceptor with the certificate chain and key of these PEM files (rustls, ring).
fn acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, RelayError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| RelayError::Tls(format!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(RelayError::Tls(format!(
            "{}: no certificate in it",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| RelayError::Tls(format!("{}: {e}", key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| RelayError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| RelayError::Tls(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Messages per token, in fixed one-minute windows. Kept in memory: it slows one runaway CRM on
/// this process; each process of a cluster counts its own.
#[derive(Debug, Default)]
struct TokenLimiter {
    windows: Mutex<HashMap<uuid::Uuid, (Instant, u32)>>,
}

impl TokenLimiter {
    /// Counts a message of `token`; false when it is over `per_minute`.
    fn allow(&self, token: uuid::Uuid, per_minute: u32) -> bool {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = windows.entry(token).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= per_minute
    }
}

/// Starts the relay's listener when `[relay] listen` is set: bound now (a port taken is an
/// error at start), served until `stop`.
pub async fn start(
    state: &AppState,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<(SocketAddr, tokio::task::JoinHandle<()>)>> {
    let Some(listen) = state.config.relay.listen else {
        return Ok(None);
    };
    let relay = Arc::new(Relay::new(state)?);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for the relay on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    Ok(Some((addr, tokio::spawn(relay.serve(listener, stop)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_refuses_a_token_past_its_budget_and_counts_tokens_apart() {
        let l = TokenLimiter::default();
        let (a, b) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        assert!((0..3).all(|_| l.allow(a, 3)));
        assert!(!l.allow(a, 3));
        assert!(l.allow(b, 3));
    }
}
