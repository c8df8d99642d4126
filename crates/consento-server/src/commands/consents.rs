//! `consento consents give|withdraw|refuse|renew|revoke|history`: recording consent events in
//! the ledger, with the operator as actor, and reading a contact's history with its proof.

use consento_domain::{Actor, ActorKind, CollectionMethod, EventKind};
use consento_store::ConsentEventInput;

use super::output::{Table, clip, day, json, or_dash};
use super::{Ctx, parse_ref, parse_time};
use crate::cli::{ConsentEventArgs, ConsentsCommand};

/// `consento consents …`.
pub async fn run(ctx: &mut Ctx<'_>, command: ConsentsCommand) -> anyhow::Result<()> {
    let (kind, args) = match command {
        ConsentsCommand::Give(a) => (EventKind::Given, a),
        ConsentsCommand::Withdraw(a) => (EventKind::Withdrawn, a),
        ConsentsCommand::Refuse(a) => (EventKind::Refused, a),
        ConsentsCommand::Renew(a) => (EventKind::Renewed, a),
        ConsentsCommand::Revoke(a) => (EventKind::Revoked, a),
        ConsentsCommand::History { contact } => return history(ctx, &contact).await,
    };
    record(ctx, kind, args).await
}

async fn record(ctx: &mut Ctx<'_>, kind: EventKind, a: ConsentEventArgs) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    let input = ConsentEventInput {
        contact: parse_ref(&a.contact),
        type_code: a.type_code,
        kind,
        event_time: parse_time(ctx.app.zone(), "date", a.date.as_deref())?,
        method: CollectionMethod::parse(&a.method)?,
        actor: Actor::new(ActorKind::Operator, &ctx.operator)?,
        notice_version: a.notice,
        evidence: a.evidence,
    };
    let (e, _) = ctx.app.record_consent(&ctx.by(), input, None).await?;
    if ctx.json {
        return json(ctx.out, &e);
    }
    let expiry = match (kind.grants(), e.expires_at) {
        (true, Some(t)) => format!(", expires {}", day(&zone, t)),
        (true, None) => ", never expires".into(),
        (false, _) => String::new(),
    };
    writeln!(
        ctx.out,
        "recorded: {} {} for contact {} on {}{expiry} (ledger event {}, hash {})",
        e.kind,
        e.type_code,
        e.contact_id,
        day(&zone, e.event_time),
        e.seq,
        e.hash
    )?;
    Ok(())
}

async fn history(ctx: &mut Ctx<'_>, contact: &str) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    let events = ctx.store.consent_history(&parse_ref(contact)).await?;
    if ctx.json {
        return json(ctx.out, &events);
    }
    if events.is_empty() {
        writeln!(ctx.out, "no consent events recorded for this contact")?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "SEQ",
        "EVENT TIME",
        "TYPE",
        "KIND",
        "METHOD",
        "ACTOR",
        "NOTICE",
        "EXPIRES",
        "EVIDENCE",
        "HASH",
    ]);
    for e in &events {
        let actor = if e.actor_id.is_empty() {
            e.actor_kind.to_string()
        } else {
            format!("{}:{}", e.actor_kind, e.actor_id)
        };
        t.row(vec![
            e.seq.to_string(),
            e.event_time.to_rfc3339(),
            e.type_code.clone(),
            e.kind.to_string(),
            e.method.to_string(),
            actor,
            or_dash(e.notice_version.as_deref()),
            or_dash(e.expires_at.map(|t| day(&zone, t))),
            or_dash(e.evidence.as_deref().map(|v| clip(v, 40))),
            e.hash.clone(),
        ]);
    }
    t.write(ctx.out, 0)
}
