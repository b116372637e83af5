//! The crash test behind `cargo xtask crash`: a child process replays a workload through the
//! [`PersisterHandle`](persister_core::PersisterHandle) and prints each acknowledged message;
//! the parent kills it with SIGKILL at a random moment, reopens the store and checks that
//! (a) every acknowledged message's effect is present, (b) the stored command equals the
//! reference model after a prefix of the sent messages that contains every acknowledged one
//! (no half-applied message), and (c) resuming after `recover()` completes the command with
//! the expected final state.

mod child;
mod parent;

pub use child::run_child;
pub use parent::{CrashReport, run_parent};

use std::sync::Arc;

use persister_core::{DynCommandStore, StoreError};
use persister_sqlite::{SqliteConfig, SqliteStore};

use crate::workload::Workload;

/// The workload the child replays: W1, one message at a time (so what is applied is always a
/// prefix of the stream, whatever the moment of the kill).
pub fn workload(seed: u64) -> Workload {
    Workload::w1(seed)
}

/// Where the child writes: a SQLite file or a PostgreSQL database URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A SQLite database file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database URL.
    Postgres(String),
}

impl Target {
    /// Opens the store.
    ///
    /// # Errors
    /// The backend's error.
    pub async fn open(&self) -> Result<Arc<DynCommandStore>, StoreError> {
        Ok(match self {
            Self::Sqlite(path) => Arc::new(SqliteStore::open(SqliteConfig::file(path)).await?),
            Self::Postgres(url) => Arc::new(
                persister_postgres::PgStore::connect(persister_postgres::PgConfig::from_url(url))
                    .await?,
            ),
        })
    }

    /// The argument that names the target on the child's command line.
    pub fn arg(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{}", path.display()),
            Self::Postgres(url) => url.clone(),
        }
    }

    /// Parses [`arg`](Self::arg).
    pub fn parse(arg: &str) -> Self {
        match arg.strip_prefix("sqlite:") {
            Some(path) => Self::Sqlite(path.into()),
            None => Self::Postgres(arg.to_owned()),
        }
    }
}
