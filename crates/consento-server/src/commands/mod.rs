//! Running a parsed command line: opening the store, dispatching to the module of each command
//! group, and the pieces every command shares: how a contact reference and a date are read from
//! the command line, and how an error becomes the one line printed on stderr.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context as _;
use consento_domain::ledger::{Break, ChainError};
use consento_domain::{ContactId, Timestamp};
use consento_store::{ContactRef, OsEntropy, Store, StoreConfig, StoreError, SystemClock};

use crate::cli::{Cli, Command};
use crate::web::accounts::FirstAdmin;

mod audience;
mod consents;
mod contacts;
mod decide;
mod erasure;
mod import;
mod ledger;
mod links;
mod notices;
pub(crate) mod output;
mod reasons;
mod receipts;
mod requests;
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
            .create_token("initial-admin", &["admin".to_owned()], None)
            .await?;
        Some(secret)
    } else {
        None
    };
    // Likewise the console: the first start makes an administrator, with the password of
    // CONSENTO_ADMIN_PASSWORD, or else a one-time password shown once and replaced at first login.
    let admin =
        crate::web::accounts::first_admin(&store, std::env::var("CONSENTO_ADMIN_PASSWORD").ok())
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

/// What every command gets: the open store, the global options, and standard output.
pub struct Ctx<'a> {
    /// The open store.
    pub store: Store,
    /// `--json`: machine output.
    pub json: bool,
    /// `--operator`: the actor of operator actions.
    pub operator: String,
    /// `--database-url`, as given.
    pub database_url: String,
    /// Standard output (buffered; flushed by `main`).
    pub out: &'a mut dyn Write,
}

/// Runs one command line to completion, writing results to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => return serve(&cli.database_url, cli.pg_schema, args).await,
        Command::BenchBaseline { listen } => return crate::serve::baseline(listen).await,
        Command::Openapi => {
            serde_json::to_writer_pretty(&mut *out, &crate::api::openapi())?;
            writeln!(out)?;
            return Ok(());
        }
        _ => {}
    }
    let database_url = cli
        .database_url
        .clone()
        .unwrap_or_else(|| crate::cli::DEFAULT_DATABASE_URL.to_owned());
    let mut config = StoreConfig::new(database_url.clone());
    config.pg_schema = cli.pg_schema.clone();
    let store = Store::open(&config, Arc::new(SystemClock), Arc::new(OsEntropy))
        .await
        .with_context(|| format!("cannot open the database {}", redact(&database_url)))?;
    let mut ctx = Ctx {
        store,
        json: cli.json,
        operator: cli.operator,
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
        Command::Init => settings::init(ctx).await,
        Command::Serve(_) | Command::Openapi | Command::BenchBaseline { .. } => Ok(()),
        Command::Tokens(c) => tokens::run(ctx, c).await,
        Command::Users(c) => users::run(ctx, c).await,
        Command::Demo(args) => crate::demo::command(ctx, args).await,
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
        Command::Receipts(c) => receipts::run(ctx, c).await,
        Command::Requests(c) => requests::run(ctx, c).await,
        Command::Retention(c) => erasure::retention(ctx, c).await,
        Command::Rules(c) => rules::run(ctx, c).await,
        Command::Bench(args) => crate::bench::command(ctx, args).await,
        Command::BenchExport { events } => crate::export::bench(ctx, events).await,
        Command::Import(args) => import::run(ctx, args).await,
        Command::BenchImport { rows, consents } => import::bench(ctx, rows, consents).await,
    }
}

/// Reads a contact reference: a UUID is our id, text with `@` an email address, `ext:…` the CRM's
/// id, something that looks like a phone number a phone, and anything else the CRM's id.
pub fn parse_ref(text: &str) -> ContactRef {
    let t = text.trim();
    if let Ok(id) = uuid::Uuid::parse_str(t) {
        ContactRef::Id(ContactId(id))
    } else if t.contains('@') {
        ContactRef::Email(t.to_owned())
    } else if let Some(ext) = t.strip_prefix("ext:") {
        ContactRef::External(ext.trim().to_owned())
    } else if looks_like_phone(t) {
        ContactRef::Phone(t.to_owned())
    } else {
        ContactRef::External(t.to_owned())
    }
}

/// Digits with the usual separators and at least six digits: shorter numbers are more likely a
/// CRM's numeric id than a phone number.
fn looks_like_phone(t: &str) -> bool {
    let digits = t.chars().filter(char::is_ascii_digit).count();
    digits >= 6
        && t.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || " -.()/".contains(c) || (c == '+' && i == 0))
}

/// Reads an optional instant typed as `YYYY-MM-DD` or RFC 3339; `field` names the flag in errors.
pub fn parse_time(field: &'static str, text: Option<&str>) -> anyhow::Result<Option<Timestamp>> {
    Ok(text.map(|t| Timestamp::parse(field, t)).transpose()?)
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
        parts.push(cause.to_string());
    }
    parts.join(": ").replace(['\n', '\r'], " ")
}

fn describe_store(err: &StoreError) -> String {
    match err {
        StoreError::Chain(c) => describe_chain(c),
        // The database's own message can hold SQL, paths or connection details: none of that
        // is for the person at the terminal.
        StoreError::Database(_) => {
            "database error: the operation could not be completed (is the database reachable and writable?)".into()
        }
        other => other.to_string(),
    }
}

/// `ledger broken at event <seq> (<id>): <problem>`.
pub fn describe_chain(c: &ChainError) -> String {
    let id =
        c.id.map_or_else(|| "no event".to_owned(), |id| id.to_string());
    let problem = match c.problem {
        Break::ContentAltered => "the stored hash does not match its content (altered)",
        Break::ChainBroken => {
            "it does not point at the hash of the event before it (an event was removed, inserted or moved)"
        }
        Break::SequenceGap => {
            "the sequence skips or repeats a number (an event was removed or inserted)"
        }
        Break::Truncated => {
            "the ledger ends before its recorded head (events at the end were removed)"
        }
        Break::BeyondHead => {
            "the ledger goes on past its recorded head (events were appended around Consento)"
        }
    };
    format!("ledger broken at event {} ({id}): {problem}", c.seq)
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
    fn references_are_read_by_their_shape() {
        let id = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        assert!(matches!(parse_ref(id), ContactRef::Id(_)));
        assert_eq!(
            parse_ref("Mario@Example.it"),
            ContactRef::Email("Mario@Example.it".into())
        );
        assert_eq!(
            parse_ref("ext:12345678"),
            ContactRef::External("12345678".into())
        );
        assert_eq!(
            parse_ref("+39 333 123 4567"),
            ContactRef::Phone("+39 333 123 4567".into())
        );
        assert_eq!(parse_ref("CRM-42"), ContactRef::External("CRM-42".into()));
        assert_eq!(parse_ref("4242"), ContactRef::External("4242".into()));
    }

    #[test]
    fn a_password_in_the_url_is_not_shown() {
        assert_eq!(
            redact("postgres://app:secret@db.example.it/consento"),
            "postgres://app@db.example.it/consento"
        );
        assert_eq!(redact("sqlite:consento.db"), "sqlite:consento.db");
    }
}
