//! `/setup/types`: the consent types (the seed's "Tipologie consensi"): title, unique code,
//! optional description, validity in days (empty: the consent never expires), and what a valid
//! consent of the type permits: bulk sends, single email, phone contact (the seed's three), SMS,
//! and whether the preference center offers it. The code cannot change once the ledger cites
//! the type; the form then shows it read-only. The store does the checking, as for the API
//! (`/v1/consent-types`): the page only turns its refusals into messages.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use consento_domain::{Action, ConsentCode, ConsentTypeSpec, Permissions, Purpose};
use consento_store::{ConsentType, StoreError};
use serde_json::json;

use super::{Admin, DoneQuery, Errors, Explained, Tabs, again, refused};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::web::page::{Page, PageError, render, see_other};
use crate::web::session::Staff;

/// What a consent type permits, in the seed's order, with the message keys of each checkbox's
/// label and explanation.
const PERMITS: [(Action, &str, &str, &str); 5] = [
    (
        Action::EmailBulk,
        "setup-type-permit-email-bulk",
        "setup-type-permit-email-bulk-hint",
        "setup-type-short-email-bulk",
    ),
    (
        Action::EmailSingle,
        "setup-type-permit-email-single",
        "setup-type-permit-email-single-hint",
        "setup-type-short-email-single",
    ),
    (
        Action::PhoneCall,
        "setup-type-permit-phone-call",
        "setup-type-permit-phone-call-hint",
        "setup-type-short-phone-call",
    ),
    (
        Action::SmsSingle,
        "setup-type-permit-sms-single",
        "setup-type-permit-sms-single-hint",
        "setup-type-short-sms-single",
    ),
    (
        Action::SmsBulk,
        "setup-type-permit-sms-bulk",
        "setup-type-permit-sms-bulk-hint",
        "setup-type-short-sms-bulk",
    ),
];

/// The fields whose refusal the form explains.
const EXPLAINED: &Explained = &[
    (
        "title",
        "setup-type-invalid-title",
        "setup-type-invalid-title",
    ),
    ("code", "setup-type-invalid-code", "setup-type-code-taken"),
    (
        "description",
        "setup-type-invalid-description",
        "setup-type-invalid-description",
    ),
    (
        "validity_days",
        "setup-type-invalid-validity",
        "setup-type-invalid-validity",
    ),
    (
        "permissions",
        "setup-type-invalid-permits",
        "setup-type-invalid-permits",
    ),
    (
        "purpose",
        "setup-type-invalid-purpose",
        "setup-type-purpose-fixed",
    ),
    (
        "categories",
        "setup-type-invalid-categories",
        "setup-type-invalid-categories",
    ),
];

/// A row of the list.
pub struct TypeRow {
    /// Title.
    pub title: String,
    /// Code.
    pub code: String,
    /// The validity in words.
    pub validity: String,
    /// What it permits, in short words.
    pub permits: Vec<String>,
    /// Whether the preference center offers it.
    pub preference_center: bool,
}

#[derive(Template)]
#[template(path = "setup_types.html")]
struct TypesPage {
    page: Page,
    tabs: Tabs,
    rows: Vec<TypeRow>,
}

fn row(tr: Tr, t: ConsentType) -> TypeRow {
    TypeRow {
        validity: t.spec.validity_days.map_or_else(
            || tr.t("setup-type-no-expiry"),
            |d| tr.count("setup-type-days", i64::from(d)),
        ),
        permits: PERMITS
            .iter()
            .filter(|(a, ..)| t.spec.permissions.permits(*a))
            .map(|(_, _, _, short)| tr.t(short))
            .collect(),
        preference_center: t.spec.show_in_preference_center,
        title: t.spec.title,
        code: t.spec.code.as_str().to_owned(),
    }
}

/// `GET /setup/types`.
pub async fn list(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let rows = state
        .store
        .consent_types()
        .await?
        .into_iter()
        .map(|t| row(staff.tr, t))
        .collect();
    render(&TypesPage {
        page: staff.page("setup").done(q.done.as_deref()),
        tabs: Tabs::at("types"),
        rows,
    })
}

