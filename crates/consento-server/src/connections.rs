//! The HTTP connections: accepted up to a cap, each with a deadline for its request's head and
//! one for its idle keep-alive wait, and drained on shutdown.
//!
//! A connection is in one of three phases. Reading a head: from the connection's opening, or
//! from the first byte of the next request on a kept-alive connection, the whole head must
//! arrive within `http.header_read_timeout` (a client sending nothing, or a byte a second,
//! cannot hold it). Busy: a request is being handled or its response written; no deadline here
//! (a slow export has its own). Idle: after a response, the next request must start within
//! `http.idle_timeout`. Past a deadline the connection is closed.
//!
//! At most `http.max_connections` connections are served at once: the next one is accepted only
//! when one closes, so further clients wait in the listening socket's backlog, unread.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The limits every connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a request's head may take to arrive.
    pub header_read: Duration,
    /// The longest a kept-alive connection may wait for its next request.
    pub idle: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `stop` turns true; then stops accepting, lets each
/// connection finish the request it is serving (an idle one closes at once), and returns when
/// every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Every connection holds a receiver; when the last is dropped, `open_tx.closed()` resolves.
    let (open_tx, open_rx) = watch::channel(());
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            connection(stream, peer, app, limits, stop, permit).await;
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    open_tx.closed().await;
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A failed accept: a connection reset before it was taken is nothing; anything else (out of
/// file descriptors) is logged and waited out, so that the loop does not spin.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection until it closes, is past a deadline, or is drained by `stop`.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let watchdog = Arc::new(Watchdog::new(limits));
    let io = TokioIo::new(Watched {
        inner: stream,
        watchdog: Arc::clone(&watchdog),
    });
    let busy_on = Arc::clone(&watchdog);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let busy = Busy::start(Arc::clone(&busy_on));
        // The peer address, for the one place that decides the client's (`crate::client`).
        request.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await?;
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                Body::new(Tracked {
                    inner: body,
                    _busy: busy,
                })
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The deadlines are the watchdog's: hyper's own header timer also runs while a kept-alive
    // connection is idle, so it cannot tell the two apart.
    builder.header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            () = stopped(&mut stop), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            // Dropping the connection closes the socket.
            () = watchdog.expired() => break,
        }
    }
}

/// Where a connection stands, and until when it may stay so.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Reading a request's head, which must be complete by then.
    Head(Instant),
    /// Serving this many requests (a response still being written counts).
    Busy(u32),
    /// Waiting for the next request, which must start by then.
    Idle(Instant),
}

/// A connection's phase and its deadline.
struct Watchdog {
    phase: Mutex<Phase>,
    changed: Notify,
    limits: Limits,
}

impl Watchdog {
    fn new(limits: Limits) -> Self {
        Self {
            phase: Mutex::new(Phase::Head(Instant::now() + limits.header_read)),
            changed: Notify::new(),
            limits,
        }
    }

    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        if let Ok(mut phase) = self.phase.lock() {
            *phase = change(*phase);
        }
        self.changed.notify_one();
    }

    /// Bytes arrived: on an idle connection, the next request's head has begun.
    fn read(&self) {
        let idle = matches!(self.phase(), Some(Phase::Idle(_)));
        if idle {
            let deadline = Instant::now() + self.limits.header_read;
            self.update(|phase| match phase {
                Phase::Idle(_) => Phase::Head(deadline),
                other => other,
            });
        }
    }

    fn phase(&self) -> Option<Phase> {
        self.phase.lock().ok().map(|phase| *phase)
    }

    /// Resolves once the connection is past its phase's deadline.
    async fn expired(&self) {
        loop {
            let Some(phase) = self.phase() else {
                // A poisoned lock: no deadline can be known; the connection is left to the
                // client.
                return std::future::pending().await;
            };
            let deadline = match phase {
                Phase::Head(at) | Phase::Idle(at) => Some(at),
                Phase::Busy(_) => None,
            };
            match deadline {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {
                            let now = Instant::now();
                            let past = self.phase().is_some_and(|phase| match phase {
                                Phase::Head(at) | Phase::Idle(at) => at <= now,
                                Phase::Busy(_) => false,
                            });
                            if past {
                                return;
                            }
                        }
                        () = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// A request being served; when the last one's response has been written (its body dropped),
/// the connection is idle.
struct Busy(Arc<Watchdog>);

impl Busy {
    fn start(watchdog: Arc<Watchdog>) -> Self {
        watchdog.update(|phase| match phase {
            Phase::Busy(n) => Phase::Busy(n.saturating_add(1)),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        });
        Self(watchdog)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let idle_until = Instant::now() + self.0.limits.idle;
        self.0.update(|phase| match phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(idle_until),
        });
    }
}

/// A response body that keeps its request [`Busy`] until hyper has written it and drops it.
struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, telling the watchdog when bytes arrive.
struct Watched {
    inner: TcpStream,
    watchdog: Arc<Watchdog>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.watchdog.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
