//! Consento's storage: the only crate with SQL. One SQL text per query runs on SQLite (the
//! embedded default) and on PostgreSQL (`$1` placeholders, `RETURNING`, `ON CONFLICT`, instants
//! bound from Rust as integer microseconds); the schema and a few statements differ per backend
//! where they must, each with a comment saying why.
//!
//! Nothing here assumes it is the only process on the database: the ledger head is taken under a
//! row lock (PostgreSQL) or the write lock (SQLite, `BEGIN IMMEDIATE`), and every multi-row write
//! is one transaction.

use std::sync::Arc;
use std::time::Duration;

use consento_domain::sealed::MasterKey;
use consento_domain::{Clock, Timestamp};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

mod audience;
mod audience_index;
mod audit;
mod backup;
pub mod bench;
mod bulk;
mod calls;
mod commit;
mod contacts;
mod controller;
mod decide;
mod decision_cache;
mod decision_facts;
mod erasure;
mod error;
mod export;
mod fastimport;
mod fastread;
mod flags;
mod held;
mod import;
mod import_job;
mod inserts;
mod ledger;
mod links;
mod mail;
mod migrate;
mod model;
mod outbox;
mod pgcopy;
mod pgfence;
mod receipts;
mod relay;
mod requests;
mod retention;
mod ring;
mod row;
mod rpo;
mod rules;
mod sealing;
mod settings;
mod stats;
mod subscriptions;
mod tokens;
mod types;
mod users;
mod wal;
mod webhooks;

pub use audience_index::AudienceIndexSize;
pub use backup::{backup_sqlite, restore_sqlite, verify_sqlite_file};
pub use bulk::{BulkContact, BulkEvent, BulkReport};
pub use calls::{CallRecord, CampaignReport, NewCallOutcome, RecordedCall};
pub use commit::GroupCommitStats;
pub use contacts::{ContactSummary, FieldChanges};
pub use decide::Fenced;
pub use erasure::{ERASURE_OUTCOME, ErasureInput, ErasureReport};
pub use error::StoreError;
pub use export::ContactExport;
pub use flags::{ContactFlag, FlagChange, FlagEvent, FlagNotice};
pub use held::{Handoff, HandoffKind, HeldCounts, HeldMessage, NewHeld};
pub use import::{ImportRun, ImportStatus, MAX_REPORTED_ERRORS, NewImportRun};
pub use import_job::{FileCheck, ImportChunk, ImportCounts, ImportProgress, ImportSpec};
pub use ledger::IdempotencyKey;
pub use links::{LinkKey, LinkSecret};
pub use mail::{EmailMessage, EmailOutboxStats, NewEmail, OutgoingEmail};
pub use model::*;
pub use outbox::NextAttempt;
pub use receipts::{ReceiptKey, ReceiptSeed};
pub use relay::{
    AcceptedRelayMessage, DSN_RULE, NewRelayMessage, NewRelayRecipient, RecipientOutcome,
    RelayCopy, RelayDelivery, RelayOutboxStats, RelayRecord,
};
pub use requests::{
    DataRequest, DataRequestEvent, DataRequestFilter, EXTENDED_NOTE, LINKED_NOTE, NewDataRequest,
    RequestMove,
};
pub use retention::{RetentionCandidate, RetentionRun};
pub use ring::{
    CallRequest, CustomerContract, CustomerRelationship, DirectoryListing, NewCallRequest,
    NumberStatus, TelemarketingSummary,
};
pub use rpo::{NewRpoCheck, RingFacts, RpoCheckRecord, RpoImportReport, RpoNumber, RpoStatus};
pub use rules::{BulkRule, DryRun, ProvenanceValues, RevertReport, RuleChange, RuleRun};
pub use sealing::{LostKeyReset, OtherMasterKey, SealedCounts};
pub use stats::{
    ConsentStateCounts, ExpiringConsent, ExpiringCount, ExpiringQuery, InteractionCount,
};
pub use subscriptions::{
    Confirmation, RequestLimits, RequestSource, SubscriptionOutcome, SubscriptionRequest,
    SubscriptionRequestInput, token_sha256,
};
pub use tokens::{ApiToken, TOKEN_PREFIX, token_digest};
pub use users::{
    AuditActor, AuditEntry, AuditFilter, AuditInput, LoginFailure, NewUser, StaffSession, User,
};
pub use webhooks::{
    Delivery, OutboxMessage, OutboxStats, SubscriptionId, WebhookEventType, WebhookSubscription,
    WebhookSubscriptionInput,
};

