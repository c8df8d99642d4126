//! Running a parsed command line: opening the store, dispatching to the module of each command
//! group, and the pieces every command shares: how a contact reference and a date are read from
//! the command line, and how an error becomes the one line printed on stderr.

use std::io::Write;
use std::sync::Arc;

pub use consento_app::contacts::parse_ref;
pub use consento_app::error::{describe_chain, describe_store};
use consento_app::{App, AppError, NoHooks};
use consento_domain::Timestamp;
use consento_store::{Store, StoreError};

use crate::cli::{Cli, Command};
use consento_app::accounts::FirstAdmin;

mod audience;
mod backup;
pub mod bench;
mod consents;
mod contacts;
mod decide;
pub mod demo;
mod erasure;
mod import;
mod keys;
mod ledger;
mod links;
mod notices;
pub(crate) mod output;
mod reasons;
mod receipts;
mod requests;
mod rpo;
pub(crate) mod rules;
mod settings;
mod tokens;
mod types;
mod users;

/// `consento serve`: the configuration from defaults, file, environment and command line; logs
/// installed; serving until a signal.
async fn serve(
    database_url: &Option<String>,
    pg_schema: Option<String>,
    args: crate::cli::ServeArgs,
) -> anyhow::Result<()> {
    let config = crate::config::ServeConfig::load(
        args.config.as_deref(),
        std::env::vars(),
        crate::config::Overrides {
            listen: args.listen,
            database_url: database_url.clone(),
            pg_schema,
        },
    )
    .map_err(anyhow::Error::msg)?;
    crate::telemetry::init(config.log_format, &config.log_level).map_err(anyhow::Error::msg)?;
    let store = crate::serve::open_store(&config).await?;
    // A new installation has no token and so no way in: the first start makes an admin token
    // and shows it once (only its hash is kept), as `consento tokens create` would.
    let initial = if store.tokens().await?.is_empty() {
        let (_, secret) = store
            .create_token("initial-admin", &["admin".to_owned()], None, None)
            .await?;
        Some(secret)
    } else {
        None
    };
    // Likewise the console: the first start makes an administrator, with the password of
    // CONSENTO_ADMIN_PASSWORD, or else a one-time password shown once and replaced at first login.
    let admin =
        consento_app::accounts::first_admin(&store, std::env::var("CONSENTO_ADMIN_PASSWORD").ok())
            .await
            .map_err(|e| anyhow::anyhow!("first administrator: {e}"))?;
    crate::serve::run(config, Arc::new(store), crate::serve::signal(), |addr| {
        // The first line on stdout: scripts and tests read the address (port 0 picks one). A
        // reader that went away after it (a closed pipe) must not stop the server: write errors
        // are ignored, where `println!` would panic.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        if let Some(secret) = initial {
            let _ = writeln!(
                out,
                "no API token existed: created an admin token, shown this once:\n\n    {secret}\n\ncreate narrower ones with `consento tokens create --scope …`"
            );
        }
        match admin {
            Some(FirstAdmin::Generated { username, password }) => {
                let _ = writeln!(
                    out,
                    "no console account existed: created the administrator `{username}` with this one-time password, shown once:\n\n    {password}\n\nsign in at http://{addr}/login and choose your own"
                );
            }
            Some(FirstAdmin::FromEnvironment { username }) => {
                let _ = writeln!(
                    out,
                    "no console account existed: created the administrator `{username}` with the password of CONSENTO_ADMIN_PASSWORD"
                );
            }
            None => {}
        }
        let _ = out.flush();
    })
    .await
}

/// The server's configuration, as `consento serve` would load it (file from `CONSENTO_CONFIG`,
/// then the environment).
pub fn server_config() -> anyhow::Result<crate::config::ServeConfig> {
    let file = std::env::var_os("CONSENTO_CONFIG").map(std::path::PathBuf::from);
    crate::config::ServeConfig::load(file.as_deref(), std::env::vars(), Default::default())
        .map_err(anyhow::Error::msg)
}

