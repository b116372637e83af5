//! [`FaultyStore`]: a [`CommandStore`] decorator that fails chosen write operations.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use persister_core::{
    Checkpoint, CommandRow, CommandStore, DynCommandStore, ListFilter, StoreError, StoreResult,
    StoredCommand, WriteOp,
};
use persister_core::{PurgedCommand, StoreInfo, SummaryPage, Timestamp};

/// Fails the k-th write (`insert`, `apply`, `delete`, `write_batch` or `purge_finished`,
/// counted from 1) with a
/// backend error (transient unless told otherwise), without forwarding it; every other call
/// is forwarded unchanged.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<DynCommandStore>,
    writes: AtomicU64,
    fail_at: AtomicU64,
    transient: AtomicBool,
}

impl FaultyStore {
    /// Wraps `inner`; no write fails until [`fail_write`](Self::fail_write) is called.
    pub fn new(inner: Arc<DynCommandStore>) -> Self {
        Self {
            inner,
            writes: AtomicU64::new(0),
            fail_at: AtomicU64::new(0),
            transient: AtomicBool::new(true),
        }
    }

    /// Makes the `k`-th write from now fail (1 = the next one) with a transient error.
    pub fn fail_write(&self, k: u64) {
        self.transient.store(true, Ordering::SeqCst);
        self.fail_at.store(self.writes.load(Ordering::SeqCst) + k, Ordering::SeqCst);
    }

    /// Makes the `k`-th write from now fail with a permanent error (a full disk, say).
    pub fn fail_write_permanently(&self, k: u64) {
        self.transient.store(false, Ordering::SeqCst);
        self.fail_at.store(self.writes.load(Ordering::SeqCst) + k, Ordering::SeqCst);
    }

    /// Writes seen so far (failed ones included).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    fn check(&self, what: &str) -> StoreResult<()> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            let source = format!("injected failure of write {n} ({what})").into();
            let transient = self.transient.load(Ordering::SeqCst);
            return Err(StoreError::Backend { backend: "faulty", transient, source });
        }
        Ok(())
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl CommandStore for FaultyStore {
    async fn close(&self) -> StoreResult<()> {
        self.inner.close().await
    }
    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        self.check("insert")?;
        self.inner.insert(command).await
    }
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        self.check("apply")?;
        self.inner.apply(checkpoint).await
    }
    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()> {
        self.check("delete")?;
        self.inner.delete(id, expected_revision).await
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        self.check("write_batch")?;
        self.inner.write_batch(ops).await
    }
    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        self.inner.load(id).await
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
        self.check("purge_finished")?;
        self.inner.purge_finished(before, max_rows).await
    }
    async fn reclaim(&self) -> StoreResult<()> {
        self.inner.reclaim().await
    }
    async fn info(&self) -> StoreResult<StoreInfo> {
        self.inner.info().await
    }
}
