//! `import FILE`: commands from JSON Lines (one command per line, as `export` writes them),
//! stored as the persister's `store_new` stores them, in bounded batches. Importing is
//! idempotent: a command already stored with the same content is skipped, and one stored
//! under the same id with another content is a conflict, left as it is.

mod batch;
mod formae;
mod summary;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

use persister_core::codec;

pub(crate) use batch::Importer;
pub(crate) use summary::Summary;

use crate::cli::ImportArgs;
use crate::db::{Access, Db};
use crate::error::CliError;

/// Runs `import`.
pub(crate) async fn run(url: &str, args: &ImportArgs) -> Result<(), CliError> {
    if let Some(from) = &args.from_formae {
        return formae::run(url, from, args).await;
    }
    let Some(path) = &args.file else {
        return Err(CliError::NoInput);
    };
    let started = Instant::now();
    let reader = open(path)?;
    let access = if args.dry_run { Access::ReadOnly } else { Access::Create };
    let db = Db::open(url, access).await?;
    let mut importer = Importer::new(&db, args.dry_run, args.batch);
    read_jsonl(reader, &mut importer, path).await?;
    importer.flush().await?;
    let summary = importer.into_summary();
    finish(db, &summary, args, started).await
}

/// Prints the summary and closes the database; an import that left commands out is an
/// error (exit code 4).
pub(crate) async fn finish(
    db: Db,
    summary: &Summary,
    args: &ImportArgs,
    started: Instant,
) -> Result<(), CliError> {
    summary.print(&mut std::io::stdout().lock(), args.dry_run)?;
    if args.timings {
        writeln!(std::io::stdout(), "{}", summary.timings(started.elapsed()))?;
    }
    std::io::stdout().flush()?;
    db.close().await?;
    if summary.is_complete() {
        return Ok(());
    }
    Err(CliError::Incomplete { conflicts: summary.conflicts.len(), failed: summary.failed.len() })
}

/// Opens `path` for reading, refusing what is not a regular file.
fn open(path: &Path) -> Result<BufReader<File>, CliError> {
    let name = || path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| CliError::File { path: name(), source })?;
    if !meta.is_file() {
        let source = std::io::Error::other("not a file");
        return Err(CliError::File { path: name(), source });
    }
    let file = File::open(path).map_err(|source| CliError::File { path: name(), source })?;
    Ok(BufReader::with_capacity(1 << 20, file))
}

/// Feeds every line of `reader` to `importer`; a line that does not decode (truncated, not
/// JSON, not a command) is counted as failed, naming its line number, and the others go on.
async fn read_jsonl(
    mut reader: impl BufRead,
    importer: &mut Importer<'_>,
    path: &Path,
) -> Result<(), CliError> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| CliError::File { path: path.display().to_string(), source })?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let place = format!("line {number}");
        match codec::decode_command(text) {
            Ok(command) => importer.push(place, command, text.len() as u64).await?,
            Err(e) => {
                // The decoder counts lines within the JSON text, which is all on this line.
                let e = e.to_string().replacen(" at line 1 column ", " at column ", 1);
                let truncated = !line.ends_with(b"\n");
                let reason =
                    if truncated { format!("{e} (the file ends inside this line)") } else { e };
                importer.unreadable(None, place, reason);
            }
        }
    }
}
