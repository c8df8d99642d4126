//! The audit trail, browsable: every action (who, when, what, on which record), newest first,
//! filtered by account and by date, a page at a time. It is how the controller shows what its
//! staff and its integrations did with personal data (GDPR Art. 5(2), accountability; Art. 30).
//! The trail stores ids, never names: the page names each record as people know it (a contact by
//! its name or CRM id, looked up as the page is read, so an erased one reads as erased, Art. 17)
//! and reads each detail field by field in the reader's language (`super::fields`). Reading it
//! needs `Audit` (administrator, DPO, auditor).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use consento_domain::{ContactId, Permission, Timestamp};
use consento_store::{AuditEntry, AuditFilter, ContactRef, StoreError, User};
use serde::Deserialize;

use super::fields::{Change, Field, Names, Reader};
use super::page::{Page, PageError, percent_encode, render};
use super::session::Staff;
use crate::i18n::{Arg, Tr};
use crate::state::AppState;

/// Entries per page.
const PAGE_SIZE: u32 = 50;

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
    /// The detail, field by field.
    fields: Vec<Field>,
    /// What a change changed (a rectification, GDPR Art. 16; a setting): each field before and
    /// after.
    changes: Vec<Change>,
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

/// The record an entry touched, by its name where it has one (a contact by its name or CRM id,
/// an account, a consent type, a contact reason, a bulk rule), else by its kind and id; a contact
/// links to its card.
fn target(tr: Tr, names: &Names, entry: &AuditEntry) -> Option<(String, Option<String>)> {
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
    let name = match kind {
        "contact" => names.contacts.get(id),
        "user" => names.users.get(id),
        "consent_type" => names.types.get(id),
        "reason" => names.reasons.get(id),
        "bulk_rule" => names.rules.get(id),
        _ => None,
    };
    let text = match name {
        Some(name) => format!("{kind_label}: {name}"),
        None => format!("{kind_label} {id}").trim().to_owned(),
    };
    Some((text, link))
}

/// Who did it: the account's display name now, else its username; an API token by name ("token
/// crm"), with the CRM user it named; the command line with its operator; the person on the
/// public pages; else "no account" (a failed login under an unknown name, or the system).
fn who(tr: Tr, users: &HashMap<uuid::Uuid, User>, entry: &AuditEntry) -> String {
    let operator = entry
        .detail
        .get("operator")
        .and_then(serde_json::Value::as_str);
    let via = entry.detail.get("via").and_then(serde_json::Value::as_str);
    if let Some(name) = entry
        .user_id
        .and_then(|id| users.get(&id))
        .map(|u| u.display_name.clone())
        .or_else(|| entry.username.clone())
    {
        return name;
    }
    if let Some(id) = entry.token_id {
        let name = entry.token_name.clone().unwrap_or_else(|| id.to_string());
        return match operator {
            Some(op) => tr.args(
                "audit-token-operator",
                &[
                    ("name", Arg::Text(name.into())),
                    ("operator", Arg::Text(op.into())),
                ],
            ),
            None => tr.with("audit-token", "name", &name),
        };
    }
    match (via, operator) {
        (Some("command_line"), Some(op)) => tr.with("audit-command-line-operator", "operator", op),
        (Some("command_line"), None) => tr.t("audit-command-line"),
        (Some("self_service"), _) => tr.t("audit-person"),
        _ => tr.t("audit-no-account"),
    }
}

/// A contact as the trail names it: by name, else by CRM id; an erased one says so (it has
/// neither any more, GDPR Art. 17).
fn contact_name(tr: Tr, name: Option<&str>, external_id: Option<&str>, erased: bool) -> String {
    if erased {
        return tr.t("audit-contact-erased");
    }
    match (name, external_id) {
        (Some(name), _) if !name.trim().is_empty() => name.to_owned(),
        (_, Some(ext)) => tr.with("audit-contact-external", "id", ext),
        _ => tr.t("contacts-no-name"),
    }
}

