//! [`PgConfig`]: which server a [`PgStore`](crate::PgStore) connects to, and its pool.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::hosts;

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
    /// Run every transaction read-only and never migrate. Default off.
    pub read_only: bool,
    /// A transaction-mode pooler (PgBouncer, pgcat, ...) sits in front: no named prepared
    /// statements, no session state. Default off.
    pub pooler: bool,
    /// Migrate the schema on connect. Default on; see [`PgConfig::migrate`].
    pub migrate: bool,
    /// The schema that holds the tables, instead of the first of the role's `search_path`.
    pub schema: Option<String>,
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
            pooler: false,
            migrate: true,
            schema: None,
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

    /// Opens a read-only store, or not (the default).
    ///
    /// A read-only store runs every transaction `READ ONLY`, never migrates, and refuses a
    /// database whose schema is older
    /// ([`StoreError::SchemaTooOld`](persister_core::StoreError::SchemaTooOld)) or newer than
    /// this build's; its writes fail with a permanent backend error before anything is sent.
    /// It suits a role with only `SELECT` rights, or a hot standby.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Says whether a pooler in transaction mode (PgBouncer's `pool_mode = transaction`, and
    /// the like) sits between the store and the server. Default off.
    ///
    /// Behind a pooler, consecutive transactions of one client connection may run on different
    /// server connections, so the store keeps nothing on the server connection: statements
    /// are sent unnamed instead of prepared by name and cached (which costs the server a
    /// parse per statement), and no startup parameter beyond user and database is sent. The
    /// settings ([`schema`](Self::schema), [`statement_timeout`](Self::statement_timeout),
    /// [`read_only`](Self::read_only)) are per transaction in every mode, so they hold behind
    /// a pooler too. Migrations take a transaction-scoped advisory lock, which a pooler keeps.
    #[must_use]
    pub fn pooler(mut self, pooler: bool) -> Self {
        self.pooler = pooler;
        self
    }

    /// Says whether [`PgStore::connect`](crate::PgStore::connect) migrates the schema (the
    /// default) or only checks it.
    ///
    /// With `false`, connect changes nothing and fails with
    /// [`StoreError::SchemaTooOld`](persister_core::StoreError::SchemaTooOld) unless the
    /// schema is this build's: migrations are then a separate step of the deployment, run with
    /// [`PgStore::migrate`](crate::PgStore::migrate) by a role that may change the schema,
    /// while the agents connect with one that may not.
    #[must_use]
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Places the tables in `schema` (created by the migration when missing) instead of the
    /// first schema of the role's `search_path`, so that they can live beside another
    /// application's tables in one database. The name is taken literally (quoted), so
    /// `Forma` and `forma` are two schemas.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The connect options of each host of the URL, in the URL's order (one for a plain URL;
    /// several for `postgres://h1:5432,h2:5432/db`, libpq's multi-host form).
    pub(crate) fn connect_options(&self) -> Result<Vec<PgConnectOptions>, sqlx::Error> {
        let urls = hosts::split(&self.url).map_err(|e| sqlx::Error::Configuration(e.into()))?;
        urls.iter()
            .map(|url| {
                let options = PgConnectOptions::from_str(url)?;
                // `extra_float_digits` is a startup parameter that PgBouncer refuses unless
                // told to ignore it; no column of this crate is a float.
                Ok(if self.pooler { options.extra_float_digits(None) } else { options })
            })
            .collect()
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
            .field("pooler", &self.pooler)
            .field("migrate", &self.migrate)
            .field("schema", &self.schema)
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
    fn settings_are_no_startup_parameters() {
        let config = PgConfig::from_url("postgres://u@localhost/db")
            .statement_timeout(Duration::from_millis(1500))
            .read_only(true);
        let options = config.connect_options().expect("valid url");
        assert_eq!(options.len(), 1);
        assert_eq!(options[0].get_options(), None, "sent with each BEGIN instead");
        assert_eq!(
            PgConfig::from_url("postgres://u@localhost/db").max_connections(0).max_connections,
            1
        );
    }

    #[test]
    fn each_host_of_a_multi_host_url_gets_its_options() {
        let config = PgConfig::from_url(
            "postgres://u:pw@h1:5433,h2/db?sslmode=disable&target_session_attrs=read-write",
        );
        let options = config.connect_options().expect("valid url");
        let hosts: Vec<(&str, u16)> =
            options.iter().map(|o| (o.get_host(), o.get_port())).collect();
        assert_eq!(hosts, [("h1", 5433), ("h2", 5432)]);
        assert!(options.iter().all(|o| o.get_database() == Some("db")));
    }
}
