//! The dashboard: the first page after signing in.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use consento_domain::Permission;
use serde::Deserialize;

use super::page::{Page, PageError, render};
use super::session::Staff;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    welcome: String,
}

/// What a redirect to the dashboard may carry.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /`.
pub async fn show(staff: Staff, Query(q): Query<DoneQuery>) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    render(&DashboardPage {
        welcome: staff
            .tr
            .with("dashboard-welcome", "name", &staff.user.display_name),
        page: staff.page("dashboard").done(q.done.as_deref()),
    })
}