/// What every command gets: the application, the open store, the global options, and standard
/// output.
pub struct Ctx<'a> {
    /// The use cases, with the server's policies.
    pub app: App,
    /// The open store.
    pub store: Arc<Store>,
    /// `--json`: machine output.
    pub json: bool,
    /// `--operator`: the actor of operator actions.
    pub operator: String,
    /// `--database-url`, as given.
    pub database_url: String,
    /// Standard output (buffered; flushed by `main`).
    pub out: &'a mut dyn Write,
}

impl Ctx<'_> {
    /// Who the audit trail names for this command's changes: the command line, with its
    /// `--operator`.
    pub fn by(&self) -> consento_app::audit::By {
        consento_app::audit::By::command_line(&self.operator)
    }

    /// Runs `write` (calls of the store's write methods) with this command's entry for `action`
    /// in the audit trail, written in the same transaction as the change (none when it changes
    /// nothing); a change whose entry cannot be written is rolled back. `target` is a record's
    /// kind and id (`None` for a create: the store names what it made), `detail` what changes.
    pub async fn audited<T>(
        &self,
        action: &str,
        target: Option<(&str, String)>,
        detail: serde_json::Value,
        write: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, AppError> {
        self.app
            .audited(&self.by(), action, target, detail, write)
            .await
    }

    /// As [`Ctx::audited`], for a use case of the app (whose error is the app's): its store
    /// writes carry the entry, and its own error is returned as it is.
    pub async fn audited_use_case<T>(
        &self,
        action: &str,
        target: Option<(&str, String)>,
        detail: serde_json::Value,
        use_case: impl std::future::Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        self.app
            .audited(&self.by(), action, target, detail, async {
                Ok(use_case.await)
            })
            .await
            .and_then(|done| done)
    }
}

/// Runs one command line to completion, writing results to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    // Every command prints through it: stored text never drives the terminal.
    let mut escaping = output::Escaping::new(out);
    let out: &mut dyn Write = &mut escaping;
    match cli.command {
        Command::Serve(args) => return serve(&cli.database_url, cli.pg_schema, args).await,
        Command::BenchBaseline { listen } => return crate::serve::baseline(listen).await,
        Command::Openapi => {
            serde_json::to_writer_pretty(&mut *out, &crate::openapi())?;
            writeln!(out)?;
            return Ok(());
        }
        _ => {}
    }
    let database_url = cli
        .database_url
        .clone()
        .unwrap_or_else(|| crate::cli::DEFAULT_DATABASE_URL.to_owned());
    if matches!(
        cli.command,
        Command::Backup { .. } | Command::Restore { .. }
    ) {
        backup::sqlite_file(&database_url)?;
    }
    // The policies (erasure, retention, controller, holidays…) are the server's: the same
    // configuration `consento serve` reads (`CONSENTO_CONFIG`, then `CONSENTO_…` variables).
    let server = server_config()?;
    let policy = server.policy();
    let mut config = crate::serve::store_config(&server, &database_url)?;
    config.pg_schema = cli.pg_schema.clone();
    // A command asks about few contacts, if any: filling the cache with a million would cost
    // it seconds and a gigabyte for nothing.
    config.fill_decision_cache = false;
    match &cli.command {
        // Both work on the database file itself, not through an open store (a restore
        // replaces the file, which must not be open).
        Command::Backup { to } => {
            return backup::backup(&database_url, config.master_key.clone(), to, cli.json, out)
                .await;
        }
        Command::Restore { from } => {
            return backup::restore(
                &database_url,
                config.master_key.clone(),
                from,
                cli.json,
                out,
            )
            .await;
        }
        _ => {}
    }
    if matches!(
        cli.command,
        Command::Keys(crate::cli::KeysCommand::Reset { .. })
    ) {
        config.other_master_key = consento_store::OtherMasterKey::OpenForReset;
    }
    let store = crate::serve::open_with(&config, &server, &database_url).await?;
    let store = Arc::new(store);
    let mut ctx = Ctx {
        app: App::new(Arc::clone(&store), policy, Arc::new(NoHooks)),
        store,
        json: cli.json,
        operator: cli.operator_name(),
        database_url,
        out,
    };
    let result = dispatch(&mut ctx, cli.command).await;
    // Close the pools cleanly (connections finished, not cut off at exit), whether the command
    // succeeded or not.
    ctx.store.close().await;
    result
}

