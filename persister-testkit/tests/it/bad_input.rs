//! Bad input on a SQLite file: unknown ids and keys, duplicate ids, corrupt rows, a newer
//! schema, and messages after a command is final. Each test backs one row of the README's
//! "What happens when ..." table; sizes, odd strings and the codec fuzz are in
//! `bad_input_sizes.rs`.

use std::sync::Arc;

use persister_core::{
    Ack, CommandKind, CommandState, CommandStore, Error, FormaCommand, ListFilter, Message,
    Operation, Persister, PersisterConfig, PluginOperation, ProgressResult, RawJson, Resource,
    ResourceCompletion, ResourceProgress, ResourceUpdate, ResourceUpdateRef, ResourceUpdateState,
    StoreError, StoredCommand, TargetUpdate, TargetUpdateState, Timestamp,
};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::TempDb;

/// What the clock of every persister here reads.
fn now() -> Timestamp {
    ts(3_600)
}

/// `seconds` after a fixed base time.
fn ts(seconds: i64) -> Timestamp {
    let base = Timestamp::parse("2026-02-01T10:00:00.123456789Z").expect("valid timestamp");
    Timestamp::from_datetime(base.datetime() + time::Duration::seconds(seconds))
}

fn persister(store: Arc<SqliteStore>) -> Persister {
    Persister::with_config(store, PersisterConfig::default().clock(Arc::new(now)))
}

