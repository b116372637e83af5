//! The embedded SQLite backend of forma-persister: [`SqliteStore`] implements
//! [`CommandStore`](persister_core::CommandStore) over one SQLite database file (or an
//! in-memory database), configured with [`SqliteConfig`].
//!
//! One worker thread owns the connection, so SQLite never blocks the async runtime; each store
//! operation is one transaction on that thread. The schema is migrated on open from SQL files
//! embedded in the crate, and a database written by a newer version is refused.
//!
//! # Example
//! ```
//! use persister_core::{CommandRow, CommandStore, StoredCommand};
//! use persister_sqlite::{SqliteConfig, SqliteStore};
//!
//! # tokio::runtime::Runtime::new().expect("runtime").block_on(async {
//! let store = SqliteStore::open(SqliteConfig::in_memory()).await?;
//! let header = CommandRow {
//!     id: "2qH1".into(),
//!     command: "apply".into(),
//!     state: "InProgress".into(),
//!     client_id: None,
//!     start_ts: 1_700_000_000_000_000,
//!     start_ts_ns: 0,
//!     modified_ts: 1_700_000_000_000_000,
//!     modified_ts_ns: 0,
//!     revision: 0,
//!     stored_bytes: 4,
//!     body: "{}".into(),
//!     head: "{}".into(),
//! };
//! store.insert(StoredCommand { header: header.clone(), resource_updates: vec![] }).await?;
//! let loaded = store.load("2qH1").await?.expect("stored");
//! assert_eq!(loaded.header, header);
//! assert_eq!(store.list_unfinished().await?, ["2qH1"]);
//! # Ok::<(), persister_core::StoreError>(())
//! # }).expect("example");
//! ```
#![deny(rustdoc::broken_intra_doc_links)]

mod config;
mod error;
mod list;
mod load;
mod retention;
mod schema;
mod store;
mod worker;

pub use config::{Durability, SqliteConfig};
pub use schema::SCHEMA_VERSION;
pub use store::SqliteStore;

/// The README's examples, compiled as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
