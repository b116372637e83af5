//! `stats`: commands by state and kind, stored bytes, the oldest unfinished command, the
//! schema version and the database's size.

use std::collections::BTreeMap;
use std::io::Write;

use persister_core::{CommandSummary, ListFilter, Timestamp};
use serde::Serialize;

use crate::cli::StatsArgs;
use crate::db::{Access, Db};
use crate::error::CliError;
use crate::output::{bytes, time};

/// What `stats` prints (`--json` prints it as one object).
#[derive(Debug, Default, Serialize)]
struct Stats {
    backend: &'static str,
    schema_version: i64,
    database_bytes: Option<u64>,
    commands: u64,
    stored_bytes: u64,
    by_state: BTreeMap<String, u64>,
    by_kind: BTreeMap<String, u64>,
    unfinished: u64,
    oldest_unfinished: Option<Oldest>,
}

/// The unfinished command that started first.
#[derive(Debug, Serialize)]
struct Oldest {
    id: String,
    state: String,
    start_ts: String,
    #[serde(skip)]
    started: Timestamp,
}

impl Stats {
    fn add(&mut self, s: &CommandSummary) {
        self.commands += 1;
        self.stored_bytes += s.stored_bytes;
        *self.by_state.entry(s.state.to_string()).or_default() += 1;
        *self.by_kind.entry(s.command.to_string()).or_default() += 1;
        if s.state.is_final() {
            return;
        }
        self.unfinished += 1;
        if self
            .oldest_unfinished
            .as_ref()
            .is_none_or(|o| s.start_ts.datetime() < o.started.datetime())
        {
            self.oldest_unfinished = Some(Oldest {
                id: s.id.clone(),
                state: s.state.to_string(),
                start_ts: s.start_ts.to_utc().to_string(),
                started: s.start_ts,
            });
        }
    }
}

/// Runs `stats`.
pub(crate) async fn run(url: &str, args: &StatsArgs) -> Result<(), CliError> {
    let db = Db::open(url, Access::ReadOnly).await?;
    let info = db.store.info().await.map_err(|e| db.error(e))?;
    let mut stats = Stats {
        backend: info.backend,
        schema_version: info.schema_version,
        database_bytes: info.database_bytes,
        ..Stats::default()
    };
    db.each_summary(&ListFilter::all(), |s| {
        stats.add(&s);
        Ok(())
    })
    .await?;
    let mut out = std::io::stdout();
    if args.json {
        let line = serde_json::to_string(&stats).map_err(|e| CliError::Output(e.into()))?;
        writeln!(out, "{line}")?;
    } else {
        write!(out, "{}", render(&db.name, &stats))?;
    }
    db.close().await
}

/// The readable form of `stats` for the database `name`.
fn render(name: &str, stats: &Stats) -> String {
    let counts = |map: &BTreeMap<String, u64>| {
        let parts: Vec<String> = map.iter().map(|(k, n)| format!("{k} {n}")).collect();
        if parts.is_empty() { "-".to_owned() } else { parts.join(", ") }
    };
    let size = stats.database_bytes.map_or_else(|| "unknown".to_owned(), bytes);
    let oldest = stats.oldest_unfinished.as_ref().map_or_else(
        || "-".to_owned(),
        |o| format!("{} ({}, started {})", o.id, o.state, time(o.started)),
    );
    let mut text = String::new();
    let mut line = |label: &str, value: String| text.push_str(&format!("{label:<19}{value}\n"));
    line("Database", name.to_owned());
    line("Backend", format!("{}, schema version {}", stats.backend, stats.schema_version));
    line("Size on disk", size);
    line("Commands", stats.commands.to_string());
    line("Stored JSON", bytes(stats.stored_bytes));
    line("By state", counts(&stats.by_state));
    line("By kind", counts(&stats.by_kind));
    line("Unfinished", stats.unfinished.to_string());
    line("Oldest unfinished", oldest);
    text
}
