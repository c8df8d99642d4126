//! `consento contacts add|show|search|update|restrict|object`: contacts and their card (the
//! seed's "scheda anagrafica": fields, one line per consent type, and the justified contacts).

use consento_domain::{Actor, ActorKind, DomainError};
use consento_store::{Contact, ContactFlag, ContactInput, ContactRef, CurrentConsent, Interaction};
use serde::Serialize;

use super::output::{Table, clip, day, json, or_dash, permits};
use super::{Ctx, parse_ref};
use crate::cli::{ContactFields, ContactsCommand};

/// `consento contacts …`.
pub async fn run(ctx: &mut Ctx<'_>, command: ContactsCommand) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    match command {
        ContactsCommand::Add(fields) => {
            let input = apply(fields, ContactInput::default())?;
            let c = ctx.app.create_contact(&ctx.by(), input).await?;
            if ctx.json {
                return json(ctx.out, &c);
            }
            writeln!(ctx.out, "added contact {}{}", c.id, label(&c))?;
            Ok(())
        }
        ContactsCommand::Show { contact } => show(ctx, &parse_ref(&contact)).await,
        ContactsCommand::Search { query, limit } => search(ctx, &query, limit).await,
        ContactsCommand::Update { contact, fields } => {
            let r = parse_ref(&contact);
            let current = ctx.store.contact(&r).await?;
            let input = apply(fields, input_of(&current))?;
            let c = ctx
                .store
                .update_contact(&ContactRef::Id(current.id), input)
                .await?;
            if ctx.json {
                return json(ctx.out, &c);
            }
            writeln!(ctx.out, "updated contact {}{}", c.id, label(&c))?;
            Ok(())
        }
        ContactsCommand::Restrict {
            contact,
            lift,
            locale,
        } => {
            let c = ctx
                .app
                .change_flag(
                    &ctx.by(),
                    &parse_ref(&contact),
                    ContactFlag::Restriction,
                    !lift,
                    Actor::new(ActorKind::Operator, &ctx.operator)?,
                    locale.as_deref().and_then(consento_domain::Locale::parse),
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &c);
            }
            match c.restricted_at {
                Some(since) => writeln!(
                    ctx.out,
                    "restricted: processing of {} is restricted since {} (GDPR Art. 18); every contact is blocked",
                    c.id,
                    day(&zone, since)
                )?,
                None => writeln!(ctx.out, "restriction lifted for {}", c.id)?,
            }
            Ok(())
        }
        ContactsCommand::Erase {
            contact,
            request,
            yes,
        } => super::erasure::erase(ctx, &contact, request.as_deref(), yes).await,
        ContactsCommand::Object { contact, lift } => {
            let c = ctx
                .app
                .change_flag(
                    &ctx.by(),
                    &parse_ref(&contact),
                    ContactFlag::Objection,
                    !lift,
                    Actor::new(ActorKind::Operator, &ctx.operator)?,
                    None,
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &c);
            }
            match c.objected_at {
                Some(since) => writeln!(
                    ctx.out,
                    "objected: {} objects to direct marketing since {} (GDPR Art. 21(3)); bulk sends are blocked and its address and number suppressed",
                    c.id,
                    day(&zone, since)
                )?,
                None => writeln!(ctx.out, "objection withdrawn for {}", c.id)?,
            }
            Ok(())
        }
    }
}

/// ` (name, email)` for a confirmation line.
fn label(c: &Contact) -> String {
    let parts: Vec<&str> = c
        .name
        .as_deref()
        .into_iter()
        .chain(c.emails.first().map(|e| e.as_str()))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// A stored contact as input, so that an update changes only what is given.
fn input_of(c: &Contact) -> ContactInput {
    ContactInput {
        external_id: c.external_id.clone(),
        name: c.name.clone(),
        emails: c.emails.iter().map(|e| e.as_str().to_owned()).collect(),
        phones: c.phones.iter().map(|p| p.as_str().to_owned()).collect(),
        attributes: c.attributes.clone(),
        source: c.source.clone(),
        legal_basis: c.legal_basis.map(|b| b.code().to_owned()),
        purposes: c.purposes.clone(),
    }
}

/// Puts the fields given on the command line over `base`. A list flag given at all replaces the
/// whole list, and empty values are dropped, so `--email ''` removes every address.
fn apply(f: ContactFields, mut base: ContactInput) -> anyhow::Result<ContactInput> {
    let non_empty = |v: Vec<String>| -> Vec<String> {
        v.into_iter().filter(|s| !s.trim().is_empty()).collect()
    };
    if f.external_id.is_some() {
        base.external_id = f.external_id;
    }
    if f.name.is_some() {
        base.name = f.name;
    }
    if !f.emails.is_empty() {
        base.emails = non_empty(f.emails);
    }
    if !f.phones.is_empty() {
        base.phones = non_empty(f.phones);
    }
    if f.source.is_some() {
        base.source = f.source;
    }
    if let Some(b) = f.legal_basis {
        base.legal_basis = Some(b).filter(|b| !b.trim().is_empty());
    }
    if !f.purposes.is_empty() {
        base.purposes = non_empty(f.purposes);
    }
    if !f.attributes.is_empty() {
        base.attributes = serde_json::Map::new();
        for a in non_empty(f.attributes) {
            let (k, v) = a
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    DomainError::invalid("attribute", format!("`{a}` is not key=value"))
                })?;
            base.attributes
                .insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
    }
    Ok(base)
}