/// The names of what `entries` name: the contacts they touched or cite (each looked up once),
/// the consent types, contact reasons, accounts and bulk rules.
async fn names_of(
    tr: Tr,
    state: &AppState,
    users: &[User],
    entries: &[AuditEntry],
) -> Result<Names, PageError> {
    let mut contact_ids: Vec<ContactId> = entries
        .iter()
        .flat_map(|e| {
            let target = (e.target_kind.as_deref() == Some("contact"))
                .then(|| e.target_id.clone())
                .flatten();
            let cited = e
                .detail
                .get("contact")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            [target, cited]
        })
        .flatten()
        .filter_map(|id| uuid::Uuid::parse_str(&id).ok().map(ContactId))
        .collect();
    contact_ids.sort_by_key(|c| c.0);
    contact_ids.dedup();
    let refs: Vec<ContactRef> = contact_ids.iter().map(|id| ContactRef::Id(*id)).collect();
    let looked_up =
        futures_util::future::join_all(refs.iter().map(|r| state.store.contact(r))).await;
    let mut contacts = HashMap::new();
    for (id, found) in contact_ids.iter().zip(looked_up) {
        match found {
            Ok(c) => {
                contacts.insert(
                    id.0.to_string(),
                    contact_name(
                        tr,
                        c.name.as_deref(),
                        c.external_id.as_deref(),
                        c.erased_at.is_some(),
                    ),
                );
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let (types, reasons, rules) = tokio::try_join!(
        state.store.consent_types(),
        state.store.reasons(),
        state.store.rules(),
    )?;
    Ok(Names {
        types: types
            .iter()
            .flat_map(|t| {
                let name = format!("{} ({})", t.spec.title, t.spec.code);
                [
                    (t.spec.code.as_str().to_owned(), name.clone()),
                    (t.id.0.to_string(), name),
                ]
            })
            .collect(),
        reasons: reasons
            .into_iter()
            .map(|r| (r.id.0.to_string(), r.label))
            .collect(),
        users: users
            .iter()
            .map(|u| (u.id.to_string(), u.display_name.clone()))
            .collect(),
        contacts,
        rules: rules
            .into_iter()
            .map(|r| (r.id.to_string(), r.spec.name))
            .collect(),
    })
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
            field: tr.t("audit-pages"),
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
    let by_id: HashMap<uuid::Uuid, User> = users.iter().map(|u| (u.id, u.clone())).collect();

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
    let names = names_of(tr, &state, &users, &entries).await?;
    let rows = entries
        .iter()
        .map(|e| {
            let (fields, changes) = Reader::new(tr, &names, &e.action).detail(&e.detail);
            Row {
                when: tr.datetime(e.at),
                who: who(tr, &by_id, e),
                what: action_label(tr, &e.action),
                target: target(tr, &names, e),
                fields,
                changes,
            }
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
        let names = Names::default();
        let (fields, changes) =
            Reader::new(Tr::rome(Locale::En), &names, "contact.update").detail(&d);
        assert!(fields.is_empty());
        let rows: Vec<_> = changes
            .into_iter()
            .map(|c| (c.label, c.before, c.after))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("Name".to_owned(), "Mario".to_owned(), "Maria".to_owned()),
                ("Purposes".to_owned(), "—".to_owned(), "a, b".to_owned()),
            ]
        );
    }

    #[test]
    fn an_erased_contact_is_named_as_erased_and_a_nameless_one_by_its_crm_id() {
        let tr = Tr::rome(Locale::It);
        assert_eq!(
            contact_name(tr, None, Some("CRM-7"), false),
            "codice CRM CRM-7"
        );
        assert_eq!(
            contact_name(tr, Some("Mario Rossi"), Some("CRM-7"), false),
            "Mario Rossi"
        );
        assert_eq!(contact_name(tr, None, None, true), "cancellata");
    }
}
