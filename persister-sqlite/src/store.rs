//! [`SqliteStore`]: the [`CommandStore`] over SQLite, and the SQL of each operation.
//!
//! Every operation runs on the worker thread in one transaction; dropping the transaction on
//! an error rolls it back, so a failed operation writes nothing. Writes begin with
//! `BEGIN IMMEDIATE`, so they wait for the write lock up front instead of failing when a read
//! transaction would have to be upgraded.
//!
//! Every value is bound as a parameter. Identifiers (table and column names) are string
//! literals in this file and never come from input.

use async_trait::async_trait;
use persister_core::{
    BatchWrite, Checkpoint, CommandRow, CommandStore, ListFilter, PurgedCommand, StoreError,
    StoreInfo, StoreResult, StoredCommand, SummaryPage, Timestamp, WriteOp, check_unique_keys,
    coalesce,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::config::SqliteConfig;
use crate::error::{Error, corrupt};
use crate::schema;

use crate::worker::{Command, Worker};

#[doc = include_str!("docs.md")]
#[derive(Debug)]
pub struct SqliteStore {
    /// The connection that writes (and, without `reader`, reads too).
    worker: Worker,
    /// A read-only connection on its own thread for loads and listings, on a file database
    /// opened for writing: WAL lets it read while `worker` writes.
    reader: Option<Worker>,
}

impl SqliteStore {
    /// The connection for reads: the read connection when there is one.
    fn reads(&self) -> &Worker {
        self.reader.as_ref().unwrap_or(&self.worker)
    }

    /// Opens (creating when missing) and migrates the database described by `config`.
    ///
    /// # Errors
    /// [`StoreError::SchemaTooNew`] when the database was written by a newer version of this
    /// crate; [`StoreError::Backend`] when SQLite cannot open or migrate it.
    pub async fn open(config: SqliteConfig) -> StoreResult<Self> {
        let path = config.path.clone();
        let read_connection = path.is_some() && !config.read_only;
        let worker = Worker::start(config.clone(), schema::open, "sqlite-writer")
            .await
            .map_err(StoreError::from)?;
        // Opened after the writer migrated the file, so it finds the current schema.
        let reader = match read_connection {
            true => Some(
                Worker::start(config, schema::open_reader, "sqlite-reader")
                    .await
                    .map_err(StoreError::from)?,
            ),
            false => None,
        };
        tracing::debug!(?path, "sqlite store opened");
        Ok(Self { worker, reader })
    }

    /// Closes the database and consumes the store: [`CommandStore::close`], which a store
    /// shared through an `Arc` (or a persister's handle, with
    /// `PersisterHandle::shutdown_and_close`) calls through `&self`.
    /// Dropping the store closes it too, but without waiting when inside an async runtime.
    ///
    /// # Errors
    /// As [`CommandStore::close`].
    pub async fn close(self) -> StoreResult<()> {
        CommandStore::close(&self).await
    }

    /// Every body, head and resource update data column of every stored command, for tests
    /// that scan the stored bytes for secrets. Only with the `testing` feature, which is not
    /// a stable API.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when SQLite fails.
    #[cfg(feature = "testing")]
    pub async fn dump_all_text(&self) -> StoreResult<Vec<String>> {
        self.worker.call(|reply| Command::DumpAllText { reply }).await
    }
}

#[async_trait]
impl CommandStore for SqliteStore {
    /// Waits until every operation already sent has finished and the connection is closed
    /// (so the WAL is checkpointed and the file can be copied, moved or opened elsewhere).
    /// Later operations fail with [`StoreError::Closed`]; a later `close` is a no-op.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when SQLite cannot close the connection or the worker thread
    /// has stopped unexpectedly.
    async fn close(&self) -> StoreResult<()> {
        let read = match &self.reader {
            Some(reader) => reader.close().await,
            None => Ok(()),
        };
        self.worker.close().await?;
        read?;
        tracing::debug!("sqlite store closed");
        Ok(())
    }

    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        self.worker.call(|reply| Command::Insert { command, reply }).await
    }

    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        self.worker.call(|reply| Command::Apply { checkpoint, reply }).await
    }

    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()> {
        let id = id.to_owned();
        self.worker.call(|reply| Command::Delete { id, expected_revision, reply }).await
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        self.worker.call(|reply| Command::WriteBatch { ops, reply }).await
    }

    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        let id = id.to_owned();
        self.reads().call(|reply| Command::Load { id, reply }).await
    }

    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        let filter = filter.clone();
        self.reads().call(|reply| Command::List { filter, reply }).await
    }

    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        self.reads().call(|reply| Command::ListUnfinished { reply }).await
    }

    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        let filter = filter.clone();
        self.reads().call(|reply| Command::ListSummaries { filter, reply }).await
    }

    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        self.worker.call(|reply| Command::PurgeFinished { before, max_rows, reply }).await
    }

    /// Runs `PRAGMA incremental_vacuum`, which gives the free pages back to the file system,
    /// then `PRAGMA wal_checkpoint(TRUNCATE)`, which empties the WAL. The vacuum does
    /// something only in a database created with `auto_vacuum = INCREMENTAL`, which this
    /// crate sets on every database it creates; a file created by an earlier build needs one
    /// `VACUUM` after `PRAGMA auto_vacuum = INCREMENTAL` to switch (it rewrites the whole
    /// file and blocks writers while it runs). The checkpoint waits for readers in other
    /// processes up to the busy timeout.
    async fn reclaim(&self) -> StoreResult<()> {
        self.worker.call(|reply| Command::Reclaim { reply }).await
    }

    /// `schema_version` is `user_version`; `database_bytes` is `page_count * page_size`
    /// plus the size of the `-wal` file.
    async fn info(&self) -> StoreResult<StoreInfo> {
        self.reads().call(|reply| Command::Info { reply }).await
    }
}

