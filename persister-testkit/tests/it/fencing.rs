//! Revision fencing with two persisters over one database: a writer with a stale cache gets
//! `StoreError::Conflict`, writes nothing, has its cache entry evicted, and succeeds on retry
//! on top of the other writer's change. Run on one SQLite file opened by two `SqliteStore`s
//! and on one PostgreSQL database opened by two `PgStore`s.

use std::sync::Arc;

use persister_core::{
    Ack, CommandKind, CommandStore, DynCommandStore, Error, FormaCommand, Operation, Persister,
    ResourceCompletion, ResourceProgress, ResourceUpdateState, StoreError,
};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::TempDb;
use persister_testkit::{pg, workload};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn command(prefix: &str, n: usize) -> FormaCommand {
    workload::command(&mut StdRng::seed_from_u64(42), prefix, 0, n)
}

/// A progress report on resource update `i` whose request id is `tag`.
fn progress(c: &FormaCommand, i: usize, tag: &str) -> ResourceProgress {
    let ru = &c.resource_updates[i];
    let mut m = ResourceProgress {
        command_id: c.id.clone(),
        resource_uri: ru.resource.uri(),
        operation: ru.operation,
        resource_start_ts: c.start_ts,
        resource_modified_ts: c.start_ts,
        resource_state: ResourceUpdateState::InProgress,
        ..ResourceProgress::default()
    };
    m.progress.request_id = tag.into();
    m
}

fn completion(c: &FormaCommand, i: usize) -> ResourceCompletion {
    let ru = &c.resource_updates[i];
    ResourceCompletion {
        command_id: c.id.clone(),
        resource_uri: ru.resource.uri(),
        operation: ru.operation,
        final_state: ResourceUpdateState::Success,
        ..ResourceCompletion::default()
    }
}

/// Asserts a conflict on `id` from `expected` to `found`, and that the writer's entry was
/// evicted (its `evicted_error` counter went up by one).
fn assert_conflict(
    result: Result<Ack, Error>,
    p: &Persister,
    evicted: u64,
    id: &str,
    at: (i64, i64),
) {
    let err = result.expect_err("a stale writer is fenced");
    assert!(
        matches!(&err, Error::Store(StoreError::Conflict { id: got, expected, found })
            if got == id && (*expected, *found) == at),
        "{err:?}"
    );
    assert!(err.to_string().contains(id), "the message names the command: {err}");
    // A retry after a conflict succeeds (the stale entry is evicted and the retry reloads it,
    // as this file shows), so a caller that retries transient errors retries this one.
    assert!(err.is_transient());
    assert_eq!(p.stats().cache.evicted_error, evicted + 1, "the stale entry is evicted");
}

/// The request id of the latest progress report of each resource update, as stored.
async fn tags(store: &Arc<DynCommandStore>, id: &str) -> Vec<String> {
    let c = Persister::new(store.clone()).load(id).await.expect("loads");
    c.resource_updates.iter().map(|r| r.most_recent_progress_result.request_id.clone()).collect()
}

/// A and B both cache a command; each in turn writes on a stale cache, is fenced, retries.
async fn stale_progress_is_fenced(a_store: Arc<DynCommandStore>, b_store: Arc<DynCommandStore>) {
    let c = command("FENCE", 4);
    let id = c.id.as_str();
    let mut a = Persister::new(a_store.clone());
    let mut b = Persister::new(b_store.clone());
    a.store_new(c.clone()).await.expect("stored");
    b.load(id).await.expect("B caches revision 0");

    assert_eq!(a.update_progress(progress(&c, 0, "A0")).await.expect("A writes"), Ack::Applied);
    let after_a = a_store.load(id).await.expect("load");

    let evicted = b.stats().cache.evicted_error;
    assert_conflict(b.update_progress(progress(&c, 1, "B1")).await, &b, evicted, id, (0, 1));
    assert_eq!(a_store.load(id).await.expect("load"), after_a, "B wrote nothing");
    assert_eq!(tags(&b_store, id).await, ["A0", "", "", ""]);

    let ack = b.update_progress(progress(&c, 1, "B1")).await.expect("B's retry succeeds");
    assert_eq!(ack, Ack::Applied);
    assert_eq!(tags(&a_store, id).await, ["A0", "B1", "", ""], "on top of A's write");

    let evicted = a.stats().cache.evicted_error;
    assert_conflict(a.update_progress(progress(&c, 2, "A2")).await, &a, evicted, id, (1, 2));
    assert_eq!(tags(&a_store, id).await, ["A0", "B1", "", ""], "A wrote nothing");
    let ack = a.update_progress(progress(&c, 2, "A2")).await.expect("A's retry succeeds");
    assert_eq!(ack, Ack::Applied);

    // Completions are fenced the same way; B is stale again.
    let evicted = b.stats().cache.evicted_error;
    assert_conflict(b.complete(completion(&c, 3)).await, &b, evicted, id, (2, 3));
    assert_eq!(b.complete(completion(&c, 3)).await.expect("retry"), Ack::Applied);

    let stored = a_store.load(id).await.expect("load").expect("present");
    assert_eq!(stored.header.revision, 4, "four writes, none lost");
    assert_eq!(tags(&b_store, id).await, ["A0", "B1", "A2", ""], "nothing A wrote is overwritten");
    let loaded = Persister::new(a_store.clone()).load(id).await.expect("loads");
    assert_eq!(loaded.resource_updates[3].state, ResourceUpdateState::Success);
}

