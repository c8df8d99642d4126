//! `consento tokens create|list|revoke`: API tokens for integrations. The secret is printed
//! once, at creation; only its hash is kept.

use consento_store::{ApiToken, StoreError};
use serde_json::json;

use super::Ctx;
use super::output::{Table, day, json, or_dash};
use crate::cli::TokensCommand;
use consento_app::tokens::Scope;

/// `consento tokens …`.
pub async fn run(ctx: &mut Ctx<'_>, command: TokensCommand) -> anyhow::Result<()> {
    match command {
        TokensCommand::Create {
            name,
            scopes,
            expires_days,
            relay_action,
        } => create(ctx, &name, &scopes, expires_days, relay_action.as_deref()).await,
        TokensCommand::List => list(ctx).await,
        TokensCommand::Revoke { id } => {
            let id = uuid::Uuid::parse_str(id.trim())
                .map_err(|_| anyhow::anyhow!("id: not a token id"))?;
            // An unknown id is refused before the change: the trail has no revocation of a
            // token that never was.
            if !ctx.store.tokens().await?.iter().any(|t| t.id == id) {
                return Err(StoreError::NotFound { entity: "token" }.into());
            }
            let token = ctx
                .audited(
                    "token.revoke",
                    Some(("token", id.to_string())),
                    json!({}),
                    ctx.store.revoke_token(id),
                )
                .await?;
            if ctx.json {
                return json(ctx.out, &token);
            }
            writeln!(ctx.out, "revoked token {} ({})", token.id, token.name)?;
            Ok(())
        }
    }
}

async fn create(
    ctx: &mut Ctx<'_>,
    name: &str,
    scopes: &[String],
    expires_days: Option<u32>,
    relay_action: Option<&str>,
) -> anyhow::Result<()> {
    let mut parsed: Vec<String> = Vec::new();
    for s in scopes {
        let s = s.trim();
        let scope = Scope::parse(s).ok_or_else(|| {
            anyhow::anyhow!("scope: {s:?} is not one of admin, write, read, decide, relay")
        })?;
        if !parsed.iter().any(|p| p == scope.as_str()) {
            parsed.push(scope.as_str().to_owned());
        }
    }
    let relay_action = match relay_action.map(str::trim) {
        None => None,
        Some(_) if !parsed.iter().any(|p| p == Scope::Relay.as_str()) => {
            anyhow::bail!("relay_action: only a token with the relay scope has one")
        }
        Some(a) => match consento_domain::Action::parse(a) {
            Ok(
                action
                @ (consento_domain::Action::EmailSingle | consento_domain::Action::EmailBulk),
            ) => Some(action),
            _ => anyhow::bail!("relay_action: {a:?} is not email.single or email.bulk"),
        },
    };
    let expires_at = match expires_days {
        Some(0) => anyhow::bail!("expires_days: must be at least 1"),
        Some(days) => Some(ctx.store.now().plus_days(days)),
        None => None,
    };
    // The token's scopes and expiry; never its secret (nor its name, which may name a person).
    let detail = json!({
        "scopes": parsed,
        "expires_at": expires_at,
        "relay_action": relay_action.map(consento_domain::Action::code),
    });
    let (token, secret) = ctx
        .audited(
            "token.create",
            None,
            detail,
            ctx.store
                .create_token(name, &parsed, expires_at, relay_action),
        )
        .await?;
    if ctx.json {
        #[derive(serde::Serialize)]
        struct Created<'a> {
            #[serde(flatten)]
            token: &'a ApiToken,
            secret: &'a str,
        }
        return json(
            ctx.out,
            &Created {
                token: &token,
                secret: &secret,
            },
        );
    }
    let relay = token
        .relay_action
        .map(|a| format!(", relaying as {} by default", a.code()))
        .unwrap_or_default();
    writeln!(
        ctx.out,
        "created token {} ({}) with scopes {}{relay}\n\n    {secret}\n\nThis is the only time the token is shown: store it now.",
        token.id,
        token.name,
        token.scopes.join(", ")
    )?;
    Ok(())
}

async fn list(ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let zone = ctx.app.zone().clone();
    let tokens = ctx.store.tokens().await?;
    if ctx.json {
        return json(ctx.out, &tokens);
    }
    if tokens.is_empty() {
        writeln!(
            ctx.out,
            "no tokens yet: create one with `consento tokens create`"
        )?;
        return Ok(());
    }
    let mut t = Table::new(&["ID", "NAME", "SCOPES", "CREATED", "EXPIRES", "REVOKED"]);
    for k in &tokens {
        t.row(vec![
            k.id.to_string(),
            k.name.clone(),
            k.scopes.join(","),
            day(&zone, k.created_at),
            or_dash(k.expires_at.map(|t| day(&zone, t))),
            or_dash(k.revoked_at.map(|t| day(&zone, t))),
        ]);
    }
    t.write(ctx.out, 0)
}
