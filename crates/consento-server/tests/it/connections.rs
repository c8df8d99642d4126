//! HTTP connections over real loopback sockets: a client that sends nothing, or a request's head
//! a byte at a time, or keeps an idle connection, is cut off after its configured timeout; and at
//! most `http.max_connections` are served at once, the next waiting until one closes.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{TestApp, spawn_app_with};

/// Generous: the deadlines under test are a fraction of a second; this only bounds a failure.
const PATIENCE: Duration = Duration::from_secs(10);

async fn app_with(header_read: &str, idle: &str, max_connections: u32) -> TestApp {
    spawn_app_with(false, |c| {
        c.http.header_read_timeout = header_read.to_owned();
        c.http.idle_timeout = idle.to_owned();
        c.http.max_connections = max_connections;
    })
    .await
    .unwrap()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Waits for the server to close `stream` (end of stream or a reset), reading and discarding
/// whatever comes before; fails if it stays open longer than [`PATIENCE`].
async fn closed_by_server(stream: &mut TcpStream) {
    let wait = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("the server kept the connection open");
}

/// One `GET /healthz` on `stream`, kept alive; returns the answer's head.
async fn health_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before answering");
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return head.to_owned();
                }
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("no answer")
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let app = app_with("300ms", "60s", 64).await;
    let mut silent = connect(&app).await;
    closed_by_server(&mut silent).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_request_head_trickled_a_byte_at_a_time_is_cut_off_at_the_header_read_timeout() {
    let app = app_with("500ms", "60s", 64).await;
    let stream = connect(&app).await;
    let (mut reader, mut writer) = stream.into_split();
    // A byte every 100 ms, for ever: the head never ends, the bytes never stop.
    let trickle = tokio::spawn(async move {
        let head = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ";
        for byte in head.iter().chain(std::iter::repeat(&b'a')).take(10_000) {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let wait = async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("the server kept reading a head that never ends");
    trickle.abort();
    app.shutdown().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    // The header deadline is far away: what closes the connection is its idleness.
    let app = app_with("60s", "400ms", 64).await;
    let mut stream = connect(&app).await;
    let head = health_on(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // Kept alive: a second request on the same connection is answered.
    let head = health_on(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    closed_by_server(&mut stream).await;
    app.shutdown().await;
}

#[tokio::test]
async fn beyond_max_connections_a_client_waits_until_one_closes_then_is_served() {
    let app = app_with("60s", "60s", 2).await;
    let first = connect(&app).await;
    let mut second = connect(&app).await;
    // Both are taken: the second's request is answered, so the server holds both.
    assert!(health_on(&mut second).await.starts_with("HTTP/1.1 200"));
    let mut probe = connect(&app).await;
    probe
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), probe.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection was served beyond max_connections = 2: {early:?}"
    );
    drop(first);
    let served = tokio::time::timeout(PATIENCE, probe.read(&mut buf))
        .await
        .expect("the waiting client was not served once a connection closed")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..served]).starts_with("HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..served])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn silent_connections_filling_the_cap_do_not_keep_a_health_probe_out_once_they_time_out() {
    let app = app_with("300ms", "60s", 3).await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(connect(&app).await);
    }
    let (status, _, body) = crate::support::raw_http(
        &app.base,
        b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for mut s in silent {
        closed_by_server(&mut s).await;
    }
    app.shutdown().await;
}
