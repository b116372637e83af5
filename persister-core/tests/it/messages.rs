//! Message semantics (decisions D2 to D5, D9) against the in-memory reference store.

use crate::support::*;
use persister_core::{
    Ack, CommandKind, CommandState, Error, Operation, PluginOperation, ResourceUpdateRef,
    ResourceUpdateState as S, StoreError, TargetUpdate, TargetUpdateState, Timestamp,
};

#[tokio::test]
async fn progress_moves_not_started_to_in_progress_and_never_finalizes() {
    let (_, mut p) = memory();
    p.store_new(command("c", 2, CommandKind::Apply)).await.expect("stored");
    let ack = p.update_progress(progress("c", 0, Operation::Create, S::InProgress, 5)).await;
    assert_eq!(ack.expect("applied"), Ack::Applied);
    for i in 0..2 {
        p.update_progress(progress("c", i, Operation::Create, S::Success, 6))
            .await
            .expect("applied");
    }
    let c = p.load("c").await.expect("loaded");
    assert_eq!(c.state, CommandState::InProgress, "progress never makes a command final");
    assert_eq!(c.modified_ts, ts(6));
    assert_eq!(c.start_ts, ts(0), "StartTs is only set while zero");
    let ru = &c.resource_updates[0];
    assert_eq!((ru.state, ru.start_ts, ru.modified_ts), (S::Success, ts(1), ts(6)));
    assert_eq!(ru.progress_result.as_ref().map(Vec::len), Some(1), "replaced by plugin operation");
}

#[tokio::test]
async fn progress_appends_per_plugin_operation_and_sets_zero_start() {
    let (_, mut p) = memory();
    let mut c = command("c", 1, CommandKind::Apply);
    c.start_ts = Timestamp::ZERO;
    p.store_new(c).await.expect("stored");
    let mut msg = progress("c", 0, Operation::Create, S::InProgress, 5);
    p.update_progress(msg.clone()).await.expect("applied");
    msg.progress.operation = PluginOperation::Read;
    p.update_progress(msg).await.expect("applied");
    let c = p.load("c").await.expect("loaded");
    assert_eq!(c.start_ts, ts(1));
    let ops: Vec<_> =
        c.resource_updates[0].progress_result.iter().flatten().map(|r| r.operation).collect();
    assert_eq!(ops, [PluginOperation::Create, PluginOperation::Read]);
    assert_eq!(c.resource_updates[0].most_recent_progress_result.operation, PluginOperation::Read);
}

#[tokio::test]
async fn progress_is_ignored_for_final_resources_and_canceled_commands() {
    let (_, mut p) = memory();
    p.store_new(command("c", 2, CommandKind::Apply)).await.expect("stored");
    p.mark_failed("c", &[ResourceUpdateRef::new(uri(0), Operation::Create)], ts(3))
        .await
        .expect("bulk");
    let before = p.load("c").await.expect("loaded");
    let ack = p.update_progress(progress("c", 0, Operation::Create, S::InProgress, 9)).await;
    assert_eq!(ack.expect("ok"), Ack::Ignored);
    assert_eq!(p.load("c").await.expect("loaded"), before, "nothing changed, not even ModifiedTs");

    p.store_new(command("d", 2, CommandKind::Apply)).await.expect("stored");
    p.cancel_all("d").await.expect("canceled");
    assert_eq!(p.load("d").await.expect("loaded").state, CommandState::Canceled);
    let ack = p.update_progress(progress("d", 1, Operation::Create, S::InProgress, 9)).await;
    assert_eq!(ack.expect("ok"), Ack::Ignored);
}

#[tokio::test]
async fn progress_for_unknown_key_still_touches_the_command() {
    let (_, mut p) = memory();
    p.store_new(command("c", 1, CommandKind::Apply)).await.expect("stored");
    p.update_progress(progress("c", 0, Operation::Delete, S::InProgress, 7))
        .await
        .expect("applied");
    let c = p.load("c").await.expect("loaded");
    assert_eq!((c.state, c.modified_ts), (CommandState::InProgress, ts(7)));
    assert_eq!(c.resource_updates[0].state, S::NotStarted);
}

