//! `consento reasons list|add|update`: the contact reasons an operator picks from (the seed's
//! "Motivazioni consensi espliciti").

use consento_domain::{ContactReason, ReasonId};
use serde_json::json;

use super::Ctx;
use super::output::{Table, json, yes_no};
use crate::cli::ReasonsCommand;

/// `consento reasons …`.
pub async fn run(ctx: &mut Ctx<'_>, command: ReasonsCommand) -> anyhow::Result<()> {
    match command {
        ReasonsCommand::List => list(ctx).await,
        ReasonsCommand::Add { label, marketing } => {
            let detail = json!({ "label": label, "marketing": marketing });
            let r = ctx
                .audited(
                    "reason.create",
                    None,
                    detail,
                    ctx.store.create_reason(&label, marketing),
                )
                .await?;
            one(ctx, "added", &r)
        }
        ReasonsCommand::Update {
            id,
            label,
            active,
            marketing,
        } => {
            let id = ReasonId::parse("id", &id)?;
            // What the command changes (an option not given stays as it is).
            let detail = json!({ "label": label, "active": active, "marketing": marketing });
            let r = ctx
                .audited(
                    "reason.update",
                    Some(("reason", id.0.to_string())),
                    detail,
                    ctx.store
                        .update_reason(id, label.as_deref(), active, marketing),
                )
                .await?;
            one(ctx, "updated", &r)
        }
    }
}

async fn list(ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let reasons = ctx.store.reasons().await?;
    if ctx.json {
        return json(ctx.out, &reasons);
    }
    if reasons.is_empty() {
        writeln!(
            ctx.out,
            "no contact reasons yet: add one with `consento reasons add`"
        )?;
        return Ok(());
    }
    let mut t = Table::new(&["ID", "ACTIVE", "MARKETING", "LABEL"]);
    for r in &reasons {
        t.row(vec![
            r.id.to_string(),
            yes_no(r.active).into(),
            yes_no(r.marketing).into(),
            r.label.clone(),
        ]);
    }
    t.write(ctx.out, 0)
}

fn one(ctx: &mut Ctx<'_>, verb: &str, r: &ContactReason) -> anyhow::Result<()> {
    if ctx.json {
        return json(ctx.out, r);
    }
    writeln!(
        ctx.out,
        "{verb} reason {} \"{}\": active {}, marketing {}",
        r.id,
        r.label,
        yes_no(r.active),
        yes_no(r.marketing)
    )?;
    Ok(())
}
