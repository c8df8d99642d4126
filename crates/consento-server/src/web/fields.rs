//! Stored JSON as a person reads it. The detail of an audit entry and the evidence a machine
//! wrote for a consent (the preference center's, a double opt-in's, an import's) become labelled
//! fields in the reader's language, never the JSON itself: codes in words (an action, a method,
//! a legal basis, a request's status), instants in the office's time zone, yes and no, records by
//! their names (a consent type by its title, a contact reason by its label, a contact by its name
//! or CRM id), and the before and after of a change side by side. The controller must be able to
//! show what was done (GDPR Art. 5(2), accountability) to people who are not programmers.

use std::collections::HashMap;

use consento_domain::erasure::ErasureReason;
use consento_domain::requests::{RequestChannel, RequestKind, RequestStatus};
use consento_domain::rules::{RuleChanges, RuleFilter};
use consento_domain::{Action, Channel, CollectionMethod, EventKind, LegalBasis, Role, Timestamp};
use serde_json::{Map, Value};

use super::contacts::basis_label;
use super::page::role_name;
use super::rules::{capitalized, changes_words, filter_words};
use crate::i18n::Tr;

/// One field: its label and its value, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// What it is ("Modalità").
    pub label: String,
    /// Its value ("Modulo cartaceo").
    pub value: String,
}

/// A field that changed: its value before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed.
    pub label: String,
    /// Before ("—" for nothing).
    pub before: String,
    /// After.
    pub after: String,
}

/// What the ids and codes of a detail stand for, looked up by the page that shows it.
#[derive(Debug, Default)]
pub struct Names {
    /// Consent types: code → "Title (CODE)".
    pub types: HashMap<String, String>,
    /// Contact reasons: id → label.
    pub reasons: HashMap<String, String>,
    /// Accounts: id → display name.
    pub users: HashMap<String, String>,
    /// Contacts: id → name, CRM id, or that it was erased.
    pub contacts: HashMap<String, String>,
    /// Bulk rules: id → name.
    pub rules: HashMap<String, String>,
}

/// Message keys of labels that already exist elsewhere in the catalog (the form that edits the
/// field): one wording per field.
const LABELS: &[(&str, &str)] = &[
    ("check_email_single", "setup-privacy-email-single"),
    ("check_email_bulk", "setup-privacy-email-bulk"),
    ("check_phone", "setup-privacy-phone"),
    ("check_sms", "setup-privacy-sms"),
    ("title", "setup-type-title"),
    ("code", "setup-type-code"),
    ("description", "setup-type-description"),
    ("validity_days", "setup-type-validity"),
    ("permissions", "setup-type-permits"),
    ("email_bulk", "setup-type-short-email-bulk"),
    ("email_single", "setup-type-short-email-single"),
    ("phone_call", "setup-type-short-phone-call"),
    ("sms_single", "setup-type-short-sms-single"),
    ("sms_bulk", "setup-type-short-sms-bulk"),
    (
        "show_in_preference_center",
        "setup-type-preference-center-short",
    ),
    ("label", "setup-reason-label"),
    ("marketing", "setup-reason-marketing-short"),
    ("active", "setup-reason-active-short"),
    ("username", "setup-user-username"),
    ("display_name", "setup-user-display-name"),
    ("role", "setup-user-role"),
    ("disabled", "setup-user-disabled"),
    ("version", "setup-notice-version"),
    ("language", "setup-notice-language"),
    ("url", "setup-notice-url"),
    ("name", "audit-field-name"),
    ("emails", "audit-field-emails"),
    ("phones", "audit-field-phones"),
    ("external_id", "audit-field-external-id"),
    ("attributes", "audit-field-attributes"),
    ("source", "audit-field-source"),
    ("legal_basis", "audit-field-legal-basis"),
    ("purposes", "audit-field-purposes"),
    ("rows_read", "imports-rows-read"),
    ("rows_written", "imports-rows-written"),
    ("contacts_created", "imports-contacts-created"),
    ("contacts_matched", "imports-contacts-matched"),
    ("events_written", "imports-events-written"),
    ("skipped_suppressed", "imports-skipped"),
    ("error_count", "imports-errors"),
];

