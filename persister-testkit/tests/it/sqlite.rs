//! The whole conformance and property suite on SQLite, in memory and on a file.

use persister_sqlite::{SqliteConfig, SqliteStore};

async fn setup() -> persister_testkit::SuiteStore {
    let store = SqliteStore::open(SqliteConfig::in_memory()).await.expect("in-memory SQLite opens");
    persister_testkit::SuiteStore::new(store)
}

persister_testkit::conformance_suite!(setup);

mod file {
    use persister_sqlite::{SqliteConfig, SqliteStore};
    use persister_testkit::TempDb;

    async fn setup() -> persister_testkit::SuiteStore {
        let db = TempDb::new("suite");
        let store = SqliteStore::open(SqliteConfig::file(db.path())).await.expect("opens");
        persister_testkit::SuiteStore::new(store).with_guard(db)
    }

    persister_testkit::conformance_suite!(setup);
}
