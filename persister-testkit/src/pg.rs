//! PostgreSQL for tests: every test gets a fresh, empty database of its own.
//!
//! [`test_database`] finds a server once per process, the first of these that is available:
//!
//! 1. `PERSISTER_PG_URL=postgres://user:pass@host:port/db`: the server you name. Its role needs
//!    `CREATEDB`; each test creates a database `persister_test_<random hex>` there and drops it
//!    again ([`TestDatabase::cleanup`], or when the [`TestDatabase`] is dropped). No other
//!    database is touched. If the server cannot be reached within 5 s the tests fail; the other
//!    ways are not tried.
//! 2. A Docker engine: testcontainers starts a `postgres` container for the process.
//! 3. PostgreSQL server binaries (`initdb`, `pg_ctl`; e.g. `apt-get install postgresql`),
//!    found through `pg_config --bindir`, `PATH` or `/usr/lib/postgresql/*/bin`: a throwaway
//!    cluster in the temporary directory, shared by every test process of one test run (one
//!    `cargo test` or `cargo nextest run`), and stopped and deleted by a watchdog process when
//!    that run ends, even if it is killed.
//!
//! When none works, the test fails with a [`HarnessError`] that says how to provide one; a test
//! is never skipped, and no server that nobody named (such as `localhost:5432`) is used.
//!
//! With `PERSISTER_PG_POOLER=pgbouncer` ([`POOLER_VAR`]), each test process also starts a
//! PgBouncer in transaction mode in front of that server, and every test database is reached
//! through it: [`TestDatabase::url`] and [`TestDatabase::config`] point at the pooler (the
//! config in pooler mode), [`TestDatabase::direct_url`] at the server, for statements a test
//! runs beside the store. `cargo xtask ci` runs the PostgreSQL suites both ways.

mod cluster;
mod own_cluster;
pub mod proxy;
mod replicated;

pub use own_cluster::OwnCluster;
pub use replicated::Replicated;
mod container;
mod pgbouncer;
mod url;
mod watchdog;

use std::fmt;
use std::time::Duration;

use persister_core::StoreError;
use persister_postgres::{PgConfig, PgStore};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::OnceCell;
use tokio::time::timeout;

/// The environment variable that names a server for the tests.
pub const URL_VAR: &str = "PERSISTER_PG_URL";

/// The environment variable that puts a pooler in front of the server: `pgbouncer`, or unset.
pub const POOLER_VAR: &str = "PERSISTER_PG_POOLER";

/// How long reaching a server may take.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// How many connections the pool of [`TestDatabase::store`] opens at most.
const TEST_POOL_SIZE: u32 = 5;

/// The two ways besides [`URL_VAR`] to get a server, as the error messages list them.
const OTHER_WAYS: &str = "start a Docker engine for testcontainers; \
     or install PostgreSQL server binaries (initdb, pg_ctl; e.g. `apt-get install postgresql`)";

/// Why no test database could be provided; the message says how to provide one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// `PERSISTER_PG_URL` (or the URL given to [`test_database_from_url`]) names a server that
    /// cannot be reached.
    #[error(
        "{URL_VAR}={url} cannot be reached within 5 s: {reason}. Fix or unset {URL_VAR}; \
         the other ways to get a PostgreSQL server for the tests: {OTHER_WAYS}"
    )]
    Unreachable {
        /// The URL, password hidden.
        url: String,
        /// The connection error.
        reason: String,
    },
    /// No way of getting a server worked.
    #[error(
        "no PostgreSQL server for the tests. Either set {URL_VAR}=postgres://user:pass@host:port/db \
         (a role with CREATEDB); {OTHER_WAYS}.\nTried:\n{tried}"
    )]
    NoServer {
        /// What was tried and why it failed, one line each.
        tried: String,
    },
    /// [`POOLER_VAR`] asks for a pooler that could not be started.
    #[error("{POOLER_VAR}: {reason}")]
    Pooler {
        /// Why, and how to fix it.
        reason: String,
    },
    /// The server was found but refused to create or drop a test database.
    #[error("cannot {action} test database {name} on {url}: {reason}")]
    Database {
        /// `create` or `drop`.
        action: &'static str,
        /// The database name.
        name: String,
        /// The server URL, password hidden.
        url: String,
        /// The server's error.
        reason: String,
    },
}

