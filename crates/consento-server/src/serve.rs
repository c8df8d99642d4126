//! `consento serve`: opens the store, builds the router (API, OpenAPI document, metrics), listens
//! (connections held to the `[http]` limits, see [`crate::connections`]), starts the policy
//! service for Postfix when `[postfix_policy] listen` is set and, with `[relay] listen`, takes SMTP
//! submission ([`crate::relay`]); on SIGTERM or Ctrl-C stops taking connections, lets in-flight
//! requests finish (up to the configured grace), stops the background workers cleanly, and closes
//! the database.

use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router, middleware};
use consento_store::{OsEntropy, Store, StoreConfig, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api;
use crate::api::error::ApiError;
use crate::config::ServeConfig;
use crate::state::{AppState, Shared};

/// Where the OpenAPI document is served: public, like any API's documentation; it holds no data.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// Builds the application: every route, the body limit, request tracking.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api::routes();
    // Rendered once: the document does not change while the process runs.
    let doc = serde_json::to_string(&doc).unwrap_or_default();
    let metrics = Arc::clone(&state.metrics);
    let serve_openapi = axum::routing::get(move || {
        let doc = doc.clone();
        async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                doc,
            )
        }
    });
    let console = crate::web::routes(&state);
    let public = crate::web::public::routes(&state);
    api.route(OPENAPI_PATH, serve_openapi)
        .merge(console)
        .merge(public)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
        .layer(middleware::from_fn_with_state(
            metrics,
            crate::telemetry::track,
        ))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> impl IntoResponse {
    let mut problem =
        ApiError::bad_request("method", "this route does not take this method").problem();
    problem.status = StatusCode::METHOD_NOT_ALLOWED.as_u16();
    problem.title = "Method Not Allowed".to_owned();
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
        Json(problem),
    )
}

/// Opens the store the configuration names, with the master key from its place
/// (crate::keys).
pub async fn open_store(config: &ServeConfig) -> anyhow::Result<Store> {
    let mut store_config = store_config(config, &config.database_url)?;
    store_config.pg_schema = config.pg_schema.clone();
    store_config.sqlite_full_sync = config.sqlite_full_sync;
    store_config.max_connections = config.max_connections;
    store_config.decision_cache_entries = config.decision_cache_entries;
    open_with(&store_config, config, &config.database_url).await
}

/// A store configuration for `database_url` with the master key the configuration leads to
/// (made now in its key file on a first start).
pub fn store_config(config: &ServeConfig, database_url: &str) -> anyhow::Result<StoreConfig> {
    let (key, origin) = crate::keys::master_key(
        config,
        config.config_file.as_deref(),
        database_url,
        &|name| std::env::var(name).ok(),
        &OsEntropy,
    )
    .map_err(anyhow::Error::msg)?;
    if let crate::keys::KeyOrigin::File {
        created: true,
        path,
    } = &origin
    {
        tracing::info!(key_file = %path.display(), key_id = %key.id(), "made a new master key; back it up apart from the database");
    }
    let mut store_config = StoreConfig::new(database_url, key);
    store_config.sqlite_wal_limit = config.sqlite_wal_limit_mib.saturating_mul(1024 * 1024);
    Ok(store_config)
}

/// Opens `store_config`; a database sealed under another master key is refused in one line
/// naming where the key given came from.
pub async fn open_with(
    store_config: &StoreConfig,
    config: &ServeConfig,
    database_url: &str,
) -> anyhow::Result<Store> {
    match Store::open(store_config, Arc::new(SystemClock), Arc::new(OsEntropy)).await {
        Ok(store) => Ok(store),
        Err(consento_store::StoreError::MasterKeyMismatch { database, given }) => {
            let place = key_place(config, database_url);
            Err(anyhow::anyhow!(
                "the database's secrets are sealed under master key {database}, not under the key {given} of {place}: start with the key they were sealed under, or see `consento keys reset --lost-master-key`"
            ))
        }
        Err(e) => Err(anyhow::Error::new(e)).with_context(|| {
            format!(
                "cannot open the database {}",
                crate::commands::redact(database_url)
            )
        }),
    }
}

/// Where the master key in use comes from, in words.
pub fn key_place(config: &ServeConfig, database_url: &str) -> String {
    if std::env::var(crate::keys::ENV_VAR).is_ok_and(|v| !v.trim().is_empty()) {
        return format!("the variable {}", crate::keys::ENV_VAR);
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let path = std::path::Path::new(&dir).join(crate::keys::FILE_NAME);
        if path.is_file() {
            return format!("the systemd credential {}", path.display());
        }
    }
    let path = crate::keys::key_file(config, config.config_file.as_deref(), database_url);
    format!("the key file {}", path.display())
}

