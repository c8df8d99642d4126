//! A copy of the database file alone (no master key) is not a master key to the installation
//! (GDPR Art. 32(1)(a)): the bytes stored where the secrets are do not forge an unsubscribe
//! link, do not sign a receipt, do not hold a live confirmation link, and do not match an
//! objecting person's number in the suppression list; and the master key's own life: made
//! private, refused when it is another, rotated, and lost.

use std::path::Path;

use consento_app::links::{Link, Purpose, seal_with};
use consento_store::{
    ContactFlag, ContactInput, ContactRef, FlagChange, NewEmail, Store, WebhookEventType,
    WebhookSubscriptionInput,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{Connection as _, Row as _};

use crate::self_service::{eligible, one_click, world};
use crate::support::{Scratch, spawn_app};

/// Copies the SQLite file and its WAL, as whoever takes a copy of the data directory would.
fn copy_database(from: &Path, to: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal"] {
        let source = format!("{}{suffix}", from.display());
        if let Ok(bytes) = std::fs::read(&source) {
            std::fs::write(format!("{}{suffix}", to.display()), &bytes).unwrap();
            all.extend_from_slice(&bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every 32-byte key an attacker would try from a stored value: the value itself when it is
/// 32 bytes, else each 32-byte window.
fn candidate_keys(stored: &[u8]) -> Vec<[u8; 32]> {
    stored
        .windows(32)
        .map(|w| <[u8; 32]>::try_from(w).unwrap())
        .collect()
}

#[tokio::test]
async fn a_copy_of_the_database_file_holds_no_secret_in_clear_and_forges_nothing() {
    let app = spawn_app().await;
    let anna = world(&app).await;
    assert_eq!(eligible(&app, "newsletter").await, 1);
    let (link_id, link_secret) = app.store.link_sealing_key().await.unwrap();
    let (_, seed) = app.store.receipt_signing_key().await.unwrap();
    let subscription = app
        .store
        .create_subscription(WebhookSubscriptionInput {
            url: "http://127.0.0.1:9/hook".into(),
            description: None,
            active: true,
            kinds: vec![WebhookEventType::ConsentGiven.code().into()],
        })
        .await
        .unwrap();
    // A confirmation link waiting in the outbox (the worker is not configured to send it).
    let token = "doi-token-0123456789abcdefghijklmnopqrstuvwxyz";
    app.store
        .enqueue_email(NewEmail {
            contact_id: Some(anna),
            to: "anna.rossi@example.it".into(),
            locale: "it".into(),
            template: "double_opt_in".into(),
            payload: serde_json::json!({ "confirm_url": format!("{}/s/{token}", app.base) }),
        })
        .await
        .unwrap();
    // Mario objects to marketing: his address's keyed hash goes on the suppression list.
    let mario = app
        .store
        .create_contact(ContactInput {
            emails: vec!["mario.bianchi@example.it".into()],
            ..ContactInput::default()
        })
        .await
        .unwrap();
    app.store
        .change_flag(
            &ContactRef::Id(mario.id),
            &FlagChange::system(ContactFlag::Objection, true),
        )
        .await
        .unwrap();
    let db_path = app.db.dir.join("consento.db");
    let copy_dir = app.db.dir.join("copy");
    std::fs::create_dir_all(&copy_dir).unwrap();
    let copy = copy_dir.join("consento.db");
    let bytes = copy_database(&db_path, &copy);
    assert!(!copy_dir.join(consento_server::keys::FILE_NAME).exists());

    // Nothing secret in clear anywhere in the file, free pages and WAL included.
    assert!(!contains(&bytes, &link_secret), "a link key in clear");
    assert!(!contains(&bytes, &seed), "a receipt seed in clear");
    assert!(
        !contains(&bytes, subscription.secret.as_bytes()),
        "a webhook secret in clear"
    );
    assert!(!contains(&bytes, token.as_bytes()), "a live link in clear");

    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", copy.display()))
        .await
        .unwrap();
    // (a) A link forged with every key the stored bytes could be is refused by the server.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret FROM link_keys WHERE id = $1")
        .bind(i64::from(link_id))
        .fetch_one(&mut c)
        .await
        .unwrap();
    for key in candidate_keys(&stored) {
        let link = Link {
            contact: anna,
            type_id: None,
            purpose: Purpose::Unsubscribe,
        };
        let forged = seal_with(link_id, &key, [9; 24], &link);
        one_click(&format!("{}/u/{forged}", app.base)).await;
    }
    assert_eq!(
        eligible(&app, "newsletter").await,
        1,
        "a forged link withdrew a consent"
    );
    // (b) The stored seed is not the signing seed.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT seed FROM receipt_keys")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(!candidate_keys(&stored).contains(&seed));
    // (d) The stored suppression bytes, as an HMAC key, match no listed hash.
    let key: Vec<u8> = sqlx::query_scalar("SELECT suppression_key FROM instance")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let listed: Vec<Vec<u8>> = sqlx::query("SELECT hash FROM suppression")
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<Vec<u8>, _>("hash"))
        .collect();
    assert!(!listed.is_empty());
    let guesses: Vec<Vec<u8>> = ["email:mario.bianchi@example.it"]
        .iter()
        .flat_map(|value| {
            let mut keys: Vec<Vec<u8>> = vec![key.clone()];
            keys.extend(candidate_keys(&key).iter().map(|k| k.to_vec()));
            keys.into_iter().map(move |k| {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k).unwrap();
                mac.update(value.as_bytes());
                mac.finalize().into_bytes().to_vec()
            })
        })
        .collect();
    assert!(guesses.iter().all(|g| !listed.contains(g)));
    c.close().await.unwrap();
}

#[test]
fn the_master_key_file_is_made_private_and_a_database_sealed_under_another_key_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let db = Scratch::new();
    let out = db.ok(&["keys", "status"]);
    assert!(out.contains("consento-master-key"), "{out}");
    let file = db.key_file();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Readable by others: refused in one line naming the file.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = db.fails(&["keys", "status"]);
    assert_eq!(code, 1);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("readable by others"), "{stderr}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Another key, from the variable: refused in one line naming the variable.
    let other = db
        .run(&["keys", "status"])
        .status
        .success()
        .then(|| "ab".repeat(32))
        .unwrap();
    let with_other = Scratch {
        dir: db.dir.clone(),
        url: db.url.clone(),
        pg_schema: None,
        env: vec![("CONSENTO_MASTER_KEY".into(), other)],
    };
    let (code, stderr) = with_other.fails(&["keys", "status"]);
    std::mem::forget(with_other);
    assert_eq!(code, 1);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("CONSENTO_MASTER_KEY"), "{stderr}");
    // Another key file: refused, naming it.
    std::fs::remove_file(&file).unwrap();
    let (_, stderr) = db.fails(&["keys", "status"]);
    assert!(stderr.contains("sealed under master key"), "{stderr}");
    assert!(stderr.contains("consento-master-key"), "{stderr}");
}

