//! The console's Setup section: privacy switches, consent types, contact reasons, privacy
//! notices and accounts, reached only by an administrator, every change audited.

use consento_domain::{
    Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind, Permissions,
    PrivacySettings, Role,
};
use consento_server::web::console_routes;
use consento_store::{AuditEntry, AuditFilter, ConsentEventInput, ContactInput, ContactRef};

use crate::support::{Console, TestApp, spawn_app};

async fn audit(app: &TestApp, action: &str) -> Vec<AuditEntry> {
    app.store
        .audit_entries(&AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// The text of the element with `id`, up to the next tag, with the template's escapes undone.
fn text_of(body: &str, id: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{id}\""))?;
    let rest = &body[start..];
    let open = rest.find('>')?;
    let close = rest[open..].find('<')?;
    let text = rest[open + 1..open + close].trim();
    Some(
        text.replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

fn type_form<'a>(title: &'a str, code: &'a str, validity: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", title),
        ("code", code),
        ("description", "Offerte e novità"),
        ("validity_days", validity),
        ("email.bulk", "on"),
        ("sms.single", "on"),
        ("show_in_preference_center", "on"),
    ]
}

#[tokio::test]
async fn an_administrator_creates_a_consent_type_that_the_api_then_lists() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let form = admin.get("/setup/types/new").await;
    assert_eq!(form.status, 200);
    for field in [
        "name=\"title\"",
        "name=\"code\"",
        "name=\"description\"",
        "name=\"validity_days\"",
        "name=\"email.bulk\"",
        "name=\"email.single\"",
        "name=\"phone.call\"",
        "name=\"sms.single\"",
        "name=\"sms.bulk\"",
        "name=\"show_in_preference_center\"",
    ] {
        assert!(form.body.contains(field), "{field} missing");
    }
    let created = admin
        .post(
            "/setup/types/new",
            &type_form("Newsletter commerciale", "NEWS", "365"),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let to = created.location.unwrap();
    let list = admin.get(&to).await;
    assert!(
        list.body.contains("Tipologia di consenso creata."),
        "{}",
        list.body
    );
    assert!(list.body.contains("Newsletter commerciale"));
    assert!(list.body.contains("365 giorni"));

    let (status, body) = app.get("/v1/consent-types/NEWS", "read").await;
    assert_eq!(status, 200);
    assert_eq!(body["title"], "Newsletter commerciale");
    assert_eq!(body["description"], "Offerte e novità");
    assert_eq!(body["validity_days"], 365);
    assert_eq!(
        body["permits"],
        serde_json::json!(["email.bulk", "sms.single"])
    );
    assert_eq!(body["show_in_preference_center"], true);

    let entries = audit(&app, "consent_type.create").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target_kind.as_deref(), Some("consent_type"));
    assert_eq!(entries[0].detail["after"]["code"], "NEWS");

    // An empty validity means the consent never expires; the change is audited before and after.
    let changed = admin
        .post("/setup/types/NEWS", &type_form("Newsletter", "NEWS", ""))
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let (_, body) = app.get("/v1/consent-types/NEWS", "read").await;
    assert_eq!(body["validity_days"], serde_json::Value::Null);
    let entries = audit(&app, "consent_type.update").await;
    assert_eq!(entries[0].detail["before"]["validity_days"], 365);
    assert_eq!(
        entries[0].detail["after"]["validity_days"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn a_duplicate_code_shows_the_form_again_with_the_message_at_the_code_field_in_each_language()
{
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let first = admin
        .post("/setup/types/new", &type_form("Newsletter", "NEWS", "730"))
        .await;
    assert_eq!(first.status, 303);

    admin
        .post("/language", &[("lang", "it"), ("next", "/")])
        .await;
    let again = admin
        .post(
            "/setup/types/new",
            &type_form("Un titolo scritto a mano", "NEWS", "90"),
        )
        .await;
    assert_eq!(again.status, 422);
    assert_eq!(
        text_of(&again.body, "code-error").as_deref(),
        Some(
            "Esiste già una tipologia di consenso con questo codice (maiuscole e minuscole non fanno differenza)."
        )
    );
    // What was typed is still there.
    assert!(again.body.contains("value=\"Un titolo scritto a mano\""));
    assert!(again.body.contains("value=\"90\""));
    assert!(again.body.contains("aria-invalid=\"true\""));

    admin
        .post("/language", &[("lang", "en"), ("next", "/")])
        .await;
    let english = admin
        .post("/setup/types/new", &type_form("Newsletter", "NEWS", "90"))
        .await;
    assert_eq!(english.status, 422);
    assert_eq!(
        text_of(&english.body, "code-error").as_deref(),
        Some(
            "A consent type with this code already exists (capital and small letters count as the same)."
        )
    );
    // A malformed code and validity are each named at their field.
    let bad = admin
        .post(
            "/setup/types/new",
            &type_form("Newsletter", "news letter", "forever"),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(text_of(&bad.body, "code-error").is_some());
    assert!(text_of(&bad.body, "validity-error").is_some());
    assert_eq!(app.store.consent_types().await.unwrap().len(), 1);
    assert_eq!(audit(&app, "consent_type.create").await.len(), 1);
}

#[tokio::test]
async fn the_code_of_a_type_the_ledger_cites_is_read_only_and_refused_if_changed() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    app.store
        .create_consent_type(ConsentTypeSpec {
            title: "Telefono".into(),
            code: ConsentCode::parse("CALLS").unwrap(),
            description: None,
            validity_days: None,
            permissions: Permissions {
                phone_call: true,
                ..Permissions::default()
            },
            show_in_preference_center: false,
            purpose: Default::default(),
        })
        .await
        .unwrap();
    let unused = admin.get("/setup/types/CALLS").await;
    assert_eq!(unused.status, 200);
    assert!(!unused.body.contains(" readonly"));
    let contact = app
        .store
        .create_contact(ContactInput {
            emails: vec!["anna@example.it".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    app.store
        .record_consent(ConsentEventInput {
            contact: ContactRef::Id(contact.id),
            type_code: "CALLS".into(),
            kind: EventKind::Given,
            event_time: None,
            method: CollectionMethod::Phone,
            actor: Actor::new(ActorKind::Operator, "test").unwrap(),
            notice_version: None,
            evidence: None,
        })
        .await
        .unwrap();
    let used = admin.get("/setup/types/CALLS").await;
    assert!(used.body.contains(" readonly"), "{}", used.body);
    assert!(used.body.contains("Il codice non si può più cambiare"));
    let renamed = admin
        .post(
            "/setup/types/CALLS",
            &[
                ("title", "Telefono"),
                ("code", "PHONE"),
                ("phone.call", "on"),
            ],
        )
        .await;
    assert_eq!(renamed.status, 422);
    assert_eq!(
        text_of(&renamed.body, "code-error").as_deref(),
        Some(
            "Il codice non si può cambiare: sono già stati registrati consensi di questa tipologia."
        )
    );
    assert!(app.store.consent_type("CALLS").await.is_ok());
    assert!(audit(&app, "consent_type.update").await.is_empty());
}

#[tokio::test]
async fn every_setup_page_answers_403_to_every_role_but_the_administrator() {
    let app = spawn_app().await;
    let some_id = "0190a000-0000-7000-8000-000000000000";
    let setup_paths: Vec<(String, bool)> = console_routes()
        .iter()
        .filter(|r| r.path.starts_with("/setup"))
        .map(|r| {
            let path = r
                .path
                .split('/')
                .map(|seg| if seg.starts_with('{') { some_id } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            (path, r.path.ends_with("/password"))
        })
        .collect();
    assert!(setup_paths.len() >= 10, "{setup_paths:?}");
    for role in ["operator", "dpo", "auditor"] {
        let person = app.console_as(role).await;
        let mut refused_posts = 0;
        for (path, post_only) in &setup_paths {
            if !post_only {
                let get = person.get(path).await;
                assert_eq!(get.status, 403, "{role} GET {path}");
                assert!(
                    get.body.contains("Il ruolo assegnato non lo consente"),
                    "{role} GET {path}: {}",
                    get.body
                );
            }
            // An empty post to the privacy page would switch every check off, were it let in.
            let post = person.post(path, &[]).await;
            assert!(
                post.status == 403 || post.status == 405,
                "{role} POST {path}: {}",
                post.status
            );
            refused_posts += usize::from(post.status == 403);
        }
        assert!(refused_posts >= 8, "{role}: {refused_posts}");
        // The menu does not offer the section either.
        assert!(
            !person
                .get("/")
                .await
                .body
                .contains("href=\"/setup/privacy\"")
        );
    }
    assert_eq!(
        app.store.settings().await.unwrap(),
        PrivacySettings::default()
    );
    assert!(audit(&app, "settings.update").await.is_empty());
}

#[tokio::test]
async fn switching_a_check_off_is_audited_with_before_and_after() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let page = admin.get("/setup/privacy").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches(" checked").count(), 4, "{}", page.body);
    for tab in [
        "/setup/privacy",
        "/setup/types",
        "/setup/reasons",
        "/setup/notices",
        "/setup/users",
    ] {
        assert!(page.body.contains(&format!("href=\"{tab}\"")), "{tab}");
    }
    assert!(
        page.body
            .contains("Disattivato: la newsletter raggiunge tutti")
    );

    let all_but_bulk = [
        ("check_email_single", "on"),
        ("check_phone", "on"),
        ("check_sms", "on"),
    ];
    let saved = admin.post("/setup/privacy", &all_but_bulk).await;
    assert_eq!(saved.status, 303);
    let after = admin.get(&saved.location.unwrap()).await;
    assert!(after.body.contains("Impostazioni della privacy salvate."));
    assert_eq!(after.body.matches(" checked").count(), 3);
    let settings = app.store.settings().await.unwrap();
    assert!(!settings.check_email_bulk);
    assert!(settings.check_email_single && settings.check_phone && settings.check_sms);

    let entries = audit(&app, "settings.update").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].detail["before"]["check_email_bulk"], true);
    assert_eq!(entries[0].detail["after"]["check_email_bulk"], false);
    assert_eq!(entries[0].detail["after"]["check_phone"], true);
    // Saving the same switches again changes nothing and records nothing.
    admin.post("/setup/privacy", &all_but_bulk).await;
    assert_eq!(audit(&app, "settings.update").await.len(), 1);
}

#[tokio::test]
async fn a_reason_marked_inactive_disappears_from_the_list_offered_to_operators() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let created = admin
        .post(
            "/setup/reasons",
            &[("label", "Il cliente ha chiesto di essere richiamato")],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let reasons = app.store.reasons().await.unwrap();
    assert_eq!(reasons.len(), 1);
    let reason = &reasons[0];
    assert!(reason.active && !reason.marketing);
    assert!(
        admin
            .get("/setup/reasons")
            .await
            .body
            .contains("Il cliente ha chiesto di essere richiamato")
    );

    // The same label twice is refused at the field.
    let twice = admin
        .post(
            "/setup/reasons",
            &[
                ("label", "Il cliente ha chiesto di essere richiamato"),
                ("marketing", "on"),
            ],
        )
        .await;
    assert_eq!(twice.status, 422);
    assert_eq!(
        text_of(&twice.body, "label-error").as_deref(),
        Some("Esiste già una motivazione con questo testo.")
    );

    let path = format!("/setup/reasons/{}", reason.id.0);
    let form = admin.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("name=\"active\""));
    let retired = admin
        .post(
            &path,
            &[
                ("label", "Il cliente ha chiesto di essere richiamato"),
                ("marketing", "on"),
            ],
        )
        .await;
    assert_eq!(retired.status, 303, "{}", retired.body);
    let offered: Vec<_> = app
        .store
        .reasons()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.active)
        .collect();
    assert!(offered.is_empty(), "{offered:?}");
    let entries = audit(&app, "reason.update").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].detail["before"]["active"], true);
    assert_eq!(entries[0].detail["after"]["active"], false);
    assert_eq!(entries[0].detail["after"]["marketing"], true);
    assert_eq!(audit(&app, "reason.create").await.len(), 1);
}

