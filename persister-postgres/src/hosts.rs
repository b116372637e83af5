//! Several servers in one URL, libpq's multi-host form `postgres://h1:5432,h2:5432/db`:
//! [`split`] gives one URL per host, and [`Hosts`] points the pool at the one that accepts
//! writes, again after a failover.
//!
//! Like libpq with `target_session_attrs=read-write`, a host accepts writes when it is not in
//! recovery and its transactions are not read-only by default. The hosts are tried in the
//! URL's order. A store opened read-only takes the first host that answers.
//!
//! When an operation fails with a transient error (the primary went away, or was demoted),
//! the store calls [`Hosts::repoint`]: it asks the hosts again (every 50 ms while none accepts
//! writes, for up to the acquire timeout) and, when another one accepts writes, gives the
//! pool that host's options and marks every connection opened before
//! as stale, so that the pool drops them instead of lending them out ([`Hosts::is_stale`]).
//! The caller's retry then connects to the new primary: nothing restarts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{ConnectOptions, Connection, Row};

/// The query parameter of libpq's multi-host URLs that chooses the kind of server; the store
/// always chooses itself (read-write, or any for a read-only store), so it is dropped.
const TARGET_PARAM: &str = "target_session_attrs";

/// How long to wait before asking the hosts again while none accepts writes (a standby
/// being promoted).
const PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// One URL per host of `url`, in its order, each with the same user, database and
/// parameters (`target_session_attrs` removed).
///
/// # Errors
/// When a host of the list is empty.
pub(crate) fn split(url: &str) -> Result<Vec<String>, String> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (user_info, host_list) = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => (format!("{user_info}@"), hosts),
        None => (String::new(), authority),
    };
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(TARGET_PARAM))
        .collect();
    let query = if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) };
    let prefix = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    host_list
        .split(',')
        .map(|host| {
            if host.is_empty() && host_list.contains(',') {
                return Err(format!("an empty host in the host list `{host_list}`"));
            }
            Ok(format!("{prefix}{user_info}{host}{path}{query}"))
        })
        .collect()
}

/// The hosts of a store and which of them the pool connects to.
#[derive(Debug)]
pub(crate) struct Hosts {
    /// Each host's connect options, in the URL's order.
    options: Vec<PgConnectOptions>,
    /// Look for a host that accepts writes (else any host that answers).
    writable: bool,
    /// How long asking one host may take.
    timeout: Duration,
    /// Which host the pool connects to, and since when.
    current: Mutex<(usize, Instant)>,
    /// True while a [`repoint`](Self::repoint) asks the hosts; others do not ask again.
    probing: AtomicBool,
}

impl Hosts {
    /// The hosts of `options` (at least one), asked with `timeout` each.
    pub(crate) fn new(options: Vec<PgConnectOptions>, writable: bool, timeout: Duration) -> Self {
        Self {
            options,
            writable,
            timeout,
            current: Mutex::new((0, Instant::now())),
            probing: AtomicBool::new(false),
        }
    }

    /// The options of the host to connect to first: with one host, that host; with several,
    /// the first that accepts writes (or answers, for a read-only store).
    ///
    /// # Errors
    /// With several hosts and none suitable, the last host's answer, naming every host.
    pub(crate) async fn first(&self) -> Result<PgConnectOptions, sqlx::Error> {
        if self.options.len() > 1 {
            let index = self.find().await?;
            self.set_current(index);
        }
        Ok(self.options[self.index()].clone())
    }

    /// After a transient error: asks the hosts again, in the background, until one accepts
    /// writes or the acquire timeout has passed, and points `pool` at it if it is another
    /// host. Does nothing with one host, or while an earlier call is still asking.
    ///
    /// The pool keeps retrying a connect that fails (with backoff, until its acquire
    /// timeout) and reads its connect options again at each attempt, so an operation already
    /// waiting for a connection reaches the new primary as soon as it is found.
    pub(crate) fn repoint(self: &Arc<Self>, pool: &PgPool) {
        if self.options.len() < 2 || self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (hosts, pool) = (Arc::clone(self), pool.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            loop {
                match hosts.find().await {
                    Ok(index) => {
                        if index != hosts.index() {
                            pool.set_connect_options(hosts.options[index].clone());
                            hosts.set_current(index);
                            metrics::counter!("persister_failovers_total").increment(1);
                        }
                        break;
                    }
                    Err(_) if started.elapsed() < hosts.timeout => {
                        tokio::time::sleep(PROBE_INTERVAL).await;
                    }
                    Err(_) => break,
                }
            }
            hosts.probing.store(false, Ordering::Release);
        });
    }

    /// True for a connection of this age when it was opened before the pool was last pointed
    /// at another host.
    pub(crate) fn is_stale(&self, age: Duration) -> bool {
        let switched = self.current.lock().map_or_else(|e| e.into_inner().1, |c| c.1);
        Instant::now().checked_sub(age).is_some_and(|opened| opened < switched)
    }

    fn index(&self) -> usize {
        self.current.lock().map_or_else(|e| e.into_inner().0, |c| c.0)
    }

    fn set_current(&self, index: usize) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *current = (index, Instant::now());
    }

    /// The first host, in order, that suits.
    async fn find(&self) -> Result<usize, sqlx::Error> {
        let mut answers = Vec::with_capacity(self.options.len());
        for (index, options) in self.options.iter().enumerate() {
            let name = format!("{}:{}", options.get_host(), options.get_port());
            match tokio::time::timeout(self.timeout, accepts_writes(options)).await {
                Ok(Ok(read_only)) if !read_only || !self.writable => return Ok(index),
                Ok(Ok(_)) => answers.push(format!("{name} is read-only (a standby?)")),
                Ok(Err(e)) => answers.push(format!("{name}: {e}")),
                Err(_) => answers.push(format!("{name}: no answer within {:?}", self.timeout)),
            }
        }
        let wanted = if self.writable { "accepts writes" } else { "answers" };
        let message = format!("no host {wanted}: {}", answers.join("; "));
        Err(sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::NotConnected, message)))
    }
}

/// Connects to one host and asks whether it is read-only (in recovery, or read-only by
/// default), as libpq's `target_session_attrs=read-write` does.
async fn accepts_writes(options: &PgConnectOptions) -> Result<bool, sqlx::Error> {
    let mut conn = options.connect().await?;
    let row = sqlx::raw_sql(
        "SELECT (pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on')::text",
    )
    .fetch_one(&mut conn)
    .await?;
    let read_only: String = row.try_get(0)?;
    conn.close().await?;
    Ok(read_only == "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_host_url_splits_into_one_url_per_host() {
        let cases: [(&str, &[&str]); 4] = [
            ("postgres://u@h/db", &["postgres://u@h/db"]),
            (
                "postgres://u:p@h1:1,h2:2/db?target_session_attrs=read-write&sslmode=disable",
                &[
                    "postgres://u:p@h1:1/db?sslmode=disable",
                    "postgres://u:p@h2:2/db?sslmode=disable",
                ],
            ),
            ("postgresql://h1,[::1]:5/db", &["postgresql://h1/db", "postgresql://[::1]:5/db"]),
            ("postgres://h1,h2?target_session_attrs=any", &["postgres://h1", "postgres://h2"]),
        ];
        for (url, expected) in cases {
            assert_eq!(split(url).expect("valid"), expected, "{url}");
        }
        assert!(split("postgres://h1,,h2/db").is_err());
    }
}
