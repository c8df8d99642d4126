//! The dashboard, the first page after signing in: consents per type and state, consents that
//! expire in the next 30 days (with the list of whose, to ask for a renewal before the consent
//! lapses), and the justified contacts of the last 30 days per operator and per reason (rule 7 of
//! the decision, `consento_domain::decision::decide`: contacting someone without consent is the
//! exception a DPO watches).
//!
//! While the data controller's details are incomplete (GDPR Art. 13(1)(a)–(b)), the dashboard
//! opens with a warning naming what is missing.
//!
//! Charts are SVG drawn here, on the server: no script, and colours come from the stylesheet's
//! classes (the security policy refuses inline styles). Each chart is hidden from screen readers
//! and followed by a table with the same figures.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use consento_domain::requests::plus_days;
use consento_domain::{ContactId, Permission, Timestamp, Zone};
use consento_store::{ExpiringQuery, InteractionCount, User};
use serde::Deserialize;

use super::page::{Page, PageError, percent_encode, render};
use super::session::Staff;
use crate::i18n::Tr;
use crate::state::AppState;

/// The period of the expiring consents and of the justified contacts, in days.
const PERIOD_DAYS: u32 = 30;

/// The longest window the expiring list accepts, in days.
const MAX_WINDOW_DAYS: u32 = 366;

/// Contacts per page of the expiring list.
const EXPIRING_PAGE: u32 = 50;

/// The chart's drawing box (SVG user units; the picture scales to the page's width).
const CHART_WIDTH: u32 = 640;
const LABEL_WIDTH: u32 = 190;
const BAR_AREA: u32 = 370;
const ROW_HEIGHT: u32 = 28;
const BAR_HEIGHT: u32 = 18;

/// A coloured piece of a bar.
pub struct Segment {
    /// Its class in the stylesheet (the colour).
    pub class: &'static str,
    /// Where it starts.
    pub x: u32,
    /// How long it is.
    pub width: u32,
}

/// One bar of a chart: a label, its pieces, and the total written after it.
pub struct Bar {
    /// The label on the left (shortened to fit).
    pub label: String,
    /// The top of the bar.
    pub y: u32,
    /// The baseline of its texts.
    pub text_y: u32,
    /// Its pieces, left to right.
    pub segments: Vec<Segment>,
    /// The total, in the page's language.
    pub total: String,
    /// Where the total is written.
    pub total_x: u32,
}