/// The deletion of a finished sync command is fenced too, and a stale writer of a deleted
/// command gets `NotFound`.
async fn stale_deletion_is_fenced(a_store: Arc<DynCommandStore>, b_store: Arc<DynCommandStore>) {
    let mut c = command("FSYNC", 2);
    c.command = CommandKind::Sync;
    for ru in &mut c.resource_updates {
        ru.operation = Operation::Read;
    }
    let id = c.id.as_str();
    let mut a = Persister::new(a_store.clone());
    let mut b = Persister::new(b_store.clone());
    b.store_new(c.clone()).await.expect("stored");
    assert_eq!(b.complete(completion(&c, 0)).await.expect("B completes"), Ack::Applied);
    a.load(id).await.expect("A caches revision 1");
    assert_eq!(a.update_progress(progress(&c, 1, "A1")).await.expect("A"), Ack::Applied);

    // B's last completion would delete the command at revision 1; it is at revision 2.
    let evicted = b.stats().cache.evicted_error;
    assert_conflict(b.complete(completion(&c, 1)).await, &b, evicted, id, (1, 2));
    assert!(a_store.load(id).await.expect("load").is_some(), "nothing was deleted");
    assert_eq!(b.complete(completion(&c, 1)).await.expect("retry"), Ack::Deleted);
    assert!(a_store.load(id).await.expect("load").is_none());

    // A's cache still holds the command; its next write finds it gone.
    let evicted = a.stats().cache.evicted_error;
    let err = a.update_progress(progress(&c, 1, "A2")).await.expect_err("deleted");
    assert!(matches!(&err, Error::Store(StoreError::NotFound { id: got }) if got == id), "{err:?}");
    assert_eq!(a.stats().cache.evicted_error, evicted + 1);
    assert!(a.load(id).await.expect_err("gone").is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_stores_on_one_file_fence_stale_writers() {
    let db = TempDb::new("fencing");
    let open = || async {
        let store =
            SqliteStore::open(SqliteConfig::file(db.path())).await.expect("SQLite file opens");
        Arc::new(store) as Arc<DynCommandStore>
    };
    let (a, b) = (open().await, open().await);
    stale_progress_is_fenced(a.clone(), b.clone()).await;
    stale_deletion_is_fenced(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_stores_on_one_database_fence_stale_writers() {
    let db = pg::test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let a = Arc::new(db.store().await.unwrap_or_else(|e| panic!("cannot open {db:?}: {e}")));
    let b = Arc::new(db.store().await.unwrap_or_else(|e| panic!("cannot open {db:?}: {e}")));
    stale_progress_is_fenced(a.clone(), b.clone()).await;
    stale_deletion_is_fenced(a.clone(), b.clone()).await;
    a.close().await.unwrap_or_else(|e| panic!("{e}"));
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
    // A closed pool refuses every call with a typed error; closing again is a no-op.
    let refused = a.load("any").await.expect_err("closed");
    assert!(matches!(refused, StoreError::Closed { backend: "postgres" }), "{refused:?}");
    a.close().await.unwrap_or_else(|e| panic!("{e}"));
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}
