//! `/rules`: bulk rules over provenance (source, GDPR Art. 14(2)(f); legal basis, Art. 6(1);
//! purposes, Art. 13(1)(c)) for the administrator and the DPO (`Permission::BulkRules`). Save a
//! rule with a form, open it to see its dry run (how many contacts it would change and a sample
//! with the values now and after), apply it after ticking a confirmation, and revert a run from
//! the list of runs. The store audits every save, run and revert in the same transaction.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use consento_domain::rules::{
    AttributeChange, AttributeFilter, ConsentFilter, ConsentStateFilter, PurposesChange,
    RuleChanges, RuleFilter, RuleSpec, SourceFilter,
};
use consento_domain::{DomainError, LegalBasis, Permission, Timestamp, Zone};
use consento_store::{BulkRule, ProvenanceValues, RuleRun, StoreError};
use serde::Deserialize;

use super::contacts::basis_label;
use super::page::{Page, PageError, render, see_other};
use super::session::Staff;
use crate::i18n::{Arg, Tr};
use crate::state::AppState;

/// Contacts listed in a dry run.
const SAMPLE: i64 = 20;

/// The `?done=` of a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// The rule form, as typed. Empty fields are conditions not set.
#[derive(Debug, Default, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    name: String,
    /// `any`, `equals` or `empty`.
    #[serde(default)]
    source_mode: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    attr_key: String,
    #[serde(default)]
    attr_value: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    consent_type: String,
    #[serde(default)]
    consent_state: String,
    #[serde(default)]
    given_before: String,
    #[serde(default)]
    given_after: String,
    #[serde(default)]
    created_before: String,
    #[serde(default)]
    created_after: String,
    #[serde(default)]
    set_source: String,
    #[serde(default)]
    set_legal_basis: String,
    /// `keep`, `add`, `remove` or `replace`.
    #[serde(default)]
    purposes_mode: String,
    #[serde(default)]
    purposes: String,
    /// `keep`, `set` or `remove`.
    #[serde(default)]
    attribute_mode: String,
    #[serde(default)]
    set_attr_key: String,
    #[serde(default)]
    set_attr_value: String,
}

fn opt(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A date typed in the form: the start of that local day in `zone` (an RFC 3339 instant as given).
fn date(zone: &Zone, field: &'static str, text: &str) -> Result<Option<Timestamp>, DomainError> {
    opt(text).map(|t| zone.parse_instant(field, &t)).transpose()
}

impl RuleForm {
    /// The rule the form describes, its dates local days of `zone`; the field at fault (the
    /// form's name for it) otherwise.
    fn spec(&self, zone: &Zone) -> Result<RuleSpec, DomainError> {
        let basis = |field: &'static str, text: &str| {
            opt(text)
                .map(|b| LegalBasis::parse(&b).map_err(|_| DomainError::invalid(field, "unknown")))
                .transpose()
        };
        let consent = match opt(&self.consent_type) {
            Some(type_code) => Some(ConsentFilter {
                type_code,
                state: opt(&self.consent_state)
                    .map(|s| ConsentStateFilter::parse(&s))
                    .transpose()?,
                given_before: date(zone, "filter.consent.given_before", &self.given_before)?,
                given_after: date(zone, "filter.consent.given_after", &self.given_after)?,
            }),
            None => None,
        };
        let filter = RuleFilter {
            source: match self.source_mode.as_str() {
                "equals" => Some(SourceFilter::Equals(self.source.clone())),
                "empty" => Some(SourceFilter::Empty),
                _ => None,
            },
            attribute: opt(&self.attr_key).map(|key| AttributeFilter {
                key,
                value: self.attr_value.clone(),
            }),
            legal_basis: basis("filter.legal_basis", &self.legal_basis)?,
            purpose: opt(&self.purpose),
            consent,
            created_before: date(zone, "filter.created_before", &self.created_before)?,
            created_after: date(zone, "filter.created_after", &self.created_after)?,
        };
        let list: Vec<String> = self.purposes.split([',', '\n']).filter_map(opt).collect();
        let changes = RuleChanges {
            source: opt(&self.set_source),
            legal_basis: basis("changes.legal_basis", &self.set_legal_basis)?,
            purposes: match self.purposes_mode.as_str() {
                "add" => Some(PurposesChange::Add(list)),
                "remove" => Some(PurposesChange::Remove(list)),
                "replace" => Some(PurposesChange::Replace(list)),
                _ => None,
            },
            attribute: match self.attribute_mode.as_str() {
                "set" => Some(AttributeChange::Set {
                    key: self.set_attr_key.clone(),
                    value: self.set_attr_value.clone(),
                }),
                "remove" => Some(AttributeChange::Remove {
                    key: self.set_attr_key.clone(),
                }),
                _ => None,
            },
        };
        Ok(RuleSpec {
            name: self.name.clone(),
            filter,
            changes,
        })
    }
}