/// The database behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

pub(crate) enum Db {
    /// SQLite allows one writer at a time; a one-connection write pool queues writers in process
    /// instead of letting them fail with SQLITE_BUSY, and readers go on in parallel (WAL).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the read pool of whichever backend the store has. The body
/// is compiled once per backend, so the same SQL text and decoding code serve both.
macro_rules! on_read_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite { read: $pool, .. } => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside one write transaction bound to `$tx`, committed when the body succeeds and
/// rolled back when it returns early with an error (nothing half-written). The audit entry of
/// the task's [`Store::audited`] scope, if one waits, is inserted before the commit: the change
/// and its audit row are one transaction. The second form also
/// names the backend's database type `$DB`, for code (such as query builders) that must name it.
macro_rules! in_write_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        $crate::in_write_tx!($store, $tx, _Database => $body)
    };
    ($store:expr, $tx:ident, $DB:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite { write, .. } => {
                #[allow(dead_code)]
                type $DB = sqlx::Sqlite;
                // IMMEDIATE takes the write lock at once: a transaction that reads first and
                // writes later cannot then fail on a lock upgrade when another process wrote.
                let mut $tx = write.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                if let Some(row) = $store.pending_audit()? {
                    $crate::users::insert_audit!($tx, row.id, row.at, row.input, row.detail);
                }
                $tx.commit().await?;
                $crate::audit::committed();
                out
            }
            $crate::Db::Postgres(pool) => {
                #[allow(dead_code)]
                type $DB = sqlx::Postgres;
                let mut $tx = pool.begin().await?;
                let out = $body;
                if let Some(row) = $store.pending_audit()? {
                    $crate::users::insert_audit!($tx, row.id, row.at, row.input, row.detail);
                }
                $tx.commit().await?;
                $crate::audit::committed();
                out
            }
        }
    };
}
pub(crate) use {in_write_tx, on_read_pool};

/// A source of randomness, injected so that tests can make ids and salts reproducible.
pub trait Entropy: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), StoreError>;
}

/// The operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), StoreError> {
        getrandom::fill(buf).map_err(|_| StoreError::Entropy)
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_micros(micros)
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite:path/to/file.db` (or a bare path), or `postgres://…`.
    pub url: String,
    /// PostgreSQL only: the schema to use instead of `public` (created if missing).
    pub pg_schema: Option<String>,
    /// SQLite only: `synchronous=FULL` (an fsync at every commit; survives power loss) instead of
    /// `NORMAL` (WAL; survives a crash of the process, may lose the last commits on power loss).
    pub sqlite_full_sync: bool,
    /// Connections in the read pool (PostgreSQL: the whole pool).
    pub max_connections: u32,
    /// Country calling code for phone numbers written without one (`39` for Italy).
    pub default_country_code: String,
    /// Contacts whose decision facts are kept in memory (0: none); a full cache remembers no
    /// one new until changes make it forget some.
    pub decision_cache_entries: usize,
    /// Whether the cache is filled with the first `decision_cache_entries` contacts when the
    /// store opens (a server), or only as contacts are asked about (a short command).
    pub fill_decision_cache: bool,
    /// The master key the secrets are sealed under: kept outside the database (a copy of the
    /// file must not open its links, receipts or suppression list), found and handed in by the
    /// caller.
    pub master_key: MasterKey,
    /// What to do when the database was sealed under another master key.
    pub other_master_key: OtherMasterKey,
    /// SQLite only: the size in bytes past which bulk writes (demo, imports of known contacts,
    /// bulk rules) checkpoint and truncate the WAL between their transactions.
    pub sqlite_wal_limit: u64,
}

