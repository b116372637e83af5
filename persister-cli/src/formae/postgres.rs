//! Reading a formae agent's PostgreSQL database in a read-only session
//! (`default_transaction_read_only=on`): its goose version, its columns, and its rows as
//! [`Cell`]s. Every column is read as text (JSONB as PostgreSQL prints it, `TIMESTAMP` as
//! its wall clock, which the agent wrote in UTC), except integers and booleans.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row as _};
use tokio::sync::Mutex;

use super::cell::{Cell, Row};
use super::columns::{command_columns_read, resource_update_columns_read};
use super::{FormaeError, Layout};

/// How a column is selected and read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Any other type, selected as `::text` (JSONB included).
    Text,
    /// `timestamp`, selected as its text with `+00:00`.
    Time,
    /// An integer type, selected as `bigint`.
    Int,
    /// `boolean`.
    Bool,
}

/// A formae agent's PostgreSQL database.
#[derive(Debug)]
pub(crate) struct PgReader {
    /// One connection (a mutex makes the reader `Sync`; it is never contended).
    conn: Mutex<PgConnection>,
    /// The database, its password redacted, for messages.
    name: String,
    /// The select lists of `forma_commands` and `resource_updates`, from the columns the
    /// database has among those read (names from [`command_columns_read`] and
    /// [`resource_update_columns_read`] only, never from the database).
    commands: Vec<(&'static str, Kind)>,
    /// See `commands`.
    resource_updates: Vec<(&'static str, Kind)>,
}

impl PgReader {
    /// Connects to `url` in a read-only session.
    ///
    /// # Errors
    /// [`FormaeError::Open`] when the URL is bad or the server cannot be reached.
    pub(crate) async fn open(url: &str, name: String) -> Result<Self, FormaeError> {
        let open = |e: sqlx::Error| FormaeError::Open { db: name.clone(), reason: e.to_string() };
        let options = PgConnectOptions::from_str(url)
            .map_err(open)?
            .options([("default_transaction_read_only", "on")]);
        let conn = PgConnection::connect_with(&options).await.map_err(open)?;
        let mut reader = Self {
            conn: Mutex::new(conn),
            name,
            commands: Vec::new(),
            resource_updates: Vec::new(),
        };
        reader.commands = reader.columns("forma_commands", &command_columns_read()).await?;
        reader.resource_updates =
            reader.columns("resource_updates", &resource_update_columns_read()).await?;
        Ok(reader)
    }

    fn query_error(&self, e: &sqlx::Error) -> FormaeError {
        FormaeError::Query { db: self.name.clone(), reason: e.to_string() }
    }

    /// The columns of `table` among `known`, with how each is read.
    async fn columns(
        &self,
        table: &str,
        known: &[&'static str],
    ) -> Result<Vec<(&'static str, Kind)>, FormaeError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table)
        .fetch_all(&mut *self.conn.lock().await)
        .await
        .map_err(|e| self.query_error(&e))?;
        let mut out = Vec::new();
        for name in known {
            let Some((_, data_type)) = rows.iter().find(|(n, _)| n == name) else { continue };
            let kind = match data_type.as_str() {
                "boolean" => Kind::Bool,
                "integer" | "bigint" | "smallint" => Kind::Int,
                t if t.starts_with("timestamp") => Kind::Time,
                _ => Kind::Text,
            };
            out.push((*name, kind));
        }
        Ok(out)
    }

    /// The schema: the goose version in `db_version` and the columns of `forma_commands`.
    ///
    /// # Errors
    /// As [`SqliteReader::layout`](super::sqlite::SqliteReader::layout).
    pub(crate) async fn layout(&self) -> Result<Layout, FormaeError> {
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema()",
        )
        .fetch_all(&mut *self.conn.lock().await)
        .await
        .map_err(|e| self.query_error(&e))?;
        let has = |t: &str| tables.iter().any(|(n,)| n == t);
        if !has("db_version") || !has("forma_commands") {
            return Err(FormaeError::NotFormae {
                db: self.name.clone(),
                detail: "no db_version (goose) and forma_commands tables".into(),
            });
        }
        let (version,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version_id)::bigint FROM db_version WHERE is_applied")
                .fetch_one(&mut *self.conn.lock().await)
                .await
                .map_err(|e| self.query_error(&e))?;
        let columns: Vec<String> = self.commands.iter().map(|(n, _)| (*n).to_owned()).collect();
        Layout::detect(&self.name, version.unwrap_or(0), &columns, has("resource_updates"))
    }

    /// At most `limit` `forma_commands` rows whose id is after `after`, by id in byte order.
    ///
    /// # Errors
    /// [`FormaeError::Query`].
    pub(crate) async fn commands(&self, after: &str, limit: u32) -> Result<Vec<Row>, FormaeError> {
        let sql = format!(
            "SELECT {} FROM forma_commands WHERE command_id COLLATE \"C\" > $1 \
             ORDER BY command_id COLLATE \"C\" LIMIT $2",
            select_list(&self.commands)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.conn.lock().await)
            .await
            .map_err(|e| self.query_error(&e))?;
        rows.iter().map(|r| self.row(r, &self.commands)).collect()
    }

    /// The `resource_updates` rows of command `id`.
    ///
    /// # Errors
    /// [`FormaeError::Query`].
    pub(crate) async fn resource_updates(&self, id: &str) -> Result<Vec<Row>, FormaeError> {
        let sql = format!(
            "SELECT {} FROM resource_updates WHERE command_id = $1",
            select_list(&self.resource_updates)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&mut *self.conn.lock().await)
            .await
            .map_err(|e| self.query_error(&e))?;
        rows.iter().map(|r| self.row(r, &self.resource_updates)).collect()
    }

    fn row(&self, r: &PgRow, columns: &[(&'static str, Kind)]) -> Result<Row, FormaeError> {
        let mut row = Row::new();
        for (i, (name, kind)) in columns.iter().enumerate() {
            let cell = match kind {
                Kind::Bool => {
                    r.try_get::<Option<bool>, _>(i).map(|v| v.map_or(Cell::Null, Cell::Bool))
                }
                Kind::Int => {
                    r.try_get::<Option<i64>, _>(i).map(|v| v.map_or(Cell::Null, Cell::Int))
                }
                Kind::Text | Kind::Time => r
                    .try_get::<Option<String>, _>(i)
                    .map(|v| v.map_or(Cell::Null, |s| Cell::Bytes(s.into_bytes()))),
            }
            .map_err(|e| self.query_error(&e))?;
            row.insert(name, cell);
        }
        Ok(row)
    }
}

/// The select list of `columns`: integers as `bigint`, times as their UTC wall clock with
/// `+00:00` (the agent converts every time to UTC before writing it), the rest as text.
fn select_list(columns: &[(&'static str, Kind)]) -> String {
    let items: Vec<String> = columns
        .iter()
        .map(|(name, kind)| match kind {
            Kind::Bool => format!("\"{name}\""),
            Kind::Int => format!("\"{name}\"::bigint"),
            Kind::Time => format!("(\"{name}\"::text || '+00:00')"),
            Kind::Text => format!("\"{name}\"::text"),
        })
        .collect();
    items.join(", ")
}
