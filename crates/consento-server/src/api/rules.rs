//! `/v1/rules` and `/v1/rule-runs`: bulk rules over provenance (source, GDPR Art. 14(2)(f); legal
//! basis, Art. 6(1); purposes, Art. 13(1)(c)). Save a rule (a filter and the fields to set), see
//! what it would change (dry run), apply it (one transaction, audited with the token as actor),
//! and revert a run. Everything needs `admin`: one call may change a million contacts.
//!
//! The bodies here mirror `consento_domain::rules` field for field (the domain crate carries no
//! OpenAPI); a body is read into these types, then into the domain's by their one JSON shape.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use consento_domain::rules::RuleSpec;
use consento_store::AuditActor;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminScope, Auth};
use super::contacts::LegalBasisName;
use super::error::{ApiError, Problem};
use super::json::ApiJson;
use super::model::Attributes;
use super::params::{ApiQuery, PathParam, created};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(get_rule, update_rule, delete_rule))
        .routes(routes!(dry_run))
        .routes(routes!(apply_rule))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(revert_run))
}

/// The source condition: `{"equals": "fiera 2024"}` or `"empty"`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceCondition {
    /// The source is exactly this text.
    Equals(String),
    /// No source was recorded.
    Empty,
}

/// An attribute holding a value (compared as text).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeCondition {
    /// The key: letters, digits, `_` and `-`.
    pub key: String,
    /// The value.
    pub value: String,
}

/// A condition on the consent of one type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentCondition {
    /// The consent type's code.
    pub type_code: String,
    /// `granted` (valid now), `withdrawn`, `refused`, `expired` or `none` (never recorded).
    #[serde(default)]
    #[schema(value_type = Option<ConsentStateFilterName>)]
    pub state: Option<String>,
    /// Given or renewed before this instant (and still given).
    #[serde(default)]
    #[schema(format = DateTime)]
    pub given_before: Option<String>,
    /// Given or renewed at or after this instant (and still given).
    #[serde(default)]
    #[schema(format = DateTime)]
    pub given_after: Option<String>,
}

/// Which contacts a rule touches: every condition given must hold. Erased contacts never match.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFilterBody {
    /// The source.
    #[serde(default)]
    #[schema(value_type = Option<SourceConditionForms>)]
    pub source: Option<SourceCondition>,
    /// A free attribute.
    #[serde(default)]
    pub attribute: Option<AttributeCondition>,
    /// The legal basis (`consent`, `contract`, `legal_obligation`, `vital_interests`,
    /// `public_task`, `legitimate_interests`).
    #[serde(default)]
    #[schema(value_type = Option<LegalBasisName>)]
    pub legal_basis: Option<String>,
    /// A purpose the contact has.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The consent of one type.
    #[serde(default)]
    pub consent: Option<ConsentCondition>,
    /// Created before this instant.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub created_before: Option<String>,
    /// Created at or after this instant.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub created_after: Option<String>,
}

/// How the purposes change: `{"add": […]}` (appended when missing), `{"remove": […]}` or
/// `{"replace": […]}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurposesBody {
    /// Appends those not there yet.
    Add(Vec<String>),
    /// Takes these out.
    Remove(Vec<String>),
    /// Replaces the list.
    Replace(Vec<String>),
}

/// One attribute set (`{"set": {"key": …, "value": …}}`) or removed (`{"remove": {"key": …}}`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeBody {
    /// Sets the key to a text value.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Removes the key.
    Remove {
        /// The key.
        key: String,
    },
}

// The OpenAPI document's view of the three externally tagged bodies above: the same JSON, with
// every form a named schema (`{"add": […]}` is `PurposesAdd`), so that a client generated from
// the document names them rather than numbering anonymous types. The bodies themselves stay
// externally tagged enums, whose refusals name the form that is wrong; a unit test below holds
// both views to the same JSON.

/// The source condition: `{"equals": "fiera 2024"}` or `"empty"`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = SourceCondition)]
#[allow(dead_code)] // Named only in the OpenAPI document; `SourceCondition` is what runs.
enum SourceConditionForms {
    /// The source is exactly this text.
    Equals(SourceEquals),
    /// No source was recorded.
    Empty(SourceEmpty),
}