async fn open(db: &Scratch) -> Store {
    Store::open(
        &db.store_config(),
        std::sync::Arc::new(consento_store::SystemClock),
        std::sync::Arc::new(consento_store::OsEntropy),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn rotating_the_master_key_keeps_links_receipts_and_webhook_secrets_working() {
    let db = Scratch::new();
    let store = open(&db).await;
    let (link_id, link_secret) = store.link_sealing_key().await.unwrap();
    let receipt = store.receipt_signing_key().await.unwrap();
    let subscription = store
        .create_subscription(WebhookSubscriptionInput {
            url: "http://127.0.0.1:9/hook".into(),
            description: None,
            active: true,
            kinds: vec![WebhookEventType::ConsentGiven.code().into()],
        })
        .await
        .unwrap();
    let before = store.master_key_id();
    store.close().await;
    let out = db.ok(&["keys", "rotate-master"]);
    assert!(out.contains("rotated"), "{out}");
    let kept = std::fs::read_dir(&db.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(&format!(".{before}.old"))
        });
    assert!(kept, "the old key file is kept");
    let store = open(&db).await;
    assert_ne!(store.master_key_id(), before);
    assert_eq!(
        store.link_opening_key(link_id).await.unwrap(),
        Some(link_secret)
    );
    assert_eq!(store.receipt_verifying_keys().await.unwrap(), vec![receipt]);
    assert_eq!(
        store.subscription(subscription.id).await.unwrap().secret,
        subscription.secret
    );
    store.close().await;
    assert!(
        db.ok(&["keys", "status"])
            .contains(&store.master_key_id().to_string())
    );
}

#[tokio::test]
async fn after_a_lost_master_key_a_reset_makes_fresh_secrets_and_the_ledger_still_verifies() {
    let db = Scratch::new();
    crate::cli::set_up(&db);
    db.ok(&["contacts", "add", "--email", "lia@example.it"]);
    db.ok(&[
        "consents",
        "give",
        "lia@example.it",
        "--type",
        "NEWSLETTER",
        "--method",
        "form",
    ]);
    let store = open(&db).await;
    let (link_id, _) = store.link_sealing_key().await.unwrap();
    store.receipt_signing_key().await.unwrap();
    let subscription = store
        .create_subscription(WebhookSubscriptionInput {
            url: "http://127.0.0.1:9/hook".into(),
            description: None,
            active: true,
            kinds: vec![WebhookEventType::ConsentGiven.code().into()],
        })
        .await
        .unwrap();
    store.close().await;
    std::fs::remove_file(db.key_file()).unwrap();
    // The next start makes a new key and refuses the database sealed under the lost one.
    let (_, stderr) = db.fails(&["ledger", "verify"]);
    assert!(stderr.contains("--lost-master-key"), "{stderr}");
    let (_, stderr) = db.fails(&["keys", "reset"]);
    assert!(stderr.contains("--lost-master-key"), "{stderr}");
    let out = db.ok(&["keys", "reset", "--lost-master-key"]);
    assert!(
        out.contains("suppression list can no longer be matched"),
        "{out}"
    );
    assert!(out.contains(&subscription.id.0.to_string()), "{out}");
    db.ok(&["ledger", "verify"]);
    let store = open(&db).await;
    assert_eq!(store.link_opening_key(link_id).await.unwrap(), None);
    assert!(store.receipt_verifying_keys().await.unwrap().is_empty());
    let renewed = store.subscription(subscription.id).await.unwrap().secret;
    assert_ne!(renewed, subscription.secret);
    assert!(out.contains(&renewed), "{out}");
    let trail = store
        .audit_entries(&consento_store::AuditFilter::default())
        .await
        .unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.action == "keys.reset_lost_master_key")
    );
    store.close().await;
}
