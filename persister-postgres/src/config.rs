//! [`PgConfig`]: which server a [`PgStore`](crate::PgStore) connects to, and its pool.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// How many connections the pool opens at most, unless configured.
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How long getting a connection (including connecting) may take, unless configured.
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a [`PgStore`](crate::PgStore) connects to PostgreSQL.
///
/// Built from a connection URL; the pool holds at most 10 connections, getting one (connecting
/// included) times out after 5 seconds, and statements have no time limit unless
/// [`statement_timeout`](Self::statement_timeout) sets one.
///
/// `Debug` hides the password of the URL.
///
/// ```
/// use std::time::Duration;
/// use persister_postgres::PgConfig;
///
/// let config = PgConfig::from_url("postgres://forma:secret@db.internal:5432/forma")
///     .max_connections(20)
///     .statement_timeout(Duration::from_secs(30));
/// assert_eq!(config.max_connections, 20);
/// assert!(!format!("{config:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgConfig {
    /// The connection URL, `postgres://user:password@host:port/database?options`.
    pub url: String,
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// How long getting a connection from the pool may take, connecting included, before the
    /// operation fails with a transient error.
    pub acquire_timeout: Duration,
    /// The server-side limit on each statement's run time (`statement_timeout`), if any.
    pub statement_timeout: Option<Duration>,
    /// Open read-only sessions (`default_transaction_read_only=on`) and never migrate.
    /// Default off.
    pub read_only: bool,
}

impl PgConfig {
    /// A configuration for the server and database named by `url`, with the defaults.
    pub fn from_url(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: None,
            read_only: false,
        }
    }

    /// Sets the most connections the pool opens (at least 1).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets how long getting a connection, connecting included, may take.
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets the server-side limit on each statement's run time.
    #[must_use]
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// Opens read-only sessions, or not (the default).
    ///
    /// A read-only store runs every session with `default_transaction_read_only=on`, never
    /// migrates, and refuses a database whose schema is older
    /// ([`StoreError::SchemaTooOld`](persister_core::StoreError::SchemaTooOld)) or newer than
    /// this build's; its writes fail with a permanent backend error (SQLSTATE 25006). It
    /// suits a role with only `SELECT` rights, or a hot standby.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The connect options: the URL plus the statement timeout and read-only mode as startup
    /// parameters.
    pub(crate) fn connect_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        let mut options = PgConnectOptions::from_str(&self.url)?;
        if self.read_only {
            options = options.options([("default_transaction_read_only", "on")]);
        }
        Ok(match self.statement_timeout {
            // The server reads an integer number of milliseconds; 0 would mean "no limit".
            Some(timeout) => options.options([(
                "statement_timeout",
                timeout.as_millis().clamp(1, i32::MAX.unsigned_abs().into()).to_string(),
            )]),
            None => options,
        })
    }

    /// The pool options.
    pub(crate) fn pool_options(&self) -> PgPoolOptions {
        // No ping before every checkout: it costs a round trip per message. A connection broken
        // by a server restart fails its next use with a transient error and is discarded; the
        // retry gets a fresh connection.
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .test_before_acquire(false)
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// `url` with the password of its user info and any `password=` query parameter replaced by
/// `***`.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let authority = match authority.rsplit_once('@') {
                Some((user_info, host)) => match user_info.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => authority.to_owned(),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => param.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let cases = [
            ("postgres://u:pw@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://u:p@ss@h/db?sslmode=disable", "postgres://u:***@h/db?sslmode=disable"),
            ("postgres:///db?user=u&password=pw", "postgres:///db?user=u&password=***"),
            ("postgres://h", "postgres://h"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected, "{url}");
        }
    }

    #[test]
    fn statement_timeout_becomes_a_startup_option() {
        let config = PgConfig::from_url("postgres://u@localhost/db")
            .statement_timeout(Duration::from_millis(1500));
        let options = config.connect_options().expect("valid url");
        assert_eq!(options.get_options(), Some("-c statement_timeout=1500"));
        let read_only = config.read_only(true).connect_options().expect("valid url");
        assert_eq!(
            read_only.get_options(),
            Some("-c default_transaction_read_only=on -c statement_timeout=1500")
        );
        assert_eq!(
            PgConfig::from_url("postgres://u@localhost/db").max_connections(0).max_connections,
            1
        );
    }
}
