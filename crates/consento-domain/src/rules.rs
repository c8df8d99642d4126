//! Bulk rules over provenance (GDPR Art. 14(2)(f) source, Art. 6(1) legal basis, Art. 13(1)(c)
//! purposes): a filter choosing contacts and the fields to set on them, and the checks a rule must
//! pass before it is saved. Pure: the store turns a valid rule into SQL, and [`RuleChanges::apply`]
//! states what that SQL must compute, so tests can hold one against the other.

use serde::{Deserialize, Serialize};

use crate::{DomainError, LegalBasis, Timestamp};

/// Which contacts a rule touches: every condition given must hold (an empty filter matches every
/// contact that was not erased; erased contacts are never touched).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFilter {
    /// The source is exactly this, or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceFilter>,
    /// A free attribute has this value (compared as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<AttributeFilter>,
    /// The legal basis is this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    /// The purposes include this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The consent of one type is in a state, or was given in a period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentFilter>,
    /// Created before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_before: Option<Timestamp>,
    /// Created at or after this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_after: Option<Timestamp>,
}

/// The source condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceFilter {
    /// The source is exactly this text.
    Equals(String),
    /// No source was recorded.
    Empty,
}

/// An attribute condition: `key` holds `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeFilter {
    /// The attribute's key.
    pub key: String,
    /// Its value, as text.
    pub value: String,
}

/// A consent condition on one consent type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentFilter {
    /// The consent type, by code.
    pub type_code: String,
    /// Its state now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ConsentStateFilter>,
    /// Given (or renewed) before this instant, and not withdrawn since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_before: Option<Timestamp>,
    /// Given (or renewed) at or after this instant, and not withdrawn since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_after: Option<Timestamp>,
}

/// The state of a contact's consent of one type, at the time the rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStateFilter {
    /// Given or renewed, and still valid.
    Granted,
    /// Withdrawn or revoked.
    Withdrawn,
    /// Refused.
    Refused,
    /// Given, but its validity ran out.
    Expired,
    /// Never recorded.
    None,
}

impl ConsentStateFilter {
    /// Every state, in the order forms list them.
    pub const ALL: [ConsentStateFilter; 5] = [
        Self::Granted,
        Self::Withdrawn,
        Self::Refused,
        Self::Expired,
        Self::None,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Withdrawn => "withdrawn",
            Self::Refused => "refused",
            Self::Expired => "expired",
            Self::None => "none",
        }
    }

    /// The state named by `code`.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code.trim())
            .ok_or_else(|| {
                DomainError::invalid(
                    "consent_state",
                    "must be granted, withdrawn, refused, expired or none",
                )
            })
    }
}

/// What a rule sets on each contact it matches. At least one change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleChanges {
    /// The new source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The new legal basis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    /// How the purposes change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purposes: Option<PurposesChange>,
    /// An attribute set or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<AttributeChange>,
}

/// How a rule changes the purposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PurposesChange {
    /// Appends those not there yet, in this order.
    Add(Vec<String>),
    /// Takes these out.
    Remove(Vec<String>),
    /// Replaces the list.
    Replace(Vec<String>),
}

/// How a rule changes one attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AttributeChange {
    /// Sets `key` to the text `value`.
    Set {
        /// The key.
        key: String,
        /// The value (text).
        value: String,
    },
    /// Removes `key`.
    Remove {
        /// The key.
        key: String,
    },
}

/// A bulk rule as saved: its name, filter and changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// A name saying what it does ("Fiera 2024 → legitimate interests").
    pub name: String,
    /// Which contacts.
    #[serde(default)]
    pub filter: RuleFilter,
    /// What to set.
    pub changes: RuleChanges,
}