/// The source is exactly this text.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Named only in the OpenAPI document.
struct SourceEquals {
    /// The text.
    equals: String,
}

/// No source was recorded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document.
enum SourceEmpty {
    /// `"empty"`.
    Empty,
}

/// The state of the consent of one type when the rule runs.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Named only in the OpenAPI document; the domain's filter is what runs.
pub enum ConsentStateFilterName {
    /// Given or renewed, and valid now.
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

/// How the purposes change: `{"add": […]}` (appended when missing), `{"remove": […]}` or
/// `{"replace": […]}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = PurposesBody)]
#[allow(dead_code)] // Named only in the OpenAPI document; `PurposesBody` is what runs.
enum PurposesForms {
    /// Appends those not there yet.
    Add(PurposesAdd),
    /// Takes these out.
    Remove(PurposesRemove),
    /// Replaces the list.
    Replace(PurposesReplace),
}

/// Appends the purposes not there yet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Named only in the OpenAPI document.
struct PurposesAdd {
    /// The purposes.
    add: Vec<String>,
}

/// Takes these purposes out.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Named only in the OpenAPI document.
struct PurposesRemove {
    /// The purposes.
    remove: Vec<String>,
}

/// Replaces the list of purposes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Named only in the OpenAPI document.
struct PurposesReplace {
    /// The new list.
    replace: Vec<String>,
}

/// One attribute set (`{"set": {"key": …, "value": …}}`) or removed (`{"remove": {"key": …}}`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = AttributeBody)]
#[allow(dead_code)] // Named only in the OpenAPI document; `AttributeBody` is what runs.
enum AttributeForms {
    /// Sets the key to a text value.
    Set(AttributeSet),
    /// Removes the key.
    Remove(AttributeRemove),
}

/// Sets an attribute.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Named only in the OpenAPI document.
struct AttributeSet {
    /// The key and its new value.
    set: AttributeValue,
}

/// An attribute's key and its text value.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Named only in the OpenAPI document.
struct AttributeValue {
    /// The key.
    key: String,
    /// The value.
    value: String,
}

/// Removes an attribute.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Named only in the OpenAPI document.
struct AttributeRemove {
    /// The key to remove.
    remove: AttributeKey,
}

/// An attribute's key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Named only in the OpenAPI document.
struct AttributeKey {
    /// The key.
    key: String,
}

/// What a rule sets: at least one field.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleChangesBody {
    /// The new source.
    #[serde(default)]
    pub source: Option<String>,
    /// The new legal basis code.
    #[serde(default)]
    #[schema(value_type = Option<LegalBasisName>)]
    pub legal_basis: Option<String>,
    /// How the purposes change.
    #[serde(default)]
    #[schema(value_type = Option<PurposesForms>)]
    pub purposes: Option<PurposesBody>,
    /// An attribute set or removed.
    #[serde(default)]
    #[schema(value_type = Option<AttributeForms>)]
    pub attribute: Option<AttributeBody>,
}

/// A rule to save.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Fiera 2024: legitimate interests",
    "filter": { "source": { "equals": "fiera 2024" } },
    "changes": { "legal_basis": "legitimate_interests", "purposes": { "add": ["marketing"] } }
}))]
pub struct RuleBody {
    /// A unique name, 1 to 200 characters.
    pub name: String,
    /// Which contacts (empty: every contact not erased).
    #[serde(default)]
    pub filter: RuleFilterBody,
    /// What to set.
    pub changes: RuleChangesBody,
}

/// A saved rule.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its name.
    pub name: String,
    /// Which contacts.
    pub filter: RuleFilterBody,
    /// What it sets.
    pub changes: RuleChangesBody,
    /// Created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Every saved rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    /// By name.
    pub items: Vec<RuleOut>,
}

/// A contact's provenance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProvenanceOut {
    /// Source.
    pub source: Option<String>,
    /// Legal basis code.
    pub legal_basis: Option<String>,
    /// Purposes.
    pub purposes: Vec<String>,
    /// Free attributes.
    #[schema(value_type = Attributes)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A contact a rule would change, or changed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleChangeOut {
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// Its name.
    pub name: Option<String>,
    /// Its provenance now (dry run) or before the run.
    pub before: ProvenanceOut,
    /// Its provenance after the rule.
    pub after: ProvenanceOut,
}

