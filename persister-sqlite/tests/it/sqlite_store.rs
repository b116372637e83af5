//! Behaviour of `SqliteStore` on an in-memory database: transactions, revision fencing,
//! ordering, and agreement with the reference `MemoryStore`.

use std::sync::Arc;

use crate::support::{checkpoint, command, header, outcome, update};
use persister_core::{
    CommandKind, CommandState, CommandStore, ListFilter, MemoryStore, StoreError, StoredCommand,
};
use persister_sqlite::{SqliteConfig, SqliteStore};

/// What an error must satisfy.
type Expect = fn(&StoreError) -> bool;

async fn open() -> SqliteStore {
    SqliteStore::open(SqliteConfig::in_memory()).await.expect("open in-memory store")
}

#[tokio::test]
async fn insert_stores_revision_zero_and_loads_rows_by_position() {
    let store = open().await;
    let mut c = command("c1", 10, 0);
    c.header.revision = 42;
    c.resource_updates =
        vec![update(2, "k2", "create"), update(0, "k0", "delete"), update(1, "k1", "update")];
    store.insert(c.clone()).await.expect("insert");

    let loaded = store.load("c1").await.expect("load").expect("stored");
    assert_eq!(loaded.header.revision, 0);
    let positions: Vec<i64> = loaded.resource_updates.iter().map(|r| r.position).collect();
    assert_eq!(positions, [0, 1, 2]);
    c.header.revision = 0;
    c.resource_updates.sort_by_key(|r| r.position);
    assert_eq!(loaded, c);
    assert_eq!(store.load("missing").await.expect("load"), None);
}

#[tokio::test]
async fn insert_refuses_taken_ids_and_duplicate_keys() {
    let mut duplicate = command("c2", 10, 0);
    duplicate.resource_updates =
        vec![update(0, "k", "create"), update(1, "k", "update"), update(2, "k", "create")];
    let cases: Vec<(StoredCommand, Expect)> = vec![
        (command("c1", 99, 1), |e| matches!(e, StoreError::AlreadyExists { id } if id == "c1")),
        (duplicate, |e| {
            matches!(e, StoreError::DuplicateKey { id, ksuid, operation }
                if id == "c2" && ksuid == "k" && operation == "create")
        }),
    ];
    for (c, expected) in cases {
        let store = open().await;
        store.insert(command("c1", 10, 2)).await.expect("first insert");
        let before = store.load("c1").await.expect("load");
        let id = c.header.id.clone();
        let error = store.insert(c).await.expect_err("refused");
        assert!(expected(&error), "{id}: {error:?}");
        assert_eq!(store.load("c1").await.expect("load"), before, "{id}");
        if id != "c1" {
            assert_eq!(store.load(&id).await.expect("load"), None, "{id} left rows behind");
        }
    }
}

