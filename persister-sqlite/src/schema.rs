//! Opening a connection, the embedded migrations, and reading stored rows back.
//!
//! Migrations are numbered SQL files (`migrations/NNNN_name.sql`, the same numbering as the
//! Postgres backend). The database records the last one applied in `PRAGMA user_version`;
//! a database newer than this build is refused rather than used.

use persister_core::columns::{TABLE_COLUMNS, column_mismatch};
use persister_core::{CommandRow, Completion, ResourceUpdateRow, StoreError};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row, TransactionBehavior};

use crate::config::SqliteConfig;
use crate::error::{Error, corrupt};

/// A step that rewrites a database's data after a migration's SQL, in its transaction.
type DataStep = fn(&Connection) -> Result<(), Error>;

/// One embedded migration.
struct Migration {
    /// The version it brings the database to (its file number).
    version: i64,
    /// The file name, for logs.
    name: &'static str,
    /// The SQL.
    sql: &'static str,
    /// A step that rewrites the data after the SQL, in the same transaction.
    data: Option<DataStep>,
}

/// Every migration, in order; versions are 1, 2, 3, ... without gaps.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init.sql",
        sql: include_str!("../migrations/0001_init.sql"),
        data: None,
    },
    Migration {
        version: 2,
        name: "0002_summaries.sql",
        sql: include_str!("../migrations/0002_summaries.sql"),
        data: None,
    },
    Migration {
        version: 3,
        name: "0003_split_resource_updates.sql",
        sql: include_str!("../migrations/0003_split_resource_updates.sql"),
        data: Some(split_resource_updates),
    },
    Migration {
        version: 4,
        name: "0004_state_counts.sql",
        sql: include_str!("../migrations/0004_state_counts.sql"),
        data: None,
    },
    Migration {
        version: 5,
        name: "0005_progress_table.sql",
        sql: include_str!("../migrations/0005_progress_table.sql"),
        data: None,
    },
];

