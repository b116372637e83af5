//! The crash test behind `cargo xtask crash`: kills a child process replaying a workload with
//! SIGKILL at random moments and checks that nothing acknowledged is lost and no message is
//! half-applied, on SQLite and PostgreSQL.

#![allow(clippy::print_stdout, reason = "a test driver prints its report")]

use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand, ValueEnum};
use persister_testkit::crash::{Target, run_child, run_parent};

/// Kill-and-check trials.
#[derive(Debug, Parser)]
#[command(name = "persister-crash")]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Trials per backend.
    #[arg(long, default_value_t = 30)]
    trials: usize,
    /// Backends (repeatable); both by default.
    #[arg(long, value_enum)]
    backend: Vec<Backend>,
    /// Workload seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Internal: the child process.
    Child {
        /// `sqlite:<path>` or a PostgreSQL URL.
        target: String,
        /// Workload seed.
        seed: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
    if let Some(Mode::Child { target, seed }) = args.mode {
        return match rt.block_on(run_child(&Target::parse(&target), seed)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let seed = args.seed;
    let child = move |target: &Target| {
        let mut c = Command::new(&exe);
        c.arg("child").arg(target.arg()).arg(seed.to_string());
        c
    };
    let backends = if args.backend.is_empty() {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        args.backend
    };
    let dir = std::env::temp_dir().join(format!("persister-crash-{}", std::process::id()));
    let mut failed = false;
    for backend in backends {
        let report = rt.block_on(async {
            match backend {
                Backend::Sqlite => {
                    let dir = dir.clone();
                    run_parent(args.trials, seed, &child, |trial| {
                        let path = dir.join(format!("trial-{trial}.db"));
                        async move {
                            std::fs::create_dir_all(path.parent().unwrap_or(&path))
                                .map_err(|e| e.to_string())?;
                            Ok(Target::Sqlite(path))
                        }
                    })
                    .await
                }
                Backend::Postgres => {
                    let databases = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                    let report = run_parent(args.trials, seed, &child, |_| {
                        let slot = databases.clone();
                        async move {
                            let db = persister_testkit::pg::test_database()
                                .await
                                .map_err(|e| e.to_string())?;
                            let target = Target::Postgres(db.url().to_owned());
                            slot.lock().map_err(|e| e.to_string())?.push(db);
                            Ok(target)
                        }
                    })
                    .await;
                    let databases = std::mem::take(
                        &mut *databases.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
                    );
                    for db in databases {
                        let _ = db.cleanup().await;
                    }
                    report
                }
            }
        });
        println!(
            "{backend:?}: trials {}, kills {}, acknowledged messages checked {}, violations {}",
            report.trials,
            report.kills,
            report.acked_checked,
            report.violations.len()
        );
        for v in &report.violations {
            println!("  violation: {v}");
        }
        failed |= !report.violations.is_empty() || report.kills == 0;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
