//! Embedded migrations, applied at start in one transaction each. On PostgreSQL an advisory lock
//! makes several processes starting together apply them once.

use sha2::{Digest, Sha256};

use crate::{Db, Store, StoreError};

/// (version, name, SQLite text, PostgreSQL text). The schema differs per backend only in types
/// (BLOB/UUID/BYTEA), `WITHOUT ROWID`, and the trigger language. Each version is checked and
/// applied on its own, in list order; numbers need not be contiguous (0002 belongs to a change
/// made on another branch, and may arrive after 0003 on a database that already has 0003).
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "core",
        include_str!("../migrations/sqlite/0001_core.sql"),
        include_str!("../migrations/postgres/0001_core.sql"),
    ),
    (
        2,
        "api",
        include_str!("../migrations/sqlite/0002_api.sql"),
        include_str!("../migrations/postgres/0002_api.sql"),
    ),
    (
        3,
        "webhooks",
        include_str!("../migrations/sqlite/0003_webhooks.sql"),
        include_str!("../migrations/postgres/0003_webhooks.sql"),
    ),
    (
        4,
        "name_search",
        include_str!("../migrations/sqlite/0004_name_search.sql"),
        include_str!("../migrations/postgres/0004_name_search.sql"),
    ),
    (
        5,
        "unfolded_names",
        include_str!("../migrations/sqlite/0005_unfolded_names.sql"),
        include_str!("../migrations/postgres/0005_unfolded_names.sql"),
    ),
    (
        6,
        "console",
        include_str!("../migrations/sqlite/0006_console.sql"),
        include_str!("../migrations/postgres/0006_console.sql"),
    ),
    (
        7,
        "dashboard",
        include_str!("../migrations/sqlite/0007_dashboard.sql"),
        include_str!("../migrations/postgres/0007_dashboard.sql"),
    ),
    (
        8,
        "channels",
        include_str!("../migrations/sqlite/0008_channels.sql"),
        include_str!("../migrations/postgres/0008_channels.sql"),
    ),
    (
        9,
        "links",
        include_str!("../migrations/sqlite/0009_links.sql"),
        include_str!("../migrations/postgres/0009_links.sql"),
    ),
    (
        10,
        "mail",
        include_str!("../migrations/sqlite/0010_mail.sql"),
        include_str!("../migrations/postgres/0010_mail.sql"),
    ),
    (
        11,
        "requests",
        include_str!("../migrations/sqlite/0011_requests.sql"),
        include_str!("../migrations/postgres/0011_requests.sql"),
    ),
    (
        12,
        "erasure",
        include_str!("../migrations/sqlite/0012_erasure.sql"),
        include_str!("../migrations/postgres/0012_erasure.sql"),
    ),
    (
        13,
        "receipts",
        include_str!("../migrations/sqlite/0013_receipts.sql"),
        include_str!("../migrations/postgres/0013_receipts.sql"),
    ),
    (
        14,
        "imports",
        include_str!("../migrations/sqlite/0014_imports.sql"),
        include_str!("../migrations/postgres/0014_imports.sql"),
    ),
    (
        15,
        "rules",
        include_str!("../migrations/sqlite/0015_rules.sql"),
        include_str!("../migrations/postgres/0015_rules.sql"),
    ),
    (
        16,
        "flags",
        include_str!("../migrations/sqlite/0016_flags.sql"),
        include_str!("../migrations/postgres/0016_flags.sql"),
    ),
    (
        17,
        "decision_changes",
        include_str!("../migrations/sqlite/0017_decision_changes.sql"),
        include_str!("../migrations/postgres/0017_decision_changes.sql"),
    ),
    (
        18,
        "evidence",
        include_str!("../migrations/sqlite/0018_evidence.sql"),
        include_str!("../migrations/postgres/0018_evidence.sql"),
    ),
    (
        19,
        "evidence_by_seq",
        include_str!("../migrations/sqlite/0019_evidence_by_seq.sql"),
        include_str!("../migrations/postgres/0019_evidence_by_seq.sql"),
    ),
    (
        20,
        "suspended_contacts",
        include_str!("../migrations/sqlite/0020_suspended_contacts.sql"),
        include_str!("../migrations/postgres/0020_suspended_contacts.sql"),
    ),
    (
        21,
        "code_case",
        include_str!("../migrations/sqlite/0021_code_case.sql"),
        include_str!("../migrations/postgres/0021_code_case.sql"),
    ),
    (
        22,
        "controller",
        include_str!("../migrations/sqlite/0022_controller.sql"),
        include_str!("../migrations/postgres/0022_controller.sql"),
    ),
    (
        23,
        "sealed_secrets",
        include_str!("../migrations/sqlite/0023_sealed_secrets.sql"),
        include_str!("../migrations/postgres/0023_sealed_secrets.sql"),
    ),
    (
        24,
        "import_parts",
        include_str!("../migrations/sqlite/0024_import_parts.sql"),
        include_str!("../migrations/postgres/0024_import_parts.sql"),
    ),
    (
        25,
        "type_purpose",
        include_str!("../migrations/sqlite/0025_type_purpose.sql"),
        include_str!("../migrations/postgres/0025_type_purpose.sql"),
    ),
    (
        26,
        "rpo_register",
        include_str!("../migrations/sqlite/0026_rpo_register.sql"),
        include_str!("../migrations/postgres/0026_rpo_register.sql"),
    ),
    (
        27,
        "call_outcomes",
        include_str!("../migrations/sqlite/0027_call_outcomes.sql"),
        include_str!("../migrations/postgres/0027_call_outcomes.sql"),
    ),
    (
        28,
        "ring_exceptions",
        include_str!("../migrations/sqlite/0028_ring_exceptions.sql"),
        include_str!("../migrations/postgres/0028_ring_exceptions.sql"),
    ),
    (
        29,
        "held_messages",
        include_str!("../migrations/sqlite/0029_held_messages.sql"),
        include_str!("../migrations/postgres/0029_held_messages.sql"),
    ),
    (
        30,
        "relay",
        include_str!("../migrations/sqlite/0030_relay.sql"),
        include_str!("../migrations/postgres/0030_relay.sql"),
    ),
    (
        31,
        "ring_changes",
        include_str!("../migrations/sqlite/0031_ring_changes.sql"),
        include_str!("../migrations/postgres/0031_ring_changes.sql"),
    ),
    (
        32,
        "relay_hold",
        include_str!("../migrations/sqlite/0032_relay_hold.sql"),
        include_str!("../migrations/postgres/0032_relay_hold.sql"),
    ),
    (
        33,
        "token_relay_action",
        include_str!("../migrations/sqlite/0033_token_relay_action.sql"),
        include_str!("../migrations/postgres/0033_token_relay_action.sql"),
    ),
    (
        34,
        "copy_loads",
        include_str!("../migrations/sqlite/0034_copy_loads.sql"),
        include_str!("../migrations/postgres/0034_copy_loads.sql"),
    ),
    (
        35,
        "decision_changes_pg",
        include_str!("../migrations/sqlite/0035_decision_changes.sql"),
        include_str!("../migrations/postgres/0035_decision_changes.sql"),
    ),
    (
        36,
        "new_contacts_logged",
        include_str!("../migrations/sqlite/0036_new_contacts_logged.sql"),
        include_str!("../migrations/postgres/0036_new_contacts_logged.sql"),
    ),
];

