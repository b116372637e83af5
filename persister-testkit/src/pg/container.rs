//! The second way to get a server: a `postgres` container started by testcontainers.
//!
//! The container lives as long as the process: it is kept in a static, and because statics are
//! never dropped, a watchdog removes it with `docker rm` once the process is gone (when the
//! `docker` command is installed; otherwise it stays until removed by hand).

use std::ffi::OsStr;
use std::sync::OnceLock;

use testcontainers::core::error::ClientError;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, TestcontainersError};
use testcontainers_modules::postgres::Postgres;

use super::watchdog;

/// The container of this process.
static CONTAINER: OnceLock<ContainerAsync<Postgres>> = OnceLock::new();

/// Starts the container and returns the URL of its `postgres` database.
///
/// # Errors
/// Why there is no container, one line: no Docker engine, or the engine failed.
pub(super) async fn start() -> Result<String, String> {
    let container = match Postgres::default().start().await {
        Ok(container) => container,
        Err(TestcontainersError::Client(ClientError::Init(e))) => {
            return Err(format!("no Docker engine ({e})"));
        }
        Err(e) => return Err(format!("the Docker engine could not start postgres: {e}")),
    };
    let host = container.get_host().await.map_err(|e| e.to_string())?;
    let port = container.get_host_port_ipv4(5432).await.map_err(|e| e.to_string())?;
    if which_docker() {
        let id = OsStr::new(container.id());
        // A failure leaves only the container behind; the tests can still use it.
        if let Err(e) = watchdog::spawn(std::process::id(), "docker rm -f -v \"$2\"", &[id]) {
            eprintln!("warning: the postgres container will outlive the tests: {e}");
        }
    }
    let url = format!("postgres://postgres:postgres@{host}:{port}/postgres");
    // `find_server` runs once per process, so the cell is empty here.
    let _ = CONTAINER.set(container);
    Ok(url)
}

/// True when the `docker` command is installed.
fn which_docker() -> bool {
    std::process::Command::new("docker")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
