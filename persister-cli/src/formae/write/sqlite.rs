//! [`SqliteWriter`]: a new formae agent SQLite database, written as the agent's SQLite store
//! writes it: times in the mattn driver's text form, JSON bound as bytes (BLOBs).

use std::path::Path;

use persister_core::{FormaCommand, Timestamp};
use rusqlite::types::{ToSql, ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, params_from_iter};

use crate::formae::columns::{
    FORMA_COMMANDS, RESOURCE_UPDATES, Value, command_row, resource_update_row,
};
use crate::formae::{FormaeError, NEWEST_VERSION};

/// The new schema as the agent's migrations leave it (00001 to 00005), with goose's table.
const SCHEMA: &str = "
CREATE TABLE db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL,
    is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));
CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY, timestamp TEXT NOT NULL,
    command TEXT NOT NULL, state TEXT NOT NULL, agent_version TEXT, client_id TEXT,
    agent_id TEXT, description_text TEXT, description_confirm INTEGER DEFAULT 0,
    config_mode TEXT DEFAULT 'reconcile', config_force INTEGER DEFAULT 0,
    config_simulate INTEGER DEFAULT 0, target_updates TEXT, modified_ts TEXT);
CREATE INDEX idx_timestamp ON forma_commands(timestamp);
CREATE INDEX idx_command ON forma_commands(command);
CREATE INDEX idx_state ON forma_commands(state);
CREATE INDEX idx_agent_version ON forma_commands(agent_version);
CREATE INDEX idx_agent_id ON forma_commands(agent_id);
CREATE INDEX idx_client_id ON forma_commands(client_id);
CREATE INDEX idx_config_mode ON forma_commands(config_mode);
CREATE TABLE resource_updates (command_id TEXT NOT NULL, ksuid TEXT NOT NULL,
    operation TEXT NOT NULL, state TEXT NOT NULL, start_ts TEXT, modified_ts TEXT,
    retries INTEGER DEFAULT 0, remaining INTEGER DEFAULT 0, version TEXT, stack_label TEXT,
    group_id TEXT, source TEXT, resource TEXT, resource_target TEXT, existing_resource TEXT,
    existing_target TEXT, metadata TEXT, progress_result TEXT, most_recent_progress TEXT,
    remaining_resolvables TEXT, reference_labels TEXT, previous_properties TEXT,
    PRIMARY KEY (command_id, ksuid, operation));
CREATE INDEX idx_ru_command_id ON resource_updates(command_id);
CREATE INDEX idx_ru_ksuid ON resource_updates(ksuid);
CREATE INDEX idx_ru_state ON resource_updates(state);
CREATE INDEX idx_ru_stack_label ON resource_updates(stack_label);
CREATE INDEX idx_ru_operation ON resource_updates(operation);
";

/// A formae SQLite database being written.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    /// The connection to the new file.
    conn: Connection,
    /// The database as named, for messages.
    name: String,
    /// The `INSERT` of a `forma_commands` row.
    insert_command: String,
    /// The `INSERT` of a `resource_updates` row.
    insert_resource_update: String,
}

impl SqliteWriter {
    /// Creates the database at `path` with the new schema, in one transaction; refuses a file
    /// that exists (it could be a running agent's).
    ///
    /// # Errors
    /// [`FormaeError::NotEmpty`] when the file exists; [`FormaeError::Open`] when it cannot
    /// be created; [`FormaeError::Write`] when the schema cannot.
    pub(crate) fn create(path: &Path, name: String) -> Result<Self, FormaeError> {
        if path.exists() {
            return Err(FormaeError::NotEmpty { db: name, found: "the file exists".into() });
        }
        let mut conn = Connection::open(path)
            .map_err(|e| FormaeError::Open { db: name.clone(), reason: e.to_string() })?;
        let fail =
            |e: rusqlite::Error| FormaeError::Write { db: name.clone(), reason: e.to_string() };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(SCHEMA).map_err(fail)?;
        for version in 0..=NEWEST_VERSION {
            tx.execute("INSERT INTO db_version (version_id, is_applied) VALUES (?1, 1)", [version])
                .map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
        let insert_command = insert("forma_commands", FORMA_COMMANDS.iter().map(|c| c.name));
        let insert_resource_update =
            insert("resource_updates", RESOURCE_UPDATES.iter().map(|c| c.name));
        Ok(Self { conn, name, insert_command, insert_resource_update })
    }

    /// Writes `commands` in one transaction.
    ///
    /// # Errors
    /// As [`Writer::write`](super::Writer::write).
    pub(crate) fn write(&mut self, commands: &[FormaCommand]) -> Result<(), FormaeError> {
        let name = &self.name;
        let fail =
            |e: rusqlite::Error| FormaeError::Write { db: name.clone(), reason: e.to_string() };
        let tx = self.conn.transaction().map_err(fail)?;
        {
            let mut header = tx.prepare_cached(&self.insert_command).map_err(fail)?;
            let mut row = tx.prepare_cached(&self.insert_resource_update).map_err(fail)?;
            for c in commands {
                header.execute(params_from_iter(command_row(c)?)).map_err(fail)?;
                for ru in &c.resource_updates {
                    row.execute(params_from_iter(resource_update_row(&c.id, ru)?)).map_err(fail)?;
                }
            }
        }
        tx.commit().map_err(fail)
    }

    /// Closes the file.
    ///
    /// # Errors
    /// [`FormaeError::Write`] when SQLite cannot close it cleanly.
    pub(crate) fn close(self) -> Result<(), FormaeError> {
        let name = self.name;
        self.conn.close().map_err(|(_, e)| FormaeError::Write { db: name, reason: e.to_string() })
    }
}

/// `INSERT INTO table (a, b, ...) VALUES (?1, ?2, ...)`; the names are those of
/// [`columns`](crate::formae::columns), never input.
fn insert(table: &str, names: impl Iterator<Item = &'static str>) -> String {
    let names: Vec<&str> = names.collect();
    let params: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), params.join(", "))
}

/// The agent's SQLite driver's form of a time: `2025-12-19 23:51:57.123+00:00`, in UTC.
fn space(ts: Timestamp) -> String {
    let text = ts.to_utc().to_string();
    format!("{}+00:00", text.replacen('T', " ", 1).trim_end_matches('Z'))
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Value::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*b))),
            Value::Time(ts) => ToSqlOutput::Owned(SqlValue::Text(space(*ts))),
            Value::Json(None) => ToSqlOutput::Owned(SqlValue::Null),
            // The agent binds JSON as bytes: a BLOB, though the column is declared TEXT.
            Value::Json(Some(json)) => ToSqlOutput::Borrowed(ValueRef::Blob(json.as_bytes())),
        })
    }
}
