//! Bulk rules over provenance: saved rules (a filter and the fields to set, checked by
//! `consento_domain::rules`), their dry run, their application in one audited transaction that
//! keeps every changed contact's before values (`rule_run_changes`), and the revert of a run.
//!
//! A rule over a million contacts never brings them into memory: the filter, the new values and
//! the comparison with the old ones are one SQL statement, the before values are copied by
//! `INSERT … SELECT`, and the contacts are updated from that copy by `UPDATE … FROM`. The JSON
//! functions differ between SQLite (`json_each`, `json_set`) and PostgreSQL (`jsonb`), so the
//! statement is built per backend by [`Dialect`]; everything else is one text.
//!
//! Revert, decided: a contact is restored as a whole, and only when its source, legal basis,
//! purposes and attributes are still exactly what the run wrote. A contact changed since by
//! anything else (an operator, the API, a later run) or erased is left alone and reported, so a
//! revert never overwrites a later rectification (GDPR Art. 16) with older data.

use consento_domain::rules::{
    AttributeChange, ConsentStateFilter, PurposesChange, RuleChanges, RuleFilter, RuleSpec,
    SourceFilter,
};
use consento_domain::{ContactId, DomainError, Timestamp};
use serde::Serialize;

use crate::row::Cols;
use crate::users::insert_audit;
use crate::{AuditActor, Db, Store, StoreError, in_write_tx, on_read_pool};

/// A saved bulk rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BulkRule {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its name, filter and changes.
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// A contact's provenance as a rule reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvenanceValues {
    /// Source.
    pub source: Option<String>,
    /// Legal basis code.
    pub legal_basis: Option<String>,
    /// Purposes (a JSON array).
    pub purposes: serde_json::Value,
    /// Attributes (a JSON object).
    pub attributes: serde_json::Value,
}

/// One contact a rule would change (or changed), with its values before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleChange {
    /// The contact.
    pub contact_id: ContactId,
    /// Its name, to recognise it in a sample.
    pub name: Option<String>,
    /// Now.
    pub before: ProvenanceValues,
    /// After the rule.
    pub after: ProvenanceValues,
}

/// What a rule would do now, written nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRun {
    /// How many contacts it would change (erased ones and those already holding the new values
    /// are not counted).
    pub count: i64,
    /// The first of them, in id order.
    pub sample: Vec<RuleChange>,
}

/// One application of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRun {
    /// Its id.
    pub id: uuid::Uuid,
    /// The rule applied.
    pub rule_id: uuid::Uuid,
    /// Its name then.
    pub rule_name: String,
    /// Its filter then.
    pub filter: RuleFilter,
    /// Its changes then.
    pub changes: RuleChanges,
    /// How many contacts it changed.
    pub changed: i64,
    /// When.
    pub applied_at: Timestamp,
    /// The operator who applied it.
    pub user_id: Option<uuid::Uuid>,
    /// The API token that applied it.
    pub token_id: Option<uuid::Uuid>,
    /// When it was reverted.
    pub reverted_at: Option<Timestamp>,
    /// How many contacts the revert restored.
    pub restored: Option<i64>,
    /// How many it left alone, changed since or erased.
    pub skipped: Option<i64>,
}

/// What a revert did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevertReport {
    /// The run, now marked reverted.
    pub run: RuleRun,
    /// Contacts restored to their before values.
    pub restored: i64,
    /// Contacts left alone because they changed since the run, or were erased: the first 100.
    pub skipped: Vec<ContactId>,
}

/// A value bound to a built statement.
enum Bind {
    Text(String),
    Int(i64),
    Uuid(uuid::Uuid),
}

/// A statement under construction: its text refers to its binds as `$1`, `$2`, …
#[derive(Default)]
struct Sql {
    binds: Vec<Bind>,
}

impl Sql {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
    fn text(&mut self, s: &str) -> String {
        self.bind(Bind::Text(s.to_owned()))
    }
}

