//! What the tests share: a scratch database (a SQLite file, or a PostgreSQL schema of its own),
//! the binary run against it, and the application served in process on a free loopback port
//! with a manual clock, plus API tokens of each scope.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use consento_app::tokens::Scope;
use consento_domain::{ManualClock, Timestamp};
use consento_server::config::ServeConfig;
use consento_store::{OsEntropy, Store, StoreConfig};
use serde_json::Value;
use tokio::sync::oneshot;

/// A scratch directory with a database in it (a SQLite file, or a PostgreSQL schema of its own),
/// removed when the test ends.
pub struct Scratch {
    pub dir: PathBuf,
    pub url: String,
    pub pg_schema: Option<String>,
    /// Variables every command of this scratch runs with (`CONSENTO_…` configuration).
    pub env: Vec<(String, String)>,
}

impl Scratch {
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "consento-cli-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite:{}", dir.join("consento.db").display());
        Self {
            dir,
            url,
            pg_schema: None,
            env: Vec::new(),
        }
    }

    /// This scratch, its commands run with `key=value` in their environment.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A scratch schema on the PostgreSQL server of `CONSENTO_TEST_POSTGRES_URL`, if it is set.
    pub fn postgres() -> Option<Self> {
        let url = std::env::var("CONSENTO_TEST_POSTGRES_URL").ok()?;
        let mut db = Self::new();
        let name = db
            .dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('-', "_");
        db.pg_schema = Some(name);
        db.url = url;
        Some(db)
    }

    /// The master key file of this scratch: where the binary run in it finds its key (beside
    /// the SQLite file, or in the working directory for PostgreSQL: both the scratch directory).
    pub fn key_file(&self) -> PathBuf {
        self.dir.join(consento_server::keys::FILE_NAME)
    }

    /// A store configuration for this scratch's database, with its master key (made in
    /// [`Scratch::key_file`] if missing, as the binary would).
    pub fn store_config(&self) -> StoreConfig {
        let config = ServeConfig {
            keys: consento_server::config::KeysConfig {
                master_key_file: Some(self.key_file()),
            },
            ..ServeConfig::default()
        };
        let (key, _) =
            consento_server::keys::master_key(&config, None, &self.url, &|_| None, &OsEntropy)
                .unwrap();
        let mut c = StoreConfig::new(self.url.clone(), key);
        c.pg_schema = self.pg_schema.clone();
        c
    }

    pub fn backend(&self) -> &'static str {
        if self.pg_schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_consento"));
        command.arg("--database-url").arg(&self.url);
        if let Some(schema) = &self.pg_schema {
            command.arg("--pg-schema").arg(schema);
        }
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("CONSENTO_DATABASE_URL")
            .env_remove("CONSENTO_OPERATOR")
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "consento {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must succeed with `--json`; returns the parsed output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Runs a command that must fail; returns its exit code and standard error.
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        assert!(!out.status.success(), "consento {args:?} succeeded");
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(schema) = &self.pg_schema {
            use sqlx::Connection as _;
            let url = self.url.clone();
            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            // On a thread of its own: a drop inside an async test cannot start a runtime.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut c)
                        .await
                        .unwrap();
                });
            })
            .join()
            .unwrap();
        }
    }
}

/// The application served in process, on its own scratch database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The store the server uses (same process, same clock).
    pub store: Arc<Store>,
    /// The clock of the store and the server; starts at the real now.
    pub clock: Arc<ManualClock>,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// One token secret per scope: admin, write, read, decide, relay.
    pub tokens: std::collections::HashMap<&'static str, String>,
    /// The scratch database (dropped last).
    pub db: Scratch,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Starts the application on SQLite (or on PostgreSQL when `postgres` and the server is
/// configured), with `adjust` applied to the default configuration.
pub async fn spawn_app_with(
    postgres: bool,
    adjust: impl FnOnce(&mut ServeConfig),
) -> Option<TestApp> {
    let db = if postgres {
        Scratch::postgres()?
    } else {
        Scratch::new()
    };
    Some(spawn_on(db, None, adjust).await)
}

/// Starts the application on `db`, with the tokens already made there (or new ones of each
/// scope when `None`).
async fn spawn_on(
    db: Scratch,
    tokens: Option<std::collections::HashMap<&'static str, String>>,
    adjust: impl FnOnce(&mut ServeConfig),
) -> TestApp {
    // A port chosen here, so that the public base URL (links in emails, List-Unsubscribe) can
    // name it before the server starts.
    let port = free_port();
    let mut config = ServeConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        public: consento_server::config::PublicConfig {
            base_url: format!("http://127.0.0.1:{port}"),
            ..Default::default()
        },
        database_url: db.url.clone(),
        pg_schema: db.pg_schema.clone(),
        sqlite_full_sync: false,
        shutdown_grace_seconds: 5,
        ..ServeConfig::default()
    };
    adjust(&mut config);
    let clock = Arc::new(ManualClock::new(real_now()));
    let mut store_config = db.store_config();
    store_config.pg_schema = config.pg_schema.clone();
    store_config.sqlite_full_sync = config.sqlite_full_sync;
    let store = Arc::new(
        Store::open(&store_config, clock.clone(), Arc::new(OsEntropy))
            .await
            .unwrap(),
    );
    let tokens = match tokens {
        Some(tokens) => tokens,
        None => {
            let mut tokens = std::collections::HashMap::new();
            for scope in Scope::ALL {
                let (_, secret) = store
                    .create_token(
                        &format!("test-{}", scope.as_str()),
                        &[scope.as_str().to_owned()],
                        None,
                        None,
                    )
                    .await
                    .unwrap();
                tokens.insert(scope.as_str(), secret);
            }
            tokens
        }
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (addr_tx, addr_rx) = oneshot::channel();
    let handle = tokio::spawn(consento_server::serve::run(
        config,
        Arc::clone(&store),
        async move {
            let _ = stop_rx.await;
        },
        move |addr| {
            let _ = addr_tx.send(addr);
        },
    ));
    let addr = addr_rx.await.unwrap();
    TestApp {
        base: format!("http://{addr}"),
        store,
        clock,
        client: reqwest::Client::new(),
        tokens,
        db,
        stop: Some(stop_tx),
        handle: Some(handle),
    }
}

/// A loopback port free when asked (for a listener the test must name before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the application on SQLite with the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(false, |_| {}).await.unwrap()
}

