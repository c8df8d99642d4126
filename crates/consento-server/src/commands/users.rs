//! `consento users create|list|reset-password`: console accounts from the command line (the way
//! in when nobody can sign in).

use std::io::BufRead;

use consento_domain::{Password, Role, Username};
use serde_json::json;

use super::Ctx;
use super::output::{Table, day, json, or_dash};
use crate::cli::UsersCommand;
use consento_app::accounts;

/// `consento users …`.
pub async fn run(ctx: &mut Ctx<'_>, command: UsersCommand) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    match command {
        UsersCommand::Create {
            username,
            role,
            display_name,
            password_stdin,
        } => {
            let username = Username::parse(&username)?;
            let role = Role::parse(&role)?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                let line = line.trim_end_matches(['\r', '\n']);
                (Password::new(line, &username)?, false)
            } else {
                (accounts::one_time_password(&ctx.store, &username)?, true)
            };
            // The role, never the username or the display name (the account is the target).
            let detail = json!({ "role": role.to_string(), "must_change_password": generated });
            let user = ctx
                .audited_use_case(
                    "user.create",
                    None,
                    detail,
                    accounts::create(
                        &ctx.store,
                        username,
                        &display_name,
                        role,
                        &password,
                        generated,
                    ),
                )
                .await?;
            if ctx.json {
                #[derive(serde::Serialize)]
                struct Created<'a> {
                    #[serde(flatten)]
                    user: &'a consento_store::User,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    one_time_password: Option<&'a str>,
                }
                return json(
                    ctx.out,
                    &Created {
                        user: &user,
                        one_time_password: generated.then_some(password.expose()),
                    },
                );
            }
            writeln!(ctx.out, "created {} ({})", user.username, user.role)?;
            if generated {
                writeln!(
                    ctx.out,
                    "\n    {}\n\nThis one-time password is shown once; the first login replaces it.",
                    password.expose()
                )?;
            }
            Ok(())
        }
        UsersCommand::List => {
            let users = ctx.store.users().await?;
            if ctx.json {
                return json(ctx.out, &users);
            }
            let mut table = Table::new(&[
                "username",
                "name",
                "role",
                "created",
                "locked until",
                "disabled",
            ]);
            for u in &users {
                table.row(vec![
                    u.username.clone(),
                    u.display_name.clone(),
                    u.role.to_string(),
                    day(&zone, u.created_at),
                    or_dash(u.locked_until.map(|t| day(&zone, t))),
                    or_dash(u.disabled_at.map(|t| day(&zone, t))),
                ]);
            }
            table.write(ctx.out, 0)
        }
        UsersCommand::ResetPassword { username } => {
            let username = Username::parse(&username)?;
            let (user, _) = ctx
                .store
                .user_for_login(&username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("username: no account {username}"))?;
            let password = ctx
                .audited_use_case(
                    "user.password_reset",
                    Some(("user", user.id.to_string())),
                    json!({}),
                    accounts::reset_password(&ctx.store, &user),
                )
                .await?;
            writeln!(
                ctx.out,
                "new one-time password for {username}, shown once:\n\n    {}\n\nIts sessions were ended; the next login replaces it.",
                password.expose()
            )?;
            Ok(())
        }
    }
}