/// What a rule would change now. Nothing is written.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DryRunOut {
    /// How many contacts would change (erased ones, and those already holding the new values,
    /// are not counted).
    pub count: i64,
    /// The first of them, in id order.
    pub sample: Vec<RuleChangeOut>,
}

/// A run of a rule.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// The rule.
    pub rule_id: uuid::Uuid,
    /// The rule's name when it ran.
    pub rule_name: String,
    /// The filter when it ran.
    pub filter: RuleFilterBody,
    /// The changes when it ran.
    pub changes: RuleChangesBody,
    /// How many contacts it changed.
    pub changed: i64,
    /// When.
    #[schema(format = DateTime)]
    pub applied_at: String,
    /// The operator who applied it, if one did.
    pub user_id: Option<uuid::Uuid>,
    /// The token that applied it, if one did.
    pub token_id: Option<uuid::Uuid>,
    /// When it was reverted.
    #[schema(format = DateTime)]
    pub reverted_at: Option<String>,
    /// Contacts the revert restored.
    pub restored: Option<i64>,
    /// Contacts the revert left alone (changed since the run, or erased).
    pub skipped: Option<i64>,
}

/// The latest runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    /// Newest first.
    pub items: Vec<RunOut>,
}

/// What a revert did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevertOut {
    /// The run, now reverted.
    pub run: RunOut,
    /// Contacts given their values before the run back.
    pub restored: i64,
    /// Contacts left alone because they changed since the run or were erased (the first 100).
    pub skipped: Vec<uuid::Uuid>,
}

/// How many changed contacts a dry run lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DryRunParams {
    /// 0 to 1000; 20 when absent.
    #[param(minimum = 0, maximum = 1000)]
    pub sample: Option<i64>,
}

/// One JSON shape read as another type: these bodies into the domain's, the store's records
/// into these bodies.
fn via<T: Serialize, U: DeserializeOwned>(value: T, field: &'static str) -> Result<U, ApiError> {
    let json =
        serde_json::to_value(value).map_err(|_| ApiError::bad_request(field, "cannot be read"))?;
    serde_json::from_value(json).map_err(|e| ApiError::bad_request(field, e.to_string()))
}

fn spec(body: RuleBody) -> Result<RuleSpec, ApiError> {
    Ok(RuleSpec {
        name: body.name,
        filter: via(body.filter, "filter")?,
        changes: via(body.changes, "changes")?,
    })
}

fn id(text: &str, what: &'static str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text.trim()).map_err(|_| ApiError::NotFound(what))
}

fn by(auth: &Auth<AdminScope>) -> AuditActor {
    AuditActor::Token(auth.0.token_id)
}

/// Every saved rule, by name.
#[utoipa::path(
    get, path = "/v1/rules", tag = "rules", operation_id = "listRules",
    responses((status = 200, description = "Every rule", body = RuleList)),
    security(("token" = ["admin"]))
)]
async fn list_rules(
    _auth: Auth<AdminScope>,
    State(state): State<AppState>,
) -> Result<Json<RuleList>, ApiError> {
    let items = state.store.rules().await?;
    Ok(Json(RuleList {
        items: items
            .into_iter()
            .map(|r| via(r, "rule"))
            .collect::<Result<_, _>>()?,
    }))
}

