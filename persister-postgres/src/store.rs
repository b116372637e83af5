//! [`PgStore`]: the [`CommandStore`] over PostgreSQL, and the SQL of its reads (the writes are
//! in `write.rs`).
//!
//! Every operation is one transaction on one pooled connection (a batch of writes too; the
//! single writes are batches of one); dropping the transaction on an error rolls it back, so a
//! failed operation writes nothing. Loads read header and rows in one REPEATABLE READ snapshot.
//!
//! Every value is bound as a parameter. Identifiers (table and column names) are string
//! literals in this file and never come from input.

use std::sync::Arc;

use async_trait::async_trait;
use persister_core::{
    Checkpoint, CommandRow, CommandStore, FINAL_COMMAND_STATES, ListFilter, PurgedCommand,
    StoreError, StoreInfo, StoreResult, StoredCommand, SummaryPage, Timestamp, WriteOp,
};
use sqlx::postgres::PgPool;

use crate::config::PgConfig;
use crate::error::{BACKEND, Error};
use crate::hosts::Hosts;
use crate::schema::{header_columns, read_header, read_update, update_columns, update_tables};
use crate::session::Session;
use crate::write::write;
use crate::{list, migrate, retention};

#[doc = include_str!("docs.md")]
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// How transactions start and statements are sent ([`PgConfig`]'s settings).
    session: Session,
    /// The hosts of the URL, and which one the pool connects to.
    hosts: Arc<Hosts>,
    /// Opened with [`PgConfig::read_only`]: writes are refused before they are sent.
    read_only: bool,
}

impl PgStore {
    /// Connects to the database described by `config` and migrates its schema (unless
    /// [`PgConfig::migrate`] is off). With several hosts in the URL, connects to the first
    /// that accepts writes.
    ///
    /// # Errors
    /// [`StoreError::SchemaTooNew`] when the database was migrated by a newer version of this
    /// crate; a transient [`StoreError::Backend`] when the server cannot be reached within the
    /// acquire timeout (or no host accepts writes); a permanent one when the URL is invalid or
    /// a migration fails.
    ///
    /// With [`PgConfig::read_only`] or without [`PgConfig::migrate`], it changes nothing and
    /// fails with [`StoreError::SchemaTooOld`] when the schema is older than this build's.
    /// [`StoreError::ForeignSchema`] when the database holds tables under this crate's names
    /// that it did not create (a formae agent's database); nothing is changed then.
    pub async fn connect(config: PgConfig) -> StoreResult<Self> {
        let store = Self::open(&config).await?;
        if config.read_only || !config.migrate {
            migrate::check_current(&store.pool, &store.session).await?;
        } else {
            migrate::migrate(&store.pool, &store.session, config.schema.as_deref()).await?;
        }
        Ok(store)
    }