/// Binds every value of a built statement, in order.
macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
                Bind::Uuid(u) => q.bind(*u),
            };
        }
        q
    }};
}

/// The JSON parts of a rule's statement, per backend (their JSON functions differ).
#[derive(Clone, Copy)]
enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// SQLite's JSON path of an object key (keys are checked by the domain: no quotes).
    fn path(key: &str) -> String {
        format!("$.\"{key}\"")
    }

    fn attribute_equals(self, sql: &mut Sql, key: &str, value: &str) -> String {
        let v = sql.text(value);
        match self {
            Self::Sqlite => {
                let p = sql.text(&Self::path(key));
                format!("CAST(json_extract(c.attributes, {p}) AS TEXT) = {v}")
            }
            Self::Postgres => {
                let k = sql.text(key);
                format!("(c.attributes::jsonb ->> {k}::text) = {v}")
            }
        }
    }

    fn has_purpose(self, sql: &mut Sql, purpose: &str) -> String {
        let p = sql.text(purpose);
        match self {
            Self::Sqlite => {
                format!("EXISTS (SELECT 1 FROM json_each(c.purposes) WHERE value = {p})")
            }
            Self::Postgres => format!("jsonb_exists(c.purposes::jsonb, {p}::text)"),
        }
    }

    fn purposes(self, sql: &mut Sql, change: &PurposesChange) -> Result<String, StoreError> {
        let list = |l: &Vec<String>| {
            serde_json::to_string(l).map_err(|_| StoreError::Corrupt("rule purposes"))
        };
        Ok(match (self, change) {
            (_, PurposesChange::Replace(l)) => sql.text(&list(l)?),
            (Self::Sqlite, PurposesChange::Add(l)) => {
                let a = sql.text(&list(l)?);
                format!(
                    "(SELECT json_group_array(value) FROM (SELECT value, 0 AS g, key AS k FROM json_each(c.purposes) \
                     UNION ALL SELECT value, 1 AS g, key AS k FROM json_each({a}) WHERE value NOT IN (SELECT value FROM json_each(c.purposes)) \
                     ORDER BY g, k))"
                )
            }
            (Self::Sqlite, PurposesChange::Remove(l)) => {
                let r = sql.text(&list(l)?);
                format!(
                    "(SELECT json_group_array(value) FROM (SELECT value FROM json_each(c.purposes) \
                     WHERE value NOT IN (SELECT value FROM json_each({r})) ORDER BY key))"
                )
            }
            (Self::Postgres, PurposesChange::Add(l)) => {
                let a = sql.text(&list(l)?);
                format!(
                    "(SELECT COALESCE(jsonb_agg(v ORDER BY g, o), '[]'::jsonb)::text FROM \
                     (SELECT v, 0 AS g, o FROM jsonb_array_elements_text(c.purposes::jsonb) WITH ORDINALITY AS t(v, o) \
                     UNION ALL SELECT v, 1 AS g, o FROM jsonb_array_elements_text({a}::jsonb) WITH ORDINALITY AS t(v, o) \
                     WHERE NOT jsonb_exists(c.purposes::jsonb, v)) s)"
                )
            }
            (Self::Postgres, PurposesChange::Remove(l)) => {
                let r = sql.text(&list(l)?);
                format!(
                    "(SELECT COALESCE(jsonb_agg(v ORDER BY o), '[]'::jsonb)::text FROM \
                     jsonb_array_elements_text(c.purposes::jsonb) WITH ORDINALITY AS t(v, o) \
                     WHERE NOT jsonb_exists({r}::jsonb, v))"
                )
            }
        })
    }

    fn attribute(self, sql: &mut Sql, change: &AttributeChange) -> String {
        match (self, change) {
            (Self::Sqlite, AttributeChange::Set { key, value }) => {
                let p = sql.text(&Self::path(key));
                let v = sql.text(value);
                format!("json_set(c.attributes, {p}, {v})")
            }
            (Self::Sqlite, AttributeChange::Remove { key }) => {
                let p = sql.text(&Self::path(key));
                format!("json_remove(c.attributes, {p})")
            }
            (Self::Postgres, AttributeChange::Set { key, value }) => {
                let k = sql.text(key);
                let v = sql.text(value);
                format!(
                    "jsonb_set(c.attributes::jsonb, ARRAY[{k}::text], to_jsonb({v}::text))::text"
                )
            }
            (Self::Postgres, AttributeChange::Remove { key }) => {
                let k = sql.text(key);
                format!("(c.attributes::jsonb - {k}::text)::text")
            }
        }
    }

    /// Whether two JSON texts hold the same value (the backends write JSON differently).
    fn json_same(self, a: &str, b: &str) -> String {
        match self {
            Self::Sqlite => format!("json({a}) = json({b})"),
            Self::Postgres => format!("{a}::jsonb = {b}::jsonb"),
        }
    }
}

