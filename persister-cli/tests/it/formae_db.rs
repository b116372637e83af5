//! Formae agents' own SQLite databases, built from the schema of the reference (section 4.2)
//! and filled from Go-shaped commands the way the agent writes them (section 4.3): JSON as
//! BLOB or TEXT or NULL, times in the driver's space form or RFC 3339, NULL booleans.
//!
//! The DDL here is the reference's, kept apart from the one `export --to-formae` writes
//! (`src/formae/write/sqlite.rs`) on purpose: [`schema_of`] compares the two, so that the
//! exporter's is checked against the reference instead of against itself.

use persister_core::{FormaCommand, ResourceUpdate, Timestamp, codec};
use rusqlite::{Connection, params};

/// goose's version table, at `version`.
fn db_version(conn: &Connection, version: i64) {
    conn.execute_batch(
        "CREATE TABLE db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, \
         version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, \
         tstamp TIMESTAMP DEFAULT (datetime('now')));",
    )
    .expect("db_version");
    for v in 0..=version {
        conn.execute("INSERT INTO db_version (version_id, is_applied) VALUES (?1, 1)", [v])
            .expect("a version row");
    }
}

/// The old schema (migration 00001): the whole command in `data`.
pub(crate) fn old_schema(conn: &Connection, version: i64) {
    db_version(conn, version);
    conn.execute_batch(
        "CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY, \
         timestamp TEXT NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL, \
         agent_version TEXT, client_id TEXT, agent_id TEXT, data TEXT);
         CREATE INDEX idx_timestamp ON forma_commands(timestamp);
         CREATE INDEX idx_command ON forma_commands(command);
         CREATE INDEX idx_state ON forma_commands(state);
         CREATE INDEX idx_agent_version ON forma_commands(agent_version);
         CREATE INDEX idx_agent_id ON forma_commands(agent_id);
         CREATE INDEX idx_client_id ON forma_commands(client_id);",
    )
    .expect("the old schema");
}

/// The new schema (migrations 00003 to 00005).
pub(crate) fn new_schema(conn: &Connection) {
    new_schema_at(conn, 5);
}

/// The new schema at goose `version`: 4 still has the old `data` column (00005 drops it).
pub(crate) fn new_schema_at(conn: &Connection, version: i64) {
    db_version(conn, version);
    conn.execute_batch(
        "CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY, \
         timestamp TEXT NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL, \
         agent_version TEXT, client_id TEXT, agent_id TEXT, description_text TEXT, \
         description_confirm INTEGER DEFAULT 0, config_mode TEXT DEFAULT 'reconcile', \
         config_force INTEGER DEFAULT 0, config_simulate INTEGER DEFAULT 0, \
         target_updates TEXT, modified_ts TEXT);
         CREATE INDEX idx_timestamp ON forma_commands(timestamp);
         CREATE INDEX idx_command ON forma_commands(command);
         CREATE INDEX idx_state ON forma_commands(state);
         CREATE INDEX idx_agent_version ON forma_commands(agent_version);
         CREATE INDEX idx_agent_id ON forma_commands(agent_id);
         CREATE INDEX idx_client_id ON forma_commands(client_id);
         CREATE INDEX idx_config_mode ON forma_commands(config_mode);
         CREATE TABLE resource_updates (command_id TEXT NOT NULL, ksuid TEXT NOT NULL, \
         operation TEXT NOT NULL, state TEXT NOT NULL, start_ts TEXT, modified_ts TEXT, \
         retries INTEGER DEFAULT 0, remaining INTEGER DEFAULT 0, version TEXT, \
         stack_label TEXT, group_id TEXT, source TEXT, resource TEXT, resource_target TEXT, \
         existing_resource TEXT, existing_target TEXT, metadata TEXT, progress_result TEXT, \
         most_recent_progress TEXT, remaining_resolvables TEXT, reference_labels TEXT, \
         previous_properties TEXT, PRIMARY KEY (command_id, ksuid, operation));
         CREATE INDEX idx_ru_command_id ON resource_updates(command_id);
         CREATE INDEX idx_ru_ksuid ON resource_updates(ksuid);
         CREATE INDEX idx_ru_state ON resource_updates(state);
         CREATE INDEX idx_ru_stack_label ON resource_updates(stack_label);
         CREATE INDEX idx_ru_operation ON resource_updates(operation);",
    )
    .expect("the new schema");
    if version == 4 {
        conn.execute_batch("ALTER TABLE forma_commands ADD COLUMN data TEXT;").expect("data");
    }
}

