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
        "command_id, command, state, client_id, start_ts, modified_ts, revision, body, head"
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
    let supported = supported_version();
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if has_table {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations").fetch_one(pool).await?;
        if let Some(found) = found
            && found > supported
        {
            return Err(StoreError::SchemaTooNew { found, supported }.into());
        }
    }
    // A newer build migrating between the check and the lock is caught by sqlx as a missing
    // version, which `From<Error> for StoreError` also reports as `SchemaTooNew`.
    MIGRATOR.run(pool).await?;
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
        modified_ts: get::<Micros>(row, 5, &id, "modified_ts")?.0,
        revision: get(row, 6, &id, "revision")?,
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

/// Reads column `idx`; a value of the wrong type or a NULL where none belongs is corrupt.
fn get<'r, T>(row: &'r PgRow, idx: usize, id: &str, field: &str) -> Result<T, Error>
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
        assert_eq!(supported_version(), 1);
    }
}