/// A command `id` of `n` create resource updates with KSUIDs `k0`, `k1`, ...
fn command(id: &str, n: usize) -> FormaCommand {
    let resource_updates = (0..n)
        .map(|i| ResourceUpdate {
            resource: Resource {
                ksuid: format!("k{i}"),
                label: format!("r{i}"),
                resource_type: "AWS::S3::Bucket".into(),
                properties: Some(RawJson::new(format!(r#"{{"Name":"r{i}"}}"#)).expect("json")),
                ..Resource::default()
            },
            operation: Operation::Create,
            ..ResourceUpdate::default()
        })
        .collect();
    FormaCommand {
        id: id.into(),
        state: CommandState::NotStarted,
        start_ts: ts(0),
        modified_ts: ts(0),
        resource_updates,
        command: CommandKind::Apply,
        client_id: "bad-input".into(),
        ..FormaCommand::default()
    }
}

fn progress(id: &str, ksuid: &str, operation: Operation, at: i64) -> ResourceProgress {
    ResourceProgress {
        command_id: id.into(),
        resource_uri: format!("formae://{ksuid}#"),
        operation,
        resource_start_ts: ts(1),
        resource_modified_ts: ts(at),
        resource_state: ResourceUpdateState::InProgress,
        progress: ProgressResult {
            operation: PluginOperation::Create,
            modified_ts: ts(at),
            ..ProgressResult::default()
        },
        ..ResourceProgress::default()
    }
}

fn completion(id: &str, ksuid: &str, operation: Operation, at: i64) -> ResourceCompletion {
    ResourceCompletion {
        command_id: id.into(),
        resource_uri: format!("formae://{ksuid}#"),
        operation,
        final_state: ResourceUpdateState::Success,
        resource_start_ts: ts(1),
        resource_modified_ts: ts(at),
        ..ResourceCompletion::default()
    }
}

/// One message of every kind but `StoreNew`, for command `id` and resource `k0`.
fn every_message(id: &str) -> Vec<Message> {
    let refs = vec![ResourceUpdateRef::new("formae://k0#", Operation::Create)];
    let mut target = TargetUpdate { state: TargetUpdateState::InProgress, ..Default::default() };
    target.target.label = "t".into();
    vec![
        Message::Load(id.into()),
        Message::Progress(Box::new(progress(id, "k0", Operation::Create, 5))),
        Message::Complete(Box::new(completion(id, "k0", Operation::Create, 5))),
        Message::TargetStates { id: id.into(), updates: vec![target] },
        Message::MarkRejected { id: id.into(), refs: refs.clone(), modified_ts: ts(5) },
        Message::MarkFailed { id: id.into(), refs: refs.clone(), modified_ts: ts(5) },
        Message::MarkCanceled { id: id.into(), refs },
        Message::CancelAll(id.into()),
        Message::FinalizeIncomplete(id.into()),
    ]
}

async fn stored(store: &SqliteStore, id: &str) -> Option<StoredCommand> {
    store.load(id).await.expect("the store answers")
}

fn assert_not_found(result: Result<persister_core::Reply, Error>, id: &str, what: &str) {
    let err = result.expect_err(what);
    assert!(matches!(&err, Error::Store(StoreError::NotFound { id: got }) if got == id), "{what}");
    assert!(err.to_string().contains(id), "{what}: the message names the command: {err}");
    assert!(!err.is_transient(), "{what}");
}

#[tokio::test]
async fn unknown_command_id_is_not_found_for_every_message_kind() {
    let db = TempDb::new("bad-input-unknown-id");
    let store = db.open().await;
    let mut p = persister(store.clone());
    p.store_new(command("known", 2)).await.expect("stored");
    let before = stored(&store, "known").await;
    let missing = "no-such-command";
    for m in every_message(missing) {
        let kind = m.kind();
        assert_not_found(p.handle(m).await, missing, kind);
    }
    // The same messages as one group-commit batch: each still fails alone.
    for (r, m) in p.handle_batch(every_message(missing)).await.into_iter().zip(every_message("")) {
        assert_not_found(r, missing, m.kind());
    }
    assert_eq!(stored(&store, missing).await, None, "nothing was created");
    assert_eq!(stored(&store, "known").await, before, "nothing else was written");
    assert_eq!(store.list(&ListFilter::all()).await.expect("list").len(), 1);
}

#[tokio::test]
async fn unknown_ksuid_or_operation_updates_only_what_d2_d3_d4_say() {
    let db = TempDb::new("bad-input-unknown-key");
    let store = db.open().await;
    let mut p = persister(store.clone());
    let cases =
        [("unknown KSUID", "zz", Operation::Create), ("other operation", "k0", Operation::Delete)];
    for (i, (what, ksuid, op)) in cases.into_iter().enumerate() {
        let id = format!("unknown-key-{i}");
        p.store_new(command(&id, 2)).await.expect("stored");
        let before = stored(&store, &id).await.expect("present");

        // Progress (D2): the command's ModifiedTs and state still change, no resource does.
        let ack = p.update_progress(progress(&id, ksuid, op, 7)).await.expect(what);
        assert_eq!(ack, Ack::Applied, "{what}");
        let after = stored(&store, &id).await.expect("present");
        assert_eq!(after.resource_updates, before.resource_updates, "{what}: no row changed");
        assert_eq!(after.header.revision, before.header.revision + 1, "{what}");
        let loaded = persister(store.clone()).load(&id).await.expect("loads");
        assert_eq!((loaded.modified_ts, loaded.state), (ts(7), CommandState::InProgress), "{what}");
        assert_eq!(loaded.resource_updates, command(&id, 2).resource_updates, "{what}");

        // Completion (D3): ignored, nothing written.
        let ack = p.complete(completion(&id, ksuid, op, 8)).await.expect(what);
        assert_eq!(ack, Ack::Ignored, "{what}");
        assert_eq!(stored(&store, &id).await.as_ref(), Some(&after), "{what}: nothing written");

        // Bulk (D4): the reference is skipped; the command's ModifiedTs is still set.
        let refs = vec![ResourceUpdateRef::new(format!("formae://{ksuid}#"), op)];
        for (kind, at) in [("reject", ts(9)), ("fail", ts(10)), ("cancel", now())] {
            let result = match kind {
                "reject" => p.mark_rejected(&id, &refs, at).await,
                "fail" => p.mark_failed(&id, &refs, at).await,
                _ => p.mark_canceled(&id, &refs).await,
            };
            assert_eq!(result.expect(what), Ack::Applied, "{what}: {kind}");
            let loaded = persister(store.clone()).load(&id).await.expect("loads");
            assert_eq!(loaded.modified_ts, at, "{what}");
            assert_eq!(loaded.resource_updates, command(&id, 2).resource_updates, "{what}");
        }
        let last = stored(&store, &id).await.expect("present");
        assert_eq!(last.resource_updates, before.resource_updates, "{what}: rows untouched");
    }
}

#[tokio::test]
async fn duplicate_command_id_is_already_exists_and_the_original_is_intact() {
    let db = TempDb::new("bad-input-duplicate-id");
    let store = db.open().await;
    let mut p = persister(store.clone());
    p.store_new(command("dup", 2)).await.expect("stored");
    p.update_progress(progress("dup", "k1", Operation::Create, 3)).await.expect("applied");
    let before = stored(&store, "dup").await;
    let cached = p.load("dup").await.expect("cached");

    let mut other = command("dup", 5);
    other.client_id = "someone-else".into();
    for (who, q) in [("same persister", &mut p), ("fresh persister", &mut persister(store.clone()))]
    {
        let err = q.store_new(other.clone()).await.expect_err(who);
        assert!(
            matches!(&err, Error::Store(StoreError::AlreadyExists { id }) if id == "dup"),
            "{who}"
        );
        assert!(err.to_string().contains("dup"), "{who}: the message names the command");
        assert_eq!(stored(&store, "dup").await, before, "{who}: the stored original is intact");
    }
    assert_eq!(p.load("dup").await.expect("still cached"), cached, "the cached original is intact");
    assert_eq!(persister(store.clone()).load("dup").await.expect("loads"), cached);
}

#[tokio::test]
async fn corrupt_rows_are_typed_errors_naming_command_and_field() {
    let db = TempDb::new("bad-input-corrupt");
    let store = db.open().await;
    let rows = "UPDATE resource_updates SET fixed = ?1 WHERE command_id = ?2 AND position = 1";
    let progress_rows =
        "UPDATE resource_update_progress SET progress = ?1 WHERE command_id = ?2 AND position = 1";
    let body = "UPDATE forma_commands SET body = ?1 WHERE command_id = ?2";
    let head = "UPDATE forma_commands SET head = ?1 WHERE command_id = ?2";
    let text = |s: &str| rusqlite::types::Value::Text(s.to_owned());
    let cases = [
        ("garbage data", rows, text("{not json"), "resource_updates[1]"),
        ("garbage progress", progress_rows, text(r#"{"State":"Nope"}"#), "resource_updates[1]"),
        ("unknown enum", rows, text(r#"{"Operation":"explode"}"#), "resource_updates[1]"),
        ("non-UTF-8 data", rows, vec![0xff_u8, 0xfe, b'{'].into(), "resource_updates[1].fixed"),
        ("garbage body", body, text("]["), "body"),
        ("garbage head", head, text(r#"{"State":"#), "head"),
    ];
    for (i, (what, sql, value, field)) in cases.into_iter().enumerate() {
        let (victim, healthy) = (format!("victim-{i}"), format!("healthy-{i}"));
        let mut p = persister(store.clone());
        p.store_new(command(&victim, 3)).await.expect("stored");
        p.store_new(command(&healthy, 3)).await.expect("stored");
        let changed = db.raw().execute(sql, rusqlite::params![value, victim]).expect("corrupts");
        assert_eq!(changed, 1, "{what}");

        let mut fresh = persister(store.clone());
        let err = fresh.load(&victim).await.expect_err(what);
        assert!(
            matches!(&err, Error::Store(StoreError::Corrupt { id, field: f, .. }) if *id == victim && f == field),
            "{what}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(&victim) && text.contains(field), "{what}: names both: {text}");
        assert!(!err.is_transient(), "{what}");
        let err = fresh.update_progress(progress(&victim, "k0", Operation::Create, 4)).await;
        assert!(matches!(err, Err(Error::Store(StoreError::Corrupt { .. }))), "{what}: {err:?}");

        // The other command of the database is unaffected.
        let ack = fresh.update_progress(progress(&healthy, "k0", Operation::Create, 4)).await;
        assert_eq!(ack.expect(what), Ack::Applied, "{what}");
        let ack = fresh.complete(completion(&healthy, "k1", Operation::Create, 5)).await;
        assert_eq!(ack.expect(what), Ack::Applied, "{what}");
        let loaded = persister(store.clone()).load(&healthy).await.expect("healthy loads");
        assert_eq!(loaded.resource_updates[1].state, ResourceUpdateState::Success, "{what}");

        // Listing reads summaries, never JSON: the corrupt command is listed with the others.
        let listed = fresh.list(&ListFilter::all()).await.expect(what).summaries;
        assert!(listed.iter().any(|s| s.id == victim), "{what}");
        // Recovery reports it and recovers every other command, in a fresh persister too.
        for mut q in [fresh, persister(store.clone())] {
            let recovered = q.recover().await.expect(what);
            assert_eq!(recovered.failed.len(), 1, "{what}: {:?}", recovered.failed);
            let failure = &recovered.failed[0];
            assert_eq!(failure.id, victim, "{what}");
            assert!(
                matches!(&failure.error, Error::Store(StoreError::Corrupt { field: f, .. }) if f == field),
                "{what}: {:?}",
                failure.error
            );
            assert!(recovered.commands.iter().any(|c| c.id == healthy), "{what}: healthy resumed");
            assert!(recovered.commands.iter().all(|c| c.id != victim), "{what}");
        }
        db.raw()
            .execute("DELETE FROM forma_commands WHERE command_id = ?1", [&victim])
            .expect("removes the victim for the next case");
    }
}

#[tokio::test]
async fn a_newer_schema_is_refused_with_schema_too_new() {
    let db = TempDb::new("bad-input-schema");
    let store = db.open().await;
    persister(store.clone()).store_new(command("kept", 1)).await.expect("stored");
    drop(store);
    let current: i64 =
        db.raw().pragma_query_value(None, "user_version", |r| r.get(0)).expect("user_version");
    assert!(current >= 1, "the store migrated the file");
    for newer in [current + 1, 1_000_000] {
        db.raw().pragma_update(None, "user_version", newer).expect("sets user_version");
        let err = SqliteStore::open(SqliteConfig::file(db.path())).await.expect_err("refused");
        assert!(
            matches!(err, StoreError::SchemaTooNew { found, supported } if found == newer && supported == current),
            "{err:?}"
        );
        assert!(!err.is_transient());
        let raw = db.raw();
        let version: i64 = raw.pragma_query_value(None, "user_version", |r| r.get(0)).expect("v");
        assert_eq!(version, newer, "the refused file is not migrated");
        let count: i64 = raw
            .query_row("SELECT count(*) FROM forma_commands", [], |r| r.get(0))
            .expect("the data is still readable");
        assert_eq!(count, 1);
    }
}

#[tokio::test]
async fn messages_after_a_resource_or_command_is_final_are_ignored() {
    let db = TempDb::new("bad-input-after-final");
    let store = db.open().await;
    let mut p = persister(store.clone());
    p.store_new(command("fin", 2)).await.expect("stored");
    let ack = p.complete(completion("fin", "k0", Operation::Create, 2)).await.expect("applied");
    assert_eq!(ack, Ack::Applied);
    let before = stored(&store, "fin").await;

    let ack = p.update_progress(progress("fin", "k0", Operation::Create, 3)).await;
    assert_eq!(ack.expect("progress"), Ack::Ignored, "progress for a final resource (D2)");
    let ack = p.complete(completion("fin", "k0", Operation::Create, 3)).await;
    assert_eq!(ack.expect("completion"), Ack::Ignored, "duplicate completion (D3)");
    assert_eq!(stored(&store, "fin").await, before, "nothing written");

    let ack = p.complete(completion("fin", "k1", Operation::Create, 4)).await.expect("final");
    assert_eq!(ack, Ack::Finalized);
    let final_rows = stored(&store, "fin").await;
    let late: [(&str, Result<Ack, Error>); 3] = [
        ("duplicate completion", p.complete(completion("fin", "k1", Operation::Create, 5)).await),
        ("progress", p.update_progress(progress("fin", "k1", Operation::Create, 5)).await),
        ("cancel all", p.cancel_all("fin").await),
    ];
    for (what, result) in late {
        assert_eq!(result.expect(what), Ack::Ignored, "{what} after the command is final");
        assert_eq!(stored(&store, "fin").await, final_rows, "{what}: nothing written");
    }
    let loaded = persister(store.clone()).load("fin").await.expect("loads");
    assert_eq!((loaded.state, loaded.modified_ts), (CommandState::Success, ts(4)));

    // D2 and D4 still apply at command level to a final command: a progress report for an
    // unknown key, or a bulk mark whose references are all final, moves its ModifiedTs (the
    // bulk mark finalizes it again, which hashes nothing new). The reference model agrees.
    let ack = p.update_progress(progress("fin", "zz", Operation::Create, 6)).await;
    assert_eq!(ack.expect("unknown key"), Ack::Applied);
    let refs = [ResourceUpdateRef::new("formae://k0#", Operation::Create)];
    assert_eq!(p.mark_failed("fin", &refs, ts(7)).await.expect("bulk"), Ack::Finalized);
    let loaded = persister(store.clone()).load("fin").await.expect("loads");
    assert_eq!((loaded.state, loaded.modified_ts), (CommandState::Success, ts(7)));
    assert!(loaded.resource_updates.iter().all(|r| r.state == ResourceUpdateState::Success));
}

#[tokio::test]
async fn a_sync_command_deleted_at_finalization_is_not_found_afterwards() {
    let db = TempDb::new("bad-input-sync-deleted");
    let store = db.open().await;
    let mut p = persister(store.clone());
    let mut sync = command("sync", 2);
    sync.command = CommandKind::Sync;
    for ru in &mut sync.resource_updates {
        ru.operation = Operation::Read;
    }
    p.store_new(sync).await.expect("stored");
    let ack = p.complete(completion("sync", "k0", Operation::Read, 2)).await.expect("applied");
    assert_eq!(ack, Ack::Applied);
    let ack = p.complete(completion("sync", "k1", Operation::Read, 3)).await.expect("deleted");
    assert_eq!(ack, Ack::Deleted);
    assert_eq!(stored(&store, "sync").await, None);
    for q in [&mut p, &mut persister(store.clone())] {
        for m in every_message("sync") {
            let kind = m.kind();
            assert_not_found(q.handle(m).await, "sync", kind);
        }
    }
}
