//! `consento requests create|list|show|move|extend`: data-subject requests and their Art. 12(3)
//! deadlines, with the operator as the one who handled them. The JSON output is the API's
//! (the same use cases answer both); deadlines are counted on the configured calendar plus any
//! `--extra-holiday`.

use consento_domain::requests::{RequestChannel, RequestKind, RequestStatus, parse_date};
use consento_domain::{Actor, ActorKind, RequestId};
use consento_store::{NewDataRequest, RequestMove};

use super::output::{Table, clip, day, json, or_dash};
use super::{Ctx, parse_ref, parse_time};
use crate::cli::RequestsCommand;
use consento_app::requests::ListQuery;

/// `consento requests …`.
pub async fn run(ctx: &mut Ctx<'_>, command: RequestsCommand) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    let actor = Actor::new(ActorKind::Operator, &ctx.operator)?;
    match command {
        RequestsCommand::Create {
            kind,
            channel,
            contact,
            description,
            received,
            extra_holidays,
        } => {
            let contact_id = match contact {
                Some(c) => Some(ctx.store.resolve_contact(&parse_ref(&c)).await?),
                None => None,
            };
            let new = NewDataRequest {
                contact_id,
                kind: RequestKind::parse(&kind)?,
                channel: RequestChannel::parse(&channel)?,
                description,
                received_at: parse_time(ctx.app.zone(), "received", received.as_deref())?,
                actor,
            };
            let out = ctx
                .app
                .log_request(&ctx.by(), new, &extra(&extra_holidays)?)
                .await?;
            if ctx.json {
                return json(ctx.out, &out);
            }
            writeln!(
                ctx.out,
                "logged request {} ({}), due on {}",
                out.id, out.kind, out.deadline
            )?;
            Ok(())
        }
        RequestsCommand::List {
            status,
            overdue,
            due_within_days,
            kind,
            contact,
            limit,
        } => {
            let contact_id = match contact {
                Some(c) => Some(ctx.store.resolve_contact(&parse_ref(&c)).await?),
                None => None,
            };
            let q = ListQuery {
                status,
                due_within_days,
                overdue,
                kind,
                contact_id,
                after: None,
                limit: Some(limit),
            };
            let items = ctx.app.list_requests(&q).await?;
            if ctx.json {
                return json(ctx.out, &items);
            }
            if items.is_empty() {
                writeln!(ctx.out, "no requests")?;
                return Ok(());
            }
            let mut t = Table::new(&[
                "ID",
                "KIND",
                "STATUS",
                "RECEIVED",
                "DEADLINE",
                "OVERDUE",
                "DESCRIPTION",
            ]);
            for r in &items {
                t.row(vec![
                    r.id.to_string(),
                    r.kind.clone(),
                    r.status.clone(),
                    day(&zone, r.received_at),
                    r.deadline.clone(),
                    if r.overdue {
                        "OVERDUE".into()
                    } else {
                        "-".into()
                    },
                    clip(&r.description, 40),
                ]);
            }
            t.write(ctx.out, 0)
        }
        RequestsCommand::Show { id } => {
            let id = request_id(&id)?;
            let detail = ctx.app.request_detail(id).await?;
            if ctx.json {
                return json(ctx.out, &detail);
            }
            let r = &detail.request;
            writeln!(ctx.out, "request {} ({}, by {})", r.id, r.kind, r.channel)?;
            writeln!(ctx.out, "  status:    {}", r.status)?;
            writeln!(ctx.out, "  person:    {}", or_dash(r.contact_id))?;
            writeln!(ctx.out, "  received:  {}", r.received_at)?;
            writeln!(
                ctx.out,
                "  due:       {}{}",
                r.due_on,
                if r.overdue { " (OVERDUE)" } else { "" }
            )?;
            if let (Some(ext), Some(why)) = (&r.extended_due_on, &r.extension_reason) {
                writeln!(ctx.out, "  extended:  {ext} ({why})")?;
            }
            if let Some(reason) = &r.rejection_reason {
                writeln!(ctx.out, "  rejected:  {reason}")?;
                writeln!(ctx.out, "  remedies:  {}", or_dash(r.remedies.as_ref()))?;
            }
            if let Some(outcome) = &r.outcome {
                writeln!(ctx.out, "  outcome:   {outcome}")?;
            }
            writeln!(ctx.out, "  asked:     {}", r.description)?;
            let mut t = Table::new(&["WHEN", "BY", "FROM", "TO", "NOTE"]);
            for e in &detail.history {
                t.row(vec![
                    e.at.to_string(),
                    format!("{}:{}", e.by.kind, e.by.id),
                    or_dash(e.from_status.as_ref()),
                    e.to_status.clone(),
                    e.note.clone(),
                ]);
            }
            writeln!(ctx.out)?;
            t.write(ctx.out, 2)
        }
        RequestsCommand::Move {
            id,
            to,
            note,
            reason,
            remedies,
        } => {
            let change = RequestMove {
                to: RequestStatus::parse(&to)?,
                note,
                reason,
                remedies,
                actor,
            };
            let out = ctx
                .app
                .move_request(&ctx.by(), request_id(&id)?, change)
                .await?;
            if ctx.json {
                return json(ctx.out, &out);
            }
            writeln!(ctx.out, "request {} is now {}", out.id, out.status)?;
            Ok(())
        }
        RequestsCommand::Extend {
            id,
            reason,
            extra_holidays,
        } => {
            let out = ctx
                .app
                .extend_request(
                    &ctx.by(),
                    request_id(&id)?,
                    &reason,
                    actor,
                    &extra(&extra_holidays)?,
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &out);
            }
            writeln!(
                ctx.out,
                "request {} extended: now due on {}",
                out.id, out.deadline
            )?;
            Ok(())
        }
    }
}

fn request_id(text: &str) -> anyhow::Result<RequestId> {
    Ok(RequestId::parse("id", text)?)
}

/// The days given with `--extra-holiday`, besides the configured calendar's.
fn extra(days: &[String]) -> anyhow::Result<Vec<time::Date>> {
    Ok(days
        .iter()
        .map(|d| parse_date("extra-holiday", d))
        .collect::<Result<Vec<_>, _>>()?)
}
