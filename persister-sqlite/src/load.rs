//! The reads of whole commands: [`load`] and [`list_unfinished`] (the listings of headers and
//! summaries are in `list.rs`), run on the read connection when the store has one.

use rusqlite::Connection;

use crate::error::Error;
use crate::schema::{
    HEADER_COLUMNS, UPDATE_COLUMNS, UPDATE_TABLES, read_header, read_update, text,
};
use persister_core::{FINAL_COMMAND_STATES, StoredCommand};

/// Loads a command and its resource updates ordered by position.
pub(crate) fn load(conn: &mut Connection, id: &str) -> Result<Option<StoredCommand>, Error> {
    let tx = conn.transaction()?;
    let header = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {HEADER_COLUMNS} FROM forma_commands WHERE command_id = ?1"
        ))?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(row) => read_header(row)?,
            None => return Ok(None),
        }
    };
    let mut resource_updates = Vec::new();
    {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {UPDATE_COLUMNS} FROM {UPDATE_TABLES} WHERE r.command_id = ?1 \
             ORDER BY r.position"
        ))?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            resource_updates.push(read_update(row, id)?);
        }
    }
    tx.commit()?;
    Ok(Some(StoredCommand { header, resource_updates }))
}

/// Lists the ids of commands not in a final state, oldest first.
pub(crate) fn list_unfinished(conn: &mut Connection) -> Result<Vec<String>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT command_id FROM forma_commands WHERE state NOT IN (?1, ?2, ?3) \
         ORDER BY start_ts ASC, command_id ASC",
    )?;
    let mut rows = stmt.query(FINAL_COMMAND_STATES)?;
    let mut ids = Vec::new();
    while let Some(row) = rows.next()? {
        ids.push(text(row, 0, "?", "command_id")?);
    }
    Ok(ids)
}

/// Every body, head, fixed and progress column, in no particular order; undecodable bytes are replaced
/// rather than refused, so that a scan sees every row.
#[cfg(feature = "testing")]
pub(crate) fn dump_all_text(conn: &mut Connection) -> Result<Vec<String>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM forma_commands UNION ALL SELECT head FROM forma_commands \
         UNION ALL SELECT fixed FROM resource_updates \
         UNION ALL SELECT progress FROM resource_update_progress",
    )?;
    let mut rows = stmt.query([])?;
    let mut texts = Vec::new();
    while let Some(row) = rows.next()? {
        if let Ok(Some(bytes)) = row.get_ref(0)?.as_bytes_or_null() {
            texts.push(String::from_utf8_lossy(bytes).into_owned());
        }
    }
    Ok(texts)
}
