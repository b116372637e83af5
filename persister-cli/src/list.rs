//! `list`: a page of command summaries, as a table or JSON lines, and the next cursor.

use std::io::Write;

use persister_core::CommandSummary;
use serde::Serialize;

use crate::cli::ListArgs;
use crate::db::{Access, Db};
use crate::error::CliError;
use crate::output::{self, bytes, table, time};

/// One command of `list --json` (a stable shape for scripts; times exact, in UTC).
#[derive(Debug, Serialize)]
struct Line<'a> {
    id: &'a str,
    kind: &'a str,
    state: &'a str,
    client_id: &'a str,
    start_ts: String,
    modified_ts: String,
    resource_updates: u64,
    final_resource_updates: u64,
    stored_bytes: u64,
}

impl<'a> From<&'a CommandSummary> for Line<'a> {
    fn from(s: &'a CommandSummary) -> Self {
        Self {
            id: &s.id,
            kind: s.command.as_str(),
            state: s.state.as_str(),
            client_id: &s.client_id,
            start_ts: s.start_ts.to_utc().to_string(),
            modified_ts: s.modified_ts.to_utc().to_string(),
            resource_updates: s.resource_updates,
            final_resource_updates: s.final_resource_updates,
            stored_bytes: s.stored_bytes,
        }
    }
}

/// Runs `list`.
pub(crate) async fn run(url: &str, args: &ListArgs) -> Result<(), CliError> {
    let db = Db::open(url, Access::ReadOnly).await?;
    let mut filter = args.filter.filter().limit(args.limit);
    if let Some(after) = &args.after {
        filter = filter.after(after.clone());
    }
    let page = db.store.list_summaries(&filter).await.map_err(|e| db.error(e))?;
    let mut out = std::io::stdout();
    if args.json {
        for summary in &page.summaries {
            let line = serde_json::to_string(&Line::from(summary))
                .map_err(|e| CliError::Output(e.into()))?;
            writeln!(out, "{line}")?;
        }
        if let Some(next) = &page.next {
            #[allow(clippy::print_stderr, reason = "the next cursor stays out of the JSON lines")]
            {
                eprintln!("next: --after {next}");
            }
        }
    } else {
        write!(out, "{}", output::render(&render(&page.summaries)))?;
        match &page.next {
            Some(next) => writeln!(out, "next page: --after {next}")?,
            None => writeln!(out, "{} command(s)", page.summaries.len())?,
        }
    }
    db.close().await
}

/// The table of `summaries`.
fn render(summaries: &[CommandSummary]) -> comfy_table::Table {
    let mut t =
        table(&["ID", "KIND", "STATE", "CLIENT", "STARTED", "MODIFIED", "RESOURCES", "SIZE"]);
    for s in summaries {
        t.add_row(vec![
            s.id.clone(),
            s.command.to_string(),
            s.state.to_string(),
            s.client_id.clone(),
            time(s.start_ts),
            time(s.modified_ts),
            format!("{}/{}", s.final_resource_updates, s.resource_updates),
            bytes(s.stored_bytes),
        ]);
    }
    t
}
