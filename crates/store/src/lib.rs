//! sqlx implementation of Gatehouse's storage ports for SQLite and PostgreSQL.
//!
//! One SQL text serves both engines: it goes through sqlx's `Any` driver with
//! `$1`-style placeholders (which sqlx's SQLite driver accepts), instants are
//! BIGINT milliseconds, and booleans are nullable instants. Schema changes live in
//! `migrations/sqlite` and `migrations/postgres` and are embedded in the binary;
//! [`SqlStore::connect`] applies them on start.
//!
//! Write transactions on SQLite begin with `BEGIN IMMEDIATE`, and every write goes
//! through one writer connection, so writers queue in order instead of sleeping in
//! SQLite's busy handler.
//!
//! A sign-in's own operations (store the request, complete it, redeem the code, read
//! the token) each have one port method in `logins.rs`, which runs them by one of two
//! paths ([`SignInPath`]): the plain path, one SQL text for both engines
//! (`sign_in_sql.rs`), or the fast path, where they pay for it (measured in the
//! README, Speed): on SQLite through rusqlite on a writing thread of its own
//! (`sqlite_sign_ins.rs`), on PostgreSQL as batched one-statement CTEs
//! (`pg_batch.rs`). A test runs every operation through both paths on both engines
//! and compares the outcomes. On PostgreSQL a sign-in's writes commit without waiting
//! for the WAL flush ([`PoolRole::SignIns`]). Connections and products read by
//! sign-ins come from a short-lived cache (`cache.rs`).

mod accounts;
mod audit;
mod cache;
mod connections;
mod filters;
mod logins;
mod ory_sync;
mod pg_batch;
mod products;
mod rows;
mod sessions;
mod setup_links;
mod sign_in_fast;
mod sign_in_sql;
mod sqlite_sign_ins;
mod teams;
pub mod testing;
mod traces;
mod values;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_domain::ports::{Health, PoolUsage, StoreError, StoreResult};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use rows::map_err;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// What a pool's connections are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PoolRole {
    /// Reads, and on PostgreSQL every write but a sign-in's own.
    Readers,
    /// SQLite's one writer connection.
    Writer,
    /// PostgreSQL: a sign-in's own writes (pending request, ACS completion, code
    /// redemption) commit without waiting for the WAL flush (`synchronous_commit =
    /// off`), the trade SQLite's `synchronous = NORMAL` already makes for every write:
    /// after a crash of the database server (not of Gatehouse) the last moments'
    /// sign-in writes may be gone — each whole, in commit order, so no token outlives
    /// its code's redemption and no code outlives its request's consumption; those
    /// sign-ins simply fail and are retried. Waiting for the flush cost about 8 % of
    /// the logins per second on the 2-core benchmark machine (README, Speed).
    /// Accounts, products, connections, keys and revocations stay synchronous. It is
    /// a pool of its own (up to `max_connections` more PostgreSQL connections, opened
    /// when first needed), so no other statement ever runs with this setting.
    SignIns,
}

/// How a sign-in's own operations run (see the crate documentation).
#[derive(Debug, Clone)]
enum SignInPath {
    /// Through sqlx, one SQL text for both engines (`sign_in_sql.rs`).
    Plain,
    /// SQLite: rusqlite, writes on a thread of their own, reads on the request's
    /// ([`sqlite_sign_ins`]).
    Direct(Arc<sqlite_sign_ins::SqliteSignIns>),
    /// PostgreSQL: one-statement CTEs, batched ([`pg_batch`]), on the sign-in pool.
    Batched(Arc<PgSignIns>),
}

#[derive(Debug)]
struct PgSignIns {
    /// Pending requests stored at authorize.
    pending_inserts: pg_batch::Batcher,
    /// App sign-ins completed at the ACS.
    completions: pg_batch::Batcher,
    /// Codes redeemed at the token endpoint.
    redemptions: pg_batch::Batcher,
    /// Access tokens read by userinfo (on the readers' pool).
    token_reads: pg_batch::Batcher,
}

