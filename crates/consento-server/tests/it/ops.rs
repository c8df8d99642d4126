//! `consento serve` as an operator runs it: a separate process configured by environment
//! variables, JSON logs on stderr that carry a request id and no personal data, a clean stop on
//! SIGTERM, and configuration errors that name the key.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::cli::set_up;
use crate::support::Scratch;

/// A `consento serve` process on the scratch database, its stderr kept for reading.
pub(crate) struct Served {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    pub(crate) base: String,
}

pub(crate) fn serve(db: &Scratch, env: &[(&str, &str)]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_consento"));
    command.arg("--database-url").arg(&db.url);
    if let Some(schema) = &db.pg_schema {
        command.arg("--pg-schema").arg(schema);
    }
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("CONSENTO_DATABASE_URL")
        .envs(env.iter().copied())
        .current_dir(&db.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Served {
        child,
        stdout,
        base,
    }
}

impl Served {
    /// Sends SIGTERM and returns the exit status's success and everything logged.
    pub(crate) fn stop(self) -> (bool, String) {
        let (clean, logs, _) = self.stop_with_output();
        (clean, logs)
    }

    /// Sends SIGTERM; returns the exit status's success, everything logged, and the rest of
    /// what was printed on stdout.
    fn stop_with_output(mut self) -> (bool, String, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let mut logs = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        (exit.success(), logs, rest)
    }
}

pub(crate) fn token(db: &Scratch, scope: &str) -> String {
    db.json(&["tokens", "create", "--name", scope, "--scope", scope])["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn logs_are_json_lines_with_a_request_id_and_never_an_email_or_phone_number() {
    let db = Scratch::new();
    set_up(&db);
    let emails = ["Mario.Rossi@Example.it", "giulia.bianchi@example.it"];
    let phones = ["333 123 4567", "+39 347 765 4321"];
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "CRM-1",
        "--name",
        "Mario Rossi",
        "--email",
        emails[0],
        "--phone",
        phones[0],
    ]);
    db.ok(&[
        "contacts",
        "add",
        "--external-id",
        "CRM-2",
        "--name",
        "Giulia Bianchi",
        "--email",
        emails[1],
        "--phone",
        phones[1],
    ]);
    let decide = token(&db, "decide");
    let admin = token(&db, "admin");
    let served = serve(
        &db,
        &[
            ("CONSENTO_LOG_LEVEL", "debug"),
            ("CONSENTO_LOG_FORMAT", "json"),
        ],
    );
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value, t: &str| {
        client
            .post(format!("{}{path}", served.base))
            .bearer_auth(t)
            .json(&body)
            .send()
    };
    // Decisions by email, by phone, in a batch; an unknown address; a malformed body carrying
    // an address; a wrong token; the dialer's GET with the number in the query.
    for e in emails {
        let r = post(
            "/v1/decisions",
            json!({ "contact": { "email": e }, "action": "email.single" }),
            &decide,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    for p in phones {
        let r = post(
            "/v1/decisions",
            json!({ "contact": { "phone": p }, "action": "phone.call" }),
            &decide,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let r = client
            .get(format!("{}/v1/dialer", served.base))
            .query(&[("phone", p)])
            .bearer_auth(&decide)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let batch = json!({ "action": "email.bulk", "recipients": [{ "email": emails[0] }, { "email": "nessuno@example.it" }] });
    assert_eq!(
        post("/v1/decisions/batch", batch, &decide)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        post(
            "/v1/decisions",
            json!({ "contact": { "email": "nessuno@example.it" }, "action": "email.bulk" }),
            &decide
        )
        .await
        .unwrap()
        .status(),
        404
    );
    assert_eq!(
        post(
            "/v1/decisions",
            json!({ "contact": { "email": emails[1] }, "action": "fax" }),
            &decide
        )
        .await
        .unwrap()
        .status(),
        400
    );
    assert_eq!(
        post(
            "/v1/decisions",
            json!({ "contact": { "email": emails[1] }, "action": "email.bulk" }),
            "cns_wrong"
        )
        .await
        .unwrap()
        .status(),
        401
    );
    assert_eq!(
        post(
            "/v1/decisions",
            json!({ "contact": { "email": emails[1] }, "action": "email.bulk" }),
            &admin
        )
        .await
        .unwrap()
        .status(),
        200
    );
    let r = client
        .get(format!("{}/v1/dialer/{}", served.base, "3331234567"))
        .bearer_auth(&decide)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let (clean, logs) = served.stop();
    assert!(clean, "serve did not exit cleanly: {logs}");
    let mut requests = 0;
    for line in logs.lines() {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if entry["fields"]["message"] == "request" {
            requests += 1;
            assert!(
                entry["span"]["request_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "{line}"
            );
            assert!(entry["span"]["route"].is_string(), "{line}");
        }
    }
    assert!(requests >= 12, "{requests} request lines in:\n{logs}");
    assert!(
        logs.contains("\"stopped\""),
        "no clean stop logged:\n{logs}"
    );
    // No address or number in any spelling: as sent, normalised, or as bare digits.
    let lower = logs.to_lowercase();
    for needle in [
        "mario.rossi",
        "giulia.bianchi",
        "nessuno",
        "example.it",
        "@",
        "3331234567",
        "333 123",
        "3477654321",
        "347 765",
        "+39",
        "%2b39",
    ] {
        assert!(
            !lower.contains(needle),
            "the logs contain {needle:?}:\n{logs}"
        );
    }
}

#[test]
fn an_unknown_configuration_key_stops_serve_with_one_line_naming_it() {
    let db = Scratch::new();
    let config = db.dir.join("consento.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlisten_port = 9\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_consento"))
        .args(["--database-url", &db.url, "serve", "--config"])
        .arg(&config)
        .env_remove("CONSENTO_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: config:") && stderr.contains("listen_port"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = Command::new(env!("CARGO_BIN_EXE_consento"))
        .args(["--database-url", &db.url, "serve"])
        .env("CONSENTO_WEBHOOKS__MAX_ATEMPTS", "3")
        .env_remove("CONSENTO_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("max_atempts"), "{stderr}");
}

#[tokio::test]
async fn the_first_start_of_an_empty_database_shows_one_admin_token_once() {
    let db = Scratch::new();
    let mut served = serve(&db, &[]);
    let mut text = String::new();
    for _ in 0..4 {
        served.stdout.read_line(&mut text).unwrap();
    }
    let secret = text
        .split_whitespace()
        .find(|w| w.starts_with("cns_"))
        .unwrap_or_else(|| panic!("no token in {text:?}"))
        .to_owned();
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/v1/settings", served.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (clean, _) = served.stop();
    assert!(clean);
    // Only its hash was kept, and the next start makes none.
    let listed = db.ok(&["tokens", "list"]);
    assert!(
        listed.contains("initial-admin") && !listed.contains(&secret[4..]),
        "{listed}"
    );
    let again = serve(&db, &[]);
    let (clean, _, rest) = again.stop_with_output();
    assert!(clean && !rest.contains("cns_"), "{rest}");
}

/// `public.base_url` unset: links are built on the address the server actually listens on (here
/// a port the system picked), they open there, and the start warns that behind a proxy the
/// public address must be set.
#[tokio::test]
async fn without_a_public_base_url_serve_warns_and_builds_links_that_open_on_its_port() {
    let db = Scratch::new();
    set_up(&db);
    let contact = db.json(&["contacts", "add", "--email", "anna@example.it"]);
    let id = contact["id"].as_str().unwrap().to_owned();
    let write = token(&db, "write");
    let served = serve(&db, &[("CONSENTO_LOG_FORMAT", "json")]);
    let client = reqwest::Client::new();
    let links: Value = client
        .get(format!(
            "{}/v1/contacts/{id}/links?type=NEWSLETTER",
            served.base
        ))
        .bearer_auth(&write)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unsubscribe = links["unsubscribe_url"].as_str().unwrap().to_owned();
    assert!(
        unsubscribe.starts_with(&format!("{}/u/", served.base)),
        "{links}"
    );
    let opened = client.get(&unsubscribe).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    let (clean, logs) = served.stop();
    assert!(clean, "{logs}");
    let warning = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| {
            e["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("public.base_url is not set"))
        })
        .unwrap_or_else(|| panic!("no warning about public.base_url in:\n{logs}"));
    assert_eq!(warning["level"], "WARN");
    assert!(
        warning["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("behind a proxy")
    );
    // The controller is not named on this installation: the start says so too.
    assert!(
        logs.contains("the data controller's details are incomplete"),
        "{logs}"
    );
}
