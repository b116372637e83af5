//! The whole conformance and property suite on PostgreSQL, one fresh database per test.

async fn setup() -> persister_testkit::SuiteStore {
    let db = persister_testkit::pg::test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let store = db.store().await.expect("the test database accepts connections");
    persister_testkit::SuiteStore::new(store).with_guard(db)
}

persister_testkit::conformance_suite!(setup);
