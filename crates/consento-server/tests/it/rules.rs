//! Rectification (GDPR Art. 16) with its before and after in the audit trail, from the API and
//! the console; and bulk rules over provenance through the API, the console and the command line.

use consento_store::{ContactInput, ContactRef};
use serde_json::{Value, json};

use crate::console_contacts::audited;
use crate::support::{Scratch, TestApp, spawn_app};

async fn contact(app: &TestApp, email: &str, source: Option<&str>) -> consento_store::Contact {
    app.store
        .create_contact(ContactInput {
            name: Some("Mario Rossi".into()),
            emails: vec![email.into()],
            source: source.map(str::to_owned),
            purposes: vec!["assistenza".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rectification_through_the_api_is_audited_with_the_token_and_exactly_the_changed_fields()
{
    let app = spawn_app().await;
    let c = contact(&app, "rett@example.it", Some("web")).await;
    let path = format!("/v1/contacts/{}", c.id);
    let body = json!({"name": "Maria Rossi", "legal_basis": "contract"});
    let (status, out) = app
        .send(reqwest::Method::PATCH, &path, "write", &body)
        .await;
    assert_eq!(status, 200, "{out}");
    let entries = audited(&app, "contact.update").await;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.token_name.as_deref(), Some("test-write"));
    assert_eq!(e.user_id, None);
    assert_eq!(e.target_id, Some(c.id.to_string()));
    assert_eq!(
        e.detail,
        json!({"changes": {
            "name": {"before": "Mario Rossi", "after": "Maria Rossi"},
            "legal_basis": {"before": null, "after": "contract"},
        }})
    );
    // The same values again change nothing and leave no entry.
    let (status, _) = app
        .send(reqwest::Method::PATCH, &path, "write", &body)
        .await;
    assert_eq!(status, 200);
    assert_eq!(audited(&app, "contact.update").await.len(), 1);

    // The audit page names the token and shows the before and after.
    let admin = app.console_as("admin").await;
    let page = admin.get("/audit").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("token test-write"), "{}", page.body);
    assert!(
        page.body
            .contains("<del>Mario Rossi</del> → <ins>Maria Rossi</ins>"),
        "{}",
        page.body
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_rectification_in_the_console_is_audited_with_the_operator_and_an_unchanged_save_with_nothing()
 {
    let app = spawn_app().await;
    let c = contact(&app, "cons@example.it", None).await;
    let operator = app.console_as("operator").await;
    let fields = [
        ("name", "Mario Rossi"),
        ("emails", "cons@example.it\naltro@example.it"),
        ("phones", ""),
        ("external_id", ""),
        ("source", "fiera"),
        ("legal_basis", ""),
        ("purposes", "assistenza"),
    ];
    let page = operator
        .post(&format!("/contacts/{}/edit", c.id), &fields)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let entries = audited(&app, "contact.update").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].user_id.is_some() && entries[0].token_id.is_none());
    assert_eq!(entries[0].username.as_deref(), Some("operator-user"));
    assert_eq!(
        entries[0].detail["changes"],
        json!({
            "emails": {"before": ["cons@example.it"], "after": ["cons@example.it", "altro@example.it"]},
            "source": {"before": null, "after": "fiera"},
        })
    );
    let page = operator
        .post(&format!("/contacts/{}/edit", c.id), &fields)
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        audited(&app, "contact.update").await.len(),
        1,
        "no change, no entry"
    );
    app.shutdown().await;
}

fn fair_rule() -> Value {
    json!({
        "name": "Fiera 2024",
        "filter": {"source": {"equals": "fiera"}},
        "changes": {"legal_basis": "legitimate_interests", "purposes": {"add": ["marketing"]}}
    })
}

#[tokio::test]
async fn a_rule_through_the_api_is_dry_run_applied_and_reverted_and_needs_admin() {
    let app = spawn_app().await;
    let a = contact(&app, "a@example.it", Some("fiera")).await;
    let b = contact(&app, "b@example.it", Some("fiera")).await;
    let other = contact(&app, "c@example.it", Some("web")).await;

    let (status, _) = app.post("/v1/rules", "write", &fair_rule()).await;
    assert_eq!(status, 403, "write is not enough");
    let (status, rule) = app.post("/v1/rules", "admin", &fair_rule()).await;
    assert_eq!(status, 201, "{rule}");
    let (status, p) = app.post("/v1/rules", "admin", &fair_rule()).await;
    assert_eq!((status, p["field"].as_str()), (409, Some("name")), "{p}");
    let (status, p) = app
        .post("/v1/rules", "admin", &json!({"name": "x", "changes": {}}))
        .await;
    assert_eq!((status, p["field"].as_str()), (422, Some("changes")), "{p}");
    let (status, p) = app
        .post(
            "/v1/rules",
            "admin",
            &json!({"name": "x", "changes": {"colour": "red"}}),
        )
        .await;
    assert_eq!(status, 400, "{p}");
    let id = rule["id"].as_str().unwrap();

    let (status, dry) = app
        .post(
            &format!("/v1/rules/{id}/dry-run?sample=1"),
            "admin",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["count"], 2);
    // A malformed sample size is named, as the only parameter given.
    let (status, p) = app
        .post(
            &format!("/v1/rules/{id}/dry-run?sample=many"),
            "admin",
            &json!({}),
        )
        .await;
    assert_eq!((status, p["field"].as_str()), (400, Some("sample")), "{p}");
    assert_eq!(dry["sample"].as_array().unwrap().len(), 1);
    assert_eq!(
        dry["sample"][0]["after"]["purposes"],
        json!(["assistenza", "marketing"])
    );
    let unchanged = app.store.contact(&ContactRef::Id(a.id)).await.unwrap();
    assert_eq!(unchanged.legal_basis, None, "a dry run writes nothing");

    let (status, run) = app
        .post(&format!("/v1/rules/{id}/runs"), "admin", &json!({}))
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["changed"], 2);
    for c in [&a, &b] {
        let now = app.store.contact(&ContactRef::Id(c.id)).await.unwrap();
        assert_eq!(now.purposes, vec!["assistenza", "marketing"]);
    }
    let now = app.store.contact(&ContactRef::Id(other.id)).await.unwrap();
    assert_eq!(now.legal_basis, None);
    let applied = audited(&app, "rule_run.apply").await;
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].token_name.as_deref(), Some("test-admin"));
    assert_eq!(applied[0].detail["changed"], 2);

    let run_id = run["id"].as_str().unwrap();
    let (status, reverted) = app
        .post(
            &format!("/v1/rule-runs/{run_id}/revert"),
            "admin",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{reverted}");
    assert_eq!(reverted["restored"], 2);
    let back = app.store.contact(&ContactRef::Id(a.id)).await.unwrap();
    assert_eq!(
        (back.legal_basis, back.purposes),
        (None, vec!["assistenza".to_owned()])
    );
    let (status, p) = app
        .post(
            &format!("/v1/rule-runs/{run_id}/revert"),
            "admin",
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "{p}");
    let (status, runs) = app.get("/v1/rule-runs", "admin").await;
    assert_eq!(
        (status, runs["items"][0]["restored"].clone()),
        (200, json!(2))
    );
    let (status, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/rules/{id}"),
            "admin",
            &json!({}),
        )
        .await;
    assert_eq!(status, 204);
    app.shutdown().await;
}

