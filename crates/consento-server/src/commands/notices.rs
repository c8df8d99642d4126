//! `consento notices list|publish`: privacy-notice versions, the proof of what a person was shown
//! when consenting.

use anyhow::Context as _;
use consento_store::NoticeInput;
use serde_json::json;

use super::Ctx;
use super::output::{Table, day, json, or_dash};
use crate::cli::NoticesCommand;

/// `consento notices …`.
pub async fn run(ctx: &mut Ctx<'_>, command: NoticesCommand) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    match command {
        NoticesCommand::List => list(ctx).await,
        NoticesCommand::Publish {
            version,
            language,
            url,
            body_file,
        } => {
            let body = body_file
                .map(|path| {
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("body-file: cannot read `{}`", path.display()))
                })
                .transpose()?;
            let detail = json!({
                "version": version,
                "language": language,
                "url": url,
                "with_text": body.is_some(),
            });
            let n = ctx
                .audited(
                    "notice.publish",
                    None,
                    detail,
                    ctx.store.publish_notice(NoticeInput {
                        version,
                        language,
                        url,
                        body,
                    }),
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &n);
            }
            writeln!(
                ctx.out,
                "published notice {} ({}) on {}, sha-256 {}",
                n.version,
                n.language,
                day(&zone, n.published_at),
                n.content_sha256
            )?;
            Ok(())
        }
    }
}

async fn list(ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    let notices = ctx.store.notices().await?;
    if ctx.json {
        return json(ctx.out, &notices);
    }
    if notices.is_empty() {
        writeln!(
            ctx.out,
            "no privacy notices yet: publish one with `consento notices publish`"
        )?;
        return Ok(());
    }
    let mut t = Table::new(&["VERSION", "LANGUAGE", "PUBLISHED", "URL", "SHA-256"]);
    for n in &notices {
        t.row(vec![
            n.version.clone(),
            n.language.clone(),
            day(&zone, n.published_at),
            or_dash(n.url.as_deref()),
            n.content_sha256.clone(),
        ]);
    }
    t.write(ctx.out, 0)
}