/// The order a person reads a detail's members in (the JSON keeps them sorted by name): what
/// was done, to what, how and when, then where from; other members follow by name.
const ORDER: &[&str] = &[
    "filter",
    "changes",
    "action",
    "moment",
    "outcome",
    "campaign",
    "called_at",
    "rule",
    "rule_name",
    "name",
    "label",
    "title",
    "code",
    "username",
    "display_name",
    "role",
    "method",
    "type",
    "type_code",
    "kind",
    "event_time",
    "channel",
    "to",
    "reason",
    "reason_id",
    "recorded",
    "page",
    "at",
    "address",
    "source",
    "file",
    "sha256",
    "line",
    "request",
    "confirmation",
    "user_agent",
    "ip",
    "link_key",
];

/// `map`'s members in reading order ([`ORDER`]).
fn in_order(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    members
}

/// A code's message key segment: `email.single` → `email-single`.
fn key_of(code: &str) -> String {
    code.replace(['.', '_'], "-")
}

/// Reads the stored objects of one audit action (or of a consent's evidence).
pub struct Reader<'a> {
    tr: Tr,
    names: &'a Names,
    /// The audit action: some keys mean different things in different actions (a request's
    /// `channel` is how it arrived, a contact's the form of communication).
    action: &'a str,
}

impl<'a> Reader<'a> {
    /// A reader for the detail of `action` (empty for a consent's evidence).
    pub fn new(tr: Tr, names: &'a Names, action: &'a str) -> Self {
        Self { tr, names, action }
    }

    /// An audit entry's detail: its fields, and the before and after of what it changed. Who
    /// did it through which channel (`via`, `operator`) is left to the page's "who".
    pub fn detail(&self, detail: &Value) -> (Vec<Field>, Vec<Change>) {
        let Value::Object(map) = detail else {
            return (self.scalar(detail), Vec::new());
        };
        let mut fields = Vec::new();
        let mut changes = Vec::new();
        let rule = self.action.starts_with("bulk_rule.");
        for (key, value) in in_order(map) {
            match key.as_str() {
                "via" | "operator" | "before" | "after" => {}
                // A run names its rule by id and by the name it had; the id is named above.
                "rule_name"
                    if map
                        .get("rule")
                        .and_then(Value::as_str)
                        .is_some_and(|r| self.names.rules.contains_key(r)) => {}
                "filter" if rule => {
                    if let Ok(filter) = serde_json::from_value::<RuleFilter>(value.clone()) {
                        fields.push(Field {
                            label: self.tr.t("rules-filter"),
                            value: capitalized(&filter_words(self.tr, &filter)),
                        });
                    }
                }
                "changes" if rule => {
                    if let Ok(set) = serde_json::from_value::<RuleChanges>(value.clone()) {
                        fields.push(Field {
                            label: self.tr.t("rules-changes"),
                            value: capitalized(&changes_words(self.tr, &set)),
                        });
                    }
                }
                // A rectification (GDPR Art. 16): each field with its value before and after.
                "changes" => {
                    if let Value::Object(each) = value {
                        for (field, change) in each {
                            changes.push(Change {
                                label: self.label(&[field]),
                                before: self
                                    .value(&[field], change.get("before").unwrap_or(&Value::Null)),
                                after: self
                                    .value(&[field], change.get("after").unwrap_or(&Value::Null)),
                            });
                        }
                    }
                }
                _ => self.push(&mut fields, &[key], value),
            }
        }
        let before = map.get("before").unwrap_or(&Value::Null);
        let after = map.get("after").unwrap_or(&Value::Null);
        match (before, after) {
            (Value::Null, Value::Null) => {}
            // Something created: what it was created with.
            (Value::Null, Value::Object(_)) => self.push(&mut fields, &[], after),
            (Value::Object(_), _) | (_, Value::Object(_)) => {
                changes.extend(self.changes(before, after));
            }
            // A date set or cleared (a restriction, an objection, a channel switched off).
            _ => changes.push(Change {
                label: self.tr.t(match self.action {
                    "contact.restriction" => "field-restricted-since",
                    "contact.objection" => "field-objected-since",
                    "contact.channel" => "field-off-since",
                    _ => "field-value",
                }),
                before: self.value(&[], before),
                after: self.value(&[], after),
            }),
        }
        (fields, changes)
    }

