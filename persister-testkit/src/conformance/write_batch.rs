//! `write_batch` scenarios: ops in order, all or nothing, and the failing op's error.

use std::sync::Arc;

use persister_core::{
    DynCommandStore, ListFilter, ResourceUpdateChange, StoreError, StoredCommand, WriteOp,
};

use super::store_level::{change, checkpoint, load, stored};

/// Every command a batch below may touch, loaded, and the list of all headers: what must not
/// change when a batch fails.
async fn snapshot(store: &DynCommandStore) -> (Vec<Option<StoredCommand>>, Vec<String>) {
    let mut commands = Vec::new();
    for id in ["c1", "c2", "c3", "c4", "c5", "missing"] {
        commands.push(store.load(id).await.expect("load works"));
    }
    let ids = store.list(&ListFilter::all()).await.expect("list").into_iter().map(|r| r.id);
    (commands, ids.collect())
}

/// A change of the row of `stored(..)` at `position`: new progress, and a new fixed part
/// when `fixed` is given.
fn changed(position: i64, progress: &str, fixed: Option<&str>) -> ResourceUpdateChange {
    ResourceUpdateChange {
        state: "InProgress".into(),
        progress: progress.into(),
        fixed: fixed.map(Into::into),
        ..change(position)
    }
}

/// Ops of one command take effect in the given order, interleaved with another command's.
pub async fn write_batch_applies_ops_in_order(store: Arc<DynCommandStore>) {
    let mut last = checkpoint("c1", 2, vec![changed(1, r#"{"v":3}"#, None)]);
    last.header.state = "Success".into();
    last.header.head = r#"{"State":"Success"}"#.into();
    let ops = vec![
        WriteOp::Insert(stored("c1", "NotStarted", 1, 3)),
        WriteOp::Apply(checkpoint("c1", 0, vec![changed(0, r#"{"v":1}"#, Some(r#"{"f":1}"#))])),
        WriteOp::Insert(stored("c2", "NotStarted", 2, 1)),
        WriteOp::Apply(checkpoint(
            "c1",
            1,
            vec![changed(0, r#"{"v":2}"#, None), changed(1, "{}", Some(r#"{"f":2}"#))],
        )),
        WriteOp::Apply(checkpoint("c2", 0, vec![changed(0, r#"{"c2":1}"#, None)])),
        WriteOp::Apply(last),
    ];
    store.write_batch(ops).await.expect("batch");
    let c1 = load(&*store, "c1").await;
    assert_eq!(c1.header.revision, 3, "three applies");
    assert_eq!(
        (c1.header.state.as_str(), c1.header.head.as_str()),
        ("Success", r#"{"State":"Success"}"#)
    );
    let progress: Vec<&str> = c1.resource_updates.iter().map(|r| r.progress.as_str()).collect();
    assert_eq!(
        progress,
        [r#"{"v":2}"#, r#"{"v":3}"#, r#"{"State":"NotStarted","At":2}"#],
        "the last write of a row wins"
    );
    let fixed: Vec<&str> = c1.resource_updates.iter().map(|r| r.fixed.as_str()).collect();
    assert_eq!(
        fixed,
        [r#"{"f":1}"#, r#"{"f":2}"#, r#"{"Position":2}"#],
        "a fixed part stays written when a later change of its row has none"
    );
    let c2 = load(&*store, "c2").await;
    assert_eq!((c2.header.revision, c2.resource_updates[0].progress.as_str()), (1, r#"{"c2":1}"#));
}

/// Insert, apply, apply, delete and re-insert of one id in one batch leave the re-inserted
/// command at revision 0.
pub async fn write_batch_deletes_and_reinserts_in_order(store: Arc<DynCommandStore>) {
    let again = stored("c1", "Pending", 7, 1);
    let ops = vec![
        WriteOp::Insert(stored("c1", "NotStarted", 1, 3)),
        WriteOp::Apply(checkpoint("c1", 0, vec![changed(0, r#"{"v":1}"#, None)])),
        WriteOp::Apply(checkpoint("c1", 1, vec![changed(2, r#"{"v":2}"#, None)])),
        WriteOp::Delete { id: "c1".into(), expected_revision: 2 },
        WriteOp::Insert(again.clone()),
    ];
    store.write_batch(ops).await.expect("batch");
    assert_eq!(load(&*store, "c1").await, again);
    store.write_batch(Vec::new()).await.expect("an empty batch");
    assert_eq!(load(&*store, "c1").await, again);
}

/// Stored before each failing batch: c1 and c2 (revision 0, two rows each) and c4.
async fn setup(store: &DynCommandStore) {
    for id in ["c1", "c2", "c4"] {
        store.insert(stored(id, "NotStarted", 1, 2)).await.expect("insert");
    }
}

/// Ops that succeed on the setup: they touch c1, c2 and c3, and what they do is visible to
/// the ops after them.
fn good_ops() -> Vec<WriteOp> {
    vec![
        WriteOp::Apply(checkpoint("c1", 0, vec![changed(0, r#"{"v":1}"#, None)])),
        WriteOp::Insert(stored("c3", "NotStarted", 3, 1)),
        WriteOp::Delete { id: "c2".into(), expected_revision: 0 },
        WriteOp::Apply(checkpoint("c1", 1, vec![changed(1, r#"{"v":2}"#, None)])),
        WriteOp::Apply(checkpoint("c3", 0, Vec::new())),
    ]
}

/// One failing op per error kind, each failing only because of what it is or of what the
/// good ops before it did, with a check of the error it must give.
#[allow(clippy::type_complexity, reason = "a table of ops and their checks")]
fn failing_ops() -> Vec<(&'static str, WriteOp, fn(&StoreError) -> bool)> {
    let mut duplicate = stored("c5", "NotStarted", 1, 3);
    duplicate.resource_updates[2].ksuid = "k0".into();
    vec![
        (
            "conflict",
            WriteOp::Apply(checkpoint("c4", 7, Vec::new())),
            |e| matches!(e, StoreError::Conflict { id, expected: 7, found: 0 } if id == "c4"),
        ),
        (
            "conflict after the batch's applies",
            WriteOp::Apply(checkpoint("c1", 1, Vec::new())),
            |e| matches!(e, StoreError::Conflict { id, expected: 1, found: 2 } if id == "c1"),
        ),
        (
            "not found",
            WriteOp::Apply(checkpoint("missing", 0, Vec::new())),
            |e| matches!(e, StoreError::NotFound { id } if id == "missing"),
        ),
        (
            "not found after the batch's delete",
            WriteOp::Delete { id: "c2".into(), expected_revision: 0 },
            |e| matches!(e, StoreError::NotFound { id } if id == "c2"),
        ),
        (
            "already exists after the batch's insert",
            WriteOp::Insert(stored("c3", "NotStarted", 1, 0)),
            |e| matches!(e, StoreError::AlreadyExists { id } if id == "c3"),
        ),
        (
            "already exists",
            WriteOp::Insert(stored("c4", "NotStarted", 1, 0)),
            |e| matches!(e, StoreError::AlreadyExists { id } if id == "c4"),
        ),
        (
            "duplicate key",
            WriteOp::Insert(duplicate),
            |e| matches!(e, StoreError::DuplicateKey { id, ksuid, operation } if id == "c5" && ksuid == "k0" && operation == "create"),
        ),
        (
            "missing position",
            WriteOp::Apply(checkpoint("c4", 0, vec![changed(9, "{}", None)])),
            |e| matches!(e, StoreError::Corrupt { id, field, .. } if id == "c4" && field == "resource_updates[9]"),
        ),
    ]
}

/// A batch whose last op fails leaves every command exactly as before, those that earlier
/// ops of the batch changed, inserted or deleted included.
pub async fn write_batch_is_all_or_nothing(store: Arc<DynCommandStore>) {
    setup(&*store).await;
    let before = snapshot(&*store).await;
    for (name, failing, _) in failing_ops() {
        let mut ops = good_ops();
        ops.push(failing);
        store.write_batch(ops).await.expect_err(name);
        assert_eq!(snapshot(&*store).await, before, "{name}: the batch left a trace");
    }
    store.write_batch(good_ops()).await.expect("the good ops alone succeed");
}

/// The error of a failed batch is the failing op's, wherever that op is in the batch.
pub async fn write_batch_returns_the_failing_ops_error(store: Arc<DynCommandStore>) {
    setup(&*store).await;
    let before = snapshot(&*store).await;
    for (name, failing, expected) in failing_ops() {
        let mut ops = good_ops();
        ops.push(failing.clone());
        let err = store.write_batch(ops).await.expect_err(name);
        assert!(expected(&err), "{name}: last op, got {err:?}");
        // Followed by ops that would succeed, on the same and on other commands.
        let mut ops = good_ops();
        ops.push(failing);
        ops.push(WriteOp::Insert(stored("c6", "NotStarted", 1, 0)));
        ops.push(WriteOp::Apply(checkpoint("c4", 0, Vec::new())));
        let err = store.write_batch(ops).await.expect_err(name);
        assert!(expected(&err), "{name}: followed by good ops, got {err:?}");
        assert_eq!(snapshot(&*store).await, before, "{name}: the batch left a trace");
        assert!(store.load("c6").await.expect("load works").is_none(), "{name}");
    }
}
