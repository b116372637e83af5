//! `export --to-formae sqlite:PATH`: the commands the filters select, written to a new
//! formae agent database (the new schema at goose version 5), as the agent's store writes
//! them.

use std::io::Write;

use persister_core::{FormaCommand, ListFilter};

use crate::db::Db;
use crate::error::CliError;
use crate::formae::{FormaeError, SqliteWriter};
use crate::paging::Commands;

/// Commands written per transaction, at most; fewer when they are large.
const CHUNK: usize = 200;
/// JSON bytes written per transaction, at most (one command more when a single one is larger).
const CHUNK_BYTES: u64 = 32 << 20;

/// Writes every command `filter` selects from `db` to a new formae database at `url`;
/// returns how many.
///
/// # Errors
/// [`CliError::Formae`] when `url` is not `sqlite:PATH`, the file exists or a write fails;
/// [`CliError::Store`] for a store error.
pub(crate) async fn write(db: &Db, filter: &ListFilter, url: &str) -> Result<u64, CliError> {
    let Some(path) = url.strip_prefix("sqlite:") else {
        return Err(FormaeError::Open {
            db: persister_postgres::redact_url(url),
            reason: "export --to-formae writes SQLite only: use sqlite:PATH".into(),
        }
        .into());
    };
    let path = path.strip_prefix("//").unwrap_or(path);
    let mut writer = SqliteWriter::create(std::path::Path::new(path), format!("sqlite:{path}"))?;
    let mut commands = Commands::new(db, filter, u32::try_from(CHUNK).unwrap_or(u32::MAX));
    let (mut chunk, mut chunk_bytes, mut count): (Vec<FormaCommand>, u64, u64) = (Vec::new(), 0, 0);
    let mut out = std::io::stdout();
    while let Some((summary, command)) = commands.next().await? {
        chunk_bytes += summary.stored_bytes;
        chunk.push(command);
        if chunk.len() >= CHUNK || chunk_bytes >= CHUNK_BYTES {
            count += flush(&mut writer, &mut chunk, &mut out)?;
            chunk_bytes = 0;
        }
    }
    count += flush(&mut writer, &mut chunk, &mut out)?;
    Ok(count)
}

/// Writes `chunk` in one transaction and empties it; prints what the schema could not keep.
fn flush(
    writer: &mut SqliteWriter,
    chunk: &mut Vec<FormaCommand>,
    out: &mut impl Write,
) -> Result<u64, CliError> {
    if chunk.is_empty() {
        return Ok(0);
    }
    for (id, what) in writer.write(chunk)? {
        writeln!(out, "warning {id}: {what}")?;
    }
    let n = chunk.len() as u64;
    chunk.clear();
    Ok(n)
}
