//! [`Writer`]: a new formae agent database (SQLite or PostgreSQL, the new schema as the
//! agent's migrations 00001 to 00005 leave it, goose's `db_version` at 5) holding commands
//! as the agent's own store writes them, for moving back to a formae agent. Both dialects
//! write the columns of [`columns`](super::columns), each value in its dialect's form.

mod postgres;
mod sqlite;

use persister_core::FormaCommand;

use super::FormaeError;
use super::columns::unkept;
use postgres::PgWriter;
use sqlite::SqliteWriter;

/// A formae database being written.
#[derive(Debug)]
pub(crate) enum Writer {
    /// SQLite (rusqlite; its calls block briefly, one transaction at a time).
    Sqlite(SqliteWriter),
    /// PostgreSQL (sqlx, one connection).
    Postgres(PgWriter),
}

impl Writer {
    /// Creates the new schema at `url`: `sqlite:PATH`, a file that does not exist yet, or
    /// `postgres://...`, a database whose current schema holds no table. Anything else could
    /// be a running agent's database, and is refused.
    ///
    /// # Errors
    /// [`FormaeError::NotEmpty`] for an existing file or a database holding tables;
    /// [`FormaeError::Open`] for an unknown scheme, a file that cannot be created or a server
    /// that cannot be reached; [`FormaeError::Write`] when creating the schema fails.
    pub(crate) async fn create(url: &str) -> Result<Self, FormaeError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let writer = PgWriter::create(url, persister_postgres::redact_url(url)).await?;
            return Ok(Self::Postgres(writer));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            let writer =
                SqliteWriter::create(std::path::Path::new(path), format!("sqlite:{path}"))?;
            return Ok(Self::Sqlite(writer));
        }
        Err(FormaeError::Open {
            db: persister_postgres::redact_url(url),
            reason: "use sqlite:PATH or postgres://user:pass@host:port/db".into(),
        })
    }

    /// Writes `commands` in one transaction; returns, per command, what the new schema has no
    /// place for.
    ///
    /// # Errors
    /// [`FormaeError::Unencodable`] for a value that cannot be encoded, and
    /// [`FormaeError::Write`] when a write fails; the transaction is rolled back either way.
    pub(crate) async fn write(
        &mut self,
        commands: &[FormaCommand],
    ) -> Result<Vec<(String, String)>, FormaeError> {
        match self {
            Self::Sqlite(w) => w.write(commands)?,
            Self::Postgres(w) => w.write(commands).await?,
        }
        Ok(commands.iter().filter_map(|c| unkept(c).map(|what| (c.id.clone(), what))).collect())
    }

    /// Closes the database once everything is written.
    ///
    /// # Errors
    /// [`FormaeError::Write`] when the connection does not close cleanly.
    pub(crate) async fn close(self) -> Result<(), FormaeError> {
        match self {
            Self::Sqlite(w) => w.close(),
            Self::Postgres(w) => w.close().await,
        }
    }
}
