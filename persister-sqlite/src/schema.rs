//! Opening a connection, the embedded migrations, and reading stored rows back.
//!
//! Migrations are numbered SQL files (`migrations/NNNN_name.sql`, the same numbering as the
//! Postgres backend). The database records the last one applied in `PRAGMA user_version`;
//! a database newer than this build is refused rather than used.

use persister_core::{CommandRow, Completion, ResourceUpdateRow, StoreError};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row, TransactionBehavior};

use crate::config::SqliteConfig;
use crate::error::{Error, corrupt};

/// One embedded migration.
struct Migration {
    /// The version it brings the database to (its file number).
    version: i64,
    /// The file name, for logs.
    name: &'static str,
    /// The SQL.
    sql: &'static str,
}

/// Every migration, in order; versions are 1, 2, 3, ... without gaps.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_init.sql",
    sql: include_str!("../migrations/0001_init.sql"),
}];

/// The newest schema version this build knows.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// How many prepared statements the connection keeps.
const STATEMENT_CACHE_CAPACITY: usize = 32;

/// The header columns, in the order [`read_header`] expects.
pub(crate) const HEADER_COLUMNS: &str =
    "command_id, command, state, client_id, start_ts, modified_ts, revision, body, head";

/// The resource update columns, in the order [`read_update`] expects.
pub(crate) const UPDATE_COLUMNS: &str = "position, ksuid, operation, state, completion, data";

/// Opens the connection described by `config`, sets its pragmas and migrates the schema.
pub(crate) fn open(config: &SqliteConfig) -> Result<Connection, Error> {
    let mut conn = match &config.path {
        Some(path) => Connection::open(path)?,
        None => Connection::open_in_memory()?,
    };
    conn.busy_timeout(config.effective_busy_timeout())?;
    // Room for every statement of `store.rs`, including the eight shapes of `list`.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    // Refuse a newer database before the pragmas below change its file; `migrate` checks
    // again under the write lock.
    check_version(&conn)?;
    if config.path.is_some() {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "sqlite refused WAL journal mode");
        }
    }
    conn.pragma_update(None, "synchronous", config.durability.synchronous())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Applies the migrations newer than the database's `user_version` in one `BEGIN IMMEDIATE`
/// transaction, so that two processes opening the same file never both migrate it.
///
/// # Errors
/// [`StoreError::SchemaTooNew`] when the database is newer than [`SCHEMA_VERSION`].
fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = check_version(&tx)?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tracing::info!(migration = migration.name, "applying sqlite migration");
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", migration.version)?;
    }
    tx.commit()?;
    Ok(())
}

/// The database's schema version (`user_version`).
///
/// # Errors
/// [`StoreError::SchemaTooNew`] when it is newer than [`SCHEMA_VERSION`].
fn check_version(conn: &Connection) -> Result<i64, Error> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found, supported: SCHEMA_VERSION }.into());
    }
    Ok(found)
}

/// Reads a header row selected with [`HEADER_COLUMNS`].
pub(crate) fn read_header(row: &Row<'_>) -> Result<CommandRow, Error> {
    let id = match row.get_ref(0)? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        other => return Err(corrupt("?", "command_id", format!("not text: {other:?}"))),
    };
    Ok(CommandRow {
        command: text(row, 1, &id, "command")?,
        state: text(row, 2, &id, "state")?,
        client_id: optional_text(row, 3, &id, "client_id")?,
        start_ts: integer(row, 4, &id, "start_ts")?,
        modified_ts: integer(row, 5, &id, "modified_ts")?,
        revision: integer(row, 6, &id, "revision")?,
        body: text(row, 7, &id, "body")?,
        head: text(row, 8, &id, "head")?,
        id,
    })
}

/// Reads a resource update row of command `id` selected with [`UPDATE_COLUMNS`].
pub(crate) fn read_update(row: &Row<'_>, id: &str) -> Result<ResourceUpdateRow, Error> {
    let position = integer(row, 0, id, "resource_updates.position")?;
    let field = |column: &str| format!("resource_updates[{position}].{column}");
    let code = integer(row, 4, id, &field("completion"))?;
    let completion = Completion::from_code(code).ok_or_else(|| {
        corrupt(id, field("completion"), format!("unknown completion code {code}"))
    })?;
    Ok(ResourceUpdateRow {
        position,
        ksuid: text(row, 1, id, &field("ksuid"))?,
        operation: text(row, 2, id, &field("operation"))?,
        state: text(row, 3, id, &field("state"))?,
        completion,
        data: text(row, 5, id, &field("data"))?,
    })
}

/// Reads a text column; a BLOB is accepted when it holds UTF-8.
pub(crate) fn text(row: &Row<'_>, idx: usize, id: &str, field: &str) -> Result<String, Error> {
    optional_text(row, idx, id, field)?.ok_or_else(|| corrupt(id, field, "unexpected NULL"))
}

fn optional_text(
    row: &Row<'_>,
    idx: usize,
    id: &str,
    field: &str,
) -> Result<Option<String>, Error> {
    match row.get_ref(idx)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => std::str::from_utf8(bytes)
            .map(|s| Some(s.to_owned()))
            .map_err(|e| corrupt(id, field, e)),
        other => Err(corrupt(id, field, format!("expected text, found {:?}", other.data_type()))),
    }
}

fn integer(row: &Row<'_>, idx: usize, id: &str, field: &str) -> Result<i64, Error> {
    match row.get_ref(idx)? {
        ValueRef::Integer(value) => Ok(value),
        other => {
            Err(corrupt(id, field, format!("expected an integer, found {:?}", other.data_type())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_like_their_files() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            let expected = i64::try_from(index + 1).expect("few migrations");
            assert_eq!(migration.version, expected, "{}", migration.name);
            assert_eq!(
                migration.name[..4].parse::<i64>().ok(),
                Some(expected),
                "{}",
                migration.name
            );
        }
    }
}
