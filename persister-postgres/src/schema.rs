//! The stored columns, the timestamp column type, and reading stored rows back (the
//! migrations that create them are in `migrate.rs`).

use persister_core::{CommandRow, Completion, ResourceUpdateRow};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgRow, PgTypeInfo, PgValueFormat, PgValueRef};
use sqlx::types::chrono::{DateTime, Utc};
use sqlx::{Decode, Encode, Postgres, Row, Type};

use crate::error::{Error, corrupt};

/// The header columns, in the order [`read_header`] expects (a macro, for `concat!`).
macro_rules! header_columns {
    () => {
        "command_id, command, state, client_id, start_ts, modified_ts, revision, body, head, \
         start_ts_ns, modified_ts_ns, stored_bytes"
    };
}

/// The resource update columns, in the order [`read_update`] expects (a macro, for
/// `concat!`), of `resource_updates` as `r` joined with `resource_update_progress` as `p` in
/// `update_tables!()` (a missing progress row reads as NULL).
macro_rules! update_columns {
    () => {
        "r.position, r.ksuid, r.operation, r.state, r.completion, r.fixed, p.progress"
    };
}

/// The tables `update_columns!()` reads, with the join condition.
macro_rules! update_tables {
    () => {
        "resource_updates AS r LEFT JOIN resource_update_progress AS p \
         ON p.command_id = r.command_id AND p.position = r.position"
    };
}

pub(crate) use {header_columns, update_columns, update_tables};

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
        fixed: get(row, 5, id, &field("fixed"))?,
        progress: get(row, 6, id, &field("progress"))?,
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
}