/// The conditions of `filter` on `contacts c`, ANDed.
fn conditions(d: Dialect, sql: &mut Sql, filter: &RuleFilter, now: Timestamp) -> Vec<String> {
    let mut w = vec!["c.erased_at IS NULL".to_owned()];
    match &filter.source {
        Some(SourceFilter::Equals(s)) => w.push(format!("c.source = {}", sql.text(s))),
        Some(SourceFilter::Empty) => w.push("c.source IS NULL".to_owned()),
        None => {}
    }
    if let Some(a) = &filter.attribute {
        w.push(d.attribute_equals(sql, &a.key, &a.value));
    }
    if let Some(b) = filter.legal_basis {
        w.push(format!("c.legal_basis = {}", sql.text(b.code())));
    }
    if let Some(p) = &filter.purpose {
        w.push(d.has_purpose(sql, p));
    }
    if let Some(t) = filter.created_before {
        w.push(format!(
            "c.created_at < {}",
            sql.bind(Bind::Int(t.as_micros()))
        ));
    }
    if let Some(t) = filter.created_after {
        w.push(format!(
            "c.created_at >= {}",
            sql.bind(Bind::Int(t.as_micros()))
        ));
    }
    if let Some(cf) = &filter.consent {
        let code = sql.text(&cf.type_code);
        let mut s = Vec::new();
        match cf.state {
            Some(ConsentStateFilter::Granted) => s.push(format!(
                "s.granted AND s.valid_until > {}",
                sql.bind(Bind::Int(now.as_micros()))
            )),
            Some(ConsentStateFilter::Expired) => s.push(format!(
                "s.granted AND s.valid_until <= {}",
                sql.bind(Bind::Int(now.as_micros()))
            )),
            Some(ConsentStateFilter::Withdrawn) => {
                s.push("s.kind IN ('withdrawn', 'revoked')".to_owned());
            }
            Some(ConsentStateFilter::Refused) => s.push("s.kind = 'refused'".to_owned()),
            Some(ConsentStateFilter::None) | None => {}
        }
        if let Some(t) = cf.given_before {
            s.push(format!(
                "s.granted AND s.event_time < {}",
                sql.bind(Bind::Int(t.as_micros()))
            ));
        }
        if let Some(t) = cf.given_after {
            s.push(format!(
                "s.granted AND s.event_time >= {}",
                sql.bind(Bind::Int(t.as_micros()))
            ));
        }
        s.insert(0, format!("t.code = {code}"));
        let exists = format!(
            "EXISTS (SELECT 1 FROM consent_state s JOIN consent_types t ON t.id = s.consent_type_id WHERE s.contact_id = c.id AND {})",
            s.join(" AND ")
        );
        if cf.state == Some(ConsentStateFilter::None) {
            w.push(format!("NOT {exists}"));
        } else {
            w.push(exists);
        }
    }
    w
}

