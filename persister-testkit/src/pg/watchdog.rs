//! A watchdog process that cleans up after a process once that process is gone.
//!
//! The watchdog is `sh` in its own session (`setsid`), so signals sent to the test process or
//! its process group (Ctrl-C, a runner killing a test) do not reach it. It polls
//! `kill -0 <pid>` every 50 ms and, when the watched process no longer exists (whether it
//! exited, panicked or was killed with SIGKILL), runs the cleanup script and exits. A zombie
//! (dead, not yet reaped by its parent) counts as gone: where `/proc` exists its state is read,
//! because `kill -0` still succeeds on a zombie.
//!
//! When [`LOCK_VAR`] names a file, every watchdog holds a shared `flock` on it for its whole
//! life, cleanup included, so whoever ran the tests can wait for every server to be gone by
//! taking the lock exclusively once the test runner has exited: `cargo xtask ci` does, so
//! when it moves on, no server of the run is left.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

/// The environment variable naming the lock file that watchdogs hold shared while they live.
pub(super) const LOCK_VAR: &str = "PERSISTER_PG_WATCHDOG_LOCK";

/// The loop that waits for process `$1` to disappear; the cleanup script follows it.
const WAIT_LOOP: &str = r#"while kill -0 "$1" 2>/dev/null; do
    if [ -r "/proc/$1/stat" ]; then
        s=$(cat "/proc/$1/stat" 2>/dev/null); s=${s##*") "}
        [ "${s%% *}" = Z ] && break
    fi
    sleep 0.05
done
"#;

/// Starts a watchdog that runs `cleanup` (a `sh` script) once process `watched` is gone.
///
/// In the script, `$1` is the watched pid and `$2`, `$3`, ... are `args`, so paths never need
/// quoting. The watchdog's standard streams are closed, so it never holds a test runner's
/// output pipes open.
pub(super) fn spawn(watched: u32, cleanup: &str, args: &[&OsStr]) -> Result<(), String> {
    // A lock taken before the loop is held until the watchdog exits, after its cleanup.
    let lock = match std::env::var(LOCK_VAR) {
        Ok(path) if !path.is_empty() => {
            format!("exec 9>>{} && flock -s 9\n", super::cluster::shell_quote(&path))
        }
        _ => String::new(),
    };
    let script = format!("{lock}{WAIT_LOOP}{cleanup}\n");
    Command::new("setsid")
        .arg("sh")
        .arg("-c")
        .arg(script)
        .arg("persister-pg-watchdog")
        .arg(watched.to_string())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start the watchdog (`setsid sh`): {e}"))
}