#[tokio::test]
async fn notices_are_listed_newest_first_and_a_published_version_cannot_be_published_again() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let first = admin
        .post(
            "/setup/notices",
            &[
                ("version", "2024-01"),
                ("language", "it"),
                ("url", "https://example.it/privacy/2024-01"),
                ("body", ""),
            ],
        )
        .await;
    assert_eq!(first.status, 303, "{}", first.body);
    app.clock.advance(60_000_000);
    let second = admin
        .post(
            "/setup/notices",
            &[
                ("version", "2025-03"),
                ("language", "it"),
                ("url", ""),
                ("body", "Informativa sul trattamento dei dati personali."),
            ],
        )
        .await;
    assert_eq!(second.status, 303);
    let list = admin.get("/setup/notices").await;
    let newer = list.body.find("2025-03").unwrap();
    let older = list.body.find("2024-01").unwrap();
    assert!(newer < older, "newest first");
    // No way to change a version: no edit link, only a form to publish a new one.
    assert!(!list.body.contains("/setup/notices/"));

    let again = admin
        .post(
            "/setup/notices",
            &[
                ("version", "2025-03"),
                ("language", "it"),
                ("body", "Altro"),
            ],
        )
        .await;
    assert_eq!(again.status, 422);
    assert_eq!(
        text_of(&again.body, "version-error").as_deref(),
        Some("Questa versione è già stata pubblicata: sceglierne un'altra.")
    );
    let empty = admin
        .post(
            "/setup/notices",
            &[("version", "2026-01"), ("language", "it")],
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(text_of(&empty.body, "body-error").is_some());
    assert_eq!(app.store.notices().await.unwrap().len(), 2);
    let entries = audit(&app, "notice.publish").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].detail["version"], "2025-03");
}