/// The schema of a SQLite database, to compare: each table's columns (name, declared type,
/// NOT NULL, default, primary key position) and each index's table and columns, by name.
pub(crate) fn schema_of(conn: &Connection) -> Vec<String> {
    let strings = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).expect("prepares");
        stmt.query_map([], |r| r.get(0)).expect("queries").map(|r| r.expect("a row")).collect()
    };
    let mut schema = Vec::new();
    let tables = "SELECT name FROM sqlite_master WHERE type = 'table' \
                  AND name NOT LIKE 'sqlite_%' ORDER BY name";
    for table in strings(tables) {
        schema.extend(strings(&format!(
            "SELECT '{table}.' || name || ' ' || type || ' notnull=' || \"notnull\" || \
             ' default=' || IFNULL(dflt_value, '-') || ' pk=' || pk \
             FROM pragma_table_info('{table}') ORDER BY cid"
        )));
    }
    let indexes = "SELECT name || ' ON ' || tbl_name FROM sqlite_master \
                   WHERE type = 'index' AND sql IS NOT NULL ORDER BY name";
    for index in strings(indexes) {
        let name = index.split(' ').next().unwrap_or_default().to_owned();
        let columns =
            strings(&format!("SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"));
        schema.push(format!("index {index}({})", columns.join(", ")));
    }
    schema
}

/// The goose versions recorded as applied, in order.
pub(crate) fn versions(conn: &Connection) -> Vec<i64> {
    let mut stmt = conn
        .prepare("SELECT version_id FROM db_version WHERE is_applied ORDER BY id")
        .expect("prepares");
    stmt.query_map([], |r| r.get(0)).expect("queries").map(|r| r.expect("a row")).collect()
}

/// The mattn driver's text form of a time: `2025-12-19 23:51:57.123+00:00`.
pub(crate) fn space(ts: Timestamp) -> String {
    let text = ts.to_utc().to_string();
    format!("{}+00:00", text.replacen('T', " ", 1).trim_end_matches('Z'))
}

/// A JSON part as the agent binds it: bytes (a BLOB).
fn blob<T: codec::Part>(part: &T) -> Vec<u8> {
    codec::encode_part(part).expect("encodes").into_bytes()
}

/// Writes `c` in the old schema: its JSON in `data`, as a BLOB.
pub(crate) fn write_old(conn: &Connection, c: &FormaCommand) {
    let data = codec::encode_command(c).expect("encodes").into_bytes();
    conn.execute(
        "INSERT INTO forma_commands (command_id, timestamp, command, state, client_id, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![c.id, space(c.start_ts), c.command.as_str(), c.state.as_str(), c.client_id, data],
    )
    .expect("an old row");
}

/// Writes `c` in the new schema, its resource updates in the order given. `config_simulate`
/// is left NULL, `modified_ts` is written in RFC 3339 (as `UpdateFormaCommandProgress` does)
/// and `start_ts` in the space form; `target_updates` is TEXT, the other JSON BLOBs.
pub(crate) fn write_new(conn: &Connection, c: &FormaCommand) {
    let description = c.description.clone().unwrap_or_default();
    let targets = (!c.target_updates.is_empty())
        .then(|| codec::encode_part(&Some(c.target_updates.clone())).expect("encodes"));
    conn.execute(
        "INSERT INTO forma_commands (command_id, timestamp, command, state, client_id, \
         description_text, description_confirm, config_mode, config_force, config_simulate, \
         target_updates, modified_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, ?11)",
        params![
            c.id,
            space(c.start_ts),
            c.command.as_str(),
            c.state.as_str(),
            c.client_id,
            description.text,
            i64::from(description.confirm),
            c.config.mode.as_str(),
            i64::from(c.config.force),
            targets,
            c.modified_ts.to_utc().to_string(),
        ],
    )
    .expect("a new row");
    for ru in &c.resource_updates {
        write_resource_update(conn, &c.id, ru);
    }
}

/// One `resource_updates` row, as `BulkStoreResourceUpdates` writes it.
fn write_resource_update(conn: &Connection, id: &str, ru: &ResourceUpdate) {
    let raw =
        |r: &Option<persister_core::RawJson>| r.as_ref().map(|r| r.as_str().as_bytes().to_vec());
    let resolvables = (!ru.remaining_resolvables.is_empty())
        .then(|| blob(&Some(ru.remaining_resolvables.clone())));
    let labels =
        (!ru.reference_labels.is_empty()).then(|| blob(&Some(ru.reference_labels.clone())));
    let progress = ru.progress_result.as_ref().map(|p| blob(&Some(p.clone())));
    conn.execute(
        "INSERT INTO resource_updates VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
         ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
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
            ru.stack_label,
            ru.group_id,
            ru.source.as_str(),
            blob(&ru.resource),
            blob(&ru.resource_target),
            blob(&ru.existing_resource),
            blob(&ru.existing_target),
            raw(&ru.metadata),
            progress,
            blob(&ru.most_recent_progress_result),
            resolvables,
            labels,
            raw(&ru.previous_properties),
        ],
    )
    .expect("a resource update row");
}
