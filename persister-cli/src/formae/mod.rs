//! Reading a formae agent's own database (SQLite or PostgreSQL), read-only: which schema it
//! has (the old one, a `data` JSON column per command, or the new one, columns and a
//! `resource_updates` table), and its commands in the Go agent's shape, with the storage
//! quirks of the reference's sections 4.2 and 4.3 handled.

mod build;
mod cell;
mod columns;
mod postgres;
mod restore;
mod sqlite;
mod write;

pub(crate) use build::Read;
pub(crate) use cell::{Cell, Row};
pub(crate) use write::Writer;

use crate::formae::postgres::PgReader;
use crate::formae::sqlite::SqliteReader;

/// The newest goose version this build reads (00005 dropped `data`).
pub(crate) const NEWEST_VERSION: i64 = 5;

/// The columns the new schema adds to `forma_commands` (migration 00004).
const NEW_COLUMNS: &[&str] = &["description_text", "config_mode", "target_updates", "modified_ts"];

/// Why a formae database cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FormaeError {
    /// It cannot be opened.
    #[error("cannot open the formae database {db}: {reason}")]
    Open {
        /// The database, its password redacted.
        db: String,
        /// Why.
        reason: String,
    },
    /// It lacks the agent's tables or columns.
    #[error("{db} is not a formae agent's database: {detail}")]
    NotFormae {
        /// The database, its password redacted.
        db: String,
        /// What is missing.
        detail: String,
    },
    /// Its goose version is one this build does not know.
    #[error(
        "the formae database {db} has schema version {found} (db_version); this build reads \
         versions 1 to {NEWEST_VERSION}"
    )]
    UnknownVersion {
        /// The database, its password redacted.
        db: String,
        /// The version found.
        found: i64,
    },
    /// A query failed.
    #[error("reading the formae database {db}: {reason}")]
    Query {
        /// The database, its password redacted.
        db: String,
        /// The driver's error.
        reason: String,
    },
    /// The database to write already holds something: it could be a running agent's.
    #[error(
        "the formae database {db} is not empty ({found}); export --to-formae writes only into \
         a new database, since one with tables could be a running agent's"
    )]
    NotEmpty {
        /// The database, its password redacted.
        db: String,
        /// What is there.
        found: String,
    },
    /// A write failed (the transaction was rolled back).
    #[error("writing the formae database {db}: {reason}")]
    Write {
        /// The database, its password redacted.
        db: String,
        /// The driver's error.
        reason: String,
    },
    /// A value of a command cannot be encoded for its column.
    #[error("command {id} cannot be written: column {column}: {source}")]
    Unencodable {
        /// The command id.
        id: String,
        /// The column (`forma_commands.target_updates`, `resource_updates (ksuid K, operation
        /// O).resource`, ...).
        column: String,
        /// The codec's error.
        source: persister_core::CodecError,
    },
}

/// Where a formae database keeps its commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Versions 1 to 3: the whole command in `forma_commands.data`.
    Old,
    /// Versions 4 and 5: columns, and one `resource_updates` row per resource update; at 4
    /// the old `data` may still be there, and is compared with the columns.
    New,
}

/// A formae database's schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The goose version.
    pub(crate) version: i64,
    /// Where the commands are.
    pub(crate) shape: Shape,
}

impl Layout {
    /// The layout of a database at goose `version` whose `forma_commands` has `columns`.
    ///
    /// # Errors
    /// [`FormaeError::UnknownVersion`] outside 1 to [`NEWEST_VERSION`];
    /// [`FormaeError::NotFormae`] when a column or table the version implies is missing.
    pub(crate) fn detect(
        db: &str,
        version: i64,
        columns: &[String],
        has_resource_updates: bool,
    ) -> Result<Self, FormaeError> {
        if !(1..=NEWEST_VERSION).contains(&version) {
            return Err(FormaeError::UnknownVersion { db: db.to_owned(), found: version });
        }
        let missing = |wanted: &[&str]| {
            wanted.iter().find(|w| !columns.iter().any(|c| c == *w)).map(|w| (*w).to_owned())
        };
        let not_formae = |detail: String| FormaeError::NotFormae { db: db.to_owned(), detail };
        if version <= 3 {
            if let Some(column) = missing(&["command_id", "data"]) {
                return Err(not_formae(format!(
                    "schema version {version} but forma_commands has no column {column}"
                )));
            }
            return Ok(Self { version, shape: Shape::Old });
        }
        if let Some(column) = missing(NEW_COLUMNS) {
            return Err(not_formae(format!(
                "schema version {version} but forma_commands has no column {column}"
            )));
        }
        if !has_resource_updates {
            return Err(not_formae(format!("schema version {version} but no resource_updates")));
        }
        Ok(Self { version, shape: Shape::New })
    }
}