#[tokio::test]
async fn a_new_account_must_change_its_one_time_password() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let created = admin
        .post(
            "/setup/users",
            &[
                ("username", "Mario.Rossi"),
                ("display_name", "Mario Rossi"),
                ("role", "operator"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let password = text_of(&created.body, "one-time-password").unwrap();
    assert_eq!(password.len(), 23, "{password}");
    // Shown once: the list does not show it.
    let list = admin.get("/setup/users").await;
    assert!(!list.body.contains(&password));
    assert!(list.body.contains("mario.rossi"));
    assert!(list.body.contains("Password monouso da cambiare"));

    let mario = Console::new(&app.base);
    mario.login("mario.rossi", &password).await;
    assert_eq!(
        mario.get("/").await.location.as_deref(),
        Some("/account/password")
    );
    let entries = audit(&app, "user.create").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].detail["role"], "operator");
    assert!(!entries[0].detail.to_string().contains(&password));

    let taken = admin
        .post(
            "/setup/users",
            &[("username", "mario.rossi"), ("role", "auditor")],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert_eq!(
        text_of(&taken.body, "username-error").as_deref(),
        Some("Esiste già un account con questo nome utente.")
    );
}

#[tokio::test]
async fn an_administrator_cannot_demote_or_disable_themself_but_can_another_account() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let operator = app.console_as("operator").await;
    let users = app.store.users().await.unwrap();
    let me = users.iter().find(|u| u.username == "admin-user").unwrap();
    let other = users
        .iter()
        .find(|u| u.username == "operator-user")
        .unwrap();

    let own = format!("/setup/users/{}", me.id);
    let demoted = admin
        .post(
            &own,
            &[("display_name", "Test admin"), ("role", "operator")],
        )
        .await;
    assert_eq!(demoted.status, 422);
    assert!(
        text_of(&demoted.body, "role-error")
            .unwrap()
            .contains("Non è possibile togliere il ruolo di amministratore")
    );
    let disabled = admin
        .post(
            &own,
            &[
                ("display_name", "Test admin"),
                ("role", "admin"),
                ("disabled", "on"),
            ],
        )
        .await;
    assert_eq!(disabled.status, 422);
    assert!(text_of(&disabled.body, "disabled-error").is_some());
    let reset_own = admin.post(&format!("{own}/password"), &[]).await;
    assert_eq!(reset_own.status, 422);
    let me_now = app.store.user(me.id).await.unwrap();
    assert_eq!(me_now.role, Role::Admin);
    assert!(me_now.disabled_at.is_none());
    assert_eq!(admin.get("/setup/users").await.status, 200);

    // Another account: a new role and name, then disabled, which ends its session at once.
    let theirs = format!("/setup/users/{}", other.id);
    let changed = admin
        .post(
            &theirs,
            &[
                ("display_name", "Operatrice Anna"),
                ("role", "auditor"),
                ("disabled", "on"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let after = app.store.user(other.id).await.unwrap();
    assert_eq!(after.role, Role::Auditor);
    assert_eq!(after.display_name, "Operatrice Anna");
    assert!(after.disabled_at.is_some());
    assert_eq!(operator.get("/").await.status, 303);
    let entries = audit(&app, "user.update").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].detail["before"]["role"], "operator");
    assert_eq!(entries[0].detail["after"]["role"], "auditor");
    assert_eq!(entries[0].detail["after"]["disabled"], true);
}

#[tokio::test]
async fn a_password_reset_shows_a_new_one_time_password_and_ends_the_accounts_sessions() {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let operator = app.console_as("operator").await;
    let id = app
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "operator-user")
        .unwrap()
        .id;
    admin
        .post("/language", &[("lang", "en"), ("next", "/")])
        .await;
    let reset = admin
        .post(&format!("/setup/users/{id}/password"), &[])
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert!(reset.body.contains("Password reset"));
    assert!(reset.body.contains("shown only once"));
    let password = text_of(&reset.body, "one-time-password").unwrap();
    assert_eq!(operator.get("/").await.status, 303, "the session ended");

    let again = Console::new(&app.base);
    again.login("operator-user", &password).await;
    assert_eq!(
        again.get("/").await.location.as_deref(),
        Some("/account/password")
    );
    assert_eq!(audit(&app, "user.password_reset").await.len(), 1);
}

