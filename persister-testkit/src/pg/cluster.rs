//! The third way to get a server: a throwaway cluster from the local PostgreSQL binaries.
//!
//! One cluster serves a whole test run. cargo-nextest runs every test in its own process, so
//! the cluster is keyed by the *parent* process (the test runner): the first test process takes
//! the lock file `<tmp>/persister-pg-run-<ppid>.lock`, starts the cluster, records its port and
//! directory in `<tmp>/persister-pg-run-<ppid>.json`, and starts a watchdog that stops the
//! cluster and deletes its directory and both files as soon as the runner is gone. Later test
//! processes of the run read the state file and reuse the cluster if it answers.
//!
//! `initdb` refuses to run as root; as root the binaries run as the `postgres` system user
//! (`runuser -u postgres --`) in a directory owned by that user.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::watchdog;

/// The superuser the cluster is created with.
const SUPERUSER: &str = "postgres";

/// How many times starting is tried when another process took the chosen port first.
const PORT_ATTEMPTS: usize = 5;

/// The watchdog's cleanup script: `$2` is pg_ctl, `$3` `root` or `me`, `$4` the data directory,
/// `$5` and `$6` the lock and state files.
pub(super) const CLEANUP: &str = r#"if [ "$3" = root ]; then runuser -u postgres -- "$2" -D "$4" stop -m immediate;
else "$2" -D "$4" stop -m immediate; fi >/dev/null 2>&1
rm -rf "$4" "$5" "$6""#;

/// The shared cluster of a test run, as recorded in the state file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct State {
    /// The TCP port on 127.0.0.1.
    pub(super) port: u16,
    /// The data directory, which is also the socket directory.
    pub(super) dir: PathBuf,
}

/// Who runs the binaries: this user, or the `postgres` user when this process is root.
#[derive(Clone, Copy, Debug)]
pub(super) enum RunAs {
    /// This process's user.
    Me,
    /// The `postgres` system user, with its uid and gid.
    Postgres(u32, u32),
}

/// The URL of the `postgres` database of the run's cluster, started if needed.
///
/// # Errors
/// Why no cluster could be started, one line (binaries missing, initdb or start failed, ...).
pub(super) async fn start_or_reuse() -> Result<String, String> {
    tokio::task::spawn_blocking(start_or_reuse_blocking)
        .await
        .map_err(|e| format!("the cluster start-up panicked: {e}"))?
}

fn start_or_reuse_blocking() -> Result<String, String> {
    let bin = find_bin_dir()?;
    let run_as = run_as()?;
    // The test runner, or this process when it has no parent worth watching.
    let owner = match std::os::unix::process::parent_id() {
        0 | 1 => std::process::id(),
        ppid => ppid,
    };
    let tmp = std::env::temp_dir();
    let lock_path = tmp.join(format!("persister-pg-run-{owner}.lock"));
    let state_path = tmp.join(format!("persister-pg-run-{owner}.json"));
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;

    if let Some(state) = read_state(&state_path)
        && answers(&state)
    {
        return Ok(url(state.port));
    }
    // The watchdog starts before the directory exists, so that even a kill during start-up
    // leaves nothing behind once the run is over.
    let dir =
        tmp.join(format!("persister-pg-{}-{:08x}", std::process::id(), rand::random::<u32>()));
    let pg_ctl = bin.join("pg_ctl");
    let who = if matches!(run_as, RunAs::Me) { "me" } else { "root" };
    let args = [
        pg_ctl.as_os_str(),
        who.as_ref(),
        dir.as_os_str(),
        lock_path.as_os_str(),
        state_path.as_os_str(),
    ];
    watchdog::spawn(owner, CLEANUP, &args)?;
    let state = start_cluster(&bin, run_as, dir)?;
    write_state(&state_path, &state)?;
    Ok(url(state.port))
}

/// The URL of the `postgres` database of a cluster on `port`.
pub(super) fn url(port: u16) -> String {
    format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres")
}

/// The directory with `initdb` and `pg_ctl`: from `pg_config --bindir`, `PATH`, or the newest
/// `/usr/lib/postgresql/*/bin`.
pub(super) fn find_bin_dir() -> Result<PathBuf, String> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").stderr(Stdio::null()).output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| has_tools(dir))
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).ok_or_else(|| {
        "no initdb and pg_ctl found (tried `pg_config --bindir`, PATH and \
         /usr/lib/postgresql/*/bin)"
            .to_owned()
    })
}

/// [`RunAs::Postgres`] when this process is root (initdb refuses root), else [`RunAs::Me`].
pub(super) fn run_as() -> Result<RunAs, String> {
    if id(&["-u"])? != 0 {
        return Ok(RunAs::Me);
    }
    let no_user = |e: String| format!("running as root needs a `postgres` user to run initdb: {e}");
    Ok(RunAs::Postgres(
        id(&["-u", SUPERUSER]).map_err(no_user)?,
        id(&["-g", SUPERUSER]).map_err(no_user)?,
    ))
}

