//! `consento rules create|list|dry-run|apply|revert`: bulk rules over provenance (source, legal
//! basis, purposes) from the command line, audited as the system. A rule is named by its id or
//! its name; the JSON output is the store's records.

use clap::{Args, Subcommand};
use consento_domain::rules::{
    AttributeChange, AttributeFilter, ConsentFilter, ConsentStateFilter, PurposesChange,
    RuleChanges, RuleFilter, RuleSpec, SourceFilter,
};
use consento_domain::{DomainError, LegalBasis};
use consento_store::{AuditActor, BulkRule, StoreError};

use super::output::{Table, clip, day, json, or_dash};
use super::{Ctx, parse_time};

/// `consento rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Save a rule: a filter (every condition given must hold) and at least one field to set.
    Create(Box<RuleArgs>),
    /// The saved rules and the latest runs.
    List,
    /// How many contacts the rule would change now, and the first of them. Writes nothing.
    DryRun {
        /// The rule's id or name.
        rule: String,
        /// How many changed contacts to list.
        #[arg(long, default_value_t = 20)]
        sample: i64,
    },
    /// Apply the rule in one transaction; prints the run id, which `revert` takes.
    Apply {
        /// The rule's id or name.
        rule: String,
    },
    /// Give the contacts a run changed their values back (those changed since are left alone).
    Revert {
        /// The run's id.
        run: String,
    },
}

/// A rule's name, filter and changes as flags.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// A unique name.
    #[arg(long)]
    pub name: String,
    /// Filter: the source is exactly this.
    #[arg(long, conflicts_with = "source_empty")]
    pub source: Option<String>,
    /// Filter: no source recorded.
    #[arg(long)]
    pub source_empty: bool,
    /// Filter: an attribute holds a value, as KEY=VALUE.
    #[arg(long)]
    pub attribute: Option<String>,
    /// Filter: the legal basis (code or Art. 6(1) letter).
    #[arg(long)]
    pub legal_basis: Option<String>,
    /// Filter: the purposes include this one.
    #[arg(long)]
    pub purpose: Option<String>,
    /// Filter: the consent of this type code…
    #[arg(long)]
    pub consent: Option<String>,
    /// …is granted, withdrawn, refused, expired or none.
    #[arg(long, requires = "consent")]
    pub consent_state: Option<String>,
    /// …was given before (YYYY-MM-DD or RFC 3339).
    #[arg(long, requires = "consent")]
    pub given_before: Option<String>,
    /// …was given at or after.
    #[arg(long, requires = "consent")]
    pub given_after: Option<String>,
    /// Filter: created before.
    #[arg(long)]
    pub created_before: Option<String>,
    /// Filter: created at or after.
    #[arg(long)]
    pub created_after: Option<String>,
    /// Set: the source.
    #[arg(long)]
    pub set_source: Option<String>,
    /// Set: the legal basis.
    #[arg(long)]
    pub set_legal_basis: Option<String>,
    /// Set: add these purposes (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["remove_purpose", "replace_purposes"])]
    pub add_purpose: Vec<String>,
    /// Set: remove these purposes.
    #[arg(long, value_delimiter = ',', conflicts_with = "replace_purposes")]
    pub remove_purpose: Vec<String>,
    /// Set: replace the purposes with these.
    #[arg(long, value_delimiter = ',')]
    pub replace_purposes: Vec<String>,
    /// Set: an attribute, as KEY=VALUE.
    #[arg(long, conflicts_with = "remove_attribute")]
    pub set_attribute: Option<String>,
    /// Set: remove an attribute.
    #[arg(long)]
    pub remove_attribute: Option<String>,
}

fn key_value(field: &'static str, text: &str) -> Result<(String, String), DomainError> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| DomainError::invalid(field, "give KEY=VALUE"))
}

