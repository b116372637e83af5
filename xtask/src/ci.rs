//! `cargo xtask ci`: the whole CI pipeline, runnable on any machine.
//!
//! The steps run in order and the first failure stops the run with a non-zero exit.
//! Each step prints a header line before it starts and its elapsed time when it ends.
//! `.ci/run` calls this with no flags; `--skip STEP` exists for local runs only.

use std::time::Instant;

use xshell::{Shell, cmd};

use crate::{
    Result,
    flags::{self, Step},
    fmt_elapsed,
};

/// Crates each workspace crate must not depend on (normal dependencies, transitively), with
/// the `cargo tree` flags that select its features.
///
/// A `cargo tree` line names a crate in its first word; a forbidden name also matches its
/// `-suffixed` family, so `sqlx` catches `sqlx-core` and `sqlx-postgres` too.
/// The testkit without its default features is what a third backend depends on.
const LAYERING: &[(&str, &[&str], &[&str])] = &[
    ("persister-core", &[], &["rusqlite", "sqlx", "persister-sqlite", "persister-postgres"]),
    ("persister-sqlite", &[], &["persister-postgres", "sqlx"]),
    ("persister-postgres", &[], &["persister-sqlite", "rusqlite"]),
    (
        "persister-testkit",
        &["--no-default-features"],
        &["rusqlite", "sqlx", "testcontainers", "persister-sqlite", "persister-postgres"],
    ),
];

/// The nextest filter of the PostgreSQL suites that run a second time through PgBouncer: the
/// conformance and property suite, the backend's own tests, deployment (schemas, migrations,
/// several hosts), fencing and the harness. The cut-after-commit run (two minutes) and the
/// failover test, which start servers of their own, run once.
const POOLED: &str =
    "test(/^(postgres|postgres_backend|postgres_deploy|postgres_operator|fencing|pg_harness)::/)";

/// Crates that must also pass clippy, tests included, with these flags: feature sets that
/// [`LAYERING`] checks and that the clippy and tests steps, on default features, never build.
const FEATURE_CHECKS: &[(&str, &[&str])] = &[("persister-testkit", &["--no-default-features"])];

impl flags::Ci {
    /// Runs every step not listed in `--skip`, stopping at the first failure.
    pub(crate) fn run(self, sh: &Shell) -> Result<()> {
        let started = Instant::now();
        let steps = Step::ALL;
        for (index, &step) in steps.iter().enumerate() {
            let name = step.name();
            if self.skip.contains(&step) {
                println!("==> [{}/{}] {name}: skipped", index + 1, steps.len());
                continue;
            }
            println!("==> [{}/{}] {name}", index + 1, steps.len());
            let step_started = Instant::now();
            let outcome = step.run(sh);
            let elapsed = fmt_elapsed(step_started.elapsed());
            match outcome {
                Ok(()) => println!("<== {name}: ok in {elapsed}"),
                Err(err) => {
                    println!("<== {name}: FAILED after {elapsed}");
                    return Err(format!("ci step `{name}` failed: {err}").into());
                }
            }
        }
        println!("==> ci: ok in {}", fmt_elapsed(started.elapsed()));
        Ok(())
    }
}

impl Step {
    /// Every step, in the order `cargo xtask ci` runs them.
    const ALL: [Step; 5] = [Step::Fmt, Step::Clippy, Step::Tests, Step::Doc, Step::Layering];

    /// The step's name, as `--skip` spells it.
    fn name(self) -> &'static str {
        match self {
            Step::Fmt => "fmt",
            Step::Clippy => "clippy",
            Step::Tests => "tests",
            Step::Doc => "doc",
            Step::Layering => "layering",
        }
    }

    /// Runs the step's commands from the workspace root.
    fn run(self, sh: &Shell) -> Result<()> {
        match self {
            Step::Fmt => cmd!(sh, "cargo fmt --all -- --check").run()?,
            Step::Clippy => {
                cmd!(sh, "cargo clippy --workspace --all-targets -- -D warnings").run()?
            }
            Step::Tests => {
                // Watchdogs of the test harness hold this lock shared until the servers they
                // watch are stopped: taking it exclusively after each run waits for them.
                let lock = std::env::temp_dir()
                    .join(format!("persister-pg-watchdogs-{}.lock", std::process::id()));
                let _env = sh.push_env("PERSISTER_PG_WATCHDOG_LOCK", &lock);
                let result = run_tests(sh);
                let stopped = cmd!(sh, "flock -x -w 120 {lock} true").run();
                let _ = std::fs::remove_file(&lock);
                result?;
                stopped
                    .map_err(|e| format!("test servers still running 120 s after the run: {e}"))?;
                println!("every server the tests started has stopped");
            }
            Step::Doc => {
                cmd!(sh, "cargo doc --workspace --no-deps")
                    .env("RUSTDOCFLAGS", "-Dwarnings")
                    .run()?;
            }
            Step::Layering => check_layering(sh)?,
        }
        Ok(())
    }
}

