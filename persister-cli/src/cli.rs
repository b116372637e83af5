//! The command line's definition (clap derive); each subcommand's arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use persister_core::{CommandKind, CommandState, Cursor, ListFilter, Timestamp};

use crate::when::parse_when;

/// See, watch and maintain a forma-persister database.
#[derive(Debug, Parser)]
#[command(name = "forma-persister", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The database: `sqlite:PATH` or `postgres://user:pass@host:port/db`.
    #[arg(long, env = "FORMA_PERSISTER_DB", global = true, value_name = "URL")]
    pub(crate) db: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List commands, newest first, a page at a time.
    List(ListArgs),
    /// Show one command: a summary, or its exact JSON with --json.
    Show(ShowArgs),
    /// Watch unfinished commands progress, until they are final or Ctrl-C.
    Watch(WatchArgs),
    /// Count commands by state and kind; sizes, schema version, oldest unfinished command.
    Stats(StatsArgs),
    /// Delete finished commands older than a bound, in small transactions.
    Purge(PurgeArgs),
    /// Write commands as JSON Lines: one command per line, as `show --json` prints it.
    Export(ExportArgs),
    /// Store commands from JSON Lines (as `export` writes them); skips those already stored.
    Import(ImportArgs),
}

/// Filters shared by `list` and other listings.
#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// Only commands in this state (InProgress, Success, Failed, Canceled, ...).
    #[arg(long, value_parser = parse_state)]
    pub(crate) state: Option<CommandState>,
    /// Only commands of this client ("" for those stored without one).
    #[arg(long)]
    pub(crate) client: Option<String>,
    /// Only commands of this kind (apply, destroy, sync, ...).
    #[arg(long, value_parser = parse_kind)]
    pub(crate) kind: Option<CommandKind>,
    /// Only commands started at or after this time, date or duration ago (`7d`).
    #[arg(long, value_parser = parse_when, value_name = "WHEN")]
    pub(crate) since: Option<Timestamp>,
    /// Only commands started before this time, date or duration ago.
    #[arg(long, value_parser = parse_when, value_name = "WHEN")]
    pub(crate) until: Option<Timestamp>,
    /// Only commands not in a final state.
    #[arg(long)]
    pub(crate) unfinished: bool,
}

impl FilterArgs {
    /// The store filter these arguments describe.
    pub(crate) fn filter(&self) -> ListFilter {
        let mut filter = ListFilter::all();
        if let Some(state) = self.state {
            filter = filter.state(state);
        }
        if let Some(client) = &self.client {
            filter = filter.client_id(client.clone());
        }
        if let Some(kind) = self.kind {
            filter = filter.command(kind);
        }
        if let Some(since) = self.since {
            filter = filter.since(since);
        }
        if let Some(until) = self.until {
            filter = filter.until(until);
        }
        if self.unfinished {
            filter = filter.unfinished(true);
        }
        filter
    }
}

/// `list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Which commands.
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// At most this many (one page).
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: u32,
    /// The page after this cursor (printed at the end of the previous page).
    #[arg(long, value_name = "CURSOR")]
    pub(crate) after: Option<Cursor>,
    /// One JSON object per line (the next cursor goes to stderr).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The command id.
    pub(crate) id: String,
    /// The command's JSON exactly as the Go agent reads it.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// The commands to watch; every unfinished command when none is given.
    pub(crate) ids: Vec<String>,
    /// How often to read the database.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub(crate) interval: Duration,
}

/// `stats`.
#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// One JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `purge`.
#[derive(Debug, Args)]
pub(crate) struct PurgeArgs {
    /// Delete final commands last modified before this time, date or duration ago (`30d`).
    #[arg(long, value_parser = parse_when, value_name = "WHEN")]
    pub(crate) finished_before: Timestamp,
    /// List what would be deleted, delete nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Which commands.
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// Write to this file (created or truncated) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Write a new formae agent database instead (`sqlite:PATH`, a file that does not exist,
    /// or `postgres://...`, a database without tables; the new schema).
    #[arg(long, value_name = "URL", conflicts_with = "out")]
    pub(crate) to_formae: Option<String>,
}

/// `import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The JSON Lines file: one command per line, as `export` writes it.
    #[arg(value_name = "FILE", required_unless_present = "from_formae")]
    pub(crate) file: Option<PathBuf>,
    /// Read the commands of a formae agent's own database instead (`sqlite:PATH` or
    /// `postgres://...`), opened read-only.
    #[arg(long, value_name = "URL", conflicts_with = "file")]
    pub(crate) from_formae: Option<String>,
    /// Check every command as it would be stored, and report; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Commands stored per transaction (at most 32 MiB of JSON whatever this says).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub(crate) batch: usize,
    /// Print the throughput at the end: commands/s and MiB/s.
    #[arg(long)]
    pub(crate) timings: bool,
}

/// Parses a command state, in any case.
fn parse_state(text: &str) -> Result<CommandState, String> {
    CommandState::ALL
        .iter()
        .copied()
        .find(|s| *s != CommandState::Unspecified && s.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| format!("unknown state {text:?}; one of: {}", names(CommandState::ALL)))
}

/// Parses a command kind, in any case.
fn parse_kind(text: &str) -> Result<CommandKind, String> {
    CommandKind::ALL
        .iter()
        .copied()
        .find(|k| *k != CommandKind::Unspecified && k.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| format!("unknown kind {text:?}; one of: {}", names(CommandKind::ALL)))
}

/// The names of an enum's values, `Unspecified` left out.
fn names<T: Copy + std::fmt::Display>(all: &[T]) -> String {
    let names: Vec<String> =
        all.iter().map(ToString::to_string).filter(|n| !n.is_empty()).collect();
    names.join(", ")
}
