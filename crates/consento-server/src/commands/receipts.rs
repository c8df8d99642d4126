//! `consento receipts keys|rotate-key|verify`: the Ed25519 keys that sign consent receipts, and
//! checking a receipt against them. Rotating keeps every older key (and so every receipt
//! already handed out) verifiable; a receipt that does not verify is one `error:` line and
//! exit code 1.

use std::io::Read as _;

use anyhow::Context as _;
use serde_json::json;

use super::Ctx;
use super::output::{Table, json, or_dash};
use crate::cli::ReceiptsCommand;
use consento_app::receipts::verify_document;

/// `consento receipts …`.
pub async fn run(ctx: &mut Ctx<'_>, command: ReceiptsCommand) -> anyhow::Result<()> {
    match command {
        ReceiptsCommand::Keys => {
            let keys = ctx.store.receipt_keys().await?;
            if ctx.json {
                return json(ctx.out, &keys);
            }
            if keys.is_empty() {
                writeln!(
                    ctx.out,
                    "no receipt keys yet: the first receipt made creates one"
                )?;
                return Ok(());
            }
            let mut t = Table::new(&["KID", "CREATED", "RETIRED"]);
            for k in &keys {
                t.row(vec![
                    k.kid.clone(),
                    k.created_at.to_rfc3339(),
                    or_dash(k.retired_at.map(|t| t.to_rfc3339())),
                ]);
            }
            t.write(ctx.out, 0)
        }
        ReceiptsCommand::RotateKey => {
            let key = ctx
                .audited(
                    "receipt_key.rotate",
                    None,
                    json!({}),
                    ctx.store.rotate_receipt_key(),
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &key);
            }
            writeln!(
                ctx.out,
                "receipt key {} now signs new receipts; receipts signed by older keys still verify",
                key.kid
            )?;
            Ok(())
        }
        ReceiptsCommand::Verify { file } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read standard input")?;
            } else {
                text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
            }
            let keys = ctx.store.receipt_verifying_keys().await?;
            let verified = verify_document(&text, &keys)
                .map_err(|e| anyhow::anyhow!("receipt does not verify: {e}"))?;
            let id = verified
                .claims
                .get("consentReceiptID")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("-")
                .to_owned();
            if ctx.json {
                return json(
                    ctx.out,
                    &serde_json::json!({ "verified": true, "kid": verified.kid, "consent_receipt_id": id }),
                );
            }
            writeln!(
                ctx.out,
                "receipt verified: consent receipt {id}, signed by key {}",
                verified.kid
            )?;
            Ok(())
        }
    }
}
