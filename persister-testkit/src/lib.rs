//! Test and benchmark support for forma-persister: realistic workloads, the shared
//! conformance and property suite every backend runs, a reference model, a fault-injecting
//! store, the PostgreSQL harness and temporary SQLite files.
//!
//! A backend runs the whole suite with one line in a test file:
//! ```ignore
//! async fn setup() -> persister_testkit::SuiteStore {
//!     persister_testkit::SuiteStore::new(persister_core::MemoryStore::new())
//! }
//! persister_testkit::conformance_suite!(setup);
//! ```

pub mod bench;
pub mod conformance;
pub mod crash;
pub mod faulty;
pub mod model;
pub mod pg;
pub mod properties;
pub mod strategies;
pub mod temp_db;
pub mod workload;

pub use conformance::SuiteStore;
pub use temp_db::TempDb;
