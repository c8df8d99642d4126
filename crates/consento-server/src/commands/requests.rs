//! `consento requests create|list|show|move|extend`: data-subject requests and their Art. 12(3)
//! deadlines, with the operator as the one who handled them. The JSON output is the API's.

use consento_domain::requests::{
    HolidayCalendar, RequestChannel, RequestKind, RequestStatus, parse_date,
};
use consento_domain::{Actor, ActorKind, RequestId};
use consento_store::{NewDataRequest, RequestMove};

use super::output::{Table, clip, day, json, or_dash};
use super::{Ctx, parse_ref, parse_time};
use crate::api::requests::{RequestDetail, RequestOut, RequestQuery, filter, today};
use crate::cli::RequestsCommand;

/// `consento requests …`.
pub async fn run(ctx: &mut Ctx<'_>, command: RequestsCommand) -> anyhow::Result<()> {
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
                received_at: parse_time("received", received.as_deref())?,
                actor,
            };
            let r = ctx
                .store
                .create_request(new, &calendar(&extra_holidays)?)
                .await?;
            let out = RequestOut::new(r, &today(ctx.store.now()));
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
                Some(c) => Some(ctx.store.resolve_contact(&parse_ref(&c)).await?.0),
                None => None,
            };
            let q = RequestQuery {
                status,
                due_within_days,
                overdue: Some(overdue),
                kind,
                contact_id,
                after: None,
                limit: Some(limit),
            };
            let now = ctx.store.now();
            let items = ctx.store.requests(&filter(&q, now)?).await?;
            let today = today(now);
            let items: Vec<RequestOut> = items
                .into_iter()
                .map(|r| RequestOut::new(r, &today))
                .collect();
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
                    day(r.received_at),
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
            let r = ctx.store.request(id).await?;
            let history = ctx.store.request_history(id).await?;
            let detail = RequestDetail {
                request: RequestOut::new(r, &today(ctx.store.now())),
                history: history.into_iter().map(Into::into).collect(),
            };
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
            let r = ctx.store.move_request(request_id(&id)?, change).await?;
            let out = RequestOut::new(r, &today(ctx.store.now()));
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
            let r = ctx
                .store
                .extend_request(
                    request_id(&id)?,
                    &reason,
                    actor,
                    &calendar(&extra_holidays)?,
                )
                .await?;
            let out = RequestOut::new(r, &today(ctx.store.now()));
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

/// Italy's calendar plus the days given with `--extra-holiday`.
fn calendar(extra: &[String]) -> anyhow::Result<HolidayCalendar> {
    let dates = extra
        .iter()
        .map(|d| parse_date("extra-holiday", d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HolidayCalendar::italy().with_extra(dates))
}