/// The form's values as typed (or as stored, when editing).
#[derive(Debug, Clone, Default)]
pub struct TypeValues {
    /// Title.
    pub title: String,
    /// Code.
    pub code: String,
    /// Description.
    pub description: String,
    /// Validity in days, as typed.
    pub validity_days: String,
    /// What it permits.
    pub permissions: Permissions,
    /// Whether the preference center offers it.
    pub show_in_preference_center: bool,
    /// The purpose's code.
    pub purpose: String,
    /// The product categories (third parties), comma separated as typed.
    pub categories: String,
}

impl TypeValues {
    fn of(spec: &ConsentTypeSpec) -> Self {
        Self {
            title: spec.title.clone(),
            code: spec.code.as_str().to_owned(),
            description: spec.description.clone().unwrap_or_default(),
            validity_days: spec
                .validity_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            permissions: spec.permissions,
            show_in_preference_center: spec.show_in_preference_center,
            purpose: spec.purpose.code().to_owned(),
            categories: spec.purpose.categories().join(", "),
        }
    }

    fn posted(fields: &[(String, String)]) -> Self {
        let text = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let ticked = |name: &str| fields.iter().any(|(k, _)| k == name);
        let mut permissions = Permissions::default();
        for (action, ..) in PERMITS {
            permissions.set(action, ticked(action.code()));
        }
        Self {
            title: text("title"),
            code: text("code"),
            description: text("description"),
            validity_days: text("validity_days"),
            permissions,
            show_in_preference_center: ticked("show_in_preference_center"),
            purpose: text("purpose"),
            categories: text("categories"),
        }
    }

    /// The type to store; the code and the validity are read here, the rest is checked by the
    /// store (the same rules as the API's).
    fn spec(&self, tr: Tr) -> Result<ConsentTypeSpec, Errors> {
        let mut errors = Errors::default();
        let code = ConsentCode::parse(&self.code)
            .map_err(|_| errors.add("code", tr.t("setup-type-invalid-code")))
            .ok();
        let validity_days = match self.validity_days.trim() {
            "" => Some(None),
            days => days
                .parse::<u32>()
                .map(Some)
                .map_err(|_| errors.add("validity_days", tr.t("setup-type-invalid-validity")))
                .ok(),
        };
        let categories: Vec<String> = self.categories.split(',').map(str::to_owned).collect();
        // A form without the field (an older page) means the default purpose.
        let purpose = match self.purpose.trim() {
            "" => "marketing",
            p => p,
        };
        let purpose = match Purpose::parse(purpose, &categories) {
            Ok(p) => Some(p),
            Err(e) => {
                let key = if e.field() == "categories" {
                    "setup-type-invalid-categories"
                } else {
                    "setup-type-invalid-purpose"
                };
                errors.add(e.field(), tr.t(key));
                None
            }
        };
        match (code, validity_days, purpose) {
            (Some(code), Some(validity_days), Some(purpose)) => Ok(ConsentTypeSpec {
                title: self.title.clone(),
                code,
                description: Some(self.description.clone()),
                validity_days,
                permissions: self.permissions,
                show_in_preference_center: self.show_in_preference_center,
                purpose,
            }),
            _ => Err(errors),
        }
    }
}

/// A permission's checkbox.
pub struct PermitBox {
    /// The field's name: the action's code (`email.bulk`).
    pub name: &'static str,
    /// The element id.
    pub id: String,
    /// Message key of the label.
    pub label: &'static str,
    /// Message key of the explanation.
    pub hint: &'static str,
    /// Whether it is ticked.
    pub on: bool,
}