    /// Applies the migrations this build has and the database lacks, and returns how many;
    /// for deployments that connect their stores with `PgConfig::migrate(false)`. Safe to run
    /// while stores use the database, and from several processes at once.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn migrate(config: &PgConfig) -> StoreResult<usize> {
        let config = config.clone().max_connections(1).read_only(false);
        let store = Self::open(&config).await?;
        let applied = migrate::migrate(&store.pool, &store.session, config.schema.as_deref()).await;
        store.pool.close().await;
        Ok(applied?)
    }

    /// A store over an existing pool; migrates the schema like [`connect`](Self::connect), with
    /// the default settings of [`PgConfig`] (no pooler, the role's `search_path`).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), except for connecting.
    pub async fn from_pool(pool: PgPool) -> StoreResult<Self> {
        let config = PgConfig::from_url("postgres://");
        let session = Session::new(&config);
        migrate::migrate(&pool, &session, None).await?;
        let options = (*pool.connect_options()).clone();
        let hosts = Arc::new(Hosts::new(vec![options], true, config.acquire_timeout));
        Ok(Self { pool, session, hosts, read_only: false })
    }

    /// Connects the pool (to the first suitable host), without touching the schema.
    async fn open(config: &PgConfig) -> Result<Self, Error> {
        let options = config.connect_options()?;
        let several = options.len() > 1;
        let hosts = Arc::new(Hosts::new(options, !config.read_only, config.acquire_timeout));
        let first = hosts.first().await?;
        let mut pool_options = config.pool_options();
        if several {
            // After a failover, connections to the old primary are dropped, not lent out.
            let hosts = Arc::clone(&hosts);
            pool_options = pool_options.before_acquire(move |_, meta| {
                let fresh = !hosts.is_stale(meta.age);
                Box::pin(async move { Ok(fresh) })
            });
        }
        let pool = pool_options.connect_with(first).await?;
        Ok(Self { pool, session: Session::new(config), hosts, read_only: config.read_only })
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

    /// Every body, head and resource update fixed and progress column of every stored command (by command
    /// id, then body, head and rows by position), for tests that scan the stored bytes for
    /// secrets. Only with the `testing` feature, which is not a stable API.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the query fails.
    #[cfg(feature = "testing")]
    pub async fn dump_all_text(&self) -> StoreResult<Vec<String>> {
        let mut tx = self.session.begin(&self.pool).await.map_err(Error::from)?;
        let values = self
            .session
            .query_scalar(
                "SELECT value FROM ( \
                   SELECT command_id, 0 AS kind, 0::bigint AS position, body AS value \
                     FROM forma_commands \
                   UNION ALL SELECT command_id, 1, 0, head FROM forma_commands \
                   UNION ALL SELECT command_id, 2, 2 * position, fixed FROM resource_updates \
                   UNION ALL SELECT command_id, 2, 2 * position + 1, progress \
                     FROM resource_update_progress \
                 ) AS stored ORDER BY command_id, kind, position",
            )
            .fetch_all(&mut *tx)
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

    /// The outcome of an operation as the caller sees it. Publishes the pool gauges, and after
    /// an error that a failover may cause (transient, or outcome unknown), asks the hosts which
    /// one accepts writes now, so the caller's retry reaches it.
    fn finish<T>(&self, result: Result<T, Error>) -> StoreResult<T> {
        self.publish_pool();
        let result = result.map_err(StoreError::from);
        if let Err(e) = &result
            && (e.is_transient() || e.is_outcome_unknown())
        {
            self.hosts.repoint(&self.pool);
        }
        result
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
        self.finish(write(&self.pool, &self.session, &ops).await)
    }

    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        self.finish(load(&self.pool, &self.session, id).await)
    }

    /// One read of the header's revision column.
    async fn revision(&self, id: &str) -> StoreResult<Option<i64>> {
        let revision = async {
            let mut tx = self.session.begin(&self.pool).await?;
            let revision = self
                .session
                .query_scalar("SELECT revision FROM forma_commands WHERE command_id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(revision)
        };
        self.finish(revision.await)
    }

    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        self.finish(list::list(&self.pool, &self.session, filter).await)
    }

    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        let ids = async {
            let mut tx = self.session.begin(&self.pool).await?;
            let ids = self
                .session
                .query_scalar(
                    "SELECT command_id FROM forma_commands WHERE state <> ALL($1) \
                     ORDER BY start_ts, command_id",
                )
                .bind(&FINAL_COMMAND_STATES[..])
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(ids)
        };
        self.finish(ids.await)
    }

    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        self.finish(list::list_summaries(&self.pool, &self.session, filter).await)
    }

    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        self.writable()?;
        let purged = retention::purge_finished(&self.pool, &self.session, before, max_rows).await;
        self.finish(purged)
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
        self.finish(retention::info(&self.pool, &self.session).await)
    }
}

/// Loads a command and its rows ordered by position from one snapshot.
async fn load(pool: &PgPool, session: &Session, id: &str) -> Result<Option<StoredCommand>, Error> {
    let mut tx = session.begin_snapshot(pool).await?;
    let header = session
        .query(concat!("SELECT ", header_columns!(), " FROM forma_commands WHERE command_id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(header) = header else {
        return Ok(None);
    };
    let header = read_header(&header)?;
    let rows = session
        .query(concat!(
            "SELECT ",
            update_columns!(),
            " FROM ",
            update_tables!(),
            " WHERE r.command_id = $1 ORDER BY r.position"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let resource_updates = rows.iter().map(|row| read_update(row, id)).collect::<Result<_, _>>()?;
    Ok(Some(StoredCommand { header, resource_updates }))
}