/// The contacts `spec` would change, each with its values now (`source`, `legal_basis`,
/// `purposes`, `attributes`) and after (`new_…`): a subquery, its binds in `sql`.
fn projection(
    d: Dialect,
    sql: &mut Sql,
    spec: &RuleSpec,
    now: Timestamp,
) -> Result<String, StoreError> {
    let ch = &spec.changes;
    let source = match &ch.source {
        Some(s) => sql.text(s),
        None => "c.source".to_owned(),
    };
    let legal_basis = match ch.legal_basis {
        Some(b) => sql.text(b.code()),
        None => "c.legal_basis".to_owned(),
    };
    let purposes = match &ch.purposes {
        Some(p) => d.purposes(sql, p)?,
        None => "c.purposes".to_owned(),
    };
    let attributes = match &ch.attribute {
        Some(a) => d.attribute(sql, a),
        None => "c.attributes".to_owned(),
    };
    let mut same = vec![
        "new_source IS NOT DISTINCT FROM source".to_owned(),
        "new_legal_basis IS NOT DISTINCT FROM legal_basis".to_owned(),
    ];
    if ch.purposes.is_some() {
        same.push(d.json_same("new_purposes", "purposes"));
    }
    if ch.attribute.is_some() {
        same.push(d.json_same("new_attributes", "attributes"));
    }
    let filter = conditions(d, sql, &spec.filter, now).join(" AND ");
    Ok(format!(
        "SELECT * FROM (SELECT c.id, c.name, c.source, c.legal_basis, c.purposes, c.attributes, \
         {source} AS new_source, {legal_basis} AS new_legal_basis, {purposes} AS new_purposes, {attributes} AS new_attributes \
         FROM contacts c WHERE {filter}) p WHERE NOT ({})",
        same.join(" AND ")
    ))
}

fn values(
    row: &impl Cols,
    source: &str,
    legal_basis: &str,
    purposes: &str,
    attributes: &str,
) -> Result<ProvenanceValues, StoreError> {
    let json = |col: &str| {
        serde_json::from_str(&row.text(col)?).map_err(|_| StoreError::Corrupt("contact provenance"))
    };
    Ok(ProvenanceValues {
        source: row.opt_text(source)?,
        legal_basis: row.opt_text(legal_basis)?,
        purposes: json(purposes)?,
        attributes: json(attributes)?,
    })
}

fn change_from(row: &impl Cols) -> Result<RuleChange, StoreError> {
    Ok(RuleChange {
        contact_id: ContactId(row.uuid("id")?),
        name: row.opt_text("name")?,
        before: values(row, "source", "legal_basis", "purposes", "attributes")?,
        after: values(
            row,
            "new_source",
            "new_legal_basis",
            "new_purposes",
            "new_attributes",
        )?,
    })
}

fn rule_from(row: &impl Cols) -> Result<BulkRule, StoreError> {
    Ok(BulkRule {
        id: row.uuid("id")?,
        spec: RuleSpec {
            name: row.text("name")?,
            filter: serde_json::from_str(&row.text("filter")?)
                .map_err(|_| StoreError::Corrupt("rule filter"))?,
            changes: serde_json::from_str(&row.text("changes")?)
                .map_err(|_| StoreError::Corrupt("rule changes"))?,
        },
        created_at: Timestamp::from_micros(row.int("created_at")?),
        updated_at: Timestamp::from_micros(row.int("updated_at")?),
    })
}

const RUN_COLS: &str = "id, rule_id, rule_name, filter, changes, changed, applied_at, user_id, token_id, reverted_at, restored, skipped";

