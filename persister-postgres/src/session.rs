//! [`Session`]: how every operation's transaction starts and how its statements are sent.
//!
//! This is the one place that knows the per-connection settings of a [`PgConfig`]: the schema
//! that holds the tables (`search_path`), the statement timeout, read-only mode, and whether a
//! transaction-mode pooler sits in front. None of them is session state on the server: each
//! is sent with `SET LOCAL` in the same simple query as the transaction's `BEGIN` (one round
//! trip, as a bare `BEGIN`), so they hold for exactly that transaction on whatever server
//! connection a pooler lends it. Every operation of the store is one transaction, reads
//! included, so no statement runs outside one.
//!
//! Behind a pooler, statements are also sent unnamed (`persistent(false)`): a named prepared
//! statement lives on one server connection, and the pooler may lend the next transaction
//! another one. An unnamed statement is parsed and executed within one transaction.

use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::query::{Query, QueryScalar};
use sqlx::{AssertSqlSafe, Decode, Postgres, SqlSafeStr, SqlStr, Transaction, Type};

use crate::config::PgConfig;

/// The start of every transaction of one store, and how its statements are sent.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// `BEGIN` (read-write, or read-only for a read-only store) and the `SET LOCAL`s.
    begin: SqlStr,
    /// `BEGIN` of a consistent read (`REPEATABLE READ READ ONLY`) and the `SET LOCAL`s.
    begin_snapshot: SqlStr,
    /// Whether statements are prepared by name and cached on the connection (not behind a
    /// pooler).
    persistent: bool,
}

impl Session {
    /// The session of a store opened with `config`.
    pub(crate) fn new(config: &PgConfig) -> Self {
        let settings = settings(config);
        let begin = if config.read_only { "BEGIN READ ONLY" } else { "BEGIN" };
        let statement = |begin: &str| AssertSqlSafe(format!("{begin}{settings}")).into_sql_str();
        Self {
            begin: statement(begin),
            begin_snapshot: statement("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
            persistent: !config.pooler,
        }
    }

    /// Starts a transaction for a write (or a read that needs no snapshot).
    ///
    /// # Errors
    /// The pool's or the server's error.
    pub(crate) async fn begin(
        &self,
        pool: &PgPool,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        pool.begin_with(self.begin.clone()).await
    }

    /// Starts a read-only transaction whose statements all see one snapshot.
    ///
    /// # Errors
    /// The pool's or the server's error.
    pub(crate) async fn begin_snapshot(
        &self,
        pool: &PgPool,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        pool.begin_with(self.begin_snapshot.clone()).await
    }

    /// A statement of this crate (`sql` is a literal of its source, never input), sent as this
    /// session sends them.
    pub(crate) fn query(&self, sql: impl SqlSafeStr) -> Query<'static, Postgres, PgArguments> {
        sqlx::query(sql).persistent(self.persistent)
    }

    /// A statement returning one column, sent as [`query`](Self::query) sends it.
    pub(crate) fn query_scalar<O>(
        &self,
        sql: impl SqlSafeStr,
    ) -> QueryScalar<'static, Postgres, O, PgArguments>
    where
        (O,): for<'r> sqlx::FromRow<'r, PgRow>,
        O: for<'r> Decode<'r, Postgres> + Type<Postgres>,
    {
        sqlx::query_scalar(sql).persistent(self.persistent)
    }

    /// A statement returning rows as tuples, sent as [`query`](Self::query) sends it.
    pub(crate) fn query_as<O>(
        &self,
        sql: impl SqlSafeStr,
    ) -> sqlx::query::QueryAs<'static, Postgres, O, PgArguments>
    where
        O: for<'r> sqlx::FromRow<'r, PgRow>,
    {
        sqlx::query_as(sql).persistent(self.persistent)
    }

    /// A statement built with a `QueryBuilder`, sent as [`query`](Self::query) sends it.
    pub(crate) fn built<'q>(
        &self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        query.persistent(self.persistent)
    }
}

/// The `SET LOCAL` statements of `config`, each preceded by `; `, or nothing.
fn settings(config: &PgConfig) -> String {
    let mut out = String::new();
    if let Some(schema) = &config.schema {
        out.push_str("; SET LOCAL search_path TO ");
        out.push_str(&quote_identifier(schema));
    }
    if let Some(timeout) = config.statement_timeout {
        // The server reads an integer number of milliseconds; 0 would mean "no limit".
        let millis = timeout.as_millis().clamp(1, i32::MAX.unsigned_abs().into());
        out.push_str(&format!("; SET LOCAL statement_timeout = {millis}"));
    }
    out
}

/// `name` as a quoted SQL identifier: in double quotes, with every double quote doubled, so
/// any name (spaces, capitals, quotes) is taken literally.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn settings_are_sent_with_begin() {
        let plain = Session::new(&PgConfig::from_url("postgres://u@h/db"));
        assert_eq!(plain.begin.as_str(), "BEGIN");
        assert!(plain.persistent);
        let config = PgConfig::from_url("postgres://u@h/db")
            .schema("forma \"x\"")
            .statement_timeout(Duration::from_millis(1500))
            .pooler(true)
            .read_only(true);
        let session = Session::new(&config);
        assert_eq!(
            session.begin.as_str(),
            "BEGIN READ ONLY; SET LOCAL search_path TO \"forma \"\"x\"\"\"; \
             SET LOCAL statement_timeout = 1500"
        );
        assert!(session.begin_snapshot.as_str().starts_with("BEGIN ISOLATION LEVEL REPEATABLE"));
        assert!(session.begin_snapshot.as_str().ends_with("statement_timeout = 1500"));
        assert!(!session.persistent);
    }
}
