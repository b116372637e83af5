//! `Persister::import`: a command moved in is stored as `store_new` stores it, except that
//! its resource updates already final count as completed (D3).

use persister_core::{Ack, CommandKind, CommandState, Operation, ResourceUpdateState, StoreError};

use crate::support::{command, completion, memory};

/// A command with its first resource update already Success, as an export holds it.
fn half_done(id: &str) -> persister_core::FormaCommand {
    let mut c = command(id, 2, CommandKind::Apply);
    c.state = CommandState::InProgress;
    c.resource_updates[0].state = ResourceUpdateState::Success;
    c.resource_updates[0].version = "v0".into();
    c
}

#[tokio::test]
async fn a_final_resource_update_of_an_imported_command_counts_as_completed() {
    let (_store, mut p) = memory();
    p.import(half_done("imp")).await.expect("imports");
    let again = completion("imp", 0, Operation::Create, ResourceUpdateState::Failed, 9);
    assert_eq!(p.complete(again).await.expect("replies"), Ack::Ignored, "a duplicate (D3)");
    p.clear_cache();
    let last = completion("imp", 1, Operation::Create, ResourceUpdateState::Success, 9);
    assert_eq!(p.complete(last).await.expect("replies"), Ack::Finalized, "nothing else pending");
    let loaded = p.load("imp").await.expect("loads");
    assert_eq!(loaded.state, CommandState::Success);
    assert_eq!(loaded.resource_updates[0].state, ResourceUpdateState::Success);
}

#[tokio::test]
async fn store_new_still_waits_for_every_completion() {
    let (_store, mut p) = memory();
    p.store_new(half_done("new")).await.expect("stores");
    let first = completion("new", 0, Operation::Create, ResourceUpdateState::Success, 9);
    assert_eq!(p.complete(first).await.expect("replies"), Ack::Applied);
}

#[tokio::test]
async fn an_import_is_validated_and_stored_in_utc_and_not_hashed() {
    let (_store, mut p) = memory();
    let mut dup = command("dup", 2, CommandKind::Apply);
    dup.resource_updates[1].resource.ksuid = "k0".into();
    let err = p.import(dup).await.expect_err("D1");
    assert!(matches!(err, persister_core::Error::Store(StoreError::DuplicateKey { .. })), "{err}");
    let mut done = half_done("done");
    done.state = CommandState::Success;
    done.resource_updates[1].state = ResourceUpdateState::Success;
    done.start_ts = persister_core::Timestamp::parse("2025-12-19T02:00:00.5-08:00").expect("time");
    p.import(done.clone()).await.expect("imports");
    assert_eq!(p.stats().cache.entries, 0, "a final command is not cached");
    let loaded = p.load("done").await.expect("loads");
    assert_eq!(loaded.start_ts.to_string(), "2025-12-19T10:00:00.5Z", "UTC (D8)");
    assert_eq!(
        loaded.resource_updates[0].resource.properties,
        done.resource_updates[0].resource.properties,
        "the desired state is stored as given, not hashed"
    );
}
