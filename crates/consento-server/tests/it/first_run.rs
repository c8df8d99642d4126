//! The first run names the data controller (GDPR Art. 13(1)(a)–(b)): the console's first-run
//! page an administrator meets while the controller has no name, the dashboard's warning while
//! any detail is missing, `/readyz` listing them, the public pages naming the controller, and
//! links built on the address the server actually listens on when `public.base_url` is unset.

use consento_domain::{
    Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, ControllerDetails, EventKind,
    Password, Permissions, Role, Username,
};
use consento_store::{ConsentEventInput, ContactInput, ContactRef};

use crate::support::{Console, Scratch, TestApp, send, spawn_app, spawn_app_with};

const PASSWORD: &str = "a long test password";

/// A console account of `role` with a known password (not signed in).
async fn account(app: &TestApp, username: &str, role: Role) {
    let name = Username::parse(username).unwrap();
    consento_app::accounts::create(
        &app.store,
        name.clone(),
        username,
        role,
        &Password::new(PASSWORD, &name).unwrap(),
        false,
    )
    .await
    .unwrap();
}

/// Signs `username` in asking for `next`; returns where the console sends them.
async fn sign_in(console: &Console, username: &str, next: &str) -> String {
    console.get("/login").await;
    let page = console
        .post(
            "/login",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    page.location.unwrap()
}

fn full() -> [(&'static str, &'static str); 5] {
    [
        ("name", "Rossi Caldaie S.r.l."),
        ("address", "Via Roma 1\n20100 Milano"),
        ("email", "privacy@rossicaldaie.example"),
        ("dpo_contact", "dpo@rossicaldaie.example"),
        ("privacy_notice_url", "https://rossicaldaie.example/privacy"),
    ]
}

#[tokio::test]
async fn an_administrator_signing_in_before_the_controller_is_named_is_asked_for_it_first() {
    let app = spawn_app().await;
    account(&app, "giulia", Role::Admin).await;
    let admin = Console::new(&app.base);
    let to = sign_in(&admin, "giulia", "/contacts").await;
    assert_eq!(to, "/setup/controller?first=1&next=/contacts");
    let page = admin.get_in(&to, "it").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"first-run\""), "{}", page.body);
    assert!(page.body.contains("chi è il titolare del trattamento"));
    for field in [
        "name",
        "address",
        "email",
        "dpo_contact",
        "privacy_notice_url",
    ] {
        assert!(page.body.contains(&format!("name=\"{field}\"")), "{field}");
    }
    // "Later" goes on to the page asked for.
    assert!(
        page.body.contains("href=\"/contacts\" id=\"later\""),
        "{}",
        page.body
    );

    // A form from another site, or without the session's token, is refused.
    let forged = admin
        .post_raw(
            "/setup/controller",
            &[("name".to_owned(), "Falso S.p.A.".to_owned())],
        )
        .await;
    assert_eq!(forged.status, 403);

    // A refused value is shown at its field, in the page's language; nothing is saved.
    let mut typed: Vec<(&str, &str)> = full().to_vec();
    typed[2] = ("email", "privacy presso rossi");
    typed.extend([("first", "1"), ("next", "/contacts")]);
    let refused = admin.post("/setup/controller", &typed).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"email-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("Rossi Caldaie S.r.l."),
        "what was typed is kept"
    );
    assert_eq!(
        app.store.controller_details().await.unwrap(),
        ControllerDetails::default()
    );

    // Saved: on to the page asked for, audited with who did it.
    let mut typed: Vec<(&str, &str)> = full().to_vec();
    typed.extend([("first", "1"), ("next", "/contacts")]);
    let saved = admin.post("/setup/controller", &typed).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some("/contacts"));
    let stored = app.store.controller_details().await.unwrap();
    assert_eq!(stored.name.as_deref(), Some("Rossi Caldaie S.r.l."));
    assert_eq!(stored.address.as_deref(), Some("Via Roma 1\n20100 Milano"));
    let trail = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let entry = trail
        .iter()
        .find(|e| e.action == "controller.update")
        .expect("the change is audited");
    assert!(entry.user_id.is_some());
    assert_eq!(entry.detail["after"]["name"], "Rossi Caldaie S.r.l.");
    let log = admin.get_in("/audit", "en").await;
    assert!(
        log.body
            .contains("Changed the data controller&#39;s details"),
        "{}",
        log.body
    );

    // Named: the next sign-in goes where it was asked to.
    let again = Console::new(&app.base);
    assert_eq!(sign_in(&again, "giulia", "/contacts").await, "/contacts");
    // The page stays reachable from Setup, to edit.
    let edit = again.get("/setup/controller").await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains("aria-current=\"page\""));
    assert!(edit.body.contains("value=\"privacy@rossicaldaie.example\""));
}

