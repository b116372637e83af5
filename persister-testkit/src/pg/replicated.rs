//! A primary and a synchronous streaming standby from the local binaries, owned by one test,
//! for failover: the test may kill the primary and promote the standby.
//!
//! The standby is a `pg_basebackup -R` copy of the primary, streaming from it; once it
//! streams, the primary is told (`ALTER SYSTEM`, after the copy, so the standby does not
//! inherit it) that every commit waits for the standby to flush it
//! (`synchronous_standby_names = '*'`, `synchronous_commit = on`): a commit the primary
//! acknowledged is on the standby. Dropping the pair stops both servers and removes their
//! directories; a watchdog does the same if the test process dies first.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::cluster::{command, free_port, remove_dir, run, shell_quote, stop, url};
use super::own_cluster::{self, OwnCluster};

/// How long the standby may take to stream synchronously after it was started.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// A primary and its synchronous streaming standby, owned by one test: the standby is a
/// `pg_basebackup -R` copy that streams from the primary, and every commit the primary
/// acknowledges waits until the standby flushed it. Dropping it stops both servers and
/// removes their directories; a watchdog does the same if the test process dies first.
#[derive(Debug)]
pub struct Replicated {
    primary: OwnCluster,
    standby_dir: PathBuf,
    standby_port: u16,
}

impl Replicated {
    /// Starts a primary, copies it to a standby, starts the standby and waits until the
    /// primary replicates to it synchronously (blocking: call it from `spawn_blocking`).
    ///
    /// # Errors
    /// Why a step failed, with the tool's output.
    pub fn start() -> Result<Self, String> {
        let primary = OwnCluster::start()?;
        let standby_dir = primary.dir.with_file_name(format!(
            "{}-standby",
            primary.dir.file_name().and_then(|n| n.to_str()).unwrap_or("persister-pg")
        ));
        let (bin, run_as) = (primary.bin.clone(), primary.run_as);
        own_cluster::watch(&bin, run_as, &standby_dir)?;
        let mut copy = command(&bin, "pg_basebackup", run_as);
        copy.args(["-h", "127.0.0.1", "-p", &primary.port.to_string(), "-U", "postgres"])
            .arg("-D")
            .arg(&standby_dir)
            .args(["-R", "-X", "stream", "--no-sync"]);
        run(&mut copy, "pg_basebackup")?;
        let pair = Self { primary, standby_dir, standby_port: free_port()? };
        pair.start_standby()?;
        pair.primary_sql("ALTER SYSTEM SET synchronous_standby_names = '*'")?;
        pair.primary_sql("SELECT pg_reload_conf()")?;
        let started = Instant::now();
        while pair.primary_sql("SELECT sync_state FROM pg_stat_replication")?.trim() != "sync" {
            if started.elapsed() > SYNC_TIMEOUT {
                return Err("the standby did not replicate synchronously within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(pair)
    }

    /// The URL of the primary's `postgres` database.
    pub fn primary_url(&self) -> String {
        self.primary.url()
    }

    /// The URL of the standby's `postgres` database.
    pub fn standby_url(&self) -> String {
        url(self.standby_port)
    }

    /// A URL naming both servers, primary first: `postgres://postgres@127.0.0.1:P,127.0.0.1:S/DB`.
    pub fn both_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/{database}",
            self.primary.port, self.standby_port
        )
    }

    /// Kills the primary's postmaster and every process it started with SIGKILL, as a crash
    /// of its machine would: nothing is flushed or shut down cleanly.
    ///
    /// # Errors
    /// When its pid cannot be read or `kill` fails.
    pub fn kill_primary(&self) -> Result<(), String> {
        let pid_file = self.primary.dir.join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file)
            .map_err(|e| format!("cannot read {}: {e}", pid_file.display()))?;
        let pid = text.lines().next().unwrap_or_default().trim().to_owned();
        // The children first (they would notice the postmaster's death and exit anyway, but
        // not at once), then the postmaster.
        let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
        run(Command::new("kill").args(["-KILL", &pid]), "kill")
    }

    /// Promotes the standby to primary, waiting until it accepts writes.
    ///
    /// # Errors
    /// pg_ctl's failure.
    pub fn promote(&self) -> Result<(), String> {
        let mut cmd = command(&self.primary.bin, "pg_ctl", self.primary.run_as);
        run(cmd.arg("-D").arg(&self.standby_dir).args(["-w", "-t", "60", "promote"]), "promote")
    }

    /// Starts the standby server on its port.
    fn start_standby(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.standby_port,
            shell_quote(&self.standby_dir.to_string_lossy())
        );
        let mut cmd = command(&self.primary.bin, "pg_ctl", self.primary.run_as);
        cmd.arg("-D")
            .arg(&self.standby_dir)
            .arg("-l")
            .arg(self.standby_dir.join("server.log"))
            .arg("-o")
            .arg(options);
        run(cmd.args(["-w", "-t", "60", "start"]), "pg_ctl start (standby)")
    }

    /// Runs `sql` on the primary with `psql` and returns what it printed (unaligned, no
    /// headers).
    fn primary_sql(&self, sql: &str) -> Result<String, String> {
        let mut cmd = command(&self.primary.bin, "psql", self.primary.run_as);
        cmd.args(["-h", "127.0.0.1", "-p", &self.primary.port.to_string(), "-U", "postgres"])
            .args(["-d", "postgres", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        let out = cmd.output().map_err(|e| format!("cannot run psql: {e}"))?;
        if !out.status.success() {
            return Err(format!("psql failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Replicated {
    fn drop(&mut self) {
        stop(&self.primary.bin, self.primary.run_as, &self.standby_dir);
        remove_dir(&self.standby_dir);
    }
}