/// The number printed by `id ARGS`.
fn id(args: &[&str]) -> Result<u32, String> {
    let out = Command::new("id").args(args).output().map_err(|e| format!("`id`: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().map_err(|_| format!("`id {}` failed: {}", args.join(" "), stderr(&out)))
}

/// Creates and starts a cluster in the new directory `dir`; on any failure the directory is
/// removed again.
pub(super) fn start_cluster(bin: &Path, run_as: RunAs, dir: PathBuf) -> Result<State, String> {
    fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = init_and_start(bin, run_as, &dir);
    if result.is_err() {
        stop(bin, run_as, &dir);
        remove_dir(&dir);
    }
    result.map(|port| State { port, dir })
}

fn init_and_start(bin: &Path, run_as: RunAs, dir: &Path) -> Result<u16, String> {
    if let RunAs::Postgres(uid, gid) = run_as {
        chown(dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot give {} to the postgres user: {e}", dir.display()))?;
    }
    // `--no-sync` skips flushing the new files to disk: a throwaway cluster needs no crash
    // safety for its template, and it saves seconds. The server's settings stay the defaults.
    let initdb = |locale: &str| {
        let mut cmd = command(bin, "initdb", run_as);
        cmd.arg("-D").arg(dir).args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8"]);
        run(cmd.arg(locale).arg("--no-sync"), "initdb")
    };
    if let Err(e) = initdb("--locale=C.UTF-8") {
        // Some systems (macOS) have no C.UTF-8 locale; the C locale works everywhere.
        if !e.contains("locale") {
            return Err(e);
        }
        clear_dir(dir)?;
        initdb("--locale=C")?;
    }
    let log = dir.join("server.log");
    let mut last_error = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            shell_quote(&dir.to_string_lossy())
        );
        let mut cmd = command(bin, "pg_ctl", run_as);
        cmd.arg("-D").arg(dir).arg("-l").arg(&log).arg("-o").arg(options);
        match run(cmd.args(["-w", "-t", "60", "start"]), "pg_ctl start") {
            Ok(()) => return Ok(port),
            Err(e) => {
                let log_text = fs::read_to_string(&log).unwrap_or_default();
                if !log_text.contains("already in use") && !log_text.contains("could not bind") {
                    return Err(format!("{e}; server log: {}", tail(&log_text)));
                }
                last_error = e;
            }
        }
    }
    Err(format!("no free port after {PORT_ATTEMPTS} attempts: {last_error}"))
}

/// A command running binary `tool` of `bin` as `run_as`.
pub(super) fn command(bin: &Path, tool: &str, run_as: RunAs) -> Command {
    let program = bin.join(tool);
    match run_as {
        RunAs::Me => Command::new(program),
        RunAs::Postgres(..) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", SUPERUSER, "--"]).arg(program);
            cmd
        }
    }
}

/// Runs `cmd` to completion; a failure names `what` and quotes its output.
pub(super) fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!("{what} failed ({}): {}", out.status, stderr(&out)))
}

/// Stops the cluster in `dir` at once, if it runs; errors are ignored.
pub(super) fn stop(bin: &Path, run_as: RunAs, dir: &Path) {
    let mut cmd = command(bin, "pg_ctl", run_as);
    let _ = run(cmd.arg("-D").arg(dir).args(["stop", "-m", "immediate"]), "pg_ctl stop");
}

pub(super) fn remove_dir(dir: &Path) {
    if let Err(e) = fs::remove_dir_all(dir)
        && e.kind() != ErrorKind::NotFound
    {
        eprintln!("warning: cannot remove {}: {e}", dir.display());
    }
}

/// Empties `dir`, keeping it (and its owner).
fn clear_dir(dir: &Path) -> Result<(), String> {
    for entry in fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        let path = entry.path();
        let removed =
            if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    Ok(())
}

/// A loopback port that was free a moment ago.
pub(super) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// True when the recorded cluster still runs and accepts connections.
fn answers(state: &State) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, state.port));
    state.dir.join("postmaster.pid").is_file()
        && TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

fn read_state(path: &Path) -> Option<State> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Writes the state file atomically (a temporary file renamed over it).
fn write_state(path: &Path, state: &State) -> Result<(), String> {
    let json = serde_json::to_vec(state).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, json)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `s` quoted for `sh` (pg_ctl passes `-o` through a shell).
pub(super) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn stderr(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = if text.trim().is_empty() { String::from_utf8_lossy(&out.stdout) } else { text };
    tail(&text)
}

/// The last few lines of `text`, on one line.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }

    #[test]
    fn tails_keep_the_last_lines() {
        assert_eq!(tail("a\n\nb\nc\nd\ne\nf\n"), "b | c | d | e | f");
    }
}
