//! D8: every timestamp given to the persister is stored in UTC (encoded with `Z`), denoting
//! the same instant, for a new command and for every message kind that carries times.

use std::sync::Arc;

use crate::support::*;
use persister_core::{
    CommandKind, FormaCommand, Message, Operation, Persister, PersisterConfig, PluginOperation,
    ProgressResult, ResourceUpdateRef, ResourceUpdateState as S, TargetUpdate, TargetUpdateState,
    Timestamp, codec,
};

/// `ts(second)` written at `-08:00`: the same instant, another offset.
fn pacific(second: u32) -> Timestamp {
    Timestamp::parse(&format!("2025-12-19T02:00:{second:02}.5-08:00")).expect("valid time")
}

/// Every timestamp of `command`.
fn times(command: &FormaCommand) -> Vec<Timestamp> {
    let mut out = vec![command.start_ts, command.modified_ts];
    for ru in &command.resource_updates {
        out.extend([ru.start_ts, ru.modified_ts]);
        let results = std::iter::once(&ru.most_recent_progress_result)
            .chain(ru.progress_result.iter().flatten());
        out.extend(results.flat_map(|r| [r.start_ts, r.modified_ts]));
    }
    out.extend(command.target_updates.iter().flat_map(|t| [t.start_ts, t.modified_ts]));
    out
}

fn pacific_result(second: u32) -> ProgressResult {
    ProgressResult {
        operation: PluginOperation::Create,
        start_ts: pacific(1),
        modified_ts: pacific(second),
        ..ProgressResult::default()
    }
}

fn pacific_target(label: &str, second: u32) -> TargetUpdate {
    let mut t = TargetUpdate {
        operation: Operation::Create,
        state: TargetUpdateState::InProgress,
        start_ts: pacific(1),
        modified_ts: pacific(second),
        ..TargetUpdate::default()
    };
    t.target.label = label.into();
    t
}

/// A command of `n` resource updates whose every timestamp is at `-08:00`.
fn pacific_command(id: &str, n: usize) -> FormaCommand {
    let mut c = command(id, n, CommandKind::Apply);
    c.start_ts = pacific(0);
    c.modified_ts = pacific(0);
    for ru in &mut c.resource_updates {
        ru.start_ts = pacific(0);
        ru.modified_ts = pacific(0);
        ru.most_recent_progress_result = pacific_result(0);
        ru.progress_result = Some(vec![pacific_result(0)]);
    }
    c.target_updates = vec![pacific_target("t", 0)];
    c
}

/// Asserts that `id` is stored, cached and reloaded with every timestamp in UTC, that no
/// stored byte holds the offset, and returns the command as a fresh persister loads it.
async fn assert_stored_in_utc(
    store: &Arc<persister_core::MemoryStore>,
    p: &mut Persister,
    id: &str,
) -> FormaCommand {
    let cached = p.load(id).await.expect("loaded");
    let reloaded = Persister::new(store.clone()).load(id).await.expect("reloaded");
    assert_eq!(cached, reloaded, "the cache holds what the store does");
    for (a, b) in times(&cached).into_iter().zip(times(&reloaded)) {
        assert!(a.is_utc() && b.is_utc(), "{a:?} / {b:?} is not UTC");
        assert_eq!(a.to_string(), b.to_string(), "same encoding");
    }
    let encoded = codec::encode_command(&reloaded).expect("encodes");
    assert!(!encoded.contains("-08:00"), "the encoding keeps no offset: {encoded}");
    for column in store.dump() {
        assert!(!column.contains("-08:00"), "a stored column keeps the offset: {column}");
    }
    reloaded
}