impl StoreConfig {
    /// A configuration with the defaults for `url`, sealing under `master_key`.
    pub fn new(url: impl Into<String>, master_key: MasterKey) -> Self {
        Self {
            url: url.into(),
            pg_schema: None,
            sqlite_full_sync: false,
            max_connections: 8,
            default_country_code: "39".into(),
            decision_cache_entries: 1_000_000,
            fill_decision_cache: true,
            master_key,
            other_master_key: OtherMasterKey::Refuse,
            sqlite_wal_limit: 256 * 1024 * 1024,
        }
    }
}

/// The storage of one Consento instance.
pub struct Store {
    pub(crate) db: Db,
    /// What an append needs to know, kept between appends; also serialises this process's
    /// appends, so they never race each other for the head.
    pub(crate) append: tokio::sync::Mutex<ledger::AppendCache>,
    /// Appends waiting for the next group commit.
    pub(crate) pending: commit::Pending,
    /// Messages the relay accepted, waiting to be written together (relay.rs).
    pub(crate) relay_accepts: relay::RelayAccepts,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) entropy: Arc<dyn Entropy>,
    pub(crate) suppression_key: [u8; 32],
    /// The key every stored secret is sealed under (sealing.rs).
    pub(crate) master: MasterKey,
    pub(crate) country_code: String,
    /// SQLite only: the decision's read path on plain connections.
    pub(crate) fast: Option<Arc<fastread::FastRead>>,
    /// The facts of recent decisions, kept true by the change log.
    pub(crate) decision_cache: Option<Arc<decision_cache::DecisionCache>>,
    /// SQLite only: the thread keeping the cache caught up between decisions.
    _follower: Option<decide::Follower>,
    /// PostgreSQL only: the fence decisions take before reading the cache (pgfence.rs).
    pub(crate) pg_fence: Option<Arc<pgfence::PgFence>>,
    /// PostgreSQL only: the task keeping the cache caught up between decisions.
    pg_follower: Option<pgfence::PgFollower>,
    /// Imports running in this process, with their live counters.
    pub(crate) imports: import::LiveImports,
    /// SQLite only: where an import's own connection writes (fastimport.rs).
    pub(crate) import_target: Option<fastimport::Target>,
    /// SQLite only: the WAL checkpoints, off the commit path.
    _checkpointer: Option<fastread::Checkpointer>,
    /// SQLite only: the database file.
    pub(crate) sqlite_file: Option<std::path::PathBuf>,
    /// SQLite only: see [`StoreConfig::sqlite_wal_limit`].
    pub(crate) wal_limit: u64,
    /// The newsletter audience in memory, built at the first audience asked for.
    pub(crate) audience_index: audience_index::AudienceIndex,
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database.
    pub async fn open(
        config: &StoreConfig,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, StoreError> {
        let postgres =
            config.url.starts_with("postgres://") || config.url.starts_with("postgresql://");
        let (db, checkpointer) = if postgres {
            (Db::Postgres(connect_postgres(config).await?), None)
        } else {
            connect_sqlite(config).await?
        };
        let fast =
            (!postgres).then(|| Arc::new(fastread::FastRead::new(sqlite_path(&config.url).into())));
        let decision_cache = (config.decision_cache_entries > 0).then(|| {
            Arc::new(decision_cache::DecisionCache::new(
                config.decision_cache_entries,
            ))
        });
        let mut store = Self {
            db,
            append: tokio::sync::Mutex::new(ledger::AppendCache::default()),
            pending: commit::Pending::default(),
            relay_accepts: relay::RelayAccepts::default(),
            clock,
            entropy,
            suppression_key: [0; 32],
            master: config.master_key.clone(),
            country_code: config.default_country_code.clone(),
            _follower: None,
            pg_fence: None,
            pg_follower: None,
            decision_cache,
            fast,
            imports: Default::default(),
            import_target: (!postgres).then(|| fastimport::Target {
                path: sqlite_path(&config.url).into(),
                full_sync: config.sqlite_full_sync,
                wal_limit: config.sqlite_wal_limit,
            }),
            _checkpointer: checkpointer,
            sqlite_file: (!postgres).then(|| sqlite_path(&config.url).into()),
            wal_limit: config.sqlite_wal_limit,
            audience_index: audience_index::AudienceIndex::default(),
        };
        migrate::run(&store).await?;
        // Once migrated: the thread reads the change log.
        if let (Some(fast), Some(cache)) = (&store.fast, &store.decision_cache) {
            store._follower = decide::Follower::start(
                Arc::clone(fast),
                Arc::clone(cache),
                config.fill_decision_cache,
            );
        }
        if let (Db::Postgres(pool), Some(cache)) = (&store.db, &store.decision_cache) {
            let fence = pgfence::PgFence::new(pool.clone(), Arc::clone(cache));
            let warm = {
                let (pool, fence, cache) = (pool.clone(), Arc::clone(&fence), Arc::clone(cache));
                let fill = config.fill_decision_cache;
                // A failed preload leaves the rest to be read when asked about.
                async move {
                    if fill {
                        let _ = decide::preload_pg(&pool, &fence, &cache).await;
                    }
                }
            };
            let (pool, cache) = (pool.clone(), Arc::clone(cache));
            store.pg_follower = Some(pgfence::PgFollower::start(
                Arc::clone(&fence),
                move |head, forgotten| {
                    let (pool, cache) = (pool.clone(), Arc::clone(&cache));
                    async move { decide::refresh_pg(&pool, &cache, head, &forgotten).await }
                },
                warm,
            ));
            store.pg_fence = Some(fence);
        }
        store.fold_names().await?;
        store.suppression_key = store.open_sealed(config.other_master_key).await?;
        Ok(store)
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The injected clock's current instant.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Closes the pools, waiting for connections in use. On SQLite the threads reading and
    /// checkpointing the file stop first, and once every connection of the store is closed the
    /// WAL is checkpointed into the database file and truncated: after a clean stop the file
    /// alone holds every commit (a copy of it is complete; see wal.rs).
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write } => {
                let threads: Vec<std::thread::JoinHandle<()>> = [
                    self._follower.as_ref().and_then(decide::Follower::stop),
                    self._checkpointer
                        .as_ref()
                        .and_then(fastread::Checkpointer::stop),
                ]
                .into_iter()
                .flatten()
                .collect();
                write.close().await;
                read.close().await;
                if let Some(fast) = &self.fast {
                    fast.close();
                }
                let Some(path) = self.sqlite_file.clone() else {
                    return;
                };
                let _ = tokio::task::spawn_blocking(move || {
                    for thread in threads {
                        let _ = thread.join();
                    }
                    // Other processes on the file (a server, while a command ends) may be
                    // reading: they are waited for this long at most, and the file stays
                    // as complete as their last checkpoint left it otherwise.
                    let _ = wal::checkpoint_truncate(&path, Duration::from_secs(2));
                })
                .await;
            }
            Db::Postgres(pool) => {
                if let Some(follower) = &self.pg_follower {
                    follower.stop();
                }
                if let Some(fence) = &self.pg_fence {
                    fence.close().await;
                }
                pool.close().await;
            }
        }
    }

    /// `N` bytes from the injected random source (session secrets, password salts).
    pub fn random_bytes<const N: usize>(&self) -> Result<[u8; N], StoreError> {
        self.random()
    }

    pub(crate) fn random<const N: usize>(&self) -> Result<[u8; N], StoreError> {
        let mut buf = [0u8; N];
        self.entropy.fill(&mut buf)?;
        Ok(buf)
    }

    pub(crate) fn new_uuid(&self, at: Timestamp) -> Result<uuid::Uuid, StoreError> {
        Ok(consento_domain::EventId::new_v7(at, self.random()?).0)
    }

    /// `n` UUIDv7 from one read of the random source (a bulk load would otherwise make a system
    /// call per row).
    pub(crate) fn new_uuids(&self, at: Timestamp, n: usize) -> Result<Vec<uuid::Uuid>, StoreError> {
        let mut random = vec![0u8; n * 10];
        self.entropy.fill(&mut random)?;
        Ok(random
            .chunks_exact(10)
            .map(|r| {
                let mut bytes = [0u8; 10];
                bytes.copy_from_slice(r);
                consento_domain::EventId::new_v7(at, bytes).0
            })
            .collect())
    }
}

