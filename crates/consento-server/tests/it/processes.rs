//! Several `consento serve` processes on one PostgreSQL database, as a business runs them when it
//! outgrows one machine: each answers decisions from memory, and each sees at its next decision
//! what any other committed before it was asked.

use std::sync::Arc;

use consento_domain::{ConsentCode, ConsentTypeSpec, Permissions};
use consento_store::{ContactInput, OsEntropy, Store, SystemClock};
use serde_json::{Value, json};

use crate::support::{Scratch, serve, terminate};

/// Asks `base` whether the newsletter may reach each of `people`; true where it may.
async fn allowed(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    people: &[String],
) -> Vec<bool> {
    let mut out = Vec::new();
    for id in people {
        let body: Value = client
            .post(format!("{base}/v1/decisions"))
            .bearer_auth(token)
            .json(&json!({"contact": {"contact_id": id}, "action": "email.bulk"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.push(match body["outcome"].as_str() {
            Some("allowed") => true,
            Some(_) => false,
            None => panic!("no outcome: {body}"),
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_serve_processes_each_see_the_others_consent_changes_at_their_next_decision() {
    let Some(db) = Scratch::postgres() else {
        println!("CONSENTO_TEST_POSTGRES_URL is not set: skipped");
        return;
    };
    let store = Store::open(
        &db.store_config(),
        Arc::new(SystemClock),
        Arc::new(OsEntropy),
    )
    .await
    .unwrap();
    store
        .create_consent_type(ConsentTypeSpec {
            title: "Newsletter".into(),
            code: ConsentCode::parse("NEWS").unwrap(),
            description: None,
            validity_days: Some(365),
            permissions: Permissions {
                email_bulk: true,
                ..Permissions::default()
            },
            show_in_preference_center: true,
            purpose: Default::default(),
        })
        .await
        .unwrap();
    let mut people = Vec::new();
    for n in 0..6 {
        let c = store
            .create_contact(ContactInput {
                emails: vec![format!("persona{n}@example.it")],
                ..ContactInput::default()
            })
            .await
            .unwrap();
        people.push(c.id.0.to_string());
    }
    store.close().await;
    let token = db.json(&["tokens", "create", "--name", "crm", "--scope", "write"])["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (url, schema, dir) = (
        db.url.clone(),
        db.pg_schema.clone().unwrap(),
        db.dir.clone(),
    );
    let ((a, a_url), (b, b_url)) = tokio::task::spawn_blocking(move || {
        (serve(&url, &schema, &dir), serve(&url, &schema, &dir))
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let mut expected = vec![false; people.len()];
    // Both remember everyone before the first change.
    assert_eq!(allowed(&client, &a_url, &token, &people).await, expected);
    assert_eq!(allowed(&client, &b_url, &token, &people).await, expected);
    for round in 0..30 {
        // One process records a change; the other is asked at once, then the writer itself.
        let (writer, other) = if round % 2 == 0 {
            (&a_url, &b_url)
        } else {
            (&b_url, &a_url)
        };
        let who = round % people.len();
        let kind = if expected[who] { "withdrawn" } else { "given" };
        let status = client
            .post(format!("{writer}/v1/contacts/{}/consents", people[who]))
            .bearer_auth(&token)
            .json(&json!({"type_code": "NEWS", "kind": kind, "method": "form"}))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "round {round}: {status}");
        expected[who] = !expected[who];
        assert_eq!(
            allowed(&client, other, &token, &people).await,
            expected,
            "round {round}: the other process"
        );
        assert_eq!(
            allowed(&client, writer, &token, &people).await,
            expected,
            "round {round}: the process that wrote"
        );
    }
    // A change neither process made, from the command line: seen by both.
    let first = &people[0];
    let verb = if expected[0] { "withdraw" } else { "give" };
    db.ok(&[
        "consents", verb, first, "--type", "NEWS", "--method", "operator",
    ]);
    expected[0] = !expected[0];
    assert_eq!(allowed(&client, &a_url, &token, &people).await, expected);
    assert_eq!(allowed(&client, &b_url, &token, &people).await, expected);
    tokio::task::spawn_blocking(move || {
        terminate(a);
        terminate(b);
    })
    .await
    .unwrap();
}
