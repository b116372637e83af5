//! A store wrapper that records every write `ours` makes, so that `floor` can replay the
//! same rows and bytes with plain SQL.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use persister_core::{
    Checkpoint, CommandRow, CommandStore, DynCommandStore, ListFilter, StoreResult, StoredCommand,
    WriteOp,
};
use persister_core::{PurgedCommand, StoreInfo, SummaryPage, Timestamp, codec};

/// One recorded write.
#[derive(Clone, Debug)]
pub(super) enum Write {
    /// `insert`.
    Insert(StoredCommand),
    /// `apply`.
    Apply(Checkpoint),
    /// `delete` of a command at its expected revision.
    Delete {
        /// The command id.
        id: String,
        /// The revision the delete is fenced on.
        expected_revision: i64,
    },
}

impl Write {
    /// The bytes of text the write carries (JSON plus key columns).
    pub(super) fn bytes(&self) -> usize {
        match self {
            Self::Insert(c) => {
                c.json_bytes()
                    + c.resource_updates
                        .iter()
                        .map(|r| r.ksuid.len() + r.state.len())
                        .sum::<usize>()
            }
            Self::Apply(c) => {
                c.header.head.len()
                    + c.header.state.len()
                    + c.header.body.as_ref().map_or(0, String::len)
                    + c.resource_updates
                        .iter()
                        .map(|r| {
                            r.fixed.as_ref().map_or(0, String::len)
                                + r.progress.len()
                                + r.state.len()
                        })
                        .sum::<usize>()
            }
            Self::Delete { id, .. } => id.len(),
        }
    }
}

/// The writes `ours` made, as the store wrote them before resource updates were split: every
/// row written whole (its fixed part and progress reassembled into one document, stored in
/// `fixed`, with an empty `progress`), for the floor that writes whole rows. A change that
/// leaves the fixed part as it was is reassembled with the fixed part last written.
///
/// # Errors
/// [`BenchError::Floor`] when a recorded row does not decode (the recording is then wrong).
pub(super) fn whole_rows(writes: &[Write]) -> Result<Vec<Write>, super::BenchError> {
    use std::collections::HashMap;
    let whole = |fixed: &str, progress: &str| -> Result<String, super::BenchError> {
        let ru = codec::decode_update_parts(fixed.as_bytes(), progress.as_bytes())
            .map_err(|e| super::BenchError::Floor(format!("recorded row: {e}")))?;
        codec::encode_resource_update(&ru)
            .map_err(|e| super::BenchError::Floor(format!("recorded row: {e}")))
    };
    let mut fixed_parts: HashMap<(String, i64), String> = HashMap::new();
    let mut out = Vec::with_capacity(writes.len());
    for write in writes {
        out.push(match write {
            Write::Insert(c) => {
                let mut c = c.clone();
                for r in &mut c.resource_updates {
                    fixed_parts.insert((c.header.id.clone(), r.position), r.fixed.clone());
                    r.fixed = whole(&r.fixed, &r.progress)?;
                    r.progress.clear();
                }
                Write::Insert(c)
            }
            Write::Apply(c) => {
                let mut c = c.clone();
                for r in &mut c.resource_updates {
                    let key = (c.command_id.clone(), r.position);
                    if let Some(fixed) = r.fixed.take() {
                        fixed_parts.insert(key.clone(), fixed);
                    }
                    let fixed = fixed_parts.get(&key).map_or("", String::as_str);
                    r.fixed = Some(whole(fixed, &r.progress)?);
                    r.progress.clear();
                }
                Write::Apply(c)
            }
            Write::Delete { id, expected_revision } => {
                fixed_parts.retain(|(command, _), _| command != id);
                Write::Delete { id: id.clone(), expected_revision: *expected_revision }
            }
        });
    }
    Ok(out)
}

/// Forwards to an inner store and records the writes that succeeded.
#[derive(Debug)]
pub(super) struct RecordingStore {
    inner: Arc<DynCommandStore>,
    writes: Mutex<Vec<Write>>,
}

impl RecordingStore {
    /// Wraps `inner`.
    pub(super) fn new(inner: Arc<DynCommandStore>) -> Self {
        Self { inner, writes: Mutex::new(Vec::new()) }
    }

    /// Takes the writes recorded so far.
    pub(super) fn take(&self) -> Vec<Write> {
        std::mem::take(&mut *self.writes.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn record(&self, w: Write) {
        self.writes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(w);
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl CommandStore for RecordingStore {
    async fn close(&self) -> StoreResult<()> {
        self.inner.close().await
    }
    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        self.inner.insert(command.clone()).await?;
        self.record(Write::Insert(command));
        Ok(())
    }
    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        self.inner.apply(checkpoint.clone()).await?;
        self.record(Write::Apply(checkpoint));
        Ok(())
    }
    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()> {
        self.inner.delete(id, expected_revision).await?;
        self.record(Write::Delete { id: id.to_owned(), expected_revision });
        Ok(())
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        self.inner.write_batch(ops.clone()).await?;
        for op in ops {
            self.record(match op {
                WriteOp::Insert(c) => Write::Insert(c),
                WriteOp::Apply(c) => Write::Apply(c),
                WriteOp::Delete { id, expected_revision } => {
                    Write::Delete { id, expected_revision }
                }
            });
        }
        Ok(())
    }
    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        self.inner.load(id).await
    }
    async fn revision(&self, id: &str) -> StoreResult<Option<i64>> {
        self.inner.revision(id).await
    }
    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        self.inner.list(filter).await
    }
    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        self.inner.list_unfinished().await
    }
    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        self.inner.list_summaries(filter).await
    }
    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        self.inner.purge_finished(before, max_rows).await
    }
    async fn reclaim(&self) -> StoreResult<()> {
        self.inner.reclaim().await
    }
    async fn info(&self) -> StoreResult<StoreInfo> {
        self.inner.info().await
    }
}

/// A store that accepts every write and keeps nothing: the persister's cache is then the only
/// copy of a command in memory, which is what the memory figure measures.
#[derive(Debug, Default)]
pub(super) struct SinkStore;

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl CommandStore for SinkStore {
    async fn close(&self) -> StoreResult<()> {
        Ok(())
    }
    async fn insert(&self, _command: StoredCommand) -> StoreResult<()> {
        Ok(())
    }
    async fn apply(&self, _checkpoint: Checkpoint) -> StoreResult<()> {
        Ok(())
    }
    async fn delete(&self, _id: &str, _expected_revision: i64) -> StoreResult<()> {
        Ok(())
    }
    async fn write_batch(&self, _ops: Vec<WriteOp>) -> StoreResult<()> {
        Ok(())
    }
    async fn load(&self, _id: &str) -> StoreResult<Option<StoredCommand>> {
        Ok(None)
    }
    async fn revision(&self, _id: &str) -> StoreResult<Option<i64>> {
        Ok(None)
    }
    async fn list(&self, _filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        Ok(Vec::new())
    }
    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
    async fn list_summaries(&self, _filter: &ListFilter) -> StoreResult<SummaryPage> {
        Ok(SummaryPage::default())
    }
    async fn purge_finished(
        &self,
        _before: Timestamp,
        _max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        Ok(Vec::new())
    }
    async fn reclaim(&self) -> StoreResult<()> {
        Ok(())
    }
    async fn info(&self) -> StoreResult<StoreInfo> {
        Ok(StoreInfo { backend: "sink", schema_version: 0, database_bytes: None })
    }
}
