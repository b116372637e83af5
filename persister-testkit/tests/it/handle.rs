//! The persister as a service: calls through the handle, group commit under concurrency,
//! timeouts, shutdown, and recovery (after the task is killed mid-stream, after a transient
//! failure).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use persister_core::{
    Ack, Checkpoint, CommandRow, CommandState, CommandStore, Error, HandleConfig, ListFilter,
    MemoryStore, Persister, PersisterHandle, ResourceUpdateState, StoreResult, StoredCommand,
    WriteOp,
};
use persister_core::{PurgedCommand, StoreError, StoreInfo, SummaryPage, Timestamp};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::TempDb;
use persister_testkit::faulty::FaultyStore;
use persister_testkit::workload::{Message, Workload};

async fn send(handle: &PersisterHandle, m: Message) -> persister_core::Result<Ack> {
    match m {
        Message::Progress(p) => handle.update_progress(p).await,
        Message::Complete(c) => handle.complete(c).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_are_group_committed() {
    let store = Arc::new(SqliteStore::open(SqliteConfig::in_memory()).await.expect("opens"));
    let (handle, task) = PersisterHandle::spawn(Persister::new(store), HandleConfig::default());
    let workload = Workload::w1(3);
    handle.store_new(workload.commands[0].clone()).await.expect("stored");
    // Each resource's messages in order on its own task, all resources at once.
    let mut per_resource: std::collections::BTreeMap<String, Vec<Message>> = Default::default();
    for m in workload.messages.clone() {
        let uri = match &m {
            Message::Progress(p) => p.resource_uri.clone(),
            Message::Complete(c) => c.resource_uri.clone(),
        };
        per_resource.entry(uri).or_default().push(m);
    }
    let mut tasks = Vec::new();
    for (_, messages) in per_resource {
        let handle = handle.clone();
        tasks.push(tokio::spawn(async move {
            for m in messages {
                send(&handle, m).await.expect("applied");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let stats = handle.stats().await.expect("stats");
    assert!(stats.batches > 0, "concurrent calls shared transactions: {stats:?}");
    assert!(stats.transactions < 196 * 6, "fewer transactions than messages: {stats:?}");
    let c = handle.load(&workload.commands[0].id).await.expect("loaded");
    assert_eq!(c.state, CommandState::Success);
    assert!(
        c.resource_updates
            .iter()
            .all(|r| r.state == ResourceUpdateState::Success && !r.version.is_empty())
    );
    handle.shutdown().await.expect("shut down");
    task.await.expect("task ends");
    assert!(matches!(handle.load("x").await, Err(Error::Shutdown)));
}

/// A store whose writes take longer than the caller is willing to wait.
#[derive(Debug, Default)]
struct SlowStore(MemoryStore);

#[async_trait]
impl CommandStore for SlowStore {
    async fn close(&self) -> StoreResult<()> {
        self.0.close().await
    }
    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        self.0.insert(command).await
    }
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.0.apply(checkpoint).await
    }
    async fn delete(&self, id: &str, revision: i64) -> StoreResult<()> {
        self.0.delete(id, revision).await
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.0.write_batch(ops).await
    }
    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        self.0.load(id).await
    }
    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        self.0.list(filter).await
    }
    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        self.0.list_unfinished().await
    }
    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        self.0.list_summaries(filter).await
    }
    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        self.0.purge_finished(before, max_rows).await
    }
    async fn reclaim(&self) -> StoreResult<()> {
        self.0.reclaim().await
    }
    async fn info(&self) -> StoreResult<StoreInfo> {
        self.0.info().await
    }
}

#[tokio::test]
async fn a_slow_store_gives_a_typed_timeout() {
    let config = HandleConfig::default().call_timeout(Duration::from_millis(50));
    let (handle, _task) =
        PersisterHandle::spawn(Persister::new(Arc::new(SlowStore::default())), config);
    let workload = Workload::w1(4).truncated(1);
    handle.store_new(workload.commands[0].clone()).await.expect("stored");
    let m = workload.messages[0].clone();
    let err = send(&handle, m).await.expect_err("times out");
    assert!(matches!(err, Error::Timeout { .. }) && err.is_transient(), "{err:?}");
}

