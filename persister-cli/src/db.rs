//! Opening the database named by `--db`: SQLite (`sqlite:PATH`) or PostgreSQL
//! (`postgres://...`), read-only for the commands that only read.

use std::path::Path;
use std::sync::Arc;

use persister_core::{CommandSummary, DynCommandStore, Error, ListFilter, StoreError};
use persister_postgres::{PgConfig, PgStore, redact_url};
use persister_sqlite::{SqliteConfig, SqliteStore};

use crate::error::CliError;
use crate::paging::Summaries;

/// Summaries read per query by [`Db::each_summary`].
const PAGE: u32 = 1000;

/// Whether the command writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Only reads: the database is opened read-only and never migrated.
    ReadOnly,
    /// Deletes (purge).
    ReadWrite,
    /// Writes, creating a SQLite file that does not exist yet (import).
    Create,
}

/// An open database.
#[derive(Debug)]
pub(crate) struct Db {
    /// The store.
    pub(crate) store: Arc<DynCommandStore>,
    /// The database as the user named it, its password redacted, for messages.
    pub(crate) name: String,
}

impl Db {
    /// Opens `url` for `access`.
    ///
    /// # Errors
    /// [`CliError::BadUrl`] for an unknown scheme; [`CliError::Open`] naming the database when
    /// it is missing, not a database, another program's, or of a newer schema.
    pub(crate) async fn open(url: &str, access: Access) -> Result<Self, CliError> {
        let read_only = access == Access::ReadOnly;
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            let name = format!("sqlite:{path}");
            if !(access == Access::Create || Path::new(path).is_file()) {
                let source = StoreError::Backend {
                    backend: "sqlite",
                    transient: false,
                    source: "no such file".into(),
                };
                return Err(CliError::Open { db: name, source });
            }
            let config = SqliteConfig::file(path).read_only(read_only);
            let store = SqliteStore::open(config)
                .await
                .map_err(|source| CliError::Open { db: name.clone(), source })?;
            return Ok(Self { store: Arc::new(store), name });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let name = redact_url(url);
            let config = PgConfig::from_url(url).read_only(read_only);
            let store = PgStore::connect(config)
                .await
                .map_err(|source| CliError::Open { db: name.clone(), source })?;
            return Ok(Self { store: Arc::new(store), name });
        }
        Err(CliError::BadUrl(redact_url(url)))
    }

    /// Calls `visit` with every summary `filter` selects, newest first, reading a page of
    /// [`PAGE`] at a time (memory stays flat whatever the database's size).
    pub(crate) async fn each_summary(
        &self,
        filter: &ListFilter,
        mut visit: impl FnMut(CommandSummary) -> Result<(), CliError>,
    ) -> Result<(), CliError> {
        let mut summaries = Summaries::new(self, filter, PAGE);
        while let Some(summary) = summaries.next().await? {
            visit(summary)?;
        }
        Ok(())
    }

    /// A store error on this database, as a command-line error.
    pub(crate) fn error(&self, source: impl Into<Error>) -> CliError {
        CliError::Store { db: self.name.clone(), source: source.into() }
    }

    /// Closes the database (queued writes finish; SQLite checkpoints its WAL).
    pub(crate) async fn close(self) -> Result<(), CliError> {
        let result = self.store.close().await;
        result.map_err(|e| CliError::Store { db: self.name, source: e.into() })
    }
}