fn run_from(row: &impl Cols) -> Result<RuleRun, StoreError> {
    Ok(RuleRun {
        id: row.uuid("id")?,
        rule_id: row.uuid("rule_id")?,
        rule_name: row.text("rule_name")?,
        filter: serde_json::from_str(&row.text("filter")?)
            .map_err(|_| StoreError::Corrupt("rule filter"))?,
        changes: serde_json::from_str(&row.text("changes")?)
            .map_err(|_| StoreError::Corrupt("rule changes"))?,
        changed: row.int("changed")?,
        applied_at: Timestamp::from_micros(row.int("applied_at")?),
        user_id: row.opt_uuid("user_id")?,
        token_id: row.opt_uuid("token_id")?,
        reverted_at: row.opt_int("reverted_at")?.map(Timestamp::from_micros),
        restored: row.opt_int("restored")?,
        skipped: row.opt_int("skipped")?,
    })
}

fn json_text<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|_| StoreError::Corrupt("rule"))
}

/// A contact still holding exactly what the run wrote (`contacts` against `r`), its JSON compared
/// as JSON: PostgreSQL writes jsonb text with spaces, a later save writes it compact.
fn unchanged_since(d: Dialect) -> String {
    format!(
        "contacts.erased_at IS NULL AND contacts.source IS NOT DISTINCT FROM r.source_after \
        AND contacts.legal_basis IS NOT DISTINCT FROM r.legal_basis_after AND {} AND {}",
        d.json_same("contacts.purposes", "r.purposes_after"),
        d.json_same("contacts.attributes", "r.attributes_after"),
    )
}