#[tokio::test]
async fn the_console_saves_a_rule_shows_its_dry_run_applies_it_after_confirmation_and_reverts_it() {
    let app = spawn_app().await;
    let a = contact(&app, "a@example.it", Some("fiera")).await;
    contact(&app, "b@example.it", Some("web")).await;
    let operator = app.console_as("operator").await;
    assert_eq!(
        operator.get("/rules").await.status,
        403,
        "operators do not run bulk rules"
    );

    let dpo = app.console_as("dpo").await;
    let list = dpo.get("/rules").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("href=\"/rules\""),
        "the menu links the page"
    );
    // A rule that sets nothing is refused at the field, in the user's language.
    let empty = [
        ("name", "Niente"),
        ("source_mode", "any"),
        ("purposes_mode", "keep"),
        ("attribute_mode", "keep"),
    ];
    let refused = dpo.post("/rules", &empty).await;
    assert_eq!(refused.status, 200);
    assert!(
        refused.body.contains("id=\"set_source-error\""),
        "{}",
        refused.body
    );

    let fields = [
        ("name", "Fiera"),
        ("source_mode", "equals"),
        ("source", "fiera"),
        ("set_legal_basis", "legitimate_interests"),
        ("purposes_mode", "add"),
        ("purposes", "marketing, eventi"),
        ("attribute_mode", "set"),
        ("set_attr_key", "lista"),
        ("set_attr_value", "fiera24"),
    ];
    let saved = dpo.post("/rules", &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let href = saved.location.unwrap();
    let rule_path = href.split('?').next().unwrap().to_owned();
    let detail = dpo.get(&href).await;
    assert_eq!(detail.status, 200);
    assert!(
        detail.body.contains("Verrebbe modificato 1 contatto."),
        "{}",
        detail.body
    );
    assert!(detail.body.contains(&format!("/contacts/{}", a.id)));
    assert!(
        detail.body.contains("marketing, eventi"),
        "the sample shows the new values"
    );

    let unconfirmed = dpo.post(&format!("{rule_path}/apply"), &[]).await;
    assert_eq!(unconfirmed.status, 200);
    assert!(unconfirmed.body.contains("id=\"confirm-error\""));
    assert_eq!(app.store.rule_runs(10).await.unwrap().len(), 0);
    let applied = dpo
        .post(&format!("{rule_path}/apply"), &[("confirm", "yes")])
        .await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    let now = app.store.contact(&ContactRef::Id(a.id)).await.unwrap();
    assert_eq!(now.purposes, vec!["assistenza", "marketing", "eventi"]);
    assert_eq!(now.attributes["lista"], "fiera24");
    let runs = app.store.rule_runs(10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].user_id.is_some());

    let list = dpo.get("/rules").await;
    let revert = format!("/rules/runs/{}/revert", runs[0].id);
    assert!(list.body.contains(&revert), "{}", list.body);
    let reverted = dpo.post(&revert, &[]).await;
    assert_eq!(reverted.status, 303);
    let back = app.store.contact(&ContactRef::Id(a.id)).await.unwrap();
    assert_eq!(back.purposes, vec!["assistenza"]);
    assert!(back.attributes.is_empty());
    let list = dpo.get_in("/rules", "it").await;
    assert!(
        list.body.contains("un contatto ripristinato"),
        "{}",
        list.body
    );
    assert_eq!(audited(&app, "rule_run.revert").await.len(), 1);
    app.shutdown().await;
}

