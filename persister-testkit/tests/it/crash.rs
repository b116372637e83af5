//! The short crash test run in CI: 5 kill-and-check trials per backend (`cargo xtask crash`
//! runs the long one). The driver kills a child replaying W1 with SIGKILL at random moments
//! and checks that no acknowledged message is lost and none is half-applied.

use std::process::Command;

fn run(backend: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_persister-crash"))
        .args(["--trials", "5", "--backend", backend])
        .output()
        .expect("the crash driver starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "crash test failed on {backend}:\n{stdout}\n{stderr}");
    assert!(stdout.contains("violations 0"), "{stdout}");
    assert!(stdout.contains("trials 5, kills "), "{stdout}");
}

#[test]
fn crash_sqlite_short() {
    run("sqlite");
}

#[test]
fn crash_postgres_short() {
    run("postgres");
}
