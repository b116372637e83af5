//! `import --from-formae URL`: the commands of a formae agent's own database, read
//! read-only, stored as an import of JSON Lines stores them. Unfinished commands stay
//! unfinished, finished ones are stored as they are (never hashed again, D6).

use std::time::Instant;

use crate::cli::ImportArgs;
use crate::db::{Access, Db};
use crate::error::CliError;
use crate::formae::{FormaeError, Reader, row_id};
use crate::import::{Importer, finish};

/// `forma_commands` rows read per query.
const PAGE: u32 = 200;

/// Where every command of a formae database comes from, in messages.
const PLACE: &str = "formae";

/// Runs `import --from-formae`.
pub(crate) async fn run(url: &str, from: &str, args: &ImportArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let reader = Reader::open(from).await?;
    let layout = reader.layout().await?;
    let access = if args.dry_run { Access::ReadOnly } else { Access::Create };
    let db = Db::open(url, access).await?;
    let mut importer = Importer::new(&db, args.dry_run, args.batch);
    let mut after = String::new();
    loop {
        let page = reader.commands(&after, PAGE).await?;
        let Some(last) = page.last() else { break };
        let next = row_id(last);
        if next <= after {
            // An id that does not read back as the text it is stored as (not UTF-8, or a
            // BLOB) would be listed again and again.
            return Err(FormaeError::Query {
                db: persister_postgres::redact_url(from),
                reason: format!("cannot page past command id {next:?}: it is not stored as text"),
            }
            .into());
        }
        after = next;
        for header in page {
            let id = row_id(&header);
            let (read, size) = reader.read(layout, &header, &id).await?;
            match read {
                Ok(read) => {
                    if let Some(what) = read.restored {
                        importer.restored(&id, PLACE, what);
                    }
                    for warning in read.warnings {
                        importer.warn(&id, PLACE, warning);
                    }
                    importer.push(PLACE.into(), read.command, size).await?;
                }
                Err(e) => importer.unreadable(Some(id), PLACE.into(), e.to_string()),
            }
        }
    }
    importer.flush().await?;
    let summary = importer.into_summary();
    finish(db, &summary, args, started).await
}
