//! `cargo xtask`: project automation for the forma-persister workspace.
//!
//! The shape follows rust-analyzer's `xtask/`: `flags.rs` defines the command line,
//! and each subcommand lives in its own module with a `run(self, sh)` method.
//!
//! - `cargo xtask ci` runs fmt, clippy, tests, doc and the layering check, stopping at the first failure.
//! - `cargo xtask tidy` runs the source-tree checks (plain `cargo test` runs them too).
//! - `cargo xtask bench [ARGS...]` forwards its arguments to the `persister-bench` binary.
//! - `cargo xtask crash [ARGS...]` forwards its arguments to the `persister-crash` binary.
//!
//! Commands run through `xshell::cmd!`, which passes arguments without building shell strings.

#![allow(clippy::print_stdout, reason = "a CLI prints")]

mod bench;
mod ci;
mod flags;
mod tidy;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use clap::Parser;
use xshell::Shell;

/// The error type of every task: tasks only report failures, nobody matches on them.
pub(crate) type Error = Box<dyn std::error::Error>;

/// The result type of every task.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one task from the workspace root.
fn run(flags: flags::Xtask) -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match flags.subcommand {
        flags::XtaskCmd::Ci(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Tidy(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Bench(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Crash(cmd) => cmd.run(&sh),
    }
}

/// Returns the workspace root: the parent of this crate's manifest directory.
///
/// The directory is the one `cargo run` names at run time, not the one this binary was
/// compiled in: checkouts that share a target directory (as `.ci/run`'s default does) share
/// the `xtask` binary too, and the last one built must not send another checkout's commands
/// to its own sources.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir.parent().map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
}

/// Formats a duration for progress lines, e.g. `12.3s`.
pub(crate) fn fmt_elapsed(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}