#[tokio::test]
async fn a_console_change_whose_audit_row_cannot_be_written_is_rolled_back() {
    use sqlx::Connection as _;
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let mut db = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let form = type_form("Newsletter", "NEWS", "365");
    let label = [("label", "Il cliente ha chiesto di essere richiamato")];

    // Neither the type nor the reason is kept without its audit row, and no success is claimed.
    let refused = admin.post("/setup/types/new", &form).await;
    assert_eq!(refused.status, 500, "{}", refused.body);
    assert_eq!(refused.location, None);
    assert!(app.store.consent_types().await.unwrap().is_empty());
    let refused = admin.post("/setup/reasons", &label).await;
    assert_eq!(refused.status, 500, "{}", refused.body);
    assert_eq!(refused.location, None);
    assert!(app.store.reasons().await.unwrap().is_empty());

    // Once the trail can be written, the same posts succeed, each with its entry naming who.
    sqlx::raw_sql("DROP TRIGGER no_audit")
        .execute(&mut db)
        .await
        .unwrap();
    let admin_id = app
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "admin-user")
        .unwrap()
        .id;
    let created = admin.post("/setup/types/new", &form).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let types = app.store.consent_types().await.unwrap();
    assert_eq!(types.len(), 1);
    let entries = audit(&app, "consent_type.create").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].user_id, Some(admin_id));
    assert_eq!(entries[0].username.as_deref(), Some("admin-user"));
    assert_eq!(entries[0].target_kind.as_deref(), Some("consent_type"));
    assert_eq!(
        entries[0].target_id.as_deref(),
        Some(types[0].id.0.to_string().as_str())
    );
    let created = admin.post("/setup/reasons", &label).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let reasons = app.store.reasons().await.unwrap();
    assert_eq!(reasons.len(), 1);
    let entries = audit(&app, "reason.create").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].user_id, Some(admin_id));
    assert_eq!(
        entries[0].target_id.as_deref(),
        Some(reasons[0].id.0.to_string().as_str())
    );
}