/// A horizontal bar chart, one bar per row, each bar made of stacked pieces.
pub struct BarChart {
    /// The height of the drawing.
    pub height: u32,
    /// The width of the drawing.
    pub width: u32,
    /// The bars.
    pub bars: Vec<Bar>,
    /// (class, label) of each kind of piece, for the legend; empty for single-piece bars.
    pub legend: Vec<(&'static str, String)>,
}

impl BarChart {
    /// Draws `rows` (a label and its values, one per class of `classes`), scaled to the largest
    /// total.
    fn new(
        tr: Tr,
        rows: &[(String, Vec<i64>)],
        classes: &[&'static str],
        legend: Vec<(&'static str, String)>,
    ) -> Self {
        let max = rows
            .iter()
            .map(|(_, values)| values.iter().sum::<i64>())
            .max()
            .unwrap_or(0)
            .max(1);
        let bars = rows
            .iter()
            .zip(0u32..)
            .map(|((label, values), i)| {
                let y = 4 + i * ROW_HEIGHT;
                let mut x = LABEL_WIDTH;
                let mut segments = Vec::new();
                for (value, class) in values.iter().zip(classes) {
                    let width = scaled(*value, max);
                    if width > 0 {
                        segments.push(Segment { class, x, width });
                        x += width;
                    }
                }
                Bar {
                    label: shorten(label, 26),
                    y,
                    text_y: y + BAR_HEIGHT - 5,
                    segments,
                    total: tr.num(values.iter().sum()),
                    total_x: x + 6,
                }
            })
            .collect::<Vec<_>>();
        Self {
            height: 8 + ROW_HEIGHT * u32::try_from(bars.len()).unwrap_or(0),
            width: CHART_WIDTH,
            bars,
            legend,
        }
    }
}

/// The length of a piece worth `value` when `max` fills the bar area; never zero for a value
/// that is not, so a small count stays visible.
fn scaled(value: i64, max: i64) -> u32 {
    if value <= 0 {
        return 0;
    }
    let width = i128::from(value) * i128::from(BAR_AREA) / i128::from(max);
    u32::try_from(width).unwrap_or(BAR_AREA).max(1)
}

/// `text` cut to `max` characters, with an ellipsis when cut (the table holds it whole).
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A consent type's line of the state table.
struct StateRow {
    title: String,
    code: String,
    active: String,
    suspended: String,
    expired: String,
    withdrawn: String,
    refused: String,
    total: String,
}

/// A consent type's line of the expiring table.
struct ExpiringRow {
    title: String,
    code: String,
    count: String,
    href: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    welcome: String,
    /// The data controller's details still missing, named in the page's language.
    controller_missing: Option<String>,
    /// Whether this person may complete them (Setup).
    can_setup: bool,
    states: Vec<StateRow>,
    states_chart: BarChart,
    expiring: Vec<ExpiringRow>,
    expiring_until: String,
    /// (operator, count) of the justified contacts.
    by_operator: Vec<(String, String)>,
    operators_chart: BarChart,
    /// (reason, count) of the justified contacts.
    by_reason: Vec<(String, String)>,
    reasons_chart: BarChart,
    justified_total: String,
    since: String,
}

/// What a redirect to the dashboard may carry.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The name to show for an operator as the ledger recorded them: a console account's display
/// name when the id is one, else the text an integration gave.
fn operator_name(users: &HashMap<uuid::Uuid, User>, operator: &str) -> String {
    uuid::Uuid::parse_str(operator)
        .ok()
        .and_then(|id| users.get(&id))
        .map_or_else(|| operator.to_owned(), |u| u.display_name.clone())
}

/// Sums `counts` per key, largest first (then by key).
fn totals_by(counts: Vec<(String, i64)>) -> Vec<(String, i64)> {
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    for (key, n) in counts {
        *sums.entry(key).or_default() += n;
    }
    let mut out: Vec<_> = sums.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The start of "the last `days` days" as the office counts them: the local midnight `days - 1`
/// days before today, so that today is the last of them (`t - days × 24 h` if out of range).
fn local_days_back(zone: &Zone, t: Timestamp, days: u32) -> Timestamp {
    zone.today(t)
        .and_then(|today| plus_days(today, 1 - i64::from(days)))
        .and_then(|d| zone.start_of(d))
        .unwrap_or_else(|| {
            Timestamp::from_micros(
                t.as_micros()
                    .saturating_sub(i64::from(days) * consento_domain::time::MICROS_PER_DAY),
            )
        })
}

/// The end of "the next `days` days": the local midnight that ends the day `days` days after
/// today, so that a consent expiring late on that day is counted (`t + days × 24 h` if out of
/// range).
fn local_days_ahead(zone: &Zone, t: Timestamp, days: u32) -> Timestamp {
    zone.today(t)
        .and_then(|today| plus_days(today, i64::from(days)))
        .and_then(|d| zone.end_of(d))
        .unwrap_or_else(|| t.plus_days(days))
}

/// `GET /`.
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    let tr = staff.tr;
    let store = &state.store;
    let now = store.now();
    let until = local_days_ahead(tr.zone, now, PERIOD_DAYS);
    let since = local_days_back(tr.zone, now, PERIOD_DAYS);
    let ((states, expiring), justified, users) = tokio::try_join!(
        store.consent_overview(now, until),
        store.interaction_counts(since),
        store.users(),
    )?;
    // GDPR Art. 13(1)(a)–(b): a warning while anything people must be told about the
    // controller is missing.
    let missing = state.app.controller().await?.missing();
    let controller_missing = (!missing.is_empty()).then(|| {
        missing
            .iter()
            .map(|f| tr.t(&format!("setup-controller-{}", f.code().replace('_', "-"))))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let users: HashMap<uuid::Uuid, User> = users.into_iter().map(|u| (u.id, u)).collect();

    let states_chart = BarChart::new(
        tr,
        &states
            .iter()
            .map(|s| {
                (
                    s.title.clone(),
                    vec![s.active, s.suspended, s.expired, s.withdrawn, s.refused],
                )
            })
            .collect::<Vec<_>>(),
        &[
            "s-active",
            "s-suspended",
            "s-expired",
            "s-withdrawn",
            "s-refused",
        ],
        vec![
            ("s-active", tr.t("dashboard-state-active")),
            ("s-suspended", tr.t("dashboard-state-suspended")),
            ("s-expired", tr.t("dashboard-state-expired")),
            ("s-withdrawn", tr.t("dashboard-state-withdrawn")),
            ("s-refused", tr.t("dashboard-state-refused")),
        ],
    );
    let states = states
        .into_iter()
        .map(|s| StateRow {
            active: tr.num(s.active),
            suspended: tr.num(s.suspended),
            expired: tr.num(s.expired),
            withdrawn: tr.num(s.withdrawn),
            refused: tr.num(s.refused),
            total: tr.num(s.active + s.suspended + s.expired + s.withdrawn + s.refused),
            title: s.title,
            code: s.code,
        })
        .collect();
    let expiring = expiring
        .into_iter()
        .map(|e| ExpiringRow {
            href: format!(
                "/consents/expiring?type={}&days={PERIOD_DAYS}",
                percent_encode(&e.code)
            ),
            count: tr.num(e.count),
            title: e.title,
            code: e.code,
        })
        .collect();

    let justified_total = tr.num(justified.iter().map(|c| c.count).sum());
    let by_operator = totals_by(
        justified
            .iter()
            .map(|c| (operator_name(&users, &c.operator), c.count))
            .collect(),
    );
    let by_reason = totals_by(
        justified
            .iter()
            .map(|c: &InteractionCount| {
                (
                    c.reason_label
                        .clone()
                        .unwrap_or_else(|| tr.t("dashboard-no-reason")),
                    c.count,
                )
            })
            .collect(),
    );
    let single = |rows: &[(String, i64)]| {
        BarChart::new(
            tr,
            &rows
                .iter()
                .map(|(label, n)| (label.clone(), vec![*n]))
                .collect::<Vec<_>>(),
            &["s-justified"],
            Vec::new(),
        )
    };
    let operators_chart = single(&by_operator);
    let reasons_chart = single(&by_reason);
    let written = |rows: Vec<(String, i64)>| {
        rows.into_iter()
            .map(|(label, n)| (label, tr.num(n)))
            .collect::<Vec<_>>()
    };

    render(&DashboardPage {
        welcome: tr.with("dashboard-welcome", "name", &staff.user.display_name),
        controller_missing,
        can_setup: staff.user.role.can(Permission::Setup),
        states,
        states_chart,
        expiring,
        expiring_until: tr.date(until),
        by_operator: written(by_operator),
        operators_chart,
        by_reason: written(by_reason),
        reasons_chart,
        justified_total,
        since: tr.date(since),
        page: staff.page("dashboard").done(q.done.as_deref()),
    })
}

/// The expiring list's query: which type, how many days ahead, and where the page starts.
#[derive(Debug, Deserialize)]
pub struct ExpiringParams {
    #[serde(rename = "type")]
    type_code: Option<String>,
    days: Option<String>,
    after: Option<String>,
}

/// A line of the expiring list.
struct ExpiringLine {
    href: String,
    name: String,
    email: String,
    expires: String,
}

/// A consent type in the select.
struct TypeOption {
    code: String,
    title: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "expiring.html")]
struct ExpiringPage {
    page: Page,
    types: Vec<TypeOption>,
    days: String,
    type_error: Option<String>,
    days_error: Option<String>,
    summary: Option<String>,
    lines: Vec<ExpiringLine>,
    first_href: Option<String>,
    next_href: Option<String>,
}

/// The keyset of a page: `<expiry in microseconds>_<contact id>`.
fn parse_after(text: &str) -> Option<(Timestamp, ContactId)> {
    let (at, id) = text.split_once('_')?;
    Some((
        Timestamp::from_micros(at.parse().ok()?),
        ContactId(uuid::Uuid::parse_str(id).ok()?),
    ))
}

/// `GET /consents/expiring?type=CODE&days=30`: the contacts whose consent of a type expires
/// within the next days, soonest first, a page at a time (keyset: each page costs the same).
pub async fn expiring(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<ExpiringParams>,
) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    let tr = staff.tr;
    let store = &state.store;
    let code = q
        .type_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let days_text = q
        .days
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or("30")
        .to_owned();
    let days = days_text
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=MAX_WINDOW_DAYS).contains(d));
    let days_error = days
        .is_none()
        .then(|| tr.count_named("expiring-days-invalid", "max", i64::from(MAX_WINDOW_DAYS)));
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(text) => Some(parse_after(text).ok_or_else(|| PageError::Invalid {
            field: tr.t("expiring-pages"),
            reason: tr.t("expiring-bad-page"),
        })?),
        None => None,
    };
    let now = store.now();
    let types = store.consent_types().await?;
    let known = code
        .as_deref()
        .is_some_and(|c| types.iter().any(|t| t.spec.code.as_str() == c));
    let type_error = code
        .as_deref()
        .filter(|_| !known)
        .map(|c| tr.with("expiring-type-unknown", "code", c));
    let options = types
        .into_iter()
        .map(|t| TypeOption {
            selected: code.as_deref() == Some(t.spec.code.as_str()),
            code: t.spec.code.as_str().to_owned(),
            title: t.spec.title,
        })
        .collect();

