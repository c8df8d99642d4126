//! `/setup/users`: the console's accounts. An administrator creates one (username, display name,
//! role) and gets a generated one-time password, shown on that page only and never stored in
//! clear: the person must replace it at their first sign-in. An administrator changes an
//! account's role or display name, disables it (its sessions end at once), or resets its password
//! to a new one-time one. An administrator cannot demote or disable themself, so the console
//! always keeps someone who can set it up; nor reset their own password here (that is "My
//! account", which asks for the current one).

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use consento_domain::{Permission, Role, Username};
use consento_store::User;
use serde::Deserialize;
use serde_json::json;

use super::{Admin, DoneQuery, Errors, Tabs, again};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::web::page::{Page, PageError, render, role_name, see_other};
use crate::web::session::Staff;
use consento_app::accounts;

/// An account as the list shows it.
pub struct UserRow {
    /// Its id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role, in words.
    pub role: String,
    /// Created, as a date.
    pub created: String,
    /// "Locked until …" (after failed logins), if it is now.
    pub locked_until: Option<String>,
    /// "Disabled since …", if it is.
    pub disabled_since: Option<String>,
    /// Whether it still has a one-time password to replace.
    pub must_change_password: bool,
}

fn row(tr: Tr, now: consento_domain::Timestamp, u: User) -> UserRow {
    UserRow {
        id: u.id.to_string(),
        role: role_name(tr, u.role),
        created: tr.date_short(u.created_at),
        locked_until: u
            .locked_until
            .filter(|until| *until > now)
            .map(|until| tr.with("setup-user-locked-until", "when", &tr.datetime(until))),
        disabled_since: u
            .disabled_at
            .map(|at| tr.with("setup-user-disabled-since", "date", &tr.date_short(at))),
        must_change_password: u.must_change_password,
        username: u.username,
        display_name: u.display_name,
    }
}

/// The roles a select offers: (code, name, whether selected).
fn roles(tr: Tr, selected: &str) -> Vec<(&'static str, String, bool)> {
    Role::ALL
        .iter()
        .map(|r| (r.code(), role_name(tr, *r), r.code() == selected))
        .collect()
}

/// The new-account form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "setup_users.html")]
struct UsersPage {
    page: Page,
    tabs: Tabs,
    users: Vec<UserRow>,
    values: NewUserForm,
    roles: Vec<(&'static str, String, bool)>,
    errors: Errors,
}

async fn users_page(
    state: &AppState,
    staff: &Staff,
    page: Page,
    values: NewUserForm,
    errors: Errors,
) -> Result<Response, PageError> {
    let now = state.store.now();
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| row(staff.tr, now, u))
        .collect();
    render(&UsersPage {
        page,
        tabs: Tabs::at("users"),
        users,
        roles: roles(staff.tr, &values.role),
        values,
        errors,
    })
}

/// `GET /setup/users`: every account and the form for a new one.
pub async fn list(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let values = NewUserForm {
        // The least privilege that still works contacts is the likeliest new account.
        role: Role::Operator.code().to_owned(),
        ..NewUserForm::default()
    };
    let page = staff.page("setup").done(q.done.as_deref());
    users_page(&state, &staff, page, values, Errors::default()).await
}

#[derive(Template)]
#[template(path = "setup_user_password.html")]
struct OneTimePage {
    page: Page,
    tabs: Tabs,
    /// The message key of the heading: a new account, or a reset.
    heading: &'static str,
    username: String,
    password: String,
}

fn one_time_page(
    staff: &Staff,
    heading: &'static str,
    username: String,
    password: String,
) -> Result<Response, PageError> {
    // The page is never cached (the frame sends `no-store` on every page), so the password is
    // on screen once and nowhere else.
    render(&OneTimePage {
        page: staff.page("setup"),
        tabs: Tabs::at("users"),
        heading,
        username,
        password,
    })
}