/// The form's input for a field the domain or the store names, and the message shown there.
fn field_message(tr: Tr, e: StoreError) -> Result<(&'static str, String), PageError> {
    let (field, key) = match &e {
        StoreError::Conflict { field: "name", .. } => ("name", "rules-error-name-taken"),
        StoreError::Invalid(DomainError::Invalid { field, .. }) => match *field {
            "name" => ("name", "rules-error-name"),
            "changes" => ("set_source", "rules-error-no-changes"),
            "filter.source" => ("source", "rules-error-value"),
            "filter.attribute.key" | "filter.attribute.value" => ("attr_key", "rules-error-key"),
            "filter.legal_basis" => ("legal_basis", "rules-error-value"),
            "filter.purpose" => ("purpose", "rules-error-value"),
            "filter.consent.type_code" => ("consent_type", "rules-error-consent-type"),
            "consent_state" | "filter.consent.state" => ("consent_state", "rules-error-value"),
            "filter.consent.given_before" | "filter.consent.given_after" => {
                ("given_before", "rules-error-period")
            }
            "filter.created_before" | "filter.created_after" => {
                ("created_before", "rules-error-period")
            }
            "changes.source" => ("set_source", "rules-error-value"),
            "changes.legal_basis" => ("set_legal_basis", "rules-error-value"),
            "changes.purposes" => ("purposes", "rules-error-purposes"),
            "changes.attribute.key" | "changes.attribute.value" => {
                ("set_attr_key", "rules-error-key")
            }
            _ => return Err(e.into()),
        },
        _ => return Err(e.into()),
    };
    Ok((field, tr.t(key)))
}

/// A rule in the list.
struct RuleRow {
    href: String,
    name: String,
    summary: String,
}

/// A run in the list.
struct RunRow {
    id: String,
    rule: String,
    applied: String,
    changed: String,
    reverted: Option<String>,
}

#[derive(Template)]
#[template(path = "rules_list.html")]
struct ListPage {
    page: Page,
    rules: Vec<RuleRow>,
    runs: Vec<RunRow>,
    form: RuleForm,
    errors: HashMap<&'static str, String>,
    bases: Vec<(String, String)>,
    states: Vec<(String, String)>,
    /// The consent types: (code, "Title (CODE)").
    types: Vec<(String, String)>,
}

impl ListPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// A contact in a dry run: its values now and after.
struct SampleRow {
    href: String,
    name: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "rules_detail.html")]
struct DetailPage {
    page: Page,
    id: String,
    name: String,
    summary: String,
    count: i64,
    count_text: String,
    sample: Vec<SampleRow>,
    confirm_error: Option<String>,
}

/// The provenance a rule reads and writes, in one line: the legal basis in words, attributes as
/// `key = value`.
fn provenance_line(tr: Tr, v: &ProvenanceValues) -> String {
    let dash = || "—".to_owned();
    let text = |value: &serde_json::Value| {
        value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned)
    };
    let purposes = match &v.purposes {
        serde_json::Value::Array(items) if !items.is_empty() => {
            items.iter().map(text).collect::<Vec<_>>().join(", ")
        }
        _ => dash(),
    };
    let attributes = match &v.attributes {
        serde_json::Value::Object(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k} = {}", text(v)))
            .collect::<Vec<_>>()
            .join(", "),
        _ => dash(),
    };
    let basis = v
        .legal_basis
        .as_deref()
        .map(|b| LegalBasis::parse(b).map_or_else(|_| b.to_owned(), |b| basis_label(tr, b)))
        .unwrap_or_else(dash);
    format!(
        "{}: {} · {}: {} · {}: {} · {}: {}",
        tr.t("rules-source"),
        v.source.as_deref().unwrap_or("—"),
        tr.t("rules-legal-basis"),
        basis,
        tr.t("rules-purposes"),
        purposes,
        tr.t("rules-attributes"),
        attributes,
    )
}

