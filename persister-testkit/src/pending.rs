//! [`PendingStore`]: a [`CommandStore`] decorator that returns `Pending` on demand, so that a
//! test can drop a persister future at any point where it waits for the store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use persister_core::{
    Checkpoint, CommandRow, CommandStore, DynCommandStore, ListFilter, StoreResult, StoredCommand,
    WriteOp,
};
use persister_core::{PurgedCommand, StoreInfo, SummaryPage, Timestamp};
use tokio::sync::Notify;

/// Forwards every call to an inner store, passing a *gate* before and after it. At a gate the
/// call yields once (it is `Pending`, then woken at once), except at the gate chosen with
/// [`trip_at`](Self::trip_at), where it stays `Pending` for ever and signals the `Notify` that
/// `trip_at` returned: the caller then drops the future there. The inner call is
/// never cut half-way: a gate before it means it did not start, a gate after it means it
/// finished.
#[derive(Debug)]
pub struct PendingStore {
    inner: Arc<DynCommandStore>,
    gates: AtomicUsize,
    trip: AtomicUsize,
    tripped: Mutex<Arc<Notify>>,
}

impl PendingStore {
    /// Wraps `inner`; no gate trips until [`trip_at`](Self::trip_at) is called.
    pub fn new(inner: Arc<DynCommandStore>) -> Self {
        Self {
            inner,
            gates: AtomicUsize::new(0),
            trip: AtomicUsize::new(usize::MAX),
            tripped: Mutex::new(Arc::new(Notify::new())),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<DynCommandStore> {
        &self.inner
    }

    /// Counts gates from zero again and makes gate `n` (0 = the next one) trip; `None` makes
    /// none trip. Returns the signal that the gate tripped.
    pub fn trip_at(&self, n: Option<usize>) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        *self.tripped.lock().unwrap_or_else(PoisonError::into_inner) = notify.clone();
        self.gates.store(0, Ordering::SeqCst);
        self.trip.store(n.unwrap_or(usize::MAX), Ordering::SeqCst);
        notify
    }

    /// Gates passed since the last [`trip_at`](Self::trip_at).
    pub fn gates(&self) -> usize {
        self.gates.load(Ordering::SeqCst)
    }

    async fn gate(&self) {
        let n = self.gates.fetch_add(1, Ordering::SeqCst);
        if n == self.trip.load(Ordering::SeqCst) {
            let notify = self.tripped.lock().unwrap_or_else(PoisonError::into_inner).clone();
            notify.notify_one();
            std::future::pending::<()>().await;
        }
        tokio::task::yield_now().await;
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl CommandStore for PendingStore {
    async fn close(&self) -> StoreResult<()> {
        self.inner.close().await
    }
    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        self.gate().await;
        let result = self.inner.insert(command).await;
        self.gate().await;
        result
    }
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        self.gate().await;
        let result = self.inner.apply(checkpoint).await;
        self.gate().await;
        result
    }
    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()> {
        self.gate().await;
        let result = self.inner.delete(id, expected_revision).await;
        self.gate().await;
        result
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        self.gate().await;
        let result = self.inner.write_batch(ops).await;
        self.gate().await;
        result
    }
    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        self.gate().await;
        let result = self.inner.load(id).await;
        self.gate().await;
        result
    }
    async fn revision(&self, id: &str) -> StoreResult<Option<i64>> {
        self.gate().await;
        let result = self.inner.revision(id).await;
        self.gate().await;
        result
    }
    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        self.gate().await;
        let result = self.inner.list(filter).await;
        self.gate().await;
        result
    }
    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        self.gate().await;
        let result = self.inner.list_unfinished().await;
        self.gate().await;
        result
    }

    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        self.gate().await;
        let result = self.inner.list_summaries(filter).await;
        self.gate().await;
        result
    }

    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        self.gate().await;
        let result = self.inner.purge_finished(before, max_rows).await;
        self.gate().await;
        result
    }

    async fn reclaim(&self) -> StoreResult<()> {
        self.gate().await;
        let result = self.inner.reclaim().await;
        self.gate().await;
        result
    }

    async fn info(&self) -> StoreResult<StoreInfo> {
        self.gate().await;
        let result = self.inner.info().await;
        self.gate().await;
        result
    }
}
