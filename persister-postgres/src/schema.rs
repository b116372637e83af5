//! The embedded migrations, the timestamp column type, and reading stored rows back.
//!
//! Migrations are numbered SQL files (`migrations/NNNN_name.sql`, the same numbering as the
//! SQLite backend), embedded with `sqlx::migrate!` and applied by sqlx under its advisory lock.
//! sqlx records them in `_sqlx_migrations`; a database that holds a version newer than this
//! build is refused rather than used.

use persister_core::{CommandRow, Completion, ResourceUpdateRow, StoreError};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArgumentBuffer, PgPool, PgRow, PgTypeInfo, PgValueFormat, PgValueRef};
use sqlx::types::chrono::{DateTime, Utc};
use sqlx::{Decode, Encode, Postgres, Row, Type};

use crate::error::{Error, corrupt};

/// Every migration, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The header columns, in the order [`read_header`] expects (a macro, for `concat!`).
macro_rules! header_columns {
    () => {
        "command_id, command, state, client_id, start_ts, modified_ts, revision, body, head, \
         start_ts_ns, modified_ts_ns, stored_bytes"
    };
}

/// The resource update columns, in the order [`read_update`] expects (a macro, for `concat!`).
macro_rules! update_columns {
    () => {
        "position, ksuid, operation, state, completion, data"
    };
}

pub(crate) use {header_columns, update_columns};

/// The newest schema version this build knows.
pub(crate) fn supported_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Refuses a database newer than this build, then applies the missing migrations.
///
/// # Errors
/// [`StoreError::SchemaTooNew`] when `_sqlx_migrations` holds a version newer than
/// [`supported_version`]; a backend error when a statement fails.
pub(crate) async fn migrate(pool: &PgPool) -> Result<(), Error> {
    let found = schema_version(pool).await?;
    check_ours(pool, found).await?;
    // A newer build migrating between the check and the lock is caught by sqlx as a missing
    // version, which `From<Error> for StoreError` also reports as `SchemaTooNew`.
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Checks, without changing anything, that the database's schema is exactly this build's
/// (for a read-only store, which never migrates).
///
/// # Errors
/// [`StoreError::SchemaTooNew`], [`StoreError::ForeignSchema`] or
/// [`StoreError::SchemaTooOld`].
pub(crate) async fn check_current(pool: &PgPool) -> Result<(), Error> {
    let found = schema_version(pool).await?;
    check_ours(pool, found).await?;
    let required = supported_version();
    if found < required {
        return Err(StoreError::SchemaTooOld { found, required }.into());
    }
    Ok(())
}

/// The last migration applied (0 when none is recorded).
///
/// # Errors
/// [`StoreError::SchemaTooNew`] when it is newer than [`supported_version`].
pub(crate) async fn schema_version(pool: &PgPool) -> Result<i64, Error> {
    let supported = supported_version();
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !has_table {
        return Ok(0);
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations").fetch_one(pool).await?;
    let found = found.unwrap_or(0);
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported }.into());
    }
    Ok(found)
}

/// The columns of this crate's tables, each with the schema version that added it (the same
/// table as the SQLite backend's).
const OUR_COLUMNS: &[(&str, &[(&str, i64)])] = &[
    (
        "forma_commands",
        &[
            ("command_id", 1),
            ("command", 1),
            ("state", 1),
            ("client_id", 1),
            ("start_ts", 1),
            ("modified_ts", 1),
            ("revision", 1),
            ("body", 1),
            ("head", 1),
            ("start_ts_ns", 2),
            ("modified_ts_ns", 2),
            ("stored_bytes", 2),
        ],
    ),
    (
        "resource_updates",
        &[
            ("command_id", 1),
            ("position", 1),
            ("ksuid", 1),
            ("operation", 1),
            ("state", 1),
            ("completion", 1),
            ("data", 1),
        ],
    ),
];

/// Refuses tables under our names (in the current schema) that this crate did not create:
/// present while no migration is recorded (a formae agent's database records its own in a
/// goose `db_version` table), or with columns other than those of version `found`.
///
/// # Errors
/// [`StoreError::ForeignSchema`] naming the table.
async fn check_ours(pool: &PgPool, found: i64) -> Result<(), Error> {
    for (table, columns) in OUR_COLUMNS {
        let present: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns              WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table)
        .fetch_all(pool)
        .await?;
        let foreign = |detail: String| -> Error {
            StoreError::ForeignSchema { table: (*table).to_owned(), detail }.into()
        };
        if found == 0 {
            if present.is_empty() {
                continue;
            }
            let goose: bool = sqlx::query_scalar("SELECT to_regclass('db_version') IS NOT NULL")
                .fetch_one(pool)
                .await?;
            let hint =
                if goose { " and a goose db_version table (a formae database?)" } else { "" };
            return Err(foreign(format!("no forma-persister migration is recorded{hint}")));
        }
        let expected: Vec<&str> =
            columns.iter().filter(|(_, v)| *v <= found).map(|(name, _)| *name).collect();
        if let Some(extra) = present.iter().find(|c| !expected.contains(&c.as_str())) {
            return Err(foreign(format!("column {extra} is not one of ours")));
        }
        if let Some(missing) = expected.iter().find(|c| !present.iter().any(|p| p == *c)) {
            return Err(foreign(format!("column {missing} is missing")));
        }
    }
    Ok(())
}

