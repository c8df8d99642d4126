//! The newsletter page: how many contacts a bulk email under a consent type (or under any type
//! that permits bulk email) reaches now, how many are left out and why (rules 1–7 of the
//! decision, `consento_domain::decision::decide`, for `email.bulk`, counted in SQL by the
//! store), and the download of the recipients as CSV, streamed by the same code as the API's
//! `GET /v1/audience`.
//!
//! Seeing the counts needs `Read`; the download is personal data leaving the product, so it needs
//! `ExportAudience` and is audited before the first byte goes out (GDPR Art. 5(2),
//! accountability), and again when the stream ends, with how many recipients it carried.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use consento_domain::Permission;
use consento_domain::spreadsheet::Cells;
use consento_store::{AudienceQuery, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::page::{Page, PageError, percent_encode, render};
use super::session::Staff;
use crate::i18n::Tr;
use crate::state::AppState;
use consento_app::audience::{AudienceFormat, ExportRefused, type_filter};

/// The causes of exclusion in the order of the decision rules that decide them: the page
/// lists them so; a cause the store adds later is listed after these, under its code.
const CAUSES: &[&str] = &[
    "erased",
    "restricted",
    "objected",
    "channel_off",
    "suppressed",
    "no_email",
    "withdrawn",
    "expired",
    "refused",
    "no_consent",
];

/// The page's query: which audience (a consent type's code, or `any`).
#[derive(Debug, Deserialize)]
pub struct AudienceChoice {
    #[serde(rename = "type")]
    type_code: Option<String>,
}

/// A consent type in the select.
struct TypeOption {
    code: String,
    title: String,
    selected: bool,
}

/// The counts of the chosen audience, written for the page.
struct Counts {
    eligible: String,
    excluded_total: String,
    /// (label, count) per cause, in rule order.
    causes: Vec<(String, String)>,
    at: String,
}

#[derive(Template)]
#[template(path = "newsletter.html")]
struct NewsletterPage {
    page: Page,
    types: Vec<TypeOption>,
    any_selected: bool,
    type_error: Option<String>,
    counts: Option<Counts>,
    check_off: bool,
    export_href: Option<String>,
}

/// The label of an exclusion cause, or its code when the catalog has none.
fn cause_label(tr: Tr, cause: &str) -> String {
    let key = format!("newsletter-cause-{}", cause.replace('_', "-"));
    if tr.has(&key) {
        tr.t(&key)
    } else {
        cause.to_owned()
    }
}

/// `GET /newsletter`: the form, and the counts of the chosen audience.
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<AudienceChoice>,
) -> Result<Response, PageError> {
    staff.require(Permission::Read)?;
    let tr = staff.tr;
    let chosen = q
        .type_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let filter = chosen.and_then(type_filter);
    let types = state
        .store
        .consent_types()
        .await?
        .into_iter()
        .filter(|t| t.spec.permissions.email_bulk)
        .map(|t| TypeOption {
            selected: filter.as_deref() == Some(t.spec.code.as_str()),
            code: t.spec.code.as_str().to_owned(),
            title: t.spec.title,
        })
        .collect();
    let check_off = !state.store.settings().await?.check_email_bulk;
    let mut type_error = None;
    let mut counts = None;
    if let Some(code) = chosen {
        let at = state.store.now();
        let query = AudienceQuery {
            type_code: filter.clone(),
            at: Some(at),
        };
        match state.store.audience_counts(&query).await {
            Ok(c) => {
                let mut causes: Vec<(String, String)> = CAUSES
                    .iter()
                    .filter_map(|cause| {
                        c.excluded
                            .get(*cause)
                            .map(|n| (cause_label(tr, cause), tr.num(*n)))
                    })
                    .collect();
                causes.extend(
                    c.excluded
                        .iter()
                        .filter(|(cause, _)| !CAUSES.contains(&cause.as_str()))
                        .map(|(cause, n)| (cause_label(tr, cause), tr.num(*n))),
                );
                counts = Some(Counts {
                    eligible: tr.num(c.eligible),
                    excluded_total: tr.num(c.excluded.values().sum()),
                    causes,
                    at: tr.datetime(at),
                });
            }
            Err(StoreError::NotFound { .. }) => {
                type_error = Some(tr.with("newsletter-type-unknown", "code", code));
            }
            Err(StoreError::Invalid(e)) if e.field() == "type_code" => {
                type_error = Some(tr.with("newsletter-type-not-bulk", "code", code));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let export_href =
        (counts.is_some() && staff.user.role.can(Permission::ExportAudience)).then(|| {
            format!(
                "/newsletter/export.csv?type={}",
                percent_encode(chosen.unwrap_or("any"))
            )
        });
    render(&NewsletterPage {
        page: staff.page("newsletter"),
        types,
        any_selected: chosen.is_none() || filter.is_none(),
        type_error,
        counts,
        check_off,
        export_href,
    })
}

/// `GET /newsletter/export.csv?type=CODE`: the recipients as RFC 4180 CSV (UTF-8, CRLF, header
/// row `contact_id,external_id,email,name`), streamed from the database cursor.
pub async fn export(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<AudienceChoice>,
) -> Result<Response, PageError> {
    staff.require(Permission::ExportAudience)?;
    let Some(code) = q
        .type_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
    else {
        return Err(PageError::Invalid {
            field: staff.tr.t("newsletter-type"),
            reason: staff.tr.t("newsletter-type-required"),
        });
    };
    let at = state.store.now();
    let query = AudienceQuery {
        type_code: type_filter(&code),
        at: Some(at),
    };
    let Ok(permit) = std::sync::Arc::clone(&state.exports).try_acquire_owned() else {
        return Err(PageError::Busy);
    };
    let export = match state
        .app
        .stream_audience(query, AudienceFormat::Csv, Cells::ForSpreadsheets, permit)
        .await
    {
        Ok(export) => export,
        Err(ExportRefused::Store(e)) => return Err(e.into()),
        Err(ExportRefused::Ended) => {
            return Err(PageError::Internal("the audience task ended early".into()));
        }
    };
    // Before any recipient leaves: if the trail cannot be written, the export is dropped (its
    // stream stops when the response is).
    staff
        .audit(
            &state.app,
            "audience.export",
            None,
            json!({ "type": code, "at": at.to_rfc3339(), "format": "csv" }),
        )
        .await?;
    let store = state.store.clone();
    let user_id = staff.user.id;
    let (mut response, end) = crate::http::audience(export, AudienceFormat::Csv);
    let audited_code = code.clone();
    tokio::spawn(async move {
        let Ok(end) = end.await else { return };
        let entry = consento_store::AuditInput {
            user_id: Some(user_id),
            token_id: None,
            action: "audience.export.end".to_owned(),
            target_kind: None,
            target_id: None,
            detail: json!({ "type": audited_code, "rows": end.rows, "complete": end.complete }),
        };
        if let Err(e) = store.audit(entry).await {
            tracing::error!(error = %e, "the end of an audience export could not be audited");
        }
    });
    let date = staff.tr.date_input(at);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"newsletter-{code}-{date}.csv\""
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
