//! The storage trait [`CommandStore`] and the rows it stores.
//!
//! Backends store rows and bytes that the core hands them; they never parse the model JSON.

mod keys;
mod memory;
mod rows;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

pub(crate) use keys::first_repeated_key;
pub use keys::check_unique_keys;
pub use memory::MemoryStore;
pub use rows::{
    Checkpoint, CommandRow, Completion, FINAL_COMMAND_STATES, HeaderUpdate, ListFilter,
    ResourceUpdateRow, StoredCommand, WriteOp,
};

use crate::error::StoreError;

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Durable storage of commands: a header row per command and a row per resource update.
///
/// # Contract
/// - Every method is atomic: it takes effect completely or not at all. On `Err` the store is
///   unchanged.
/// - Writes are durable when the method returns `Ok` (to the backend's configured durability).
/// - Writes are fenced by revision: [`apply`](Self::apply) and [`delete`](Self::delete) succeed
///   only if the stored revision equals the one the writer read, and otherwise return
///   [`StoreError::Conflict`] without writing.
/// - Resource update rows keep their `position`; loads return them ordered by position.
/// - A backend never interprets the JSON it stores; it only keeps the bytes.
///
/// # Wrappers
/// Decorators (fault injection, instrumentation) implement this trait over an inner
/// `Arc<DynCommandStore>` and forward every method.
#[async_trait]
pub trait CommandStore: Send + Sync + Debug + 'static {
    /// Inserts a new command with its resource updates, at revision 0.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] when the id is taken; [`StoreError::DuplicateKey`] when two
    /// rows share a (KSUID, operation) key.
    async fn insert(&self, command: StoredCommand) -> StoreResult<()>;

    /// Applies the write set of one message in one transaction: the header's mutable fields,
    /// then each listed resource update row (matched by position), and bumps the revision to
    /// `checkpoint.expected_revision + 1`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Conflict`], or a backend error; in every case
    /// nothing was written.
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()>;

    /// Deletes a command and its resource updates if its revision is `expected_revision`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Conflict`]; nothing was deleted.
    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()>;

    /// Applies `ops` in order in ONE transaction: all of them, or none (group commit).
    ///
    /// Each op has the semantics and errors of the single-op method; the first error rolls the
    /// whole batch back and is returned.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()>;

    /// Loads a command with its resource updates ordered by position, or `None`.
    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>>;

    /// Lists command headers matching `filter`, most recent (`start_ts`) first.
    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>>;

    /// Lists the ids of commands whose state is not in [`FINAL_COMMAND_STATES`], oldest first.
    async fn list_unfinished(&self) -> StoreResult<Vec<String>>;
}

/// A command store behind a trait object.
pub type DynCommandStore = dyn CommandStore;

/// Convenience methods for every [`CommandStore`]; implemented for all stores, never by hand.
#[async_trait]
pub trait CommandStoreExt: CommandStore {
    /// True when a command with this id is stored.
    async fn exists(&self, id: &str) -> StoreResult<bool> {
        Ok(self.load(id).await?.is_some())
    }
}

impl<T: CommandStore + ?Sized> CommandStoreExt for T {}

#[async_trait]
impl<T: CommandStore + ?Sized> CommandStore for Arc<T> {
    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        (**self).insert(command).await
    }
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        (**self).apply(checkpoint).await
    }
    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()> {
        (**self).delete(id, expected_revision).await
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        (**self).write_batch(ops).await
    }
    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        (**self).load(id).await
    }
    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        (**self).list(filter).await
    }
    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        (**self).list_unfinished().await
    }
}