/// Serves until `shutdown` resolves, then drains. Calls `ready` with the bound address once
/// listening (port 0 in the configuration picks a free port).
pub async fn run(
    config: ServeConfig,
    store: Arc<Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let policy_listener = crate::policy::bind(&config.postfix_policy)
        .await
        .with_context(|| {
            format!(
                "cannot listen for Postfix's policy requests on {}",
                config
                    .postfix_policy
                    .listen
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            )
        })?;
    let addr = listener.local_addr()?;
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let exports = usize::try_from(config.max_connections / 2)
        .unwrap_or(1)
        .max(1);
    let metrics: Arc<crate::metrics::Metrics> = Arc::default();
    let policy = config.policy_at(addr);
    if config.public_base_url_derived() {
        // Links in emails and `List-Unsubscribe` headers must open for the people who get
        // them (RFC 8058 §3.1 wants an HTTPS URI): the listening address is right only for a
        // server they reach directly.
        tracing::warn!(
            base_url = %policy.public_base_url,
            "public.base_url is not set: unsubscribe, preference and confirmation links are built on the listening address; set public.base_url (CONSENTO_PUBLIC__BASE_URL) to the public HTTPS address people reach this server at, as it must be behind a proxy"
        );
    }
    // Both were checked when the configuration was loaded; a configuration built otherwise
    // (by a test) is checked here.
    let proxies =
        crate::client::TrustedProxies::parse(&config.trusted_proxies, config.proxy_header)
            .map_err(anyhow::Error::msg)?;
    let limits = crate::connections::Limits {
        header_read: config.http.header_read().map_err(anyhow::Error::msg)?,
        idle: config.http.idle().map_err(anyhow::Error::msg)?,
        max_connections: usize::try_from(config.http.max_connections).unwrap_or(usize::MAX),
    };
    let use_cases = consento_app::App::new(Arc::clone(&store), policy, metrics.clone());
    let state = AppState::new(Shared {
        app: use_cases,
        store: Arc::clone(&store),
        tokens: Arc::default(),
        metrics,
        config: Arc::new(config),
        exports: Arc::new(tokio::sync::Semaphore::new(exports)),
        console: Arc::default(),
        proxies,
    });
    // GDPR Art. 13(1)(a)–(b): who the controller is and how to reach it is owed to every
    // person; until it is given, documents fall back to a placeholder, and the operator is told.
    match state.app.controller().await {
        Ok(named) if !named.missing().is_empty() => {
            let missing: Vec<&str> = named.missing().iter().map(|f| f.code()).collect();
            tracing::warn!(
                missing = %missing.join(","),
                "the data controller's details are incomplete: give them on the console's first-run page (Setup > Controller) or with `consento init --controller-name …`"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the data controller's details"),
    }
    // A DKIM key that cannot sign, or that others may read, stops the start rather than every
    // copy (whoever reads the key signs as the domain, RFC 6376 §3.3).
    if let Some(dkim) = &state.config.relay.dkim {
        crate::relay::dkim::Signer::load(dkim).map_err(anyhow::Error::msg)?;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = crate::workers::spawn(&state, stop_rx.clone());
    // The dashboard's overview and the newsletters count from the audience index: built now,
    // beside the decision cache's fill, rather than by the first person who opens the console.
    let prepare = {
        let app = state.app.clone();
        tokio::spawn(async move {
            match app.prepare_audience().await {
                Ok(contacts) => tracing::info!(?contacts, "audience index ready"),
                Err(e) => tracing::warn!(error = %e, "audience index not built at start"),
            }
        })
    };
    match crate::relay::start(&state, stop_rx.clone()).await {
        Ok(Some((_, relay))) => workers.push(relay),
        Ok(None) => {}
        Err(e) => {
            // Nothing is served: the workers already started are stopped first.
            let _ = stop_tx.send(true);
            for worker in workers {
                let _ = worker.await;
            }
            return Err(e);
        }
    }
    if let Some(policy_listener) = policy_listener {
        let policy = state.config.postfix_policy.clone();
        workers.push(tokio::spawn(crate::policy::serve(
            policy_listener,
            state.app.clone(),
            policy.clone(),
            stop_rx.clone(),
        )));
        workers.push(tokio::spawn(crate::policy::worker::run(
            state.app.clone(),
            policy,
            stop_rx.clone(),
        )));
    }
    let app = app(state);
    tracing::info!(%addr, "listening");
    ready(addr);
    let server = crate::connections::serve(listener, app, limits, stop_rx.clone());
    let mut server = tokio::spawn(server);
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    prepare.abort();
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, &mut server).await {
        Ok(joined) => joined?,
        Err(_) => {
            server.abort();
            tracing::warn!("shutdown grace ran out; remaining requests were cut off");
        }
    }
    for worker in workers {
        let _ = worker.await;
    }
    // A response still streaming (an audience export to a slow client) holds a connection;
    // closing waits for it only so long.
    if tokio::time::timeout(grace, store.close()).await.is_err() {
        tracing::warn!("database connections still busy at exit");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the
/// future is first polled: a SIGTERM that arrives as soon as the address is printed must already
/// mean "drain and stop", not the default "die at once".
#[cfg(unix)]
pub fn signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = interrupt.recv() => {},
                }
            }
            // Without handlers, wait for Ctrl-C the portable way.
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn signal() -> impl Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The smallest axum handler, on the same runtime settings as `serve`: the HTTP ceiling that the
/// API's benchmark figures are compared with.
pub async fn baseline(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{}", listener.local_addr()?);
    let _ = out.flush();
    drop(out);
    let minimal = axum::routing::get(|| async { "ok" });
    let app = Router::new().route("/", minimal);
    axum::serve(listener, app)
        .with_graceful_shutdown(signal())
        .await?;
    Ok(())
}
