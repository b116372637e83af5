//! The storage trait [`CommandStore`] and the rows it stores.
//!
//! Backends store rows and bytes that the core hands them; they never parse the model JSON,
//! except in a migration that changes how it is stored, which goes through
//! [`codec`](crate::codec) (migration 3 splits each resource update with
//! [`codec::split_resource_update`](crate::codec::split_resource_update)).

mod batch;
pub mod columns;
mod filter;
mod keys;
mod memory;
mod rows;
mod summary;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

pub use batch::{BatchWrite, coalesce};
pub use filter::ListFilter;
pub use keys::check_unique_keys;
pub(crate) use keys::first_repeated_key;
pub use memory::MemoryStore;
pub use rows::{
    Checkpoint, CommandRow, Completion, FINAL_COMMAND_STATES, HeaderUpdate, ResourceUpdateChange,
    ResourceUpdateRow, StoredCommand, WriteOp,
};
pub use summary::{
    CommandSummary, Cursor, CursorError, PurgedCommand, StoreInfo, SummaryColumns, SummaryPage,
    exact_key, from_exact_key,
};

use crate::error::StoreError;
use crate::model::Timestamp;

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Durable storage of commands: a header row per command and a row per resource update.
///
/// # Contract
/// - Every write is atomic: it takes effect completely or not at all, and is never seen
///   half-done.
/// - Writes are durable when the method returns `Ok` (to the backend's configured durability).
/// - Writes are fenced by revision: [`apply`](Self::apply) and [`delete`](Self::delete) succeed
///   only if the stored revision equals the one the writer read, and otherwise return
///   [`StoreError::Conflict`] without writing.
/// - Resource update rows keep their `position`; loads return them ordered by position.
/// - A backend never interprets the JSON it stores; it only keeps the bytes.
///
/// # Errors and what they promise
/// - [`StoreError::NotFound`], [`StoreError::AlreadyExists`], [`StoreError::Conflict`],
///   [`StoreError::DuplicateKey`], [`StoreError::Corrupt`], [`StoreError::TooLarge`] and
///   [`StoreError::Closed`] returned by a write are found before anything is committed:
///   **nothing was written**.
/// - [`StoreError::Backend`] returned by a write means it did not take effect: raised before
///   the commit, or by a commit the backend knows it rolled back.
///   [`StoreError::is_transient`] says whether retrying may help.
/// - [`StoreError::OutcomeUnknown`] means the write was sent to be committed and no answer
///   came (a connection that broke after `COMMIT` was sent): it took effect entirely or not
///   at all, and the caller cannot tell which from the error. Every write moves the
///   revisions it touches (an insert creates revision 0, an apply bumps it, a delete removes
///   the row), so [`revision`](Self::revision) read afterwards tells which; a blind retry is
///   not safe, since a retried [`insert`](Self::insert) whose first attempt took effect gets
///   [`StoreError::AlreadyExists`] and a retried [`apply`](Self::apply) or
///   [`delete`](Self::delete) [`StoreError::Conflict`] or [`StoreError::NotFound`].
/// - Reads change nothing, whatever they return.
///
/// # Wrappers
/// Decorators (fault injection, instrumentation) implement this trait over an inner
/// `Arc<DynCommandStore>` and forward every method.
#[async_trait]
pub trait CommandStore: Send + Sync + Debug + 'static {
    /// Closes the store: waits until every operation already started or queued has finished,
    /// then closes the backend's connections (SQLite checkpoints its WAL, so the file can be
    /// copied, moved or opened elsewhere once this returns).
    ///
    /// Closing is idempotent: a later `close` is a no-op that returns `Ok`. Any other method
    /// called after `close` fails with [`StoreError::Closed`], which promises that nothing was
    /// written. A store without connections may make `close` a no-op and stay usable
    /// ([`MemoryStore`] does). A wrapper forwards `close` to the store it wraps.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend cannot close a connection cleanly (the store
    /// is closed anyway).
    async fn close(&self) -> StoreResult<()>;

    /// Inserts a new command with its resource updates, at revision 0 (whatever revision
    /// `command` carries).
    ///
    /// # Errors
    /// Nothing was written after any of these:
    /// [`StoreError::AlreadyExists`] when the id is taken (checked first);
    /// [`StoreError::DuplicateKey`] when two rows share a (KSUID, operation) key
    /// ([`check_unique_keys`], decision D1);
    /// [`StoreError::TooLarge`] when a value exceeds the backend's limit.
    /// [`StoreError::Backend`] for anything else (nothing was written);
    /// [`StoreError::OutcomeUnknown`] when the commit's answer was lost (see the trait
    /// documentation).
    async fn insert(&self, command: StoredCommand) -> StoreResult<()>;

    /// Applies the write set of one message in one transaction: the header's mutable fields,
    /// then each listed resource update row (matched by position; when a position is listed
    /// twice the later row wins), and bumps the revision to
    /// `checkpoint.expected_revision + 1`.
    ///
    /// # Errors
    /// Nothing was written after any of these:
    /// [`StoreError::NotFound`] when no command has the id;
    /// [`StoreError::Conflict`] when its revision is not `expected_revision` (checked before
    /// the rows);
    /// [`StoreError::Corrupt`] naming `resource_updates[position]` when a listed position
    /// has no row;
    /// [`StoreError::TooLarge`] when a value exceeds the backend's limit.
    /// [`StoreError::Backend`] for anything else (nothing was written);
    /// [`StoreError::OutcomeUnknown`] when the commit's answer was lost.
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()>;

    /// Deletes a command and its resource updates if its revision is `expected_revision`.
    ///
    /// # Errors
    /// Nothing was deleted after any of these:
    /// [`StoreError::NotFound`] when no command has the id;
    /// [`StoreError::Conflict`] when its revision is not `expected_revision`.
    /// [`StoreError::Backend`] for anything else (nothing was written);
    /// [`StoreError::OutcomeUnknown`] when the commit's answer was lost.
    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()>;

    /// Applies `ops` in ONE transaction, all of them or none (group commit); an empty batch
    /// does nothing.
    ///
    /// - **Order.** The ops of one command take effect in the given order, each seeing the
    ///   effect of those before it (an apply after an insert of its id finds revision 0; an
    ///   insert after a delete of its id succeeds). Ops on different commands read and write
    ///   disjoint rows, so they commute: a backend may apply them in another order, keeping
    ///   each command's ops in order, and the result of a batch that succeeds is that of
    ///   applying `ops` one by one in the given order. (PostgreSQL groups the ops by command
    ///   and merges consecutive applies of one command into one statement.)
    /// - **All or nothing.** When an op fails, no op of the batch takes effect, those before
    ///   the failing one included; the errors that promise nothing was written are those of
    ///   the single-op methods.
    /// - **The error.** A failed batch returns the error the failing op would have returned
    ///   at its place in the batch, as its single-op method defines it. When several ops would
    ///   fail, it is the first failure in the order the backend applied them: the first in
    ///   `ops` for `MemoryStore` and SQLite; for PostgreSQL the first of the first command
    ///   (commands taken in the order of their first op) with a failing op.
    ///
    /// # Errors
    /// Those of [`insert`](Self::insert), [`apply`](Self::apply) and
    /// [`delete`](Self::delete), for the failing op. [`StoreError::TooLarge`] may also come
    /// from merged applies that are too large together although each one alone is not
    /// (PostgreSQL). [`StoreError::OutcomeUnknown`] when the commit's answer was lost: then the
    /// whole batch took effect or none of it.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()>;

    /// Loads a command with its resource updates ordered by position, or `None`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a stored column cannot be read as the row type says (text
    /// that is not UTF-8, an unknown completion code); [`StoreError::Backend`] otherwise.
    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>>;

    /// The stored revision of a command, or `None` when no command has the id: how a caller
    /// finds out whether a write that returned [`StoreError::OutcomeUnknown`] took effect.
    ///
    /// The default loads the whole command; backends override it with a read of the header.
    ///
    /// # Errors
    /// As [`load`](Self::load). Nothing is changed.
    async fn revision(&self, id: &str) -> StoreResult<Option<i64>> {
        Ok(self.load(id).await?.map(|stored| stored.header.revision))
    }

    /// Lists the headers of the commands matching `filter`: most recent exact `StartTs`
    /// first (`start_ts`, then `start_ts_ns`), ties by id in descending byte order, then cut
    /// to `filter.limit`; the order and filters of
    /// [`list_summaries`](Self::list_summaries), with the full headers.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a header cannot be read; [`StoreError::Backend`]
    /// otherwise.
    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>>;

    /// Lists the ids of commands whose state is not in [`FINAL_COMMAND_STATES`]: oldest
    /// `start_ts` first, ties by id in ascending byte order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when an id cannot be read; [`StoreError::Backend`] otherwise.
    async fn list_unfinished(&self) -> StoreResult<Vec<String>>;

    /// Lists one page of command summaries matching `filter`: header columns, resource
    /// update counts and [`CommandRow::stored_bytes`], never the command's JSON, in one
    /// query whatever the page size.
    ///
    /// Ordered by exact `StartTs` (microseconds, then the nanoseconds below them) descending,
    /// ties by id in descending byte order; `filter.after` starts after that cursor and
    /// `filter.limit` is the page size (no limit: one page of everything). `next` is the
    /// cursor of the page's last command when more commands match after it, else `None`.
    /// Paging is stable: following `next` from the first page lists every command that
    /// matched throughout exactly once.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a header's state, kind or time cannot be read (the whole
    /// page fails); [`StoreError::Backend`] otherwise. Nothing is changed.
    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage>;

    /// Deletes, in one short transaction, at most `max_rows` commands whose state is final
    /// ([`FINAL_COMMAND_STATES`]) and whose exact `ModifiedTs` is before `before`, oldest
    /// `ModifiedTs` first (ties by id ascending), with their resource updates, and returns
    /// them in that order. A command that is not final is never removed, whatever its age.
    ///
    /// The deletion is not fenced by revision: a writer holding such a command gets
    /// [`StoreError::NotFound`] on its next write.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a selected command's state or time cannot be read:
    /// nothing was deleted. [`StoreError::Backend`] otherwise (nothing was deleted);
    /// [`StoreError::OutcomeUnknown`] when the commit's answer was lost (a retry deletes what
    /// the first attempt did not).
    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>>;

    /// Gives the space freed by deletions back where the backend can do so without blocking
    /// writers for long; the stored commands are unchanged. What it does is the backend's
    /// (SQLite: a WAL checkpoint and an incremental vacuum; PostgreSQL and memory: nothing).
    ///
    /// # Errors
    /// [`StoreError::Backend`]; the stored commands are unchanged in every case.
    async fn reclaim(&self) -> StoreResult<()>;

    /// The backend's name, the database's schema version and its size on disk.
    ///
    /// # Errors
    /// [`StoreError::Backend`]. Nothing is changed.
    async fn info(&self) -> StoreResult<StoreInfo>;
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
    async fn close(&self) -> StoreResult<()> {
        (**self).close().await
    }
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
    async fn revision(&self, id: &str) -> StoreResult<Option<i64>> {
        (**self).revision(id).await
    }
    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        (**self).list(filter).await
    }
    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        (**self).list_unfinished().await
    }
    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        (**self).list_summaries(filter).await
    }
    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        (**self).purge_finished(before, max_rows).await
    }
    async fn reclaim(&self) -> StoreResult<()> {
        (**self).reclaim().await
    }
    async fn info(&self) -> StoreResult<StoreInfo> {
        (**self).info().await
    }
}