impl TestApp {
    /// Moves the clock on to the next instant a telemarketing call may be placed in Rome (it
    /// stays if one may be now), for a test about consents that the calling hours must not
    /// decide whatever the hour it runs at.
    pub fn in_calling_hours(&self) {
        use consento_domain::Clock as _;
        let now = self.clock.now();
        let calendar = consento_domain::requests::HolidayCalendar::italy();
        if let Some(next) =
            consento_domain::calling_hours::CallingWindows::default().next_allowed(&calendar, now)
        {
            self.clock.set(next);
        }
    }

    /// Records the opt-out register's answer that `numbers` (E.164) are not enrolled, answered
    /// now: their telemarketing calls then depend on consents alone for 15 days.
    pub async fn checked_against_the_register(&self, numbers: &[&str]) {
        use consento_domain::Clock as _;
        self.register_answer(self.clock.now(), &[], numbers).await;
    }

    /// Records the opt-out register's answer given at `answered_at` (valid 15 days) about
    /// `enrolled` and `not_enrolled` numbers (E.164), as `consento rpo import` does.
    pub async fn register_answer(
        &self,
        answered_at: Timestamp,
        enrolled: &[&str],
        not_enrolled: &[&str],
    ) -> consento_store::RpoImportReport {
        let list = |l: &[&str]| l.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
        self.store
            .import_rpo_answer(
                consento_store::NewRpoCheck {
                    answered_at,
                    valid_until: answered_at.plus_days(15),
                    file_name: "esito.csv".into(),
                    file_sha256: [1; 32],
                    answer_mode: "enrolled",
                    imported_by: "test".into(),
                },
                &list(enrolled),
                &list(not_enrolled),
            )
            .await
            .unwrap()
    }

    /// The token secret of `scope` (`admin`, `write`, `read`, `decide`).
    pub fn token(&self, scope: &str) -> &str {
        &self.tokens[scope]
    }

    /// A request to `path` with the token of `scope`.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        scope: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token(scope))
    }

    /// GETs `path` as `scope`; returns the status and the JSON body (Null if none).
    pub async fn get(&self, path: &str, scope: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::GET, path, scope)).await
    }

    /// Sends `body` as JSON with `method` to `path` as `scope`.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        scope: &str,
        body: &Value,
    ) -> (u16, Value) {
        send(self.request(method, path, scope).json(body)).await
    }

    /// POSTs `body` as JSON to `path` as `scope`.
    pub async fn post(&self, path: &str, scope: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, scope, body).await
    }

    /// Stops the server as a signal would, waits for it to finish, and starts it again on the
    /// same database (same tokens) with `adjust` applied to the default configuration.
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut ServeConfig)) -> TestApp {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
        let TestApp {
            db, tokens, store, ..
        } = self;
        drop(store);
        spawn_on(db, Some(tokens), adjust).await
    }

    /// Stops the server as a signal would and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }
}

/// Sends a request; returns the status and the JSON body (Null when empty or not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Now, from the system clock.
pub fn real_now() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    Timestamp::from_micros(i64::try_from(micros).unwrap())
}

