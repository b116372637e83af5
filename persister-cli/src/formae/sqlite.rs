//! Reading a formae agent's SQLite database, opened read-only: its goose version, its
//! columns, and its rows as [`Cell`]s (TEXT, BLOB and NULL alike).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, params};

use super::cell::{Cell, Row};
use super::columns::{command_columns_read, resource_update_columns_read};
use super::{FormaeError, Layout};

/// A formae agent's SQLite database.
#[derive(Debug)]
pub(crate) struct SqliteReader {
    /// The connection (a mutex makes the reader `Sync`; it is never contended).
    conn: Mutex<Connection>,
    /// The database as named, for messages.
    name: String,
    /// The `forma_commands` columns read (among those the table has).
    commands: Vec<&'static str>,
    /// The `resource_updates` columns read.
    resource_updates: Vec<&'static str>,
}

impl SqliteReader {
    /// Opens `path` read-only.
    ///
    /// # Errors
    /// [`FormaeError::Open`] when it is missing or not a database.
    pub(crate) fn open(path: &Path, name: String) -> Result<Self, FormaeError> {
        if !path.is_file() {
            return Err(FormaeError::Open { db: name, reason: "no such file".into() });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| FormaeError::Open { db: name.clone(), reason: e.to_string() })?;
        Ok(Self {
            conn: Mutex::new(conn),
            name,
            commands: command_columns_read(),
            resource_updates: resource_update_columns_read(),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, FormaeError> {
        self.conn.lock().map_err(|_| FormaeError::Query {
            db: self.name.clone(),
            reason: "an earlier read panicked".into(),
        })
    }

    fn query_error(&self, e: &rusqlite::Error) -> FormaeError {
        FormaeError::Query { db: self.name.clone(), reason: e.to_string() }
    }

    /// The schema: the goose version in `db_version` and the columns of `forma_commands`.
    ///
    /// # Errors
    /// [`FormaeError::NotFormae`] without the agent's tables; [`FormaeError::UnknownVersion`]
    /// for a version this build does not know.
    pub(crate) fn layout(&self) -> Result<Layout, FormaeError> {
        let conn = self.lock()?;
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.query_error(&e))?;
        let has = |t: &str| tables.iter().any(|n| n == t);
        if !has("db_version") || !has("forma_commands") {
            return Err(FormaeError::NotFormae {
                db: self.name.clone(),
                detail: "no db_version (goose) and forma_commands tables".into(),
            });
        }
        let version: Option<i64> = conn
            .query_row("SELECT MAX(version_id) FROM db_version WHERE is_applied", [], |r| r.get(0))
            .map_err(|e| self.query_error(&e))?;
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('forma_commands')")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.query_error(&e))?;
        Layout::detect(&self.name, version.unwrap_or(0), &columns, has("resource_updates"))
    }

    /// At most `limit` `forma_commands` rows whose id is after `after`, by id.
    ///
    /// # Errors
    /// [`FormaeError::Query`].
    pub(crate) fn commands(&self, after: &str, limit: u32) -> Result<Vec<Row>, FormaeError> {
        let sql = "SELECT * FROM forma_commands WHERE command_id > ?1 ORDER BY command_id LIMIT ?2";
        self.rows(sql, params![after, limit], &self.commands)
    }

    /// The `resource_updates` rows of command `id`.
    ///
    /// # Errors
    /// [`FormaeError::Query`].
    pub(crate) fn resource_updates(&self, id: &str) -> Result<Vec<Row>, FormaeError> {
        let sql = "SELECT * FROM resource_updates WHERE command_id = ?1";
        self.rows(sql, params![id], &self.resource_updates)
    }

    fn rows(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        known: &[&'static str],
    ) -> Result<Vec<Row>, FormaeError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(sql).map_err(|e| self.query_error(&e))?;
        let names: Vec<Option<&'static str>> =
            stmt.column_names().iter().map(|n| known.iter().copied().find(|k| k == n)).collect();
        let mut rows = stmt.query(params).map_err(|e| self.query_error(&e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.query_error(&e))? {
            let mut row = Row::new();
            for (i, name) in names.iter().enumerate() {
                let Some(name) = name else { continue };
                let value = r.get_ref(i).map_err(|e| self.query_error(&e))?;
                row.insert(name, cell(value));
            }
            out.push(row);
        }
        Ok(out)
    }
}

/// A SQLite value as a [`Cell`].
fn cell(value: ValueRef<'_>) -> Cell {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Bytes(f.to_string().into_bytes()),
        ValueRef::Text(b) | ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
    }
}
