//! The card's history: every ledger event, every justified contact, every restriction or
//! objection set or lifted and every call outcome the dialer reported, newest first, with who
//! did it in words.

use std::collections::HashMap;

use consento_domain::calls::CallOutcome;
use consento_domain::{Action, ActorKind, EventKind, Timestamp};
use consento_store::{CallRecord, ContactFlag, FlagEvent, HistoryEntry, Interaction};

use super::{Titles, action_words, method_words, text};
use crate::i18n::Tr;
use crate::web::fields::{Field, Names, Reader};

/// A line of text as the only field of a row's detail (a reason and its note).
fn plain(text: String) -> Vec<Field> {
    if text.is_empty() {
        return Vec::new();
    }
    vec![Field {
        label: String::new(),
        value: text,
    }]
}

fn kind_words(tr: Tr, kind: EventKind) -> String {
    tr.t(&format!("card-kind-{}", kind.code()))
}

/// One line of the history: a ledger event or a justified contact.
pub struct HistoryRow {
    /// When it was recorded (sorting: newest first).
    sort: (Timestamp, i64),
    /// When it happened.
    pub date: String,
    /// What happened.
    pub what: String,
    /// The badge of what happened.
    pub class: &'static str,
    /// When it was recorded.
    pub recorded: String,
    /// How it was collected, or the channel of the contact.
    pub how: String,
    /// The evidence (a machine's, field by field), or the reason and the note.
    pub fields: Vec<Field>,
    /// Who.
    pub by: String,
    /// A ledger event's id: its signed receipt is offered for download.
    pub receipt: Option<String>,
}

/// Who did it, in words: an operator by their display name.
fn actor_words(tr: Tr, kind: ActorKind, id: &str, users: &HashMap<String, String>) -> String {
    match kind {
        ActorKind::Operator => users.get(id).cloned().unwrap_or_else(|| id.to_owned()),
        ActorKind::Token => tr.with("card-actor-token", "id", id.get(..8).unwrap_or(id)),
        ActorKind::Subject => tr.t("card-actor-subject"),
        ActorKind::System => tr.t("card-actor-system"),
    }
}

/// Who made a justified contact: an operator of the console by their display name; an
/// integration's user by the handle it gave (`token:<id>;operator:<handle>`).
fn operator_words(tr: Tr, operator: &str, users: &HashMap<String, String>) -> String {
    if let Some(name) = users.get(operator) {
        return name.clone();
    }
    match operator.split_once(";operator:") {
        Some((_, handle)) => tr.with("card-actor-crm-user", "handle", handle),
        None => match operator.strip_prefix("token:") {
            Some(id) => tr.with("card-actor-token", "id", id.get(..8).unwrap_or(id)),
            None => operator.to_owned(),
        },
    }
}

/// A call's outcome in words, with its badge: a refusal (an objection, GDPR Art. 21(3)) and a
/// silent call stand out.
fn call_words(tr: Tr, outcome: CallOutcome) -> (String, &'static str) {
    let class = match outcome {
        CallOutcome::RefusedMarketing => "blocked",
        CallOutcome::Silent => "needs",
        _ => "",
    };
    let words = tr.t(&format!(
        "field-outcome-{}",
        outcome.code().replace('_', "-")
    ));
    (tr.with("card-history-call", "outcome", &words), class)
}

pub(super) fn history_rows(
    tr: Tr,
    events: Vec<HistoryEntry>,
    interactions: &[Interaction],
    flags: &[FlagEvent],
    calls: &[CallRecord],
    titles: &Titles,
    users: &HashMap<String, String>,
) -> Vec<HistoryRow> {
    let names = Names::default();
    let evidence = Reader::new(tr, &names, "");
    let mut rows: Vec<HistoryRow> = events
        .into_iter()
        .map(|e| {
            let mut what = tr.args(
                "card-history-consent",
                &[
                    ("consent", text(titles.name(&e.type_code))),
                    ("kind", text(kind_words(tr, e.kind))),
                ],
            );
            if let Some(until) = e.expires_at {
                what = format!(
                    "{what} {}",
                    tr.with("card-history-valid-until", "date", &tr.date(until))
                );
            }
            HistoryRow {
                sort: (e.recorded_at, e.seq),
                date: tr.date(e.event_time),
                what,
                class: if e.kind.grants() {
                    "allowed"
                } else {
                    "blocked"
                },
                recorded: tr.datetime(e.recorded_at),
                how: method_words(tr, e.method),
                fields: e
                    .evidence
                    .as_deref()
                    .map(|proof| evidence.evidence(proof))
                    .unwrap_or_default(),
                by: actor_words(tr, e.actor_kind, &e.actor_id, users),
                receipt: Some(e.id.0.to_string()),
            }
        })
        .collect();
    rows.extend(interactions.iter().map(|i| {
        let reason = i.reason_label.clone().unwrap_or_default();
        HistoryRow {
            sort: (i.occurred_at, i64::MAX),
            date: tr.date(i.occurred_at),
            what: tr.t("card-history-justified"),
            class: "needs",
            recorded: tr.datetime(i.occurred_at),
            how: action_words(tr, i.action),
            fields: plain(match i.note.as_deref() {
                Some(note) => format!("{reason} — {note}"),
                None => reason,
            }),
            by: operator_words(tr, &i.operator, users),
            receipt: None,
        }
    }));
    rows.extend(flags.iter().map(|f| {
        let state = if f.raised { "raised" } else { "lifted" };
        HistoryRow {
            sort: (f.at, i64::MAX),
            date: tr.date(f.at),
            what: tr.t(&format!("flags-history-{}-{state}", f.flag.code())),
            class: if f.raised { "blocked" } else { "allowed" },
            recorded: tr.datetime(f.at),
            how: match f.request_id {
                Some(_) => tr.t("flags-history-by-request"),
                None => String::new(),
            },
            fields: plain(match (f.flag, f.raised) {
                (ContactFlag::Restriction, false) => tr.t("flags-history-person-told"),
                _ => String::new(),
            }),
            by: actor_words(tr, f.actor.kind, &f.actor.id, users),
            receipt: None,
        }
    }));
    rows.extend(calls.iter().map(|c| {
        let (what, class) = call_words(tr, c.outcome);
        let mut fields = vec![
            Field {
                label: tr.t("field-campaign"),
                value: c.campaign.clone(),
            },
            Field {
                label: tr.t("field-called-at"),
                value: tr.datetime(c.called_at),
            },
        ];
        // Blank once the contact is erased (GDPR Art. 17).
        if !c.phone.is_empty() {
            fields.push(Field {
                label: tr.t("card-call-number"),
                value: c.phone.clone(),
            });
        }
        HistoryRow {
            sort: (c.recorded_at, i64::MAX),
            date: tr.date(c.called_at),
            what,
            class,
            recorded: tr.datetime(c.recorded_at),
            how: action_words(tr, Action::PhoneCall),
            fields,
            // A call recorded from the card names who placed it and who recorded it; the
            // dialer's, the handle it reported.
            by: match c.actor.kind {
                ActorKind::Operator => tr.args(
                    "card-actor-console-operator",
                    &[
                        ("handle", text(c.operator.clone())),
                        (
                            "by",
                            text(actor_words(tr, c.actor.kind, &c.actor.id, users)),
                        ),
                    ],
                ),
                _ => tr.with("card-actor-dialer-operator", "handle", &c.operator),
            },
            receipt: None,
        }
    }));
    rows.sort_by_key(|r| std::cmp::Reverse(r.sort));
    rows
}