/// Which contacts a rule picks, in words: each condition set, joined by "and".
pub(super) fn filter_words(tr: Tr, filter: &RuleFilter) -> String {
    let quoted = |key: &str, value: &str| tr.with(key, "value", value);
    let mut parts = Vec::new();
    match &filter.source {
        Some(SourceFilter::Equals(s)) => parts.push(quoted("rules-words-source", s)),
        Some(SourceFilter::Empty) => parts.push(tr.t("rules-source-empty")),
        None => {}
    }
    if let Some(AttributeFilter { key, value }) = &filter.attribute {
        parts.push(tr.args(
            "rules-words-attribute",
            &[
                ("key", Arg::Text(key.into())),
                ("value", Arg::Text(value.into())),
            ],
        ));
    }
    if let Some(basis) = filter.legal_basis {
        parts.push(quoted("rules-words-legal-basis", &basis_label(tr, basis)));
    }
    if let Some(purpose) = &filter.purpose {
        parts.push(quoted("rules-words-purpose", purpose));
    }
    if let Some(c) = &filter.consent {
        let state = c
            .state
            .map(|s| tr.t(&format!("rules-state-{}", s.code())))
            .unwrap_or_else(|| tr.t("rules-any"));
        parts.push(tr.args(
            "rules-words-consent",
            &[
                ("type", Arg::Text(c.type_code.as_str().into())),
                ("state", Arg::Text(state.into())),
            ],
        ));
        if let Some(at) = c.given_after {
            parts.push(quoted("rules-words-given-after", &tr.date(at)));
        }
        if let Some(at) = c.given_before {
            parts.push(quoted("rules-words-given-before", &tr.date(at)));
        }
    }
    if let Some(at) = filter.created_after {
        parts.push(quoted("rules-words-created-after", &tr.date(at)));
    }
    if let Some(at) = filter.created_before {
        parts.push(quoted("rules-words-created-before", &tr.date(at)));
    }
    if parts.is_empty() {
        return tr.t("rules-words-every-contact");
    }
    parts.join(&format!(" {} ", tr.t("rules-words-and")))
}

/// What a rule sets, in words, one change after another.
pub(super) fn changes_words(tr: Tr, changes: &RuleChanges) -> String {
    let list = |items: &[String]| items.join(", ");
    let mut parts = Vec::new();
    if let Some(source) = &changes.source {
        parts.push(tr.with("rules-words-set-source", "value", source));
    }
    if let Some(basis) = changes.legal_basis {
        parts.push(tr.with(
            "rules-words-set-legal-basis",
            "value",
            &basis_label(tr, basis),
        ));
    }
    match &changes.purposes {
        Some(PurposesChange::Add(p)) => {
            parts.push(tr.with("rules-words-purposes-add", "value", &list(p)))
        }
        Some(PurposesChange::Remove(p)) => {
            parts.push(tr.with("rules-words-purposes-remove", "value", &list(p)));
        }
        Some(PurposesChange::Replace(p)) => {
            parts.push(tr.with("rules-words-purposes-replace", "value", &list(p)));
        }
        None => {}
    }
    match &changes.attribute {
        Some(AttributeChange::Set { key, value }) => parts.push(tr.args(
            "rules-words-attribute-set",
            &[
                ("key", Arg::Text(key.into())),
                ("value", Arg::Text(value.into())),
            ],
        )),
        Some(AttributeChange::Remove { key }) => {
            parts.push(tr.with("rules-words-attribute-remove", "key", key));
        }
        None => {}
    }
    parts.join("; ")
}

/// What a rule does, in one line of words: which contacts → what it sets.
fn summary(tr: Tr, rule: &RuleSpec) -> String {
    format!(
        "{} → {}",
        capitalized(&filter_words(tr, &rule.filter)),
        changes_words(tr, &rule.changes)
    )
}

/// `text` with its first letter in upper case (the start of a line).
pub(super) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn run_row(tr: Tr, r: &RuleRun) -> RunRow {
    RunRow {
        id: r.id.to_string(),
        rule: r.rule_name.clone(),
        applied: tr.datetime(r.applied_at),
        changed: tr.num(r.changed),
        reverted: r.reverted_at.map(|at| {
            tr.args(
                "rules-reverted",
                &[
                    ("when", crate::i18n::Arg::Text(tr.datetime(at).into())),
                    ("restored", crate::i18n::Arg::Num(r.restored.unwrap_or(0))),
                    ("skipped", crate::i18n::Arg::Num(r.skipped.unwrap_or(0))),
                ],
            )
        }),
    }
}