    /// A consent's evidence: a machine's JSON as fields (a single wrapper, `{"import": {…}}`,
    /// names the kind of proof first), anything else as the text it is.
    pub fn evidence(&self, evidence: &str) -> Vec<Field> {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(evidence) else {
            return vec![Field {
                label: String::new(),
                value: evidence.to_owned(),
            }];
        };
        let mut fields = Vec::new();
        match single_wrapper(&map) {
            Some((kind, inner)) => {
                fields.push(Field {
                    label: self.tr.t("field-proof"),
                    value: self.label(&[kind]),
                });
                for (key, value) in in_order(inner) {
                    self.push(&mut fields, &[key], value);
                }
            }
            None => {
                for (key, value) in in_order(&map) {
                    self.push(&mut fields, &[key], value);
                }
            }
        }
        fields
    }

    /// A detail that is not an object (none is written so, but an old row may be).
    fn scalar(&self, value: &Value) -> Vec<Field> {
        match value {
            Value::Null => Vec::new(),
            other => vec![Field {
                label: self.tr.t("field-value"),
                value: self.value(&[], other),
            }],
        }
    }

    /// Adds `value` at `path` to `fields`: an object's members one by one (their labels joined
    /// by "›"), a list of objects item by item, nothing for `null`.
    fn push(&self, fields: &mut Vec<Field>, path: &[&str], value: &Value) {
        match value {
            Value::Null => {}
            Value::Object(map) => {
                for (key, inner) in in_order(map) {
                    let mut deeper = path.to_vec();
                    deeper.push(key);
                    self.push(fields, &deeper, inner);
                }
            }
            Value::Array(items) if items.iter().any(Value::is_object) => {
                for item in items {
                    self.push(
                        fields,
                        path.get(..path.len().saturating_sub(1)).unwrap_or(&[]),
                        item,
                    );
                }
            }
            _ => fields.push(Field {
                label: self.label(path),
                value: self.value(path, value),
            }),
        }
    }

    /// The fields of `before` and `after` (objects, or nothing) whose values differ.
    fn changes(&self, before: &Value, after: &Value) -> Vec<Change> {
        let flat = |value: &Value| {
            let mut fields = Vec::new();
            self.push(&mut fields, &[], value);
            fields
        };
        let (was, is) = (flat(before), flat(after));
        let mut labels: Vec<&String> = is.iter().map(|f| &f.label).collect();
        labels.extend(
            was.iter()
                .map(|f| &f.label)
                .filter(|l| !is.iter().any(|f| &f.label == *l)),
        );
        let dash = || "—".to_owned();
        labels
            .into_iter()
            .filter_map(|label| {
                let find = |fields: &[Field]| {
                    fields
                        .iter()
                        .find(|f| &f.label == label)
                        .map(|f| f.value.clone())
                };
                let (b, a) = (
                    find(&was).unwrap_or_else(dash),
                    find(&is).unwrap_or_else(dash),
                );
                (b != a).then(|| Change {
                    label: label.clone(),
                    before: b,
                    after: a,
                })
            })
            .collect()
    }

    /// The label of a field at `path`: each key's label, joined by "›".
    fn label(&self, path: &[&str]) -> String {
        path.iter()
            .map(|key| self.key_label(key))
            .collect::<Vec<_>>()
            .join(" › ")
    }

