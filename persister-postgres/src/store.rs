//! [`PgStore`]: the [`CommandStore`] over PostgreSQL, and the SQL of its reads (the writes are
//! in `write.rs`).
//!
//! Every operation is one transaction on one pooled connection (a batch of writes too; the
//! single writes are batches of one); dropping the transaction on an error rolls it back, so a
//! failed operation writes nothing. Loads read header and rows in one REPEATABLE READ snapshot.
//!
//! Every value is bound as a parameter. Identifiers (table and column names) are string
//! literals in this file and never come from input.

use async_trait::async_trait;
use persister_core::{
    Checkpoint, CommandRow, CommandStore, FINAL_COMMAND_STATES, ListFilter, PurgedCommand,
    StoreError, StoreInfo, StoreResult, StoredCommand, SummaryPage, Timestamp, WriteOp,
};
use sqlx::postgres::PgPool;

use crate::config::PgConfig;
use crate::error::{BACKEND, Error};
use crate::schema::{self, header_columns, read_header, read_update, update_columns};
use crate::write::write;
use crate::{list, retention};

#[doc = include_str!("docs.md")]
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// Opened with [`PgConfig::read_only`]: writes are refused before they are sent.
    read_only: bool,
}

impl PgStore {
    /// Connects to the database described by `config` and migrates its schema.
    ///
    /// # Errors
    /// [`StoreError::SchemaTooNew`] when the database was migrated by a newer version of this
    /// crate; a transient [`StoreError::Backend`] when the server cannot be reached within the
    /// acquire timeout; a permanent one when the URL is invalid or a migration fails.
    ///
    /// With [`PgConfig::read_only`] it migrates nothing and fails with
    /// [`StoreError::SchemaTooOld`] when the schema is older than this build's.
    /// [`StoreError::ForeignSchema`] when the database holds tables under this crate's names
    /// that it did not create (a formae agent's database); nothing is changed then.
    pub async fn connect(config: PgConfig) -> StoreResult<Self> {
        let options = config.connect_options().map_err(Error::from)?;
        let pool = config.pool_options().connect_with(options).await.map_err(Error::from)?;
        if config.read_only {
            schema::check_current(&pool).await?;
            return Ok(Self { pool, read_only: true });
        }
        Self::from_pool(pool).await
    }

    /// A store over an existing pool; migrates the schema like [`connect`](Self::connect).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), except for connecting.
    pub async fn from_pool(pool: PgPool) -> StoreResult<Self> {
        schema::migrate(&pool).await?;
        Ok(Self { pool, read_only: false })
    }

    /// The connection pool, for tests that run their own statements next to the store. Only
    /// with the `testing` feature, which is not a stable API.
    #[cfg(feature = "testing")]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Sets the pool gauges: `persister_pool_connections` (open connections, idle or in use)
    /// and `persister_pool_idle` (idle ones). Called after every write, load and close, so
    /// the gauges follow the pool as the persister uses it.
    fn publish_pool(&self) {
        metrics::gauge!("persister_pool_connections").set(self.pool.size());
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        metrics::gauge!("persister_pool_idle").set(idle);
    }

    /// Closes the pool and consumes the store: [`CommandStore::close`], which a store shared
    /// through an `Arc` (or a persister's handle, with `PersisterHandle::shutdown_and_close`)
    /// calls through `&self`.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Every body, head and resource update data column of every stored command (by command
    /// id, then body, head and rows by position), for tests that scan the stored bytes for
    /// secrets. Only with the `testing` feature, which is not a stable API.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the query fails.
    #[cfg(feature = "testing")]
    pub async fn dump_all_text(&self) -> StoreResult<Vec<String>> {
        let values = sqlx::query_scalar(
            "SELECT value FROM ( \
               SELECT command_id, 0 AS kind, 0::bigint AS position, body AS value \
                 FROM forma_commands \
               UNION ALL SELECT command_id, 1, 0, head FROM forma_commands \
               UNION ALL SELECT command_id, 2, position, data FROM resource_updates \
             ) AS stored ORDER BY command_id, kind, position",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(Error::from)?;
        Ok(values)
    }
}

impl PgStore {
    /// Refuses a write of a store opened read-only, before anything is sent. The server would
    /// answer 25006, which is transient when a primary was demoted; here it is this store's
    /// own setting, which no retry changes.
    fn writable(&self) -> StoreResult<()> {
        if self.read_only {
            let source = "the store was opened read-only (PgConfig::read_only)".into();
            return Err(StoreError::Backend { backend: BACKEND, transient: false, source });
        }
        Ok(())
    }
}

#[async_trait]
impl CommandStore for PgStore {
    /// Closes the pool: no new operation starts, and this waits until the connections in use
    /// are returned and every connection is closed. Other clones of the pool are closed too.
    /// Later operations fail with [`StoreError::Closed`]; a later `close` is a no-op.
    async fn close(&self) -> StoreResult<()> {
        self.pool.close().await;
        self.publish_pool();
        Ok(())
    }

    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        self.write_batch(vec![WriteOp::Insert(command)]).await
    }

    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        self.write_batch(vec![WriteOp::Apply(checkpoint)]).await
    }

    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()> {
        self.write_batch(vec![WriteOp::Delete { id: id.to_owned(), expected_revision }]).await
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        if !ops.is_empty() {
            self.writable()?;
        }
        let written = write(&self.pool, &ops).await;
        self.publish_pool();
        Ok(written?)
    }

    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        let loaded = load(&self.pool, id).await;
        self.publish_pool();
        Ok(loaded?)
    }

    /// One read of the header's revision column.
    async fn revision(&self, id: &str) -> StoreResult<Option<i64>> {
        let revision =
            sqlx::query_scalar("SELECT revision FROM forma_commands WHERE command_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(Error::from);
        self.publish_pool();
        Ok(revision?)
    }

    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        Ok(list::list(&self.pool, filter).await?)
    }

    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        let ids = sqlx::query_scalar(
            "SELECT command_id FROM forma_commands WHERE state <> ALL($1) \
             ORDER BY start_ts, command_id",
        )
        .bind(&FINAL_COMMAND_STATES[..])
        .fetch_all(&self.pool)
        .await
        .map_err(Error::from)?;
        Ok(ids)
    }

    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        Ok(list::list_summaries(&self.pool, filter).await?)
    }

    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        self.writable()?;
        Ok(retention::purge_finished(&self.pool, before, max_rows).await?)
    }

    /// Does nothing: PostgreSQL's autovacuum makes the space of deleted rows reusable without
    /// blocking writers, and `VACUUM FULL`, which would give it back to the file system,
    /// locks the tables for its whole run, so it is left to the operator.
    async fn reclaim(&self) -> StoreResult<()> {
        Ok(())
    }

    /// `schema_version` is the last migration recorded in `_sqlx_migrations`;
    /// `database_bytes` is `pg_database_size(current_database())`.
    async fn info(&self) -> StoreResult<StoreInfo> {
        Ok(retention::info(&self.pool).await?)
    }
}

/// Loads a command and its rows ordered by position from one snapshot.
async fn load(pool: &PgPool, id: &str) -> Result<Option<StoredCommand>, Error> {
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
    let header = sqlx::query(concat!(
        "SELECT ",
        header_columns!(),
        " FROM forma_commands WHERE command_id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(header) = header else {
        return Ok(None);
    };
    let header = read_header(&header)?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        update_columns!(),
        " FROM resource_updates WHERE command_id = $1 ORDER BY position"
    ))
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let resource_updates = rows.iter().map(|row| read_update(row, id)).collect::<Result<_, _>>()?;
    Ok(Some(StoredCommand { header, resource_updates }))
}