/// The newest migration this binary carries: a database is ready when it has it.
pub(crate) const LATEST: i64 = 36;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Applies every migration not yet applied, and refuses to run on a database whose applied
/// migrations differ from the embedded ones (a binary older than the database, or an edited file).
pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let now = store.now().as_micros();
    macro_rules! apply {
        ($tx:ident, $version:expr, $name:expr, $sql:expr) => {{
            sqlx::raw_sql(CREATE_TABLE).execute(&mut *$tx).await?;
            let checksum = crate::row::hex(&Sha256::digest($sql.as_bytes()));
            let applied: Option<String> =
                sqlx::query_scalar("SELECT checksum FROM schema_migrations WHERE version = $1")
                    .bind($version)
                    .fetch_optional(&mut *$tx)
                    .await?;
            if check(applied, &checksum)? {
                sqlx::raw_sql(sqlx::AssertSqlSafe($sql)).execute(&mut *$tx).await?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                )
                .bind($version)
                .bind($name)
                .bind(checksum)
                .bind(now)
                .execute(&mut *$tx)
                .await?;
            }
            $tx.commit().await?;
        }};
    }
    for &(version, name, sqlite_sql, pg_sql) in MIGRATIONS {
        match &store.db {
            Db::Sqlite { write, .. } => {
                let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
                apply!(tx, version, name, sqlite_sql);
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Serialises processes starting together; released at commit.
                sqlx::query("SELECT pg_advisory_xact_lock(7243311)")
                    .execute(&mut *tx)
                    .await?;
                apply!(tx, version, name, pg_sql);
            }
        }
    }
    Ok(())
}

/// True when the migration still has to be applied.
fn check(applied: Option<String>, checksum: &str) -> Result<bool, StoreError> {
    match applied {
        None => Ok(true),
        Some(c) if c == checksum => Ok(false),
        Some(_) => Err(StoreError::Corrupt(
            "an applied migration differs from this binary's",
        )),
    }
}