#[tokio::test]
async fn completion_rules() {
    let (_, mut p) = memory();
    p.store_new(command("c", 3, CommandKind::Apply)).await.expect("stored");
    // Unknown key: no side effects.
    let before = p.load("c").await.expect("loaded");
    let ack = p.complete(completion("c", 0, Operation::Update, S::Success, 9)).await;
    assert_eq!(ack.expect("ok"), Ack::Ignored);
    assert_eq!(p.load("c").await.expect("loaded"), before);
    // First completion applies; a duplicate is dropped.
    let mut first = completion("c", 0, Operation::Create, S::Success, 4);
    first.version = "v1".into();
    assert_eq!(p.complete(first).await.expect("ok"), Ack::Applied);
    let dup = completion("c", 0, Operation::Create, S::Failed, 5);
    assert_eq!(p.complete(dup).await.expect("ok"), Ack::Ignored);
    // A bulk-finalized resource drops its late completion.
    p.mark_rejected("c", &[ResourceUpdateRef::new(uri(1), Operation::Create)], ts(6))
        .await
        .expect("bulk");
    let late = completion("c", 1, Operation::Create, S::Success, 7);
    assert_eq!(p.complete(late).await.expect("ok"), Ack::Ignored);
    // The last completion makes the command final: Rejected counts as Failed.
    let ack = p.complete(completion("c", 2, Operation::Create, S::Success, 8)).await.expect("ok");
    assert_eq!(ack, Ack::Finalized);
    let c = p.load("c").await.expect("loaded");
    assert_eq!(c.state, CommandState::Failed);
    assert_eq!(c.modified_ts, ts(8));
    assert_eq!(c.resource_updates[0].version, "v1");
    assert_eq!(c.resource_updates[1].state, S::Rejected);
}

#[tokio::test]
async fn late_completion_after_progress_success_survives_a_restart() {
    let (store, mut p) = memory();
    p.store_new(command("c", 1, CommandKind::Apply)).await.expect("stored");
    p.update_progress(progress("c", 0, Operation::Create, S::Success, 3)).await.expect("applied");
    // A restart: a fresh persister over the same store.
    let mut p = persister_core::Persister::new(store);
    let mut done = completion("c", 0, Operation::Create, S::Success, 4);
    done.version = "v7".into();
    assert_eq!(p.complete(done).await.expect("ok"), Ack::Finalized);
    assert_eq!(p.load("c").await.expect("loaded").resource_updates[0].version, "v7");
}

#[tokio::test]
async fn bulk_skips_unknown_and_final_entries_and_cancel_wins() {
    let (_, mut p) = memory();
    p.store_new(command("c", 3, CommandKind::Apply)).await.expect("stored");
    p.complete(completion("c", 0, Operation::Create, S::Failed, 2)).await.expect("ok");
    let refs = [
        ResourceUpdateRef::new(uri(0), Operation::Create),
        ResourceUpdateRef::new(uri(1), Operation::Create),
        ResourceUpdateRef::new(uri(2), Operation::Create),
        ResourceUpdateRef::new("formae://nope#", Operation::Create),
    ];
    let ack = p.mark_canceled("c", &refs).await.expect("ok");
    assert_eq!(ack, Ack::Finalized);
    let c = p.load("c").await.expect("loaded");
    let states: Vec<_> = c.resource_updates.iter().map(|r| r.state).collect();
    assert_eq!(states, [S::Failed, S::Canceled, S::Canceled], "the final entry is kept");
    assert_eq!(c.state, CommandState::Canceled, "Canceled beats Failed");
    assert!(c.modified_ts.datetime() > ts(59).datetime(), "cancel uses the current time");
}

#[tokio::test]
async fn cancel_all_with_nothing_to_cancel_writes_nothing() {
    let (_, mut p) = memory();
    p.store_new(command("c", 1, CommandKind::Apply)).await.expect("stored");
    p.complete(completion("c", 0, Operation::Create, S::Success, 2)).await.expect("ok");
    let before = p.stats().transactions;
    assert_eq!(p.cancel_all("c").await.expect("ok"), Ack::Ignored);
    assert_eq!(p.stats().transactions, before);
}

#[tokio::test]
async fn sync_commands_without_versions_are_deleted() {
    let (_, mut p) = memory();
    p.store_new(command("s", 2, CommandKind::Sync)).await.expect("stored");
    p.complete(completion("s", 0, Operation::Read, S::Success, 2)).await.expect("ok");
    let ack = p.complete(completion("s", 1, Operation::Read, S::Success, 3)).await.expect("ok");
    assert_eq!(ack, Ack::Deleted);
    assert!(matches!(p.load("s").await, Err(Error::Store(StoreError::NotFound { .. }))));

    p.store_new(command("t", 1, CommandKind::Sync)).await.expect("stored");
    let mut changed = completion("t", 0, Operation::Read, S::Success, 2);
    changed.version = "v2".into();
    assert_eq!(p.complete(changed).await.expect("ok"), Ack::Finalized);
    assert_eq!(p.load("t").await.expect("kept").state, CommandState::Success);
}

