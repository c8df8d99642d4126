//! `consento contacts erase` (GDPR Art. 17) and `consento retention list|apply` (Art. 5(1)(e)).
//! Both are irreversible, so both do nothing without `--yes`. The periods (what an erasure keeps
//! and for how long, the retention per purpose) are the application's policy, from the
//! configuration `consento serve` reads (`CONSENTO_CONFIG`, `CONSENTO_…`).

use anyhow::Context as _;
use consento_domain::erasure::ErasureReason;
use consento_domain::{Actor, ActorKind, RequestId};
use consento_store::ErasureInput;

use super::output::{Table, day, json};
use super::{Ctx, parse_ref};
use crate::cli::RetentionCommand;
use consento_app::erasure::Erasure;

/// `consento contacts erase <ref> [--request ID] [--yes]`.
pub async fn erase(
    ctx: &mut Ctx<'_>,
    contact: &str,
    request: Option<&str>,
    yes: bool,
) -> anyhow::Result<()> {
    let id = ctx.store.resolve_contact(&parse_ref(contact)).await?;
    if !yes {
        anyhow::bail!(
            "erasing contact {id} cannot be undone: run again with --yes to erase it (GDPR Art. 17)"
        );
    }
    let request_id = request
        .map(|r| uuid::Uuid::parse_str(r.trim()).map(RequestId))
        .transpose()
        .context("--request: not a request id")?;
    let input = ErasureInput {
        reason: ErasureReason::Request,
        actor: Actor::new(ActorKind::Operator, &ctx.operator)?,
        by: consento_store::AuditActor::System,
        request_id,
    };
    let out = ctx.app.erase(id, &input).await?;
    if ctx.json {
        return json(ctx.out, &out);
    }
    print_erasure(ctx, &out)
}

fn print_erasure(ctx: &mut Ctx<'_>, out: &Erasure) -> anyhow::Result<()> {
    writeln!(
        ctx.out,
        "erased contact {} ({}); {} addresses and numbers suppressed",
        out.contact_id, out.reason, out.suppressed
    )?;
    let mut erased = Table::new(&["erased", "count"]);
    for e in &out.erased {
        erased.row(vec![e.category.clone(), e.count.to_string()]);
    }
    erased.write(ctx.out, 2)?;
    let mut kept = Table::new(&["kept", "ground", "until"]);
    for k in &out.kept {
        kept.row(vec![
            k.category.clone(),
            k.ground.clone(),
            k.until
                .clone()
                .unwrap_or_else(|| "while the erasure holds".to_owned()),
        ]);
    }
    kept.write(ctx.out, 2)?;
    Ok(())
}

/// `consento retention list|apply`.
pub async fn retention(ctx: &mut Ctx<'_>, command: RetentionCommand) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    match command {
        RetentionCommand::List => {
            let found = ctx.app.retention_candidates(None, usize::MAX).await?;
            if ctx.json {
                return json(ctx.out, &found);
            }
            writeln!(
                ctx.out,
                "{} contacts past the retention of their purposes",
                found.len()
            )?;
            let mut table = Table::new(&["contact", "last consent ended", "months", "purposes"]);
            for c in &found {
                table.row(vec![
                    c.contact_id.to_string(),
                    day(&zone, c.last_ended),
                    c.months.to_string(),
                    c.purposes.join(", "),
                ]);
            }
            table.write(ctx.out, 2)?;
            Ok(())
        }
        RetentionCommand::Apply { yes } => {
            if !yes {
                anyhow::bail!(
                    "anonymising cannot be undone: run `consento retention list` to see who, then again with --yes"
                );
            }
            let out = ctx
                .app
                .run_retention(
                    Actor::new(ActorKind::Operator, &ctx.operator)?,
                    consento_store::AuditActor::System,
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &out);
            }
            writeln!(
                ctx.out,
                "anonymised {} contacts in {} batches",
                out.anonymized, out.batches
            )?;
            for e in &out.erasures {
                writeln!(ctx.out, "  {}", e.contact_id)?;
            }
            Ok(())
        }
    }
}