/// Inserts a command at revision 0 with its resource updates.
pub(crate) fn insert(conn: &mut Connection, command: StoredCommand) -> Result<(), Error> {
    insert_tx(conn, &command).map_err(|e| e.in_command(&command.header.id, || inserted(&command)))
}

/// The largest value `command` writes, for [`StoreError::TooLarge`].
fn inserted(command: &StoredCommand) -> (String, usize) {
    largest_value(
        [("body", command.header.body.len()), ("head", command.header.head.len())],
        command.resource_updates.iter().flat_map(|r| {
            [(r.position, "fixed", r.fixed.len()), (r.position, "progress", r.progress.len())]
        }),
    )
}

fn insert_tx(conn: &mut Connection, command: &StoredCommand) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    insert_rows(&tx, command)?;
    tx.commit()?;
    Ok(())
}

/// The statements of `insert`, inside the caller's transaction.
fn insert_rows(tx: &Connection, command: &StoredCommand) -> Result<(), Error> {
    let h = &command.header;
    if tx.prepare_cached("SELECT 1 FROM forma_commands WHERE command_id = ?1")?.exists([&h.id])? {
        return Err(StoreError::AlreadyExists { id: h.id.clone() }.into());
    }
    check_unique_keys(&h.id, &command.resource_updates)?;
    tx.prepare_cached(
        "INSERT INTO forma_commands (command_id, command, state, client_id, start_ts, \
         modified_ts, revision, body, head, start_ts_ns, modified_ts_ns, stored_bytes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        h.id,
        h.command,
        h.state,
        h.client_id,
        h.start_ts,
        h.modified_ts,
        h.body,
        h.head,
        h.start_ts_ns,
        h.modified_ts_ns,
        size(h.stored_bytes),
    ])?;
    let mut row = tx.prepare_cached(
        "INSERT INTO resource_updates (command_id, position, ksuid, operation, state, \
         completion, fixed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut progress = tx.prepare_cached(
        "INSERT INTO resource_update_progress (command_id, position, progress) \
         VALUES (?1, ?2, ?3)",
    )?;
    for ru in &command.resource_updates {
        row.execute(params![
            h.id,
            ru.position,
            ru.ksuid,
            ru.operation,
            ru.state,
            ru.completion.code(),
            ru.fixed,
        ])?;
        progress.execute(params![h.id, ru.position, ru.progress])?;
    }
    Ok(())
}

/// Applies a checkpoint: the header if its revision matches, then each listed row.
pub(crate) fn apply(conn: &mut Connection, checkpoint: Checkpoint) -> Result<(), Error> {
    apply_tx(conn, &checkpoint)
        .map_err(|e| e.in_command(&checkpoint.command_id, || applied(&checkpoint)))
}

/// The largest value `checkpoint` writes, for [`StoreError::TooLarge`].
fn applied(checkpoint: &Checkpoint) -> (String, usize) {
    let h = &checkpoint.header;
    largest_value(
        [("head", h.head.len()), ("body", h.body.as_ref().map_or(0, String::len))],
        checkpoint.resource_updates.iter().flat_map(|r| {
            let fixed = r.fixed.as_ref().map_or(0, String::len);
            [(r.position, "fixed", fixed), (r.position, "progress", r.progress.len())]
        }),
    )
}

fn apply_tx(conn: &mut Connection, checkpoint: &Checkpoint) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    apply_rows(&tx, checkpoint, 1)?;
    tx.commit()?;
    Ok(())
}

