//! The private error type of this crate and the one place where sqlx and PostgreSQL errors
//! become [`StoreError`].

use persister_core::{BoxError, StoreError};

/// The name of this backend in [`StoreError::Backend`].
pub(crate) const BACKEND: &str = "postgres";

/// The largest value PostgreSQL stores in one field, and the largest message it accepts
/// (`MaxAllocSize` minus one, in bytes).
pub(crate) const PG_MAX_LENGTH: usize = 0x3FFF_FFFE;

/// The primary key constraint of the header table, from `migrations/0001_init.sql`.
const HEADER_PRIMARY_KEY: &str = "forma_commands_pkey";

/// Everything that can go wrong inside this crate; converted to [`StoreError`] by the `From`
/// impl below and nowhere else.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A sqlx call failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A sqlx call failed while writing command `id`, whose largest value is known.
    #[error("command {id}: {source}")]
    InCommand {
        /// The command id.
        id: String,
        /// The name and size in bytes of the largest value written.
        largest: (String, usize),
        /// The sqlx error.
        source: sqlx::Error,
    },
    /// `COMMIT` failed: an answer from the server says it rolled back; anything else (a
    /// broken connection, a shutdown) leaves the outcome unknown.
    #[error("commit failed: {0}")]
    Commit(sqlx::Error),
    /// An outcome the store decided itself (not found, conflict, corrupt row, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// Attaches the command being written, so that a unique violation on the header's key can
    /// become [`StoreError::AlreadyExists`] and a program limit [`StoreError::TooLarge`].
    ///
    /// `largest` names the largest value written and its size; it is only called on error.
    pub(crate) fn in_command(self, id: &str, largest: impl FnOnce() -> (String, usize)) -> Self {
        match self {
            Self::Sql(source) => Self::InCommand { id: id.to_owned(), largest: largest(), source },
            other => other,
        }
    }
}

impl From<Error> for StoreError {
    fn from(error: Error) -> Self {
        match error {
            Error::Sql(source) => from_sqlx(source, None),
            Error::InCommand { id, largest, source } => from_sqlx(source, Some((id, largest))),
            Error::Commit(source) if commit_rolled_back(&source) => from_sqlx(source, None),
            Error::Commit(source) => {
                StoreError::OutcomeUnknown { backend: BACKEND, source: source.into() }
            }
            Error::Store(error) => error,
        }
    }
}

/// True when the error that `COMMIT` got is the server's answer that the transaction rolled
/// back (a serialization failure, a deferred constraint, ...). A lost connection, or a server
/// that shuts down or cuts the connection (classes 57 and 08), says nothing about the commit.
fn commit_rolled_back(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            !(code.starts_with("57") || code.starts_with("08"))
        }
        _ => false,
    }
}

/// What an error means to a caller.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    /// A retry may succeed: lost connection, serialization failure, deadlock, shutdown.
    Transient,
    /// A unique constraint was violated; the name of the constraint, when known.
    UniqueViolation(Option<String>),
    /// A value or statement exceeded a server limit (SQLSTATE 54000).
    ProgramLimit,
    /// Anything else: retrying the same call fails the same way.
    Permanent,
}

/// Classifies a sqlx error by its variant and, for database errors, its SQLSTATE.
fn classify(error: &sqlx::Error) -> Class {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Class::Transient,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.as_ref() {
                // serialization_failure, deadlock_detected, admin_shutdown, crash_shutdown,
                // cannot_connect_now, read_only_sql_transaction (a
                // demoted primary, or a standby reached by mistake), lock_not_available,
                // class 53 (insufficient resources: too many connections, out of memory or
                // disk, which an operator fixes without the caller) and class 08
                // (connection exception).
                "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "25006" | "55P03" => {
                    Class::Transient
                }
                code if code.starts_with("08") || code.starts_with("53") => Class::Transient,
                "23505" => Class::UniqueViolation(db.constraint().map(str::to_owned)),
                "54000" => Class::ProgramLimit,
                _ => Class::Permanent,
            }
        }
        _ => Class::Permanent,
    }
}

/// Maps a sqlx error; `command` is the id and the largest value of the command being written.
fn from_sqlx(source: sqlx::Error, command: Option<(String, (String, usize))>) -> StoreError {
    if matches!(source, sqlx::Error::PoolClosed) {
        // Only `PgStore::close` (or whoever shares the pool) closes it.
        return StoreError::Closed { backend: BACKEND };
    }
    match (classify(&source), command) {
        (Class::Transient, _) => backend(true, source.into()),
        (Class::UniqueViolation(Some(constraint)), Some((id, _)))
            if constraint == HEADER_PRIMARY_KEY =>
        {
            StoreError::AlreadyExists { id }
        }
        (Class::ProgramLimit, Some((id, (what, size)))) => {
            StoreError::TooLarge { id, what, size, limit: PG_MAX_LENGTH }
        }
        _ => backend(false, source.into()),
    }
}

/// A [`StoreError::Backend`] of this backend.
fn backend(transient: bool, source: BoxError) -> StoreError {
    StoreError::Backend { backend: BACKEND, transient, source }
}

/// A [`StoreError::Corrupt`] for `field` of command `id`.
pub(crate) fn corrupt(id: &str, field: impl Into<String>, source: impl Into<BoxError>) -> Error {
    Error::Store(StoreError::Corrupt {
        id: id.to_owned(),
        field: field.into(),
        source: source.into(),
    })
}

/// [`StoreError::TooLarge`] when the `size` bytes of `what` in command `id` exceed what
/// PostgreSQL accepts in one value or message; checked before sending, because the server
/// answers an oversized message by closing the connection, which would look transient.
pub(crate) fn check_size(
    id: &str,
    what: impl FnOnce() -> String,
    size: usize,
) -> Result<(), Error> {
    if size > PG_MAX_LENGTH {
        return Err(Error::Store(StoreError::TooLarge {
            id: id.to_owned(),
            what: what(),
            size,
            limit: PG_MAX_LENGTH,
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
