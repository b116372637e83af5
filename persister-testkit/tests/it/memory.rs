//! The whole conformance and property suite on the in-memory reference store.

async fn setup() -> persister_testkit::SuiteStore {
    persister_testkit::SuiteStore::new(persister_core::MemoryStore::new())
}

persister_testkit::conformance_suite!(setup);
