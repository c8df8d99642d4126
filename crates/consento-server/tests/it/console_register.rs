//! The opt-out register's page in the console: the latest check with its counts, the list due
//! downloaded in the register's form, the register's answer uploaded (two files, the CSRF token
//! in the form's URL) and imported, or refused line by line in the reader's language with
//! nothing written; and a telemarketing campaign's list as CSV, refused while numbers lack a
//! check unless they are left out, with the others counted by cause.

use consento_server::web::session::SESSION_COOKIE;
use consento_store::AuditFilter;

use crate::support::{Console, TestApp, spawn_app};
use crate::telemarketing::{
    anna_unchecked, anna_with_consents, at, consent, contact, register_answer,
};

/// GETs `path` as the signed-in `console`, with the response's headers.
async fn download(app: &TestApp, console: &Console, path: &str) -> (u16, String, String, String) {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{path}", app.base))
        .header(
            "cookie",
            format!(
                "{SESSION_COOKIE}={}",
                console.cookie(SESSION_COOKIE).unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (media, disposition) = (header("content-type"), header("content-disposition"));
    (
        response.status().as_u16(),
        media,
        disposition,
        response.text().await.unwrap(),
    )
}

/// The audit entries of `action`, newest first.
async fn audited(app: &TestApp, action: &str) -> Vec<consento_store::AuditEntry> {
    app.store
        .audit_entries(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

#[tokio::test]
async fn the_page_shows_the_latest_check_its_counts_and_the_numbers_due() {
    let app = spawn_app().await;
    // Anna's number checked on 1 December at 11:00 in Rome, not enrolled; Bruno's never.
    anna_with_consents(&app).await;
    contact(&app, "Bruno", "+39 333 9876543").await;
    app.clock.set(at("2026-12-02T10:00:00Z"));
    let admin = app.console_as("admin").await;
    let page = admin.get_in("/rpo", "en").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("href=\"/rpo\" aria-current=\"page\""),
        "{}",
        page.body
    );
    for expected in [
        "<dd id=\"rpo-latest-answered\">2026-12-01 11:00 CET</dd>",
        "<dd id=\"rpo-latest-valid\">2026-12-16 11:00 CET</dd>",
        "<dd id=\"rpo-latest-file\">esito.csv</dd>",
        "<dd id=\"rpo-latest-by\">test, ",
        "<dd id=\"rpo-latest-numbers\">1</dd>",
        "<dd id=\"rpo-latest-enrolled\">0</dd>",
        "One number is due for a check",
        "No number is enrolled in the register.",
        "One number has a check that still counts.",
        "id=\"rpo-import\"",
        "action=\"/rpo/due.txt\"",
    ] {
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
    assert_eq!(
        page.body
            .matches("<td data-label=\"File\">esito.csv</td>")
            .count(),
        1
    );
    // An auditor reads where the checks stand, but neither downloads the numbers nor imports.
    let auditor = app.console_as("auditor").await;
    let page = auditor.get_in("/rpo", "it").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Un numero è da verificare"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"rpo-import\"") && !page.body.contains("/rpo/due.txt"));
    assert!(!page.body.contains("formaction=\"/rpo/campaign.csv\""));
    assert_eq!(auditor.get("/rpo/due.txt").await.status, 403);
    // Before any answer, the page says so.
    let fresh = spawn_app().await;
    let page = fresh.console_as("admin").await.get_in("/rpo", "en").await;
    assert!(page.body.contains("id=\"rpo-never\""), "{}", page.body);
}

#[tokio::test]
async fn the_list_due_downloads_in_the_registers_form_and_its_download_is_audited() {
    let app = spawn_app().await;
    anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    contact(&app, "Carla", "+39 06 1234 5678").await;
    let admin = app.console_as("admin").await;
    let (status, media, disposition, text) = download(&app, &admin, "/rpo/due.txt").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(media, "text/plain; charset=utf-8");
    assert_eq!(disposition, "attachment; filename=\"rpo-2026-03-01.txt\"");
    assert_eq!(text, "0612345678\n3331234567\n");
    let (_, _, _, text) = download(&app, &admin, "/rpo/due.txt?form=e164").await;
    assert_eq!(text, "+390612345678\n+393331234567\n");
    let entries = audited(&app, "rpo.export").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].detail["form"], "e164");
    assert_eq!(entries[1].detail["numbers"], 2);
    // An operator calls people but does not deal with the register.
    let operator = app.console_as("operator").await;
    assert_eq!(operator.get("/rpo/due.txt").await.status, 403);
}