/// Saves a rule. Answers `201 Created` with its URL in `Location`. Audited, with the token.
#[utoipa::path(
    post, path = "/v1/rules", tag = "rules", operation_id = "createRule",
    request_body = RuleBody,
    responses(
        (status = 201, description = "Saved", body = RuleOut,
            headers(("Location" = String, description = "The rule's URL"))),
        (status = 400, description = "A field is missing, malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another rule has this name (`field`: `name`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused (`field` names it, e.g. `changes` when nothing is set)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn create_rule(
    auth: Auth<AdminScope>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Response, ApiError> {
    let rule = state.store.create_rule(spec(body)?, by(&auth)).await?;
    Ok(created(
        &format!("/v1/rules/{}", rule.id),
        via::<_, RuleOut>(rule, "rule")?,
    ))
}

/// One saved rule.
#[utoipa::path(
    get, path = "/v1/rules/{id}", tag = "rules", operation_id = "getRule",
    params(("id" = uuid::Uuid, Path, description = "The rule's id")),
    responses(
        (status = 200, description = "The rule", body = RuleOut),
        (status = 404, description = "No such rule", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn get_rule(
    _auth: Auth<AdminScope>,
    PathParam(rule): PathParam,
    State(state): State<AppState>,
) -> Result<Json<RuleOut>, ApiError> {
    let rule = state.store.rule(id(&rule, "rule")?).await?;
    Ok(Json(via(rule, "rule")?))
}

/// Replaces a rule's name, filter and changes. Past runs keep the rule as it ran.
#[utoipa::path(
    put, path = "/v1/rules/{id}", tag = "rules", operation_id = "updateRule",
    params(("id" = uuid::Uuid, Path, description = "The rule's id")),
    request_body = RuleBody,
    responses(
        (status = 200, description = "The rule as saved", body = RuleOut),
        (status = 400, description = "A field is missing, malformed or unknown (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such rule", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another rule has this name (`field`: `name`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn update_rule(
    auth: Auth<AdminScope>,
    PathParam(rule): PathParam,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Json<RuleOut>, ApiError> {
    let rule_id = id(&rule, "rule")?;
    let rule = state
        .store
        .update_rule(rule_id, spec(body)?, by(&auth))
        .await?;
    Ok(Json(via(rule, "rule")?))
}

/// Deletes a rule. Its runs stay, and can still be reverted.
#[utoipa::path(
    delete, path = "/v1/rules/{id}", tag = "rules", operation_id = "deleteRule",
    params(("id" = uuid::Uuid, Path, description = "The rule's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such rule", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn delete_rule(
    auth: Auth<AdminScope>,
    PathParam(rule): PathParam,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    state
        .store
        .delete_rule(id(&rule, "rule")?, by(&auth))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What the rule would change now: how many contacts, and the first of them with their values
/// now and after. Writes nothing.
#[utoipa::path(
    post, path = "/v1/rules/{id}/dry-run", tag = "rules", operation_id = "dryRunRule",
    params(("id" = uuid::Uuid, Path, description = "The rule's id"), DryRunParams),
    responses(
        (status = 200, description = "The count and a sample", body = DryRunOut),
        (status = 400, description = "`sample` is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such rule", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn dry_run(
    _auth: Auth<AdminScope>,
    PathParam(rule): PathParam,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DryRunParams>,
) -> Result<Json<DryRunOut>, ApiError> {
    let sample = params.sample.unwrap_or(20);
    if !(0..=1000).contains(&sample) {
        return Err(ApiError::bad_request("sample", "must be 0 to 1000"));
    }
    let dry = state.store.dry_run(id(&rule, "rule")?, sample).await?;
    Ok(Json(via(dry, "dry_run")?))
}

/// Applies the rule: one transaction changes every matching contact, keeps their values before
/// (so the run can be reverted) and audits the run with the token. Answers `201 Created`.
#[utoipa::path(
    post, path = "/v1/rules/{id}/runs", tag = "rules", operation_id = "applyRule",
    params(("id" = uuid::Uuid, Path, description = "The rule's id")),
    responses(
        (status = 201, description = "Applied", body = RunOut,
            headers(("Location" = String, description = "The run's URL"))),
        (status = 404, description = "No such rule", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn apply_rule(
    auth: Auth<AdminScope>,
    PathParam(rule): PathParam,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let run = state
        .store
        .apply_rule(id(&rule, "rule")?, by(&auth))
        .await?;
    Ok(created(
        &format!("/v1/rule-runs/{}", run.id),
        via::<_, RunOut>(run, "run")?,
    ))
}

/// The latest runs of every rule, newest first.
#[utoipa::path(
    get, path = "/v1/rule-runs", tag = "rules", operation_id = "listRuleRuns",
    responses((status = 200, description = "The latest 100 runs", body = RunList)),
    security(("token" = ["admin"]))
)]
async fn list_runs(
    _auth: Auth<AdminScope>,
    State(state): State<AppState>,
) -> Result<Json<RunList>, ApiError> {
    let items = state.store.rule_runs(100).await?;
    Ok(Json(RunList {
        items: items
            .into_iter()
            .map(|r| via(r, "run"))
            .collect::<Result<_, _>>()?,
    }))
}

/// One run.
#[utoipa::path(
    get, path = "/v1/rule-runs/{id}", tag = "rules", operation_id = "getRuleRun",
    params(("id" = uuid::Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run", body = RunOut),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn get_run(
    _auth: Auth<AdminScope>,
    PathParam(run): PathParam,
    State(state): State<AppState>,
) -> Result<Json<RunOut>, ApiError> {
    let run = state.store.rule_run(id(&run, "run")?).await?;
    Ok(Json(via(run, "run")?))
}

/// Reverts a run in one transaction: each contact it changed that still holds exactly what the
/// run wrote gets its values before the run back; a contact changed since (or erased) is left
/// alone and listed. Audited with the token. A run is reverted once.
#[utoipa::path(
    post, path = "/v1/rule-runs/{id}/revert", tag = "rules", operation_id = "revertRuleRun",
    params(("id" = uuid::Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "Reverted", body = RevertOut),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The run was already reverted (`field`: `id`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["admin"]))
)]
async fn revert_run(
    auth: Auth<AdminScope>,
    PathParam(run): PathParam,
    State(state): State<AppState>,
) -> Result<Json<RevertOut>, ApiError> {
    let report = state.store.revert_run(id(&run, "run")?, by(&auth)).await?;
    Ok(Json(via(report, "revert")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::to_value;

    #[test]
    fn the_documented_forms_of_rule_bodies_are_the_json_the_bodies_read_and_write() {
        let same = |real: serde_json::Value, documented: serde_json::Value| {
            assert_eq!(real, documented);
        };
        same(
            to_value(SourceCondition::Equals("fiera".into())).unwrap(),
            to_value(SourceConditionForms::Equals(SourceEquals {
                equals: "fiera".into(),
            }))
            .unwrap(),
        );
        same(
            to_value(SourceCondition::Empty).unwrap(),
            to_value(SourceConditionForms::Empty(SourceEmpty::Empty)).unwrap(),
        );
        let list = || vec!["marketing".to_owned()];
        same(
            to_value(PurposesBody::Add(list())).unwrap(),
            to_value(PurposesForms::Add(PurposesAdd { add: list() })).unwrap(),
        );
        same(
            to_value(PurposesBody::Remove(list())).unwrap(),
            to_value(PurposesForms::Remove(PurposesRemove { remove: list() })).unwrap(),
        );
        same(
            to_value(PurposesBody::Replace(list())).unwrap(),
            to_value(PurposesForms::Replace(PurposesReplace { replace: list() })).unwrap(),
        );
        same(
            to_value(AttributeBody::Set {
                key: "k".into(),
                value: "v".into(),
            })
            .unwrap(),
            to_value(AttributeForms::Set(AttributeSet {
                set: AttributeValue {
                    key: "k".into(),
                    value: "v".into(),
                },
            }))
            .unwrap(),
        );
        same(
            to_value(AttributeBody::Remove { key: "k".into() }).unwrap(),
            to_value(AttributeForms::Remove(AttributeRemove {
                remove: AttributeKey { key: "k".into() },
            }))
            .unwrap(),
        );
    }

    #[test]
    fn the_documented_consent_states_are_the_ones_a_filter_reads() {
        let documented: Vec<serde_json::Value> = [
            ConsentStateFilterName::Granted,
            ConsentStateFilterName::Withdrawn,
            ConsentStateFilterName::Refused,
            ConsentStateFilterName::Expired,
            ConsentStateFilterName::None,
        ]
        .into_iter()
        .map(|s| to_value(s).unwrap())
        .collect();
        let read: Vec<serde_json::Value> = consento_domain::rules::ConsentStateFilter::ALL
            .into_iter()
            .map(|s| to_value(s).unwrap())
            .collect();
        assert_eq!(documented, read);
    }
}
