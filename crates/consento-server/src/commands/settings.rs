//! `consento init` (the database is created and migrated by opening it; this says where it is,
//! names the data controller with the details given and lists those still missing),
//! `consento controller show|set`, and `consento settings show|set` (the seed's privacy
//! switches).

use anyhow::Context as _;
use consento_app::controller::{NamedController, Source};
use consento_domain::{ControllerDetails, ControllerField, PrivacySettings};
use consento_store::Backend;
use serde::Serialize;
use serde_json::json;

use super::output::{Table, json, on_off};
use super::{Ctx, redact};
use crate::cli::{ControllerArgs, ControllerCommand, SettingsCommand};

#[derive(Serialize)]
struct InitReport {
    backend: Backend,
    database: String,
    controller: ControllerReport,
}

/// One of the controller's details as reported.
#[derive(Serialize)]
struct Fact {
    value: Option<String>,
    source: Option<Source>,
}

/// The controller as the command line reports it.
#[derive(Serialize)]
struct ControllerReport {
    /// The name documents give it: never empty (a placeholder until it is named).
    name: String,
    /// Each detail in force, by its code, with where it comes from.
    facts: std::collections::BTreeMap<&'static str, Fact>,
    /// The details still missing, in form order.
    missing: Vec<&'static str>,
}

impl ControllerReport {
    fn of(named: &NamedController) -> Self {
        Self {
            name: named.name.clone(),
            facts: ControllerField::ALL
                .into_iter()
                .map(|f| {
                    (
                        f.code(),
                        Fact {
                            value: named.details.get(f).map(str::to_owned),
                            source: named.source(f),
                        },
                    )
                })
                .collect(),
            missing: named.missing().iter().map(|f| f.code()).collect(),
        }
    }
}

/// The details given on the command line, as changes (`None`: not given, left as it is).
fn changes(args: ControllerArgs) -> ControllerDetails {
    ControllerDetails {
        name: args.controller_name,
        address: args.controller_address,
        email: args.controller_email,
        dpo_contact: args.dpo_contact,
        privacy_notice_url: args.privacy_notice_url,
    }
}

/// Records the details given (if any), audited as this command's operator; the controller as
/// named after.
async fn set_controller(ctx: &Ctx<'_>, args: ControllerArgs) -> anyhow::Result<NamedController> {
    let changes = changes(args);
    if changes == ControllerDetails::default() {
        return Ok(ctx.app.controller().await?);
    }
    ctx.app
        .set_controller(&ctx.by(), changes)
        .await
        .context("controller")
}

/// The controller's details as lines, with where each comes from and what is missing.
fn write_controller(ctx: &mut Ctx<'_>, named: &NamedController) -> anyhow::Result<()> {
    writeln!(ctx.out, "data controller")?;
    let mut t = Table::new(&["DETAIL", "VALUE", "SET BY"]);
    for f in ControllerField::ALL {
        let value = named
            .details
            .get(f)
            .map_or_else(|| "(missing)".to_owned(), |v| v.replace(['\n', '\r'], " "));
        let source = match named.source(f) {
            Some(Source::Configuration) => "configuration",
            Some(Source::Database) => "consento init / console",
            None => "-",
        };
        t.row(vec![f.code().to_owned(), value, source.to_owned()]);
    }
    t.write(ctx.out, 2)?;
    let missing = named.missing();
    if missing.is_empty() {
        writeln!(ctx.out, "every detail of the controller is given")?;
    } else {
        let codes: Vec<&str> = missing.iter().map(|f| f.code()).collect();
        let flags: Vec<String> = missing
            .iter()
            .map(|f| match f {
                ControllerField::Name => "--controller-name …".to_owned(),
                ControllerField::Address => "--controller-address …".to_owned(),
                ControllerField::Email => "--controller-email …".to_owned(),
                ControllerField::DpoContact => "--dpo-contact …".to_owned(),
                ControllerField::PrivacyNoticeUrl => "--privacy-notice-url …".to_owned(),
            })
            .collect();
        let until = if named.is_named() {
            String::new()
        } else {
            format!(
                " (until it is named, exports and receipts name it \"{}\")",
                named.name
            )
        };
        writeln!(
            ctx.out,
            "missing: {}{until}; give them with `consento init {}` or on the console's first-run page",
            codes.join(", "),
            flags.join(" ")
        )?;
    }
    Ok(())
}

/// `consento controller …`.
pub async fn controller(ctx: &mut Ctx<'_>, command: ControllerCommand) -> anyhow::Result<()> {
    let named = match command {
        ControllerCommand::Show => ctx.app.controller().await?,
        ControllerCommand::Set(args) => set_controller(ctx, args).await?,
    };
    if ctx.json {
        return json(ctx.out, &ControllerReport::of(&named));
    }
    write_controller(ctx, &named)
}

/// `consento init`.
pub async fn init(ctx: &mut Ctx<'_>, args: ControllerArgs) -> anyhow::Result<()> {
    let named = set_controller(ctx, args).await?;
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
    let report = InitReport {
        backend,
        database,
        controller: ControllerReport::of(&named),
    };
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
    write_controller(ctx, &named)
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
