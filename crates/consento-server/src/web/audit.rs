//! The audit trail, browsable: every operator action (who, when, what, on which record), newest
//! first, filtered by account and by date, a page at a time. It is how the controller shows what
//! its staff did with personal data (GDPR Art. 5(2), accountability; Art. 30). Reading it needs
//! `Audit` (administrator, DPO, auditor).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use consento_domain::{Permission, Timestamp};
use consento_store::{AuditEntry, AuditFilter, User};
use serde::Deserialize;

use super::page::{Page, PageError, percent_encode, render};
use super::session::Staff;
use crate::i18n::Tr;
use crate::state::AppState;

/// Entries per page.
const PAGE_SIZE: u32 = 50;

/// The longest detail shown in a row, in characters (the rest is cut).
const DETAIL_CHARS: usize = 240;

/// The page's query: the filters as typed, and where the page starts.
#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    user: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

/// An account in the select.
struct UserOption {
    id: String,
    name: String,
    selected: bool,
}

/// A row of the trail, written for the page.
struct Row {
    when: String,
    who: String,
    what: String,
    /// The record: (text, link to it if it has a page).
    target: Option<(String, Option<String>)>,
    detail: String,
    /// A rectification's changed fields (GDPR Art. 16): (field, before, after).
    changes: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    users: Vec<UserOption>,
    from: String,
    to: String,
    user_error: Option<String>,
    from_error: Option<String>,
    to_error: Option<String>,
    rows: Vec<Row>,
    filtered: bool,
    newest_href: Option<String>,
    older_href: Option<String>,
}

/// The label of an action code (`contact.view` → `audit-action-contact-view`), or the code
/// itself when the catalog has none (an action added later still reads).
fn action_label(tr: Tr, action: &str) -> String {
    let key = format!("audit-action-{}", action.replace(['.', '_'], "-"));
    if tr.has(&key) {
        tr.t(&key)
    } else {
        action.to_owned()
    }
}

/// The record an entry touched: a contact links to its card; another kind is named, with its id.
fn target(tr: Tr, entry: &AuditEntry) -> Option<(String, Option<String>)> {
    let kind = entry.target_kind.as_deref()?;
    let id = entry.target_id.as_deref().unwrap_or_default();
    let key = format!("audit-target-{}", kind.replace(['.', '_'], "-"));
    let kind_label = if tr.has(&key) {
        tr.t(&key)
    } else {
        kind.to_owned()
    };
    let link =
        (kind == "contact" && uuid::Uuid::parse_str(id).is_ok()).then(|| format!("/contacts/{id}"));
    Some((format!("{kind_label} {id}").trim().to_owned(), link))
}

