//! The whole conformance and property suite on SQLite, in memory and on a file.

use persister_sqlite::{SqliteConfig, SqliteStore};

async fn setup() -> persister_testkit::SuiteStore {
    let store = SqliteStore::open(SqliteConfig::in_memory()).await.expect("in-memory SQLite opens");
    persister_testkit::SuiteStore::new(store)
}

persister_testkit::conformance_suite!(setup);

mod file {
    use persister_sqlite::{SqliteConfig, SqliteStore};

    /// Removes the database files when the test ends.
    struct TempDb(std::path::PathBuf);

    impl Drop for TempDb {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    async fn setup() -> persister_testkit::SuiteStore {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("persister-suite-{}-{n}.db", std::process::id()));
        let store = SqliteStore::open(SqliteConfig::file(&path)).await.expect("SQLite file opens");
        persister_testkit::SuiteStore::new(store).with_guard(TempDb(path))
    }

    persister_testkit::conformance_suite!(setup);
}
