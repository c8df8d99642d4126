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

    /// Clicks the element matching `css` and waits until the page it leads to has loaded (a
    /// marker set on the old page is gone and the new one is complete).
    pub async fn click_and_wait(&self, css: &str) {
        self.script("window.__consentoOldPage = true;").await;
        self.click(css).await;
        for _ in 0..100 {
            let state = self
                .script("return window.__consentoOldPage ? 'old' : document.readyState;")
                .await;
            if state == "complete" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {css} did not lead to a new page");
    }

    async fn script(&self, source: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": source, "args": [] })),
        )
        .await
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

    /// Resizes the window (a phone is about 390 × 844 CSS pixels).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// The form fields of the current page a person cannot tell apart without seeing them: no
    /// `<label>`, no `aria-label`, no `aria-labelledby` (WCAG 2.2, 1.3.1 and 4.1.2).
    pub async fn unlabelled_fields(&self) -> Vec<String> {
        let found = self
            .script(
                "return [...document.querySelectorAll('input, select, textarea')]\
                 .filter(e => e.type !== 'hidden')\
                 .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))\
                 .map(e => e.outerHTML);",
            )
            .await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
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
    consento_app::accounts::create(
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
    browser
        .click_and_wait("form.stack button[type=submit]")
        .await;
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
    // The controller has no name yet: the administrator is asked for it first.
    assert!(
        browser
            .path()
            .await
            .starts_with("/setup/controller?first=1"),
        "{}",
        browser.path().await
    );
    assert!(browser.has("#first-run").await);
    let unlabelled = browser.unlabelled_fields().await;
    assert!(unlabelled.is_empty(), "first-run page: {unlabelled:?}");
    browser.screenshot("first-run-it").await;
    browser.fill("#name", "Rossi Caldaie S.r.l.").await;
    browser.fill("#address", "Via Roma 1, 20100 Milano").await;
    browser.fill("#email", "privacy@rossicaldaie.example").await;
    browser
        .fill("#dpo_contact", "dpo@rossicaldaie.example")
        .await;
    browser
        .fill(
            "#privacy_notice_url",
            "https://rossicaldaie.example/privacy",
        )
        .await;
    browser
        .click_and_wait("#controller-form button[type=submit]")
        .await;
    assert_eq!(browser.path().await, "/?done=setup-controller-saved");
    assert!(!browser.has("#controller-missing").await);
    browser.screenshot("dashboard-it").await;
    browser.select("#lang-select", "en").await;
    browser.click_and_wait("form.lang button").await;
    assert_eq!(browser.text("h1").await, "Dashboard");
    assert!(browser.text(".who").await.contains("Signed in as giulia"));
    browser.screenshot("dashboard-en").await;
    browser.click_and_wait("form.inline button").await;
    assert!(browser.path().await.starts_with("/login"));
    assert!(browser.text("[role=status]").await.contains("signed out"));
    // Signed out: the dashboard is closed again.
    browser.open("/").await;
    assert!(browser.path().await.starts_with("/login"));
}

/// The seed's day at work, in a real browser: the administrator sets up a consent type and a
/// reason; an operator records a consent with its date, calls someone without consent and
/// justifies it in the pop-up, and sees the newsletter count drop after a withdrawal; then
/// switches language.
#[tokio::test]
async fn in_a_real_browser_an_administrator_sets_up_and_an_operator_works_a_day() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(&app, "it-IT,it").await else {
        return;
    };
    account(&app, "giulia", "admin", "una password lunga abbastanza").await;
    account(&app, "marco", "operator", "another long password").await;

    // The administrator: a consent type with the seed's fields, and a contact reason.
    sign_in(&browser, "giulia", "una password lunga abbastanza").await;
    browser.open("/setup/types/new").await;
    browser.fill("#title", "Newsletter mensile").await;
    browser.fill("#code", "NEWS").await;
    browser
        .fill("#description", "Offerte e novità, una volta al mese")
        .await;
    browser.fill("#validity_days", "365").await;
    browser.click("#permit-email-bulk").await;
    browser.click("#permit-email-single").await;
    browser.screenshot("setup-type-form").await;
    browser
        .click_and_wait("form.stack button[type=submit]")
        .await;
    assert!(browser.path().await.starts_with("/setup/types"));
    assert!(browser.source().await.contains("NEWS"));
    browser.screenshot("setup-types").await;
    browser.open("/setup/reasons").await;
    browser.fill("#label", "Richiesta del cliente").await;
    browser
        .click_and_wait("form.stack.card button[type=submit]")
        .await;
    let reasons = browser.source().await;
    assert!(reasons.contains("Richiesta del cliente"), "{reasons}");
    browser.screenshot("setup-reasons").await;
    for path in [
        "/setup/controller",
        "/setup/privacy",
        "/setup/types/new",
        "/setup/types/NEWS",
        "/setup/reasons",
        "/setup/notices",
        "/setup/users",
        "/audit",
    ] {
        browser.open(path).await;
        let unlabelled = browser.unlabelled_fields().await;
        assert!(unlabelled.is_empty(), "{path}: {unlabelled:?}");
    }
    browser.screenshot("audit").await;
    browser.click_and_wait("form.inline button").await;

    // The operator: a new contact, a consent ticked with the date it was given.
    sign_in(&browser, "marco", "another long password").await;
    browser.open("/contacts/new").await;
    browser.fill("#name", "Mario Rossi").await;
    browser.fill("#emails", "mario.rossi@example.it").await;
    browser.fill("#phones", "333 123 4567").await;
    browser.click_and_wait("#save-contact").await;
    let card = browser.path().await;
    assert!(card.starts_with("/contacts/"), "{card}");
    let card = card.split('?').next().unwrap_or_default().to_owned();
    let given = consento_domain::Zone::rome()
        .date_of(app.store.now())
        .unwrap()
        .to_string();
    let given = format!("{}-03", &given[..7]);
    browser.click("#consent-NEWS").await;
    browser.set_value("#date-NEWS", &given).await;
    browser.select("#method", "paper").await;
    browser.click_and_wait("#save-consents").await;
    browser.screenshot("contact-card").await;
    let state = browser.text("#row-NEWS").await;
    assert!(
        state.contains(" 3 "),
        "the card shows the date the consent was given: {state}"
    );

    // A call without a consent that permits it: the reason pop-up, then the history.
    browser.click_and_wait("#moment-phone").await;
    assert!(browser.has("#justify-dialog").await);
    browser.screenshot("justify-dialog").await;
    let value = browser
        .script("return [...document.querySelectorAll('#reason option')].map(o => o.value).filter(v => v)[0];")
        .await;
    browser.select("#reason", value.as_str().unwrap()).await;
    browser
        .fill("#note", "Ha chiesto di essere richiamato")
        .await;
    browser.click_and_wait("#justify-submit").await;
    assert!(!browser.has("#justify-dialog").await, "the pop-up closed");
    let history = browser.text("#history").await;
    assert!(history.contains("Richiesta del cliente"), "{history}");
    browser.screenshot("contact-history").await;

    // The newsletter count drops after a withdrawal.
    browser.open("/newsletter").await;
    browser.select("#type", "NEWS").await;
    browser
        .click_and_wait("form[action=\"/newsletter\"] button")
        .await;
    assert_eq!(browser.text("#eligible").await.trim(), "1");
    browser.screenshot("newsletter").await;
    browser.open(&card).await;
    browser.click("#consent-NEWS").await;
    browser.select("#method", "phone").await;
    browser.click_and_wait("#save-consents").await;
    browser.click_and_wait("#confirm-withdraw").await;
    browser.open("/newsletter?type=NEWS").await;
    assert_eq!(browser.text("#eligible").await.trim(), "0");

    // And in English.
    browser.select("#lang-select", "en").await;
    browser.click_and_wait("form.lang button").await;
    assert_eq!(browser.text("h1").await, "Newsletter");
    browser.open(&card).await;
    assert!(
        browser
            .text("#history")
            .await
            .contains("Richiesta del cliente")
    );
    browser.screenshot("contact-card-en").await;
    browser.resize(390, 844).await;
    browser.screenshot("contact-card-phone").await;
    browser.resize(1280, 1000).await;
    browser.open("/").await;
    browser.screenshot("dashboard").await;

    // Every field of every page visited here has a label.
    for path in [
        "/",
        "/contacts",
        "/contacts/new",
        &card,
        "/newsletter",
        "/account/password",
    ] {
        browser.open(path).await;
        let unlabelled = browser.unlabelled_fields().await;
        assert!(unlabelled.is_empty(), "{path}: {unlabelled:?}");
    }
}

/// The person's side, in a real browser and without an account: the unsubscribe link from an
/// email (opening it changes nothing; the button does), then the preference center, where email
/// is switched off.
#[tokio::test]
async fn in_a_real_browser_a_person_unsubscribes_and_switches_email_off_without_an_account() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(&app, "it-IT,it").await else {
        return;
    };
    let news = consento_domain::ConsentTypeSpec {
        title: "Newsletter mensile".into(),
        code: consento_domain::ConsentCode::parse("NEWS").unwrap(),
        description: None,
        validity_days: Some(365),
        permissions: consento_domain::Permissions {
            email_bulk: true,
            ..Default::default()
        },
        show_in_preference_center: true,
        purpose: Default::default(),
    };
    app.store.create_consent_type(news).await.unwrap();
    let person = app
        .store
        .create_contact(consento_store::ContactInput {
            name: Some("Lucia Verdi".into()),
            emails: vec!["lucia@example.it".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let r = consento_store::ContactRef::Id(person.id);
    app.store
        .record_consent(consento_store::ConsentEventInput {
            contact: r.clone(),
            type_code: "NEWS".into(),
            kind: consento_domain::EventKind::Given,
            event_time: None,
            method: consento_domain::CollectionMethod::Form,
            evidence: None,
            notice_version: None,
            actor: consento_domain::Actor::new(consento_domain::ActorKind::System, "").unwrap(),
        })
        .await
        .unwrap();
    let (_, links) = app
        .get(
            &format!("/v1/contacts/{}/links?type=NEWS", person.id),
            "write",
        )
        .await;
    let unsubscribe = links["unsubscribe_url"].as_str().unwrap();
    let path = unsubscribe.strip_prefix(&app.base).unwrap();
    browser.open(path).await;
    assert!(
        browser
            .text("#unsubscribe-question")
            .await
            .contains("Newsletter mensile")
    );
    browser.screenshot("public-unsubscribe").await;
    let valid = |app: &TestApp| {
        let store = app.store.clone();
        let r = r.clone();
        async move {
            store
                .current_consents(&r)
                .await
                .unwrap()
                .iter()
                .any(|c| c.valid)
        }
    };
    assert!(valid(&app).await, "opening the link changed nothing");
    browser.click_and_wait("#unsubscribe").await;
    assert!(browser.has("#unsubscribed").await);
    assert!(!valid(&app).await);
    browser.click_and_wait("#preferences-link").await;
    assert!(browser.path().await.starts_with("/p/"));
    browser.click_and_wait("#channel-email button").await;
    assert!(browser.text("#channel-email").await.contains("Disattivato"));
    browser.screenshot("public-preferences").await;
    let unlabelled = browser.unlabelled_fields().await;
    assert!(unlabelled.is_empty(), "{unlabelled:?}");
    let contact = app.store.contact(&r).await.unwrap();
    assert!(contact.email_off_at.is_some());
}

/// The DPO's side, in a real browser: from a contact's card a restriction request is logged for
/// them, started and completed, and the card then shows the restriction in its history; every
/// page of the rights (requests, bulk rules, imports, retention, the erasure confirmation) has a
/// label on every field.
#[tokio::test]
async fn in_a_real_browser_the_dpo_serves_a_restriction_request_from_the_contact_card() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(&app, "it-IT,it").await else {
        return;
    };
    account(&app, "daniela", "dpo", "una password lunga abbastanza").await;
    let contact = app
        .store
        .create_contact(consento_store::ContactInput {
            name: Some("Paolo Verdi".into()),
            emails: vec!["paolo.verdi@example.it".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let card = format!("/contacts/{}", contact.id);
    sign_in(&browser, "daniela", "una password lunga abbastanza").await;
    browser.open(&card).await;
    browser.click_and_wait("#log-request").await;
    assert!(
        browser
            .source()
            .await
            .contains(&format!(r#"name="contact" value="{}""#, contact.id)),
        "the form is filled in for the person"
    );
    browser.select("#kind", "restriction").await;
    browser.select("#channel", "letter").await;
    browser.screenshot("request-new").await;
    browser
        .click_and_wait("#new-request button[type=submit]")
        .await;
    let request = browser.path().await;
    assert!(request.starts_with("/requests/"), "{request}");
    browser
        .click_and_wait("form:has(input[name=to][value=in_progress]) button")
        .await;
    assert!(browser.has("#complete-effect").await);
    browser.screenshot("request-restriction").await;
    browser
        .click_and_wait("#complete button[type=submit]")
        .await;
    let after = app
        .store
        .contact(&consento_store::ContactRef::Id(contact.id))
        .await
        .unwrap();
    assert!(
        after.restricted_at.is_some(),
        "completing the request restricted the contact"
    );
    browser.open(&card).await;
    assert!(
        browser
            .source()
            .await
            .contains("Trattamento limitato (art. 18 GDPR)"),
        "the card's history shows it"
    );
    browser.screenshot("contact-card-restricted").await;

    let request = request.split('?').next().unwrap_or_default().to_owned();
    let erase = format!("{card}/erase");
    for (path, shot) in [
        ("/requests", "requests"),
        (request.as_str(), "request-completed"),
        ("/rules", "rules"),
        ("/imports", "imports"),
        ("/retention", "retention"),
        (erase.as_str(), "erase-confirm"),
    ] {
        browser.open(path).await;
        let unlabelled = browser.unlabelled_fields().await;
        assert!(unlabelled.is_empty(), "{path}: {unlabelled:?}");
        browser.screenshot(shot).await;
    }
}

/// Where an element is, against the viewport: (top, bottom, the viewport's height).
async fn placement(browser: &Browser, css: &str) -> (f64, f64, f64) {
    browser.find(css).await;
    let rect = browser
        .script(&format!(
            "const r = document.querySelector('{css}').getBoundingClientRect(); \
             return [r.top, r.bottom, window.innerHeight];"
        ))
        .await;
    let n = |i: usize| rect[i].as_f64().unwrap();
    (n(0), n(1), n(2))
}

/// Asserts that the element matching `css` is wholly inside the viewport, without scrolling.
async fn assert_in_view(browser: &Browser, css: &str, at: &str) {
    let (top, bottom, height) = placement(browser, css).await;
    assert!(
        top >= 0.0 && bottom <= height,
        "{at}: {css} is at {top}..{bottom}, the viewport is 0..{height} high"
    );
}

/// Asserts that the page does not scroll sideways: every long value wraps inside it.
async fn assert_no_sideways_scroll(browser: &Browser, at: &str) {
    let widths = browser
        .script("return [document.documentElement.scrollWidth, window.innerWidth];")
        .await;
    let (scroll, inner) = (widths[0].as_f64().unwrap(), widths[1].as_f64().unwrap());
    assert!(
        scroll <= inner,
        "{at}: the page is {scroll} px wide in a {inner} px window"
    );
}

/// The contact moment's answer, the reason pop-up and the confirmation after justifying are
/// where the operator clicked, on a laptop (1,366 × 768) and on a phone (390 × 844); the card
/// and the audit trail, with long values in them (a proof with no spaces, a browser's user
/// agent, a long source), never scroll sideways.
#[tokio::test]
async fn in_a_real_browser_a_contact_moments_answer_is_in_view_and_long_values_wrap_on_a_laptop_and_a_phone()
 {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(&app, "it-IT,it").await else {
        return;
    };
    account(&app, "marco", "admin", "another long password").await;
    for (code, title, permissions) in [
        (
            "NEWS",
            "Newsletter mensile",
            consento_domain::Permissions {
                email_bulk: true,
                email_single: true,
                ..Default::default()
            },
        ),
        (
            "TEL",
            "Offerte al telefono",
            consento_domain::Permissions {
                phone_call: true,
                ..Default::default()
            },
        ),
    ] {
        app.store
            .create_consent_type(consento_domain::ConsentTypeSpec {
                title: title.into(),
                code: consento_domain::ConsentCode::parse(code).unwrap(),
                description: None,
                validity_days: Some(365),
                permissions,
                show_in_preference_center: true,
                purpose: Default::default(),
            })
            .await
            .unwrap();
    }
    app.store
        .create_reason("Richiesta del cliente", false)
        .await
        .unwrap();
    let long = "x".repeat(300);
    let person = app
        .store
        .create_contact(consento_store::ContactInput {
            name: Some("Mario Rossi".into()),
            emails: vec!["mario.rossi.con.un.indirizzo.molto.lungo.davvero@example.it".into()],
            phones: vec!["333 123 4567".into()],
            source: Some(format!("fiera-{}", "x".repeat(150))),
            ..Default::default()
        })
        .await
        .unwrap();
    let r = consento_store::ContactRef::Id(person.id);
    let proofs = [
        format!("modulo-{long}"),
        format!(
            r#"{{"page":"preferences","at":"2026-03-01T10:00:00Z","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) {long}","ip":"203.0.113.0/24","link_key":1}}"#
        ),
    ];
    for evidence in proofs {
        app.store
            .record_consent(consento_store::ConsentEventInput {
                contact: r.clone(),
                type_code: "NEWS".into(),
                kind: consento_domain::EventKind::Given,
                event_time: None,
                method: consento_domain::CollectionMethod::Paper,
                evidence: Some(evidence),
                notice_version: None,
                actor: consento_domain::Actor::new(consento_domain::ActorKind::System, "").unwrap(),
            })
            .await
            .unwrap();
    }
    let card = format!("/contacts/{}", person.id);
    sign_in(&browser, "marco", "another long password").await;

    for (width, height, size) in [(1366, 768, "laptop"), (390, 844, "phone")] {
        browser.resize(width, height).await;
        // Allowed: the newsletter's consent permits a single email.
        browser.open(&card).await;
        browser.click_and_wait("#moment-email").await;
        assert!(browser.text("#moment-result").await.contains("Email"));
        assert_in_view(&browser, "#moment-result", &format!("{size}, email")).await;
        browser.screenshot(&format!("moment-allowed-{size}")).await;
        // No consent permits a call: the reason pop-up, then the confirmation.
        browser.click_and_wait("#moment-phone").await;
        assert_in_view(&browser, "#justify-dialog", &format!("{size}, call")).await;
        browser.screenshot(&format!("moment-dialog-{size}")).await;
        let value = browser
            .script("return [...document.querySelectorAll('#reason option')].map(o => o.value).filter(v => v)[0];")
            .await;
        browser.select("#reason", value.as_str().unwrap()).await;
        browser.click_and_wait("#justify-submit").await;
        assert!(!browser.has("#justify-dialog").await);
        assert!(
            browser
                .text("#moment-result")
                .await
                .contains("Richiesta del cliente")
        );
        assert_in_view(&browser, "#moment-result", &format!("{size}, justified")).await;
        browser
            .screenshot(&format!("moment-justified-{size}"))
            .await;
        assert_no_sideways_scroll(&browser, &format!("{size}, card")).await;
        browser.open("/audit").await;
        assert!(
            browser.has("#audit dl.fields").await,
            "the audit shows fields"
        );
        assert_no_sideways_scroll(&browser, &format!("{size}, audit")).await;
        browser.screenshot(&format!("audit-{size}")).await;
    }
    browser.resize(1280, 1000).await;
    // The card's telemarketing section: a refusal recorded through its form (now, by the person
    // signed in, as the form suggests) is the objection shown right after, with its instants.
    browser.open(&card).await;
    assert!(
        browser
            .text("#telemarketing-heading")
            .await
            .contains("Registro delle opposizioni")
    );
    assert!(browser.text("#tm-numbers").await.contains("Mai verificato"));
    browser.click("#tm-call-form summary").await;
    browser.select("#outcome", "refused_marketing").await;
    browser.fill("#campaign", "Offerte primavera").await;
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.click_and_wait("#save-call").await;
    assert!(
        browser
            .path()
            .await
            .contains("done=call-recorded-objection")
    );
    assert!(!browser.text("#tm-objection-said").await.is_empty());
    assert!(!browser.text("#tm-objection-recorded").await.is_empty());
    assert!(
        browser
            .text("#tm-calls")
            .await
            .contains("Offerte primavera")
    );
    browser.screenshot("contact-card-telemarketing").await;
}