/// `POST /setup/users`: creates the account with a one-time password and shows it, once.
pub async fn create(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Form(form): Form<NewUserForm>,
) -> Result<Response, PageError> {
    let tr = staff.tr;
    let mut errors = Errors::default();
    let username = Username::parse(&form.username)
        .map_err(|_| errors.add("username", tr.t("setup-user-invalid-username")))
        .ok();
    let role = Role::parse(&form.role)
        .map_err(|_| errors.add("role", tr.t("setup-user-invalid-role")))
        .ok();
    if let (Some(username), Some(role)) = (username, role) {
        let password = accounts::one_time_password(&state.store, &username)?;
        // As the store keeps them (an empty display name is the username); the store names the
        // account it creates as the entry's target.
        let display_name = Some(form.display_name.trim())
            .filter(|d| !d.is_empty())
            .unwrap_or(username.as_str());
        let detail = json!({
            "username": username.as_str(),
            "display_name": display_name,
            "role": role,
        });
        let created = staff
            .audited_result(
                &state.app,
                "user.create",
                None,
                detail,
                accounts::create(
                    &state.store,
                    username,
                    &form.display_name,
                    role,
                    &password,
                    true,
                ),
            )
            .await?;
        match created {
            Ok(user) => {
                return one_time_page(
                    &staff,
                    "setup-user-created",
                    user.username,
                    password.expose().to_owned(),
                );
            }
            // The username was checked above: refused now, it is taken.
            Err(e) if e.field() == Some("username") => {
                errors.add("username", tr.t("setup-user-taken"));
            }
            Err(e) if e.field() == Some("display_name") => {
                errors.add("display_name", tr.t("setup-user-invalid-display-name"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    again(users_page(&state, &staff, staff.page("setup"), form, errors).await)
}

/// The account form's values as typed (or as stored).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    disabled: Option<String>,
}

#[derive(Template)]
#[template(path = "setup_user_form.html")]
struct UserFormPage {
    page: Page,
    tabs: Tabs,
    user: UserRow,
    /// Whether this is the signed-in administrator's own account.
    own: bool,
    display_name: String,
    disabled: bool,
    roles: Vec<(&'static str, String, bool)>,
    errors: Errors,
}

fn form_page(
    state: &AppState,
    staff: &Staff,
    user: User,
    values: UserForm,
    errors: Errors,
) -> Result<Response, PageError> {
    render(&UserFormPage {
        page: staff.page("setup"),
        tabs: Tabs::at("users"),
        own: user.id == staff.user.id,
        display_name: values.display_name,
        disabled: values.disabled.is_some(),
        roles: roles(staff.tr, &values.role),
        user: row(staff.tr, state.store.now(), user),
        errors,
    })
}

fn user_id(text: &str) -> Result<uuid::Uuid, PageError> {
    uuid::Uuid::parse_str(text.trim()).map_err(|_| PageError::NotFound)
}

fn stored_values(user: &User) -> UserForm {
    UserForm {
        display_name: user.display_name.clone(),
        role: user.role.code().to_owned(),
        disabled: user.disabled_at.map(|_| "on".to_owned()),
    }
}

/// `GET /setup/users/{id}`: the account's form.
pub async fn edit(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let user = state.store.user(user_id(&id)?).await?;
    let values = stored_values(&user);
    form_page(&state, &staff, user, values, Errors::default())
}

/// `POST /setup/users/{id}`: changes the role or display name, or disables the account (ending
/// its sessions) or enables it again.
pub async fn update(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<String>,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let before = state.store.user(user_id(&id)?).await?;
    let tr = staff.tr;
    let disabled = form.disabled.is_some();
    let mut errors = Errors::default();
    let role = Role::parse(&form.role)
        .map_err(|_| errors.add("role", tr.t("setup-user-invalid-role")))
        .ok();
    if before.id == staff.user.id {
        // Someone must be left who can set the console up, and it is the one acting now.
        if role.is_some_and(|r| !r.can(Permission::Setup)) {
            errors.add("role", tr.t("setup-user-self-demote"));
        }
        if disabled {
            errors.add("disabled", tr.t("setup-user-self-disable"));
        }
    }
    if let (Some(role), true) = (role, errors.is_empty()) {
        let before_summary = json!({
            "role": before.role,
            "display_name": before.display_name,
            "disabled": before.disabled_at.is_some(),
        });
        let after_summary = json!({
            "role": role,
            "display_name": form.display_name.trim(),
            "disabled": disabled,
        });
        match staff
            .audited_result(
                &state.app,
                "user.update",
                Some(("user", before.id.to_string())),
                json!({ "before": before_summary, "after": after_summary }),
                state
                    .store
                    .update_user(before.id, role, &form.display_name, disabled),
            )
            .await?
        {
            Ok(_) => return Ok(see_other("/setup/users?done=setup-user-saved")),
            Err(consento_store::StoreError::Invalid(e)) if e.field() == "display_name" => {
                errors.add("display_name", tr.t("setup-user-invalid-display-name"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    again(form_page(&state, &staff, before, form, errors))
}

/// `POST /setup/users/{id}/password`: a new one-time password for the account, shown once; its
/// sessions end, and its next sign-in must replace the password.
pub async fn reset_password(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let user = state.store.user(user_id(&id)?).await?;
    if user.id == staff.user.id {
        let values = stored_values(&user);
        let errors = Errors::one("password", staff.tr.t("setup-user-self-reset"));
        return again(form_page(&state, &staff, user, values, errors));
    }
    let password = staff
        .audited_result(
            &state.app,
            "user.password_reset",
            Some(("user", user.id.to_string())),
            json!({}),
            accounts::reset_password(&state.store, &user),
        )
        .await??;
    one_time_page(
        &staff,
        "setup-user-reset-done",
        user.username,
        password.expose().to_owned(),
    )
}
