//! The threading rule: a caller on a thread that may block runs its SQLite calls itself, with
//! no hop to the worker thread; every other caller's calls go to the worker thread. Seen from
//! the kernel: the worker thread's context switches (`/proc/self/task/*/status`).

use std::collections::BTreeSet;

use persister_core::blocking::allow_blocking;
use persister_core::{CommandStore, HandleConfig, MemoryStore, Persister, PersisterHandle};
use persister_sqlite::SqliteStore;

use crate::support::{TempDb, checkpoint, command};

/// The ids of this process's threads named `name`.
fn threads_named(name: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for task in std::fs::read_dir("/proc/self/task").expect("procfs").flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            ids.insert(task.file_name().to_string_lossy().into_owned());
        }
    }
    ids
}

/// The voluntary context switches of the threads `ids` so far.
fn switches(ids: &BTreeSet<String>) -> u64 {
    ids.iter()
        .map(|id| {
            let status =
                std::fs::read_to_string(format!("/proc/self/task/{id}/status")).unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// Opens a store and returns it with the ids of the writer threads it started.
async fn open(db: &TempDb) -> (SqliteStore, BTreeSet<String>) {
    let before = threads_named("sqlite-writer");
    let store = SqliteStore::open(db.config()).await.expect("open");
    let ids = threads_named("sqlite-writer").difference(&before).cloned().collect();
    (store, ids)
}

/// Runs 200 checkpoints and returns how often the store's writer thread woke meanwhile.
async fn wakes_for_200_writes(store: &SqliteStore, ids: &BTreeSet<String>) -> u64 {
    store.insert(command("c1", 1, 3)).await.expect("insert");
    let before = switches(ids);
    for revision in 0..200 {
        store.apply(checkpoint("c1", revision, "InProgress", &[1])).await.expect("apply");
    }
    switches(ids) - before
}

#[tokio::test]
async fn a_thread_that_may_block_writes_without_waking_the_worker() {
    let db = TempDb::new("threads-queued");
    let (store, ids) = open(&db).await;
    assert_eq!(ids.len(), 1, "one writer thread");
    let queued = wakes_for_200_writes(&store, &ids).await;
    assert!(queued >= 200, "each queued write wakes the worker: {queued}");

    let db = TempDb::new("threads-inline");
    let (store, ids) = open(&db).await;
    let inline = {
        let _allowed = allow_blocking();
        wakes_for_200_writes(&store, &ids).await
    };
    assert!(inline < 20, "writes on a thread that may block run there: {inline} wakes");
    assert_eq!(store.load("c1").await.expect("load").expect("stored").header.revision, 200);
}

#[tokio::test]
async fn a_handle_on_a_dedicated_thread_writes_without_waking_the_worker() {
    let db = TempDb::new("threads-handle");
    let (store, ids) = open(&db).await;
    let store = std::sync::Arc::new(store);
    let config = HandleConfig::default().dedicated_thread(true);
    let (handle, task) = PersisterHandle::spawn(Persister::new(store.clone()), config);
    let reference = std::sync::Arc::new(MemoryStore::new());
    let mut expected = Persister::new(reference.clone());
    let stored =
        persister_core::FormaCommand { id: "h1".into(), ..persister_core::FormaCommand::default() };
    handle.store_new(stored.clone()).await.expect("stored");
    expected.store_new(stored).await.expect("stored");
    let before = switches(&ids);
    for _ in 0..100 {
        handle.cancel_all("h1").await.expect("applied");
        expected.cancel_all("h1").await.expect("applied");
    }
    let wakes = switches(&ids) - before;
    assert!(wakes < 20, "the handle's thread runs the writes itself: {wakes} wakes");
    assert_eq!(handle.load("h1").await.expect("load"), expected.load("h1").await.expect("load"));
    handle.shutdown().await.expect("shutdown");
    task.await.expect("the task ends");
}