#[tokio::test]
async fn only_an_administrator_is_asked_and_only_an_administrator_may_open_the_page() {
    let app = spawn_app().await;
    account(&app, "marco", Role::Operator).await;
    let operator = Console::new(&app.base);
    assert_eq!(sign_in(&operator, "marco", "/contacts").await, "/contacts");
    assert_eq!(operator.get("/setup/controller").await.status, 403);
    let posted = operator
        .post("/setup/controller", &[("name", "Operatore S.r.l.")])
        .await;
    assert_eq!(posted.status, 403);
    assert_eq!(app.store.controller_details().await.unwrap().name, None);
}

#[tokio::test]
async fn replacing_the_one_time_password_leads_the_first_administrator_to_the_first_run_page() {
    let app = spawn_app().await;
    let Some(consento_app::accounts::FirstAdmin::Generated { username, password }) =
        consento_app::accounts::first_admin(&app.store, None)
            .await
            .unwrap()
    else {
        panic!("no administrator was generated");
    };
    let admin = Console::new(&app.base);
    admin.login(&username, &password).await;
    let changed = admin
        .post(
            "/account/password",
            &[
                ("current", &password),
                ("new", "my own long password"),
                ("confirm", "my own long password"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(
        changed.location.as_deref(),
        Some("/setup/controller?first=1&next=/%3Fdone%3Dpassword-changed")
    );
}

#[tokio::test]
async fn a_detail_set_by_the_configuration_is_shown_read_only_and_wins() {
    let app = spawn_app_with(false, |c| {
        c.controller.name = "Rossi Caldaie S.r.l.".into();
    })
    .await
    .unwrap();
    account(&app, "giulia", Role::Admin).await;
    let admin = Console::new(&app.base);
    // Named by the configuration: no first-run page.
    assert_eq!(sign_in(&admin, "giulia", "/").await, "/");
    let page = admin.get_in("/setup/controller", "en").await;
    assert!(
        page.body.contains("value=\"Rossi Caldaie S.r.l.\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("key name of the [controller] section"),
        "{}",
        page.body
    );
    // A disabled field is not posted: the others are saved, the name stays the configuration's.
    let saved = admin
        .post(
            "/setup/controller",
            &[("email", "privacy@rossicaldaie.example"), ("address", "")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = app.store.controller_details().await.unwrap();
    assert_eq!(stored.name, None);
    assert_eq!(
        stored.email.as_deref(),
        Some("privacy@rossicaldaie.example")
    );
    let page = admin.get("/setup/controller").await;
    assert!(page.body.contains("value=\"Rossi Caldaie S.r.l.\""));
    let (_, ready) = send(app.client.get(format!("{}/readyz", app.base))).await;
    assert_eq!(
        ready["controller_missing"],
        serde_json::json!(["address", "dpo_contact", "privacy_notice_url"])
    );
}

#[tokio::test]
async fn the_dashboard_warns_of_the_missing_details_until_every_one_is_given() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let operator = app.console_as("operator").await;
    let home = admin.get_in("/", "it").await;
    assert!(
        home.body.contains("id=\"controller-missing\""),
        "{}",
        home.body
    );
    assert!(
        home.body
            .contains("Nome del titolare, Indirizzo, Email di contatto")
    );
    assert!(home.body.contains("href=\"/setup/controller\""));
    let theirs = operator.get_in("/", "en").await;
    assert!(theirs.body.contains("id=\"controller-missing\""));
    assert!(theirs.body.contains("Ask an administrator"));
    let mut typed = full().to_vec();
    typed.pop();
    admin.post("/setup/controller", &typed).await;
    let home = admin.get_in("/", "en").await;
    assert!(
        home.body.contains("Privacy notice address"),
        "{}",
        home.body
    );
    assert!(
        !home.body.contains("Controller&#x27;s name") && !home.body.contains("Controller's name,")
    );
    admin.post("/setup/controller", &full()).await;
    let home = admin.get("/").await;
    assert!(
        !home.body.contains("id=\"controller-missing\""),
        "{}",
        home.body
    );
}

#[tokio::test]
async fn readyz_stays_ready_and_lists_the_controller_details_still_missing() {
    let app = spawn_app().await;
    let ready = || send(app.client.get(format!("{}/readyz", app.base)));
    let (status, body) = ready().await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(
        body["controller_missing"],
        serde_json::json!([
            "name",
            "address",
            "email",
            "dpo_contact",
            "privacy_notice_url"
        ])
    );
    app.store
        .set_controller_details(ControllerDetails {
            name: Some("Rossi Caldaie S.r.l.".into()),
            email: Some("privacy@rossicaldaie.example".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let (status, body) = ready().await;
    assert_eq!(status, 200);
    assert_eq!(
        body["controller_missing"],
        serde_json::json!(["address", "dpo_contact", "privacy_notice_url"])
    );
    let admin = app.console_as("admin").await;
    admin.post("/setup/controller", &full()).await;
    let (_, body) = ready().await;
    assert_eq!(body["controller_missing"], serde_json::json!([]));
}

/// A newsletter type and a contact who gave it; the contact, and its preference-center URL.
async fn preferences_url(app: &TestApp) -> (consento_domain::ContactId, String) {
    app.store
        .create_consent_type(ConsentTypeSpec {
            title: "Newsletter".into(),
            code: ConsentCode::parse("NEWS").unwrap(),
            description: None,
            validity_days: None,
            permissions: Permissions {
                email_bulk: true,
                ..Permissions::default()
            },
            show_in_preference_center: true,
            purpose: Default::default(),
        })
        .await
        .unwrap();
    let anna = app
        .store
        .create_contact(ContactInput {
            emails: vec!["anna@example.it".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    app.store
        .record_consent(ConsentEventInput {
            contact: ContactRef::Id(anna.id),
            type_code: "NEWS".into(),
            kind: EventKind::Given,
            event_time: None,
            method: CollectionMethod::Form,
            actor: Actor::new(ActorKind::Operator, "admin").unwrap(),
            notice_version: None,
            evidence: None,
        })
        .await
        .unwrap();
    let (status, body) = app
        .get(
            &format!("/v1/contacts/{}/links?type=NEWS", anna.id.0),
            "write",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (
        anna.id,
        body["preferences_url"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_preference_center_names_the_controller_and_never_a_generic_us() {
    let app = spawn_app().await;
    let (_, url) = preferences_url(&app).await;
    let page = |lang: &'static str| {
        let url = url.clone();
        let client = app.client.clone();
        async move {
            client
                .get(format!("{url}?lang={lang}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let before = page("it").await;
    assert!(!before.contains("da noi"), "{before}");
    assert!(before.contains("Scegliere quali comunicazioni ricevere"));
    assert!(
        !before.contains("id=\"controller\""),
        "nothing to name yet: no empty footer"
    );
    let admin = app.console_as("admin").await;
    admin.post("/setup/controller", &full()).await;
    let after = page("it").await;
    assert!(
        after.contains("Scegliere che cosa ricevere da Rossi Caldaie S.r.l."),
        "{after}"
    );
    assert!(after.contains("id=\"controller-name\""));
    assert!(after.contains("href=\"mailto:privacy@rossicaldaie.example\""));
    assert!(after.contains("Responsabile della protezione dei dati: dpo@rossicaldaie.example"));
    assert!(after.contains("href=\"https://rossicaldaie.example/privacy\""));
    let english = page("en").await;
    assert!(english.contains("Choose what you want to receive from Rossi Caldaie S.r.l."));
    assert!(english.contains("Data controller"));
    // The subscription form names it too.
    let form = app
        .client
        .get(format!("{}/subscribe?lang=it", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("Rossi Caldaie S.r.l."), "{form}");
}

#[tokio::test]
async fn without_a_public_base_url_links_open_on_the_port_the_server_listens_on() {
    // A port the system picks, and no public.base_url: the links must name that port.
    let app = spawn_app_with(false, |c| {
        c.listen = "127.0.0.1:0".parse().unwrap();
        c.public.base_url = String::new();
    })
    .await
    .unwrap();
    assert!(!app.base.ends_with(":0"));
    let (anna, url) = preferences_url(&app).await;
    assert!(url.starts_with(&format!("{}/p/", app.base)), "{url}");
    let (status, links) = app
        .get(&format!("/v1/contacts/{}/links?type=NEWS", anna.0), "write")
        .await;
    assert_eq!(status, 200);
    let unsubscribe = links["unsubscribe_url"].as_str().unwrap();
    assert!(
        unsubscribe.starts_with(&format!("{}/u/", app.base)),
        "{unsubscribe}"
    );
    let opened = app.client.get(unsubscribe).send().await.unwrap();
    assert_eq!(
        opened.status(),
        200,
        "the link opens on the server's own port"
    );
    let opened = app.client.get(&url).send().await.unwrap();
    assert_eq!(opened.status(), 200);
}

fn init_names_the_controller(db: &Scratch) {
    // A new installation: every detail missing, with the flags that give them.
    let first = db.ok(&["init"]);
    assert!(first.contains("data controller"), "{first}");
    assert!(
        first.contains("missing: name, address, email, dpo_contact, privacy_notice_url"),
        "{first}"
    );
    assert!(first.contains("--controller-name"), "{first}");
    let report = db.json(&[
        "init",
        "--controller-name",
        "Rossi Caldaie S.r.l.",
        "--controller-address",
        "Via Roma 1, 20100 Milano",
        "--controller-email",
        "Privacy@RossiCaldaie.example",
    ]);
    let c = &report["controller"];
    assert_eq!(c["name"], "Rossi Caldaie S.r.l.");
    assert_eq!(c["facts"]["email"]["value"], "privacy@rossicaldaie.example");
    assert_eq!(c["facts"]["email"]["source"], "database");
    assert_eq!(
        c["missing"],
        serde_json::json!(["dpo_contact", "privacy_notice_url"])
    );
    // A bad value: one line naming the field, exit 1, nothing changed.
    let (code, stderr) = db.fails(&["init", "--privacy-notice-url", "rossicaldaie.example"]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: controller: privacy_notice_url:"),
        "{stderr}"
    );
    let (code, stderr) = db.fails(&["controller", "set", "--controller-email", "nobody"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("email"), "{stderr}");
    // Only the details given change; the others keep their value.
    db.ok(&[
        "controller",
        "set",
        "--dpo-contact",
        "dpo@rossicaldaie.example",
        "--privacy-notice-url",
        "https://rossicaldaie.example/privacy",
    ]);
    let shown = db.json(&["controller", "show"]);
    assert_eq!(shown["missing"], serde_json::json!([]));
    assert_eq!(shown["facts"]["name"]["value"], "Rossi Caldaie S.r.l.");
    let text = db.ok(&["controller", "show"]);
    assert!(
        text.contains("every detail of the controller is given"),
        "{text}"
    );
}

#[test]
fn consento_init_names_the_controller_and_lists_what_is_missing() {
    init_names_the_controller(&Scratch::new());
}

#[test]
fn consento_init_names_the_controller_on_postgresql_too() {
    match Scratch::postgres() {
        Some(db) => init_names_the_controller(&db),
        None => println!("CONSENTO_TEST_POSTGRES_URL is not set: ran on SQLite only"),
    }
}