/// A fresh, empty database for one test on the server [`test_database`] found.
///
/// Call [`cleanup`](Self::cleanup) at the end of the test; dropping it without that drops the
/// database too when the server was named by `PERSISTER_PG_URL` (from a short-lived thread), and
/// leaves it to the throwaway server otherwise.
pub struct TestDatabase {
    url: String,
    direct_url: String,
    pooler: bool,
    name: String,
    admin_url: String,
    drop_when_dropped: bool,
}

/// The server that tests of this process use: decided once, kept as a URL (never as a pool,
/// because every `#[tokio::test]` has its own runtime).
#[derive(Clone, Debug)]
struct Server {
    /// A URL of a database on the server that may create and drop databases.
    admin_url: String,
    /// The same URL through the pooler of this process, in a run with [`POOLER_VAR`] set.
    pooled_url: Option<String>,
    /// True for a server named by the user, where every test database must be dropped.
    named: bool,
}

static SERVER: OnceCell<Result<Server, HarnessError>> = OnceCell::const_new();

/// A fresh, empty database on the server of this process (see the [module docs](self)).
///
/// # Errors
/// [`HarnessError`] when no server can be found or the database cannot be created; its message
/// lists the ways to provide a server.
pub async fn test_database() -> Result<TestDatabase, HarnessError> {
    let server = SERVER.get_or_init(|| async { with_pooler(find_server().await?).await }).await;
    server.clone()?.create_database().await
}

/// A fresh, empty database on the server at `url`, as if `PERSISTER_PG_URL` were `url`.
///
/// # Errors
/// [`HarnessError::Unreachable`] when the server cannot be reached within 5 s;
/// [`HarnessError::Database`] when it refuses to create the database.
pub async fn test_database_from_url(url: &str) -> Result<TestDatabase, HarnessError> {
    named_server(url).await?.create_database().await
}

impl TestDatabase {
    /// The URL of the database, through the pooler in a run with [`POOLER_VAR`] set.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of the database on the server itself, never through a pooler: for statements
    /// a test runs beside the store (a raw sqlx pool prepares named statements, which a
    /// transaction-mode pooler does not keep).
    pub fn direct_url(&self) -> &str {
        &self.direct_url
    }

    /// True in a run with [`POOLER_VAR`] set: [`url`](Self::url) goes through the pooler.
    pub fn pooler(&self) -> bool {
        self.pooler
    }

    /// The store configuration of the database: [`url`](Self::url), a pool of at most 5
    /// connections, and pooler mode in a run with [`POOLER_VAR`] set.
    pub fn config(&self) -> PgConfig {
        PgConfig::from_url(&self.url).max_connections(TEST_POOL_SIZE).pooler(self.pooler)
    }

    /// The name of the database, `persister_test_<random hex>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A store on the database (migrated), with [`config`](Self::config).
    ///
    /// # Errors
    /// As [`PgStore::connect`].
    pub async fn store(&self) -> Result<PgStore, StoreError> {
        PgStore::connect(self.config()).await
    }

    /// Drops the database, closing any connection still open to it.
    ///
    /// # Errors
    /// [`HarnessError::Database`] when the server refuses.
    pub async fn cleanup(mut self) -> Result<(), HarnessError> {
        self.drop_when_dropped = false;
        drop_database(&self.admin_url, &self.name).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.drop_when_dropped {
            return;
        }
        // Drop may run inside a runtime (even while a test unwinds), which cannot block on a
        // future; a thread with its own small runtime can, and joining it keeps the process
        // alive until the database is gone.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            match runtime {
                Ok(runtime) => runtime.block_on(drop_database(&admin_url, &name)),
                Err(e) => Err(HarnessError::Database {
                    action: "drop",
                    name,
                    url: persister_postgres::redact_url(&admin_url),
                    reason: format!("cannot start a runtime: {e}"),
                }),
            }
        });
        match dropper.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: {e}"),
            Err(_) => eprintln!("warning: test database {} may be left behind", self.name),
        }
    }
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase")
            .field("url", &persister_postgres::redact_url(&self.url))
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Creates a database with a fresh random name.
    async fn create_database(&self) -> Result<TestDatabase, HarnessError> {
        let name = format!("persister_test_{:016x}", rand::random::<u64>());
        let error = |reason: String| HarnessError::Database {
            action: "create",
            name: name.clone(),
            url: persister_postgres::redact_url(&self.admin_url),
            reason,
        };
        let direct_url = url::with_database(&self.admin_url, &name).map_err(error)?;
        let url = match &self.pooled_url {
            Some(pooled) => url::with_database(pooled, &name).map_err(error)?,
            None => direct_url.clone(),
        };
        // The name is generated above from hex digits, never taken from input.
        let sql = format!("CREATE DATABASE \"{name}\"");
        admin_statement(&self.admin_url, sql).await.map_err(error)?;
        Ok(TestDatabase {
            url,
            direct_url,
            pooler: self.pooled_url.is_some(),
            name,
            admin_url: self.admin_url.clone(),
            drop_when_dropped: self.named,
        })
    }
}