#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// Where writes go. SQLite allows one writer at a time: a separate one-connection
    /// pool makes writers queue here, in order, instead of sleeping in SQLite's busy
    /// handler (which made the latency tail). On PostgreSQL it is `pool`.
    writer: AnyPool,
    /// A sign-in's own writes: `writer` on SQLite, a pool of its own on PostgreSQL
    /// ([`PoolRole::SignIns`]).
    sign_in_writer: AnyPool,
    sign_ins: SignInPath,
    engine: Engine,
    cache: Arc<cache::ReadCache>,
    /// Dropped with the last clone: stops the background checkpointer.
    alive: Arc<()>,
    /// SQLite: the database file (its WAL is this path with `-wal`).
    sqlite_path: Option<std::path::PathBuf>,
}

/// SQLite's write-ahead log is truncated once it passes this (see
/// [`SqlStore::spawn_checkpointer`]); with the growth of one check interval at the
/// highest write rates seen here, it stays under [`WAL_BOUND_BYTES`].
pub const WAL_TRUNCATE_BYTES: u64 = 64 * 1024 * 1024;
/// The most the WAL may reach under sustained load (stated in the README, enforced by
/// the soak test).
pub const WAL_BOUND_BYTES: u64 = 128 * 1024 * 1024;
/// How often the checkpointer runs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long login paths may reuse a connection or product row read earlier
    /// (see `cache.rs`); zero turns the cache off.
    pub read_cache_ttl: Duration,
    /// Run a sign-in's operations by the fast path (the default; the plain path is
    /// there for the tests that compare the two).
    pub sign_in_fast_path: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            read_cache_ttl: Duration::from_secs(2),
            sign_in_fast_path: true,
        }
    }
}

