//! `consento init` (the database is created and migrated by opening it; this says where it is)
//! and `consento settings show|set` (the seed's privacy switches).

use consento_domain::PrivacySettings;
use consento_store::Backend;
use serde::Serialize;
use serde_json::json;

use super::output::{Table, json, on_off};
use super::{Ctx, redact};
use crate::cli::SettingsCommand;

#[derive(Serialize)]
struct InitReport {
    backend: Backend,
    database: String,
}

/// `consento init`.
pub async fn init(ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let backend = ctx.store.backend();
    let database = match backend {
        Backend::Sqlite => {
            let path = ctx
                .database_url
                .strip_prefix("sqlite://")
                .or_else(|| ctx.database_url.strip_prefix("sqlite:"))
                .unwrap_or(&ctx.database_url);
            // The absolute path tells the operator which file they will back up.
            std::fs::canonicalize(path)
                .map_or_else(|_| path.to_owned(), |p| p.display().to_string())
        }
        Backend::Postgres => redact(&ctx.database_url),
    };
    let report = InitReport { backend, database };
    if ctx.json {
        return json(ctx.out, &report);
    }
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    writeln!(ctx.out, "database ready")?;
    writeln!(ctx.out, "  backend:  {name}")?;
    writeln!(ctx.out, "  location: {}", report.database)?;
    Ok(())
}

/// `consento settings …`.
pub async fn run(ctx: &mut Ctx<'_>, command: SettingsCommand) -> anyhow::Result<()> {
    let settings = match command {
        SettingsCommand::Show => ctx.store.settings().await?,
        SettingsCommand::Set {
            check_email_single,
            check_newsletter,
            check_phone,
            check_sms,
        } => {
            let before = ctx.store.settings().await?;
            let mut s = before;
            let apply = |slot: &mut bool, v: Option<crate::cli::Switch>| {
                if let Some(v) = v {
                    *slot = v.is_on();
                }
            };
            apply(&mut s.check_email_single, check_email_single);
            apply(&mut s.check_email_bulk, check_newsletter);
            apply(&mut s.check_phone, check_phone);
            apply(&mut s.check_sms, check_sms);
            ctx.audited(
                "settings.update",
                Some(("settings", "privacy".to_owned())),
                json!({ "before": before, "after": s }),
                ctx.store.update_settings(s),
            )
            .await?
        }
    };
    show(ctx, &settings)
}

fn show(ctx: &mut Ctx<'_>, s: &PrivacySettings) -> anyhow::Result<()> {
    if ctx.json {
        return json(ctx.out, s);
    }
    let mut t = Table::new(&["CHECK", "STATE", "MEANING"]);
    for (name, on, meaning) in [
        (
            "email-single",
            s.check_email_single,
            "every single email needs a valid consent or a reason",
        ),
        (
            "newsletter",
            s.check_email_bulk,
            "newsletters reach only contacts with a valid consent",
        ),
        (
            "phone",
            s.check_phone,
            "every call needs a valid consent or a reason",
        ),
        (
            "sms",
            s.check_sms,
            "SMS need a valid consent (a reason for a single SMS)",
        ),
    ] {
        t.row(vec![name.into(), on_off(on).into(), meaning.into()]);
    }
    t.write(ctx.out, 0)
}