/// An open formae database.
#[derive(Debug)]
pub(crate) enum Reader {
    /// SQLite (rusqlite, read-only; its calls block briefly, one page at a time).
    Sqlite(SqliteReader),
    /// PostgreSQL (sqlx, one read-only session).
    Postgres(PgReader),
}

impl Reader {
    /// Opens `url` (`sqlite:PATH` or `postgres://...`) read-only.
    ///
    /// # Errors
    /// [`FormaeError::Open`] for a missing file, an unreachable server or an unknown scheme.
    pub(crate) async fn open(url: &str) -> Result<Self, FormaeError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let reader = PgReader::open(url, persister_postgres::redact_url(url)).await?;
            return Ok(Self::Postgres(reader));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            let reader = SqliteReader::open(std::path::Path::new(path), format!("sqlite:{path}"))?;
            return Ok(Self::Sqlite(reader));
        }
        Err(FormaeError::Open {
            db: persister_postgres::redact_url(url),
            reason: "use sqlite:PATH or postgres://user:pass@host:port/db".into(),
        })
    }

    /// The database's schema.
    ///
    /// # Errors
    /// As [`SqliteReader::layout`].
    pub(crate) async fn layout(&self) -> Result<Layout, FormaeError> {
        match self {
            Self::Sqlite(r) => r.layout(),
            Self::Postgres(r) => r.layout().await,
        }
    }

    /// At most `limit` `forma_commands` rows after id `after`, by id.
    ///
    /// # Errors
    /// [`FormaeError::Query`].
    pub(crate) async fn commands(&self, after: &str, limit: u32) -> Result<Vec<Row>, FormaeError> {
        match self {
            Self::Sqlite(r) => r.commands(after, limit),
            Self::Postgres(r) => r.commands(after, limit).await,
        }
    }

    /// The `resource_updates` rows of command `id`.
    ///
    /// # Errors
    /// [`FormaeError::Query`].
    pub(crate) async fn resource_updates(&self, id: &str) -> Result<Vec<Row>, FormaeError> {
        match self {
            Self::Sqlite(r) => r.resource_updates(id),
            Self::Postgres(r) => r.resource_updates(id).await,
        }
    }

    /// Reads the command of `header` (and its resource updates in the new schema), and the
    /// bytes its rows hold.
    ///
    /// # Errors
    /// [`FormaeError::Query`]; a column that cannot be read is the inner error.
    pub(crate) async fn read(
        &self,
        layout: Layout,
        header: &Row,
        id: &str,
    ) -> Result<(Result<Read, cell::ColumnError>, u64), FormaeError> {
        Ok(match layout.shape {
            Shape::Old => (build::from_data(header), row_bytes(header)),
            Shape::New => {
                let rows = self.resource_updates(id).await?;
                let size = row_bytes(header) + rows.iter().map(row_bytes).sum::<u64>();
                (build::from_columns(header, &rows), size)
            }
        })
    }
}

/// The id of a `forma_commands` row, as well as it can be read (for paging and messages).
pub(crate) fn row_id(row: &Row) -> String {
    match row.get("command_id") {
        Some(Cell::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(Cell::Int(i)) => i.to_string(),
        _ => String::new(),
    }
}

/// The bytes a row holds, for bounding batches.
pub(crate) fn row_bytes(row: &Row) -> u64 {
    row.values().map(|c| if let Cell::Bytes(b) = c { b.len() as u64 } else { 8 }).sum()
}
