//! `consento rpo export|import`: the Registro pubblico delle opposizioni (L. 5/2018, DPR
//! 26/2022). Export writes the numbers due for a check in the register's list format; import
//! reads the register's answer to that list and records it as a check, revoking the consents an
//! enrolment annuls.

use std::io::Write as _;

use anyhow::Context as _;
use consento_app::rpo::RpoAnswerFile;
use consento_domain::rpo::{RpoAnswerMode, RpoNumberForm};

use super::output::json;
use super::{Ctx, parse_time};
use crate::cli::RpoCommand;

/// `consento rpo …`.
pub async fn run(ctx: &mut Ctx<'_>, command: RpoCommand) -> anyhow::Result<()> {
    match command {
        RpoCommand::Export { output, e164, all } => {
            let form = if e164 {
                RpoNumberForm::E164
            } else {
                RpoNumberForm::National
            };
            let now = ctx.store.now();
            let list = ctx.app.rpo_export(all, now, form).await?;
            let mut file = super::output::private_file(&output)
                .with_context(|| format!("output: cannot create `{}`", output.display()))?;
            file.write_all(list.text.as_bytes())
                .with_context(|| format!("output: cannot write `{}`", output.display()))?;
            if ctx.json {
                return json(
                    ctx.out,
                    &serde_json::json!({ "numbers": list.sent.len(), "not_italian": list.not_italian.len() }),
                );
            }
            writeln!(
                ctx.out,
                "{} numbers written to {} for the Registro pubblico delle opposizioni",
                list.sent.len(),
                output.display()
            )?;
            Ok(())
        }
        RpoCommand::Import {
            answer,
            sent,
            checked_at,
            mode,
        } => {
            let answered_at = parse_time(ctx.app.zone(), "checked-at", Some(&checked_at))?
                .context("checked-at: required")?;
            let mode = match mode.as_str() {
                "enrolled" => RpoAnswerMode::Enrolled,
                "callable" => RpoAnswerMode::Callable,
                other => anyhow::bail!("mode: `{other}` is not enrolled or callable"),
            };
            let read = |path: &std::path::Path, flag: &str| {
                std::fs::read_to_string(path)
                    .with_context(|| format!("{flag}: cannot read `{}`", path.display()))
            };
            let file = RpoAnswerFile {
                text: read(&answer, "answer")?,
                file_name: answer
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                sent: read(&sent, "sent")?,
                answered_at,
                mode,
                imported_by: ctx.operator.clone(),
            };
            let report = ctx.app.rpo_import(&ctx.by(), file).await?;
            if ctx.json {
                return json(ctx.out, &report);
            }
            writeln!(
                ctx.out,
                "check {}: {} numbers, {} enrolled ({} found for the first time), {} consents revoked; valid until {}",
                report.check_id,
                report.numbers,
                report.enrolled,
                report.newly_enrolled,
                report.revoked,
                super::output::local_time(ctx.app.zone(), report.valid_until)
            )?;
            Ok(())
        }
    }
}
