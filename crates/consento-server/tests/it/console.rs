//! The operator console's frame: signing in and out, lockout, CSRF, roles, languages.

use consento_server::web::console_routes;

use crate::support::{Console, spawn_app};

#[tokio::test]
async fn every_private_console_page_sends_a_visitor_without_a_session_to_the_login_page() {
    let app = spawn_app().await;
    let visitor = Console::new(&app.base);
    let some_id = "0190a000-0000-7000-8000-000000000000";
    let mut checked = 0;
    for route in console_routes().iter().filter(|r| !r.public) {
        let path = route
            .path
            .split('/')
            .map(|seg| if seg.starts_with('{') { some_id } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let get = visitor.get(&path).await;
        let post = visitor.post(&path, &[]).await;
        // A GET goes to the login page; a POST without a session has no valid token either.
        assert!(
            (get.status == 303 && get.location.as_deref().unwrap_or("").starts_with("/login"))
                || get.status == 405,
            "GET {path}: {get:?}"
        );
        assert!(
            post.status == 403 || post.status == 405,
            "POST {path}: {}",
            post.status
        );
        checked += 1;
    }
    assert!(checked >= 3);
}

#[tokio::test]
async fn signing_in_reaches_the_dashboard_and_signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let operator = app.console_as("operator").await;
    let home = operator.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Test operator"), "{}", home.body);
    let session = operator
        .cookie(consento_server::web::session::SESSION_COOKIE)
        .unwrap();
    let out = operator.post("/logout", &[]).await;
    assert_eq!(out.status, 303);
    // The old cookie, replayed, is worthless: the session is gone from the database.
    let replay = Console::new(&app.base);
    let page = replay
        .send_with_cookie("/", &format!("consento_session={session}"))
        .await;
    assert_eq!(page.status, 303);
}

#[tokio::test]
async fn a_form_post_without_the_sessions_token_or_from_another_site_is_refused() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let forged = admin
        .post_raw("/logout", &[("csrf".into(), "0".repeat(64))])
        .await;
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("error"), "{}", forged.body);
    let missing = admin.post_raw("/logout", &[]).await;
    assert_eq!(missing.status, 403);
    // The right token, but sent by another site's page (the browser says so in Origin).
    let cross = admin
        .post_from("https://evil.example", "/logout", &[])
        .await;
    assert_eq!(cross.status, 403);
    // Still signed in: nothing was done.
    assert_eq!(admin.get("/").await.status, 200);
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_after_five_attempts_and_unknown_names_answer_alike() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    drop(admin);
    let guesser = Console::new(&app.base);
    guesser.get_in("/login", "en").await;
    let unknown = guesser
        .post(
            "/login",
            &[("username", "nobody"), ("password", "whatever it is")],
        )
        .await;
    assert_eq!(unknown.status, 401);
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            guesser
                .post(
                    "/login",
                    &[("username", "admin-user"), ("password", "not the password")],
                )
                .await,
        );
    }
    let last = last.unwrap();
    assert_eq!(last.status, 401);
    assert!(
        last.body.contains("15"),
        "the lock says for how long: {}",
        last.body
    );
    // Even the right password is refused while locked.
    let right = guesser
        .post(
            "/login",
            &[
                ("username", "admin-user"),
                ("password", "a long test password"),
            ],
        )
        .await;
    assert_eq!(right.status, 401);
    // After the lock runs out, the right password works again.
    app.clock.advance(16 * 60 * 1_000_000);
    let right = guesser
        .post(
            "/login",
            &[
                ("username", "admin-user"),
                ("password", "a long test password"),
            ],
        )
        .await;
    assert_eq!(right.status, 303, "{}", right.body);
    let audit = app
        .store
        .audit_entries(&consento_store::AuditFilter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        audit.iter().filter(|e| e.action == "login.failure").count(),
        5
    );
}

