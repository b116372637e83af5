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
//!
//! # Features
//!
//! `sqlite` and `postgres` (both on by default) bring in the two backends and what needs
//! their drivers: `TempDb` (`sqlite`), the PostgreSQL harness `pg` (`postgres`), and the
//! benchmark (`bench`) and crash test (`crash`) and their binaries (both).
//! The conformance scenarios, the properties, the reference model, the strategies, the
//! fault-injecting store and the workloads need neither.
//!
//! # A third backend
//!
//! A backend outside this workspace runs the same suite without pulling rusqlite, sqlx or
//! testcontainers: it turns the default features off in its `Cargo.toml`,
//! ```toml
//! [dev-dependencies]
//! persister-testkit = { git = "...", default-features = false }
//! ```
//! and adds one `conformance_suite!(setup);` line to a test file, where `setup` opens a fresh,
//! empty store of that backend:
//! ```ignore
//! async fn setup() -> persister_testkit::SuiteStore {
//!     persister_testkit::SuiteStore::new(my_backend::MyStore::open_empty().await.expect("opens"))
//! }
//! persister_testkit::conformance_suite!(setup);
//! ```

#[cfg(all(feature = "sqlite", feature = "postgres"))]
pub mod bench;
pub mod conformance;
#[cfg(all(feature = "sqlite", feature = "postgres"))]
pub mod crash;
pub mod faulty;
pub mod model;
pub mod pending;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod properties;
pub mod strategies;
#[cfg(feature = "sqlite")]
pub mod temp_db;
pub mod workload;

pub use conformance::SuiteStore;
#[cfg(feature = "sqlite")]
pub use temp_db::TempDb;
