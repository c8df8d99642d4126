//! A tiny SMTP receiver for the tests, on a free loopback port: it speaks enough of RFC 5321
//! (220, EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT) for a real
//! client to hand it messages, keeps what it accepted, and answers the end of DATA as a test
//! scripts it (451 to refuse one message for now, 550 for good).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message the receiver accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body), dots unstuffed.
    pub data: Vec<u8>,
}

impl Received {
    /// The message parsed by a MIME library (the oracle).
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a MIME message")
    }

    /// The message as text (its raw form: headers, boundaries, encoded parts).
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

#[derive(Default)]
struct State {
    got: Mutex<Vec<Received>>,
    /// Answers to give at the end of DATA, in order; then 250.
    script: Mutex<VecDeque<u16>>,
    /// Messages refused so far.
    refused: Mutex<usize>,
}

/// The receiver; it stops with the test's runtime.
pub struct SmtpServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    state: Arc<State>,
}

impl SmtpServer {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, Arc::clone(&shared)));
            }
        });
        Self { port, state }
    }

    /// The next message is answered `code` at the end of DATA (and not kept).
    pub fn refuse_next(&self, code: u16) {
        self.state.script.lock().unwrap().push_back(code);
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// How many messages were refused so far.
    pub fn refused(&self) -> usize {
        *self.state.refused.lock().unwrap()
    }

    /// Waits (up to ten seconds) until `n` messages were accepted; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..500 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "expected {n} messages, the receiver has {}",
            self.messages().len()
        );
    }
}

/// Strips `MAIL FROM:` / `RCPT TO:` and the angle brackets off an address argument.
fn path_of(line: &str, prefix: &str) -> String {
    line[prefix.len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

async fn session(socket: tokio::net::TcpStream, state: Arc<State>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let mut reply = async |text: &str| write.write_all(text.as_bytes()).await.is_ok();
    if !reply("220 test.invalid ESMTP ready\r\n").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let ok = if upper.starts_with("EHLO") {
            reply("250-test.invalid greets you\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await
        } else if upper.starts_with("HELO") {
            reply("250 test.invalid\r\n").await
        } else if upper.starts_with("MAIL FROM:") {
            from = path_of(&command, "MAIL FROM:");
            to.clear();
            reply("250 OK\r\n").await
        } else if upper.starts_with("RCPT TO:") {
            to.push(path_of(&command, "RCPT TO:"));
            reply("250 OK\r\n").await
        } else if upper == "DATA" {
            if !reply("354 end with <CRLF>.<CRLF>\r\n").await {
                return;
            }
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                match lines.read_until(b'\n', &mut l).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if l == b".\r\n" || l == b".\n" {
                    break;
                }
                // RFC 5321 §4.5.2: a leading dot was doubled by the client.
                let l = if l.starts_with(b"..") {
                    &l[1..]
                } else {
                    &l[..]
                };
                data.extend_from_slice(l);
            }
            let scripted = state.script.lock().unwrap().pop_front();
            match scripted {
                Some(code) => {
                    *state.refused.lock().unwrap() += 1;
                    reply(&format!("{code} refused by the test\r\n")).await
                }
                None => {
                    state.got.lock().unwrap().push(Received {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                    });
                    reply("250 OK queued\r\n").await
                }
            }
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            reply("250 OK\r\n").await
        } else if upper == "NOOP" {
            reply("250 OK\r\n").await
        } else if upper == "QUIT" {
            let _ = reply("221 bye\r\n").await;
            return;
        } else {
            reply("502 not implemented\r\n").await
        };
        if !ok {
            return;
        }
    }
}
