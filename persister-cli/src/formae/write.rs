//! [`SqliteWriter`]: a new formae agent database (SQLite, the new schema at goose version 5)
//! holding commands as the agent's own store writes them, for moving back to a formae agent.

use std::path::Path;

use persister_core::{FormaCommand, ResourceUpdate, codec};
use rusqlite::{Connection, Transaction, params};

use super::{FormaeError, NEWEST_VERSION};

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

/// A formae database being written.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    /// The connection to the new file.
    conn: Connection,
    /// The database as named, for messages.
    name: String,
}

impl SqliteWriter {
    /// Creates the database at `path` with the new schema; refuses a file that exists (it
    /// could be a running agent's).
    ///
    /// # Errors
    /// [`FormaeError::Open`] when the file exists or cannot be created.
    pub(crate) fn create(path: &Path, name: String) -> Result<Self, FormaeError> {
        let open = |reason: String| FormaeError::Open { db: name.clone(), reason };
        if path.exists() {
            return Err(open("the file exists; export --to-formae writes a new database".into()));
        }
        let conn = Connection::open(path).map_err(|e| open(e.to_string()))?;
        conn.execute_batch(SCHEMA).map_err(|e| open(e.to_string()))?;
        for version in 0..=NEWEST_VERSION {
            conn.execute(
                "INSERT INTO db_version (version_id, is_applied) VALUES (?1, 1)",
                [version],
            )
            .map_err(|e| open(e.to_string()))?;
        }
        Ok(Self { conn, name })
    }

    /// Writes `commands` in one transaction; returns, per command, what the new schema has no
    /// place for.
    ///
    /// # Errors
    /// [`FormaeError::Query`] when a write fails (the transaction is rolled back).
    pub(crate) fn write(
        &mut self,
        commands: &[FormaCommand],
    ) -> Result<Vec<(String, String)>, FormaeError> {
        let name = self.name.clone();
        let fail =
            |e: rusqlite::Error| FormaeError::Query { db: name.clone(), reason: e.to_string() };
        let tx = self.conn.transaction().map_err(fail)?;
        let mut lost = Vec::new();
        for c in commands {
            write_command(&tx, c).map_err(fail)?;
            if let Some(what) = unkept(c) {
                lost.push((c.id.clone(), what));
            }
        }
        tx.commit().map_err(fail)?;
        Ok(lost)
    }
}

/// The agent's SQLite driver's form of a time: `2025-12-19 23:51:57.123+00:00`, in UTC.
fn space(ts: persister_core::Timestamp) -> String {
    let text = ts.to_utc().to_string();
    format!("{}+00:00", text.replacen('T', " ", 1).trim_end_matches('Z'))
}

/// A part's JSON as the agent binds it (bytes); encoding cannot fail for a stored command,
/// which was encoded when it was stored, so a failure is written as NULL.
fn json<T: codec::Part>(part: &T) -> Option<Vec<u8>> {
    codec::encode_part(part).ok().map(String::into_bytes)
}

fn write_command(tx: &Transaction<'_>, c: &FormaCommand) -> rusqlite::Result<()> {
    let description = c
        .description
        .clone()
        .unwrap_or_else(|| c.forma.as_ref().map(|f| f.description.clone()).unwrap_or_default());
    let targets = (!c.target_updates.is_empty())
        .then(|| json(&Some(c.target_updates.clone())))
        .flatten()
        .unwrap_or_else(|| b"null".to_vec());
    tx.execute(
        "INSERT INTO forma_commands (command_id, timestamp, command, state, client_id, \
         description_text, description_confirm, config_mode, config_force, config_simulate, \
         target_updates, modified_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            c.id,
            space(c.start_ts),
            c.command.as_str(),
            c.state.as_str(),
            c.client_id,
            description.text,
            description.confirm,
            c.config.mode.as_str(),
            c.config.force,
            c.config.simulate,
            targets,
            space(c.modified_ts),
        ],
    )?;
    for ru in &c.resource_updates {
        write_resource_update(tx, &c.id, ru)?;
    }
    Ok(())
}

fn write_resource_update(
    tx: &Transaction<'_>,
    id: &str,
    ru: &ResourceUpdate,
) -> rusqlite::Result<()> {
    let raw =
        |r: &Option<persister_core::RawJson>| r.as_ref().map(|r| r.as_str().as_bytes().to_vec());
    let stack_label = if ru.stack_label.is_empty() { &ru.resource.stack } else { &ru.stack_label };
    let resolvables = (!ru.remaining_resolvables.is_empty())
        .then(|| json(&Some(ru.remaining_resolvables.clone())))
        .flatten();
    let labels = (!ru.reference_labels.is_empty())
        .then(|| json(&Some(ru.reference_labels.clone())))
        .flatten();
    tx.execute(
        "INSERT INTO resource_updates (command_id, ksuid, operation, state, start_ts, \
         modified_ts, retries, remaining, version, stack_label, group_id, source, resource, \
         resource_target, existing_resource, existing_target, metadata, progress_result, \
         most_recent_progress, remaining_resolvables, reference_labels, previous_properties) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21, ?22)",
        params![
            id,
            ru.resource.ksuid,
            ru.operation.as_str(),
            ru.state.as_str(),
            space(ru.start_ts),
            space(ru.modified_ts),
            ru.retries,
            ru.remaining,
            ru.version,
            stack_label,
            ru.group_id,
            ru.source.as_str(),
            json(&ru.resource),
            json(&ru.resource_target),
            json(&ru.existing_resource),
            json(&ru.existing_target),
            raw(&ru.metadata),
            ru.progress_result.as_ref().and_then(|p| json(&Some(p.clone()))),
            json(&ru.most_recent_progress_result),
            resolvables,
            labels,
            raw(&ru.previous_properties),
        ],
    )?;
    Ok(())
}

/// What of `c` the new schema has no column for, if anything.
fn unkept(c: &FormaCommand) -> Option<String> {
    let mut what = Vec::new();
    if c.forma.is_some() {
        what.push("its Forma document (the old agent's shape)".to_owned());
    }
    if !c.extra.is_empty() {
        let names: Vec<&str> = c.extra.iter().map(|(k, _)| k).collect();
        what.push(format!("its members {}", names.join(", ")));
    }
    if c.resource_updates.iter().any(|r| r.match_filters.is_some() || !r.extra.is_empty()) {
        what.push("matchFilters or newer members of resource updates".to_owned());
    }
    (!what.is_empty()).then(|| format!("not kept by the formae schema: {}", what.join("; ")))
}