/// The provenance a rule reads and writes, as one contact holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// Source.
    pub source: Option<String>,
    /// Legal basis.
    pub legal_basis: Option<LegalBasis>,
    /// Purposes, in order.
    pub purposes: Vec<String>,
    /// Free attributes.
    pub attributes: Vec<(String, String)>,
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = value.trim();
    crate::text::check(field, value, crate::text::Lines::One)?;
    if value.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An attribute key a rule may name: letters, digits, `_` and `-` (the store puts it into a
/// JSON path, so nothing that could end or escape one).
fn key(field: &'static str, value: &str) -> Result<String, DomainError> {
    let value = text(field, value, 64)?;
    if !value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
    {
        return Err(DomainError::invalid(field, "letters, digits, _ and - only"));
    }
    Ok(value)
}

fn purpose_list(field: &'static str, list: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    for p in list {
        let p = text(field, p, 200)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() || out.len() > 50 {
        return Err(DomainError::invalid(field, "give 1 to 50 purposes"));
    }
    Ok(out)
}

impl RuleSpec {
    /// The rule with its texts trimmed and deduplicated, or the field at fault: a name, at least
    /// one change, keys usable in a JSON path, and periods that are not empty.
    pub fn validate(self) -> Result<Self, DomainError> {
        let name = text("name", &self.name, 200)?;
        let f = self.filter;
        let filter = RuleFilter {
            source: match f.source {
                Some(SourceFilter::Equals(s)) => {
                    Some(SourceFilter::Equals(text("filter.source", &s, 200)?))
                }
                other => other,
            },
            attribute: f
                .attribute
                .map(|a| {
                    Ok::<_, DomainError>(AttributeFilter {
                        key: key("filter.attribute.key", &a.key)?,
                        value: text("filter.attribute.value", &a.value, 1000)?,
                    })
                })
                .transpose()?,
            legal_basis: f.legal_basis,
            purpose: f
                .purpose
                .map(|p| text("filter.purpose", &p, 200))
                .transpose()?,
            consent: f
                .consent
                .map(|c| {
                    if let (Some(b), Some(a)) = (c.given_before, c.given_after)
                        && b <= a
                    {
                        return Err(DomainError::invalid(
                            "filter.consent.given_before",
                            "must be later than given_after",
                        ));
                    }
                    if c.state == Some(ConsentStateFilter::None)
                        && (c.given_before.is_some() || c.given_after.is_some())
                    {
                        return Err(DomainError::invalid(
                            "filter.consent.state",
                            "a consent never recorded has no date",
                        ));
                    }
                    Ok(ConsentFilter {
                        type_code: text("filter.consent.type_code", &c.type_code, 64)?,
                        ..c
                    })
                })
                .transpose()?,
            created_before: f.created_before,
            created_after: f.created_after,
        };
        if let (Some(b), Some(a)) = (filter.created_before, filter.created_after)
            && b <= a
        {
            return Err(DomainError::invalid(
                "filter.created_before",
                "must be later than created_after",
            ));
        }
        let c = self.changes;
        let changes = RuleChanges {
            source: c
                .source
                .map(|s| text("changes.source", &s, 200))
                .transpose()?,
            legal_basis: c.legal_basis,
            purposes: match c.purposes {
                Some(PurposesChange::Add(l)) => {
                    Some(PurposesChange::Add(purpose_list("changes.purposes", &l)?))
                }
                Some(PurposesChange::Remove(l)) => Some(PurposesChange::Remove(purpose_list(
                    "changes.purposes",
                    &l,
                )?)),
                Some(PurposesChange::Replace(l)) => Some(PurposesChange::Replace(purpose_list(
                    "changes.purposes",
                    &l,
                )?)),
                None => None,
            },
            attribute: match c.attribute {
                Some(AttributeChange::Set { key: k, value }) => Some(AttributeChange::Set {
                    key: key("changes.attribute.key", &k)?,
                    value: text("changes.attribute.value", &value, 1000)?,
                }),
                Some(AttributeChange::Remove { key: k }) => Some(AttributeChange::Remove {
                    key: key("changes.attribute.key", &k)?,
                }),
                None => None,
            },
        };
        if changes == RuleChanges::default() {
            return Err(DomainError::invalid("changes", "set at least one field"));
        }
        Ok(Self {
            name,
            filter,
            changes,
        })
    }
}

impl RuleChanges {
    /// What the rule makes of `p`: the specification the store's SQL implements.
    pub fn apply(&self, p: &Provenance) -> Provenance {
        let mut out = p.clone();
        if let Some(s) = &self.source {
            out.source = Some(s.clone());
        }
        if let Some(b) = self.legal_basis {
            out.legal_basis = Some(b);
        }
        match &self.purposes {
            Some(PurposesChange::Add(l)) => {
                for x in l {
                    if !out.purposes.contains(x) {
                        out.purposes.push(x.clone());
                    }
                }
            }
            Some(PurposesChange::Remove(l)) => out.purposes.retain(|x| !l.contains(x)),
            Some(PurposesChange::Replace(l)) => out.purposes = l.clone(),
            None => {}
        }
        match &self.attribute {
            Some(AttributeChange::Set { key, value }) => {
                match out.attributes.iter_mut().find(|(k, _)| k == key) {
                    Some(kv) => kv.1 = value.clone(),
                    None => out.attributes.push((key.clone(), value.clone())),
                }
            }
            Some(AttributeChange::Remove { key }) => out.attributes.retain(|(k, _)| k != key),
            None => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(changes: RuleChanges) -> RuleSpec {
        RuleSpec {
            name: " fair 2024 ".into(),
            filter: RuleFilter::default(),
            changes,
        }
    }

    #[test]
    fn a_rule_without_changes_is_refused_at_the_changes() {
        let e = spec(RuleChanges::default()).validate().unwrap_err();
        assert_eq!(e.field(), "changes");
    }

    #[test]
    fn keys_that_could_escape_a_json_path_are_refused() {
        let e = spec(RuleChanges {
            attribute: Some(AttributeChange::Remove {
                key: "a\".b".into(),
            }),
            ..RuleChanges::default()
        })
        .validate()
        .unwrap_err();
        assert_eq!(e.field(), "changes.attribute.key");
    }

    #[test]
    fn names_and_purposes_are_trimmed_and_deduplicated() {
        let s = spec(RuleChanges {
            purposes: Some(PurposesChange::Add(vec![
                " marketing".into(),
                "marketing ".into(),
            ])),
            ..RuleChanges::default()
        })
        .validate()
        .unwrap();
        assert_eq!(s.name, "fair 2024");
        assert_eq!(
            s.changes.purposes,
            Some(PurposesChange::Add(vec!["marketing".into()]))
        );
    }

    #[test]
    fn an_empty_period_is_refused() {
        let mut s = spec(RuleChanges {
            source: Some("fair".into()),
            ..RuleChanges::default()
        });
        s.filter.created_before = Some(Timestamp::from_micros(5));
        s.filter.created_after = Some(Timestamp::from_micros(5));
        assert_eq!(s.validate().unwrap_err().field(), "filter.created_before");
    }

    #[test]
    fn purposes_are_added_once_removed_or_replaced_and_attributes_set_or_removed() {
        let p = Provenance {
            source: None,
            legal_basis: None,
            purposes: vec!["a".into(), "b".into()],
            attributes: vec![("k".into(), "1".into())],
        };
        let add = RuleChanges {
            purposes: Some(PurposesChange::Add(vec!["b".into(), "c".into()])),
            attribute: Some(AttributeChange::Set {
                key: "k".into(),
                value: "2".into(),
            }),
            ..RuleChanges::default()
        };
        let out = add.apply(&p);
        assert_eq!(out.purposes, vec!["a", "b", "c"]);
        assert_eq!(out.attributes, vec![("k".to_owned(), "2".to_owned())]);
        let remove = RuleChanges {
            purposes: Some(PurposesChange::Remove(vec!["a".into()])),
            attribute: Some(AttributeChange::Remove { key: "k".into() }),
            source: Some("fair".into()),
            legal_basis: Some(LegalBasis::Contract),
        };
        let out = remove.apply(&p);
        assert_eq!(out.purposes, vec!["b"]);
        assert!(out.attributes.is_empty());
        assert_eq!(out.source.as_deref(), Some("fair"));
        assert_eq!(out.legal_basis, Some(LegalBasis::Contract));
    }
}
