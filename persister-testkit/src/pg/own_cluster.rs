//! A cluster owned by one test, which the test may stop and restart (the shared cluster of a
//! test run must never be restarted under other tests).

use std::path::{Path, PathBuf};

use super::cluster::{
    CLEANUP, RunAs, command, find_bin_dir, remove_dir, run, run_as, shell_quote, start_cluster,
    stop, url,
};
use super::watchdog;

/// A cluster owned by one test (never the shared one): its own directory and port, so the test
/// may stop and restart it. Dropping it stops it and removes its directory; a watchdog does
/// the same if the test process dies first.
#[derive(Debug)]
pub struct OwnCluster {
    pub(super) bin: PathBuf,
    pub(super) run_as: RunAs,
    pub(super) dir: PathBuf,
    pub(super) port: u16,
}

impl OwnCluster {
    /// Creates and starts a cluster from the local binaries (blocking: call it from
    /// `spawn_blocking` in async code).
    ///
    /// # Errors
    /// Why it could not be started.
    pub fn start() -> Result<Self, String> {
        let bin = find_bin_dir()?;
        let run_as = run_as()?;
        let dir = std::env::temp_dir().join(format!(
            "persister-pg-own-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        watch(&bin, run_as, &dir)?;
        let state = start_cluster(&bin, run_as, dir)?;
        Ok(Self { bin, run_as, dir: state.dir, port: state.port })
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        url(self.port)
    }

    /// Stops the server (fast shutdown: connections are cut), waiting until it is down.
    ///
    /// # Errors
    /// pg_ctl's failure.
    pub fn stop(&self) -> Result<(), String> {
        let mut cmd = command(&self.bin, "pg_ctl", self.run_as);
        run(cmd.arg("-D").arg(&self.dir).args(["-w", "stop", "-m", "fast"]), "pg_ctl stop")
    }

    /// Starts the stopped server again on the same port, waiting until it accepts connections.
    ///
    /// # Errors
    /// pg_ctl's failure.
    pub fn restart(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            shell_quote(&self.dir.to_string_lossy())
        );
        let mut cmd = command(&self.bin, "pg_ctl", self.run_as);
        cmd.arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .arg("-o")
            .arg(options);
        run(cmd.args(["-w", "-t", "60", "start"]), "pg_ctl start")
    }
}

/// Starts a watchdog that stops the cluster in `dir` (which may not exist yet) and removes
/// the directory once this process is gone.
pub(super) fn watch(bin: &Path, run_as: RunAs, dir: &Path) -> Result<(), String> {
    let pg_ctl = bin.join("pg_ctl");
    let who = if matches!(run_as, RunAs::Me) { "me" } else { "root" };
    // The cleanup script also removes a lock and a state file, which a test's own cluster
    // does not have.
    let (lock, state) = (dir.join("unused.lock"), dir.join("unused.json"));
    let args =
        [pg_ctl.as_os_str(), who.as_ref(), dir.as_os_str(), lock.as_os_str(), state.as_os_str()];
    watchdog::spawn(std::process::id(), CLEANUP, &args)
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        stop(&self.bin, self.run_as, &self.dir);
        remove_dir(&self.dir);
    }
}
