//! `export --to-formae sqlite:PATH|postgres://...`: the commands the filters select, written
//! to a new formae agent database (the new schema at goose version 5) as the agent's store
//! writes them, in bounded transactions.

use std::io::Write;

use persister_core::{FormaCommand, ListFilter};

use crate::db::Db;
use crate::error::CliError;
use crate::formae::Writer;
use crate::paging::Commands;

/// Commands written per transaction, at most; fewer when they are large.
const CHUNK: usize = 200;
/// JSON bytes written per transaction, at most (one command more when a single one is larger).
const CHUNK_BYTES: u64 = 32 << 20;

/// Writes every command `filter` selects from `db` to a new formae database at `url`;
/// returns how many.
///
/// # Errors
/// [`CliError::Formae`] when `url` is neither `sqlite:PATH` nor `postgres://...`, when it
/// is not empty (an existing file, a database holding tables) or a write fails;
/// [`CliError::Store`] for a store error.
pub(crate) async fn write(db: &Db, filter: &ListFilter, url: &str) -> Result<u64, CliError> {
    let mut writer = Writer::create(url).await?;
    let mut commands = Commands::new(db, filter, u32::try_from(CHUNK).unwrap_or(u32::MAX));
    let (mut chunk, mut chunk_bytes, mut count): (Vec<FormaCommand>, u64, u64) = (Vec::new(), 0, 0);
    let mut out = std::io::stdout();
    while let Some((summary, command)) = commands.next().await? {
        chunk_bytes += summary.stored_bytes;
        chunk.push(command);
        if chunk.len() >= CHUNK || chunk_bytes >= CHUNK_BYTES {
            count += flush(&mut writer, &mut chunk, &mut out).await?;
            chunk_bytes = 0;
        }
    }
    count += flush(&mut writer, &mut chunk, &mut out).await?;
    writer.close().await?;
    Ok(count)
}

/// Writes `chunk` in one transaction and empties it; prints what the schema could not keep.
async fn flush(
    writer: &mut Writer,
    chunk: &mut Vec<FormaCommand>,
    out: &mut impl Write,
) -> Result<u64, CliError> {
    if chunk.is_empty() {
        return Ok(0);
    }
    for (id, what) in writer.write(chunk).await? {
        writeln!(out, "warning {id}: {what}")?;
    }
    let n = chunk.len() as u64;
    chunk.clear();
    Ok(n)
}
