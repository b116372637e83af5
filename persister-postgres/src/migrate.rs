//! The embedded migrations and how they are applied: [`migrate`], or [`check_current`] for a
//! store that must not change the schema.
//!
//! Migrations are numbered SQL files (`migrations/NNNN_name.sql`, the same numbering as the
//! SQLite backend), embedded with `sqlx::migrate!` and recorded in sqlx's `_sqlx_migrations`
//! table, with sqlx's checksums, so databases migrated by earlier builds (which ran sqlx's own
//! migrator) carry on. They are applied here rather than by sqlx's migrator so that they work
//! through a transaction-mode pooler and in any schema: every pending migration and its
//! record are one transaction, which starts like every other transaction of the store (so
//! its `search_path` is the configured schema) and takes a transaction-scoped advisory lock,
//! which a pooler keeps for the transaction, where a session lock would be released with the
//! server connection it happened to run on. Two stores migrating at once wait for each other;
//! the second finds nothing left to do. A failure rolls everything back.
//!
//! A database that holds a version newer than this build is refused rather than used.

use std::time::Instant;

use persister_core::StoreError;
use persister_core::columns::{TABLE_COLUMNS, column_mismatch};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgPool};

use crate::error::Error;
use crate::session::{Session, quote_identifier};

/// Every migration, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The key of the advisory lock that migrations of this crate hold, in any database: the
/// bytes of `forma-mg` read as a big-endian integer.
const LOCK_KEY: i64 = i64::from_be_bytes(*b"forma-mg");