#[tokio::test]
async fn apply_updates_header_and_listed_rows() {
    let store = open().await;
    store.insert(command("c1", 10, 3)).await.expect("insert");
    let original = store.load("c1").await.expect("load").expect("stored");

    store.apply(checkpoint("c1", 0, "InProgress", &[1])).await.expect("apply 0");
    let mut second = checkpoint("c1", 1, "Success", &[0, 2]);
    second.header.body = Some(r#"{"Rewritten":true}"#.into());
    store.apply(second.clone()).await.expect("apply 1");

    let loaded = store.load("c1").await.expect("load").expect("stored");
    assert_eq!(loaded.header.revision, 2);
    assert_eq!(loaded.header.state, "Success");
    assert_eq!(loaded.header.head, second.header.head);
    assert_eq!(loaded.header.body, r#"{"Rewritten":true}"#);
    assert_eq!(loaded.header.start_ts, 5);
    assert_eq!(loaded.header.modified_ts, second.header.modified_ts);
    assert_eq!(loaded.header.command, original.header.command);
    let completed: Vec<bool> =
        loaded.resource_updates.iter().map(|r| !r.completion.is_pending()).collect();
    assert_eq!(completed, [true, true, true]);
    assert_eq!(loaded.resource_updates[1].progress, r#"{"Done":1,"After":0}"#);
    assert_eq!(loaded.resource_updates[1].fixed, r#"{"Fixed":1,"After":0}"#);
    assert_eq!(loaded.resource_updates[2].progress, r#"{"Done":2,"After":1}"#);
    assert_eq!(
        loaded.resource_updates[2].fixed, original.resource_updates[2].fixed,
        "a change without a fixed part keeps the stored one"
    );
}

#[tokio::test]
async fn apply_with_wrong_revision_or_id_changes_nothing() {
    let cases: &[(&str, i64, &str)] = &[
        ("c1", 1, "Conflict(c1, 1, 0)"),
        ("c1", -1, "Conflict(c1, -1, 0)"),
        ("c1", 7, "Conflict(c1, 7, 0)"),
        ("nope", 0, "NotFound(nope)"),
    ];
    for &(id, expected_revision, expected) in cases {
        let store = open().await;
        store.insert(command("c1", 10, 2)).await.expect("insert");
        let before = store.load("c1").await.expect("load");
        let result = store.apply(checkpoint(id, expected_revision, "Failed", &[0])).await;
        assert_eq!(outcome(&result), expected);
        assert_eq!(store.load("c1").await.expect("load"), before);
    }
}

#[tokio::test]
async fn apply_touching_a_missing_position_rolls_back_the_header() {
    let store = open().await;
    store.insert(command("c1", 10, 2)).await.expect("insert");
    let before = store.load("c1").await.expect("load");

    let result = store.apply(checkpoint("c1", 0, "Success", &[0, 7])).await;
    assert!(
        matches!(&result, Err(StoreError::Corrupt { id, field, .. })
            if id == "c1" && field == "resource_updates[7]"),
        "{result:?}"
    );
    assert_eq!(store.load("c1").await.expect("load"), before);
    store.apply(checkpoint("c1", 0, "Success", &[0])).await.expect("revision 0 is still current");
}

#[tokio::test]
async fn delete_is_fenced_by_revision_and_removes_rows() {
    let store = open().await;
    store.insert(command("c1", 10, 2)).await.expect("insert");
    store.apply(checkpoint("c1", 0, "Success", &[0, 1])).await.expect("apply");

    assert_eq!(outcome(&store.delete("c1", 0).await), "Conflict(c1, 0, 1)");
    assert_eq!(outcome(&store.delete("c9", 0).await), "NotFound(c9)");
    assert!(store.load("c1").await.expect("load").is_some());

    store.delete("c1", 1).await.expect("delete");
    assert_eq!(store.load("c1").await.expect("load"), None);
    assert!(store.dump_all_text().await.expect("dump").is_empty(), "rows left behind");
    assert_eq!(outcome(&store.delete("c1", 1).await), "NotFound(c1)");
}

#[tokio::test]
async fn list_filters_orders_and_limits_like_memory() {
    let rows = [
        header("a", 30, "InProgress", Some("alice"), "apply"),
        header("b", 10, "Success", Some("bob"), "apply"),
        header("c", 30, "InProgress", None, "sync"),
        header("d", 20, "Failed", Some("alice"), "destroy"),
        header("e", 40, "InProgress", Some("bob"), "apply"),
    ];
    let sqlite = open().await;
    let memory = MemoryStore::new();
    for row in rows {
        sqlite.insert(row.clone()).await.expect("insert");
        memory.insert(row).await.expect("insert");
    }
    let cases: Vec<(ListFilter, &[&str])> = vec![
        (ListFilter::all(), &["e", "c", "a", "d", "b"]),
        (ListFilter::all().limit(2), &["e", "c"]),
        (ListFilter::all().limit(0), &[]),
        (ListFilter::all().state(CommandState::InProgress), &["e", "c", "a"]),
        (ListFilter::all().client_id("alice"), &["a", "d"]),
        (ListFilter::all().command(CommandKind::Apply).client_id("bob"), &["e", "b"]),
        (
            ListFilter::all().state(CommandState::InProgress).command(CommandKind::Apply).limit(1),
            &["e"],
        ),
        (ListFilter::all().state(CommandState::Canceled), &[]),
        (ListFilter::all().client_id("a' OR '1'='1"), &[]),
    ];
    for (filter, expected) in cases {
        let got = sqlite.list(&filter).await.expect("list");
        let ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, expected, "{filter:?}");
        assert_eq!(got, memory.list(&filter).await.expect("list"), "{filter:?}");
    }
}

#[tokio::test]
async fn list_unfinished_skips_final_states_oldest_first() {
    let sqlite = open().await;
    let memory = MemoryStore::new();
    let rows = [
        header("z", 10, "InProgress", None, "apply"),
        header("y", 10, "Pending", None, "apply"),
        header("x", 5, "Success", None, "apply"),
        header("w", 1, "Failed", None, "apply"),
        header("v", 2, "Canceled", None, "apply"),
        header("u", 3, "Canceling", None, "apply"),
    ];
    for row in rows {
        sqlite.insert(row.clone()).await.expect("insert");
        memory.insert(row).await.expect("insert");
    }
    let unfinished = sqlite.list_unfinished().await.expect("list");
    assert_eq!(unfinished, ["u", "y", "z"]);
    assert_eq!(unfinished, memory.list_unfinished().await.expect("list"));
}

#[tokio::test]
async fn operations_agree_with_memory_store() {
    enum Op {
        Insert(StoredCommand),
        Apply(persister_core::Checkpoint),
        Delete(&'static str, i64),
    }
    let mut dup = command("c3", 7, 0);
    dup.resource_updates = vec![update(0, "k", "create"), update(1, "k", "create")];
    let script = vec![
        Op::Insert(command("c1", 10, 3)),
        Op::Insert(command("c2", 20, 1)),
        Op::Insert(command("c1", 30, 0)),
        Op::Insert(dup),
        Op::Apply(checkpoint("c1", 0, "InProgress", &[2])),
        Op::Apply(checkpoint("c1", 0, "InProgress", &[1])),
        Op::Apply(checkpoint("c1", 1, "Success", &[0, 1, 9])),
        Op::Apply(checkpoint("c2", 0, "Failed", &[0])),
        Op::Apply(checkpoint("c9", 0, "Failed", &[])),
        Op::Delete("c2", 0),
        Op::Delete("c2", 1),
        Op::Delete("c2", 1),
        Op::Insert(command("c2", 5, 2)),
    ];
    let sqlite = open().await;
    let memory = MemoryStore::new();
    for (step, op) in script.into_iter().enumerate() {
        let (got, want) = match op {
            Op::Insert(c) => {
                (outcome(&sqlite.insert(c.clone()).await), outcome(&memory.insert(c).await))
            }
            Op::Apply(cp) => {
                (outcome(&sqlite.apply(cp.clone()).await), outcome(&memory.apply(cp).await))
            }
            Op::Delete(id, rev) => {
                (outcome(&sqlite.delete(id, rev).await), outcome(&memory.delete(id, rev).await))
            }
        };
        assert_eq!(got, want, "step {step}");
        for id in ["c1", "c2", "c3"] {
            assert_eq!(
                sqlite.load(id).await.expect("load"),
                memory.load(id).await.expect("load"),
                "step {step}, {id}"
            );
        }
        assert_eq!(
            sqlite.list_unfinished().await.expect("list"),
            memory.list_unfinished().await.expect("list")
        );
    }
    let mut dumped = sqlite.dump_all_text().await.expect("dump");
    let mut expected = memory.dump();
    dumped.sort();
    expected.sort();
    assert_eq!(dumped, expected);
}

#[tokio::test]
async fn concurrent_callers_are_served() {
    let store = Arc::new(open().await);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let id = format!("c{i:02}");
                store.insert(command(&id, i, 2)).await.expect("insert");
                store.apply(checkpoint(&id, 0, "Success", &[0, 1])).await.expect("apply");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(
        store.list(&ListFilter::all().state(CommandState::Success)).await.expect("list").len(),
        32
    );
    assert!(store.list_unfinished().await.expect("list").is_empty());
}

#[tokio::test]
async fn in_memory_stores_are_independent() {
    let first = open().await;
    let second = open().await;
    first.insert(command("c1", 1, 1)).await.expect("insert");
    assert_eq!(second.load("c1").await.expect("load"), None);
    second.insert(command("c1", 1, 1)).await.expect("same id in another store");
}
