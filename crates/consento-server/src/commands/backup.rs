//! `consento backup` and `consento restore`: a verified copy of a SQLite database taken while
//! it serves, and its return with the server stopped. The ledger head each prints is what an
//! operator keeps apart from the copy, to tell later that the chain was not rewritten. On
//! PostgreSQL the server's own tools do both; the commands say which.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use consento_domain::sealed::MasterKey;
use consento_store::{LedgerReport, OsEntropy, StoreError, SystemClock};

use super::describe_chain;
use super::output::json;

/// What PostgreSQL users are pointed to instead (the README shows the commands).
const POSTGRES: &str = "on PostgreSQL, back up with pg_dump and restore with pg_restore (see the README, \"Backups\"), then run `consento ledger verify` on the restored database";

/// The SQLite file of `database_url`; on PostgreSQL, the pointer to its own tools (checked
/// before any master key is looked for: a pointer needs none).
pub(super) fn sqlite_file(database_url: &str) -> anyhow::Result<&Path> {
    consento_store::sqlite_file(database_url).ok_or_else(|| anyhow::anyhow!(POSTGRES))
}

/// A broken chain in the one line a broken ledger gets everywhere.
fn chain(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Chain(c) => anyhow::anyhow!(describe_chain(&c)),
        other => other.into(),
    }
}

/// `consento backup --to FILE`.
pub async fn backup(
    database_url: &str,
    master_key: MasterKey,
    to: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let db = sqlite_file(database_url)?;
    consento_store::backup_sqlite(db, to).await?;
    let report = consento_store::verify_sqlite_file(
        to,
        master_key,
        Arc::new(SystemClock),
        Arc::new(OsEntropy),
    )
    .await
    .map_err(|e| chain(e).context(format!("the backup `{}` does not verify", to.display())))?;
    print(out, as_json, "backup", to, &report)
}

/// `consento restore --from FILE`.
pub async fn restore(
    database_url: &str,
    master_key: MasterKey,
    from: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let db = sqlite_file(database_url)?;
    let report = consento_store::restore_sqlite(
        from,
        db,
        master_key,
        Arc::new(SystemClock),
        Arc::new(OsEntropy),
    )
    .await
    .map_err(chain)?;
    print(out, as_json, "restored", db, &report)
}

fn print(
    out: &mut dyn Write,
    as_json: bool,
    what: &str,
    file: &Path,
    report: &LedgerReport,
) -> anyhow::Result<()> {
    if as_json {
        return json(
            out,
            &serde_json::json!({
                "file": file.display().to_string(),
                "ledger": { "events": report.events, "head_seq": report.events, "head_hash": report.head_hash },
            }),
        );
    }
    writeln!(
        out,
        "{what} {}: ledger verified, {} events, head seq {} hash {}\nkeep this head apart from the copy: a copy whose ledger ends elsewhere was altered",
        file.display(),
        report.events,
        report.events,
        report.head_hash
    )?;
    Ok(())
}
