//! The console in a real browser: headless Chromium driven over WebDriver (W3C) by chromedriver,
//! against the application served on loopback. `.ci/run` installs Debian's `chromium` and
//! `chromium-driver` and sets `CONSENTO_TEST_CHROMEDRIVER`; without a driver on the machine these
//! tests say so and pass, and with the variable set a driver that does not start fails them.
//! Screenshots of the main pages land in `target/screenshots/` (test artifacts, not committed).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session on it.
pub struct Browser {
    driver: String,
    session: String,
    client: reqwest::Client,
    child: Child,
    base: String,
}

fn chromedriver() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CONSENTO_TEST_CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    let default = PathBuf::from("/usr/bin/chromedriver");
    default.exists().then_some(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose language is `accept_language`; `None`
    /// when the machine has no driver (and CI did not ask for one).
    pub async fn start(app: &TestApp, accept_language: &str) -> Option<Self> {
        let Some(path) = chromedriver() else {
            println!("no chromedriver on this machine: browser tests skipped (CI installs one)");
            return None;
        };
        let port = free_port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let driver = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = client.get(format!("{driver}/status")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not answer on {driver}");
        let binary =
            std::env::var("CONSENTO_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": binary,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--window-size=1280,1000", "--no-first-run", "--disable-extensions"],
                    "prefs": { "intl.accept_languages": accept_language }
                }
            }}
        });
        let created: Value = client
            .post(format!("{driver}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        Some(Self {
            driver,
            session,
            client,
            child,
            base: app.base.clone(),
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver, self.session);
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!("webdriver {path}: {error}: {}", answer["value"]["message"]);
        }
        answer["value"].clone()
    }

    /// Opens a path of the application.
    pub async fn open(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The path of the current page.
    pub async fn path(&self) -> String {
        let url = self.call(reqwest::Method::GET, "/url", None).await;
        url.as_str()
            .unwrap()
            .strip_prefix(&self.base)
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector, waiting up to 5 s for it.
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..50 {
            let url = format!("{}/session/{}/element", self.driver, self.session);
            let answer: Value = self
                .client
                .post(url)
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = answer["value"][ELEMENT].as_str() {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = self.source().await;
        panic!("no element {css} on {}:\n{page}", self.path().await);
    }

    /// Whether an element matching `css` is on the page now.
    #[allow(dead_code)] // for scenarios that check an element is gone
    pub async fn has(&self, css: &str) -> bool {
        let url = format!("{}/session/{}/elements", self.driver, self.session);
        let answer: Value = self
            .client
            .post(url)
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["value"].as_array().is_some_and(|a| !a.is_empty())
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Replaces the text of the input matching `css` by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    #[allow(dead_code)] // for scenarios that enter dates
    /// Sets an input's value directly (date inputs take typed digits in the browser's own
    /// order, which differs per locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        self.find(css).await;
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({
                "script": "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change', {bubbles: true}));",
                "args": [css, value]
            })),
        )
        .await;
    }

    /// Picks the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"))
            .await;
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's HTML.
    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves a screenshot as `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates an account with a known password.
async fn account(app: &TestApp, username: &str, role: &str, password: &str) {
    let name = consento_domain::Username::parse(username).unwrap();
    consento_server::web::accounts::create(
        &app.store,
        name.clone(),
        username,
        consento_domain::Role::parse(role).unwrap(),
        &consento_domain::Password::new(password, &name).unwrap(),
        false,
    )
    .await
    .unwrap();
}

async fn sign_in(browser: &Browser, username: &str, password: &str) {
    browser.open("/login").await;
    browser.fill("#username", username).await;
    browser.fill("#password", password).await;
    browser.click("form.stack button[type=submit]").await;
}

#[tokio::test]
async fn in_a_real_browser_a_person_signs_in_switches_language_and_signs_out() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(&app, "it-IT,it").await else {
        return;
    };
    account(&app, "giulia", "admin", "una password lunga abbastanza").await;
    browser.open("/").await;
    assert!(browser.path().await.starts_with("/login"));
    assert_eq!(browser.text("h1").await, "Accedi");
    browser.screenshot("login-it").await;
    sign_in(&browser, "giulia", "una password lunga abbastanza").await;
    assert_eq!(browser.path().await, "/");
    browser.screenshot("dashboard-it").await;
    browser.select("#lang-select", "en").await;
    browser.click("form.lang button").await;
    assert_eq!(browser.text("h1").await, "Dashboard");
    assert!(browser.text(".who").await.contains("Signed in as giulia"));
    browser.screenshot("dashboard-en").await;
    browser.click("form.inline button").await;
    assert!(browser.path().await.starts_with("/login"));
    assert!(browser.text("[role=status]").await.contains("signed out"));
    // Signed out: the dashboard is closed again.
    browser.open("/").await;
    assert!(browser.path().await.starts_with("/login"));
}
