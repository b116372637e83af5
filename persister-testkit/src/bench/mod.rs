//! The benchmark behind `cargo xtask bench`: replays the workloads through five designs on
//! the same backend, with the same durability and the same codec, in one run.
//!
//! - `naive`: load, parse, patch, encode and write the whole command for every message.
//! - `seed`: parse once and cache, but encode and write the whole command for every message.
//! - `ours`: the persister (cache, O(1) index, incremental writes).
//! - `floor`: the rows and bytes `ours` wrote, written by plain SQL in the same transactions.
//! - `floor-whole`: the same transactions with every resource update written whole, as rows
//!   were stored before the fixed part and the progress were split (`--design floor` runs
//!   both floors).
//!
//! On SQLite every design has its own file; on PostgreSQL its own fresh database from
//! [`crate::pg::test_database`], dropped again after each workload.

mod docstore;
mod flood;
mod floor;
pub mod measure;
mod pg_docstore;
mod pg_floor;
mod place;
mod recording;
pub mod report;
mod run;

use std::path::PathBuf;

pub use run::run;

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// SQLite failed in a baseline design.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed in a baseline design.
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
    /// No PostgreSQL database could be provided.
    #[error("postgres harness: {0}")]
    Harness(#[from] crate::pg::HarnessError),
    /// The persister failed.
    #[error("persister: {0}")]
    Persister(#[from] persister_core::Error),
    /// A store failed.
    #[error("store: {0}")]
    Store(#[from] persister_core::StoreError),
    /// JSON failed.
    #[error("codec: {0}")]
    Codec(#[from] persister_core::CodecError),
    /// A file could not be written.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A baseline lost a command.
    #[error("command {0} missing from the document table")]
    Missing(String),
    /// A `floor` write matched no row: the replay diverged from what `ours` wrote.
    #[error("floor: {0}")]
    Floor(String),
    /// The options ask for something this build cannot do.
    #[error("{0}")]
    Unsupported(String),
}

/// Which workloads to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum WorkloadKind {
    /// One command of 196 resource updates.
    W1,
    /// 40 commands of mixed sizes, interleaved.
    W2,
    /// One command of 2,000 resource updates.
    W3,
    /// 50 commands of 196 resources, one task per resource, all calls at once, through the
    /// async handle with group commit on and off.
    Flood,
}

/// Durability of every design's database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// Every commit is flushed to disk before it returns. SQLite: `synchronous=FULL`.
    /// PostgreSQL: the server's defaults, `synchronous_commit=on` and `fsync=on` (nothing is
    /// set; a server configured otherwise is measured as configured).
    Full,
    /// SQLite: `synchronous=NORMAL`, WAL commits are not fsynced (durable across process
    /// crashes, not power loss). PostgreSQL: its analogue, `synchronous_commit=off` on every
    /// connection of every design: a commit returns before its WAL is flushed, which the WAL
    /// writer does within a few hundred milliseconds (durable across crashes of the client, not
    /// of the server or the machine; the database stays consistent either way).
    Normal,
}

impl Durability {
    /// The SQLite `synchronous` value.
    pub fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Normal => "normal",
        }
    }

    /// The PostgreSQL `synchronous_commit` value set on every connection, or `None` for the
    /// server's default.
    pub fn synchronous_commit(self) -> Option<&'static str> {
        match self {
            Self::Full => None,
            Self::Normal => Some("off"),
        }
    }
}

/// The backend every design runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Embedded SQLite on a file.
    Sqlite,
    /// PostgreSQL, found as the tests find it ([`crate::pg::test_database`]).
    Postgres,
}

impl Backend {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The backend.
    pub backend: Backend,
    /// The workloads, in order.
    pub workloads: Vec<WorkloadKind>,
    /// Shorter message streams (commands stay full size).
    pub quick: bool,
    /// Durability.
    pub durability: Durability,
    /// The workload seed.
    pub seed: u64,
    /// Where SQLite database files go (a fresh directory is made inside).
    pub dir: PathBuf,
    /// Whether to draw progress bars.
    pub progress: bool,
    /// Only these designs (`ours` always runs: `floor` replays its writes); all when empty.
    pub designs: Vec<String>,
    /// Live heap bytes of the process, when the binary counts its allocations.
    pub heap_bytes: Option<fn() -> usize>,
}

impl BenchOptions {
    fn runs(&self, design: &str) -> bool {
        self.designs.is_empty() || self.designs.iter().any(|d| d == design)
    }
}