/// The schema version this build migrates databases to (its newest migration); a database
/// that records a newer one is refused.
pub fn supported_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Creates the configured schema if missing, refuses a database newer than this build or
/// with tables it did not create, then applies the missing migrations; returns how many.
///
/// # Errors
/// [`StoreError::SchemaTooNew`], [`StoreError::ForeignSchema`], a permanent backend error
/// when an applied migration's checksum differs from this build's (the files were edited)
/// or a migration is recorded as failed; a backend error when a statement fails. Nothing is
/// changed on an error.
pub(crate) async fn migrate(
    pool: &PgPool,
    session: &Session,
    schema: Option<&str>,
) -> Result<usize, Error> {
    let mut tx = session.begin(pool).await?;
    session.query("SELECT pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut *tx).await?;
    if let Some(schema) = schema {
        let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_identifier(schema));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
    }
    let found = schema_version(&mut tx, session).await?;
    check_ours(&mut tx, session, found).await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations ( \
           version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
           installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, \
           checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<(i64, Vec<u8>, bool)> = session
        .query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut *tx)
        .await?;
    for (version, checksum, success) in &applied {
        let problem = match MIGRATOR.iter().find(|m| m.version == *version) {
            _ if !success => "is recorded as failed",
            Some(m) if *m.checksum != checksum[..] => "differs from this build's (edited?)",
            _ => continue,
        };
        let source = format!("migration {version} {problem}; the schema needs an operator").into();
        return Err(StoreError::Backend {
            backend: crate::error::BACKEND,
            transient: false,
            source,
        }
        .into());
    }
    let mut count = 0;
    for migration in MIGRATOR.iter().filter(|m| !applied.iter().any(|a| a.0 == m.version)) {
        let started = Instant::now();
        sqlx::raw_sql(migration.sql.clone()).execute(&mut *tx).await?;
        data_step(migration.version, &mut tx, session).await?;
        let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        session
            .query(
                "INSERT INTO _sqlx_migrations \
                 (version, description, success, checksum, execution_time) \
                 VALUES ($1, $2, TRUE, $3, $4)",
            )
            .bind(migration.version)
            .bind(&*migration.description)
            .bind(&*migration.checksum)
            .bind(nanos)
            .execute(&mut *tx)
            .await?;
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}

/// The step that follows the SQL of migration `version` in its transaction, rewriting data
/// with the core codec where SQL cannot (none for most migrations).
async fn data_step(version: i64, conn: &mut PgConnection, session: &Session) -> Result<(), Error> {
    match version {
        3 => split_resource_updates(conn, session).await,
        _ => Ok(()),
    }
}

/// The data step of migration 3: splits every resource update's whole document (moved to
/// `fixed` by the SQL) into its fixed part and its progress with the core codec, so that loads
/// reassemble the same bytes, in pages of rows read in key order and rewritten with one
/// statement per page; then recomputes every command's `stored_bytes` from the new columns.
///
/// A document that cannot be split stays whole in `fixed` with an empty `progress`: loading
/// its command then fails with [`StoreError::Corrupt`] naming the row, as loading it did
/// before, and the other commands migrate.
async fn split_resource_updates(conn: &mut PgConnection, session: &Session) -> Result<(), Error> {
    const PAGE: i64 = 256;
    let (mut after, mut split, mut unreadable) = ((String::new(), -1_i64), 0_usize, 0_usize);
    loop {
        let page: Vec<(String, i64, String)> = session
            .query_as(
                "SELECT command_id, position, fixed FROM resource_updates \
                 WHERE (command_id, position) > ($1, $2) \
                 ORDER BY command_id, position LIMIT $3",
            )
            .bind(&after.0)
            .bind(after.1)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
        let Some(last) = page.last() else { break };
        after = (last.0.clone(), last.1);
        let mut rows = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (command_id, position, whole) in page {
            match persister_core::codec::split_resource_update(whole.as_bytes()) {
                Ok((fixed, progress)) => {
                    rows.0.push(command_id);
                    rows.1.push(position);
                    rows.2.push(fixed);
                    rows.3.push(progress);
                }
                Err(error) => {
                    tracing::warn!(%command_id, position, %error,
                        "resource update kept whole: it cannot be split");
                    unreadable += 1;
                }
            }
        }
        split += rows.0.len();
        session
            .query(
                "UPDATE resource_updates AS r SET fixed = u.fixed, progress = u.progress \
                 FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[]) \
                   AS u(command_id, position, fixed, progress) \
                 WHERE r.command_id = u.command_id AND r.position = u.position",
            )
            .bind(&rows.0)
            .bind(&rows.1)
            .bind(&rows.2)
            .bind(&rows.3)
            .execute(&mut *conn)
            .await?;
    }
    session
        .query(
            "UPDATE forma_commands AS c SET stored_bytes = \
               octet_length(c.body) + octet_length(c.head) + COALESCE(( \
                 SELECT sum(octet_length(r.fixed) + octet_length(r.progress)) \
                 FROM resource_updates AS r WHERE r.command_id = c.command_id \
               ), 0)",
        )
        .execute(&mut *conn)
        .await?;
    tracing::info!(split, unreadable, "split resource updates into fixed part and progress");
    Ok(())
}

/// Checks, without changing anything, that the database's schema is exactly this build's
/// (for a store that does not migrate).
///
/// # Errors
/// [`StoreError::SchemaTooNew`], [`StoreError::ForeignSchema`] or
/// [`StoreError::SchemaTooOld`].
pub(crate) async fn check_current(pool: &PgPool, session: &Session) -> Result<(), Error> {
    let mut tx = session.begin(pool).await?;
    let found = schema_version(&mut tx, session).await?;
    check_ours(&mut tx, session, found).await?;
    tx.commit().await?;
    let required = supported_version();
    if found < required {
        return Err(StoreError::SchemaTooOld { found, required }.into());
    }
    Ok(())
}

/// The last migration applied (0 when none is recorded).
///
/// # Errors
/// [`StoreError::SchemaTooNew`] when it is newer than [`supported_version`].
pub(crate) async fn schema_version(
    conn: &mut PgConnection,
    session: &Session,
) -> Result<i64, Error> {
    let supported = supported_version();
    let has_table: bool = session
        .query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !has_table {
        return Ok(0);
    }
    let found: Option<i64> = session
        .query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?;
    let found = found.unwrap_or(0);
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported }.into());
    }
    Ok(found)
}

/// Refuses tables under our names (in the current schema) that this crate did not create:
/// present while no migration is recorded (a formae agent's database records its own in a
/// goose `db_version` table), or with columns other than those of version `found`.
///
/// # Errors
/// [`StoreError::ForeignSchema`] naming the table.
async fn check_ours(conn: &mut PgConnection, session: &Session, found: i64) -> Result<(), Error> {
    for (table, columns) in TABLE_COLUMNS {
        let present: Vec<String> = session
            .query_scalar(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?;
        let foreign = |detail: String| -> Error {
            StoreError::ForeignSchema { table: (*table).to_owned(), detail }.into()
        };
        if found == 0 {
            if present.is_empty() {
                continue;
            }
            let goose: bool = session
                .query_scalar("SELECT to_regclass('db_version') IS NOT NULL")
                .fetch_one(&mut *conn)
                .await?;
            let hint =
                if goose { " and a goose db_version table (a formae database?)" } else { "" };
            return Err(foreign(format!("no forma-persister migration is recorded{hint}")));
        }
        if let Some(detail) = column_mismatch(columns, found, &present) {
            return Err(foreign(detail));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_like_their_files() {
        for (index, migration) in MIGRATOR.iter().enumerate() {
            let expected = i64::try_from(index + 1).expect("few migrations");
            assert_eq!(migration.version, expected, "{}", migration.description);
        }
        assert_eq!(supported_version(), i64::try_from(MIGRATOR.iter().count()).expect("few"));
    }
}
