//! `consento links keys|rotate-key|retire-key`: the keyring that seals the personal links in
//! emails. Rotating keeps old links working (every key not retired opens its links); retiring a
//! key stops every link it sealed.

use serde_json::json;

use super::Ctx;
use super::output::{Table, day, json, or_dash};
use crate::cli::LinksCommand;

/// `consento links …`.
pub async fn run(ctx: &mut Ctx<'_>, command: LinksCommand) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    match command {
        LinksCommand::Keys => {
            let keys = ctx.store.link_keys().await?;
            if ctx.json {
                return json(ctx.out, &keys);
            }
            if keys.is_empty() {
                writeln!(ctx.out, "no link keys yet: the first link made creates one")?;
                return Ok(());
            }
            let mut t = Table::new(&["ID", "CREATED", "RETIRED"]);
            for k in &keys {
                t.row(vec![
                    k.id.to_string(),
                    day(&zone, k.created_at),
                    or_dash(k.retired_at.map(|t| day(&zone, t))),
                ]);
            }
            t.write(ctx.out, 0)
        }
        LinksCommand::RotateKey => {
            let key = ctx
                .audited(
                    "link_key.rotate",
                    None,
                    json!({}),
                    ctx.store.rotate_link_key(),
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &key);
            }
            writeln!(
                ctx.out,
                "link key {} now seals new links; links sealed by older keys keep working until those keys are retired",
                key.id
            )?;
            Ok(())
        }
        LinksCommand::RetireKey { id } => {
            // An unknown key is refused before the change: the trail has no retirement of a key
            // that never was.
            if !ctx.store.link_keys().await?.iter().any(|k| k.id == id) {
                return Err(consento_store::StoreError::NotFound { entity: "link key" }.into());
            }
            let key = ctx
                .audited(
                    "link_key.retire",
                    Some(("link_key", id.to_string())),
                    json!({}),
                    ctx.store.retire_link_key(id),
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &key);
            }
            writeln!(
                ctx.out,
                "retired link key {}: the links it sealed no longer work",
                key.id
            )?;
            Ok(())
        }
    }
}