/// The database file of an SQLite URL. An in-memory database is refused: the readers,
/// the writer and the checkpointer are connections of their own, and each would see
/// another in-memory database.
fn sqlite_file(url: &str) -> StoreResult<std::path::PathBuf> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(map_err)?;
    let file = options.get_filename();
    let name = file.to_string_lossy();
    if url.contains(":memory:") || url.contains("mode=memory") || name.starts_with("file:") {
        return Err(StoreError::Backend(
            "an in-memory SQLite database is not supported: give DATABASE_URL a file, e.g. sqlite://gatehouse.db?mode=rwc".into(),
        ));
    }
    Ok(file.to_path_buf())
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl SqlStore {
    /// Connect, creating an SQLite file if needed, and apply pending migrations.
    /// Instances starting together on one PostgreSQL database take turns: sqlx's
    /// migrator holds an advisory lock while it applies them.
    pub async fn connect(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let store = Self::connect_unmigrated(url, settings).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connect without applying migrations (`gatehouse check-config`); the SQLite
    /// file is still created if missing.
    pub async fn connect_unmigrated(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(url).ok_or_else(|| {
            StoreError::Backend("DATABASE_URL must start with sqlite: or postgres:".into())
        })?;
        let options = AnyConnectOptions::from_str(url).map_err(map_err)?;
        let pool = Self::pool_options(
            engine,
            settings.max_connections,
            settings,
            PoolRole::Readers,
        )
        .connect_with(options.clone())
        .await
        .map_err(map_err)?;
        let sqlite_path = match engine {
            Engine::Sqlite => Some(sqlite_file(url)?),
            Engine::Postgres => None,
        };
        let (writer, sign_in_writer) = match engine {
            Engine::Sqlite => {
                let writer = Self::pool_options(engine, 1, settings, PoolRole::Writer)
                    .connect_with(options)
                    .await
                    .map_err(map_err)?;
                (writer.clone(), writer)
            }
            Engine::Postgres => {
                let sign_ins = Self::pool_options(
                    engine,
                    settings.max_connections,
                    settings,
                    PoolRole::SignIns,
                )
                .connect_lazy_with(options);
                (pool.clone(), sign_ins)
            }
        };
        let sign_ins = match (settings.sign_in_fast_path, &sqlite_path) {
            (false, _) => SignInPath::Plain,
            (true, Some(file)) => {
                SignInPath::Direct(Arc::new(sqlite_sign_ins::SqliteSignIns::open(file)?))
            }
            (true, None) => SignInPath::Batched(Arc::new(PgSignIns {
                pending_inserts: pg_batch::Batcher::start(
                    sign_in_writer.clone(),
                    sign_in_fast::PG_PENDING_INSERTS,
                ),
                completions: pg_batch::Batcher::start(
                    sign_in_writer.clone(),
                    sign_in_fast::PG_APP_COMPLETIONS,
                ),
                redemptions: pg_batch::Batcher::start(
                    sign_in_writer.clone(),
                    sign_in_fast::PG_REDEMPTIONS,
                ),
                token_reads: pg_batch::Batcher::start(pool.clone(), sign_in_fast::PG_TOKEN_READS),
            })),
        };
        let store = Self {
            pool,
            writer,
            sign_in_writer,
            sign_ins,
            engine,
            cache: Arc::new(cache::ReadCache::new(settings.read_cache_ttl)),
            alive: Arc::new(()),
            sqlite_path,
        };
        if engine == Engine::Sqlite {
            store.spawn_checkpointer();
        }
        Ok(store)
    }

    /// SQLite: the writer never checkpoints the write-ahead log itself (with
    /// `synchronous = NORMAL` the checkpoint is the only step that waits for the disk,
    /// and a writer waiting for the disk holds up every sign-in). Instead a background
    /// task checkpoints every [`CHECKPOINT_EVERY`] from a reader connection, in
    /// `PASSIVE` mode, which never blocks the writer.
    ///
    /// A `PASSIVE` checkpoint copies pages back but cannot *reset* the log while
    /// readers still read from it, and under sustained load there always is one: the
    /// log would grow without end (gigabytes within minutes). So once the log passes
    /// [`WAL_TRUNCATE_BYTES`], a `TRUNCATE` checkpoint runs: it waits (busy handler)
    /// until the readers of the log's old frames have finished (at most 200 ms, then
    /// it tries again at the next tick), holds writers back for that moment, and
    /// truncates the log to zero bytes. `journal_size_limit` also caps
    /// what a reset leaves on disk. It stops when the last clone of the store is
    /// dropped or the pools are closed.
    fn spawn_checkpointer(&self) {
        let alive = Arc::downgrade(&self.alive);
        let pool = self.pool.clone();
        let wal = self
            .sqlite_path
            .as_ref()
            .map(|p| std::path::PathBuf::from(format!("{}-wal", p.display())));
        tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if alive.upgrade().is_none() || pool.is_closed() {
                    break;
                }
                let size = wal
                    .as_ref()
                    .and_then(|w| std::fs::metadata(w).ok())
                    .map_or(0, |m| m.len());
                let mode = if size > WAL_TRUNCATE_BYTES {
                    "TRUNCATE"
                } else {
                    "PASSIVE"
                };
                let started = std::time::Instant::now();
                let Ok(mut conn) = pool.acquire().await else {
                    continue;
                };
                // A TRUNCATE checkpoint holds writers back while it waits for readers:
                // it waits briefly and tries again at the next tick rather than make
                // writers wait out the whole busy timeout.
                if mode == "TRUNCATE" {
                    let _ = conn.execute("PRAGMA busy_timeout = 200").await;
                }
                let done = sqlx::query(&format!("PRAGMA wal_checkpoint({mode})"))
                    .execute(&mut *conn)
                    .await;
                if mode == "TRUNCATE" {
                    let _ = conn.execute("PRAGMA busy_timeout = 10000").await;
                }
                match done {
                    Ok(_) if mode == "TRUNCATE" => tracing::debug!(
                        wal_bytes = size,
                        took_ms = started.elapsed().as_millis() as u64,
                        "SQLite write-ahead log truncated"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, mode, "SQLite checkpoint failed"),
                }
            }
        });
    }

    /// SQLite: the sizes of the database file and its write-ahead log, in bytes.
    pub fn sqlite_file_sizes(&self) -> Option<(u64, u64)> {
        let path = self.sqlite_path.as_ref()?;
        let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
        Some((
            size(path),
            size(std::path::Path::new(&format!("{}-wal", path.display()))),
        ))
    }

    fn pool_options(
        engine: Engine,
        max: u32,
        settings: &PoolSettings,
        role: PoolRole,
    ) -> AnyPoolOptions {
        AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(settings.acquire_timeout)
            // sqlx pings every connection it hands out by default: one more round
            // trip per query. An SQLite file does not go away, and a PostgreSQL
            // connection that did fails its query and is dropped from the pool.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        for pragma in [
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA journal_size_limit = 67108864",
                        ] {
                            conn.execute(pragma).await?;
                        }
                        if role == PoolRole::Writer {
                            conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                        }
                    } else if role == PoolRole::SignIns {
                        conn.execute("SET synchronous_commit = off").await?;
                    }
                    Ok(())
                })
            })
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Apply the migrations this database has not had yet.
    pub async fn migrate(&self) -> StoreResult<()> {
        self.migrator()
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }

    /// Every stored signing key as `(id, purpose, sealed private key)`, whatever the
    /// schema version (`check-config` tries the secret key on them before migrating).
    pub async fn sealed_signing_keys(&self) -> StoreResult<Vec<(String, String, String)>> {
        match sqlx::query("SELECT id, purpose, private_key FROM signing_keys")
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => rows
                .iter()
                .map(|r| {
                    use sqlx::Row;
                    Ok((
                        r.try_get::<String, _>(0).map_err(map_err)?,
                        r.try_get::<String, _>(1).map_err(map_err)?,
                        r.try_get::<String, _>(2).map_err(map_err)?,
                    ))
                })
                .collect(),
            // no table yet: a database never started
            Err(sqlx::Error::Database(_)) => Ok(Vec::new()),
            Err(e) => Err(map_err(e)),
        }
    }

    /// The migrations this binary has and the database has not applied, as
    /// `version_description`; a database migrated by a newer binary is an error.
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        let applied: Vec<i64> = match sqlx::query("SELECT version FROM _sqlx_migrations")
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => rows
                .iter()
                .map(|r| sqlx::Row::try_get::<i64, _>(r, 0))
                .collect::<Result<_, _>>()
                .map_err(map_err)?,
            // no table yet: nothing applied
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(e) => return Err(map_err(e)),
        };
        let known: Vec<i64> = self.migrator().iter().map(|m| m.version).collect();
        if let Some(unknown) = applied.iter().find(|v| !known.contains(v)) {
            return Err(StoreError::Backend(format!(
                "the database has migration {unknown}, which this binary does not know: \
                 it was migrated by a newer Gatehouse"
            )));
        }
        Ok(self
            .migrator()
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{}_{}", m.version, m.description))
            .collect())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn engine_kind(&self) -> Engine {
        self.engine
    }

    /// The pool for statements that write (see [`SqlStore::writer`]).
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// A write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub(crate) async fn write_tx(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Self::begin(self.engine, &self.writer).await
    }

    /// A sign-in's own write transaction (see [`SqlStore::sign_in_writer`]).
    pub(crate) async fn sign_in_tx(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Self::begin(self.engine, &self.sign_in_writer).await
    }

    /// The fast path of a sign-in's operations, if this store takes it.
    pub(crate) fn fast_sign_ins(&self) -> Option<sign_in_fast::Fast<'_>> {
        match &self.sign_ins {
            SignInPath::Plain => None,
            SignInPath::Direct(direct) => Some(sign_in_fast::Fast::Sqlite(direct)),
            SignInPath::Batched(pg) => Some(sign_in_fast::Fast::Postgres(pg)),
        }
    }

    /// The pool of a sign-in's own writes.
    pub(crate) fn sign_in_writer(&self) -> &AnyPool {
        &self.sign_in_writer
    }

    async fn begin(
        engine: Engine,
        pool: &AnyPool,
    ) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        match engine {
            Engine::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
            Engine::Postgres => pool.begin().await,
        }
        .map_err(map_err)
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
        self.sign_in_writer.close().await;
    }
}