/// A browser-like client of the console: keeps its cookies, does not follow redirects, and
/// sends every form with the CSRF token its session calls for.
pub struct Console {
    pub base: String,
    client: reqwest::Client,
    cookies: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

/// A console answer: status, `Location` (for redirects) and body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Console {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// The CSRF token the console expects from this client's forms.
    pub fn csrf(&self) -> String {
        use consento_server::web::session::{PRESESSION_COOKIE, SESSION_COOKIE, csrf_token};
        self.cookie(SESSION_COOKIE)
            .or_else(|| self.cookie(PRESESSION_COOKIE))
            .map(|s| csrf_token(&s))
            .unwrap_or_default()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let header: String = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if header.is_empty() {
            request
        } else {
            request.header("cookie", header)
        };
        let response = request.send().await.unwrap();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let mut cookies = self.cookies.lock().unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: response.text().await.unwrap(),
        }
    }

    /// GET with exactly this Cookie header (replaying a stolen or old cookie).
    pub async fn send_with_cookie(&self, path: &str, cookie: &str) -> Page {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .header("cookie", cookie),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// GET with an Accept-Language header.
    pub async fn get_in(&self, path: &str, accept_language: &str) -> Page {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .header("accept-language", accept_language),
        )
        .await
    }

    /// POSTs a form with this client's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf".to_owned(), self.csrf())];
        all.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.post_raw(path, &all).await
    }

    /// POSTs a form with this client's CSRF token added and these extra headers.
    pub async fn post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut all = vec![("csrf".to_owned(), self.csrf())];
        all.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut request = self.client.post(format!("{}{path}", self.base)).form(&all);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// The `Cookie` header this client sends, for a request written by hand.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// POSTs a form with this client's token, as if sent from a page of `origin`.
    pub async fn post_from(&self, origin: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf".to_owned(), self.csrf())];
        all.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("origin", origin)
                .form(&all),
        )
        .await
    }

    /// POSTs exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(String, String)]) -> Page {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .form(fields),
        )
        .await
    }

    /// POSTs a multipart form (a file upload) with this client's token in the URL, as the
    /// console's upload form does: `fields` as text parts, then `file` as (field, file name, bytes).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Page {
        self.multipart(&format!("{path}?csrf={}", self.csrf()), fields, file)
            .await
    }

    /// POSTs a multipart form to `path` exactly as given (no CSRF token added).
    pub async fn multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Page {
        self.multipart_files(path, fields, &[file]).await
    }

    /// POSTs a multipart form with several files (field, file name, bytes) and this client's
    /// token in the URL, as the console's upload forms do.
    pub async fn post_files(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        self.multipart_files(&format!("{path}?csrf={}", self.csrf()), fields, files)
            .await
    }

    async fn multipart_files(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        let boundary = "consento-test-boundary-7d1f";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (field, name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
        .await
    }

    /// Signs in (after fetching the login form for its pre-session cookie); panics on failure.
    pub async fn login(&self, username: &str, password: &str) {
        self.get("/login").await;
        let page = self
            .post(
                "/login",
                &[
                    ("username", username),
                    ("password", password),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "login failed: {}", page.body);
    }
}

impl TestApp {
    /// Creates a console account with `role` and a known password, and a client signed in as it.
    pub async fn console_as(&self, role: &str) -> Console {
        let username = format!("{role}-user");
        let password = "a long test password";
        let name = consento_domain::Username::parse(&username).unwrap();
        consento_app::accounts::create(
            &self.store,
            name.clone(),
            &format!("Test {role}"),
            consento_domain::Role::parse(role).unwrap(),
            &consento_domain::Password::new(password, &name).unwrap(),
            false,
        )
        .await
        .unwrap();
        let console = Console::new(&self.base);
        console.login(&username, password).await;
        console
    }
}

/// Sends `request` as written on a fresh connection to `base` (`http://host:port`) and reads one
/// answer: its head and a body of its `Content-Length` (or up to the end of the connection).
/// Fails if no whole answer comes within ten seconds.
pub async fn raw_http(base: &str, request: &[u8]) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                });
                if length.is_some_and(|len| body.len() >= len) || n == 0 {
                    let status = head
                        .split(' ')
                        .nth(1)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    return (status, head.to_owned(), body.to_owned());
                }
            }
            assert!(n > 0, "the connection closed without an answer: {text:?}");
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("no answer within ten seconds")
}

/// A `consento serve` process of a test, killed if the test ends without [`terminate`] (a failed
/// assertion must not leave it running).
pub struct Serving(Option<std::process::Child>);

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `consento serve` process on a PostgreSQL scratch schema, with a fast-polling webhook worker,
/// run in the scratch directory (where its master key file is);
/// returns once it listens, with its base URL (`http://…`).
pub fn serve(url: &str, schema: &str, dir: &std::path::Path) -> (Serving, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_consento"))
        .args(["--database-url", url])
        .args(["--pg-schema", schema])
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("CONSENTO_DATABASE_URL")
        .env_remove("CONSENTO_PG_SCHEMA")
        .env("CONSENTO_LOG_LEVEL", "warn")
        .env("CONSENTO_WEBHOOKS__POLL_INTERVAL_MS", "10")
        .env("CONSENTO_WEBHOOKS__BATCH_SIZE", "3")
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on"), "{line}");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    (Serving(Some(child)), base)
}

/// Sends SIGTERM and waits for a clean exit.
pub fn terminate(mut serving: Serving) {
    let Some(mut child) = serving.0.take() else {
        return;
    };
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "consento serve exited with {status}");
            return;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("consento serve did not stop on SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