#[test]
fn the_command_line_creates_dry_runs_applies_and_reverts_a_rule() {
    let s = Scratch::new();
    s.ok(&[
        "contacts",
        "add",
        "--email",
        "a@example.it",
        "--source",
        "fiera",
    ]);
    s.ok(&[
        "contacts",
        "add",
        "--email",
        "b@example.it",
        "--source",
        "web",
    ]);
    let out = s.ok(&[
        "rules",
        "create",
        "--name",
        "Fiera",
        "--source",
        "fiera",
        "--set-legal-basis",
        "f",
        "--add-purpose",
        "marketing",
    ]);
    assert!(out.starts_with("saved rule "), "{out}");
    let out = s.ok(&["rules", "dry-run", "Fiera"]);
    assert!(out.contains("would change 1 contacts"), "{out}");
    let run = s.json(&["rules", "apply", "Fiera"]);
    assert_eq!(run["changed"], 1);
    let shown = s.json(&["contacts", "show", "a@example.it"]);
    assert_eq!(
        shown["contact"]["legal_basis"], "legitimate_interests",
        "{shown}"
    );
    let out = s.ok(&["rules", "revert", run["id"].as_str().unwrap()]);
    assert!(out.contains("restored 1 contacts"), "{out}");
    let (code, err) = s.fails(&["rules", "dry-run", "Nessuna"]);
    assert_ne!(code, 0);
    assert!(err.contains("rule"), "{err}");
}

#[tokio::test]
async fn a_rectification_request_links_to_the_contact_form_which_completes_it_once_saved() {
    let app = spawn_app().await;
    let c = contact(&app, "req@example.it", None).await;
    let (status, r) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "rectification", "channel": "email", "contact_id": c.id}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let request = r["id"].as_str().unwrap();
    let dpo = app.console_as("dpo").await;
    let page = dpo.get(&format!("/requests/{request}")).await;
    let edit = format!("/contacts/{}/edit?request={request}", c.id);
    assert!(page.body.contains(&edit), "{}", page.body);
    let form = dpo.get(&edit).await;
    assert!(
        form.body.contains("name=\"complete_request\""),
        "{}",
        form.body
    );
    let saved = dpo
        .post(
            &format!("/contacts/{}/edit", c.id),
            &[
                ("name", "Maria Rossi"),
                ("emails", "req@example.it"),
                ("purposes", "assistenza"),
                ("request", request),
                ("complete_request", "yes"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location.as_deref(),
        Some(format!("/requests/{request}?done=request-moved").as_str())
    );
    let (_, r) = app.get(&format!("/v1/requests/{request}"), "read").await;
    assert_eq!(r["status"], "completed", "{r}");
    let changed = app.store.contact(&ContactRef::Id(c.id)).await.unwrap();
    assert_eq!(changed.name.as_deref(), Some("Maria Rossi"));
    // Opened without a request, the form offers no tick.
    let form = dpo.get(&format!("/contacts/{}/edit", c.id)).await;
    assert!(!form.body.contains("name=\"complete_request\""));

    // Only an open rectification request of this contact can be completed from its form: a
    // restriction request posted in its place stays open and restricts nothing, and an unticked
    // save leaves a rectification request open.
    let (_, restriction) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "restriction", "channel": "email", "contact_id": c.id}),
        )
        .await;
    let (_, second) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "rectification", "channel": "email", "contact_id": c.id}),
        )
        .await;
    for (other, tick) in [(&restriction, "yes"), (&second, "")] {
        let other = other["id"].as_str().unwrap();
        let saved = dpo
            .post(
                &format!("/contacts/{}/edit", c.id),
                &[
                    ("name", "Maria Rossi"),
                    ("emails", "req@example.it"),
                    ("purposes", "assistenza"),
                    ("request", other),
                    ("complete_request", tick),
                ],
            )
            .await;
        assert_eq!(
            saved.location.as_deref(),
            Some(format!("/contacts/{}?done=contact-saved", c.id).as_str())
        );
        let (_, r) = app.get(&format!("/v1/requests/{other}"), "read").await;
        assert_eq!(r["status"], "received", "{r}");
    }
    let unrestricted = app.store.contact(&ContactRef::Id(c.id)).await.unwrap();
    assert!(unrestricted.restricted_at.is_none());
    app.shutdown().await;
}