impl Store {
    fn dialect(&self) -> Dialect {
        match self.db {
            Db::Sqlite { .. } => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Checks `spec`, and that a consent type it names exists.
    async fn valid_rule(&self, spec: RuleSpec) -> Result<RuleSpec, StoreError> {
        let spec = spec.validate()?;
        if let Some(c) = &spec.filter.consent {
            let found: Option<i64> = on_read_pool!(self, pool => {
                sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM consent_types WHERE code = $1")
                    .bind(&c.type_code).fetch_optional(pool).await?
            });
            if found.is_none() {
                return Err(DomainError::invalid(
                    "filter.consent.type_code",
                    "no such consent type",
                )
                .into());
            }
        }
        Ok(spec)
    }

    /// Saves a new rule, audited (`bulk_rule.create`) in the same transaction. Names are unique.
    pub async fn create_rule(
        &self,
        spec: RuleSpec,
        by: AuditActor,
    ) -> Result<BulkRule, StoreError> {
        let spec = self.valid_rule(spec).await?;
        let now = self.now();
        let id = self.new_uuid(now)?;
        let audit_id = self.new_uuid(now)?;
        let (filter, changes) = (json_text(&spec.filter)?, json_text(&spec.changes)?);
        in_write_tx!(self, tx => {
            let taken: Option<i64> = sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM bulk_rules WHERE name = $1")
                .bind(&spec.name).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(StoreError::conflict("name", "another rule has this name"));
            }
            sqlx::query("INSERT INTO bulk_rules (id, name, filter, changes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
                .bind(id).bind(&spec.name).bind(&filter).bind(&changes).bind(now.as_micros())
                .execute(&mut *tx).await?;
            let entry = by.entry("bulk_rule.create", Some(("bulk_rule", id.to_string())), serde_json::json!({ "filter": spec.filter, "changes": spec.changes }));
            let detail = json_text(&entry.detail)?;
            insert_audit!(tx, audit_id, now, entry, detail);
        });
        Ok(BulkRule {
            id,
            spec,
            created_at: now,
            updated_at: now,
        })
    }

    /// Replaces a rule's name, filter and changes, audited (`bulk_rule.update`). Past runs keep
    /// the rule as it was when they ran.
    pub async fn update_rule(
        &self,
        id: uuid::Uuid,
        spec: RuleSpec,
        by: AuditActor,
    ) -> Result<BulkRule, StoreError> {
        let spec = self.valid_rule(spec).await?;
        let now = self.now();
        let audit_id = self.new_uuid(now)?;
        let (filter, changes) = (json_text(&spec.filter)?, json_text(&spec.changes)?);
        in_write_tx!(self, tx => {
            let taken: Option<i64> = sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM bulk_rules WHERE name = $1 AND id <> $2")
                .bind(&spec.name).bind(id).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(StoreError::conflict("name", "another rule has this name"));
            }
            let n = sqlx::query("UPDATE bulk_rules SET name = $2, filter = $3, changes = $4, updated_at = $5 WHERE id = $1")
                .bind(id).bind(&spec.name).bind(&filter).bind(&changes).bind(now.as_micros())
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::not_found("rule"));
            }
            let entry = by.entry("bulk_rule.update", Some(("bulk_rule", id.to_string())), serde_json::json!({ "filter": spec.filter, "changes": spec.changes }));
            let detail = json_text(&entry.detail)?;
            insert_audit!(tx, audit_id, now, entry, detail);
        });
        self.rule(id).await
    }

    /// Deletes a rule, audited (`bulk_rule.delete`); its runs stay, and can still be reverted.
    pub async fn delete_rule(&self, id: uuid::Uuid, by: AuditActor) -> Result<(), StoreError> {
        let now = self.now();
        let audit_id = self.new_uuid(now)?;
        in_write_tx!(self, tx => {
            let n = sqlx::query("DELETE FROM bulk_rules WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::not_found("rule"));
            }
            let entry = by.entry("bulk_rule.delete", Some(("bulk_rule", id.to_string())), serde_json::json!({}));
            let detail = json_text(&entry.detail)?;
            insert_audit!(tx, audit_id, now, entry, detail);
        });
        Ok(())
    }

    /// A saved rule.
    pub async fn rule(&self, id: uuid::Uuid) -> Result<BulkRule, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query("SELECT id, name, filter, changes, created_at, updated_at FROM bulk_rules WHERE id = $1")
                .bind(id).fetch_optional(pool).await?
                .ok_or_else(|| StoreError::not_found("rule"))?;
            rule_from(&row)
        })
    }

    /// Every saved rule, by name.
    pub async fn rules(&self) -> Result<Vec<BulkRule>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT id, name, filter, changes, created_at, updated_at FROM bulk_rules ORDER BY name, id")
                .fetch_all(pool).await?.iter().map(rule_from).collect()
        })
    }

    /// What the rule would change now: how many contacts and the first `sample` of them with
    /// their current and new values. Writes nothing.
    pub async fn dry_run(&self, id: uuid::Uuid, sample: i64) -> Result<DryRun, StoreError> {
        let rule = self.rule(id).await?;
        let d = self.dialect();
        let now = self.now();
        let mut count_sql = Sql::default();
        let count_text = format!(
            "SELECT COUNT(*) FROM ({}) q",
            projection(d, &mut count_sql, &rule.spec, now)?
        );
        let mut sample_sql = Sql::default();
        let proj = projection(d, &mut sample_sql, &rule.spec, now)?;
        let limit = sample_sql.bind(Bind::Int(sample.clamp(0, 1000)));
        let sample_text = format!("{proj} ORDER BY id LIMIT {limit}");
        on_read_pool!(self, pool => {
            let count: i64 = bind_all!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_text)), &count_sql.binds)
                .fetch_one(pool).await?;
            let sample = bind_all!(sqlx::query(sqlx::AssertSqlSafe(sample_text)), &sample_sql.binds)
                .fetch_all(pool).await?.iter().map(change_from).collect::<Result<_, _>>()?;
            Ok(DryRun { count, sample })
        })
    }

    /// Applies the rule in one transaction: copies every matching contact's before and after
    /// values into `rule_run_changes`, updates the contacts from that copy, and audits the run
    /// (`rule_run.apply`, with the rule, the count and the run id). Erased contacts and contacts
    /// already holding the new values are not touched. If anything fails, nothing is written.
    pub async fn apply_rule(&self, id: uuid::Uuid, by: AuditActor) -> Result<RuleRun, StoreError> {
        let rule = self.rule(id).await?;
        let d = self.dialect();
        let now = self.now();
        let run_id = self.new_uuid(now)?;
        let audit_id = self.new_uuid(now)?;
        let mut copy = Sql::default();
        let run = copy.bind(Bind::Uuid(run_id));
        let copy_text = format!(
            "INSERT INTO rule_run_changes (run_id, contact_id, source_before, legal_basis_before, purposes_before, attributes_before, \
             source_after, legal_basis_after, purposes_after, attributes_after) \
             SELECT {run}, id, source, legal_basis, purposes, attributes, new_source, new_legal_basis, new_purposes, new_attributes FROM ({}) q",
            projection(d, &mut copy, &rule.spec, now)?
        );
        let (user_id, token_id) = by.ids();
        let (filter, changes) = (
            json_text(&rule.spec.filter)?,
            json_text(&rule.spec.changes)?,
        );
        let changed = in_write_tx!(self, tx => {
            sqlx::query("INSERT INTO rule_runs (id, rule_id, rule_name, filter, changes, changed, applied_at, user_id, token_id) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)")
                .bind(run_id).bind(rule.id).bind(&rule.spec.name).bind(&filter).bind(&changes)
                .bind(now.as_micros()).bind(user_id).bind(token_id)
                .execute(&mut *tx).await?;
            let changed = bind_all!(sqlx::query(sqlx::AssertSqlSafe(copy_text)), &copy.binds)
                .execute(&mut *tx).await?.rows_affected();
            let changed = i64::try_from(changed).map_err(|_| StoreError::Corrupt("row count"))?;
            // An erasure committed meanwhile (PostgreSQL re-checks only this statement's own
            // conditions on a row another transaction changed) is never written over.
            sqlx::query("UPDATE contacts SET source = r.source_after, legal_basis = r.legal_basis_after, purposes = r.purposes_after, \
                attributes = r.attributes_after, updated_at = $2 FROM rule_run_changes r WHERE r.run_id = $1 AND r.contact_id = contacts.id \
                AND contacts.erased_at IS NULL")
                .bind(run_id).bind(now.as_micros())
                .execute(&mut *tx).await?;
            sqlx::query("UPDATE rule_runs SET changed = $2 WHERE id = $1")
                .bind(run_id).bind(changed)
                .execute(&mut *tx).await?;
            let entry = by.entry("rule_run.apply", Some(("rule_run", run_id.to_string())),
                serde_json::json!({ "rule": rule.id, "rule_name": rule.spec.name, "run": run_id, "changed": changed }));
            let detail = json_text(&entry.detail)?;
            insert_audit!(tx, audit_id, now, entry, detail);
            changed
        });
        // A rule may rewrite every contact: its pages leave the WAL before the next write.
        self.bound_wal().await;
        Ok(RuleRun {
            id: run_id,
            rule_id: rule.id,
            rule_name: rule.spec.name,
            filter: rule.spec.filter,
            changes: rule.spec.changes,
            changed,
            applied_at: now,
            user_id,
            token_id,
            reverted_at: None,
            restored: None,
            skipped: None,
        })
    }

    /// A run of a rule.
    pub async fn rule_run(&self, id: uuid::Uuid) -> Result<RuleRun, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {RUN_COLS} FROM rule_runs WHERE id = $1")))
                .bind(id).fetch_optional(pool).await?
                .ok_or_else(|| StoreError::not_found("run"))?;
            run_from(&row)
        })
    }

    /// The latest runs, newest first.
    pub async fn rule_runs(&self, limit: i64) -> Result<Vec<RuleRun>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {RUN_COLS} FROM rule_runs ORDER BY applied_at DESC, id DESC LIMIT $1")))
                .bind(limit.clamp(1, 500)).fetch_all(pool).await?.iter().map(run_from).collect()
        })
    }

    /// The contacts a run changed, with their values before and after it (the first `limit`).
    pub async fn rule_run_changes(
        &self,
        id: uuid::Uuid,
        limit: i64,
    ) -> Result<Vec<RuleChange>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT r.contact_id AS id, c.name, r.source_before AS source, r.legal_basis_before AS legal_basis, \
                r.purposes_before AS purposes, r.attributes_before AS attributes, r.source_after AS new_source, \
                r.legal_basis_after AS new_legal_basis, r.purposes_after AS new_purposes, r.attributes_after AS new_attributes \
                FROM rule_run_changes r JOIN contacts c ON c.id = r.contact_id WHERE r.run_id = $1 ORDER BY r.contact_id LIMIT $2")
                .bind(id).bind(limit.clamp(1, 1000))
                .fetch_all(pool).await?.iter().map(change_from).collect()
        })
    }

    /// Reverts a run in one transaction: every contact it changed that still holds exactly the
    /// values the run wrote gets its before values back; the others (changed since, or erased)
    /// are left alone and reported. Audited (`rule_run.revert`). A run is reverted once.
    pub async fn revert_run(
        &self,
        id: uuid::Uuid,
        by: AuditActor,
    ) -> Result<RevertReport, StoreError> {
        let now = self.now();
        let audit_id = self.new_uuid(now)?;
        let unchanged = unchanged_since(self.dialect());
        let (restored, skipped) = in_write_tx!(self, tx => {
            // Claimed first, under the row's lock: two reverts at once cannot both pass.
            let claimed = sqlx::query("UPDATE rule_runs SET reverted_at = $2 WHERE id = $1 AND reverted_at IS NULL RETURNING rule_id, changed")
                .bind(id).bind(now.as_micros()).fetch_optional(&mut *tx).await?;
            let Some(row) = claimed else {
                let known: Option<i64> = sqlx::query_scalar("SELECT changed FROM rule_runs WHERE id = $1")
                    .bind(id).fetch_optional(&mut *tx).await?;
                return Err(match known {
                    Some(_) => StoreError::conflict("id", "the run was already reverted"),
                    None => StoreError::not_found("run"),
                });
            };
            let rule_id = row.uuid("rule_id")?;
            let changed = row.int("changed")?;
            let skipped: Vec<uuid::Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT r.contact_id FROM rule_run_changes r JOIN contacts ON contacts.id = r.contact_id \
                 WHERE r.run_id = $1 AND NOT ({unchanged}) ORDER BY r.contact_id LIMIT 100")))
                .bind(id).fetch_all(&mut *tx).await?;
            let restored = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE contacts SET source = r.source_before, legal_basis = r.legal_basis_before, purposes = r.purposes_before, \
                 attributes = r.attributes_before, updated_at = $2 FROM rule_run_changes r \
                 WHERE r.run_id = $1 AND r.contact_id = contacts.id AND {unchanged}")))
                .bind(id).bind(now.as_micros())
                .execute(&mut *tx).await?.rows_affected();
            let restored = i64::try_from(restored).map_err(|_| StoreError::Corrupt("row count"))?;
            let skipped_count = changed - restored;
            sqlx::query("UPDATE rule_runs SET restored = $2, skipped = $3 WHERE id = $1")
                .bind(id).bind(restored).bind(skipped_count)
                .execute(&mut *tx).await?;
            let entry = by.entry("rule_run.revert", Some(("rule_run", id.to_string())),
                serde_json::json!({ "rule": rule_id, "run": id, "restored": restored, "skipped": skipped_count }));
            let detail = json_text(&entry.detail)?;
            insert_audit!(tx, audit_id, now, entry, detail);
            (restored, skipped)
        });
        self.bound_wal().await;
        Ok(RevertReport {
            run: self.rule_run(id).await?,
            restored,
            skipped: skipped.into_iter().map(ContactId).collect(),
        })
    }
}
