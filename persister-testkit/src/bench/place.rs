//! Where the designs keep their data, and their storage behind one interface for both
//! backends: a file per design in a directory for SQLite, a fresh database per design for
//! PostgreSQL.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use persister_core::{DynCommandStore, FormaCommand, Timestamp};
use persister_postgres::PgStore;
use persister_sqlite::{SqliteConfig, SqliteStore};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection};

use super::docstore::DocStore;
use super::floor::Floor;
use super::pg_docstore::PgDocStore;
use super::pg_floor::PgFloor;
use super::recording::Write;
use super::{Backend, BenchError, BenchOptions, Durability};
use crate::pg::{self, TestDatabase};
use crate::workload::Message;

/// The most connections of a store's pool, as [`TestDatabase::store`] opens.
const STORE_POOL_SIZE: u32 = 5;

/// Where the designs of a workload keep their data until [`clear`](Self::clear).
#[derive(Debug)]
pub(super) enum Place {
    /// SQLite files in `dir`, made when first needed.
    Sqlite {
        /// The directory, private to this process.
        dir: PathBuf,
        /// The durability of every file.
        durability: Durability,
    },
    /// One fresh PostgreSQL database per design.
    Postgres {
        /// The databases made since the last [`clear`](Place::clear).
        databases: Vec<TestDatabase>,
        /// The durability of every connection.
        durability: Durability,
    },
}

/// `floor` on either backend.
#[derive(Debug)]
pub(super) enum FloorDb {
    /// On SQLite.
    Sqlite(Floor),
    /// On PostgreSQL.
    Postgres(PgFloor),
}

/// `naive` or `seed` on either backend.
#[derive(Debug)]
pub(super) enum Documents {
    /// On SQLite.
    Sqlite(DocStore),
    /// On PostgreSQL.
    Postgres(PgDocStore),
}

impl Place {
    /// The place for `options.backend`.
    pub(super) fn new(options: &BenchOptions) -> Self {
        let durability = options.durability;
        match options.backend {
            Backend::Sqlite => {
                let dir = options.dir.join(format!("persister-bench-{}", std::process::id()));
                Self::Sqlite { dir, durability }
            }
            Backend::Postgres => Self::Postgres { databases: Vec::new(), durability },
        }
    }

    /// Whether the backend's store blocks its caller's thread when that thread may block
    /// ([`persister_core::blocking`]): SQLite's does, PostgreSQL's awaits its pool.
    pub(super) fn store_blocks(&self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }

    /// A fresh store of the backend for `ours` and the flood; `name` names its file.
    pub(super) async fn store(&mut self, name: &str) -> Result<Arc<DynCommandStore>, BenchError> {
        match self {
            Self::Sqlite { dir, durability } => {
                let durability = match durability {
                    Durability::Full => persister_sqlite::Durability::Full,
                    Durability::Normal => persister_sqlite::Durability::Normal,
                };
                let config = SqliteConfig::file(file(dir, name)?).durability(durability);
                Ok(Arc::new(SqliteStore::open(config).await?))
            }
            Self::Postgres { databases, durability } => {
                let db = pg::test_database().await?;
                let store = pg_store(&db, *durability).await;
                databases.push(db);
                Ok(Arc::new(store?))
            }
        }
    }

    /// A fresh database with the backend's schema for `floor`.
    pub(super) async fn floor(&mut self, name: &str) -> Result<FloorDb, BenchError> {
        match self {
            Self::Sqlite { dir, durability } => {
                let path = file(dir, name)?;
                // The backend creates the schema; the floor then writes with plain SQL.
                drop(SqliteStore::open(SqliteConfig::file(&path)).await?);
                Ok(FloorDb::Sqlite(Floor::open(&path, durability.pragma())?))
            }
            Self::Postgres { databases, durability } => {
                let db = pg::test_database().await?;
                let floor = pg_floor(&db, *durability).await;
                databases.push(db);
                Ok(FloorDb::Postgres(floor?))
            }
        }
    }

