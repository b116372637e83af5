//! The core of forma-persister: the Forma command model and its Go-compatible JSON codec, the
//! [`CommandStore`] trait, the cache of active commands with its O(1) index, finalization
//! (hashing of opaque values, deletion of unchanged sync commands) and the [`Persister`].
//!
//! Every message is one atomic store transaction that writes only what changed: a progress
//! report on a cached command decodes nothing and encodes one resource update and the
//! command's small head.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use persister_core::{
//!     Ack, FormaCommand, MemoryStore, Operation, Persister, ResourceCompletion, ResourceUpdate,
//!     ResourceUpdateState, CommandState,
//! };
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mut persister = Persister::new(Arc::new(MemoryStore::new()));
//! let mut ru = ResourceUpdate { operation: Operation::Create, ..Default::default() };
//! ru.resource.ksuid = "2qJ1".into();
//! let command = FormaCommand {
//!     id: "2qH1".into(),
//!     resource_updates: vec![ru],
//!     ..Default::default()
//! };
//! persister.store_new(command).await?;
//! let ack = persister
//!     .complete(ResourceCompletion {
//!         command_id: "2qH1".into(),
//!         resource_uri: "formae://2qJ1#".into(),
//!         operation: Operation::Create,
//!         final_state: ResourceUpdateState::Success,
//!         ..Default::default()
//!     })
//!     .await?;
//! assert_eq!(ack, Ack::Finalized);
//! assert_eq!(persister.load("2qH1").await?.state, CommandState::Success);
//! # Ok::<(), persister_core::Error>(())
//! # }).unwrap();
//! ```
#![deny(rustdoc::broken_intra_doc_links)]

pub mod blocking;
mod cache;
pub mod codec;
mod error;
mod finalize;
mod handle;
mod messages;
mod model;
mod overall;
mod persister;
mod retention;
mod retry;
mod store;

pub use cache::CacheStats;
pub use error::{BoxError, CodecError, Error, Result, StoreError};
pub use finalize::OpaqueFields;
pub use handle::{HandleConfig, PersisterHandle};
pub use messages::{Ack, Message, Reply, ResourceCompletion, ResourceProgress};
pub use model::*;
pub use overall::overall_state;
pub use persister::{
    Clock, CodecStats, Persister, PersisterConfig, PersisterStats, Recovery, RecoveryFailure,
};
pub use store::columns;
pub use store::{
    BatchWrite, Checkpoint, CommandRow, CommandStore, CommandStoreExt, CommandSummary, Completion,
    Cursor, CursorError, DynCommandStore, FINAL_COMMAND_STATES, HeaderUpdate, ListFilter,
    MemoryStore, PurgedCommand, ResourceUpdateChange, ResourceUpdateRow, StoreInfo, StoreResult,
    StoredCommand, SummaryColumns, SummaryPage, WriteOp, check_unique_keys, coalesce, exact_key,
    from_exact_key,
};

/// Opaque value hashing, exposed for reference models, tests and tools (the SHA-256 digests
/// equal the Go agent's).
pub mod hashing {
    pub use crate::finalize::{
        Hashed, hash_command, hash_progress, hash_raw, hash_resource, hash_resource_update,
        opaque_names, sha256_hex, should_delete,
    };
}
