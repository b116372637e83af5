//! The private error type of this crate and the one place where SQLite errors become
//! [`StoreError`].

use persister_core::{BoxError, StoreError};
use rusqlite::ErrorCode;

/// The name of this backend in [`StoreError::Backend`].
pub(crate) const BACKEND: &str = "sqlite";

/// The longest string or blob the bundled SQLite stores (`SQLITE_MAX_LENGTH`, in bytes).
pub(crate) const SQLITE_MAX_LENGTH: usize = 1_000_000_000;

/// Everything that can go wrong inside this crate; converted to [`StoreError`] by the
/// `From` impl below and nowhere else.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A SQLite call failed.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// A SQLite call failed while writing a command whose largest value is known.
    #[error("command {id}: {source}")]
    InCommand {
        /// The command id.
        id: String,
        /// The name and size in bytes of the largest value written.
        largest: (String, usize),
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// An outcome the store decided itself (not found, conflict, corrupt row, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker thread has stopped, so the connection is gone.
    #[error("the sqlite worker thread has stopped; the store can no longer be used")]
    WorkerGone,
    /// The worker thread could not be started.
    #[error("cannot start the sqlite worker thread: {0}")]
    Spawn(#[source] std::io::Error),
}

impl Error {
    /// Attaches the command being written, so that `SQLITE_TOOBIG` can name it.
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
            Error::Sql(source) => from_sqlite(source, None),
            Error::InCommand { id, largest, source } => from_sqlite(source, Some((id, largest))),
            Error::Store(error) => error,
            error @ (Error::WorkerGone | Error::Spawn(_)) => backend(false, error.into()),
        }
    }
}

/// Maps a SQLite error: busy and locked are transient, a value too big for SQLite is
/// [`StoreError::TooLarge`] when the command is known, and everything else is permanent.
fn from_sqlite(source: rusqlite::Error, command: Option<(String, (String, usize))>) -> StoreError {
    match (source.sqlite_error_code(), command) {
        (Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked), _) => {
            backend(true, source.into())
        }
        (Some(ErrorCode::TooBig), Some((id, (what, size)))) => {
            StoreError::TooLarge { id, what, size, limit: SQLITE_MAX_LENGTH }
        }
        _ => backend(false, source.into()),
    }
}

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

#[cfg(test)]
mod tests {
    use rusqlite::ffi;

    use super::*;

    fn sqlite(code: i32) -> Error {
        Error::Sql(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None))
    }

    /// What a mapped error must satisfy.
    type Expect = fn(&StoreError) -> bool;

    fn check(error: Error, expected: Expect) {
        let mapped = StoreError::from(error);
        assert!(expected(&mapped), "unexpected mapping: {mapped:?}");
    }

    #[test]
    fn sqlite_errors_map_to_store_errors() {
        let big = || (String::from("body"), 7);

        let cases: Vec<(Error, Expect)> = vec![
            (sqlite(ffi::SQLITE_BUSY), |e| e.is_transient()),
            (sqlite(ffi::SQLITE_BUSY_SNAPSHOT), |e| e.is_transient()),
            (sqlite(ffi::SQLITE_LOCKED), |e| e.is_transient()),
            (sqlite(ffi::SQLITE_IOERR), |e| {
                matches!(e, StoreError::Backend { backend: "sqlite", transient: false, .. })
            }),
            (sqlite(ffi::SQLITE_TOOBIG), |e| {
                matches!(e, StoreError::Backend { transient: false, .. })
            }),
            (sqlite(ffi::SQLITE_TOOBIG).in_command("c1", big), |e| {
                matches!(e, StoreError::TooLarge { id, what, size: 7, limit: SQLITE_MAX_LENGTH }
                    if id == "c1" && what == "body")
            }),
            (sqlite(ffi::SQLITE_BUSY).in_command("c1", big), |e| e.is_transient()),
            (Error::WorkerGone, |e| matches!(e, StoreError::Backend { transient: false, .. })),
            (Error::Store(StoreError::NotFound { id: "c1".into() }).in_command("c1", big), |e| {
                matches!(e, StoreError::NotFound { .. })
            }),
        ];
        for (error, expected) in cases {
            check(error, expected);
        }
    }
}
