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
    /// A file named on the command line cannot be opened, created or read.
    #[error("{path}: {source}")]
    File {
        /// The file as named.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// `import` was given nothing to read.
    #[error("nothing to import: name a JSON Lines file")]
    NoInput,
    /// An import left commands out (listed above the error).
    #[error("{conflicts} conflict(s) and {failed} failure(s): those commands were not imported")]
    Incomplete {
        /// Commands whose id is stored with another content.
        conflicts: usize,
        /// Commands that could not be read or stored.
        failed: usize,
    },
    /// A formae agent's database cannot be read.
    #[error(transparent)]
    Formae(#[from] crate::formae::FormaeError),
    /// Writing the output failed (a closed pipe, say).
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    /// The process exit code: 3 for "not found", 4 for an import that left commands out, 2
    /// for bad usage (as clap), 1 for every other failure.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::NotFound { .. } => 3,
            Self::NoDatabase | Self::BadUrl(_) | Self::NoInput => 2,
            Self::Incomplete { .. } => 4,
            _ => 1,
        }
    }
}
