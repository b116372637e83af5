//! [`PgWriter`]: a new formae agent PostgreSQL schema, written as the agent's PostgreSQL
//! store writes it: times as `TIMESTAMP` (the UTC wall clock, microseconds kept: the Go
//! driver truncates the nanoseconds), booleans as `BOOLEAN`, JSON as TEXT, byte for byte.

use std::str::FromStr;

use persister_core::{FormaCommand, Timestamp};
use sqlx::postgres::{PgConnectOptions, Postgres};
use sqlx::query_builder::Separated;
use sqlx::{Connection, PgConnection, QueryBuilder};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::formae::columns::{
    FORMA_COMMANDS, RESOURCE_UPDATES, Value, command_row, resource_update_row,
};
use crate::formae::{FormaeError, NEWEST_VERSION};

/// The new schema as the agent's migrations leave it (00001 to 00005) in the PostgreSQL
/// dialect of the reference's section 4.2, with goose's table.
const SCHEMA: &str = "
CREATE TABLE db_version (id serial PRIMARY KEY, version_id bigint NOT NULL,
    is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());
CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY,
    timestamp TIMESTAMP NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL,
    agent_version TEXT, client_id TEXT, agent_id TEXT, description_text TEXT,
    description_confirm BOOLEAN DEFAULT FALSE, config_mode TEXT DEFAULT 'reconcile',
    config_force BOOLEAN DEFAULT FALSE, config_simulate BOOLEAN DEFAULT FALSE,
    target_updates TEXT, modified_ts TIMESTAMP);
CREATE INDEX idx_forma_commands_timestamp ON forma_commands(timestamp);
CREATE INDEX idx_forma_commands_command ON forma_commands(command);
CREATE INDEX idx_forma_commands_state ON forma_commands(state);
CREATE INDEX idx_forma_commands_agent_version ON forma_commands(agent_version);
CREATE INDEX idx_forma_commands_agent_id ON forma_commands(agent_id);
CREATE INDEX idx_forma_commands_client_id ON forma_commands(client_id);
CREATE INDEX idx_forma_commands_config_mode ON forma_commands(config_mode);
CREATE TABLE resource_updates (command_id TEXT NOT NULL, ksuid TEXT NOT NULL,
    operation TEXT NOT NULL, state TEXT NOT NULL, start_ts TIMESTAMP, modified_ts TIMESTAMP,
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

/// The relations in the current schema, which must be none (tables, partitioned tables,
/// views, materialized views, foreign tables).
const RELATIONS: &str = "SELECT c.relname::text FROM pg_class c \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
    ORDER BY 1";

/// Rows per `INSERT`: well under PostgreSQL's 65,535 parameters for 22 columns.
const ROWS_PER_INSERT: usize = 1000;

/// The wall clock of a `TIMESTAMP` parameter, microseconds kept (the rest truncated).
const WALL_CLOCK: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]");

/// A formae PostgreSQL database being written.
#[derive(Debug)]
pub(crate) struct PgWriter {
    /// One connection.
    conn: PgConnection,
    /// The database, its password redacted, for messages.
    name: String,
}

