//! The benchmark driver behind `cargo xtask bench`: replays realistic workloads through the
//! naive, seed, ours and floor designs and prints the comparison.

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Counts live heap bytes, for the cache memory figure.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);
use persister_testkit::bench::{Backend, BenchOptions, Durability, WorkloadKind, run};

/// Replays realistic workloads on one backend and prints each design's figures and ratios.
#[derive(Debug, Parser)]
#[command(name = "persister-bench")]
struct Args {
    /// The backend.
    #[arg(long, value_enum, default_value = "sqlite", ignore_case = true)]
    backend: Backend,
    /// Workloads to run (repeatable); all of them by default.
    #[arg(long, value_enum, ignore_case = true)]
    workload: Vec<WorkloadKind>,
    /// Shorter message streams (commands keep their full size): under a minute in all.
    #[arg(long)]
    quick: bool,
    /// Durability of every design's database.
    #[arg(long, value_enum, default_value = "full", ignore_case = true)]
    durability: Durability,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The workload seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only these designs (repeatable: naive, seed, ours, floor); all by default.
    #[arg(long, value_parser = ["naive", "seed", "ours", "floor"])]
    design: Vec<String>,
    /// Directory for the database files.
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut workloads = args.workload.clone();
    if workloads.is_empty() {
        workloads = vec![WorkloadKind::W1, WorkloadKind::W2, WorkloadKind::W3, WorkloadKind::Flood];
    }
    workloads.sort_unstable();
    workloads.dedup();
    let options = BenchOptions {
        backend: args.backend,
        workloads,
        quick: args.quick,
        durability: args.durability,
        seed: args.seed,
        dir: args.dir.unwrap_or_else(std::env::temp_dir),
        progress: true,
        designs: args.design.clone(),
        heap_bytes: Some(|| ALLOCATOR.allocated()),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(run(&options)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", report.table());
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&report.json()).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("JSON report written to {}", path.display());
    }
    ExitCode::SUCCESS
}
