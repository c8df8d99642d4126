//! `consento keys status|rotate-master|reset`: the master key that seals the database's secrets
//! (crate::keys finds it). Rotating re-seals every secret under a new key in one transaction,
//! the new key written to a file before the database changes, so that no moment exists where
//! the database is sealed under a key kept nowhere. Resetting after a lost key makes fresh
//! secrets and says what stopped working.

use consento_domain::sealed::MasterKey;
use consento_store::Entropy as _;
use serde_json::json;

use super::Ctx;
use super::output::json;
use crate::cli::KeysCommand;
use crate::keys::KeyOrigin;

/// `consento keys …`.
pub async fn run(ctx: &mut Ctx<'_>, command: KeysCommand) -> anyhow::Result<()> {
    let config = super::server_config()?;
    let (current, origin) = crate::keys::master_key(
        &config,
        config.config_file.as_deref(),
        &ctx.database_url,
        &|name| std::env::var(name).ok(),
        &consento_store::OsEntropy,
    )
    .map_err(anyhow::Error::msg)?;
    match command {
        KeysCommand::Status => {
            if ctx.json {
                return json(
                    ctx.out,
                    &json!({ "master_key_id": current.id().to_string(), "origin": origin.to_string() }),
                );
            }
            writeln!(ctx.out, "master key {} from {origin}", current.id())?;
            Ok(())
        }
        KeysCommand::RotateMaster { new_key_file } => {
            let mut bytes = [0u8; 32];
            consento_store::OsEntropy.fill(&mut bytes)?;
            let new = MasterKey::from_bytes(bytes);
            // The new key is on disk before the database is sealed under it.
            let (target, replace) = match (new_key_file, &origin) {
                (Some(file), _) => (file, None),
                (None, KeyOrigin::File { path, .. }) => {
                    let mut staged = path.clone().into_os_string();
                    staged.push(".new");
                    (staged.into(), Some(path.clone()))
                }
                (None, other) => anyhow::bail!(
                    "the master key comes from {other}: pass --new-key-file and put the new key there"
                ),
            };
            crate::keys::write_key_file(&target, &new).map_err(anyhow::Error::msg)?;
            let counts = ctx
                .audited(
                    "keys.rotate_master",
                    None,
                    json!({ "previous_master_key_id": current.id().to_string(), "master_key_id": new.id().to_string() }),
                    ctx.store.rotate_master_key(&new),
                )
                .await?;
            let kept = match replace {
                Some(path) => {
                    let mut old = path.clone().into_os_string();
                    old.push(format!(".{}.old", current.id()));
                    let old = std::path::PathBuf::from(old);
                    std::fs::rename(&path, &old)?;
                    std::fs::rename(&target, &path)?;
                    format!(
                        "the key file {} holds the new key; the old one is kept as {} (remove it once no backup needs it)",
                        path.display(),
                        old.display()
                    )
                }
                None => format!(
                    "the new key is in {}: give it to every server (CONSENTO_MASTER_KEY, the systemd credential or [keys] master_key_file) before starting them",
                    target.display()
                ),
            };
            if ctx.json {
                return json(
                    ctx.out,
                    &json!({ "previous_master_key_id": current.id().to_string(), "master_key_id": new.id().to_string(), "resealed": counts }),
                );
            }
            writeln!(
                ctx.out,
                "master key rotated from {} to {}: every secret re-sealed; {kept}",
                current.id(),
                new.id()
            )?;
            Ok(())
        }
        KeysCommand::Reset { lost_master_key } => {
            if !lost_master_key {
                anyhow::bail!(
                    "lost_master_key: say --lost-master-key: links already mailed, receipts already handed out and webhook secrets stop working"
                );
            }
            let reset = ctx
                .audited(
                    "keys.reset_lost_master_key",
                    None,
                    json!({ "master_key_id": current.id().to_string() }),
                    ctx.store.reset_lost_master_key(),
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &reset);
            }
            writeln!(
                ctx.out,
                "fresh secrets under master key {} from {origin}: {} link keys retired, {} receipt keys removed, {} waiting emails and {} relayed copies given up; the suppression list can no longer be matched",
                current.id(),
                reset.link_keys_retired,
                reset.receipt_keys_removed,
                reset.emails_given_up,
                reset.relay_copies_given_up
            )?;
            for (id, secret) in &reset.webhook_secrets {
                writeln!(ctx.out, "webhook {id}: new secret {secret}")?;
            }
            Ok(())
        }
    }
}
