//! `/retention`: the contacts past the retention of their purposes (GDPR Art. 5(1)(e): marketing
//! 24 months, profiling 12 by default, `[retention]`), with their count, and the confirmation
//! that anonymises them through the same erasure as a person's request (reason `retention`), in
//! batches, each one transaction, each erasure audited. The DPO's and the administrator's
//! ([`Permission::Erase`]).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use consento_domain::Permission;
use serde::Deserialize;

use super::page::{Page, PageError, render, see_other};
use super::session::Staff;
use crate::state::AppState;

/// Candidates listed on the page; the count covers them all.
const SHOWN: usize = 200;

/// A candidate as the page shows it.
struct Row {
    href: String,
    ended: String,
    months: String,
    purposes: String,
}

#[derive(Template)]
#[template(path = "retention.html")]
struct RetentionPage {
    page: Page,
    intro: String,
    count: String,
    total: usize,
    rows: Vec<Row>,
    more: Option<String>,
    applied: Option<String>,
}

/// The query after a run: how many were anonymised.
#[derive(Debug, Default, Deserialize)]
pub struct RetentionQuery {
    #[serde(default)]
    anonymized: Option<u32>,
}

/// `GET /retention`: who is past their retention.
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<RetentionQuery>,
) -> Result<Response, PageError> {
    staff.require(Permission::Erase)?;
    let tr = staff.tr;
    let policy = &state.app.policy().retention;
    let (shown, total) = state.store.retention_overview(policy, SHOWN).await?;
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    let rows = shown
        .iter()
        .map(|c| Row {
            href: format!("/contacts/{}", c.contact_id),
            ended: tr.date(c.last_ended),
            months: c.months.to_string(),
            purposes: c.purposes.join(", "),
        })
        .collect();
    render(&RetentionPage {
        page: staff.page("retention"),
        intro: tr.args(
            "retention-intro",
            &[
                (
                    "marketing",
                    crate::i18n::Arg::Num(i64::from(policy.months_for("marketing"))),
                ),
                (
                    "profiling",
                    crate::i18n::Arg::Num(i64::from(policy.months_for("profilazione"))),
                ),
            ],
        ),
        count: tr.count("retention-count", i64::try_from(total).unwrap_or(i64::MAX)),
        total,
        rows,
        more: (total > SHOWN).then(|| tr.count("retention-more", SHOWN as i64)),
        applied: q
            .anonymized
            .map(|n| tr.count("retention-applied", i64::from(n))),
    })
}

/// `POST /retention`: anonymises every contact past its retention.
pub async fn apply(staff: Staff, State(state): State<AppState>) -> Result<Response, PageError> {
    staff.require(Permission::Erase)?;
    let run = state.app.run_retention(staff.actor(), staff.by()).await?;
    Ok(see_other(&format!(
        "/retention?anonymized={}",
        run.anonymized
    )))
}
