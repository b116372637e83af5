//! Error types: [`Error`] for the persister, [`StoreError`] for storage backends and
//! [`CodecError`] for JSON.

use std::error::Error as StdError;

/// A boxed error from a backend driver or another library.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Result alias for persister operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors returned by the persister.
///
/// Every variant but two means the message had no effect: the store is unchanged. The two are
/// [`Error::Timeout`] (the message may still be applied) and
/// [`StoreError::OutcomeUnknown`], returned only when the persister could not find out, by
/// reading the stored revisions again, whether a commit whose reply was lost took effect.
/// In every case the cache entry of the command, if any, was evicted, so that the next
/// message reloads the stored state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage backend failed or refused the write.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// No reply came within the call timeout; the message may still be applied later.
    #[error("no reply within {after:?}; the message may still be applied")]
    Timeout {
        /// The timeout.
        after: std::time::Duration,
    },
    /// The persister's task has stopped.
    #[error("the persister has shut down")]
    Shutdown,
    /// `finalize_incomplete` was called while some resource updates are not final.
    #[error("command {id} cannot be finalized: {not_final} resource updates are not final")]
    NotAllFinal {
        /// The command id.
        id: String,
        /// How many resource updates are not in a final state.
        not_final: usize,
    },
}

impl Error {
    /// True when retrying the same message later may succeed (for example a busy database).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(e) => e.is_transient(),
            Self::Timeout { .. } => true,
            Self::Codec(_) | Self::NotAllFinal { .. } | Self::Shutdown => false,
        }
    }

    /// True when the message may have taken effect although it failed: a timeout, or a lost
    /// commit whose outcome could not be found out ([`StoreError::OutcomeUnknown`]).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Store(StoreError::OutcomeUnknown { .. }))
    }

    /// True when the error says that the command does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Store(StoreError::NotFound { .. }))
    }
}

/// Errors returned by a [`CommandStore`](crate::CommandStore).
///
/// Backends map their driver errors into these variants in one place; callers never match on
/// SQL codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No command with this id exists.
    #[error("command {id} not found")]
    NotFound {
        /// The command id.
        id: String,
    },
    /// A command with this id already exists.
    #[error("command {id} already exists")]
    AlreadyExists {
        /// The command id.
        id: String,
    },
    /// The stored revision is not the one the writer last read: another writer changed the
    /// command in between.
    #[error(
        "command {id} was changed by another writer: expected revision {expected}, found {found}"
    )]
    Conflict {
        /// The command id.
        id: String,
        /// The revision the writer expected.
        expected: i64,
        /// The revision found in the store.
        found: i64,
    },
    /// Two resource updates of one command share a (KSUID, operation) key.
    #[error("command {id} has two resource updates with key ({ksuid}, {operation})")]
    DuplicateKey {
        /// The command id.
        id: String,
        /// The KSUID shared by both resource updates.
        ksuid: String,
        /// The operation shared by both resource updates.
        operation: String,
    },
    /// Stored data could not be read back.
    #[error("command {id} is corrupt in {field}: {source}")]
    Corrupt {
        /// The command id.
        id: String,
        /// Which column or element is corrupt.
        field: String,
        /// What is wrong with it.
        #[source]
        source: BoxError,
    },
    /// The database was written by a newer version of this software.
    #[error(
        "database schema version {found} is newer than the newest this build knows ({supported})"
    )]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build supports.
        supported: i64,
    },
    /// The database is older than this build, and the store may not migrate it (it was
    /// opened read-only).
    #[error(
        "database schema version {found} is older than this build's ({required}); open it \
         writable once to migrate it"
    )]
    SchemaTooOld {
        /// The version found in the database (0: no schema at all).
        found: i64,
        /// The version this build needs.
        required: i64,
    },
    /// The database holds tables under this crate's names that this crate did not create (a
    /// formae agent's database, say). Nothing was changed.
    #[error("table {table} was not created by forma-persister: {detail}")]
    ForeignSchema {
        /// The table.
        table: String,
        /// What gives it away (a missing schema version, a column that is not ours).
        detail: String,
    },
    /// A value is too large for the backend.
    #[error("command {id}: {what} is too large ({size} bytes, limit {limit})")]
    TooLarge {
        /// The command id.
        id: String,
        /// What is too large.
        what: String,
        /// Its size in bytes.
        size: usize,
        /// The backend's limit in bytes.
        limit: usize,
    },
    /// The store was closed with [`CommandStore::close`](crate::CommandStore::close); the
    /// operation was refused and nothing was written.
    #[error("the {backend} store is closed")]
    Closed {
        /// Which backend (`"sqlite"`, `"postgres"`, ...).
        backend: &'static str,
    },
    /// The write was sent to be committed and no answer came back (the connection broke
    /// after `COMMIT` was sent, say): it may or may not have taken effect, all of it or none
    /// of it (writes stay atomic). A caller may assume nothing else; reading the command's
    /// [`revision`](crate::CommandStore::revision) tells which, since a write that took
    /// effect moved it. [`Persister`](crate::Persister) does exactly that before it replies.
    #[error("{backend}: the outcome of the commit is unknown: {source}")]
    OutcomeUnknown {
        /// Which backend (`"postgres"`, ...).
        backend: &'static str,
        /// Why no answer came.
        #[source]
        source: BoxError,
    },
    /// Any other backend failure.
    #[error("{backend} error: {source}")]
    Backend {
        /// Which backend failed (`"sqlite"`, `"postgres"`, ...).
        backend: &'static str,
        /// Whether a retry may succeed (busy database, lost connection).
        transient: bool,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// True when retrying later may succeed: a busy or unreachable backend, or a conflict with
    /// another writer (the persister has evicted its stale entry, so a retry reloads and
    /// applies on top of the other writer's changes).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Backend { transient: true, .. } | Self::Conflict { .. })
    }

    /// True for [`StoreError::OutcomeUnknown`]: the write may have taken effect.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }
}

/// Errors from encoding or decoding JSON, or from hashing opaque values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes are not a valid encoding of the expected value.
    #[error("cannot decode {what}: {message}")]
    Decode {
        /// What was being decoded (for example `"resource update"`).
        what: &'static str,
        /// The decoder's message; it names the offending field.
        message: String,
    },
    /// The value cannot be encoded.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        message: String,
    },
    /// A JSON document does not have the shape that hashing needs.
    #[error("cannot hash opaque values in {what}: {message}")]
    Hash {
        /// Which document (for example `"Properties"`).
        what: &'static str,
        /// What is wrong with it.
        message: String,
    },
}
