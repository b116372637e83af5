//! Helpers shared by the SQLite backend tests: temporary database files, row fixtures and an
//! error classifier for comparing outcomes with `MemoryStore`.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use persister_core::{
    Checkpoint, CommandRow, Completion, HeaderUpdate, ResourceUpdateChange, ResourceUpdateRow,
    StoreError, StoreResult, StoredCommand,
};
use persister_sqlite::SqliteConfig;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database file in the temporary directory, removed (with its WAL files) on drop.
#[derive(Debug)]
pub(crate) struct TempDb {
    pub(crate) path: PathBuf,
}

impl TempDb {
    /// A unique path that does not exist yet.
    pub(crate) fn new(label: &str) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").subsec_nanos();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("persister-sqlite-{label}-{}-{n}-{nanos}.db", std::process::id());
        Self { path: std::env::temp_dir().join(name) }
    }

    /// A config for this file.
    pub(crate) fn config(&self) -> SqliteConfig {
        SqliteConfig::file(&self.path)
    }

    /// A second, plain connection to the same file, for inspecting or corrupting rows.
    pub(crate) fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open raw connection")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            // The file may not exist (for example when open failed); nothing to clean then.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A resource update row at `position`.
pub(crate) fn update(position: i64, ksuid: &str, operation: &str) -> ResourceUpdateRow {
    ResourceUpdateRow {
        position,
        ksuid: ksuid.into(),
        operation: operation.into(),
        state: "NotStarted".into(),
        completion: Completion::Pending,
        fixed: format!(r#"{{"Ksuid":"{ksuid}","Operation":"{operation}","Position":{position}}}"#),
        progress: r#"{"State":"NotStarted"}"#.into(),
    }
}

/// An `apply` command in progress of client `client-a` with `updates` resource updates.
pub(crate) fn command(id: &str, start_ts: i64, updates: i64) -> StoredCommand {
    StoredCommand {
        header: CommandRow {
            id: id.into(),
            command: "apply".into(),
            state: "InProgress".into(),
            client_id: Some("client-a".into()),
            start_ts,
            modified_ts: start_ts,
            start_ts_ns: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            revision: 0,
            body: format!(r#"{{"ID":"{id}","Secret":"body-of-{id}"}}"#),
            head: format!(r#"{{"State":"InProgress","Of":"{id}"}}"#),
        },
        resource_updates: (0..updates)
            .map(|p| update(p, &format!("ksuid-{p}"), "create"))
            .collect(),
    }
}

/// A header with the given query columns.
pub(crate) fn header(
    id: &str,
    start_ts: i64,
    state: &str,
    client: Option<&str>,
    kind: &str,
) -> StoredCommand {
    let mut c = command(id, start_ts, 1);
    c.header.state = state.into();
    c.header.client_id = client.map(Into::into);
    c.header.command = kind.into();
    c
}

/// A checkpoint that moves command `id` to `state` and completes the rows at `positions`.
pub(crate) fn checkpoint(id: &str, expected: i64, state: &str, positions: &[i64]) -> Checkpoint {
    Checkpoint {
        command_id: id.into(),
        expected_revision: expected,
        header: HeaderUpdate {
            state: state.into(),
            start_ts: 5,
            modified_ts: 100 + expected,
            start_ts_ns: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            head: format!(r#"{{"State":"{state}","Revision":{expected}}}"#),
            body: None,
        },
        resource_updates: positions
            .iter()
            .map(|&p| ResourceUpdateChange {
                position: p,
                state: "Success".into(),
                completion: Completion::Completed,
                // Odd positions rewrite their fixed part too; even ones keep it.
                fixed: (p % 2 == 1).then(|| format!(r#"{{"Fixed":{p},"After":{expected}}}"#)),
                progress: format!(r#"{{"Done":{p},"After":{expected}}}"#),
            })
            .collect(),
    }
}

/// A comparable summary of an outcome: the value, or the error variant with its key fields
/// (never the message text).
pub(crate) fn outcome<T: Debug>(result: &StoreResult<T>) -> String {
    match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(StoreError::NotFound { id }) => format!("NotFound({id})"),
        Err(StoreError::AlreadyExists { id }) => format!("AlreadyExists({id})"),
        Err(StoreError::Conflict { id, expected, found }) => {
            format!("Conflict({id}, {expected}, {found})")
        }
        Err(StoreError::DuplicateKey { id, ksuid, operation }) => {
            format!("DuplicateKey({id}, {ksuid}, {operation})")
        }
        Err(StoreError::Corrupt { id, field, .. }) => format!("Corrupt({id}, {field})"),
        Err(other) => format!("unexpected error: {other:?}"),
    }
}