    let mut page = ExpiringPage {
        page: staff.page("dashboard"),
        types: options,
        days: days_text,
        type_error,
        days_error,
        summary: None,
        lines: Vec::new(),
        first_href: None,
        next_href: None,
    };
    if let (Some(code), Some(days), true) = (code, days, known) {
        let until = local_days_ahead(tr.zone, now, days);
        let query = ExpiringQuery {
            type_code: code.clone(),
            from: now,
            until,
            after,
            limit: EXPIRING_PAGE,
        };
        let (counts, consents) = tokio::try_join!(
            store.expiring_counts(now, until),
            store.expiring_consents(&query),
        )?;
        let total = counts
            .iter()
            .find(|c| c.code == code)
            .map_or(0, |c| c.count);
        page.summary = Some(tr.args(
            "expiring-summary",
            &[
                ("count", crate::i18n::Arg::Num(total)),
                ("date", crate::i18n::Arg::Text(tr.date(until).into())),
            ],
        ));
        let base = format!(
            "/consents/expiring?type={}&days={days}",
            percent_encode(&code)
        );
        if consents.len() == EXPIRING_PAGE as usize
            && let Some(last) = consents.last()
        {
            page.next_href = Some(format!(
                "{base}&after={}_{}",
                last.expires_at.as_micros(),
                last.contact_id
            ));
        }
        if after.is_some() {
            page.first_href = Some(base);
        }
        page.lines = consents
            .into_iter()
            .map(|c| ExpiringLine {
                href: format!("/contacts/{}", c.contact_id),
                name: c.name.unwrap_or_else(|| tr.t("expiring-no-name")),
                email: c.email.unwrap_or_default(),
                expires: tr.date(c.expires_at),
            })
            .collect();
    }
    render(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse("t", text).unwrap()
    }

    #[test]
    fn the_windows_are_whole_local_days_at_half_past_midnight_in_rome() {
        let rome = Zone::rome();
        // 00:30 on 1 December in Rome: the last 30 days start at local midnight of 2 November
        // (23:00 UTC on 1 November), the next 30 end at local midnight after 31 December.
        let now = at("2026-11-30T23:30:00Z");
        assert_eq!(
            local_days_back(&rome, now, 30).to_rfc3339(),
            "2026-11-01T23:00:00Z"
        );
        assert_eq!(
            local_days_ahead(&rome, now, 30).to_rfc3339(),
            "2026-12-31T23:00:00Z"
        );
        // In UTC the same instant is still 30 November.
        assert_eq!(
            local_days_ahead(&Zone::utc(), now, 30).to_rfc3339(),
            "2026-12-31T00:00:00Z"
        );
    }
}