/// A `TIMESTAMPTZ` value as microseconds since the Unix epoch, the core's representation.
///
/// PostgreSQL sends and receives `TIMESTAMPTZ` as microseconds since 2000-01-01 UTC, so the
/// conversion is one exact integer addition: no rounding, no calendar arithmetic, and every
/// value the server can hold (year 4713 BC to 294276 AD) reads back without panicking. The
/// server refuses values outside that range on write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Micros(pub(crate) i64);

/// Microseconds from the Unix epoch to PostgreSQL's epoch, 2000-01-01T00:00:00Z.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl Micros {
    /// The value in PostgreSQL's representation, or `None` when it does not fit.
    pub(crate) fn to_pg(self) -> Option<i64> {
        self.0.checked_sub(PG_EPOCH_MICROS)
    }

    /// The value of PostgreSQL's representation, or `None` when it does not fit.
    pub(crate) fn from_pg(pg: i64) -> Option<Self> {
        pg.checked_add(PG_EPOCH_MICROS).map(Self)
    }
}

impl Type<Postgres> for Micros {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Micros {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let pg = self.to_pg().ok_or_else(|| format!("timestamp {} is out of range", self.0))?;
        <i64 as Encode<'_, Postgres>>::encode_by_ref(&pg, buf)
    }

    fn size_hint(&self) -> usize {
        size_of::<i64>()
    }
}

impl<'r> Decode<'r, Postgres> for Micros {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => {
                let pg = <i64 as Decode<'r, Postgres>>::decode(value)?;
                Ok(Self::from_pg(pg).ok_or_else(|| format!("timestamp {pg} is out of range"))?)
            }
            // Prepared statements always return binary values; only simple queries use text.
            PgValueFormat::Text => Err("timestamptz in text format is not supported".into()),
        }
    }
}

/// Reads a header row selected with `header_columns!()`.
pub(crate) fn read_header(row: &PgRow) -> Result<CommandRow, Error> {
    let id: String = get(row, 0, "?", "command_id")?;
    Ok(CommandRow {
        command: get(row, 1, &id, "command")?,
        state: get(row, 2, &id, "state")?,
        client_id: get(row, 3, &id, "client_id")?,
        start_ts: get::<Micros>(row, 4, &id, "start_ts")?.0,
        start_ts_ns: nanos(row, 9, &id, "start_ts_ns")?,
        modified_ts: get::<Micros>(row, 5, &id, "modified_ts")?.0,
        modified_ts_ns: nanos(row, 10, &id, "modified_ts_ns")?,
        revision: get(row, 6, &id, "revision")?,
        stored_bytes: unsigned(row, 11, &id, "stored_bytes")?,
        body: get(row, 7, &id, "body")?,
        head: get(row, 8, &id, "head")?,
        id,
    })
}

/// Reads a resource update row of command `id` selected with `update_columns!()`.
pub(crate) fn read_update(row: &PgRow, id: &str) -> Result<ResourceUpdateRow, Error> {
    let position: i64 = get(row, 0, id, "resource_updates.position")?;
    let field = |column: &str| format!("resource_updates[{position}].{column}");
    let code: i16 = get(row, 4, id, &field("completion"))?;
    let completion = Completion::from_code(code.into()).ok_or_else(|| {
        corrupt(id, field("completion"), format!("unknown completion code {code}"))
    })?;
    Ok(ResourceUpdateRow {
        position,
        ksuid: get(row, 1, id, &field("ksuid"))?,
        operation: get(row, 2, id, &field("operation"))?,
        state: get(row, 3, id, &field("state"))?,
        completion,
        data: get(row, 5, id, &field("data"))?,
    })
}

/// Reads a nanoseconds column (0 to 999).
pub(crate) fn nanos(row: &PgRow, idx: usize, id: &str, field: &str) -> Result<u16, Error> {
    let value: i32 = get(row, idx, id, field)?;
    u16::try_from(value)
        .ok()
        .filter(|ns| *ns < 1000)
        .ok_or_else(|| corrupt(id, field, format!("{value} is not 0 to 999 nanoseconds")))
}

/// Reads a BIGINT column that holds a count or a size.
pub(crate) fn unsigned(row: &PgRow, idx: usize, id: &str, field: &str) -> Result<u64, Error> {
    let value: i64 = get(row, idx, id, field)?;
    u64::try_from(value).map_err(|_| corrupt(id, field, format!("{value} is negative")))
}

/// Reads column `idx`; a value of the wrong type or a NULL where none belongs is corrupt.
pub(crate) fn get<'r, T>(row: &'r PgRow, idx: usize, id: &str, field: &str) -> Result<T, Error>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(idx).map_err(|e| corrupt(id, field, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_convert_exactly() {
        let year_1 = -62_135_596_800_000_000;
        let cases = [
            (0, Some(-PG_EPOCH_MICROS)),
            (PG_EPOCH_MICROS, Some(0)),
            (1_700_000_000_123_456, Some(1_700_000_000_123_456 - PG_EPOCH_MICROS)),
            (year_1, Some(year_1 - PG_EPOCH_MICROS)),
            (i64::MIN, None),
        ];
        for (micros, pg) in cases {
            assert_eq!(Micros(micros).to_pg(), pg, "{micros}");
            if let Some(pg) = pg {
                assert_eq!(Micros::from_pg(pg), Some(Micros(micros)));
            }
        }
        assert_eq!(Micros::from_pg(i64::MAX), None);
    }

    #[test]
    fn migrations_are_numbered_like_their_files() {
        for (index, migration) in MIGRATOR.iter().enumerate() {
            let expected = i64::try_from(index + 1).expect("few migrations");
            assert_eq!(migration.version, expected, "{}", migration.description);
        }
        assert_eq!(supported_version(), 2);
    }
}
