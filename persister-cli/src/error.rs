//! [`CliError`]: every way a command can fail, each one line naming what was wrong.

use persister_core::{Error, StoreError};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// No `--db` and no `FORMA_PERSISTER_DB`.
    #[error(
        "no database given: pass --db sqlite:PATH or --db postgres://... (or set FORMA_PERSISTER_DB)"
    )]
    NoDatabase,
    /// `--db` is neither `sqlite:` nor `postgres://`.
    #[error("{0:?} is not a database: use sqlite:PATH or postgres://user:pass@host:port/db")]
    BadUrl(String),
    /// The database cannot be opened (missing, not a database, another program's, too new).
    #[error("cannot open {db}: {source}")]
    Open {
        /// The database, its password redacted.
        db: String,
        /// Why.
        source: StoreError,
    },
    /// The command asked for is not stored.
    #[error("no command {id} in {db}")]
    NotFound {
        /// The command id.
        id: String,
        /// The database, its password redacted.
        db: String,
    },
    /// A store or persister error while reading or writing.
    #[error("{db}: {source}")]
    Store {
        /// The database, its password redacted.
        db: String,
        /// Why.
        source: Error,
    },
    /// Writing the output failed (a closed pipe, say).
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    /// The process exit code: 3 for "not found", 1 for every other failure (clap uses 2 for
    /// bad usage).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::NotFound { .. } => 3,
            Self::NoDatabase | Self::BadUrl(_) => 2,
            _ => 1,
        }
    }
}