/// A detail object as `key: value; key: value` (text values without quotes), cut to
/// [`DETAIL_CHARS`].
fn compact_detail(detail: &serde_json::Value) -> String {
    let text = match detail {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    if text.chars().count() > DETAIL_CHARS {
        let mut cut: String = text.chars().take(DETAIL_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

/// Who did it: the account's display name now, else its username, else the API token by name
/// ("token crm"), else "no account" (a failed login under an unknown name, or the system).
fn who(tr: Tr, users: &HashMap<uuid::Uuid, User>, entry: &AuditEntry) -> String {
    entry
        .user_id
        .and_then(|id| users.get(&id))
        .map(|u| u.display_name.clone())
        .or_else(|| entry.username.clone())
        .or_else(|| {
            entry.token_id.map(|id| {
                let name = entry.token_name.clone().unwrap_or_else(|| id.to_string());
                tr.with("audit-token", "name", &name)
            })
        })
        .unwrap_or_else(|| tr.t("audit-no-account"))
}

/// A JSON value as a person reads it: text without quotes, a list joined by commas, nothing as
/// a dash.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) if items.is_empty() => "—".to_owned(),
        serde_json::Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        serde_json::Value::Object(map) if map.is_empty() => "—".to_owned(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The before and after of each field a rectification changed (`{"changes": {field: {"before",
/// "after"}}}`), the field named in the reader's language.
fn changes(tr: Tr, detail: &serde_json::Value) -> Vec<(String, String, String)> {
    let Some(map) = detail.get("changes").and_then(serde_json::Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .map(|(field, change)| {
            let key = format!("audit-field-{}", field.replace('_', "-"));
            let label = if tr.has(&key) {
                tr.t(&key)
            } else {
                field.clone()
            };
            (
                label,
                plain(change.get("before").unwrap_or(&serde_json::Value::Null)),
                plain(change.get("after").unwrap_or(&serde_json::Value::Null)),
            )
        })
        .collect()
}

/// Parses a date filter (`YYYY-MM-DD`, a local day of the office's zone) into that day's
/// `[start, end)` instants; an error message for the field otherwise.
fn date_filter(tr: Tr, text: &str) -> Result<Option<(Timestamp, Timestamp)>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    tr.zone
        .parse_day("date", text)
        .map(|(_, start, end)| Some((start, end)))
        .map_err(|_| tr.t("audit-date-invalid"))
}

/// `GET /audit`.
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<AuditParams>,
) -> Result<Response, PageError> {
    staff.require(Permission::Audit)?;
    let tr = staff.tr;
    let user_text = q.user.as_deref().map(str::trim).unwrap_or_default();
    let from_text = q.from.as_deref().map(str::trim).unwrap_or_default();
    let to_text = q.to.as_deref().map(str::trim).unwrap_or_default();

    let mut user_error = None;
    let user_id = if user_text.is_empty() {
        None
    } else {
        match uuid::Uuid::parse_str(user_text) {
            Ok(id) => Some(id),
            Err(_) => {
                user_error = Some(tr.t("audit-user-invalid"));
                None
            }
        }
    };
    // Both days are local: "from" starts at its local midnight, and the "to" date is included
    // whole, up to the next local midnight (23, 24 or 25 hours later).
    let from = date_filter(tr, from_text).map(|d| d.map(|(start, _)| start));
    let until = date_filter(tr, to_text).map(|d| d.map(|(_, end)| end));
    let from_error = from.as_ref().err().cloned();
    let mut to_error = until.as_ref().err().cloned();
    let (from, until) = (from.ok().flatten(), until.ok().flatten());
    if let (Some(f), Some(u)) = (from, until)
        && u <= f
    {
        to_error = Some(tr.t("audit-range-invalid"));
    }
    let before = match q.before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => Some(b.parse::<i64>().map_err(|_| PageError::Invalid {
            field: "before".to_owned(),
            reason: tr.t("audit-bad-page"),
        })?),
        None => None,
    };
    let valid = user_error.is_none() && from_error.is_none() && to_error.is_none();

    let users = state.store.users().await?;
    let entries = if valid {
        state
            .store
            .audit_entries(&AuditFilter {
                user_id,
                from,
                until,
                target: None,
                before,
                limit: PAGE_SIZE,
            })
            .await?
    } else {
        Vec::new()
    };
    let options = users
        .iter()
        .map(|u| UserOption {
            id: u.id.to_string(),
            name: format!("{} ({})", u.display_name, u.username),
            selected: user_id == Some(u.id),
        })
        .collect();
    let by_id: HashMap<uuid::Uuid, User> = users.into_iter().map(|u| (u.id, u)).collect();

    let filters = format!(
        "user={}&from={}&to={}",
        percent_encode(user_text),
        percent_encode(from_text),
        percent_encode(to_text)
    );
    let older_href = (entries.len() == PAGE_SIZE as usize)
        .then(|| {
            entries
                .last()
                .map(|e| format!("/audit?{filters}&before={}", e.seq))
        })
        .flatten();
    let newest_href = before.map(|_| format!("/audit?{filters}"));
    let rows = entries
        .iter()
        .map(|e| Row {
            when: tr.datetime(e.at),
            who: who(tr, &by_id, e),
            what: action_label(tr, &e.action),
            target: target(tr, e),
            detail: if e.detail.get("changes").is_some() {
                String::new()
            } else {
                compact_detail(&e.detail)
            },
            changes: changes(tr, &e.detail),
        })
        .collect();

    render(&AuditPage {
        page: staff.page("audit"),
        users: options,
        from: from_text.to_owned(),
        to: to_text.to_owned(),
        user_error,
        from_error,
        to_error,
        rows,
        filtered: !user_text.is_empty() || !from_text.is_empty() || !to_text.is_empty(),
        newest_href,
        older_href,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn every_action_any_adapter_audits_has_a_label() {
        // The trail shows the actions of the console, the API, the command line and the use
        // cases alike. The codes are the first string (with a dot, as every action has) shortly
        // after a call that writes an entry: `.audit(`, `.trace(` (a read traced),
        // `.audited(`, `.audited_result(`, `.audited_use_case(` (a write audited in its
        // transaction), `.entry(` (an entry built by its author), or after `action: ` (an
        // AuditInput written directly).
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stack = vec![root.join("src"), root.join("../consento-app/src")];
        let mut codes = Vec::new();
        let markers = [
            ".audit(",
            ".trace(",
            ".audited(",
            ".audited_result(",
            ".audited_use_case(",
            ".entry(",
            "action: \"",
        ];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for marker in markers {
                    for piece in text.split(marker).skip(1) {
                        let window: String = piece.chars().take(160).collect();
                        let after = if marker.ends_with('"') {
                            window.as_str()
                        } else {
                            window.split_once('"').map_or("", |(_, rest)| rest)
                        };
                        let code = after.split('"').next().unwrap_or_default();
                        // A decision's action (`phone.call`) is not an audit action.
                        if code.contains('.')
                            && consento_domain::Action::parse(code).is_err()
                            && code
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                        {
                            codes.push(code.to_owned());
                        }
                    }
                }
            }
        }
        assert!(codes.len() >= 30, "{codes:?}");
        let tr = Tr::rome(Locale::En);
        let unlabelled: Vec<_> = codes
            .iter()
            .filter(|c| action_label(tr, c) == **c)
            .collect();
        assert!(
            unlabelled.is_empty(),
            "actions without a label: {unlabelled:?}"
        );
    }

    #[test]
    fn an_action_without_a_label_reads_as_its_code() {
        let tr = Tr::rome(Locale::It);
        assert_eq!(action_label(tr, "something.new"), "something.new");
        assert_ne!(action_label(tr, "contact.view"), "contact.view");
    }

    #[test]
    fn a_rectification_reads_as_each_changed_field_before_and_after() {
        let d = serde_json::json!({"changes": {
            "name": {"before": "Mario", "after": "Maria"},
            "purposes": {"before": [], "after": ["a", "b"]},
        }});
        let rows = changes(Tr::rome(Locale::En), &d);
        assert_eq!(
            rows,
            vec![
                ("Name".to_owned(), "Mario".to_owned(), "Maria".to_owned()),
                ("Purposes".to_owned(), "—".to_owned(), "a, b".to_owned()),
            ]
        );
    }

    #[test]
    fn a_detail_is_written_compactly_and_cut_when_long() {
        let d = serde_json::json!({"type": "news", "rows": 3});
        assert_eq!(compact_detail(&d), "rows: 3; type: news");
        let long = serde_json::json!({"note": "x".repeat(500)});
        assert_eq!(compact_detail(&long).chars().count(), DETAIL_CHARS);
    }
}