#[tokio::test]
async fn a_command_with_offset_times_is_stored_in_utc_at_the_same_instants() {
    let (store, mut p) = memory();
    let given = pacific_command("c", 3);
    p.store_new(given.clone()).await.expect("stored");
    let loaded = assert_stored_in_utc(&store, &mut p, "c").await;
    assert_eq!(times(&loaded), times(&given), "the same instants");
    assert_eq!(loaded.start_ts.to_string(), "2025-12-19T10:00:00.5Z");
    let ru = &loaded.resource_updates[0];
    assert_eq!(ru.most_recent_progress_result.modified_ts.to_string(), "2025-12-19T10:00:00.5Z");
    assert_eq!(loaded.target_updates[0].start_ts.to_string(), "2025-12-19T10:00:01.5Z");
}

#[tokio::test]
async fn progress_and_completion_with_offset_times_are_stored_in_utc() {
    let (store, mut p) = memory();
    p.store_new(command("c", 2, CommandKind::Apply)).await.expect("stored");
    let mut report = progress("c", 0, Operation::Create, S::InProgress, 5);
    report.resource_start_ts = pacific(1);
    report.resource_modified_ts = pacific(5);
    report.progress = pacific_result(5);
    p.update_progress(report).await.expect("progress");
    let loaded = assert_stored_in_utc(&store, &mut p, "c").await;
    let ru = &loaded.resource_updates[0];
    assert_eq!((ru.start_ts, ru.modified_ts, loaded.modified_ts), (ts(1), ts(5), ts(5)));
    assert_eq!(ru.most_recent_progress_result.modified_ts.to_string(), "2025-12-19T10:00:05.5Z");

    let mut done = completion("c", 1, Operation::Create, S::Success, 7);
    done.resource_start_ts = pacific(2);
    done.resource_modified_ts = pacific(7);
    p.complete(done).await.expect("complete");
    let loaded = assert_stored_in_utc(&store, &mut p, "c").await;
    let ru = &loaded.resource_updates[1];
    assert_eq!((ru.start_ts, ru.modified_ts, loaded.modified_ts), (ts(2), ts(7), ts(7)));
    assert_eq!(loaded.modified_ts.to_string(), "2025-12-19T10:00:07.5Z");
}

#[tokio::test]
async fn bulk_and_target_messages_with_offset_times_are_stored_in_utc() {
    let (store, mut p) = memory();
    p.store_new(command("c", 3, CommandKind::Apply)).await.expect("stored");
    p.mark_rejected("c", &[ResourceUpdateRef::new(uri(0), Operation::Create)], pacific(3))
        .await
        .expect("rejected");
    p.mark_failed("c", &[ResourceUpdateRef::new(uri(1), Operation::Create)], pacific(4))
        .await
        .expect("failed");
    p.update_target_states("c", vec![pacific_target("t", 6)]).await.expect("targets");
    let loaded = assert_stored_in_utc(&store, &mut p, "c").await;
    assert_eq!(loaded.resource_updates[0].modified_ts, ts(3));
    assert_eq!(loaded.resource_updates[1].modified_ts.to_string(), "2025-12-19T10:00:04.5Z");
    assert_eq!(loaded.target_updates[0].modified_ts.to_string(), "2025-12-19T10:00:06.5Z");
}

#[tokio::test]
async fn a_batch_and_a_clock_at_an_offset_are_stored_in_utc() {
    let clock = Arc::new(|| pacific(9));
    let (store, mut p) = memory_with(PersisterConfig::default().clock(clock));
    let mut report = progress("c", 0, Operation::Create, S::InProgress, 5);
    report.resource_modified_ts = pacific(5);
    let batch = vec![
        Message::StoreNew(Box::new(pacific_command("c", 2))),
        Message::Progress(Box::new(report)),
        Message::MarkCanceled {
            id: "c".into(),
            refs: vec![ResourceUpdateRef::new(uri(1), Operation::Create)],
        },
    ];
    for reply in p.handle_batch(batch).await {
        reply.expect("handled");
    }
    let loaded = assert_stored_in_utc(&store, &mut p, "c").await;
    assert_eq!(loaded.resource_updates[1].modified_ts.to_string(), "2025-12-19T10:00:09.5Z");
    assert_eq!(loaded.resource_updates[0].modified_ts, ts(5));
}
