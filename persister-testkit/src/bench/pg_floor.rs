//! `floor` on PostgreSQL: the writes `ours` made, replayed with the statements of
//! `persister-postgres/src/write.rs` (header by key and revision, rows with `UNNEST`), each in
//! its own transaction, without the product's checks (existence, duplicate keys, sizes, which
//! row was missing).
//!
//! It writes over one plain connection, not a pool: a pool checks an idle connection with a
//! ping before handing it out (sqlx's `test_before_acquire`, on by default and in the
//! product), one more round trip per transaction that a checkpoint does not need.

use persister_core::{Checkpoint, StoredCommand};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgBindIterExt, PgConnection, PgTypeInfo};
use sqlx::types::chrono::{DateTime, Utc};
use sqlx::{Connection, Encode, Postgres, Type};

use super::BenchError;
use super::recording::Write;

/// Microseconds from the Unix epoch to PostgreSQL's epoch, 2000-01-01T00:00:00Z.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A `TIMESTAMPTZ` bound as the product binds it: the core's microseconds since the Unix
/// epoch, sent as PostgreSQL's microseconds since its own epoch.
#[derive(Clone, Copy, Debug)]
struct Micros(i64);

impl Type<Postgres> for Micros {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Micros {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let pg = self.0.checked_sub(PG_EPOCH_MICROS).ok_or("timestamp out of range")?;
        <i64 as Encode<'_, Postgres>>::encode_by_ref(&pg, buf)
    }

    fn size_hint(&self) -> usize {
        size_of::<i64>()
    }
}

/// A plain connection to a database with the product's schema.
#[derive(Debug)]
pub(super) struct PgFloor {
    conn: PgConnection,
}

impl PgFloor {
    /// Writes through `conn`, whose database the PostgreSQL backend has already migrated.
    pub(super) fn new(conn: PgConnection) -> Self {
        Self { conn }
    }

    /// Replays one recorded write in one transaction.
    pub(super) async fn replay(&mut self, write: &Write) -> Result<(), BenchError> {
        let mut tx = self.conn.begin().await?;
        match write {
            Write::Insert(command) => insert(&mut tx, command).await?,
            Write::Apply(checkpoint) => apply(&mut tx, checkpoint).await?,
            Write::Delete { id, expected_revision } => {
                let deleted = sqlx::query(
                    "DELETE FROM forma_commands WHERE command_id = $1 AND revision = $2",
                )
                .bind(id)
                .bind(expected_revision)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                matched(deleted, id)?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The command at revision 0, then all its rows and their progress, one statement a table.
async fn insert(tx: &mut PgConnection, command: &StoredCommand) -> Result<(), BenchError> {
    let h = &command.header;
    let rows = &command.resource_updates;
    sqlx::query(
        "INSERT INTO forma_commands (command_id, command, state, client_id, start_ts, \
         modified_ts, revision, body, head) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
    )
    .bind(&h.id)
    .bind(&h.command)
    .bind(&h.state)
    .bind(h.client_id.as_deref())
    .bind(Micros(h.start_ts))
    .bind(Micros(h.modified_ts))
    .bind(&h.body)
    .bind(&h.head)
    .execute(&mut *tx)
    .await?;
    if !rows.is_empty() {
        sqlx::query(
            "INSERT INTO resource_updates (command_id, position, ksuid, operation, state, \
             completion, fixed) \
             SELECT $1, u.position, u.ksuid, u.operation, u.state, u.completion, u.fixed \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::smallint[], \
             $7::text[]) AS u(position, ksuid, operation, state, completion, fixed)",
        )
        .bind(&h.id)
        .bind(rows.iter().map(|r| r.position).bind_iter())
        .bind(rows.iter().map(|r| &r.ksuid).bind_iter())
        .bind(rows.iter().map(|r| &r.operation).bind_iter())
        .bind(rows.iter().map(|r| &r.state).bind_iter())
        .bind(rows.iter().map(|r| r.completion.code()).bind_iter())
        .bind(rows.iter().map(|r| &r.fixed).bind_iter())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO resource_update_progress (command_id, position, progress) \
             SELECT $1, u.position, u.progress FROM UNNEST($2::bigint[], $3::text[]) \
             AS u(position, progress)",
        )
        .bind(&h.id)
        .bind(rows.iter().map(|r| r.position).bind_iter())
        .bind(rows.iter().map(|r| &r.progress).bind_iter())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The header if its revision matches, then the listed rows' progress and the rows whose
/// state, completion or fixed part changed, as the product writes them.
async fn apply(tx: &mut PgConnection, checkpoint: &Checkpoint) -> Result<(), BenchError> {
    let id = &checkpoint.command_id;
    let h = &checkpoint.header;
    let rows = &checkpoint.resource_updates;
    let updated = sqlx::query(
        "UPDATE forma_commands SET state = $3, start_ts = $4, modified_ts = $5, head = $6, \
         body = COALESCE($7, body), revision = revision + 1 \
         WHERE command_id = $1 AND revision = $2",
    )
    .bind(id)
    .bind(checkpoint.expected_revision)
    .bind(&h.state)
    .bind(Micros(h.start_ts))
    .bind(Micros(h.modified_ts))
    .bind(&h.head)
    .bind(h.body.as_deref())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    matched(updated, id)?;
    if !rows.is_empty() {
        // The product's statement, RETURNING included (the product counts the rows it returns).
        let _positions: Vec<i64> = sqlx::query_scalar(
            "UPDATE resource_update_progress AS p SET progress = u.progress \
             FROM UNNEST($2::bigint[], $3::text[]) AS u(position, progress) \
             WHERE p.command_id = $1 AND p.position = u.position \
             RETURNING p.position",
        )
        .bind(id)
        .bind(rows.iter().map(|r| r.position).bind_iter())
        .bind(rows.iter().map(|r| &r.progress).bind_iter())
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE resource_updates AS r \
             SET state = u.state, completion = u.completion, fixed = COALESCE(u.fixed, r.fixed) \
             FROM UNNEST($2::bigint[], $3::text[], $4::smallint[], $5::text[]) \
               AS u(position, state, completion, fixed) \
             WHERE r.command_id = $1 AND r.position = u.position \
               AND (r.state IS DISTINCT FROM u.state \
                 OR r.completion IS DISTINCT FROM u.completion OR u.fixed IS NOT NULL)",
        )
        .bind(id)
        .bind(rows.iter().map(|r| r.position).bind_iter())
        .bind(rows.iter().map(|r| &r.state).bind_iter())
        .bind(rows.iter().map(|r| r.completion.code()).bind_iter())
        .bind(rows.iter().map(|r| r.fixed.as_deref()).bind_iter())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// An error when a write fenced on the recorded revision matched no row.
fn matched(rows: u64, id: &str) -> Result<(), BenchError> {
    if rows == 0 {
        return Err(BenchError::Floor(format!("command {id} at the recorded revision not found")));
    }
    Ok(())
}