    /// A fresh document table for `naive` (`cached` false) or `seed` (`cached` true).
    pub(super) async fn documents(
        &mut self,
        name: &str,
        cached: bool,
        now: Timestamp,
    ) -> Result<Documents, BenchError> {
        match self {
            Self::Sqlite { dir, durability } => {
                let path = file(dir, name)?;
                Ok(Documents::Sqlite(DocStore::open(&path, durability.pragma(), cached, now)?))
            }
            Self::Postgres { databases, durability } => {
                let db = pg::test_database().await?;
                let docs = pg_documents(&db, *durability, cached, now).await;
                databases.push(db);
                Ok(Documents::Postgres(docs?))
            }
        }
    }

    /// Deletes every file or database made so far.
    ///
    /// # Errors
    /// The first database that could not be dropped (the others are dropped all the same).
    pub(super) async fn clear(&mut self) -> Result<(), BenchError> {
        match self {
            Self::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
                Ok(())
            }
            Self::Postgres { databases, .. } => {
                let mut result = Ok(());
                for db in databases.drain(..) {
                    result = result.and(db.cleanup().await);
                }
                Ok(result?)
            }
        }
    }
}

impl FloorDb {
    /// Replays one recorded write in one transaction.
    pub(super) async fn replay(&mut self, write: &Write) -> Result<(), BenchError> {
        match self {
            Self::Sqlite(floor) => floor.replay(write),
            Self::Postgres(floor) => floor.replay(write).await,
        }
    }
}

impl Documents {
    /// Stores a new command; returns the bytes written.
    pub(super) async fn store(&mut self, command: &FormaCommand) -> Result<usize, BenchError> {
        match self {
            Self::Sqlite(docs) => docs.store(command),
            Self::Postgres(docs) => docs.store(command).await,
        }
    }

    /// Applies one message and writes the whole document back; returns the bytes written.
    pub(super) async fn apply(&mut self, message: Message) -> Result<usize, BenchError> {
        match self {
            Self::Sqlite(docs) => docs.apply(message),
            Self::Postgres(docs) => docs.apply(message).await,
        }
    }
}

/// The path of SQLite file `name` in `dir`, made if needed.
fn file(dir: &Path, name: &str) -> Result<PathBuf, BenchError> {
    std::fs::create_dir_all(dir)?;
    Ok(dir.join(format!("{name}.db")))
}

/// How every design connects to `db`: with `--durability normal`, `synchronous_commit=off` is
/// a startup parameter of every connection (the same as `SET synchronous_commit = off` on it).
fn connect_options(
    db: &TestDatabase,
    durability: Durability,
) -> Result<PgConnectOptions, BenchError> {
    let options = PgConnectOptions::from_str(db.url())?;
    Ok(match durability.synchronous_commit() {
        Some(value) => options.options([("synchronous_commit", value)]),
        None => options,
    })
}

/// One plain connection to `db`.
async fn connect(db: &TestDatabase, durability: Durability) -> Result<PgConnection, BenchError> {
    Ok(connect_options(db, durability)?.connect().await?)
}

/// The product's store on `db`: [`TestDatabase::store`], or the same pool with
/// `synchronous_commit=off` for `--durability normal`.
async fn pg_store(db: &TestDatabase, durability: Durability) -> Result<PgStore, BenchError> {
    if durability.synchronous_commit().is_none() {
        return Ok(db.store().await?);
    }
    let pool = PgPoolOptions::new()
        .max_connections(STORE_POOL_SIZE)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(connect_options(db, durability)?)
        .await?;
    Ok(PgStore::from_pool(pool).await?)
}

/// `floor` on `db`: the product's store migrates it, then a plain connection writes.
async fn pg_floor(db: &TestDatabase, durability: Durability) -> Result<PgFloor, BenchError> {
    let store = db.store().await?;
    store.close().await;
    Ok(PgFloor::new(connect(db, durability).await?))
}

/// `naive` or `seed` on `db`, over a plain connection.
async fn pg_documents(
    db: &TestDatabase,
    durability: Durability,
    cached: bool,
    now: Timestamp,
) -> Result<PgDocStore, BenchError> {
    PgDocStore::open(connect(db, durability).await?, cached, now).await
}