#[tokio::test]
async fn target_states_merge_and_count() {
    let (_, mut p) = memory();
    p.store_new(command("c", 0, CommandKind::Apply)).await.expect("stored");
    let target = |label: &str, state| {
        let mut t = TargetUpdate { operation: Operation::Create, state, ..TargetUpdate::default() };
        t.target.label = label.into();
        t
    };
    let ack = p
        .update_target_states(
            "c",
            vec![
                target("a", TargetUpdateState::InProgress),
                target("b", TargetUpdateState::Failed),
            ],
        )
        .await
        .expect("ok");
    assert_eq!(ack, Ack::Applied);
    assert_eq!(p.load("c").await.expect("loaded").state, CommandState::InProgress);
    // b is final and is not overwritten; a becomes Success: the command is Failed and finalized.
    let ack = p
        .update_target_states(
            "c",
            vec![target("a", TargetUpdateState::Success), target("b", TargetUpdateState::Success)],
        )
        .await
        .expect("ok");
    assert_eq!(ack, Ack::Finalized);
    let c = p.load("c").await.expect("loaded");
    let states: Vec<_> = c.target_updates.iter().map(|t| t.state).collect();
    assert_eq!(states, [TargetUpdateState::Success, TargetUpdateState::Failed]);
    assert_eq!(c.state, CommandState::Failed);
    assert_eq!(c.modified_ts, ts(0), "target states leave ModifiedTs unchanged");
}

#[tokio::test]
async fn finalize_incomplete() {
    let (_, mut p) = memory();
    p.store_new(command("c", 2, CommandKind::Sync)).await.expect("stored");
    p.update_progress(progress("c", 0, Operation::Read, S::Success, 2)).await.expect("ok");
    let err = p.finalize_incomplete("c").await.expect_err("one resource is not final");
    assert!(matches!(err, Error::NotAllFinal { not_final: 1, .. }));
    p.update_progress(progress("c", 1, Operation::Read, S::Success, 3)).await.expect("ok");
    // Completions never arrived (lost in a crash): finalized anyway, the sync command deleted.
    assert_eq!(p.finalize_incomplete("c").await.expect("ok"), Ack::Deleted);
}

#[tokio::test]
async fn duplicate_keys_and_ids_are_rejected() {
    let (_, mut p) = memory();
    let mut c = command("c", 2, CommandKind::Apply);
    c.resource_updates[1].resource.ksuid = "k0".into();
    let err = p.store_new(c).await.expect_err("duplicate key");
    assert!(
        matches!(err, Error::Store(StoreError::DuplicateKey { ref ksuid, .. }) if ksuid == "k0")
    );
    // A replace pair (same KSUID, delete then create) is fine.
    let mut c = command("r", 2, CommandKind::Apply);
    c.resource_updates[0].operation = Operation::Delete;
    c.resource_updates[1].resource.ksuid = "k0".into();
    p.store_new(c.clone()).await.expect("replace pair stored");
    // Storing the same command again succeeds (a retry whose first attempt took effect)...
    p.store_new(c.clone()).await.expect("an identical command again is idempotent");
    // ...but another command under the same id is refused...
    let mut other = c.clone();
    other.client_id = "someone else".into();
    let err = p.store_new(other).await.expect_err("same id, other content");
    assert!(matches!(err, Error::Store(StoreError::AlreadyExists { .. })));
    // ...and so is the same command once the stored one has moved on.
    p.update_progress(progress("r", 0, Operation::Delete, S::InProgress, 1)).await.expect("ok");
    let err = p.store_new(c).await.expect_err("stored one changed since");
    assert!(matches!(err, Error::Store(StoreError::AlreadyExists { .. })));
    // Messages for an unknown command are typed errors.
    let err = p.update_progress(progress("nope", 0, Operation::Create, S::InProgress, 1)).await;
    assert!(matches!(err, Err(Error::Store(StoreError::NotFound { .. }))));
}