/// The data step of migration 3: splits every resource update's whole document (moved to
/// `fixed` by the SQL) into its fixed part and its progress, with the core codec, so that
/// loads reassemble the same bytes. Rows are read in `rowid` pages and rewritten one by one,
/// so the step needs memory for one page, not for the table.
///
/// Each command's `stored_bytes` is then recomputed from the new columns.
///
/// A document that cannot be split stays whole in `fixed` with an empty `progress`: loading
/// its command then fails with [`StoreError::Corrupt`] naming the row, as loading it did
/// before, and the other commands migrate.
fn split_resource_updates(conn: &Connection) -> Result<(), Error> {
    const PAGE: i64 = 256;
    let mut read = conn.prepare(
        "SELECT rowid, command_id, position, fixed FROM resource_updates \
         WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
    )?;
    let mut write =
        conn.prepare("UPDATE resource_updates SET fixed = ?2, progress = ?3 WHERE rowid = ?1")?;
    let (mut after, mut split, mut unreadable) = (i64::MIN, 0_u64, 0_u64);
    loop {
        let page: Vec<(i64, String, i64, String)> = read
            .query_map([after, PAGE], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let Some(last) = page.last() else { break };
        after = last.0;
        for (rowid, command_id, position, whole) in page {
            match persister_core::codec::split_resource_update(whole.as_bytes()) {
                Ok((fixed, progress)) => {
                    write.execute(rusqlite::params![rowid, fixed, progress])?;
                    split += 1;
                }
                Err(error) => {
                    tracing::warn!(%command_id, position, %error,
                        "resource update kept whole: it cannot be split");
                    unreadable += 1;
                }
            }
        }
    }
    // `stored_bytes` counts the bytes as stored, now in two documents per resource update.
    conn.execute_batch(
        "UPDATE forma_commands SET stored_bytes = \
           length(CAST(body AS BLOB)) + length(CAST(head AS BLOB)) + COALESCE(( \
             SELECT sum(length(CAST(r.fixed AS BLOB)) + length(CAST(r.progress AS BLOB))) \
             FROM resource_updates AS r WHERE r.command_id = forma_commands.command_id \
           ), 0)",
    )?;
    tracing::info!(split, unreadable, "split resource updates into fixed part and progress");
    Ok(())
}

/// The schema version this build migrates databases to (`PRAGMA user_version`); a database
/// of a newer version is refused.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// How many prepared statements the connection keeps.
const STATEMENT_CACHE_CAPACITY: usize = 32;

/// The header columns, in the order [`read_header`] expects.
pub(crate) const HEADER_COLUMNS: &str = "command_id, command, state, client_id, start_ts, \
     modified_ts, revision, body, head, start_ts_ns, modified_ts_ns, stored_bytes";

/// The resource update columns, in the order [`read_update`] expects, of `resource_updates`
/// as `r` joined with `resource_update_progress` as `p` (a missing progress row reads as NULL).
pub(crate) const UPDATE_COLUMNS: &str =
    "r.position, r.ksuid, r.operation, r.state, r.completion, r.fixed, p.progress";

/// The tables [`UPDATE_COLUMNS`] reads, with the join condition.
pub(crate) const UPDATE_TABLES: &str = "resource_updates AS r LEFT JOIN resource_update_progress \
     AS p ON p.command_id = r.command_id AND p.position = r.position";

/// Opens the connection described by `config`, sets its pragmas and migrates the schema; or,
/// read-only, checks that the schema is exactly this build's.
pub(crate) fn open(config: &SqliteConfig) -> Result<Connection, Error> {
    if config.read_only {
        return open_read_only(config);
    }
    let mut conn = match &config.path {
        Some(path) => Connection::open(path)?,
        None => Connection::open_in_memory()?,
    };
    conn.busy_timeout(config.effective_busy_timeout())?;
    // Room for every statement of `store.rs`, including the eight shapes of `list`.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    // Refuse a newer or a foreign database before the pragmas below change its file;
    // `migrate` checks again under the write lock.
    let found = check_version(&conn)?;
    check_ours(&conn, found)?;
    if found == 0 && !has_tables(&conn)? {
        // Only possible before the first table is created; an older file keeps its mode
        // until one `VACUUM` (see `SqliteStore::reclaim`).
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    }
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
    check_ours(&tx, found)?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tracing::info!(migration = migration.name, "applying sqlite migration");
        tx.execute_batch(migration.sql)?;
        if let Some(data) = migration.data {
            data(&tx)?;
        }
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

/// Opens the database read-only (`SQLITE_OPEN_READ_ONLY`): no pragma that writes, no
/// migration. A WAL database can be read while another connection or process writes it.
///
/// # Errors
/// [`StoreError::SchemaTooNew`], [`StoreError::ForeignSchema`], or
/// [`StoreError::SchemaTooOld`] when the schema is not exactly this build's.
fn open_read_only(config: &SqliteConfig) -> Result<Connection, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    open_for_reads(config, flags)
}

/// Opens the read connection of a store that writes the same file: read-write at the file
/// level, so that it shares the WAL index with the writer (a connection opened
/// `SQLITE_OPEN_READ_ONLY` maps it read-only and then waits, through the busy handler, until
/// no write is in progress), and `query_only`, so that it cannot write.
///
/// # Errors
/// As [`open`] for a read-only store.
pub(crate) fn open_reader(config: &SqliteConfig) -> Result<Connection, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = open_for_reads(config, flags)?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

/// Opens a connection with `flags` for reads only, refusing a schema that is not this
/// build's.
fn open_for_reads(config: &SqliteConfig, flags: OpenFlags) -> Result<Connection, Error> {
    let conn = match &config.path {
        Some(path) => Connection::open_with_flags(path, flags)?,
        None => Connection::open_in_memory_with_flags(flags)?,
    };
    conn.busy_timeout(config.effective_busy_timeout())?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    let found = check_version(&conn)?;
    check_ours(&conn, found)?;
    if found < SCHEMA_VERSION {
        return Err(StoreError::SchemaTooOld { found, required: SCHEMA_VERSION }.into());
    }
    Ok(conn)
}

/// Refuses tables under our names that this crate did not create: present while the
/// database has no schema version (a formae agent's database has its own tables and a goose
/// `db_version` table, and `user_version` 0), or with columns other than those of version
/// `found`.
///
/// # Errors
/// [`StoreError::ForeignSchema`] naming the table.
fn check_ours(conn: &Connection, found: i64) -> Result<(), Error> {
    for (table, columns) in TABLE_COLUMNS {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let present: Vec<String> =
            stmt.query_map([table], |row| row.get(0))?.collect::<Result<_, _>>()?;
        let foreign = |detail: String| -> Error {
            StoreError::ForeignSchema { table: (*table).to_owned(), detail }.into()
        };
        if found == 0 {
            if present.is_empty() {
                continue;
            }
            let goose: bool = conn
                .prepare(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'db_version'",
                )?
                .exists([])?;
            let hint =
                if goose { " and a goose db_version table (a formae database?)" } else { "" };
            return Err(foreign(format!("the database has no schema version{hint}")));
        }
        if let Some(detail) = column_mismatch(columns, found, &present) {
            return Err(foreign(detail));
        }
    }
    Ok(())
}

/// True when the database holds any table.
fn has_tables(conn: &Connection) -> Result<bool, Error> {
    Ok(conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table'")?.exists([])?)
}

/// The database's schema version (`user_version`), unchecked.
pub(crate) fn user_version(conn: &Connection) -> Result<i64, Error> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
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
        start_ts_ns: nanos(row, 9, &id, "start_ts_ns")?,
        modified_ts: integer(row, 5, &id, "modified_ts")?,
        modified_ts_ns: nanos(row, 10, &id, "modified_ts_ns")?,
        revision: integer(row, 6, &id, "revision")?,
        stored_bytes: unsigned(row, 11, &id, "stored_bytes")?,
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
        fixed: text(row, 5, id, &field("fixed"))?,
        progress: text(row, 6, id, &field("progress"))?,
    })
}

/// Reads a text column; a BLOB is accepted when it holds UTF-8.
pub(crate) fn text(row: &Row<'_>, idx: usize, id: &str, field: &str) -> Result<String, Error> {
    optional_text(row, idx, id, field)?.ok_or_else(|| corrupt(id, field, "unexpected NULL"))
}

pub(crate) fn optional_text(
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

/// Reads a nanoseconds column (0 to 999).
pub(crate) fn nanos(row: &Row<'_>, idx: usize, id: &str, field: &str) -> Result<u16, Error> {
    let value = integer(row, idx, id, field)?;
    u16::try_from(value)
        .ok()
        .filter(|ns| *ns < 1000)
        .ok_or_else(|| corrupt(id, field, format!("{value} is not 0 to 999 nanoseconds")))
}

/// Reads a column that holds a count or a size.
pub(crate) fn unsigned(row: &Row<'_>, idx: usize, id: &str, field: &str) -> Result<u64, Error> {
    let value = integer(row, idx, id, field)?;
    u64::try_from(value).map_err(|_| corrupt(id, field, format!("{value} is negative")))
}

pub(crate) fn integer(row: &Row<'_>, idx: usize, id: &str, field: &str) -> Result<i64, Error> {
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
