//! Cache behaviour: eviction (D6), the byte cap, incremental writes, secrets at rest and
//! consistency after a failed write (D8).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::*;
use async_trait::async_trait;
use persister_core::{
    Ack, Checkpoint, CommandKind, CommandRow, CommandStore, Error, ListFilter, MemoryStore,
    Operation, Persister, PersisterConfig, ResourceUpdateState as S, StoreError, StoreResult,
    StoredCommand, WriteOp,
};
use persister_core::{PurgedCommand, StoreInfo, SummaryPage, Timestamp};

#[tokio::test]
async fn final_commands_leave_the_cache_and_pending_ones_stay() {
    let (_, mut p) = memory();
    p.store_new(command("c", 2, CommandKind::Apply)).await.expect("stored");
    p.update_progress(progress("c", 0, Operation::Create, S::Success, 2)).await.expect("ok");
    // Bulk fails the other one: every resource is final, the command is Failed, but the
    // completion of resource 0 is still pending, so the entry stays cached.
    let refs = [persister_core::ResourceUpdateRef::new(uri(1), Operation::Create)];
    assert_eq!(p.mark_failed("c", &refs, ts(3)).await.expect("ok"), Ack::Applied);
    let stats = p.stats().cache;
    assert_eq!((stats.entries, stats.evicted_final), (1, 0));
    let ack = p.complete(completion("c", 0, Operation::Create, S::Success, 4)).await.expect("ok");
    assert_eq!(ack, Ack::Finalized);
    let stats = p.stats().cache;
    assert_eq!((stats.entries, stats.evicted_final), (0, 1));
    // Loading a finished command does not cache it again.
    p.load("c").await.expect("loaded");
    assert_eq!(p.stats().cache.entries, 0);
}

#[tokio::test]
async fn byte_cap_evicts_least_recently_used_and_reloads() {
    let (_, mut p) = memory_with(PersisterConfig::default().cache_max_bytes(6_000));
    for id in ["a", "b", "c"] {
        p.store_new(command(id, 4, CommandKind::Apply)).await.expect("stored");
    }
    let stats = p.stats().cache;
    assert!(stats.evicted_capacity >= 1, "{stats:?}");
    assert!(stats.bytes <= 6_000, "{stats:?}");
    // "a" was used least recently, so it went first; a message reloads it.
    let misses = stats.misses;
    p.update_progress(progress("a", 0, Operation::Create, S::InProgress, 2)).await.expect("ok");
    assert_eq!(p.stats().cache.misses, misses + 1);
    assert_eq!(p.load("a").await.expect("loaded").resource_updates[0].state, S::InProgress);
}

#[tokio::test]
async fn recovery_honours_the_byte_cap() {
    let (store, mut writer) = memory_with(PersisterConfig::default());
    for i in 0..20 {
        writer.store_new(command(&format!("c{i:02}"), 4, CommandKind::Apply)).await.expect("ok");
    }
    let cap = 6_000;
    let mut p = Persister::with_config(store, PersisterConfig::default().cache_max_bytes(cap));
    let recovery = p.recover().await.expect("recovers");
    assert_eq!(recovery.commands.len(), 20);
    let stats = p.stats().cache;
    assert!(stats.bytes <= cap as u64, "{stats:?}");
    assert!(stats.entries < 20 && stats.evicted_capacity > 0, "{stats:?}");
}

#[tokio::test]
async fn tiny_cap_gives_the_same_results() {
    let (_, mut small) = memory_with(PersisterConfig::default().cache_max_bytes(1));
    let (_, mut big) = memory();
    for p in [&mut small, &mut big] {
        p.store_new(command("c", 3, CommandKind::Apply)).await.expect("stored");
        p.update_progress(progress("c", 1, Operation::Create, S::InProgress, 2)).await.expect("ok");
        p.complete(completion("c", 0, Operation::Create, S::Success, 3)).await.expect("ok");
    }
    assert_eq!(small.load("c").await.expect("loaded"), big.load("c").await.expect("loaded"));
    assert!(small.stats().cache.misses >= 2);
    assert_eq!(big.stats().cache.misses, 0);
}

