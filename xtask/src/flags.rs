//! The command-line interface of `cargo xtask`, and nothing else.
//!
//! Each subcommand's behaviour lives in its own module (`ci.rs`, `tidy.rs`, `bench.rs`),
//! which adds a `run` method to the matching flags struct.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Project automation for the forma-persister workspace.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", version)]
pub(crate) struct Xtask {
    /// The task to run.
    #[command(subcommand)]
    pub(crate) subcommand: XtaskCmd,
}

/// The tasks `cargo xtask` knows.
#[derive(Debug, Subcommand)]
pub(crate) enum XtaskCmd {
    /// Run every CI step in order: fmt, clippy, tests (the short crash test included), doc, layering.
    Ci(Ci),
    /// Run the tidy checks over the workspace source tree.
    Tidy(Tidy),
    /// Run the benchmark driver, forwarding every argument verbatim.
    Bench(Bench),
    /// Run the crash test (SIGKILL at random moments), forwarding every argument verbatim.
    Crash(Crash),
}

/// Flags of `cargo xtask ci`.
#[derive(Debug, Args)]
pub(crate) struct Ci {
    /// Skip a step (repeatable); meant for local runs, CI skips nothing.
    #[arg(long, value_enum, value_name = "STEP")]
    pub(crate) skip: Vec<Step>,
}

/// One step of `cargo xtask ci`, in the order the steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Step {
    /// `cargo fmt --all -- --check`.
    Fmt,
    /// `cargo clippy --workspace --all-targets -- -D warnings`.
    Clippy,
    /// The test suite (nextest when installed, else `cargo test`), then the doctests.
    Tests,
    /// `cargo doc --workspace --no-deps` with warnings denied.
    Doc,
    /// `cargo tree` checks that the crates depend on each other only as designed, and the
    /// testkit without its backends (`--no-default-features`) passes clippy.
    Layering,
}

/// Flags of `cargo xtask tidy`.
#[derive(Debug, Args)]
pub(crate) struct Tidy {}

/// Flags of `cargo xtask bench`.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub(crate) struct Bench {
    /// Arguments passed unchanged to `persister-bench`; `cargo xtask bench --help` shows its help.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub(crate) args: Vec<String>,
}

/// Flags of `cargo xtask crash`.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub(crate) struct Crash {
    /// Arguments passed unchanged to `persister-crash` (`--trials N`, `--backend sqlite|postgres`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub(crate) args: Vec<String>,
}