/// The contact card, as JSON.
#[derive(Serialize)]
struct Card<'a> {
    contact: &'a Contact,
    consents: &'a [CurrentConsent],
    justified_contacts: &'a [Interaction],
}

/// The state a card line shows: a consent that was given but is no longer valid has expired.
fn state(c: &CurrentConsent) -> &'static str {
    match c.kind {
        None => "none",
        Some(k) if k.grants() && !c.valid => "expired",
        Some(k) => k.code(),
    }
}

async fn show(ctx: &mut Ctx<'_>, r: &ContactRef) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    let contact = ctx.store.contact(r).await?;
    let id = ContactRef::Id(contact.id);
    let consents = ctx.store.current_consents(&id).await?;
    let interactions = ctx.store.interactions(&id).await?;
    if ctx.json {
        return json(
            ctx.out,
            &Card {
                contact: &contact,
                consents: &consents,
                justified_contacts: &interactions,
            },
        );
    }
    let out = &mut *ctx.out;
    let c = &contact;
    writeln!(out, "contact {}", c.id)?;
    let join = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    let mut fields: Vec<(&str, String)> = vec![
        ("external id", or_dash(c.external_id.as_deref())),
        ("name", or_dash(c.name.as_deref())),
        (
            "emails",
            join(c.emails.iter().map(|e| e.to_string()).collect()),
        ),
        (
            "phones",
            join(c.phones.iter().map(|p| p.to_string()).collect()),
        ),
        ("source", or_dash(c.source.as_deref())),
        (
            "legal basis",
            c.legal_basis.map_or_else(
                || "-".to_owned(),
                |b| format!("{} (GDPR Art. 6(1)({}))", b.code(), b.letter()),
            ),
        ),
        ("purposes", join(c.purposes.clone())),
        (
            "attributes",
            join(
                c.attributes
                    .iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => format!("{k}={s}"),
                        other => format!("{k}={other}"),
                    })
                    .collect(),
            ),
        ),
    ];
    if let Some(t) = c.restricted_at {
        fields.push((
            "restricted",
            format!(
                "since {} (GDPR Art. 18: every contact blocked)",
                day(&zone, t)
            ),
        ));
    }
    if let Some(t) = c.objected_at {
        fields.push((
            "objected",
            format!(
                "since {} (GDPR Art. 21(3): no direct marketing)",
                day(&zone, t)
            ),
        ));
    }
    if let Some(t) = c.erased_at {
        fields.push(("erased", day(&zone, t)));
    }
    fields.push(("created", day(&zone, c.created_at)));
    fields.push(("updated", day(&zone, c.updated_at)));
    for (name, value) in fields {
        writeln!(out, "  {:<12} {value}", format!("{name}:"))?;
    }
    writeln!(out)?;
    writeln!(out, "consents")?;
    if consents.is_empty() {
        writeln!(out, "  no consent types defined")?;
    } else {
        let mut t = Table::new(&["CODE", "TITLE", "STATE", "SINCE", "EXPIRES", "PERMITS"]);
        for k in &consents {
            t.row(vec![
                k.code.to_string(),
                k.title.clone(),
                state(k).into(),
                or_dash(k.event_time.map(|t| day(&zone, t))),
                match (k.kind, k.expires_at) {
                    (Some(kind), None) if kind.grants() => "never".into(),
                    (_, e) => or_dash(e.map(|t| day(&zone, t))),
                },
                permits(k.permissions),
            ]);
        }
        t.write(out, 2)?;
    }
    writeln!(out)?;
    writeln!(out, "justified contacts")?;
    if interactions.is_empty() {
        writeln!(out, "  none")?;
    } else {
        let mut t = Table::new(&["WHEN", "ACTION", "CAUSE", "OPERATOR", "REASON", "NOTE"]);
        for i in &interactions {
            t.row(vec![
                i.occurred_at.to_rfc3339(),
                i.action.to_string(),
                or_dash(i.cause.as_deref()),
                i.operator.clone(),
                or_dash(i.reason_label.as_deref()),
                or_dash(i.note.as_deref().map(|n| clip(n, 60))),
            ]);
        }
        t.write(out, 2)?;
    }
    Ok(())
}

async fn search(ctx: &mut Ctx<'_>, query: &str, limit: i64) -> anyhow::Result<()> {
    let found = ctx.store.search_contacts(query, limit).await?;
    if ctx.json {
        return json(ctx.out, &found);
    }
    if found.is_empty() {
        writeln!(ctx.out, "no contact matches `{}`", query.trim())?;
        return Ok(());
    }
    let mut t = Table::new(&["ID", "EXTERNAL ID", "NAME", "EMAIL", "PHONE"]);
    for s in &found {
        t.row(vec![
            s.id.to_string(),
            or_dash(s.external_id.as_deref()),
            or_dash(s.name.as_deref()),
            or_dash(s.email.as_deref()),
            or_dash(s.phone.as_deref()),
        ]);
    }
    t.write(ctx.out, 0)
}