async fn dispatch(ctx: &mut Ctx<'_>, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init(args) => settings::init(ctx, args).await,
        Command::Controller(c) => settings::controller(ctx, c).await,
        Command::Serve(_)
        | Command::Openapi
        | Command::BenchBaseline { .. }
        | Command::Backup { .. }
        | Command::Restore { .. } => Ok(()),
        Command::Tokens(c) => tokens::run(ctx, c).await,
        Command::Users(c) => users::run(ctx, c).await,
        Command::Demo(args) => demo::command(ctx, args).await,
        Command::Settings(c) => settings::run(ctx, c).await,
        Command::Types(c) => types::run(ctx, c).await,
        Command::Reasons(c) => reasons::run(ctx, c).await,
        Command::Notices(c) => notices::run(ctx, c).await,
        Command::Contacts(c) => contacts::run(ctx, c).await,
        Command::Consents(c) => consents::run(ctx, c).await,
        Command::Decide(args) => decide::decide(ctx, args).await,
        Command::Justify(args) => decide::justify(ctx, args).await,
        Command::Audience(args) => audience::run(ctx, args).await,
        Command::Ledger(c) => ledger::run(ctx, c).await,
        Command::Links(c) => links::run(ctx, c).await,
        Command::Keys(c) => keys::run(ctx, c).await,
        Command::Rpo(c) => rpo::run(ctx, c).await,
        Command::Receipts(c) => receipts::run(ctx, c).await,
        Command::Requests(c) => requests::run(ctx, c).await,
        Command::Retention(c) => erasure::retention(ctx, c).await,
        Command::Rules(c) => rules::run(ctx, c).await,
        Command::Bench(args) => bench::command(ctx, args).await,
        Command::BenchExport { events } => bench::export(ctx, events).await,
        Command::BenchAudience { rounds } => bench::audience(ctx, rounds).await,
        Command::Import(args) => import::run(ctx, args).await,
        Command::BenchImport { rows, consents } => import::bench(ctx, rows, consents).await,
    }
}

/// Reads an optional instant typed as `YYYY-MM-DD` (the start of that local day in the office's
/// zone) or RFC 3339 (as given); `field` names the flag in errors.
pub fn parse_time(
    zone: &consento_domain::Zone,
    field: &'static str,
    text: Option<&str>,
) -> anyhow::Result<Option<Timestamp>> {
    Ok(text.map(|t| zone.parse_instant(field, t)).transpose()?)
}

/// The one line printed after `error: `: store errors in plain words (a database failure without
/// its internals), context first, never spanning lines.
pub fn describe(err: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in err.chain() {
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            parts.push(describe_store(store));
            break;
        }
        if let Some(app) = cause.downcast_ref::<AppError>() {
            parts.push(match app {
                AppError::Store(store) => describe_store(store),
                other => other.to_string(),
            });
            break;
        }
        parts.push(cause.to_string());
    }
    parts.join(": ").replace(['\n', '\r'], " ")
}

/// The database URL without a password, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Whether the error is a closed standard output (the reader of a pipe went away): not worth
/// an error message.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<csv::Error>().is_some_and(|e| {
                matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_not_shown() {
        assert_eq!(
            redact("postgres://app:secret@db.example.it/consento"),
            "postgres://app@db.example.it/consento"
        );
        assert_eq!(redact("sqlite:consento.db"), "sqlite:consento.db");
    }
}
