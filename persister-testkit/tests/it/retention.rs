//! Retention through the handle: with `retain_finished_for` set, the task purges old final
//! commands in the background and keeps unfinished and recent ones.

use std::sync::Arc;
use std::time::{Duration, Instant};

use persister_core::{
    CommandRow, CommandStore, HandleConfig, ListFilter, MemoryStore, Persister, PersisterHandle,
    StoredCommand, Timestamp, exact_key,
};

/// A command in `state` last modified `age` ago, with one resource update.
fn command(id: &str, state: &str, age: Duration) -> StoredCommand {
    let now = Timestamp::now();
    let then = Timestamp::from_datetime(now.datetime() - age);
    let (micros, ns) = exact_key(then);
    let data = r#"{"Position":0}"#.to_owned();
    StoredCommand {
        header: CommandRow {
            id: id.into(),
            command: "apply".into(),
            state: state.into(),
            client_id: Some(String::new()),
            start_ts: micros,
            start_ts_ns: ns,
            modified_ts: micros,
            modified_ts_ns: ns,
            revision: 0,
            stored_bytes: 4 + data.len() as u64,
            body: "{}".into(),
            head: "{}".into(),
        },
        resource_updates: vec![persister_core::ResourceUpdateRow {
            position: 0,
            ksuid: "k".into(),
            operation: "create".into(),
            state: "Success".into(),
            completion: persister_core::Completion::Completed,
            fixed: data,
            progress: String::new(),
        }],
    }
}

async fn ids(handle: &PersisterHandle) -> Vec<String> {
    let page = handle.list(ListFilter::all()).await.expect("list");
    page.summaries.into_iter().map(|s| s.id).collect()
}

#[tokio::test]
async fn old_finished_commands_are_purged_in_the_background() {
    let store = Arc::new(MemoryStore::new());
    let hour = Duration::from_secs(3600);
    for (id, state, age) in [
        ("old-1", "Success", 3 * hour),
        ("old-2", "Failed", 2 * hour),
        ("old-3", "Canceled", 5 * hour),
        ("old-running", "InProgress", 9 * hour),
        ("recent", "Success", Duration::from_secs(60)),
    ] {
        store.insert(command(id, state, age)).await.expect("insert");
    }
    let config = HandleConfig::default().retain_finished_for(Some(hour)).purge_batch(1);
    let (handle, task) = PersisterHandle::spawn(Persister::new(store.clone()), config);
    let started = Instant::now();
    // One step per batch of messages or idle pause: messages keep being answered meanwhile.
    while ids(&handle).await.len() > 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not purged: {:?}",
            ids(&handle).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ids(&handle).await, ["recent", "old-running"]);
    assert!(store.load("old-1").await.expect("load").is_none());
    handle.shutdown().await.expect("shut down");
    task.await.expect("task ends");
}

#[tokio::test]
async fn without_retention_nothing_is_purged() {
    let store = Arc::new(MemoryStore::new());
    store
        .insert(command("old", "Success", Duration::from_secs(86_400 * 365)))
        .await
        .expect("insert");
    let (handle, task) = PersisterHandle::spawn(Persister::new(store), HandleConfig::default());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(ids(&handle).await, ["old"]);
    handle.shutdown().await.expect("shut down");
    task.await.expect("task ends");
}