/// Pool options without sqlx's periodic maintenance task (idle timeout, maximum lifetime, minimum
/// connections). In sqlx 0.9.0 a race can wrap the pool's idle count to `usize::MAX`, and that task
/// then spins a core forever, hanging the process at exit (sqlx issue #3645, fixed upstream by
/// PR #4289 after 0.9.0). Connections are opened on demand and kept; nothing here needs recycling.
fn without_maintenance<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    options
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
}

/// The database file a URL names, `None` for PostgreSQL.
pub fn sqlite_file(url: &str) -> Option<&std::path::Path> {
    (!(url.starts_with("postgres://") || url.starts_with("postgresql://")))
        .then(|| std::path::Path::new(sqlite_path(url)))
}

/// The file of a SQLite URL (`sqlite:path`, `sqlite://path`, or a bare path).
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

async fn connect_sqlite(
    config: &StoreConfig,
) -> Result<(Db, Option<fastread::Checkpointer>), StoreError> {
    let path = sqlite_path(&config.url);
    wal::create_private(std::path::Path::new(path))?;
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(if config.sqlite_full_sync {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        })
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // 64 MiB of page cache per connection (the default is 2 MiB): the audience's index scan
        // and bulk loads re-read far fewer pages.
        .pragma("cache_size", "-65536")
        // Freed cells and pages are overwritten with zeros, so an erasure (GDPR Art. 17) leaves
        // no readable remnant of the old rows in the file (erasure.rs also truncates the WAL).
        .pragma("secure_delete", "ON")
        // Statement journals in memory, not in temporary files: a multi-row INSERT inside a
        // long transaction (a bulk load, an import) journals every page it touches, and as files
        // that cost a system call per page (most of the time of a large import, measured).
        .pragma("temp_store", "memory")
        .statement_cache_capacity(256);
    // The writer never checkpoints inside a commit: a thread of its own does, once this first
    // connection has created the file and turned WAL on. Should the thread not start, the
    // writer's one connection (kept for the pool's life) gets SQLite's automatic checkpoint back.
    let write = without_maintenance(SqlitePoolOptions::new())
        .max_connections(1)
        .connect_with(
            options
                .clone()
                .pragma("wal_autocheckpoint", "0")
                // After the WAL starts over, its file is cut back to this size.
                .pragma("journal_size_limit", "67108864"),
        )
        .await?;
    let checkpointer = fastread::Checkpointer::start(path.into());
    if checkpointer.is_none() {
        sqlx::query("PRAGMA wal_autocheckpoint = 1000")
            .execute(&write)
            .await?;
    }
    let read = without_maintenance(SqlitePoolOptions::new())
        .max_connections(config.max_connections.max(1))
        .connect_with(options.read_only(true))
        .await?;
    Ok((Db::Sqlite { read, write }, checkpointer))
}

async fn connect_postgres(config: &StoreConfig) -> Result<PgPool, StoreError> {
    let mut options: PgConnectOptions = config.url.parse()?;
    if let Some(schema) = &config.pg_schema {
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::Invalid(consento_domain::DomainError::invalid(
                "pg_schema",
                "letters, digits and _ only",
            )));
        }
        // Create the schema first, on a connection of its own, then point every pooled
        // connection at it.
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&admin)
        .await?;
        admin.close().await;
        options = options.options([("search_path", schema.as_str())]);
    }
    Ok(without_maintenance(PgPoolOptions::new())
        .max_connections(config.max_connections.max(2))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?)
}