    /// The message key of `key`'s label in this action.
    fn label_key(&self, key: &str) -> String {
        let request = self.action.starts_with("request.");
        match key {
            "kind" | "channel" | "reason" | "to" if request => format!("field-request-{key}"),
            "reason" if self.action == "contact.erase" => "field-erasure-reason".to_owned(),
            "rule" if self.action.starts_with("rule_run.") => "field-bulk-rule".to_owned(),
            "form" if self.action == "rpo.export" => "field-number-form".to_owned(),
            "changed" if self.action.starts_with("rule_run.") => {
                "field-changed-contacts".to_owned()
            }
            _ => LABELS.iter().find(|(k, _)| *k == key).map_or_else(
                || format!("field-{}", key_of(key)),
                |(_, m)| (*m).to_owned(),
            ),
        }
    }

    /// The label of one key, in words; a key the catalog does not know reads as itself, its
    /// underscores as spaces.
    fn key_label(&self, key: &str) -> String {
        let message = self.label_key(key);
        if self.tr.has(&message) {
            self.tr.t(&message)
        } else {
            key.replace('_', " ")
        }
    }

    /// The value at `path`, in words.
    fn value(&self, path: &[&str], value: &Value) -> String {
        let key = path.last().copied().unwrap_or_default();
        match value {
            Value::Null => "—".to_owned(),
            Value::Bool(b) => self.tr.t(if *b { "yes" } else { "no" }),
            Value::Number(n) => n.as_i64().map_or_else(|| n.to_string(), |i| self.tr.num(i)),
            Value::String(s) => self.text(path, key, s),
            Value::Array(items) if items.is_empty() => "—".to_owned(),
            Value::Array(items) => items
                .iter()
                .map(|item| self.value(path, item))
                .collect::<Vec<_>>()
                .join(", "),
            Value::Object(_) => {
                let mut fields = Vec::new();
                self.push(&mut fields, &[], value);
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.label, f.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    }

    /// A text value of `key`: a code in words when the catalog has words for it, an instant in
    /// the office's zone, a record by its name; anything else as written.
    fn text(&self, path: &[&str], key: &str, s: &str) -> String {
        if let Ok(at) = Timestamp::parse_rfc3339("at", s) {
            return self.tr.datetime(at);
        }
        let tr = self.tr;
        let words = |message: String| tr.has(&message).then(|| tr.t(&message));
        let request = self.action.starts_with("request.");
        let found = match key {
            "action" | "moment" => Action::parse(s)
                .ok()
                .and_then(|a| words(format!("card-action-{}", key_of(a.code())))),
            "outcome" | "page" | "contract" => words(format!("field-{key}-{}", key_of(s))),
            "rule" => words(format!("field-rule-{}", key_of(s)))
                .or_else(|| self.names.rules.get(s).cloned()),
            "method" => CollectionMethod::parse(s)
                .ok()
                .and_then(|m| words(format!("card-method-{}", key_of(m.code())))),
            "kind" if request => RequestKind::parse(s)
                .ok()
                .and_then(|k| words(format!("requests-kind-{}", key_of(k.code())))),
            "kind" => EventKind::parse(s)
                .ok()
                .and_then(|k| words(format!("card-kind-{}", k.code()))),
            "channel" if request => RequestChannel::parse(s)
                .ok()
                .and_then(|c| words(format!("requests-channel-{}", key_of(c.code())))),
            "channel" => Channel::parse(s)
                .ok()
                .and_then(|c| words(format!("card-channel-{}", c.code()))),
            "to" => RequestStatus::parse(s)
                .ok()
                .and_then(|st| words(format!("requests-status-{}", key_of(st.code())))),
            "legal_basis" => LegalBasis::parse(s).ok().map(|b| basis_label(tr, b)),
            "role" => Role::parse(s).ok().map(|r| role_name(tr, r)),
            "reason" if self.action == "contact.erase" => ErasureReason::parse(s)
                .ok()
                .and_then(|r| words(format!("field-erasure-reason-{}", r.code()))),
            "status" => words(format!("imports-status-{}", key_of(s))),
            "source" if path.contains(&"request") => words(format!("field-source-{}", key_of(s))),
            "type" | "type_code" => self.names.types.get(s).cloned(),
            "reason_id" => self.names.reasons.get(s).cloned(),
            "contact" => self.names.contacts.get(s).cloned(),
            "format" => Some(s.to_uppercase()),
            "form" if self.action == "rpo.export" => words(format!("rpo-form-{}", key_of(s))),
            // A list of field names (what a save changed).
            "changed" => Some(self.key_label(s)),
            _ => None,
        };
        found.unwrap_or_else(|| s.to_owned())
    }
}

/// The label of a field named by its code (`kind`, `event_time`), as an error page names it;
/// text that is no code reads as itself.
pub fn field_label(tr: Tr, key: &str) -> String {
    let names = Names::default();
    Reader::new(tr, &names, "").key_label(key)
}

/// The one member of `map`, when it is an object: the kind of a proof (`{"import": {…}}`).
fn single_wrapper(map: &Map<String, Value>) -> Option<(&str, &Map<String, Value>)> {
    let mut members = map.iter();
    match (members.next(), members.next()) {
        (Some((key, Value::Object(inner))), None) => Some((key.as_str(), inner)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;
    use serde_json::json;

    fn reader_of<'a>(tr: Tr, names: &'a Names, action: &'a str) -> Reader<'a> {
        Reader::new(tr, names, action)
    }

    #[test]
    fn a_contact_moment_reads_as_its_channel_outcome_and_rule_in_words() {
        let names = Names::default();
        let tr = Tr::rome(Locale::It);
        let (fields, changes) = reader_of(tr, &names, "contact.moment").detail(&json!({
            "action": "phone.call", "outcome": "needs_justification", "rule": "no_consent"
        }));
        assert!(changes.is_empty());
        let text: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", f.label, f.value))
            .collect();
        assert_eq!(
            text,
            vec![
                "Tipo di contatto: Telefonata",
                "Esito: Serve un motivo",
                "Regola che ha deciso: Nessun consenso",
            ]
        );
    }

    #[test]
    fn a_consent_write_names_the_type_the_event_and_its_local_date() {
        let names = Names {
            types: [("NEWS".to_owned(), "Newsletter (NEWS)".to_owned())].into(),
            ..Names::default()
        };
        let tr = Tr::rome(Locale::En);
        let (fields, _) = reader_of(tr, &names, "contact.consent").detail(&json!({
            "method": "paper",
            "events": [{"type_code": "NEWS", "kind": "given", "event_time": "2026-11-30T23:30:00Z"}],
            "via": "command_line",
        }));
        let text: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", f.label, f.value))
            .collect();
        assert_eq!(
            text,
            vec![
                "Method: Paper form",
                "Consent type: Newsletter (NEWS)",
                "Event: given",
                "Date of the consent: 2026-12-01 00:30 CET",
            ]
        );
    }

    #[test]
    fn a_settings_change_lists_only_the_switches_that_moved() {
        let names = Names::default();
        let tr = Tr::rome(Locale::It);
        let (fields, changes) = reader_of(tr, &names, "settings.update").detail(&json!({
            "before": {"check_email_single": true, "check_sms": true},
            "after": {"check_email_single": true, "check_sms": false},
        }));
        assert!(fields.is_empty());
        assert_eq!(
            changes,
            vec![Change {
                label: "SMS".to_owned(),
                before: "Sì".to_owned(),
                after: "No".to_owned(),
            }]
        );
    }

    #[test]
    fn a_call_outcome_reads_as_its_outcome_campaign_and_local_time_in_words() {
        let names = Names::default();
        let tr = Tr::rome(Locale::It);
        let (fields, changes) = reader_of(tr, &names, "call.outcome").detail(&json!({
            "outcome": "refused_marketing", "campaign": "Primavera", "operator": "m.bianchi",
            "called_at": "2026-03-02T09:15:00Z", "call_id": "0190a0a0-0000-7000-8000-000000000001"
        }));
        assert!(changes.is_empty());
        let text: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", f.label, f.value))
            .collect();
        assert_eq!(
            text,
            vec![
                "Esito: Rifiuto delle chiamate promozionali",
                "Campagna: Primavera",
                "Ora della chiamata: 02/03/2026 10:15 CET",
                "Codice della chiamata: 0190a0a0-0000-7000-8000-000000000001",
            ]
        );
    }

    #[test]
    fn a_restriction_reads_as_the_date_it_started() {
        let names = Names::default();
        let tr = Tr::rome(Locale::It);
        let (_, changes) = reader_of(tr, &names, "contact.restriction")
            .detail(&json!({"before": null, "after": "2026-07-03T12:05:00Z"}));
        assert_eq!(
            changes,
            vec![Change {
                label: "Trattamento limitato dal".to_owned(),
                before: "—".to_owned(),
                after: "03/07/2026 14:05 CEST".to_owned(),
            }]
        );
    }

    #[test]
    fn machine_evidence_reads_as_fields_and_typed_evidence_as_itself() {
        let names = Names::default();
        let tr = Tr::rome(Locale::It);
        let reader = reader_of(tr, &names, "");
        let fields = reader.evidence(
            r#"{"import":{"source":"crm-x","file":"export.csv","sha256":"ab12","line":2}}"#,
        );
        let text: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", f.label, f.value))
            .collect();
        assert_eq!(
            text,
            vec![
                "Prova: Importazione",
                "Provenienza: crm-x",
                "File: export.csv",
                "SHA-256 del file: ab12",
                "Riga: 2",
            ]
        );
        let page = reader.evidence(
            r#"{"page":"unsubscribe","at":"2026-07-03T12:05:00Z","user_agent":"X/1","ip":"10.0.0.0/24","link_key":1}"#,
        );
        assert_eq!(page[0].value, "Pagina di disiscrizione");
        assert_eq!(page[1].value, "03/07/2026 14:05 CEST");
        assert_eq!(
            reader.evidence("modulo-0042"),
            vec![Field {
                label: String::new(),
                value: "modulo-0042".to_owned()
            }]
        );
    }

    #[test]
    fn every_key_written_in_an_audit_detail_or_evidence_has_a_label_in_both_languages() {
        // The keys are those of the JSON objects written shortly after a call that writes an
        // audit entry or builds evidence, in the server, the app and the store.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stack = vec![
            root.join("src"),
            root.join("../consento-app/src"),
            root.join("../consento-store/src"),
        ];
        let markers = [
            ".audit(",
            ".audited(",
            ".audited_result(",
            ".audited_use_case(",
            ".entry(",
            "detail = json!(",
            "detail: json!(",
            "evidence = json!(",
            "_summary = json!(",
            "fn evidence(",
        ];
        let mut keys = std::collections::BTreeSet::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let text = text.split("#[cfg(test)]").next().unwrap_or_default();
                for marker in markers {
                    for piece in text.split(marker).skip(1) {
                        let window: String = piece.chars().take(900).collect();
                        let Some((_, body)) = window.split_once("json!(") else {
                            continue;
                        };
                        for part in body.split('"').collect::<Vec<_>>().windows(2) {
                            if part[1].trim_start().starts_with(':')
                                && !part[0].is_empty()
                                && part[0].bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                            {
                                keys.insert(part[0].to_owned());
                            }
                        }
                    }
                }
            }
        }
        assert!(keys.len() >= 30, "{keys:?}");
        for locale in Locale::ALL {
            let tr = Tr::rome(locale);
            let names = Names::default();
            for action in [
                "contact.view",
                "request.create",
                "contact.erase",
                "rule_run.apply",
            ] {
                let reader = Reader::new(tr, &names, action);
                let unlabelled: Vec<_> = keys
                    .iter()
                    .filter(|k| !tr.has(&reader.label_key(k)))
                    .collect();
                assert!(
                    unlabelled.is_empty(),
                    "{}: keys without a label in {action}: {unlabelled:?}",
                    locale.code()
                );
            }
        }
    }
}
