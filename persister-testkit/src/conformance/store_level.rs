//! Store-level scenarios: the [`CommandStore`] contract, row by row.

use std::sync::Arc;

use persister_core::{
    Checkpoint, CommandKind, CommandRow, CommandState, Completion, DynCommandStore, HeaderUpdate,
    ListFilter, ResourceUpdateChange, ResourceUpdateRow, StoreError, StoredCommand,
};

pub(super) fn row(position: i64, ksuid: &str, operation: &str) -> ResourceUpdateRow {
    ResourceUpdateRow {
        position,
        ksuid: ksuid.into(),
        operation: operation.into(),
        state: "NotStarted".into(),
        completion: Completion::Pending,
        fixed: format!(r#"{{"Position":{position}}}"#),
        progress: format!(r#"{{"State":"NotStarted","At":{position}}}"#),
    }
}

/// A change of the progress alone of the row at `position`.
pub(super) fn change(position: i64) -> ResourceUpdateChange {
    ResourceUpdateChange {
        position,
        state: "NotStarted".into(),
        completion: Completion::Pending,
        fixed: None,
        progress: format!(r#"{{"State":"NotStarted","At":{position}}}"#),
    }
}

pub(super) fn stored(id: &str, state: &str, start_ts: i64, n: i64) -> StoredCommand {
    StoredCommand {
        header: CommandRow {
            id: id.into(),
            command: "apply".into(),
            state: state.into(),
            client_id: Some("client".into()),
            start_ts,
            modified_ts: start_ts,
            start_ts_ns: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            revision: 0,
            body: format!(r#"{{"ID":"{id}"}}"#),
            head: r#"{"State":"NotStarted"}"#.into(),
        },
        resource_updates: (0..n).map(|i| row(i, &format!("k{i}"), "create")).collect(),
    }
}

pub(super) fn checkpoint(
    id: &str,
    expected_revision: i64,
    rows: Vec<ResourceUpdateChange>,
) -> Checkpoint {
    Checkpoint {
        command_id: id.into(),
        expected_revision,
        header: HeaderUpdate {
            state: "InProgress".into(),
            start_ts: 10,
            modified_ts: 20,
            start_ts_ns: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            head: r#"{"State":"InProgress"}"#.into(),
            body: None,
        },
        resource_updates: rows,
    }
}

pub(super) async fn load(store: &DynCommandStore, id: &str) -> StoredCommand {
    store.load(id).await.expect("load works").expect("command exists")
}

/// An inserted command loads back identical, rows ordered by position, at revision 0.
pub async fn insert_and_load_round_trip(store: Arc<DynCommandStore>) {
    let mut command = stored("c1", "NotStarted", -62_135_596_800_000_000, 5);
    command.header.revision = 41;
    command.resource_updates.reverse();
    store.insert(command.clone()).await.expect("insert");
    let loaded = load(&*store, "c1").await;
    command.header.revision = 0;
    command.resource_updates.reverse();
    assert_eq!(loaded, command);
    assert!(store.load("missing").await.expect("load works").is_none());
}

/// Inserting a taken id fails with `AlreadyExists` and changes nothing.
pub async fn insert_rejects_taken_ids(store: Arc<DynCommandStore>) {
    store.insert(stored("c1", "NotStarted", 1, 2)).await.expect("insert");
    let err = store.insert(stored("c1", "Success", 2, 3)).await.expect_err("taken");
    assert!(matches!(err, StoreError::AlreadyExists { ref id } if id == "c1"), "{err:?}");
    assert_eq!(load(&*store, "c1").await, stored("c1", "NotStarted", 1, 2));
}

/// Two rows with one (KSUID, operation) key are refused and nothing is stored.
pub async fn insert_rejects_duplicate_keys(store: Arc<DynCommandStore>) {
    let mut command = stored("c1", "NotStarted", 1, 3);
    command.resource_updates[2].ksuid = "k0".into();
    let err = store.insert(command).await.expect_err("duplicate key");
    assert!(
        matches!(err, StoreError::DuplicateKey { ref ksuid, ref operation, .. } if ksuid == "k0" && operation == "create"),
        "{err:?}"
    );
    assert!(store.load("c1").await.expect("load works").is_none());
    // A replace pair shares a KSUID with two operations: accepted.
    let mut pair = stored("c2", "NotStarted", 1, 2);
    pair.resource_updates[1] = row(1, "k0", "delete");
    store.insert(pair).await.expect("replace pair");
}

/// `apply` writes the header's mutable columns and exactly the listed rows (the fixed part
/// only when given), and bumps the revision.
pub async fn apply_writes_header_and_listed_rows(store: Arc<DynCommandStore>) {
    store.insert(stored("c1", "NotStarted", 1, 4)).await.expect("insert");
    let mut change_2 = change(2);
    change_2.state = "Success".into();
    change_2.completion = Completion::Completed;
    change_2.fixed = Some(r#"{"changed":true}"#.into());
    change_2.progress = r#"{"State":"Success"}"#.into();
    let mut change_3 = change(3);
    change_3.progress = r#"{"State":"InProgress"}"#.into();
    let changes = vec![change_2.clone(), change_3.clone()];
    store.apply(checkpoint("c1", 0, changes)).await.expect("apply");
    let changed = ResourceUpdateRow {
        state: change_2.state,
        completion: change_2.completion,
        fixed: change_2.fixed.unwrap_or_default(),
        progress: change_2.progress,
        ..row(2, "k2", "create")
    };
    let progressed = ResourceUpdateRow { progress: change_3.progress, ..row(3, "k3", "create") };
    let loaded = load(&*store, "c1").await;
    assert_eq!(loaded.header.revision, 1);
    assert_eq!(
        (loaded.header.state.as_str(), loaded.header.start_ts, loaded.header.modified_ts),
        ("InProgress", 10, 20)
    );
    assert_eq!(loaded.header.head, r#"{"State":"InProgress"}"#);
    assert_eq!(loaded.header.body, r#"{"ID":"c1"}"#, "body kept when not given");
    assert_eq!(loaded.resource_updates[2], changed);
    assert_eq!(loaded.resource_updates[3], progressed, "the fixed part kept when not given");
    for i in [0, 1] {
        assert_eq!(
            loaded.resource_updates[usize::try_from(i).expect("small")],
            row(i, &format!("k{i}"), "create")
        );
    }
    let mut with_body = checkpoint("c1", 1, Vec::new());
    with_body.header.body = Some(r#"{"ID":"c1","x":1}"#.into());
    store.apply(with_body).await.expect("apply");
    assert_eq!(load(&*store, "c1").await.header.body, r#"{"ID":"c1","x":1}"#);
}

/// A stale revision gets `Conflict`, an unknown id `NotFound`, and nothing changes.
pub async fn apply_is_fenced_by_revision(store: Arc<DynCommandStore>) {
    store.insert(stored("c1", "NotStarted", 1, 2)).await.expect("insert");
    store.apply(checkpoint("c1", 0, Vec::new())).await.expect("apply");
    let before = load(&*store, "c1").await;
    let err = store.apply(checkpoint("c1", 0, vec![change(0)])).await.expect_err("stale");
    assert!(matches!(err, StoreError::Conflict { expected: 0, found: 1, .. }), "{err:?}");
    assert_eq!(load(&*store, "c1").await, before);
    let err = store.apply(checkpoint("nope", 0, Vec::new())).await.expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// A checkpoint naming a row that does not exist fails and writes nothing, header included.
pub async fn apply_with_missing_position_writes_nothing(store: Arc<DynCommandStore>) {
    store.insert(stored("c1", "NotStarted", 1, 2)).await.expect("insert");
    let before = load(&*store, "c1").await;
    let mut good = change(0);
    good.fixed = Some(r#"{"changed":1}"#.into());
    let result = store.apply(checkpoint("c1", 0, vec![good, change(7)])).await;
    assert!(result.is_err());
    assert_eq!(load(&*store, "c1").await, before);
}

/// `delete` is conditional on the revision and removes the rows too.
pub async fn delete_is_fenced_and_removes_rows(store: Arc<DynCommandStore>) {
    store.insert(stored("c1", "NotStarted", 1, 3)).await.expect("insert");
    let err = store.delete("c1", 5).await.expect_err("stale");
    assert!(matches!(err, StoreError::Conflict { expected: 5, found: 0, .. }), "{err:?}");
    store.delete("c1", 0).await.expect("delete");
    assert!(store.load("c1").await.expect("load works").is_none());
    let err = store.delete("c1", 0).await.expect_err("gone");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    // The id can be reused with new rows.
    store.insert(stored("c1", "NotStarted", 1, 1)).await.expect("insert again");
    assert_eq!(load(&*store, "c1").await.resource_updates.len(), 1);
}

/// `list` filters by state, client and kind, orders by start time descending (ties by id
/// descending), and limits.
pub async fn list_filters_orders_and_limits(store: Arc<DynCommandStore>) {
    for (id, state, ts, client) in [
        ("a", "Success", 3, "x"),
        ("b", "InProgress", 1, "y"),
        ("c", "Success", 2, "x"),
        ("d", "Failed", 2, "x"),
    ] {
        let mut c = stored(id, state, ts, 1);
        c.header.client_id = Some(client.into());
        store.insert(c).await.expect("insert");
    }
    let ids = |rows: Vec<CommandRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list(&ListFilter::all()).await.expect("list")), ["a", "d", "c", "b"]);
    assert_eq!(
        ids(store.list(&ListFilter::all().state(CommandState::Success)).await.expect("list")),
        ["a", "c"]
    );
    assert_eq!(
        ids(store.list(&ListFilter::all().client_id("x").limit(2)).await.expect("list")),
        ["a", "d"]
    );
    assert_eq!(
        ids(store.list(&ListFilter::all().client_id("' OR 1=1 --")).await.expect("list")),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(store.list(&ListFilter::all().command(CommandKind::Sync)).await.expect("list")),
        Vec::<String>::new()
    );
}

/// `list_unfinished` lists commands not in a final state, oldest first, ties by id ascending.
pub async fn list_unfinished_lists_open_commands_oldest_first(store: Arc<DynCommandStore>) {
    for (id, state, ts) in [
        ("a", "Success", 1),
        ("b", "InProgress", 5),
        ("c", "NotStarted", 2),
        ("d", "Canceled", 0),
        ("e", "Failed", 0),
        ("f", "Pending", 9),
        ("bb", "Unknown", 2),
    ] {
        store.insert(stored(id, state, ts, 0)).await.expect("insert");
    }
    assert_eq!(store.list_unfinished().await.expect("list"), ["bb", "c", "b", "f"]);
}

/// Text round-trips exactly: unicode, escapes, quotes and large values.
pub async fn text_round_trips_byte_for_byte(store: Arc<DynCommandStore>) {
    let mut command = stored("ïd 'quoted' \"x\" 🚀", "NotStarted", 1, 2);
    command.header.body =
        r#"{"ID":"ïd","Text":"😀 \u0000 \"q\" \\ ' ; DROP TABLE x;--","n":2.50}"#.into();
    command.resource_updates[1].fixed = format!(r#"{{"big":"{}"}}"#, "é".repeat(300_000));
    command.resource_updates[0].progress = r#"{"Text":"\u003c😀\n"}"#.into();
    command.header.client_id = Some("client 'x' ✓".into());
    store.insert(command.clone()).await.expect("insert");
    assert_eq!(load(&*store, &command.header.id).await, command);
}
