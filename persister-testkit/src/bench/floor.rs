//! `floor`: the rows and bytes that `ours` wrote, written again by plain SQL in the same
//! transactions, with no model logic. The least a durable checkpoint can cost here.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior, params};

use super::BenchError;
use super::recording::Write;

/// A plain connection to a database with the product's schema.
#[derive(Debug)]
pub(super) struct Floor {
    conn: Connection,
}

impl Floor {
    /// Opens `path`, whose schema the SQLite backend has already created.
    pub(super) fn open(path: &Path, synchronous: &str) -> Result<Self, BenchError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", synchronous)?;
        Ok(Self { conn })
    }

    /// Replays one recorded write in one transaction.
    pub(super) fn replay(&mut self, write: &Write) -> Result<(), BenchError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match write {
            Write::Insert(c) => {
                let h = &c.header;
                tx.prepare_cached(
                    "INSERT INTO forma_commands (command_id, command, state, client_id, start_ts, modified_ts, revision, body, head) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)",
                )?
                .execute(params![h.id, h.command, h.state, h.client_id, h.start_ts, h.modified_ts, h.body, h.head])?;
                let mut row = tx.prepare_cached(
                    "INSERT INTO resource_updates (command_id, position, ksuid, operation, state, completion, fixed) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                let mut progress = tx.prepare_cached(
                    "INSERT INTO resource_update_progress (command_id, position, progress) VALUES (?1, ?2, ?3)",
                )?;
                for r in &c.resource_updates {
                    row.execute(params![
                        h.id,
                        r.position,
                        r.ksuid,
                        r.operation,
                        r.state,
                        r.completion.code(),
                        r.fixed
                    ])?;
                    progress.execute(params![h.id, r.position, r.progress])?;
                }
            }
            Write::Apply(c) => {
                let h = &c.header;
                tx.prepare_cached(
                    "UPDATE forma_commands SET state = ?1, start_ts = ?2, modified_ts = ?3, head = ?4, \
                     body = COALESCE(?5, body), revision = revision + 1 WHERE command_id = ?6",
                )?
                .execute(params![h.state, h.start_ts, h.modified_ts, h.head, h.body, c.command_id])?;
                let mut progress = tx.prepare_cached(
                    "UPDATE resource_update_progress SET progress = ?1 WHERE command_id = ?2 AND position = ?3",
                )?;
                let mut row = tx.prepare_cached(
                    "UPDATE resource_updates SET state = ?1, completion = ?2, fixed = COALESCE(?3, fixed) \
                     WHERE command_id = ?4 AND position = ?5 \
                     AND (state IS NOT ?1 OR completion IS NOT ?2 OR ?3 IS NOT NULL)",
                )?;
                for r in &c.resource_updates {
                    progress.execute(params![r.progress, c.command_id, r.position])?;
                    row.execute(params![
                        r.state,
                        r.completion.code(),
                        r.fixed,
                        c.command_id,
                        r.position
                    ])?;
                }
            }
            Write::Delete { id, .. } => {
                tx.prepare_cached("DELETE FROM forma_commands WHERE command_id = ?1")?
                    .execute([id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
