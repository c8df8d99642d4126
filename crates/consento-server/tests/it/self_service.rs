//! Self-service from an email: the personal links and their List-Unsubscribe headers, the
//! mailbox provider's one-click unsubscribe (RFC 8058), the unsubscribe page, and the
//! preference center, over real HTTP with no cookie and no session.

use consento_app::links::{Link, Purpose};
use consento_domain::{
    Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeId, ConsentTypeSpec, ContactId,
    EventKind, Permissions,
};
use consento_store::{ConsentEventInput, ContactInput, ContactRef, NoticeInput};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, spawn_app_with};

const PROVIDER_UA: &str = "Mailbox-Provider-Unsubscriber/1.0";

/// newsletter and offers (bulk email, shown in the preference center), calls (phone, not shown);
/// one contact who gave all three; a privacy notice in each language.
pub async fn world(app: &TestApp) -> ContactId {
    for (code, title, bulk, shown) in [
        ("newsletter", "Newsletter mensile", true, true),
        ("offers", "Offerte speciali", true, true),
        ("calls", "Chiamate commerciali", false, false),
    ] {
        app.store
            .create_consent_type(ConsentTypeSpec {
                title: title.into(),
                code: ConsentCode::parse(code).unwrap(),
                description: Some(format!("About {title}")),
                validity_days: None,
                permissions: Permissions {
                    email_bulk: bulk,
                    phone_call: !bulk,
                    ..Permissions::default()
                },
                show_in_preference_center: shown,
                purpose: Default::default(),
            })
            .await
            .unwrap();
    }
    for (version, language) in [("2025-03", "it"), ("2025-03-en", "en")] {
        app.store
            .publish_notice(NoticeInput {
                version: version.into(),
                language: language.into(),
                url: Some(format!("https://example.com/privacy/{version}")),
                body: None,
            })
            .await
            .unwrap();
    }
    let anna = app
        .store
        .create_contact(ContactInput {
            name: Some("Anna Rossi".into()),
            emails: vec!["anna.rossi@example.it".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    for code in ["newsletter", "offers", "calls"] {
        app.store
            .record_consent(ConsentEventInput {
                contact: ContactRef::Id(anna.id),
                type_code: code.into(),
                kind: EventKind::Given,
                event_time: None,
                method: CollectionMethod::Form,
                actor: Actor::new(ActorKind::Operator, "admin").unwrap(),
                notice_version: None,
                evidence: None,
            })
            .await
            .unwrap();
    }
    anna.id
}

/// `GET /v1/contacts/{id}/links`, as a mail sender with a read token asks it.
async fn links(app: &TestApp, id: ContactId, query: &str) -> Value {
    let (status, body) = app
        .get(&format!("/v1/contacts/{}/links{query}", id.0), "write")
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A client like a mailbox provider's or a browser's: no cookie store, no redirect followed.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(PROVIDER_UA)
        .build()
        .unwrap()
}

pub struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

async fn get(url: &str, accept_language: &str) -> Answer {
    answer(client().get(url).header("accept-language", accept_language)).await
}

/// The one-click POST as RFC 8058 §3.2 describes it: urlencoded body, no cookie.
pub async fn one_click(url: &str) -> Answer {
    answer(
        client()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click"),
    )
    .await
}

/// The same POST as multipart/form-data, written out as some providers send it.
async fn one_click_multipart(url: &str) -> Answer {
    let boundary = "----provider7MA4YWxkTrZu0gW";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--{boundary}--\r\n"
    );
    answer(
        client()
            .post(url)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body),
    )
    .await
}

async fn form(url: &str, fields: &[(&str, &str)]) -> Answer {
    answer(client().post(url).form(fields)).await
}

async fn history(app: &TestApp, id: ContactId) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/v1/contacts/{}/consents/history", id.0), "read")
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn decide(app: &TestApp, id: ContactId, action: &str) -> String {
    let (status, body) = app
        .post(
            "/v1/decisions",
            "decide",
            &json!({ "contact": { "contact_id": id.0 }, "action": action }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["outcome"].as_str().unwrap().to_owned()
}

pub async fn eligible(app: &TestApp, code: &str) -> i64 {
    let (_, counts) = app
        .get(&format!("/v1/audience/counts?type={code}"), "read")
        .await;
    counts["eligible"].as_i64().unwrap()
}

fn token_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[tokio::test]
async fn the_links_api_returns_header_values_a_mail_sender_can_add_verbatim() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    for query in ["?type=newsletter", ""] {
        let body = links(&app, anna, query).await;
        let unsubscribe = body["unsubscribe_url"].as_str().unwrap();
        let preferences = body["preferences_url"].as_str().unwrap();
        let header = body["list_unsubscribe"].as_str().unwrap();
        let post = body["list_unsubscribe_post"].as_str().unwrap();
        assert!(
            unsubscribe.starts_with(&format!("{}/u/", app.base)),
            "{body}"
        );
        assert!(
            preferences.starts_with(&format!("{}/p/", app.base)),
            "{body}"
        );
        // Header values: one line each, nothing a header could not carry.
        for value in [header, post] {
            assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)), "{value}");
        }
        assert_eq!(post, "List-Unsubscribe=One-Click");
        // The oracle: a mail client's parser reads them as an RFC 8058 one-click to our URL.
        match list_unsubscribe::parse_with_post(header, Some(post)) {
            list_unsubscribe::UnsubscribeMethod::OneClick { url } => {
                assert_eq!(url.as_str(), unsubscribe);
            }
            other => panic!("not a one-click header: {other:?}"),
        }
        // Without the Post header it is a plain link to the same page.
        assert!(matches!(
            list_unsubscribe::parse(header),
            list_unsubscribe::UnsubscribeMethod::HttpLink { .. }
        ));
        // No personal data in clear: neither the id, nor the address, nor the type.
        for url in [unsubscribe, preferences] {
            let token = token_of(url);
            assert!(token.len() >= 60, "{token}");
            assert!(!url.contains(&anna.0.to_string()));
            assert!(!url.contains(&anna.0.simple().to_string()));
            assert!(!url.contains("anna.rossi") && !url.contains("example.it"));
        }
    }
    let typed = links(&app, anna, "?type=newsletter").await;
    assert_eq!(typed["type_code"], "newsletter");
    assert_eq!(typed["contact_id"], anna.0.to_string());
    // Two requests, two different links (fresh nonces), both working.
    let again = links(&app, anna, "?type=newsletter").await;
    assert_ne!(again["unsubscribe_url"], typed["unsubscribe_url"]);
    // An unknown contact is a 404, an unknown type a 422 naming the parameter, and neither the
    // decide nor the read scope can ask (the preference link records consents).
    let (status, _) = app
        .get(
            "/v1/contacts/0190a000-0000-7000-8000-000000000000/links",
            "write",
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .get(
            &format!("/v1/contacts/{}/links?type=no-such-type", anna.0),
            "write",
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("type")));
    for scope in ["decide", "read"] {
        let (status, _) = app
            .get(&format!("/v1/contacts/{}/links", anna.0), scope)
            .await;
        assert_eq!(status, 403, "{scope}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_mailbox_providers_one_click_post_withdraws_at_once_answers_200_without_redirect_and_is_idempotent()
 {
    // On SQLite, and on PostgreSQL when the test server is configured.
    for postgres in [false, true] {
        if let Some(app) = spawn_app_with(postgres, |_| {}).await {
            one_click_on(app).await;
        }
    }
}

async fn one_click_on(app: TestApp) {
    let anna = world(&app).await;
    assert_eq!(decide(&app, anna, "email.bulk").await, "allowed");
    assert_eq!(eligible(&app, "newsletter").await, 1);
    let url = links(&app, anna, "?type=newsletter").await["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = history(&app, anna).await.len();

    let first = one_click(&url).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.headers.get("location").is_none());
    assert!(first.headers.get("set-cookie").is_none());
    assert!(
        first.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        first
            .body
            .contains("You will no longer receive “Newsletter mensile”")
            || first
                .body
                .contains("L&#39;invio di «Newsletter mensile» è stato interrotto"),
        "{}",
        first.body
    );
    // Honoured at once: the newsletter's audience and the decision see it; the other
    // newsletter still allows bulk email.
    assert_eq!(eligible(&app, "newsletter").await, 0);
    assert_eq!(eligible(&app, "offers").await, 1);
    let events = history(&app, anna).await;
    assert_eq!(events.len(), before + 1);
    let last = events.last().unwrap();
    assert_eq!(last["type_code"], "newsletter");
    assert_eq!(last["kind"], "withdrawn");
    assert_eq!(last["method"], "one_click_unsubscribe");
    assert_eq!(last["actor"]["kind"], "subject");
    let evidence: Value = serde_json::from_str(last["evidence"].as_str().unwrap()).unwrap();
    assert_eq!(evidence["user_agent"], PROVIDER_UA);
    assert_eq!(evidence["ip"], "127.0.0.0/24");
    assert_eq!(evidence["page"], "unsubscribe");
    assert!(!last["evidence"].as_str().unwrap().contains("127.0.0.1"));

    // Idempotent: the second POST still answers 200 and records nothing.
    let second = one_click(&url).await;
    assert_eq!(second.status, 200);
    assert!(second.headers.get("location").is_none());
    assert_eq!(history(&app, anna).await.len(), before + 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_multipart_one_click_for_a_link_without_a_type_withdraws_every_newsletter_and_nothing_else()
 {
    let app = spawn_app().await;
    let anna = world(&app).await;
    let url = links(&app, anna, "").await["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = one_click_multipart(&url).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.headers.get("location").is_none());
    assert_eq!(decide(&app, anna, "email.bulk").await, "blocked");
    assert_eq!(eligible(&app, "any").await, 0);
    // The phone consent permits no bulk email: it stays.
    app.in_calling_hours();
    assert_eq!(decide(&app, anna, "phone.call").await, "allowed");
    let withdrawn: Vec<(String, String)> = history(&app, anna)
        .await
        .iter()
        .filter(|e| e["kind"] == "withdrawn")
        .map(|e| {
            (
                e["type_code"].as_str().unwrap().to_owned(),
                e["method"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut codes: Vec<&str> = withdrawn.iter().map(|(c, _)| c.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["newsletter", "offers"]);
    assert!(withdrawn.iter().all(|(_, m)| m == "one_click_unsubscribe"));
    assert_eq!(one_click_multipart(&url).await.status, 200);
    assert_eq!(history(&app, anna).await.len(), 5);
    app.shutdown().await;
}

#[tokio::test]
async fn opening_the_unsubscribe_link_changes_nothing_and_its_button_unsubscribes_in_either_language()
 {
    let app = spawn_app().await;
    let anna = world(&app).await;
    let url = links(&app, anna, "?type=newsletter").await["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_owned();
    // A link scanner, then the person, open it (twice, in both languages): nothing changes.
    let english = get(&url, "en-GB,en;q=0.9").await;
    assert_eq!(english.status, 200);
    assert!(
        english
            .body
            .contains("Do you want to stop receiving “Newsletter mensile”?"),
        "{}",
        english.body
    );
    assert!(
        english
            .body
            .contains("name=\"List-Unsubscribe\" value=\"One-Click\"")
    );
    let italian = get(&url, "it-IT,it;q=0.9").await;
    assert!(
        italian
            .body
            .contains("Per non ricevere più «Newsletter mensile», premere il pulsante."),
        "{}",
        italian.body
    );
    assert!(italian.body.contains("<html lang=\"it\">"));
    assert_eq!(history(&app, anna).await.len(), 3);
    assert_eq!(eligible(&app, "newsletter").await, 1);

    // The button posts the one-click body to the page's own address, in the page's language.
    let action = italian
        .body
        .split("<form method=\"post\" action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(url.ends_with(action.split('?').next().unwrap()));
    let pressed = form(
        &format!("{}{action}", app.base),
        &[("List-Unsubscribe", "One-Click")],
    )
    .await;
    assert_eq!(pressed.status, 200);
    assert!(
        pressed.body.contains(
            "L&#39;invio di «Newsletter mensile» è stato interrotto, con effetto immediato."
        ),
        "{}",
        pressed.body
    );
    // …with a link to the preference center, which opens.
    let preferences = pressed
        .body
        .split("id=\"preferences-link\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(preferences.starts_with("/p/"), "{preferences}");
    let center = get(&format!("{}{preferences}", app.base), "en").await;
    assert_eq!(center.status, 200);
    assert!(
        center.body.contains("Iscrizioni e preferenze"),
        "{}",
        center.body
    );
    assert_eq!(eligible(&app, "newsletter").await, 0);
    // Opened again afterwards, the page says there is nothing left to stop.
    let after = get(&url, "en").await;
    assert!(
        after
            .body
            .contains("You are not subscribed to “Newsletter mensile”")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_post_without_the_one_click_body_is_a_400_and_changes_nothing() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    let url = links(&app, anna, "").await["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_owned();
    for (content_type, body) in [
        ("application/x-www-form-urlencoded", ""),
        ("application/x-www-form-urlencoded", "List-Unsubscribe=Yes"),
        ("application/json", "{\"List-Unsubscribe\":\"One-Click\"}"),
        (
            "multipart/form-data; boundary=abc",
            "List-Unsubscribe=One-Click",
        ),
    ] {
        let refused = answer(
            client()
                .post(&url)
                .header("content-type", content_type)
                .body(body),
        )
        .await;
        assert_eq!(refused.status, 400, "{content_type} {body}");
        assert!(
            refused.body.contains("Nothing was changed")
                || refused.body.contains("Nessuna modifica")
        );
    }
    assert_eq!(history(&app, anna).await.len(), 3);
    assert_eq!(decide(&app, anna, "email.bulk").await, "allowed");
    app.shutdown().await;
}

#[tokio::test]
async fn a_tampered_truncated_foreign_or_misdirected_token_changes_nothing_and_gets_the_same_404() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    let body = links(&app, anna, "?type=newsletter").await;
    let unsubscribe = body["unsubscribe_url"].as_str().unwrap().to_owned();
    let good = token_of(&unsubscribe).to_owned();
    let preferences_token = token_of(body["preferences_url"].as_str().unwrap()).to_owned();
    let newsletter = app.store.consent_type("newsletter").await.unwrap().id;
    let link = |contact: ContactId, type_id: Option<ConsentTypeId>| Link {
        contact,
        type_id,
        purpose: Purpose::Unsubscribe,
    };
    let mut tampered = good.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let wrong = vec![
        String::from_utf8(tampered).unwrap(),
        good[..good.len() - 4].to_owned(),
        // Another installation's key, with the same id as ours, naming Anna and the newsletter.
        consento_app::links::seal_with(1, &[0x42; 32], [7; 24], &link(anna, Some(newsletter))),
        // A preference-center token at the unsubscribe address.
        preferences_token,
        // Sealed by our own key, for a contact that does not exist.
        consento_app::links::seal(
            &app.store,
            &link(
                ContactId("0190a000-0000-7000-8000-00000000dead".parse().unwrap()),
                Some(newsletter),
            ),
        )
        .await
        .unwrap(),
        "nonsense".to_owned(),
    ];
    let mut pages = Vec::new();
    for token in &wrong {
        let url = format!("{}/u/{token}?lang=en", app.base);
        for answer in [one_click(&url).await, get(&url, "en").await] {
            assert_eq!(answer.status, 404, "{token}");
            assert!(
                answer.body.contains("This link does not work"),
                "{}",
                answer.body
            );
            pages.push(answer.body.replace(token.as_str(), "TOKEN"));
        }
    }
    // Every refusal is the same page: nothing tells which of these it was.
    assert!(pages.windows(2).all(|w| w[0] == w[1]));
    let center = get(&format!("{}/p/{}", app.base, good), "en").await;
    assert_eq!(center.status, 404);
    assert_eq!(history(&app, anna).await.len(), 3);
    assert_eq!(eligible(&app, "newsletter").await, 1);
    // The real one still works.
    assert_eq!(one_click(&unsubscribe).await.status, 200);
    app.shutdown().await;
}

#[tokio::test]
async fn links_survive_a_key_rotation_and_stop_once_their_key_is_retired() {
    // On SQLite, and on PostgreSQL when the test server is configured.
    for postgres in [false, true] {
        if let Some(app) = spawn_app_with(postgres, |_| {}).await {
            rotation_on(app).await;
        }
    }
}

async fn rotation_on(app: TestApp) {
    let anna = world(&app).await;
    let old = links(&app, anna, "").await;
    let old_unsubscribe = old["unsubscribe_url"].as_str().unwrap().to_owned();
    let old_preferences = old["preferences_url"].as_str().unwrap().to_owned();
    let first_key = consento_app::links::key_id_of(token_of(&old_unsubscribe)).unwrap();

    let rotated = app.db.json(&["links", "rotate-key"]);
    let second_key = u32::try_from(rotated["id"].as_u64().unwrap()).unwrap();
    assert!(second_key > first_key);
    let new = links(&app, anna, "").await;
    let new_preferences = new["preferences_url"].as_str().unwrap().to_owned();
    assert_eq!(
        consento_app::links::key_id_of(token_of(&new_preferences)),
        Some(second_key)
    );
    // Mails already sent keep working after the rotation.
    assert_eq!(get(&old_unsubscribe, "en").await.status, 200);
    assert_eq!(get(&old_preferences, "en").await.status, 200);

    let retired = app.db.ok(&["links", "retire-key", &first_key.to_string()]);
    assert!(
        retired.contains(&format!("retired link key {first_key}")),
        "{retired}"
    );
    let keys = app.db.ok(&["links", "keys"]);
    assert_eq!(keys.lines().count(), 3, "{keys}");
    // Retired: its links open nothing and change nothing; the new key's links work.
    assert_eq!(get(&old_preferences, "en").await.status, 404);
    assert_eq!(one_click(&old_unsubscribe).await.status, 404);
    assert_eq!(decide(&app, anna, "email.bulk").await, "allowed");
    assert_eq!(get(&new_preferences, "en").await.status, 200);
    let unknown = app.db.fails(&["links", "retire-key", "999"]);
    assert!(unknown.1.contains("link key"), "{}", unknown.1);
    app.shutdown().await;
}

/// The form of the preference center's topic `code` on `page`: its action and hidden fields.
fn topic_form(page: &str, code: &str) -> (String, Vec<(String, String)>) {
    let section = page
        .split(&format!("id=\"topic-{code}\""))
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap();
    let action = section
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let fields = section
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|input| {
            let name = input.split('"').next().unwrap().to_owned();
            let value = input
                .split("value=\"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap()
                .to_owned();
            (name, value)
        })
        .collect();
    (action, fields)
}

async fn submit(app: &TestApp, (action, fields): (String, Vec<(String, String)>)) -> Answer {
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form(&format!("{}{action}", app.base), &fields).await
}

#[tokio::test]
async fn the_preference_center_switches_a_topic_off_and_on_with_the_notice_version_recorded() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    let url = links(&app, anna, "").await["preferences_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = get(&url, "en").await;
    assert_eq!(page.status, 200);
    // The topics shown in the preference center, with their state and since when; the phone
    // consent is no topic; nothing about the person themselves.
    assert!(page.body.contains("Newsletter mensile") && page.body.contains("Offerte speciali"));
    assert!(page.body.contains("About Newsletter mensile"));
    assert!(!page.body.contains("Chiamate commerciali"));
    assert!(page.body.contains("Subscribed</span>"));
    assert!(page.body.contains("since "));
    assert!(!page.body.contains("anna") && !page.body.contains("Anna"));
    assert!(page.body.contains("version 2025-03-en"), "{}", page.body);

    let off = submit(&app, topic_form(&page.body, "newsletter")).await;
    assert_eq!(off.status, 303, "{}", off.body);
    let back = off.headers["location"].to_str().unwrap().to_owned();
    assert!(
        back.contains("done=public-unsubscribed") && back.contains("lang=en"),
        "{back}"
    );
    let page = get(&format!("{}{back}", app.base), "it").await;
    assert!(
        page.body
            .contains("You are unsubscribed. This takes effect immediately."),
        "{}",
        page.body
    );
    assert_eq!(eligible(&app, "newsletter").await, 0);
    let events = history(&app, anna).await;
    let last = events.last().unwrap();
    assert_eq!(
        (&last["kind"], &last["method"], &last["actor"]["kind"]),
        (
            &json!("withdrawn"),
            &json!("preference_center"),
            &json!("subject")
        )
    );

    // On again: a given consent with the notice version the page showed.
    let (action, fields) = topic_form(&page.body, "newsletter");
    assert!(fields.contains(&("action".into(), "give".into())));
    assert!(fields.contains(&("notice".into(), "2025-03-en".into())));
    let on = submit(&app, (action, fields)).await;
    assert_eq!(on.status, 303);
    assert_eq!(eligible(&app, "newsletter").await, 1);
    let events = history(&app, anna).await;
    let last = events.last().unwrap();
    assert_eq!(last["kind"], "given");
    assert_eq!(last["method"], "preference_center");
    assert_eq!(last["actor"]["kind"], "subject");
    assert_eq!(last["notice_version"], "2025-03-en");
    let evidence: Value = serde_json::from_str(last["evidence"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&evidence["user_agent"], &evidence["ip"], &evidence["page"]),
        (
            &json!(PROVIDER_UA),
            &json!("127.0.0.0/24"),
            &json!("preferences")
        )
    );
    // Subscribing twice records nothing more; a topic not offered here is refused.
    let count = events.len();
    let page = get(&url, "it").await;
    assert!(page.body.contains("versione 2025-03"), "{}", page.body);
    let off_form = topic_form(&page.body, "newsletter");
    assert!(off_form.1.contains(&("action".into(), "withdraw".into())));
    let twice = form(
        &format!("{}{}", app.base, off_form.0),
        &[
            ("action", "give"),
            ("topic", "newsletter"),
            ("notice", "2025-03"),
        ],
    )
    .await;
    assert_eq!(twice.status, 303);
    let hidden = form(
        &format!("{}{}", app.base, off_form.0),
        &[("action", "give"), ("topic", "calls")],
    )
    .await;
    assert_eq!(hidden.status, 422);
    assert!(
        hidden
            .body
            .contains("Questo argomento non può essere scelto qui.")
    );
    assert_eq!(history(&app, anna).await.len(), count);
    app.shutdown().await;
}

#[tokio::test]
async fn withdrawing_everything_withdraws_every_consent_in_force_in_one_action() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    let url = links(&app, anna, "").await["preferences_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = get(&url, "it").await;
    assert!(page.body.contains("Revoca tutti i consensi"));
    let done = form(&url, &[("action", "withdraw-all")]).await;
    assert_eq!(done.status, 303);
    let back = done.headers["location"].to_str().unwrap().to_owned();
    let page = get(&format!("{}{back}", app.base), "it").await;
    assert!(
        page.body
            .contains("Tutti i consensi dati sono stati revocati."),
        "{}",
        page.body
    );
    assert!(page.body.contains("Non risulta alcun consenso in vigore."));
    for action in ["email.bulk", "phone.call"] {
        assert_ne!(decide(&app, anna, action).await, "allowed", "{action}");
    }
    let events = history(&app, anna).await;
    let withdrawn: Vec<&Value> = events.iter().filter(|e| e["kind"] == "withdrawn").collect();
    assert_eq!(withdrawn.len(), 3);
    assert!(withdrawn.iter().all(|e| e["method"] == "preference_center"));
    app.shutdown().await;
}

#[tokio::test]
async fn a_person_who_objected_sees_and_can_withdraw_but_subscribing_lifts_nothing() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    app.store
        .set_objected(&ContactRef::Id(anna), true)
        .await
        .unwrap();
    let url = links(&app, anna, "").await["preferences_url"]
        .as_str()
        .unwrap()
        .to_owned();
    // Withdraw one topic first, so that one is off and the other on.
    assert_eq!(
        form(&url, &[("action", "withdraw"), ("topic", "offers")])
            .await
            .status,
        303
    );
    let page = get(&url, "en").await;
    assert!(page.body.contains("id=\"objected\""), "{}", page.body);
    assert!(
        page.body
            .contains("withdraw your objection by contacting us")
    );
    // The topic that is off offers no button; the one that is on still unsubscribes.
    let offers = page
        .body
        .split("id=\"topic-offers\"")
        .nth(1)
        .and_then(|r| r.split("</section>").next())
        .unwrap();
    assert!(!offers.contains("<form"), "{offers}");
    assert!(
        topic_form(&page.body, "newsletter")
            .1
            .contains(&("action".into(), "withdraw".into()))
    );
    let before = history(&app, anna).await.len();
    let refused = form(
        &format!("{url}?lang=en"),
        &[
            ("action", "give"),
            ("topic", "offers"),
            ("notice", "2025-03-en"),
        ],
    )
    .await;
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .body
            .contains("The subscription was not made: your objection to marketing stays in force."),
        "{}",
        refused.body
    );
    assert_eq!(history(&app, anna).await.len(), before);
    assert_eq!(decide(&app, anna, "email.bulk").await, "blocked");
    app.shutdown().await;
}

#[tokio::test]
async fn the_public_pages_speak_italian_and_english_send_no_referrer_and_carry_the_csp() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    let body = links(&app, anna, "").await;
    let unsubscribe = body["unsubscribe_url"].as_str().unwrap().to_owned();
    let preferences = body["preferences_url"].as_str().unwrap().to_owned();
    let pages = [
        (
            format!("{preferences}?lang=it"),
            "Iscrizioni e preferenze",
            200,
        ),
        (format!("{preferences}?lang=en"), "Your subscriptions", 200),
        (
            format!("{unsubscribe}?lang=it"),
            "Annullamento dell&#39;iscrizione",
            200,
        ),
        (format!("{unsubscribe}?lang=en"), "Unsubscribe", 200),
        (
            format!("{}/p/wrong?lang=it", app.base),
            "Questo link non funziona",
            404,
        ),
        (
            format!("{}/u/wrong?lang=en", app.base),
            "This link does not work",
            404,
        ),
    ];
    for (url, text, status) in pages {
        // The browser says English; the page's own language link wins.
        let page = get(&url, "en").await;
        assert_eq!(page.status, status, "{url}");
        assert!(page.body.contains(text), "{url}: {}", page.body);
        let header = |name: &str| page.headers[name].to_str().unwrap().to_owned();
        assert_eq!(header("referrer-policy"), "no-referrer");
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert!(!page.body.contains("style=") && !page.body.contains("<script"));
        assert_eq!(header("cache-control"), "no-store");
        assert_eq!(header("x-frame-options"), "DENY");
        assert!(header("x-robots-tag").contains("noindex"));
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_preference_center_switches_email_off_and_back_on_with_its_evidence() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    let url = links(&app, anna, "").await["preferences_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = get(&url, "it").await;
    assert!(page.body.contains("Mezzi di contatto"), "{}", page.body);
    assert!(page.body.contains("id=\"channel-email\""));
    assert_eq!(eligible(&app, "newsletter").await, 1);
    let off = form(
        &format!("{url}?lang=it"),
        &[("action", "channel-off"), ("channel", "email")],
    )
    .await;
    assert_eq!(off.status, 303, "{}", off.body);
    // No newsletter any more, and a single email needs a reason that is not marketing.
    assert_eq!(eligible(&app, "newsletter").await, 0);
    assert_eq!(decide(&app, anna, "email.bulk").await, "blocked");
    assert_eq!(
        decide(&app, anna, "email.single").await,
        "needs_justification"
    );
    let back = off.headers["location"].to_str().unwrap().to_owned();
    let page = get(&format!("{}{back}", app.base), "it").await;
    assert!(
        page.body.contains("non verrà più usato per il marketing"),
        "{}",
        page.body
    );
    let history = app
        .store
        .channel_history(&ContactRef::Id(anna))
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].method,
        consento_domain::CollectionMethod::PreferenceCenter
    );
    assert_eq!(history[0].actor.kind, consento_domain::ActorKind::Subject);
    assert!(
        history[0]
            .evidence
            .as_deref()
            .unwrap_or_default()
            .contains("user_agent")
    );
    let on = form(&url, &[("action", "channel-on"), ("channel", "email")]).await;
    assert_eq!(on.status, 303);
    assert_eq!(eligible(&app, "newsletter").await, 1);
    let bad = form(&url, &[("action", "channel-off"), ("channel", "fax")]).await;
    assert_eq!(bad.status, 422);
}

/// `GET /subscribe` as a client whose request carries `X-Forwarded-For: forwarded` (if any).
async fn subscribe_page(app: &TestApp, forwarded: Option<&str>) -> Answer {
    let mut request = client().get(format!("{}/subscribe", app.base));
    if let Some(f) = forwarded {
        request = request.header("x-forwarded-for", f);
    }
    answer(request).await
}

/// The evidence of the last event in `id`'s history.
async fn last_evidence(app: &TestApp, id: ContactId) -> Value {
    let events = history(app, id).await;
    serde_json::from_str(events.last().unwrap()["evidence"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_budgeted_limited_at_login_and_kept_as_evidence()
 {
    let app = spawn_app_with(false, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".to_owned(), "::1".to_owned()];
        c.public.requests_per_minute = 2;
        c.console.login_attempts_per_minute = 2;
    })
    .await
    .unwrap();
    let anna = world(&app).await;
    // The public pages' budget is the forwarded client's, not the proxy's.
    for _ in 0..2 {
        let page = subscribe_page(&app, Some("6.6.6.6, 203.0.113.7")).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    assert_eq!(
        subscribe_page(&app, Some("6.6.6.6, 203.0.113.7"))
            .await
            .status,
        429
    );
    // Another client behind the same proxy has a budget of its own; so does the left-most
    // address, which only the client wrote.
    assert_eq!(subscribe_page(&app, Some("203.0.113.8")).await.status, 200);
    assert_eq!(
        subscribe_page(&app, Some("203.0.113.7, 203.0.113.9"))
            .await
            .status,
        200
    );

    // The evidence of a one-click unsubscribe keeps the forwarded client's network.
    let url = links(&app, anna, "?type=newsletter").await["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = answer(
        client()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", "198.51.100.23")
            .body("List-Unsubscribe=One-Click"),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(last_evidence(&app, anna).await["ip"], "198.51.100.0/24");

    // The console's login limit counts per forwarded client.
    let console = crate::support::Console::new(&app.base);
    console.get("/login").await;
    let wrong = [("username", "nobody"), ("password", "wrong password")];
    for _ in 0..2 {
        let page = console
            .post_with("/login", &wrong, &[("x-forwarded-for", "192.0.2.1")])
            .await;
        assert_eq!(page.status, 401, "{}", page.body);
    }
    let throttled = console
        .post_with("/login", &wrong, &[("x-forwarded-for", "192.0.2.1")])
        .await;
    assert_eq!(throttled.status, 429);
    let other = console
        .post_with("/login", &wrong, &[("x-forwarded-for", "192.0.2.2")])
        .await;
    assert_eq!(other.status, 401, "{}", other.body);
    app.shutdown().await;
}

#[tokio::test]
async fn a_forged_x_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    // No trusted proxy: the header is anyone's to write, and ignored.
    let app = spawn_app_with(false, |c| {
        c.public.requests_per_minute = 2;
        c.console.login_attempts_per_minute = 2;
    })
    .await
    .unwrap();
    let anna = world(&app).await;
    assert_eq!(subscribe_page(&app, Some("203.0.113.1")).await.status, 200);
    assert_eq!(subscribe_page(&app, Some("203.0.113.2")).await.status, 200);
    let refused = subscribe_page(&app, Some("203.0.113.3")).await;
    assert_eq!(refused.status, 429);
    let url = links(&app, anna, "?type=newsletter").await["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = answer(
        client()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", "198.51.100.23")
            .header("forwarded", "for=198.51.100.23")
            .body("List-Unsubscribe=One-Click"),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(last_evidence(&app, anna).await["ip"], "127.0.0.0/24");
    let console = crate::support::Console::new(&app.base);
    console.get("/login").await;
    let wrong = [("username", "nobody"), ("password", "wrong password")];
    for forged in ["192.0.2.1", "192.0.2.2"] {
        let page = console
            .post_with("/login", &wrong, &[("x-forwarded-for", forged)])
            .await;
        assert_eq!(page.status, 401, "{}", page.body);
    }
    let page = console
        .post_with("/login", &wrong, &[("x-forwarded-for", "192.0.2.3")])
        .await;
    assert_eq!(page.status, 429);
    app.shutdown().await;
}

#[tokio::test]
async fn a_public_pages_429_keeps_its_retry_after_header() {
    let app = spawn_app_with(false, |c| c.public.requests_per_minute = 1)
        .await
        .unwrap();
    assert_eq!(subscribe_page(&app, None).await.status, 200);
    let refused = answer(
        client()
            .get(format!("{}/subscribe", app.base))
            .header("accept-language", "en"),
    )
    .await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.headers["retry-after"], "60");
    assert!(
        refused.body.contains("Too many requests"),
        "{}",
        refused.body
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_valid_one_click_unsubscribe_is_never_refused_for_the_budget_and_an_invalid_one_is() {
    let app = spawn_app_with(false, |c| c.public.requests_per_minute = 1)
        .await
        .unwrap();
    let anna = world(&app).await;
    let url = links(&app, anna, "?type=newsletter").await["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_owned();
    // The address's budget is spent.
    assert_eq!(subscribe_page(&app, None).await.status, 200);
    assert_eq!(subscribe_page(&app, None).await.status, 429);
    let before = history(&app, anna).await.len();
    let done = one_click(&url).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let events = history(&app, anna).await;
    assert_eq!(events.len(), before + 1);
    assert_eq!(events.last().unwrap()["kind"], "withdrawn");
    assert_eq!(eligible(&app, "newsletter").await, 0);
    // A token that opens nothing stays budgeted, as does the page of a valid one.
    let token = token_of(&url);
    let mut altered: Vec<char> = token.chars().collect();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == 'A' { 'B' } else { 'A' };
    let forged = format!(
        "{}{}",
        url.trim_end_matches(token),
        altered.into_iter().collect::<String>()
    );
    assert_eq!(one_click(&forged).await.status, 429);
    assert_eq!(
        one_click(&format!("{}/u/not-a-token", app.base))
            .await
            .status,
        429
    );
    assert_eq!(get(&url, "en").await.status, 429);
    app.shutdown().await;
}
