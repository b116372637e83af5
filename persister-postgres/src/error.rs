//! The private error type of this crate and the one place where sqlx and PostgreSQL errors
//! become [`StoreError`].

use persister_core::{BoxError, StoreError};
use sqlx::migrate::MigrateError;

use crate::schema::supported_version;

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
    /// Running the embedded migrations failed.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
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
            Error::Migrate(MigrateError::VersionMissing(found)) if found > supported_version() => {
                StoreError::SchemaTooNew { found, supported: supported_version() }
            }
            Error::Migrate(error) => {
                let transient = match &error {
                    MigrateError::Execute(source) | MigrateError::ExecuteMigration(source, _) => {
                        classify(source) == Class::Transient
                    }
                    _ => false,
                };
                backend(transient, error.into())
            }
            Error::Store(error) => error,
        }
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
                // cannot_connect_now, and class 08 (connection exception).
                "40001" | "40P01" | "57P01" | "57P02" | "57P03" => Class::Transient,
                code if code.starts_with("08") => Class::Transient,
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
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;
    use std::fmt;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A database error with a chosen SQLSTATE and constraint.
    #[derive(Debug)]
    struct FakeDbError {
        code: &'static str,
        constraint: Option<&'static str>,
    }

    impl fmt::Display for FakeDbError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "fake error {}", self.code)
        }
    }

    impl StdError for FakeDbError {}

    impl DatabaseError for FakeDbError {
        fn message(&self) -> &str {
            "fake"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn constraint(&self) -> Option<&str> {
            self.constraint
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn db(code: &'static str) -> Error {
        Error::Sql(sqlx::Error::Database(Box::new(FakeDbError { code, constraint: None })))
    }

    fn unique(constraint: &'static str) -> Error {
        let error = FakeDbError { code: "23505", constraint: Some(constraint) };
        Error::Sql(sqlx::Error::Database(Box::new(error)))
    }

    /// What a mapped error must satisfy.
    type Expect = fn(&StoreError) -> bool;

    fn permanent(e: &StoreError) -> bool {
        matches!(e, StoreError::Backend { backend: "postgres", transient: false, .. })
    }

    #[test]
    fn sqlx_errors_map_to_store_errors() {
        let big = || (String::from("body"), 7);
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let cases: Vec<(Error, Expect)> = vec![
            (db("40001"), StoreError::is_transient),
            (db("40P01"), StoreError::is_transient),
            (db("08006"), StoreError::is_transient),
            (db("08P01"), StoreError::is_transient),
            (db("57P01"), StoreError::is_transient),
            (db("57P02"), StoreError::is_transient),
            (db("57P03"), StoreError::is_transient),
            (db("40001").in_command("c1", big), StoreError::is_transient),
            (Error::Sql(sqlx::Error::Io(io())), StoreError::is_transient),
            (Error::Sql(sqlx::Error::PoolTimedOut), StoreError::is_transient),
            (Error::Sql(sqlx::Error::PoolClosed), |e| {
                matches!(e, StoreError::Closed { backend: "postgres" }) && !e.is_transient()
            }),
            (Error::Sql(sqlx::Error::WorkerCrashed), StoreError::is_transient),
            (Error::Sql(sqlx::Error::Protocol("x".into())), StoreError::is_transient),
            (Error::Sql(sqlx::Error::Tls("x".into())), StoreError::is_transient),
            (db("22021"), permanent),
            (db("57014"), permanent),
            (Error::Sql(sqlx::Error::RowNotFound), permanent),
            (db("54000"), permanent),
            (db("54000").in_command("c1", big), |e| {
                matches!(e, StoreError::TooLarge { id, what, size: 7, limit: PG_MAX_LENGTH }
                    if id == "c1" && what == "body")
            }),
            (unique(HEADER_PRIMARY_KEY), permanent),
            (
                unique(HEADER_PRIMARY_KEY).in_command("c1", big),
                |e| matches!(e, StoreError::AlreadyExists { id } if id == "c1"),
            ),
            (unique("resource_updates_pkey").in_command("c1", big), permanent),
            (Error::Migrate(MigrateError::VersionMissing(supported_version() + 1)), |e| {
                matches!(e, StoreError::SchemaTooNew { found, supported }
                    if *found == supported_version() + 1 && *supported == supported_version())
            }),
            (Error::Migrate(MigrateError::VersionMismatch(1)), permanent),
            (
                Error::Migrate(MigrateError::Execute(sqlx::Error::PoolTimedOut)),
                StoreError::is_transient,
            ),
            (Error::Store(StoreError::NotFound { id: "c1".into() }).in_command("c1", big), |e| {
                matches!(e, StoreError::NotFound { .. })
            }),
        ];
        for (index, (error, expected)) in cases.into_iter().enumerate() {
            let mapped = StoreError::from(error);
            assert!(expected(&mapped), "case {index}: unexpected mapping: {mapped:?}");
        }
    }

    #[test]
    fn oversized_values_are_refused_before_sending() {
        assert!(check_size("c1", || "body".into(), PG_MAX_LENGTH).is_ok());
        let error = StoreError::from(
            check_size("c1", || "body".into(), PG_MAX_LENGTH + 1).expect_err("too large"),
        );
        assert!(matches!(error, StoreError::TooLarge { what, .. } if what == "body"));
    }
}