#[tokio::test]
async fn a_disclosure_to_third_parties_needs_its_product_categories_in_the_form_said_in_the_users_language()
 {
    let app = spawn_app().await;
    let admin = app.console_as("admin").await;
    let form = admin.get("/setup/types/new").await;
    assert!(
        form.body.contains("<option value=\"marketing\" selected>"),
        "marketing is the default purpose"
    );
    assert!(form.body.contains("name=\"categories\""));
    admin
        .post("/language", &[("lang", "it"), ("next", "/")])
        .await;
    let mut fields = type_form("Comunicazione a partner", "PARTNER", "365");
    fields.push(("purpose", "third_party"));
    fields.push(("categories", ""));
    let refused = admin.post("/setup/types/new", &fields).await;
    assert_eq!(refused.status, 422);
    assert!(
        text_of(&refused.body, "categories-error")
            .is_some_and(|t| t.starts_with("La comunicazione a terzi indica almeno una categoria")),
        "{}",
        refused.body
    );
    fields.pop();
    fields.push(("categories", "energia, Telefonia"));
    let created = admin.post("/setup/types/new", &fields).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let (_, body) = app.get("/v1/consent-types/PARTNER", "read").await;
    assert_eq!(body["purpose"], "third_party");
    assert_eq!(
        body["categories"],
        serde_json::json!(["energia", "telefonia"])
    );
    let edit = admin.get("/setup/types/PARTNER").await;
    assert!(
        edit.body
            .contains("<option value=\"third_party\" selected>")
    );
    assert!(edit.body.contains("value=\"energia, telefonia\""));
}
