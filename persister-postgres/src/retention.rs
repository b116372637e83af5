//! Retention and housekeeping: [`purge_finished`] and [`info`].

use persister_core::{FINAL_COMMAND_STATES, PurgedCommand, StoreInfo, Timestamp, exact_key};
use sqlx::postgres::PgPool;

use crate::error::Error;
use crate::migrate::schema_version;
use crate::schema::{Micros, get, nanos, unsigned};
use crate::session::Session;

/// Deletes at most `max_rows` final commands last modified before `before`, oldest first,
/// in one transaction and one statement; their resource updates cascade. The selected rows
/// are locked (`FOR UPDATE`), so a concurrent write waits for the purge or the purge for it,
/// and every returned row is checked before the commit.
pub(crate) async fn purge_finished(
    pool: &PgPool,
    session: &Session,
    before: Timestamp,
    max_rows: u32,
) -> Result<Vec<PurgedCommand>, Error> {
    let (micros, ns) = exact_key(before);
    let mut tx = session.begin(pool).await?;
    let rows = session
        .query(
            "WITH doomed AS ( \
           SELECT command_id FROM forma_commands \
           WHERE state = ANY($1) AND (modified_ts, modified_ts_ns) < ($2, $3) \
           ORDER BY modified_ts, modified_ts_ns, command_id LIMIT $4 FOR UPDATE \
         ) \
         DELETE FROM forma_commands AS c USING doomed AS d WHERE c.command_id = d.command_id \
         RETURNING c.command_id, c.state, c.modified_ts, c.modified_ts_ns, c.stored_bytes",
        )
        .bind(&FINAL_COMMAND_STATES[..])
        .bind(Micros(micros))
        .bind(i32::from(ns))
        .bind(i64::from(max_rows))
        .fetch_all(&mut *tx)
        .await?;
    let mut purged = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: String = get(row, 0, "?", "command_id")?;
        let state: String = get(row, 1, &id, "state")?;
        let modified =
            (get::<Micros>(row, 2, &id, "modified_ts")?.0, nanos(row, 3, &id, "modified_ts_ns")?);
        let bytes = unsigned(row, 4, &id, "stored_bytes")?;
        purged.push(PurgedCommand::from_columns(id, &state, modified, bytes)?);
    }
    tx.commit().await?;
    // RETURNING has no order of its own.
    purged
        .sort_by(|a, b| (a.modified_ts.datetime(), &a.id).cmp(&(b.modified_ts.datetime(), &b.id)));
    Ok(purged)
}

/// The schema version and the database's size.
pub(crate) async fn info(pool: &PgPool, session: &Session) -> Result<StoreInfo, Error> {
    let mut tx = session.begin(pool).await?;
    let bytes: i64 = session
        .query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut *tx)
        .await?;
    let schema_version = schema_version(&mut tx, session).await?;
    tx.commit().await?;
    Ok(StoreInfo { backend: "postgres", schema_version, database_bytes: u64::try_from(bytes).ok() })
}