impl RuleArgs {
    /// The rule the flags describe (checked by the store when saved); dates are local days of
    /// `zone`.
    pub fn spec(self, zone: &consento_domain::Zone) -> anyhow::Result<RuleSpec> {
        let consent = match self.consent {
            Some(type_code) => Some(ConsentFilter {
                type_code,
                state: self
                    .consent_state
                    .as_deref()
                    .map(ConsentStateFilter::parse)
                    .transpose()?,
                given_before: parse_time(zone, "given-before", self.given_before.as_deref())?,
                given_after: parse_time(zone, "given-after", self.given_after.as_deref())?,
            }),
            None => None,
        };
        let filter = RuleFilter {
            source: match (self.source, self.source_empty) {
                (Some(s), _) => Some(SourceFilter::Equals(s)),
                (None, true) => Some(SourceFilter::Empty),
                (None, false) => None,
            },
            attribute: self
                .attribute
                .map(|a| {
                    key_value("attribute", &a).map(|(key, value)| AttributeFilter { key, value })
                })
                .transpose()?,
            legal_basis: self
                .legal_basis
                .as_deref()
                .map(LegalBasis::parse)
                .transpose()?,
            purpose: self.purpose,
            consent,
            created_before: parse_time(zone, "created-before", self.created_before.as_deref())?,
            created_after: parse_time(zone, "created-after", self.created_after.as_deref())?,
        };
        let purposes = if !self.add_purpose.is_empty() {
            Some(PurposesChange::Add(self.add_purpose))
        } else if !self.remove_purpose.is_empty() {
            Some(PurposesChange::Remove(self.remove_purpose))
        } else if !self.replace_purposes.is_empty() {
            Some(PurposesChange::Replace(self.replace_purposes))
        } else {
            None
        };
        let attribute = match (self.set_attribute, self.remove_attribute) {
            (Some(a), _) => {
                let (key, value) = key_value("set-attribute", &a)?;
                Some(AttributeChange::Set { key, value })
            }
            (None, Some(key)) => Some(AttributeChange::Remove { key }),
            (None, None) => None,
        };
        Ok(RuleSpec {
            name: self.name,
            filter,
            changes: RuleChanges {
                source: self.set_source,
                legal_basis: self
                    .set_legal_basis
                    .as_deref()
                    .map(LegalBasis::parse)
                    .transpose()?,
                purposes,
                attribute,
            },
        })
    }
}

/// The rule named by an id or a name.
async fn find(ctx: &Ctx<'_>, text: &str) -> anyhow::Result<BulkRule> {
    if let Ok(id) = uuid::Uuid::parse_str(text.trim()) {
        return Ok(ctx.store.rule(id).await?);
    }
    ctx.store
        .rules()
        .await?
        .into_iter()
        .find(|r| r.spec.name == text.trim())
        .ok_or_else(|| StoreError::NotFound { entity: "rule" }.into())
}

/// `consento rules …`.
pub async fn run(ctx: &mut Ctx<'_>, command: RulesCommand) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    match command {
        RulesCommand::Create(args) => {
            let rule = ctx
                .store
                .create_rule(args.spec(ctx.app.zone())?, AuditActor::System)
                .await?;
            if ctx.json {
                return json(ctx.out, &rule);
            }
            writeln!(ctx.out, "saved rule {} ({})", rule.id, rule.spec.name)?;
        }
        RulesCommand::List => {
            let rules = ctx.store.rules().await?;
            let runs = ctx.store.rule_runs(20).await?;
            if ctx.json {
                return json(
                    ctx.out,
                    &serde_json::json!({ "rules": rules, "runs": runs }),
                );
            }
            let mut t = Table::new(&["ID", "NAME", "CHANGES"]);
            for r in &rules {
                let changes = serde_json::to_string(&r.spec.changes)?;
                t.row(vec![
                    r.id.to_string(),
                    clip(&r.spec.name, 40),
                    clip(&changes, 60),
                ]);
            }
            t.write(ctx.out, 0)?;
            writeln!(ctx.out)?;
            let mut t = Table::new(&["RUN", "RULE", "APPLIED", "CHANGED", "REVERTED"]);
            for r in &runs {
                t.row(vec![
                    r.id.to_string(),
                    clip(&r.rule_name, 40),
                    day(&zone, r.applied_at),
                    r.changed.to_string(),
                    or_dash(r.reverted_at.map(|t| day(&zone, t))),
                ]);
            }
            t.write(ctx.out, 0)?;
        }
        RulesCommand::DryRun { rule, sample } => {
            let rule = find(ctx, &rule).await?;
            let dry = ctx.store.dry_run(rule.id, sample).await?;
            if ctx.json {
                return json(ctx.out, &dry);
            }
            writeln!(ctx.out, "would change {} contacts", dry.count)?;
            let mut t = Table::new(&["CONTACT", "BEFORE", "AFTER"]);
            for c in &dry.sample {
                t.row(vec![
                    c.contact_id.to_string(),
                    clip(&serde_json::to_string(&c.before)?, 60),
                    clip(&serde_json::to_string(&c.after)?, 60),
                ]);
            }
            t.write(ctx.out, 0)?;
        }
        RulesCommand::Apply { rule } => {
            let rule = find(ctx, &rule).await?;
            let run = ctx.store.apply_rule(rule.id, AuditActor::System).await?;
            if ctx.json {
                return json(ctx.out, &run);
            }
            writeln!(
                ctx.out,
                "applied rule {}: changed {} contacts (run {})",
                run.rule_name, run.changed, run.id
            )?;
        }
        RulesCommand::Revert { run } => {
            let id = uuid::Uuid::parse_str(run.trim())
                .map_err(|_| DomainError::invalid("run", format!("`{run}` is not a UUID")))?;
            let report = ctx.store.revert_run(id, AuditActor::System).await?;
            if ctx.json {
                return json(ctx.out, &report);
            }
            writeln!(
                ctx.out,
                "reverted run {}: restored {} contacts, left {} changed since alone",
                id,
                report.restored,
                report.run.skipped.unwrap_or(0)
            )?;
        }
    }
    Ok(())
}
