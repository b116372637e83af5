//! [`TempDb`]: a SQLite database file in the temporary directory for one test.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use persister_sqlite::{SqliteConfig, SqliteStore};

/// A unique SQLite file path in the temporary directory; the file and its WAL files are
/// removed when this is dropped.
#[derive(Debug)]
pub struct TempDb(PathBuf);

impl TempDb {
    /// A path no other `TempDb` of this process uses, named after `tag`.
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("persister-{tag}-{}-{n}.db", std::process::id());
        Self(std::env::temp_dir().join(name))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Opens a store on the file.
    ///
    /// # Panics
    /// When SQLite cannot open it.
    pub async fn open(&self) -> Arc<SqliteStore> {
        Arc::new(SqliteStore::open(SqliteConfig::file(&self.0)).await.expect("SQLite file opens"))
    }

    /// A second, plain connection to the same file, for writing what the store never would.
    ///
    /// # Panics
    /// When SQLite cannot open it.
    pub fn raw(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(&self.0).expect("raw connection opens");
        conn.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
        conn
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            // A file that was never created has nothing to remove.
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}