/// Every test, with nextest when installed (else `cargo test`), the PostgreSQL suites a
/// second time through PgBouncer, and the doctests.
fn run_tests(sh: &Shell) -> Result<()> {
    if has_nextest(sh) {
        cmd!(sh, "cargo nextest run --workspace --no-fail-fast").run()?;
        println!("--- the PostgreSQL suites again, through PgBouncer");
        cmd!(sh, "cargo nextest run -p persister-testkit --no-fail-fast -E {POOLED}")
            .env("PERSISTER_PG_POOLER", "pgbouncer")
            .run()?;
    } else {
        println!("cargo-nextest not found, falling back to cargo test");
        cmd!(sh, "cargo test --workspace --no-fail-fast").run()?;
        println!("--- the PostgreSQL suites again, through PgBouncer");
        cmd!(sh, "cargo test -p persister-testkit --test it --no-fail-fast postgres")
            .env("PERSISTER_PG_POOLER", "pgbouncer")
            .run()?;
    }
    // Nextest does not run doctests.
    cmd!(sh, "cargo test --workspace --doc").run()?;
    Ok(())
}

/// Reports whether `cargo nextest` is installed.
fn has_nextest(sh: &Shell) -> bool {
    cmd!(sh, "cargo nextest --version").quiet().ignore_stdout().ignore_stderr().run().is_ok()
}

/// Runs clippy on each crate of [`FEATURE_CHECKS`] with its flags, then runs `cargo tree`
/// for each crate in [`LAYERING`] and fails listing every forbidden dependency.
fn check_layering(sh: &Shell) -> Result<()> {
    for &(krate, flags) in FEATURE_CHECKS {
        cmd!(sh, "cargo clippy -p {krate} {flags...} --all-targets -- -D warnings").run()?;
    }
    let mut violations = Vec::new();
    for &(krate, flags, forbidden) in LAYERING {
        let tree = cmd!(sh, "cargo tree -p {krate} {flags...} -e normal --prefix none").read()?;
        let name = [&[krate][..], flags].concat().join(" ");
        let found = layering_violations(&name, &tree, forbidden);
        println!("{name}: {} forbidden dependencies (of {})", found.len(), forbidden.join(", "));
        violations.extend(found);
    }
    if violations.is_empty() {
        return Ok(());
    }
    for violation in &violations {
        println!("{violation}");
    }
    Err(format!("{} layering violation(s)", violations.len()).into())
}

/// Returns one message per line of `tree` (a `cargo tree --prefix none` listing of `krate`)
/// that names a crate in `forbidden`.
fn layering_violations(krate: &str, tree: &str, forbidden: &[&str]) -> Vec<String> {
    let mut found: Vec<&str> = Vec::new();
    for line in tree.lines() {
        let Some(dep) = line.split_whitespace().next() else { continue };
        let is_forbidden = forbidden.iter().any(|&name| {
            dep.strip_prefix(name).is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        });
        if is_forbidden && !found.contains(&dep) {
            found.push(dep);
        }
    }
    found.iter().map(|dep| format!("{krate} must not depend on `{dep}`")).collect()
}

#[cfg(test)]
mod tests {
    use super::layering_violations;

    #[track_caller]
    fn check(tree: &str, forbidden: &[&str], expected: &[&str]) {
        assert_eq!(layering_violations("krate", tree, forbidden), expected);
    }

    #[test]
    fn clean_tree_passes() {
        check("persister-core v0.1.0 (/w/persister-core)\nsonic-rs v0.5.10\n", &["sqlx"], &[]);
    }

    #[test]
    fn forbidden_crate_is_reported() {
        check(
            "persister-core v0.1.0\nrusqlite v0.39.0\n",
            &["rusqlite"],
            &["krate must not depend on `rusqlite`"],
        );
    }

    #[test]
    fn forbidden_family_is_reported_once_each() {
        check(
            "a v1\nsqlx-core v0.9.0\nsqlx-core v0.9.0 (*)\nsqlx v0.9.0\n",
            &["sqlx"],
            &["krate must not depend on `sqlx-core`", "krate must not depend on `sqlx`"],
        );
    }

    #[test]
    fn similar_names_pass() {
        check("sqlxyz v1\nlibsqlite3-sys v0.30\nmy-rusqlite v1\n", &["sqlx", "rusqlite"], &[]);
    }

    #[test]
    fn backend_may_not_depend_on_the_other() {
        check(
            "persister-sqlite v0.1.0\npersister-postgres v0.1.0 (/w)\n",
            &["persister-postgres"],
            &["krate must not depend on `persister-postgres`"],
        );
    }
}
