//! Retention (GDPR Art. 5(1)(e)) with the manual clock: a contact whose consent was withdrawn 25
//! months ago is listed and anonymised; one withdrawn 23 months ago, one with a valid consent and
//! one with an open request are not. Over the API, the console page and the CLI.

use consento_domain::{EventKind, Permissions};
use consento_store::{Contact, ContactInput, ContactRef};
use serde_json::{Value, json};

use crate::erasure::{consent, spec};
use crate::support::{TestApp, spawn_app_with};

const DAY: i64 = 86_400_000_000;

async fn marketing_contact(app: &TestApp, email: &str) -> Contact {
    app.store
        .create_contact(ContactInput {
            name: Some(format!("Persona {email}")),
            emails: vec![email.into()],
            purposes: vec!["Marketing diretto".into()],
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn record(app: &TestApp, c: &Contact, kind: EventKind) {
    app.store
        .record_consent(consent(ContactRef::Id(c.id), "NEWS", kind, None))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_consent_withdrawn_25_months_ago_is_anonymised_and_23_months_a_valid_one_or_an_open_request_are_not()
 {
    let app = spawn_app_with(false, |_| {}).await.unwrap();
    app.store
        .create_consent_type(spec(
            "NEWS",
            None,
            Permissions {
                email_bulk: true,
                ..Permissions::default()
            },
        ))
        .await
        .unwrap();
    let old = marketing_contact(&app, "old@example.it").await;
    let asking = marketing_contact(&app, "asking@example.it").await;
    let valid = marketing_contact(&app, "valid@example.it").await;
    for c in [&old, &asking, &valid] {
        record(&app, c, EventKind::Given).await;
    }
    record(&app, &old, EventKind::Withdrawn).await;
    record(&app, &asking, EventKind::Withdrawn).await;
    app.clock.advance(61 * DAY);
    let recent = marketing_contact(&app, "recent@example.it").await;
    record(&app, &recent, EventKind::Given).await;
    record(&app, &recent, EventKind::Withdrawn).await;
    // 23 months on: the first withdrawals are 25 months old, the last 23.
    app.clock.advance(701 * DAY);
    let (status, _) = app
        .post(
            "/v1/requests",
            "write",
            &json!({"kind": "access", "channel": "email", "contact_id": asking.id.to_string()}),
        )
        .await;
    assert_eq!(status, 201);

    let (status, _) = app.get("/v1/retention/candidates", "write").await;
    assert_eq!(status, 403);
    let (status, list) = app.get("/v1/retention/candidates", "admin").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contact_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![old.id.to_string()]);
    assert_eq!(list["items"][0]["months"], 24);

    // The console lists the same, for the DPO only.
    let operator = app.console_as("operator").await;
    assert_eq!(operator.get("/retention").await.status, 403);
    let dpo = app.console_as("dpo").await;
    let page = dpo.get("/retention").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Un&#39;anagrafica ha superato")
            || page.body.contains("anagrafica ha superato"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("/contacts/{}", old.id)));
    assert!(page.body.contains("id=\"retention-apply\""));
    // The command line runs on the real clock, where no consent has lapsed yet.
    let cli: Value = app.db.json(&["retention", "list"]);
    assert_eq!(cli, json!([]));
    let (code, err) = app.db.fails(&["retention", "apply"]);
    assert!(code != 0 && err.contains("--yes"), "{err}");

    // Not without confirmation; then one batch anonymises it.
    let (status, problem) = app
        .post(
            "/v1/retention/anonymizations",
            "admin",
            &json!({"confirm": false}),
        )
        .await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("confirm")));
    let (status, run) = app
        .post(
            "/v1/retention/anonymizations",
            "admin",
            &json!({"confirm": true}),
        )
        .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(
        (run["anonymized"].as_u64(), run["batches"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(run["erasures"][0]["reason"], "retention");
    let erased = app.store.contact(&ContactRef::Id(old.id)).await.unwrap();
    assert!(erased.erased_at.is_some() && erased.name.is_none() && erased.emails.is_empty());
    assert!(
        app.store
            .is_suppressed(&ContactRef::Email("old@example.it".into()))
            .await
            .unwrap()
    );
    for kept in [&recent, &valid, &asking] {
        let c = app.store.contact(&ContactRef::Id(kept.id)).await.unwrap();
        assert!(c.erased_at.is_none(), "{:?}", c.emails);
    }
    assert!(app.store.verify_ledger().await.is_ok());

    // Nothing left: the page says so, and a run from the console anonymises no one.
    let page = dpo.get("/retention").await;
    assert!(
        page.body.contains("Nessuna anagrafica ha superato"),
        "{}",
        page.body
    );
    let done = dpo.post("/retention", &[]).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some("/retention?anonymized=0"));
    app.shutdown().await;
}
