//! `forma-persister`: the command line for operators of a forma-persister database.
//!
//! It lists, shows and watches the commands a persister stored, prints statistics and
//! purges finished commands, on SQLite (`--db sqlite:PATH`) or PostgreSQL
//! (`--db postgres://...`); commands that only read open the database read-only.
//!
//! Exit codes: 0 success, 1 failure (an unreadable database, a store error), 2 bad usage
//! (an unknown flag, a bad time or duration), 3 the command asked for does not exist.
//!
//! ```text
//! forma-persister --db sqlite:/var/lib/formae/commands.db list --unfinished
//! forma-persister --db sqlite:/var/lib/formae/commands.db purge --finished-before 30d
//! ```

mod cli;
mod db;
mod error;
mod export;
mod formae;
mod import;
mod list;
mod output;
mod paging;
mod purge;
mod show;
mod stats;
mod watch;
mod when;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return report(&CliError::Runtime(e)),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Runs the subcommand.
async fn run(cli: Cli) -> Result<(), CliError> {
    let url = cli.db.ok_or(CliError::NoDatabase)?;
    match cli.command {
        Command::List(args) => list::run(&url, &args).await,
        Command::Show(args) => show::run(&url, &args).await,
        Command::Watch(args) => watch::run(&url, &args).await,
        Command::Stats(args) => stats::run(&url, &args).await,
        Command::Purge(args) => purge::run(&url, &args).await,
        Command::Export(args) => export::run(&url, &args).await,
        Command::Import(args) => import::run(&url, &args).await,
    }
}

/// Prints `error` as one line on stderr and returns its exit code.
fn report(error: &CliError) -> ExitCode {
    #[allow(clippy::print_stderr, reason = "the command line reports its errors on stderr")]
    {
        eprintln!("forma-persister: {error}");
    }
    ExitCode::from(error.exit_code())
}
