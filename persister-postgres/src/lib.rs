//! The PostgreSQL backend of forma-persister: [`PgStore`] implements
//! [`CommandStore`](persister_core::CommandStore) over a sqlx connection pool, configured with
//! [`PgConfig`].
//!
//! Each store operation is one transaction; rows of a command are written with one statement
//! per table. The schema is migrated on connect from SQL files embedded in the crate, and a
//! database migrated by a newer version is refused.
//!
//! # Example
//! ```no_run
//! use persister_core::{CommandRow, CommandStore, StoredCommand};
//! use persister_postgres::{PgConfig, PgStore};
//!
//! # async fn example() -> Result<(), persister_core::StoreError> {
//! let store = PgStore::connect(PgConfig::from_url("postgres://forma@localhost/forma")).await?;
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
//! # Ok(())
//! # }
//! ```
#![deny(rustdoc::broken_intra_doc_links)]

mod config;
mod error;
mod hosts;
mod list;
mod migrate;
mod retention;
mod schema;
mod session;
mod store;
mod write;

pub use config::{PgConfig, redact_url};
pub use migrate::supported_version as schema_version;
pub use store::PgStore;