#[tokio::test]
async fn the_import_form_imports_the_answer_revokes_the_earlier_consent_and_says_what_it_found() {
    let app = spawn_app().await;
    let anna = anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    app.clock.set(at("2026-03-02T11:00:00Z"));
    let admin = app.console_as("admin").await;
    let (_, _, _, sent) = download(&app, &admin, "/rpo/due.txt").await;
    // Without the token in the form's URL the upload is refused.
    let forged = admin
        .multipart(
            "/rpo/answers",
            &[("checked_at", "2026-03-02T10:00"), ("mode", "enrolled")],
            ("answer", "esito.csv", b"3331234567\n"),
        )
        .await;
    assert_eq!(forged.status, 403);
    let done = admin
        .post_files(
            "/rpo/answers",
            &[("checked_at", "2026-03-02T10:00"), ("mode", "enrolled")],
            &[
                ("answer", "esito-marzo.csv", b"3331234567\n"),
                ("sent", "lista.txt", sent.as_bytes()),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let to = done.location.unwrap();
    let page = admin.get_in(&to, "en").await;
    assert!(
        page.body.contains("The answer was imported. Numbers: 1; enrolled: 1; enrolled for the first time: 1; consents revoked: 1."),
        "{}",
        page.body
    );
    // 10:00 in Rome is 09:00 UTC: the check counts until 17 March at 10:00 in Rome.
    assert!(
        page.body
            .contains("<dd id=\"rpo-latest-valid\">2026-03-17 10:00 CET</dd>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<dd id=\"rpo-latest-file\">esito-marzo.csv</dd>")
    );
    assert!(
        page.body.contains("<dd id=\"rpo-latest-by\">admin-user, "),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("One number is enrolled in the register.")
    );
    let (_, history) = app
        .get(&format!("/v1/contacts/{anna}/consents/history"), "read")
        .await;
    let revoked: Vec<&serde_json::Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{history}");
    assert_eq!(revoked[0]["method"], "rpo");
    let entries = audited(&app, "rpo.import").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].user_id.is_some(), "{:?}", entries[0]);
    assert_eq!(entries[0].detail["file"], "esito-marzo.csv");
}

