//! [`SqliteConfig`]: where the database lives and how it is opened.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a write waits for a lock held by another connection, unless configured.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest busy timeout SQLite accepts (`i32::MAX` milliseconds); longer ones are clamped.
const MAX_BUSY_TIMEOUT: Duration = Duration::from_millis(2_147_483_647);

/// How an [`SqliteStore`](crate::SqliteStore) opens its database.
///
/// The default is a private in-memory database with [`Durability::Full`] and a busy timeout of
/// 5 seconds.
///
/// ```
/// use std::time::Duration;
/// use persister_sqlite::{Durability, SqliteConfig};
///
/// let config = SqliteConfig::file("/var/lib/forma/commands.db")
///     .durability(Durability::Normal)
///     .busy_timeout(Duration::from_secs(1));
/// assert_eq!(config.durability, Durability::Normal);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteConfig {
    /// The database file, created when missing; `None` for a private in-memory database that
    /// lives as long as the store.
    pub path: Option<PathBuf>,
    /// When a committed write is on disk.
    pub durability: Durability,
    /// How long a write waits for a lock held by another connection before failing with a
    /// transient error; at most `i32::MAX` milliseconds (longer values are clamped).
    pub busy_timeout: Duration,
    /// Open the database read-only (`SQLITE_OPEN_READ_ONLY`): nothing is migrated or written,
    /// and a schema older or newer than this build's is refused. Default off.
    pub read_only: bool,
}

/// When a committed write is on disk (SQLite's `synchronous` pragma).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous = FULL`: a write is on disk when the method returns, even if the machine
    /// loses power.
    #[default]
    Full,
    /// `synchronous = NORMAL`: a write survives a crash of the process; the last writes before
    /// a power loss may be lost, but the database stays consistent.
    Normal,
}

impl SqliteConfig {
    /// A database in the file at `path`, created when missing.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Self { path: Some(path.as_ref().to_path_buf()), ..Self::default() }
    }

    /// A private in-memory database that lives as long as the store.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Sets when a committed write is on disk.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets how long a write waits for a lock held by another connection.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Opens the database read-only, or not (the default).
    ///
    /// A read-only store never migrates nor writes: it refuses a database whose schema is
    /// older ([`StoreError::SchemaTooOld`](persister_core::StoreError::SchemaTooOld)) or newer
    /// than this build's, and every write fails with a permanent backend error. It can read a
    /// database in WAL mode while another process writes it, as long as that database's
    /// `-wal` and `-shm` files can be opened (the writer has it open, or left them).
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The busy timeout clamped to what SQLite accepts.
    pub(crate) fn effective_busy_timeout(&self) -> Duration {
        self.busy_timeout.min(MAX_BUSY_TIMEOUT)
    }
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            path: None,
            durability: Durability::Full,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            read_only: false,
        }
    }
}

impl Durability {
    /// The value of the `synchronous` pragma.
    pub(crate) const fn synchronous(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}