async fn list_page(
    staff: &Staff,
    state: &AppState,
    done: Option<&str>,
    form: RuleForm,
    errors: HashMap<&'static str, String>,
) -> Result<Response, PageError> {
    let tr = staff.tr;
    let rules = state.store.rules().await?;
    let runs = state.store.rule_runs(50).await?;
    let types = state
        .store
        .consent_types()
        .await?
        .into_iter()
        .map(|t| {
            (
                t.spec.code.as_str().to_owned(),
                format!("{} ({})", t.spec.title, t.spec.code),
            )
        })
        .collect();
    render(&ListPage {
        page: staff.page("rules").done(done),
        rules: rules
            .iter()
            .map(|r: &BulkRule| RuleRow {
                href: format!("/rules/{}", r.id),
                name: r.spec.name.clone(),
                summary: summary(tr, &r.spec),
            })
            .collect(),
        runs: runs.iter().map(|r| run_row(tr, r)).collect(),
        form,
        errors,
        bases: LegalBasis::ALL
            .iter()
            .map(|b| (b.code().to_owned(), basis_label(tr, *b)))
            .collect(),
        states: ConsentStateFilter::ALL
            .iter()
            .map(|s| {
                (
                    s.code().to_owned(),
                    tr.t(&format!("rules-state-{}", s.code())),
                )
            })
            .collect(),
        types,
    })
}

/// `GET /rules`: the saved rules, the form for a new one, and the latest runs.
pub async fn list(
    staff: Staff,
    State(state): State<AppState>,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    staff.require(Permission::BulkRules)?;
    let form = RuleForm {
        source_mode: "any".into(),
        purposes_mode: "keep".into(),
        attribute_mode: "keep".into(),
        ..RuleForm::default()
    };
    list_page(&staff, &state, q.done.as_deref(), form, HashMap::new()).await
}

/// `POST /rules`: saves a rule, then opens it (its dry run).
pub async fn create(
    staff: Staff,
    State(state): State<AppState>,
    Form(form): Form<RuleForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::BulkRules)?;
    let saved = match form.spec(staff.tr.zone) {
        Ok(spec) => state.store.create_rule(spec, staff.by()).await,
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(rule) => Ok(see_other(&format!("/rules/{}?done=rule-saved", rule.id))),
        Err(e) => {
            let (field, message) = field_message(staff.tr, e)?;
            list_page(
                &staff,
                &state,
                None,
                form,
                HashMap::from([(field, message)]),
            )
            .await
        }
    }
}

fn rule_id(text: &str) -> Result<uuid::Uuid, PageError> {
    uuid::Uuid::parse_str(text.trim()).map_err(|_| PageError::NotFound)
}

async fn detail_page(
    staff: &Staff,
    state: &AppState,
    id: uuid::Uuid,
    done: Option<&str>,
    confirm_error: Option<String>,
) -> Result<Response, PageError> {
    let tr = staff.tr;
    let rule = state.store.rule(id).await?;
    let dry = state.store.dry_run(id, SAMPLE).await?;
    render(&DetailPage {
        page: staff.page("rules").done(done),
        id: id.to_string(),
        name: rule.spec.name.clone(),
        summary: summary(tr, &rule.spec),
        count: dry.count,
        count_text: tr.count("rules-dry-count", dry.count),
        sample: dry
            .sample
            .iter()
            .map(|c| SampleRow {
                href: format!("/contacts/{}", c.contact_id),
                name: c.name.clone().unwrap_or_else(|| c.contact_id.to_string()),
                before: provenance_line(tr, &c.before),
                after: provenance_line(tr, &c.after),
            })
            .collect(),
        confirm_error,
    })
}

/// `GET /rules/{id}`: the rule and its dry run; writes nothing.
pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    staff.require(Permission::BulkRules)?;
    detail_page(&staff, &state, rule_id(&id)?, q.done.as_deref(), None).await
}

/// The apply form: the confirmation tick.
#[derive(Debug, Default, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /rules/{id}/apply`: applies the rule once the confirmation is ticked.
pub async fn apply(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ApplyForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::BulkRules)?;
    let id = rule_id(&id)?;
    if f.confirm != "yes" {
        let message = staff.tr.t("rules-confirm-required");
        return detail_page(&staff, &state, id, None, Some(message)).await;
    }
    state.store.apply_rule(id, staff.by()).await?;
    Ok(see_other("/rules?done=rule-applied#runs"))
}

/// `POST /rules/{id}/delete`: deletes the rule (its runs stay, and can be reverted).
pub async fn delete(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Permission::BulkRules)?;
    state.store.delete_rule(rule_id(&id)?, staff.by()).await?;
    Ok(see_other("/rules?done=rule-deleted"))
}

/// `POST /rules/runs/{id}/revert`: gives the contacts a run changed their values back, those
/// changed since left alone (counted in the list of runs).
pub async fn revert(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Permission::BulkRules)?;
    state.store.revert_run(rule_id(&id)?, staff.by()).await?;
    Ok(see_other("/rules?done=run-reverted#runs"))
}
