//! Retention and housekeeping: [`purge_finished`], [`reclaim`] and [`info`].

use persister_core::{FINAL_COMMAND_STATES, PurgedCommand, StoreInfo, Timestamp, exact_key};
use rusqlite::{Connection, TransactionBehavior, params};

use crate::error::Error;
use crate::schema::{integer, nanos, text, unsigned, user_version};

/// Deletes at most `max_rows` final commands last modified before `before`, oldest first,
/// in one `BEGIN IMMEDIATE` transaction; their resource updates go with them
/// (`ON DELETE CASCADE`). Every selected row is read and checked before anything is deleted.
pub(crate) fn purge_finished(
    conn: &mut Connection,
    before: Timestamp,
    max_rows: u32,
) -> Result<Vec<PurgedCommand>, Error> {
    let (micros, ns) = exact_key(before);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut purged = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT command_id, state, modified_ts, modified_ts_ns, stored_bytes \
             FROM forma_commands WHERE state IN (?1, ?2, ?3) \
             AND (modified_ts, modified_ts_ns) < (?4, ?5) \
             ORDER BY modified_ts, modified_ts_ns, command_id LIMIT ?6",
        )?;
        let [a, b, c] = FINAL_COMMAND_STATES;
        let mut rows = stmt.query(params![a, b, c, micros, ns, i64::from(max_rows)])?;
        while let Some(row) = rows.next()? {
            let id = text(row, 0, "?", "command_id")?;
            let state = text(row, 1, &id, "state")?;
            let modified =
                (integer(row, 2, &id, "modified_ts")?, nanos(row, 3, &id, "modified_ts_ns")?);
            let bytes = unsigned(row, 4, &id, "stored_bytes")?;
            purged.push(PurgedCommand::from_columns(id, &state, modified, bytes)?);
        }
    }
    {
        let mut delete = tx.prepare_cached("DELETE FROM forma_commands WHERE command_id = ?1")?;
        for p in &purged {
            delete.execute([&p.id])?;
        }
    }
    tx.commit()?;
    Ok(purged)
}

/// Returns the free pages of an `auto_vacuum = INCREMENTAL` database to the file system,
/// then checkpoints the WAL (the vacuum's writes included) into the database file and
/// truncates it.
pub(crate) fn reclaim(conn: &mut Connection) -> Result<(), Error> {
    // Both pragmas return rows, which are drained and ignored.
    for pragma in ["PRAGMA incremental_vacuum", "PRAGMA wal_checkpoint(TRUNCATE)"] {
        let mut stmt = conn.prepare(pragma)?;
        let mut rows = stmt.query([])?;
        while rows.next()?.is_some() {}
    }
    Ok(())
}

/// The schema version and the size of the database: its pages plus the WAL file.
pub(crate) fn info(conn: &mut Connection) -> Result<StoreInfo, Error> {
    let pages: i64 = conn.pragma_query_value(None, "page_count", |row| row.get(0))?;
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |row| row.get(0))?;
    let wal = conn
        .path()
        .filter(|path| !path.is_empty())
        .and_then(|path| std::fs::metadata(format!("{path}-wal")).ok())
        .map_or(0, |m| m.len());
    let main = u64::try_from(pages.saturating_mul(page_size)).unwrap_or(0);
    Ok(StoreInfo {
        backend: "sqlite",
        schema_version: user_version(conn)?,
        database_bytes: Some(main + wal),
    })
}
