//! `consento ledger verify`: walks the whole hash chain of the consent ledger and prints its head,
//! which an operator can keep outside the database to anchor the chain.

use consento_store::StoreError;

use super::output::json;
use super::{Ctx, describe_chain};
use crate::cli::LedgerCommand;

/// `consento ledger …`.
pub async fn run(ctx: &mut Ctx<'_>, command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Verify => {
            let report = match ctx.store.verify_ledger().await {
                Ok(r) => r,
                Err(StoreError::Chain(c)) => anyhow::bail!(describe_chain(&c)),
                Err(e) => return Err(e.into()),
            };
            if ctx.json {
                return json(ctx.out, &report);
            }
            writeln!(
                ctx.out,
                "ledger verified: {} events, head {}",
                report.events, report.head_hash
            )?;
            Ok(())
        }
    }
}
