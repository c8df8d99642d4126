//! `consento types list|add|update`: consent types (the seed's "Tipologie consensi").

use consento_domain::{ConsentCode, ConsentTypeSpec, Permissions, Purpose};
use consento_store::ConsentType;
use serde_json::json;

use super::Ctx;
use super::output::{Table, json, or_dash, permits, yes_no};
use crate::cli::{TypeAddArgs, TypeUpdateArgs, TypesCommand};

/// `consento types …`.
pub async fn run(ctx: &mut Ctx<'_>, command: TypesCommand) -> anyhow::Result<()> {
    match command {
        TypesCommand::List => list(ctx).await,
        TypesCommand::Add(args) => {
            let spec = spec_of(args)?;
            let detail = json!({ "after": spec });
            let t = ctx
                .audited(
                    "consent_type.create",
                    None,
                    detail,
                    ctx.store.create_consent_type(spec),
                )
                .await?;
            one(ctx, "added", &t)
        }
        TypesCommand::Update(args) => {
            let current = ctx.store.consent_type(&args.code).await?;
            let code = current.spec.code.as_str().to_owned();
            let spec = updated(current.spec.clone(), args)?;
            let detail = json!({ "before": current.spec, "after": spec });
            let t = ctx
                .audited(
                    "consent_type.update",
                    Some(("consent_type", current.id.0.to_string())),
                    detail,
                    ctx.store.update_consent_type(&code, spec),
                )
                .await?;
            one(ctx, "updated", &t)
        }
    }
}

fn spec_of(a: TypeAddArgs) -> anyhow::Result<ConsentTypeSpec> {
    Ok(ConsentTypeSpec {
        title: a.title,
        code: ConsentCode::parse(&a.code)?,
        description: a.description,
        validity_days: a.validity_days,
        permissions: Permissions {
            email_bulk: a.bulk_email,
            email_single: a.single_email,
            phone_call: a.phone,
            sms_single: a.sms_single,
            sms_bulk: a.sms_bulk,
        },
        show_in_preference_center: a.preference_center,
        purpose: Purpose::parse(&a.purpose, &a.categories)?,
    })
}

/// The current spec with the fields given on the command line changed.
fn updated(mut s: ConsentTypeSpec, a: TypeUpdateArgs) -> anyhow::Result<ConsentTypeSpec> {
    if let Some(code) = a.new_code {
        s.code = ConsentCode::parse(&code)?;
    }
    if let Some(title) = a.title {
        s.title = title;
    }
    if let Some(d) = a.description {
        // Validation turns an empty description into none: that is how one is removed.
        s.description = Some(d);
    }
    if a.no_expiry {
        s.validity_days = None;
    } else if let Some(v) = a.validity_days {
        s.validity_days = Some(v);
    }
    let p = &mut s.permissions;
    for (slot, v) in [
        (&mut p.email_bulk, a.bulk_email),
        (&mut p.email_single, a.single_email),
        (&mut p.phone_call, a.phone),
        (&mut p.sms_single, a.sms_single),
        (&mut p.sms_bulk, a.sms_bulk),
        (&mut s.show_in_preference_center, a.preference_center),
    ] {
        if let Some(v) = v {
            *slot = v;
        }
    }
    if a.purpose.is_some() || a.categories.is_some() {
        let code = a.purpose.as_deref().unwrap_or(s.purpose.code()).to_owned();
        let categories = match (a.categories, &a.purpose) {
            (Some(c), _) => c,
            (None, Some(_)) => Vec::new(),
            (None, None) => s.purpose.categories().to_vec(),
        };
        s.purpose = Purpose::parse(&code, &categories)?;
    }
    Ok(s)
}

/// `marketing`, or `third_party (energy, telephony)`.
fn purpose(p: &Purpose) -> String {
    match p.categories() {
        [] => p.code().to_owned(),
        c => format!("{} ({})", p.code(), c.join(", ")),
    }
}

fn validity(days: Option<u32>) -> String {
    days.map_or_else(|| "never expires".into(), |d| format!("{d} days"))
}

async fn list(ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let types = ctx.store.consent_types().await?;
    if ctx.json {
        return json(ctx.out, &types);
    }
    if types.is_empty() {
        writeln!(
            ctx.out,
            "no consent types yet: add one with `consento types add`"
        )?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "CODE",
        "TITLE",
        "VALIDITY",
        "PERMITS",
        "PURPOSE",
        "PREFERENCE CENTER",
        "DESCRIPTION",
    ]);
    for c in &types {
        t.row(vec![
            c.spec.code.to_string(),
            c.spec.title.clone(),
            validity(c.spec.validity_days),
            permits(c.spec.permissions),
            purpose(&c.spec.purpose),
            yes_no(c.spec.show_in_preference_center).into(),
            or_dash(c.spec.description.as_deref()),
        ]);
    }
    t.write(ctx.out, 0)
}

fn one(ctx: &mut Ctx<'_>, verb: &str, t: &ConsentType) -> anyhow::Result<()> {
    if ctx.json {
        return json(ctx.out, t);
    }
    writeln!(
        ctx.out,
        "{verb} consent type {} \"{}\": validity {}, permits {}, purpose {}, preference center {}",
        t.spec.code,
        t.spec.title,
        validity(t.spec.validity_days),
        permits(t.spec.permissions),
        purpose(&t.spec.purpose),
        yes_no(t.spec.show_in_preference_center),
    )?;
    Ok(())
}
