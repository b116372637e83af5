//! Builders shared by the persister tests.

use std::sync::Arc;

use persister_core::{
    CommandKind, CommandState, FormaCommand, MemoryStore, Operation, Persister, PersisterConfig,
    PluginOperation, ProgressResult, RawJson, ResourceCompletion, ResourceProgress, ResourceUpdate,
    ResourceUpdateState, Timestamp,
};

pub(crate) const SECRET: &str = "hunter2";

pub(crate) fn raw(text: &str) -> RawJson {
    RawJson::new(text).expect("valid JSON")
}

pub(crate) fn ts(second: u32) -> Timestamp {
    Timestamp::parse(&format!("2025-12-19T10:00:{second:02}.5Z")).expect("valid time")
}

/// A command with `n` create resource updates `k0..`, the first holding an opaque password.
pub(crate) fn command(id: &str, n: usize, kind: CommandKind) -> FormaCommand {
    let resource_updates = (0..n)
        .map(|i| {
            let mut ru = ResourceUpdate {
                operation: if kind == CommandKind::Sync {
                    Operation::Read
                } else {
                    Operation::Create
                },
                state: ResourceUpdateState::NotStarted,
                ..ResourceUpdate::default()
            };
            ru.resource.ksuid = format!("k{i}");
            ru.resource.label = format!("r{i}");
            ru.resource.resource_type = "AWS::S3::Bucket".into();
            let props = if i == 0 {
                format!(
                    r#"{{"Name":"r0","Password":{{"$value":"{SECRET}","$visibility":"Opaque"}}}}"#
                )
            } else {
                format!(r#"{{"Name":"r{i}"}}"#)
            };
            ru.resource.properties = Some(raw(&props));
            ru
        })
        .collect();
    FormaCommand {
        id: id.into(),
        state: CommandState::NotStarted,
        start_ts: ts(0),
        modified_ts: ts(0),
        resource_updates,
        command: kind,
        client_id: "cli".into(),
        ..FormaCommand::default()
    }
}

pub(crate) fn uri(i: usize) -> String {
    format!("formae://k{i}#")
}

pub(crate) fn progress(
    id: &str,
    i: usize,
    op: Operation,
    state: ResourceUpdateState,
    second: u32,
) -> ResourceProgress {
    ResourceProgress {
        command_id: id.into(),
        resource_uri: uri(i),
        operation: op,
        resource_start_ts: ts(1),
        resource_modified_ts: ts(second),
        resource_state: state,
        progress: ProgressResult {
            operation: PluginOperation::Create,
            resource_type: "AWS::S3::Bucket".into(),
            modified_ts: ts(second),
            ..ProgressResult::default()
        },
        ..ResourceProgress::default()
    }
}

pub(crate) fn completion(
    id: &str,
    i: usize,
    op: Operation,
    state: ResourceUpdateState,
    second: u32,
) -> ResourceCompletion {
    ResourceCompletion {
        command_id: id.into(),
        resource_uri: uri(i),
        operation: op,
        final_state: state,
        resource_start_ts: ts(1),
        resource_modified_ts: ts(second),
        ..ResourceCompletion::default()
    }
}

pub(crate) fn memory() -> (Arc<MemoryStore>, Persister) {
    let store = Arc::new(MemoryStore::new());
    let persister = Persister::new(store.clone());
    (store, persister)
}

pub(crate) fn memory_with(config: PersisterConfig) -> (Arc<MemoryStore>, Persister) {
    let store = Arc::new(MemoryStore::new());
    let persister = Persister::with_config(store.clone(), config);
    (store, persister)
}