#[derive(Template)]
#[template(path = "setup_type_form.html")]
struct TypeFormPage {
    page: Page,
    tabs: Tabs,
    /// Where the form posts.
    action: String,
    /// A new type, or a change to one.
    creating: bool,
    /// The code can no longer change (the ledger cites the type).
    code_fixed: bool,
    values: TypeValues,
    permits: Vec<PermitBox>,
    /// The purposes offered: (code, message key of the label).
    purposes: Vec<(&'static str, String)>,
    errors: Errors,
}

fn form_page(
    staff: &Staff,
    action: String,
    creating: bool,
    code_fixed: bool,
    values: TypeValues,
    errors: Errors,
) -> Result<Response, PageError> {
    let permits = PERMITS
        .iter()
        .map(|(a, label, hint, _)| PermitBox {
            name: a.code(),
            id: format!("permit-{}", a.code().replace('.', "-")),
            label,
            hint,
            on: values.permissions.permits(*a),
        })
        .collect();
    let purposes = Purpose::CODES
        .iter()
        .map(|code| {
            (
                *code,
                format!("setup-type-purpose-{}", code.replace('_', "-")),
            )
        })
        .collect();
    render(&TypeFormPage {
        page: staff.page("setup"),
        tabs: Tabs::at("types"),
        action,
        creating,
        code_fixed,
        values,
        permits,
        purposes,
        errors,
    })
}

const NEW: &str = "/setup/types/new";

/// `spec` as the store keeps it (its texts trimmed), for the audit entry written with the
/// change: one the store refuses is never written, nor is its entry.
fn as_stored(spec: &ConsentTypeSpec) -> ConsentTypeSpec {
    spec.clone().validate().unwrap_or_else(|_| spec.clone())
}

/// `GET /setup/types/new`: an empty form.
pub async fn new(Admin(staff): Admin) -> Result<Response, PageError> {
    form_page(
        &staff,
        NEW.to_owned(),
        true,
        false,
        TypeValues {
            purpose: Purpose::default().code().to_owned(),
            ..TypeValues::default()
        },
        Errors::default(),
    )
}

/// `POST /setup/types/new`: creates the type; a refused value (a duplicate code, a title too
/// long…) shows the form again with a message at the field.
pub async fn create(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let values = TypeValues::posted(&fields);
    let errors = match values.spec(staff.tr) {
        Ok(spec) => {
            // The store names the type it creates as the entry's target.
            let detail = json!({ "after": as_stored(&spec) });
            let created = staff
                .audited_result(
                    &state.app,
                    "consent_type.create",
                    None,
                    detail,
                    state.store.create_consent_type(spec),
                )
                .await?;
            match created {
                Ok(_) => return Ok(see_other("/setup/types?done=setup-type-created")),
                Err(e) => refused(e, EXPLAINED, staff.tr)?,
            }
        }
        Err(errors) => errors,
    };
    again(form_page(
        &staff,
        NEW.to_owned(),
        true,
        false,
        values,
        errors,
    ))
}

/// `GET /setup/types/{code}`: the type's form.
pub async fn edit(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let t = state.store.consent_type(&code).await?;
    let code = t.spec.code.as_str();
    let fixed = state.store.consent_type_in_use(code).await?;
    form_page(
        &staff,
        format!("/setup/types/{code}"),
        false,
        fixed,
        TypeValues::of(&t.spec),
        Errors::default(),
    )
}

/// `POST /setup/types/{code}`: changes the type. A new validity applies to consents given from
/// now on; those already given keep theirs (the ledger records it with each).
pub async fn update(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let current = state.store.consent_type(&code).await?;
    let code = current.spec.code.as_str().to_owned();
    let values = TypeValues::posted(&fields);
    let errors = match values.spec(staff.tr) {
        Err(errors) => errors,
        Ok(spec) => match staff
            .audited_result(
                &state.app,
                "consent_type.update",
                Some(("consent_type", current.id.0.to_string())),
                json!({ "before": current.spec, "after": as_stored(&spec) }),
                state.store.update_consent_type(&code, spec),
            )
            .await?
        {
            Ok(_) => return Ok(see_other("/setup/types?done=setup-type-saved")),
            Err(StoreError::Conflict {
                field: "purpose", ..
            }) => Errors::one("purpose", staff.tr.t("setup-type-purpose-fixed")),
            Err(e) => {
                // A new code for a type the ledger cites is refused: say so, rather than "taken".
                let code_refused = matches!(e, StoreError::Conflict { field: "code", .. });
                if code_refused && state.store.consent_type_in_use(&code).await? {
                    Errors::one("code", staff.tr.t("setup-type-code-fixed"))
                } else {
                    refused(e, EXPLAINED, staff.tr)?
                }
            }
        },
    };
    let fixed = state.store.consent_type_in_use(&code).await?;
    again(form_page(
        &staff,
        format!("/setup/types/{code}"),
        false,
        fixed,
        values,
        errors,
    ))
}