#[tokio::test]
async fn a_bad_answer_is_refused_line_by_line_in_the_readers_language_and_nothing_is_written() {
    let app = spawn_app().await;
    anna_unchecked(&app, "2026-03-01T09:00:00Z").await;
    app.clock.set(at("2026-03-02T11:00:00Z"));
    let admin = app.console_as("admin").await;
    admin
        .post("/language", &[("lang", "it"), ("next", "/rpo")])
        .await;
    let page = admin
        .post_files(
            "/rpo/answers",
            &[("checked_at", "2026-03-02T10:00"), ("mode", "enrolled")],
            &[
                (
                    "answer",
                    "esito.csv",
                    b"3331234567;1\n3330000000;1\n3331234567;forse\n",
                ),
                ("sent", "lista.txt", b"3331234567\n"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    for expected in [
        "L&#39;esito del Registro ha 2 righe non valide; non è stato importato nulla:",
        "Riga 2: il numero non era nella lista inviata",
        "Riga 3: l&#39;esito non è valido",
    ] {
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
    // A list sent that is not one, and an answer dated tomorrow.
    let page = admin
        .post_files(
            "/rpo/answers",
            &[("checked_at", "2026-03-02T10:00"), ("mode", "enrolled")],
            &[
                ("answer", "esito.csv", b"3331234567;1\n"),
                ("sent", "lista.txt", b"3331234567\nciao\n"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.body
            .contains("La lista inviata ha una riga non valida"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Riga 2: non è un numero di telefono."),
        "{}",
        page.body
    );
    let page = admin
        .post_files(
            "/rpo/answers",
            &[("checked_at", "2026-03-03T10:00"), ("mode", "enrolled")],
            &[
                ("answer", "esito.csv", b"3331234567;1\n"),
                ("sent", "lista.txt", b"3331234567\n"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.body
            .contains("L&#39;esito del Registro non può essere nel futuro."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"2026-03-03T10:00\""),
        "the form keeps what was typed"
    );
    // Nothing was written.
    assert!(
        app.store
            .rpo_status(20, at("2026-03-02T11:00:00Z"), 15)
            .await
            .unwrap()
            .recent
            .is_empty()
    );
    assert!(audited(&app, "rpo.import").await.is_empty());
    let page = admin.get("/rpo").await;
    assert!(page.body.contains("id=\"rpo-never\""), "{}", page.body);
}

#[tokio::test]
async fn the_campaign_csv_holds_the_callable_numbers_and_refuses_unchecked_ones_unless_left_out() {
    let app = spawn_app().await;
    let anna = anna_with_consents(&app).await;
    // Bruno gave the marketing consent too, but his number was never checked.
    let bruno = contact(&app, "Bruno", "+39 333 9876543").await;
    consent(&app, &bruno, "given", "OFFERS").await;
    // Thursday 3 December at 11:00 in Rome.
    app.clock.set(at("2026-12-03T10:00:00Z"));
    let operator = app.console_as("operator").await;
    let refused = operator
        .get_in("/rpo/campaign.csv?campaign=Inverno", "en")
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("One number has no check against the register that still counts"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("<strong id=\"rpo-campaign-callable\">1</strong>")
    );
    assert!(
        refused.body.contains(
            "Never checked against the register</td><td class=\"num\" data-label=\"Numbers\">1</td>"
        ),
        "{}",
        refused.body
    );
    assert!(audited(&app, "campaign.export").await.is_empty());
    let (status, media, disposition, csv) = download(
        &app,
        &operator,
        "/rpo/campaign.csv?campaign=Inverno&leave_out_unchecked=1",
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(media, "text/csv; charset=utf-8");
    assert_eq!(
        disposition,
        "attachment; filename=\"campaign-2026-12-03.csv\""
    );
    assert_eq!(csv, format!("contact_id,phone\r\n{anna},+393331234567\r\n"));
    let entries = audited(&app, "campaign.export").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            &entries[0].detail["campaign"],
            &entries[0].detail["numbers"]
        ),
        (&serde_json::json!("Inverno"), &serde_json::json!(1))
    );
    // Once Bruno's number is checked, nobody is left out and the list needs no choice.
    register_answer(&app, "2026-12-03T10:00:00Z", &[], &["+393339876543"]).await;
    let (status, _, _, csv) = download(&app, &operator, "/rpo/campaign.csv?campaign=Inverno").await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // Counting on the page: on Sunday nobody may be called, each left out for the hour.
    app.clock.set(at("2026-12-06T10:00:00Z"));
    let operator = Console::new(&app.base);
    operator
        .login("operator-user", "a long test password")
        .await;
    let page = operator.get_in("/rpo?campaign=Inverno", "it").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<strong id=\"rpo-campaign-callable\">0</strong>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(
            "Fuori dalle fasce orarie</td><td class=\"num\" data-label=\"Numeri\">2</td>"
        ),
        "{}",
        page.body
    );
    // A name that is no campaign's is refused next to the field; an auditor may not download.
    let page = operator
        .get_in("/rpo/campaign.csv?campaign=%20", "en")
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("id=\"rpo-campaign-error\""),
        "{}",
        page.body
    );
    let auditor = app.console_as("auditor").await;
    assert_eq!(
        auditor
            .get("/rpo/campaign.csv?campaign=Inverno&leave_out_unchecked=1")
            .await
            .status,
        403
    );
}