#[tokio::test]
async fn a_one_time_password_must_be_replaced_before_any_page_opens() {
    let app = spawn_app().await;
    let first = consento_app::accounts::first_admin(&app.store, None)
        .await
        .unwrap();
    let Some(consento_app::accounts::FirstAdmin::Generated { username, password }) = first else {
        panic!("no administrator was generated");
    };
    assert!(
        consento_app::accounts::first_admin(&app.store, None)
            .await
            .unwrap()
            .is_none(),
        "only the first start creates one"
    );
    let admin = Console::new(&app.base);
    admin.login(&username, &password).await;
    let home = admin.get("/").await;
    assert_eq!(home.location.as_deref(), Some("/account/password"));
    let short = admin
        .post(
            "/account/password",
            &[
                ("current", &password),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 422);
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
    assert_eq!(admin.get("/").await.status, 200);
    // The one-time password no longer works.
    let again = Console::new(&app.base);
    again.get("/login").await;
    let old = again
        .post(
            "/login",
            &[("username", &username), ("password", &password)],
        )
        .await;
    assert_eq!(old.status, 401);
}

#[tokio::test]
async fn pages_speak_the_browsers_language_until_the_person_chooses_another() {
    let app = spawn_app().await;
    let visitor = Console::new(&app.base);
    let italian = visitor.get_in("/login", "it-IT,it;q=0.9,en;q=0.5").await;
    assert!(italian.body.contains("lang=\"it\""));
    assert!(italian.body.contains("Accedi"));
    let english = visitor.get_in("/login", "en-GB").await;
    assert!(english.body.contains("Sign in"));
    let switched = visitor
        .post("/language", &[("lang", "en"), ("next", "/login")])
        .await;
    assert_eq!(switched.status, 303);
    assert_eq!(switched.location.as_deref(), Some("/login"));
    let chosen = visitor.get_in("/login", "it").await;
    assert!(
        chosen.body.contains("Sign in"),
        "the choice beats the header"
    );
    // A choice made while signed in is remembered on the account.
    let operator = app.console_as("operator").await;
    operator
        .post("/language", &[("lang", "it"), ("next", "/")])
        .await;
    let user = app.store.users().await.unwrap();
    assert_eq!(
        user.iter()
            .find(|u| u.username == "operator-user")
            .unwrap()
            .locale
            .as_deref(),
        Some("it")
    );
}

#[tokio::test]
async fn the_auditor_cannot_open_pages_that_change_things() {
    let app = spawn_app().await;
    let auditor = app.console_as("auditor").await;
    let home = auditor.get("/").await;
    assert_eq!(home.status, 200);
    // The menu offers only what the role may open.
    assert!(!home.body.contains("href=\"/setup/privacy\""));
    let admin = app.console_as("admin").await;
    assert!(
        admin
            .get("/")
            .await
            .body
            .contains("href=\"/setup/privacy\"")
    );
}

#[tokio::test]
async fn after_signing_in_the_console_never_sends_the_browser_to_another_site() {
    let app = spawn_app().await;
    let _ = app.console_as("operator").await;
    for next in [
        "//evil.example",
        "/\t/evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/\n/evil.example",
    ] {
        let visitor = Console::new(&app.base);
        visitor.get("/login").await;
        let page = visitor
            .post(
                "/login",
                &[
                    ("username", "operator-user"),
                    ("password", "a long test password"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location.as_deref(), Some("/"), "next = {next:?}");
    }
    let visitor = Console::new(&app.base);
    visitor.get("/login").await;
    let page = visitor
        .post(
            "/login",
            &[
                ("username", "operator-user"),
                ("password", "a long test password"),
                ("next", "/contacts?q=rossi"),
            ],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/contacts?q=rossi"));
}

#[tokio::test]
async fn a_person_with_a_one_time_password_can_still_sign_out() {
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
    let out = admin.post("/logout", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/login?bye=1"));
    assert_eq!(
        admin.get("/").await.location.as_deref(),
        Some("/login?next=/")
    );
}
