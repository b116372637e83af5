//! A watchdog process that cleans up after a process once that process is gone.
//!
//! The watchdog is `sh` in its own session (`setsid`), so signals sent to the test process or
//! its process group (Ctrl-C, a runner killing a test) do not reach it. It polls
//! `kill -0 <pid>` every 200 ms and, when the watched process no longer exists (whether it
//! exited, panicked or was killed with SIGKILL), runs the cleanup script and exits. A zombie
//! (dead, not yet reaped by its parent) counts as gone: where `/proc` exists its state is read,
//! because `kill -0` still succeeds on a zombie.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

/// The loop that waits for process `$1` to disappear; the cleanup script follows it.
const WAIT_LOOP: &str = r#"while kill -0 "$1" 2>/dev/null; do
    if [ -r "/proc/$1/stat" ]; then
        s=$(cat "/proc/$1/stat" 2>/dev/null); s=${s##*") "}
        [ "${s%% *}" = Z ] && break
    fi
    sleep 0.2
done
"#;

/// Starts a watchdog that runs `cleanup` (a `sh` script) once process `watched` is gone.
///
/// In the script, `$1` is the watched pid and `$2`, `$3`, ... are `args`, so paths never need
/// quoting. The watchdog's standard streams are closed, so it never holds a test runner's
/// output pipes open.
pub(super) fn spawn(watched: u32, cleanup: &str, args: &[&OsStr]) -> Result<(), String> {
    let script = format!("{WAIT_LOOP}{cleanup}\n");
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