#[tokio::test]
async fn progress_on_a_cached_command_decodes_nothing_and_writes_one_row() {
    let store = Arc::new(TestStore::default());
    let mut p = Persister::new(store.clone());
    p.store_new(command("c", 50, CommandKind::Apply)).await.expect("stored");
    let before = p.stats().codec;
    p.update_progress(progress("c", 7, Operation::Create, S::InProgress, 2)).await.expect("ok");
    let after = p.stats().codec;
    assert_eq!(after.decoded_docs, before.decoded_docs, "no JSON decoded");
    assert_eq!(after.encoded_docs - before.encoded_docs, 2, "one resource update and the head");
    let checkpoint = store.last.lock().expect("lock").clone().expect("one checkpoint");
    assert_eq!(checkpoint.resource_updates.len(), 1);
    assert_eq!(checkpoint.resource_updates[0].position, 7);
    assert!(checkpoint.header.body.is_none(), "the body is not rewritten");
}

#[tokio::test]
async fn no_plaintext_secret_at_rest_after_finalization() {
    let (store, mut p) = memory();
    p.store_new(command("c", 2, CommandKind::Apply)).await.expect("stored");
    assert!(
        store.dump().iter().any(|t| t.contains(SECRET)),
        "desired state is plaintext until final"
    );
    let mut msg = progress("c", 1, Operation::Create, S::InProgress, 2);
    msg.progress.resource_properties =
        Some(raw(&format!(r#"{{"Token":{{"$value":"{SECRET}-read","$visibility":"Opaque"}}}}"#)));
    p.update_progress(msg).await.expect("ok");
    assert!(
        !store.dump().iter().any(|t| t.contains("hunter2-read")),
        "progress properties hashed on write"
    );
    for i in 0..2 {
        p.complete(completion("c", i, Operation::Create, S::Success, 3)).await.expect("ok");
    }
    assert!(!store.dump().iter().any(|t| t.contains(SECRET)));
    let c = p.load("c").await.expect("loaded");
    let props = c.resource_updates[0].resource.properties.as_ref().expect("props").as_str();
    assert!(props.contains(r#""$hashed":true"#) && props.contains(r#""Name":"r0""#));
}

#[tokio::test]
async fn a_failed_write_changes_nothing_and_a_retry_succeeds() {
    let store = Arc::new(TestStore::default());
    let mut p = Persister::new(store.clone());
    p.store_new(command("c", 2, CommandKind::Apply)).await.expect("stored");
    let before = store.inner.load("c").await.expect("load").expect("present");
    store.fail_next.store(true, Ordering::SeqCst);
    let msg = completion("c", 0, Operation::Create, S::Success, 5);
    let err = p.complete(msg.clone()).await.expect_err("injected failure");
    assert!(err.is_transient());
    assert_eq!(
        store.inner.load("c").await.expect("load").expect("present"),
        before,
        "store unchanged"
    );
    assert_eq!(p.stats().cache.evicted_error, 1, "the entry was evicted");
    assert_eq!(p.load("c").await.expect("loaded").resource_updates[0].state, S::NotStarted);
    assert_eq!(p.complete(msg).await.expect("retry"), Ack::Applied);
    assert_eq!(p.load("c").await.expect("loaded").resource_updates[0].state, S::Success);
}

#[tokio::test]
async fn snapshots_are_owned() {
    let (_, mut p) = memory();
    p.store_new(command("c", 1, CommandKind::Apply)).await.expect("stored");
    let mut snapshot = p.load("c").await.expect("loaded");
    snapshot.resource_updates.clear();
    assert_eq!(p.load("c").await.expect("loaded").resource_updates.len(), 1);
}

#[tokio::test]
async fn list_filters_and_orders() {
    let (_, mut p) = memory();
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        let mut c = command(id, 1, CommandKind::Apply);
        c.start_ts = ts(u32::try_from(i).expect("small"));
        c.client_id = if id == "b" { "other".into() } else { "cli".into() };
        p.store_new(c).await.expect("stored");
    }
    let ids = |page: persister_core::SummaryPage| {
        page.summaries.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(p.list(&ListFilter::all()).await.expect("listed")), ["c", "b", "a"]);
    assert_eq!(
        ids(p.list(&ListFilter::all().client_id("cli").limit(1)).await.expect("listed")),
        ["c"]
    );
    assert_eq!(p.list_unfinished().await.expect("listed"), ["a", "b", "c"]);
}

/// Records the last checkpoint written, and fails the next `apply` when asked to.
#[derive(Debug, Default)]
struct TestStore {
    inner: MemoryStore,
    last: std::sync::Mutex<Option<Checkpoint>>,
    fail_next: AtomicBool,
}

#[async_trait]
impl CommandStore for TestStore {
    async fn close(&self) -> StoreResult<()> {
        self.inner.close().await
    }
    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        self.inner.insert(command).await
    }
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            let source = "injected".into();
            return Err(StoreError::Backend { backend: "test", transient: true, source });
        }
        *self.last.lock().expect("lock") = Some(checkpoint.clone());
        self.inner.apply(checkpoint).await
    }
    async fn delete(&self, id: &str, revision: i64) -> StoreResult<()> {
        self.inner.delete(id, revision).await
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
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
        self.inner.purge_finished(before, max_rows).await
    }
    async fn reclaim(&self) -> StoreResult<()> {
        self.inner.reclaim().await
    }
    async fn info(&self) -> StoreResult<StoreInfo> {
        self.inner.info().await
    }
}

#[test]
fn errors_say_what_happened() {
    let e = Error::from(StoreError::NotFound { id: "x".into() });
    assert_eq!(e.to_string(), "command x not found");
    assert!(e.is_not_found() && !e.is_transient());
}

#[tokio::test]
async fn memory_batches_that_delete_and_reinsert_keep_the_command() {
    use persister_core::{CommandRow, WriteOp};
    let store = MemoryStore::new();
    let row = |id: &str| StoredCommand {
        header: CommandRow {
            id: id.into(),
            command: "apply".into(),
            state: "NotStarted".into(),
            client_id: None,
            start_ts: 0,
            modified_ts: 0,
            start_ts_ns: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            revision: 0,
            body: "{}".into(),
            head: "{}".into(),
        },
        resource_updates: Vec::new(),
    };
    store.insert(row("c3")).await.expect("insert");
    let ops = vec![
        WriteOp::Delete { id: "c3".into(), expected_revision: 0 },
        WriteOp::Insert(row("c3")),
        WriteOp::Insert(row("c2")),
        WriteOp::Delete { id: "c2".into(), expected_revision: 0 },
        WriteOp::Insert(row("c2")),
    ];
    store.write_batch(ops).await.expect("batch");
    assert!(store.load("c3").await.expect("load").is_some());
    assert!(store.load("c2").await.expect("load").is_some());
}

#[tokio::test]
async fn idle_commands_are_evicted_and_reloaded() {
    let (_, mut p) = memory();
    p.store_new(command("c", 2, CommandKind::Apply)).await.expect("stored");
    p.evict_idle(std::time::Duration::from_secs(60));
    assert_eq!(p.stats().cache.entries, 1, "recently used: kept");
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    p.evict_idle(std::time::Duration::from_millis(10));
    let stats = p.stats().cache;
    assert_eq!((stats.entries, stats.evicted_idle), (0, 1));
    p.update_progress(progress("c", 0, Operation::Create, S::InProgress, 2))
        .await
        .expect("reloaded");
    assert_eq!(p.stats().cache.misses, 1);
}