/// Drops database `name` of the server at `admin_url`, disconnecting its sessions.
async fn drop_database(admin_url: &str, name: &str) -> Result<(), HarnessError> {
    // The name was generated by `create_database`, never taken from input.
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    admin_statement(admin_url, sql).await.map_err(|reason| HarnessError::Database {
        action: "drop",
        name: name.to_owned(),
        url: persister_postgres::redact_url(admin_url),
        reason,
    })
}

/// Runs one statement on a new connection to `admin_url`.
async fn admin_statement(admin_url: &str, sql: String) -> Result<(), String> {
    let run = async {
        let mut conn = PgConnection::connect(admin_url).await?;
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
        conn.close().await
    };
    match timeout(REACH_TIMEOUT * 2, run).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", (REACH_TIMEOUT * 2).as_secs())),
    }
}

/// Finds the server of this process: `PERSISTER_PG_URL`, else a container, else a local cluster.
async fn find_server() -> Result<Server, HarnessError> {
    if let Some(url) = std::env::var_os(URL_VAR) {
        return match url.into_string() {
            Ok(url) => named_server(&url).await,
            Err(url) => Err(HarnessError::Unreachable {
                url: url.to_string_lossy().into_owned(),
                reason: "the value is not valid UTF-8".into(),
            }),
        };
    }
    let mut tried = vec![format!("- {URL_VAR}: not set")];
    match container::start().await {
        Ok(admin_url) => return Ok(Server { admin_url, pooled_url: None, named: false }),
        Err(reason) => tried.push(format!("- testcontainers: {reason}")),
    }
    match cluster::start_or_reuse().await {
        Ok(admin_url) => return Ok(Server { admin_url, pooled_url: None, named: false }),
        Err(reason) => tried.push(format!("- local PostgreSQL binaries: {reason}")),
    }
    Err(HarnessError::NoServer { tried: tried.join("\n") })
}

/// The server at `url`, once it answered a query within [`REACH_TIMEOUT`].
async fn named_server(url: &str) -> Result<Server, HarnessError> {
    let unreachable = |reason: String| HarnessError::Unreachable {
        url: persister_postgres::redact_url(url),
        reason,
    };
    let check = async {
        let mut conn = PgConnection::connect(url).await?;
        conn.ping().await?;
        conn.close().await
    };
    match timeout(REACH_TIMEOUT, check).await {
        Ok(Ok(())) => Ok(Server { admin_url: url.to_owned(), pooled_url: None, named: true }),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable("no answer".into())),
    }
}

/// `server` with a pooler in front when [`POOLER_VAR`] asks for one.
///
/// # Errors
/// [`HarnessError::Pooler`] for an unknown value, or when the pooler cannot be started.
async fn with_pooler(mut server: Server) -> Result<Server, HarnessError> {
    let Some(value) = std::env::var_os(POOLER_VAR) else {
        return Ok(server);
    };
    let failed = |reason: String| HarnessError::Pooler { reason };
    match value.to_str() {
        Some("pgbouncer") => {
            let admin_url = server.admin_url.clone();
            let pooled = tokio::task::spawn_blocking(move || pgbouncer::start(&admin_url))
                .await
                .map_err(|e| failed(format!("the start-up panicked: {e}")))?
                .map_err(failed)?;
            server.pooled_url = Some(pooled);
            Ok(server)
        }
        other => Err(failed(format!("unknown pooler {other:?}; the one known is `pgbouncer`"))),
    }
}
