//! A database with four known commands, written through the persister, and a way to run the
//! binary against it.

use std::sync::Arc;

use assert_cmd::Command;
use persister_core::{
    CommandKind, CommandState, DynCommandStore, FormaCommand, Operation, OperationStatus,
    Persister, ResourceCompletion, ResourceProgress, ResourceUpdate, ResourceUpdateState,
    Timestamp,
};

/// A fixed time: the fixture's clock starts at 2026-12-01T08:00:00Z.
pub(crate) fn at(seconds: i64) -> Timestamp {
    let base = Timestamp::parse("2026-12-01T08:00:00Z").expect("valid time");
    Timestamp::from_datetime(base.datetime() + time::Duration::seconds(seconds))
}

/// The ids of the fixture's commands, newest first.
pub(crate) const IDS: [&str; 4] =
    ["2qD-not-started", "2qC-destroy-failed", "2qB-apply-running", "2qA-apply-done"];

/// A command of `n` resource updates started at `start` seconds.
pub(crate) fn command(
    id: &str,
    kind: CommandKind,
    client: &str,
    n: usize,
    start: i64,
) -> FormaCommand {
    let resource_updates = (0..n)
        .map(|i| {
            let mut ru = ResourceUpdate {
                operation: Operation::Create,
                state: ResourceUpdateState::NotStarted,
                ..Default::default()
            };
            ru.resource.ksuid = format!("{id}-k{i}");
            ru.resource.label = format!("bucket-{i}");
            ru.resource.resource_type = "AWS::S3::Bucket".into();
            ru
        })
        .collect();
    FormaCommand {
        id: id.into(),
        command: kind,
        client_id: client.into(),
        state: CommandState::NotStarted,
        start_ts: at(start),
        modified_ts: at(start),
        resource_updates,
        ..Default::default()
    }
}

fn uri(id: &str, i: usize) -> String {
    format!("formae://{id}-k{i}#")
}

/// A progress report of resource `i` of `id` at `second`.
pub(crate) fn progress(id: &str, i: usize, second: i64) -> ResourceProgress {
    let mut msg = ResourceProgress {
        command_id: id.into(),
        resource_uri: uri(id, i),
        operation: Operation::Create,
        resource_start_ts: at(second),
        resource_modified_ts: at(second),
        resource_state: ResourceUpdateState::InProgress,
        ..Default::default()
    };
    msg.progress.status_message = "creating the bucket".into();
    msg.progress.operation_status = OperationStatus::InProgress;
    msg
}

/// The completion of resource `i` of `id` at `second`.
pub(crate) fn done(
    id: &str,
    i: usize,
    state: ResourceUpdateState,
    second: i64,
) -> ResourceCompletion {
    ResourceCompletion {
        command_id: id.into(),
        resource_uri: uri(id, i),
        operation: Operation::Create,
        final_state: state,
        resource_start_ts: at(second),
        resource_modified_ts: at(second),
        version: format!("v{i}"),
        ..Default::default()
    }
}

/// Writes the fixture: a finished apply (3 resources), a running apply (4: one done, one in
/// progress), a failed destroy (2) and a command not started, without a client id.
pub(crate) async fn write(store: Arc<DynCommandStore>) {
    let mut p = Persister::new(store);
    let ok = ResourceUpdateState::Success;
    p.store_new(command(IDS[3], CommandKind::Apply, "cli", 3, 0)).await.expect("stored");
    for i in 0..3 {
        p.update_progress(progress(IDS[3], i, 1)).await.expect("progress");
        p.complete(done(IDS[3], i, ok, 10)).await.expect("complete");
    }
    p.store_new(command(IDS[2], CommandKind::Apply, "cli", 4, 100)).await.expect("stored");
    p.complete(done(IDS[2], 0, ok, 110)).await.expect("complete");
    p.update_progress(progress(IDS[2], 1, 111)).await.expect("progress");
    p.store_new(command(IDS[1], CommandKind::Destroy, "ops", 2, 200)).await.expect("stored");
    p.complete(done(IDS[1], 0, ResourceUpdateState::Failed, 210)).await.expect("complete");
    p.complete(done(IDS[1], 1, ok, 211)).await.expect("complete");
    p.store_new(command(IDS[0], CommandKind::Apply, "", 1, 300)).await.expect("stored");
}

/// The binary with `--db url`.
pub(crate) fn cli(url: &str) -> Command {
    let mut cmd = Command::cargo_bin("forma-persister").expect("the binary is built");
    cmd.arg("--db").arg(url).env_remove("FORMA_PERSISTER_DB");
    cmd
}

/// Runs the binary with `args`; returns (exit code, stdout, stderr).
pub(crate) fn run(url: &str, args: &[&str]) -> (i32, String, String) {
    let output = cli(url).args(args).output().expect("the binary runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

/// Runs the binary with `args` and returns its stdout, failing unless it exits 0.
pub(crate) fn ok(url: &str, args: &[&str]) -> String {
    let (code, out, err) = run(url, args);
    assert_eq!(code, 0, "forma-persister {args:?} failed: {err}");
    out
}

/// The lines of `text` with `needle`, after the first word (for `list` tables: the id).
pub(crate) fn ids_in(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("2q"))
        .map(str::to_owned)
        .collect()
}
