//! PgBouncer in transaction mode in front of the test server, for running the suites as
//! production runs them behind a pooler (`PERSISTER_PG_POOLER=pgbouncer`).
//!
//! Each test process starts its own PgBouncer on a free loopback port, in a directory of its
//! own, forwarding every database name to the server the harness found, as the user of that
//! server's URL. PgBouncer refuses to run as root, so as root it runs as the `postgres` user,
//! like the cluster. A watchdog kills it and removes its directory once the process is gone.
//! PgBouncer comes from the Debian package `pgbouncer`, which `.ci/run` installs when it is
//! missing; without it the harness fails and says so.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::cluster::{RunAs, free_port, run, run_as};
use super::{url, watchdog};

/// How long PgBouncer may take to accept connections after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The watchdog's cleanup: `$2` is the pid file, `$3` the directory.
const CLEANUP: &str = r#"[ -r "$2" ] && kill -9 "$(cat "$2")" 2>/dev/null
rm -rf "$3""#;

/// Where PgBouncer may be installed besides `PATH` (Debian puts it in `/usr/sbin`).
const PLACES: &[&str] = &["/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer"];

/// Starts PgBouncer in front of the server at `server_url` and returns `server_url` pointed
/// at it (blocking: call it from `spawn_blocking`).
///
/// # Errors
/// Why it could not be started: not installed, the configuration refused, no answer.
pub(super) fn start(server_url: &str) -> Result<String, String> {
    let bin = find()?;
    let run_as = run_as()?;
    let port = free_port()?;
    let via = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (upstream, pooled_url) = url::through(server_url, via)?;
    let (host, server_port) = upstream.rsplit_once(':').unwrap_or((&upstream, "5432"));
    let (user, password) = url::user_info(server_url);
    let dir = std::env::temp_dir().join(format!(
        "persister-pgbouncer-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let pid_file = dir.join("pgbouncer.pid");
    watchdog::spawn(std::process::id(), CLEANUP, &[pid_file.as_os_str(), dir.as_os_str()])?;
    fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let password = password.map(|p| format!(" password={p}")).unwrap_or_default();
    let ini = format!(
        "[databases]\n* = host={host} port={server_port} user={user}{password}\n\
         [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
         auth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
         max_client_conn = 1000\ndefault_pool_size = 20\nlogfile = {log}\npidfile = {pid}\n",
        users = dir.join("users.txt").display(),
        log = dir.join("pgbouncer.log").display(),
        pid = pid_file.display(),
    );
    fs::write(dir.join("pgbouncer.ini"), ini).map_err(|e| format!("cannot write config: {e}"))?;
    fs::write(dir.join("users.txt"), format!("\"{user}\" \"\"\n"))
        .map_err(|e| format!("cannot write the user list: {e}"))?;
    give_away(&dir, run_as)?;
    let mut cmd = match run_as {
        RunAs::Me => Command::new(&bin),
        RunAs::Postgres(..) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&bin);
            cmd
        }
    };
    run(cmd.arg("-d").arg(dir.join("pgbouncer.ini")), "pgbouncer")?;
    let started = Instant::now();
    while TcpStream::connect_timeout(&via, Duration::from_millis(200)).is_err() {
        if started.elapsed() > START_TIMEOUT {
            let log = fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
            return Err(format!("pgbouncer did not listen on {via} within 10 s: {log}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(pooled_url)
}

/// The `pgbouncer` binary.
fn find() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("pgbouncer"));
    on_path.chain(PLACES.iter().map(PathBuf::from)).find(|p| p.is_file()).ok_or_else(|| {
        "pgbouncer is not installed (Debian: `apt-get install pgbouncer`; `.ci/run` installs it)"
            .to_owned()
    })
}

/// Gives `dir` and its files to the `postgres` user when PgBouncer runs as that user.
fn give_away(dir: &Path, run_as: RunAs) -> Result<(), String> {
    let RunAs::Postgres(uid, gid) = run_as else {
        return Ok(());
    };
    let entries = fs::read_dir(dir).map_err(|e| e.to_string())?;
    for path in std::iter::once(dir.to_path_buf()).chain(entries.flatten().map(|e| e.path())) {
        chown(&path, Some(uid), Some(gid))
            .map_err(|e| format!("cannot give {} to the postgres user: {e}", path.display()))?;
    }
    Ok(())
}