/// The statements of `apply`, inside the caller's transaction, for a checkpoint that stands
/// for `increment` consecutive applies (see [`persister_core::coalesce`]).
fn apply_rows(tx: &Connection, checkpoint: &Checkpoint, increment: i64) -> Result<(), Error> {
    let (id, expected, h) =
        (&checkpoint.command_id, checkpoint.expected_revision, &checkpoint.header);
    let changed = tx
        .prepare_cached(
            "UPDATE forma_commands SET state = ?1, start_ts = ?2, modified_ts = ?3, head = ?4, \
             body = COALESCE(?5, body), revision = revision + ?11, start_ts_ns = ?8, \
             modified_ts_ns = ?9, stored_bytes = ?10 WHERE command_id = ?6 AND revision = ?7",
        )?
        .execute(params![
            h.state,
            h.start_ts,
            h.modified_ts,
            h.head,
            h.body,
            id,
            expected,
            h.start_ts_ns,
            h.modified_ts_ns,
            size(h.stored_bytes),
            increment,
        ])?;
    if changed == 0 {
        return Err(missing_or_conflict(tx, id, expected)?.into());
    }
    let mut progress = tx.prepare_cached(
        "UPDATE resource_update_progress SET progress = ?1 WHERE command_id = ?2 AND position = ?3",
    )?;
    // The row with the fixed part is written only when something in it changes: its state and
    // completion come before the fixed part, so comparing them reads no overflow page.
    let mut row = tx.prepare_cached(
        "UPDATE resource_updates SET state = ?1, completion = ?2, fixed = COALESCE(?3, fixed) \
         WHERE command_id = ?4 AND position = ?5 \
         AND (state IS NOT ?1 OR completion IS NOT ?2 OR ?3 IS NOT NULL)",
    )?;
    for ru in &checkpoint.resource_updates {
        if progress.execute(params![ru.progress, id, ru.position])? == 0 {
            return Err(corrupt(
                id,
                format!("resource_updates[{}]", ru.position),
                "no resource update row at this position",
            ));
        }
        row.execute(params![ru.state, ru.completion.code(), ru.fixed, id, ru.position])?;
    }
    Ok(())
}

/// Deletes a command (its resource updates go with it, `ON DELETE CASCADE`) if its revision
/// matches.
pub(crate) fn delete(conn: &mut Connection, id: &str, expected: i64) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    delete_rows(&tx, id, expected)?;
    tx.commit()?;
    Ok(())
}

/// The statements of `delete`, inside the caller's transaction.
fn delete_rows(tx: &Connection, id: &str, expected: i64) -> Result<(), Error> {
    let changed = tx
        .prepare_cached("DELETE FROM forma_commands WHERE command_id = ?1 AND revision = ?2")?
        .execute(params![id, expected])?;
    if changed == 0 {
        return Err(missing_or_conflict(tx, id, expected)?.into());
    }
    Ok(())
}

/// Applies every op of a batch in one transaction, grouped by command with consecutive
/// applies of a command merged ([`persister_core::coalesce`]: one header write per command,
/// not per message); the first error rolls all back and is returned as the op's single-op
/// method would return it.
pub(crate) fn write_batch(conn: &mut Connection, ops: Vec<WriteOp>) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for write in coalesce(&ops) {
        match write {
            BatchWrite::Insert(c) => {
                insert_rows(&tx, c).map_err(|e| e.in_command(&c.header.id, || inserted(c)))?;
            }
            BatchWrite::Apply(c, increment) => {
                apply_rows(&tx, &c, increment)
                    .map_err(|e| e.in_command(&c.command_id, || applied(&c)))?;
            }
            BatchWrite::Delete(id, expected_revision) => delete_rows(&tx, id, expected_revision)?,
        }
    }
    tx.commit()?;
    Ok(())
}

/// A size as SQLite stores it (an INTEGER is an i64; sizes past it saturate).
fn size(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// The error for a conditional write that changed nothing: the command is missing, or its
/// revision is not the expected one.
fn missing_or_conflict(tx: &Connection, id: &str, expected: i64) -> Result<StoreError, Error> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT revision FROM forma_commands WHERE command_id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(match found {
        None => StoreError::NotFound { id: id.to_owned() },
        Some(found) => StoreError::Conflict { id: id.to_owned(), expected, found },
    })
}

/// The name and size of the largest value among the header's and the rows' JSON, for
/// [`StoreError::TooLarge`].
fn largest_value(
    header: [(&str, usize); 2],
    rows: impl Iterator<Item = (i64, &'static str, usize)>,
) -> (String, usize) {
    let header = header.into_iter().map(|(name, size)| (name.to_owned(), size));
    let rows =
        rows.map(|(position, part, size)| (format!("resource_updates[{position}].{part}"), size));
    header.chain(rows).max_by_key(|(_, size)| *size).unwrap_or_default()
}