impl PgWriter {
    /// Connects to `url` and creates the new schema, in one transaction, when the current
    /// schema holds no table (a database with tables could be a running agent's).
    ///
    /// # Errors
    /// [`FormaeError::Open`] when the URL is bad or the server cannot be reached;
    /// [`FormaeError::NotEmpty`] naming the tables found; [`FormaeError::Write`] when the
    /// schema cannot be created.
    pub(crate) async fn create(url: &str, name: String) -> Result<Self, FormaeError> {
        let open = |e: sqlx::Error| FormaeError::Open { db: name.clone(), reason: e.to_string() };
        let options = PgConnectOptions::from_str(url).map_err(open)?;
        let mut conn = PgConnection::connect_with(&options).await.map_err(open)?;
        let fail = |e: sqlx::Error| FormaeError::Write { db: name.clone(), reason: e.to_string() };
        let mut tx = conn.begin().await.map_err(fail)?;
        let found: Vec<(String,)> =
            sqlx::query_as(RELATIONS).fetch_all(&mut *tx).await.map_err(fail)?;
        if !found.is_empty() {
            let names: Vec<&str> = found.iter().take(5).map(|(n,)| n.as_str()).collect();
            let more = if found.len() > 5 {
                format!(" and {} more", found.len() - 5)
            } else {
                String::new()
            };
            let found = format!("its current schema holds {}{more}", names.join(", "));
            return Err(FormaeError::NotEmpty { db: name, found });
        }
        sqlx::raw_sql(SCHEMA).execute(&mut *tx).await.map_err(fail)?;
        for version in 0..=NEWEST_VERSION {
            sqlx::query("INSERT INTO db_version (version_id, is_applied) VALUES ($1, true)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(Self { conn, name })
    }

    /// Writes `commands` in one transaction: their `forma_commands` rows, then their
    /// `resource_updates` rows, [`ROWS_PER_INSERT`] rows per statement.
    ///
    /// # Errors
    /// As [`Writer::write`](super::Writer::write).
    pub(crate) async fn write(&mut self, commands: &[FormaCommand]) -> Result<(), FormaeError> {
        let name = &self.name;
        let fail = |e: sqlx::Error| FormaeError::Write { db: name.clone(), reason: e.to_string() };
        let mut tx = self.conn.begin().await.map_err(fail)?;
        let command_names: Vec<&str> = FORMA_COMMANDS.iter().map(|c| c.name).collect();
        let ru_names: Vec<&str> = RESOURCE_UPDATES.iter().map(|c| c.name).collect();
        let mut rows = Vec::with_capacity(ROWS_PER_INSERT);
        for chunk in commands.chunks(ROWS_PER_INSERT) {
            for c in chunk {
                rows.push(command_row(c)?);
            }
            insert(&mut tx, "forma_commands", &command_names, &mut rows).await.map_err(fail)?;
        }
        for c in commands {
            for ru in &c.resource_updates {
                rows.push(resource_update_row(&c.id, ru)?);
                if rows.len() == ROWS_PER_INSERT {
                    insert(&mut tx, "resource_updates", &ru_names, &mut rows)
                        .await
                        .map_err(fail)?;
                }
            }
        }
        insert(&mut tx, "resource_updates", &ru_names, &mut rows).await.map_err(fail)?;
        tx.commit().await.map_err(fail)
    }

    /// Closes the connection.
    ///
    /// # Errors
    /// [`FormaeError::Write`] when it does not close cleanly.
    pub(crate) async fn close(self) -> Result<(), FormaeError> {
        let name = self.name;
        self.conn.close().await.map_err(|e| FormaeError::Write { db: name, reason: e.to_string() })
    }
}

/// Inserts `rows` (values in the order of `names`) into `table` in one statement, and
/// empties `rows`; nothing when there are none. The names are those of
/// [`columns`](crate::formae::columns), never input; every value is bound.
async fn insert(
    conn: &mut PgConnection,
    table: &str,
    names: &[&str],
    rows: &mut Vec<Vec<Value<'_>>>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut query =
        QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({}) ", names.join(", ")));
    query.push_values(rows.drain(..), |mut row, values| {
        for value in values {
            bind(&mut row, value);
        }
    });
    // Statements differ by their number of rows: not worth preparing for reuse.
    query.build().persistent(false).execute(conn).await.map(drop)
}

/// Binds `value` in the PostgreSQL form of its kind.
fn bind(row: &mut Separated<'_, Postgres, &'static str>, value: Value<'_>) {
    match value {
        Value::Text(text) => row.push_bind(text.to_owned()),
        Value::Int(i) => row.push_bind(i),
        Value::Bool(b) => row.push_bind(b),
        Value::Time(ts) => row.push_bind(wall_clock(ts)).push_unseparated("::timestamp"),
        Value::Json(json) => row.push_bind(json.map(std::borrow::Cow::into_owned)),
    };
}

/// The UTC wall clock of `ts`, as the agent binds a time to a `TIMESTAMP` column (it converts
/// to UTC first; PostgreSQL keeps microseconds, and the driver truncates what is below).
fn wall_clock(ts: Timestamp) -> String {
    let utc = ts.to_utc().datetime();
    utc.format(WALL_CLOCK).unwrap_or_else(|_| utc.to_string())
}

#[cfg(test)]
mod tests {
    use persister_core::Timestamp;

    use super::wall_clock;

    #[test]
    fn times_are_written_as_their_utc_wall_clock_truncated_to_microseconds() {
        let check = |text: &str, want: &str| {
            let ts = Timestamp::parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(wall_clock(ts), want, "{text}");
        };
        check("2025-12-19T23:51:57.123456789Z", "2025-12-19 23:51:57.123456");
        check("2025-12-19T15:51:57.9999999-08:00", "2025-12-19 23:51:57.999999");
        check("0001-01-01T00:00:00Z", "0001-01-01 00:00:00.000000");
    }
}
