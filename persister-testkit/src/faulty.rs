//! [`FaultyStore`]: a [`CommandStore`] decorator that fails chosen write operations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use persister_core::{
    Checkpoint, CommandRow, CommandStore, DynCommandStore, ListFilter, StoreError, StoreResult,
    StoredCommand, WriteOp,
};
use persister_core::{PurgedCommand, StoreInfo, SummaryPage, Timestamp};

/// How [`FaultyStore`] fails the write it was told to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A [`StoreError::Backend`] (transient or not) before forwarding: nothing was written.
    Refuse {
        /// Whether the error says a retry may succeed.
        transient: bool,
    },
    /// [`StoreError::OutcomeUnknown`] before forwarding: the commit's answer was lost and
    /// the write did not take effect.
    LostBeforeCommit,
    /// The write is forwarded and, once it took effect, answered with
    /// [`StoreError::OutcomeUnknown`]: the commit's answer was lost after the commit.
    LostAfterCommit,
}

/// Fails the k-th write (`insert`, `apply`, `delete`, `write_batch` or `purge_finished`,
/// counted from 1) as a [`Fault`] says; every other call is forwarded unchanged. It can also
/// fail the next reads of [`revision`](CommandStore::revision), as a store still unreachable
/// after a lost commit does.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<DynCommandStore>,
    writes: AtomicU64,
    fail_at: AtomicU64,
    fault: Mutex<Fault>,
    failing_reads: AtomicU64,
}

impl FaultyStore {
    /// Wraps `inner`; no write fails until [`fail_write`](Self::fail_write) is called.
    pub fn new(inner: Arc<DynCommandStore>) -> Self {
        Self {
            inner,
            writes: AtomicU64::new(0),
            fail_at: AtomicU64::new(0),
            fault: Mutex::new(Fault::Refuse { transient: true }),
            failing_reads: AtomicU64::new(0),
        }
    }

    /// Makes the `k`-th write from now fail (1 = the next one) with a transient error.
    pub fn fail_write(&self, k: u64) {
        self.fail_write_with(k, Fault::Refuse { transient: true });
    }

    /// Makes the `k`-th write from now fail with a permanent error (a full disk, say).
    pub fn fail_write_permanently(&self, k: u64) {
        self.fail_write_with(k, Fault::Refuse { transient: false });
    }

    /// Makes the `k`-th write from now fail as `fault` says.
    pub fn fail_write_with(&self, k: u64, fault: Fault) {
        *self.fault.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = fault;
        self.fail_at.store(self.writes.load(Ordering::SeqCst) + k, Ordering::SeqCst);
    }

    /// Makes the next `n` calls of [`revision`](CommandStore::revision) fail with a
    /// transient error.
    pub fn fail_revision_reads(&self, n: u64) {
        self.failing_reads.store(n, Ordering::SeqCst);
    }

    /// Writes seen so far (failed ones included).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Counts a write; `Err` when it must fail before forwarding, `Ok(true)` when it must be
    /// answered with a lost commit after forwarding.
    fn check(&self, what: &str) -> StoreResult<bool> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n != self.fail_at.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let fault = *self.fault.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let source = format!("injected failure of write {n} ({what}): {fault:?}").into();
        match fault {
            Fault::Refuse { transient } => {
                Err(StoreError::Backend { backend: "faulty", transient, source })
            }
            Fault::LostBeforeCommit => {
                Err(StoreError::OutcomeUnknown { backend: "faulty", source })
            }
            Fault::LostAfterCommit => Ok(true),
        }
    }

    /// The answer to a forwarded write: a lost commit when `lose` is set and it took effect.
    fn answer<T>(lose: bool, result: StoreResult<T>) -> StoreResult<T> {
        match result {
            Ok(_) if lose => Err(StoreError::OutcomeUnknown {
                backend: "faulty",
                source: "injected loss of the commit's answer".into(),
            }),
            other => other,
        }
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl CommandStore for FaultyStore {
    async fn close(&self) -> StoreResult<()> {
        self.inner.close().await
    }
    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        let lose = self.check("insert")?;
        Self::answer(lose, self.inner.insert(command).await)
    }
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        let lose = self.check("apply")?;
        Self::answer(lose, self.inner.apply(checkpoint).await)
    }
    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()> {
        let lose = self.check("delete")?;
        Self::answer(lose, self.inner.delete(id, expected_revision).await)
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        let lose = self.check("write_batch")?;
        Self::answer(lose, self.inner.write_batch(ops).await)
    }
    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        self.inner.load(id).await
    }
    async fn revision(&self, id: &str) -> StoreResult<Option<i64>> {
        let failing = self.failing_reads.load(Ordering::SeqCst);
        if failing > 0 {
            self.failing_reads.store(failing - 1, Ordering::SeqCst);
            let source = "injected failure of a revision read".into();
            return Err(StoreError::Backend { backend: "faulty", transient: true, source });
        }
        self.inner.revision(id).await
    }
    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        self.inner.list(filter).await
    }
    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        self.inner.list_unfinished().await
    }
    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        self.inner.list_summaries(filter).await
    }
    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        let lose = self.check("purge_finished")?;
        Self::answer(lose, self.inner.purge_finished(before, max_rows).await)
    }
    async fn reclaim(&self) -> StoreResult<()> {
        self.inner.reclaim().await
    }
    async fn info(&self) -> StoreResult<StoreInfo> {
        self.inner.info().await
    }
}