#[async_trait]
impl Health for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    fn engine(&self) -> &'static str {
        self.engine.name()
    }

    fn pool_usage(&self) -> Vec<PoolUsage> {
        let usage = |pool: &'static str, p: &AnyPool| PoolUsage {
            pool,
            open: p.size(),
            idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
            max: p.options().get_max_connections(),
        };
        match self.engine {
            // one writer connection serves both writer roles
            Engine::Sqlite => vec![usage("readers", &self.pool), usage("writer", &self.writer)],
            Engine::Postgres => vec![
                usage("readers", &self.pool),
                usage("sign_ins", &self.sign_in_writer),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn synchronous_commit(pool: &AnyPool) -> String {
        let row = sqlx::query("SHOW synchronous_commit")
            .fetch_one(pool)
            .await
            .map_err(map_err);
        match row.and_then(|r| rows::RowExt::text(&r, "synchronous_commit")) {
            Ok(v) => v,
            Err(e) => panic!("SHOW synchronous_commit: {e}"),
        }
    }

    /// The condition that let the WAL grow without end: readers always inside a read
    /// transaction while a writer keeps writing. The checkpointer must still keep the
    /// log under its bound, by truncating it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_while_readers_never_stop() {
        let db = testing::fresh_database(Engine::Sqlite).await.unwrap();
        let store = SqlStore::connect(&db.url, &PoolSettings::default())
            .await
            .unwrap();
        sqlx::query("CREATE TABLE wal_test (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            .execute(store.writer())
            .await
            .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..4 {
            let (pool, stop) = (store.pool().clone(), stop.clone());
            readers.push(tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(mut tx) = pool.begin().await else {
                        continue;
                    };
                    let _ = sqlx::query("SELECT COUNT(*) FROM wal_test")
                        .fetch_one(&mut *tx)
                        .await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ = tx.commit().await;
                }
            }));
        }
        let body = "x".repeat(16 * 1024);
        let started = std::time::Instant::now();
        let (mut written, mut max_wal, mut truncated) = (0u64, 0u64, false);
        while written < 3 * WAL_TRUNCATE_BYTES && started.elapsed() < Duration::from_secs(120) {
            sqlx::query("INSERT INTO wal_test (body) VALUES ($1)")
                .bind(&body)
                .execute(store.writer())
                .await
                .unwrap();
            written += body.len() as u64;
            let (_, wal) = store.sqlite_file_sizes().unwrap();
            truncated |= wal < max_wal / 2;
            max_wal = max_wal.max(wal);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            let _ = r.await;
        }
        assert!(
            written >= 3 * WAL_TRUNCATE_BYTES,
            "wrote only {written} bytes"
        );
        assert!(
            truncated,
            "the WAL was never truncated (max {max_wal} bytes)"
        );
        assert!(
            max_wal <= WAL_BOUND_BYTES,
            "the WAL reached {max_wal} bytes (bound {WAL_BOUND_BYTES})"
        );
    }

    /// Both engines have the same migration files, each the same text on both unless
    /// `migrations/README.md` lists it as different.
    #[test]
    fn migrations_match_their_readme() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
        let names = |engine: &str| -> std::collections::BTreeSet<String> {
            match std::fs::read_dir(root.join(engine)) {
                Ok(dir) => dir
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".sql"))
                    .collect(),
                Err(e) => panic!("{engine}: {e}"),
            }
        };
        let sqlite = names("sqlite");
        assert_eq!(sqlite, names("postgres"), "the engines' migration files");
        let differ: std::collections::BTreeSet<String> = sqlite
            .iter()
            .filter(|n| {
                std::fs::read(root.join("sqlite").join(n)).ok()
                    != std::fs::read(root.join("postgres").join(n)).ok()
            })
            .cloned()
            .collect();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
        let listed: std::collections::BTreeSet<String> = readme
            .split("## Different on the two engines")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("- `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect();
        assert_eq!(
            differ, listed,
            "migrations that differ vs migrations/README.md"
        );
    }

    /// An in-memory database (which the store's connections could not share) is
    /// refused with a message that says what to do.
    #[test]
    fn an_sqlite_url_names_a_file() {
        let file = sqlite_file("sqlite:///var/lib/gatehouse/gatehouse.db?mode=rwc");
        assert_eq!(
            file.ok(),
            Some(std::path::PathBuf::from("/var/lib/gatehouse/gatehouse.db"))
        );
        for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
            match sqlite_file(url) {
                Err(StoreError::Backend(m)) => assert!(m.contains("in-memory"), "{m}"),
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    /// Only a sign-in's own writes skip the WAL flush; everything else (accounts,
    /// connections, keys, revocations) waits for it as the server is configured.
    #[tokio::test]
    async fn on_postgresql_only_sign_in_writes_skip_the_wal_flush() {
        let (_db, store) = match testing::postgres_store().await {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(synchronous_commit(store.sign_in_writer()).await, "off");
        // The other pools keep the server's setting ("on" unless an operator chose).
        let configured = synchronous_commit(store.pool()).await;
        assert_eq!(synchronous_commit(store.writer()).await, configured);
        store.close().await;
    }
}