#[test]
fn killed_mid_stream_recovers_and_resumes() {
    let db = TempDb::new("handle-kill");
    let path = db.path();
    let workload = Workload::w1(5);
    let id = workload.commands[0].id.clone();
    let half = workload.messages.len() / 2;
    // First life: store the command, send half the messages, then kill the runtime (and with it
    // the handle's task) without draining.
    let (acked, first_store) = {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let store = Arc::new(SqliteStore::open(SqliteConfig::file(path)).await.expect("opens"));
            let (handle, _task) =
                PersisterHandle::spawn(Persister::new(store.clone()), HandleConfig::default());
            handle.store_new(workload.commands[0].clone()).await.expect("stored");
            let mut acked = 0;
            for m in workload.messages[..half].iter().cloned() {
                send(&handle, m).await.expect("applied");
                acked += 1;
            }
            // In flight when the task dies: sent, never awaited.
            for m in workload.messages[half..half + 20].iter().cloned() {
                let handle = handle.clone();
                tokio::spawn(async move { send(&handle, m).await });
            }
            (acked, store)
        })
        // Dropping the runtime here kills the task mid-stream.
    };
    // A killed process writes nothing more. Here the first life's worker thread outlives its
    // runtime and may still be running a queued write: dropping the last reference to its
    // store outside any runtime waits for that thread, so the second life is the only writer
    // (otherwise revision fencing rightly refuses its writes with a conflict).
    assert_eq!(Arc::strong_count(&first_store), 1, "the killed task released its store");
    drop(first_store);
    // Second life: reopen, recover, resume from the first unacknowledged message.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Arc::new(SqliteStore::open(SqliteConfig::file(path)).await.expect("reopens"));
        let (handle, task) =
            PersisterHandle::spawn(Persister::new(store.clone()), HandleConfig::default());
        let recovered = handle.recover().await.expect("recovers").commands;
        assert_eq!(recovered.len(), 1);
        assert_eq!(recovered[0].id, id);
        assert_eq!(recovered[0].state, CommandState::InProgress);
        for m in workload.messages[acked..].iter().cloned() {
            send(&handle, m).await.expect("resumed");
        }
        let c = handle.load(&id).await.expect("loaded");
        assert_eq!(c.state, CommandState::Success);
        assert!(
            c.resource_updates
                .iter()
                .all(|r| r.state == ResourceUpdateState::Success && !r.version.is_empty())
        );
        assert!(handle.recover().await.expect("recovers").commands.is_empty(), "all finished");
        // The README's way to close: the handle drains its mailbox, then closes the store.
        handle.shutdown_and_close().await.expect("shut down and closed");
        assert!(!std::path::Path::new(&format!("{}-wal", path.display())).exists());
        task.await.expect("task ends");
        // The store is closed for every holder: later calls are refused, writing nothing,
        // and closing again is a no-op.
        let refused = store.load(&id).await.expect_err("closed");
        assert!(matches!(refused, StoreError::Closed { backend: "sqlite" }), "{refused:?}");
        CommandStore::close(&*store).await.expect("a second close is a no-op");
    });
}

/// Stores W1's command in `store` and sends every progress report (the last one of each
/// resource says Success) but no completion, as if a crash took them all; returns its id.
async fn all_final_but_no_completion(store: Arc<dyn CommandStore>, seed: u64) -> String {
    let workload = Workload::w1(seed);
    let mut p = Persister::new(store);
    p.store_new(workload.commands[0].clone()).await.expect("stored");
    for m in workload.messages.iter().filter(|m| matches!(m, Message::Progress(_))).cloned() {
        m.send(&mut p).await.expect("applied");
    }
    workload.commands[0].id.clone()
}

#[tokio::test]
async fn recovery_finalizes_commands_whose_resources_are_all_final() {
    let store = Arc::new(MemoryStore::new());
    let id = all_final_but_no_completion(store.clone(), 6).await;
    let (handle, _task) = PersisterHandle::spawn(Persister::new(store), HandleConfig::default());
    let recovered = handle.recover().await.expect("recovers");
    assert!(recovered.failed.is_empty(), "{:?}", recovered.failed);
    assert_eq!(recovered.commands.len(), 1);
    assert_eq!(recovered.commands[0].id, id);
    assert_eq!(recovered.commands[0].state, CommandState::Success, "finalized on recovery");
    assert!(handle.recover().await.expect("recovers").commands.is_empty());
}

#[tokio::test]
async fn a_store_failure_fails_recovery_and_a_retry_recovers() {
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let id = all_final_but_no_completion(store.clone(), 7).await;
    let mut p = Persister::new(store.clone());
    // The finalization that recovery writes fails: the caller sees it and retries. A failure
    // of the store itself is not blamed on the command, transient or not.
    store.fail_write_permanently(1);
    let err = p.recover().await.expect_err("the failed write is reported");
    assert!(!err.is_transient(), "{err:?}");
    store.fail_write(1);
    let err = p.recover().await.expect_err("the failed write is reported");
    assert!(err.is_transient(), "{err:?}");
    let recovered = p.recover().await.expect("the retry recovers");
    assert!(recovered.failed.is_empty(), "{:?}", recovered.failed);
    assert_eq!(recovered.commands.len(), 1);
    assert_eq!(recovered.commands[0].id, id);
    assert_eq!(recovered.commands[0].state, CommandState::Success, "finalized on the retry");
}
