//! [`MemoryStore`]: the reference implementation of [`CommandStore`], in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{
    Checkpoint, CommandRow, CommandStore, FINAL_COMMAND_STATES, ListFilter, PurgedCommand,
    StoreInfo, StoreResult, StoredCommand, SummaryColumns, SummaryPage, WriteOp, check_unique_keys,
    exact_key,
};
use crate::error::StoreError;
use crate::model::Timestamp;

type Map = BTreeMap<String, StoredCommand>;

/// An in-memory [`CommandStore`]: the reference for backends and a store for unit tests.
///
/// It follows the whole contract (atomic writes, revision fencing, ordered rows) and keeps
/// nothing across process restarts.
#[derive(Debug, Default)]
pub struct MemoryStore {
    commands: Mutex<Map>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Map> {
        // A panic while holding the lock cannot leave a half-applied write: every write checks
        // all that can fail before it changes anything, and the changes cannot panic.
        self.commands.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every stored byte of every command, for tests that scan storage for secrets.
    pub fn dump(&self) -> Vec<String> {
        let map = self.lock();
        map.values()
            .flat_map(|c| {
                [c.header.body.clone(), c.header.head.clone()].into_iter().chain(
                    c.resource_updates.iter().flat_map(|r| [r.fixed.clone(), r.progress.clone()]),
                )
            })
            .collect()
    }
}

fn insert(map: &mut Map, command: StoredCommand) -> StoreResult<()> {
    let id = command.header.id.clone();
    if map.contains_key(&id) {
        return Err(StoreError::AlreadyExists { id });
    }
    check_unique_keys(&id, &command.resource_updates)?;
    let mut command = command;
    command.header.revision = 0;
    command.resource_updates.sort_by_key(|r| r.position);
    map.insert(id, command);
    Ok(())
}

/// Applies `checkpoint` in place: everything that can fail is checked before anything
/// changes, so a refused checkpoint leaves the command as it was. The cost is proportional to
/// the checkpoint, not to the command (rows are kept sorted by position).
fn apply(map: &mut Map, checkpoint: Checkpoint) -> StoreResult<()> {
    let Checkpoint { command_id: id, expected_revision, header: h, resource_updates: rows } =
        checkpoint;
    let Some(current) = map.get_mut(&id) else {
        return Err(StoreError::NotFound { id });
    };
    if current.header.revision != expected_revision {
        return Err(StoreError::Conflict {
            id,
            expected: expected_revision,
            found: current.header.revision,
        });
    }
    let slots = rows
        .iter()
        .map(|row| {
            current.resource_updates.binary_search_by_key(&row.position, |r| r.position).map_err(
                |_| StoreError::Corrupt {
                    id: id.clone(),
                    field: format!("resource_updates[{}]", row.position),
                    source: "no resource update row at this position".into(),
                },
            )
        })
        .collect::<StoreResult<Vec<usize>>>()?;
    let header = &mut current.header;
    header.state = h.state;
    header.start_ts = h.start_ts;
    header.start_ts_ns = h.start_ts_ns;
    header.modified_ts = h.modified_ts;
    header.modified_ts_ns = h.modified_ts_ns;
    header.stored_bytes = h.stored_bytes;
    header.head = h.head;
    if let Some(body) = h.body {
        header.body = body;
    }
    header.revision = expected_revision + 1;
    for (slot, row) in slots.into_iter().zip(rows) {
        let ru = &mut current.resource_updates[slot];
        ru.state = row.state;
        ru.completion = row.completion;
        if let Some(fixed) = row.fixed {
            ru.fixed = fixed;
        }
        ru.progress = row.progress;
    }
    Ok(())
}

fn delete(map: &mut Map, id: &str, expected_revision: i64) -> StoreResult<()> {
    let current = map.get(id).ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
    if current.header.revision != expected_revision {
        return Err(StoreError::Conflict {
            id: id.to_owned(),
            expected: expected_revision,
            found: current.header.revision,
        });
    }
    map.remove(id);
    Ok(())
}

#[async_trait]
impl CommandStore for MemoryStore {
    /// A no-op: the store holds no connection and stays usable.
    async fn close(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn insert(&self, command: StoredCommand) -> StoreResult<()> {
        insert(&mut self.lock(), command)
    }

    async fn apply(&self, checkpoint: Checkpoint) -> StoreResult<()> {
        apply(&mut self.lock(), checkpoint)
    }

    async fn delete(&self, id: &str, expected_revision: i64) -> StoreResult<()> {
        delete(&mut self.lock(), id, expected_revision)
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        let mut map = self.lock();
        // Only the commands the batch touches are copied; they are swapped in at the end.
        let mut scratch: Map = Map::new();
        for op in &ops {
            let id = match op {
                WriteOp::Insert(c) => &c.header.id,
                WriteOp::Apply(c) => &c.command_id,
                WriteOp::Delete { id, .. } => id,
            };
            if let Some(c) = map.get(id) {
                scratch.insert(id.clone(), c.clone());
            }
        }
        // Every id the batch names, once: each is written back (or removed) exactly once.
        let ids: BTreeSet<String> = ops
            .iter()
            .map(|op| match op {
                WriteOp::Insert(c) => c.header.id.clone(),
                WriteOp::Apply(c) => c.command_id.clone(),
                WriteOp::Delete { id, .. } => id.clone(),
            })
            .collect();
        for op in ops {
            match op {
                WriteOp::Insert(c) => insert(&mut scratch, c)?,
                WriteOp::Apply(c) => apply(&mut scratch, c)?,
                WriteOp::Delete { id, expected_revision } => {
                    delete(&mut scratch, &id, expected_revision)?
                }
            }
        }
        for id in ids {
            match scratch.remove(&id) {
                Some(c) => map.insert(id, c),
                None => map.remove(&id),
            };
        }
        Ok(())
    }

    async fn load(&self, id: &str) -> StoreResult<Option<StoredCommand>> {
        Ok(self.lock().get(id).cloned())
    }

    async fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CommandRow>> {
        let map = self.lock();
        let mut rows: Vec<CommandRow> =
            listed(&map, filter).into_iter().map(|c| c.header.clone()).collect();
        if let Some(limit) = filter.limit {
            rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        Ok(rows)
    }

    async fn list_unfinished(&self) -> StoreResult<Vec<String>> {
        let map = self.lock();
        let mut rows: Vec<&CommandRow> = map
            .values()
            .map(|c| &c.header)
            .filter(|h| !FINAL_COMMAND_STATES.contains(&h.state.as_str()))
            .collect();
        rows.sort_by(|a, b| a.start_ts.cmp(&b.start_ts).then_with(|| a.id.cmp(&b.id)));
        Ok(rows.into_iter().map(|h| h.id.clone()).collect())
    }

    async fn list_summaries(&self, filter: &ListFilter) -> StoreResult<SummaryPage> {
        let map = self.lock();
        let mut commands = listed(&map, filter);
        let limit = filter.limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
        let more = limit.is_some_and(|l| commands.len() > l);
        if let Some(limit) = limit {
            commands.truncate(limit);
        }
        let summaries = commands
            .into_iter()
            .map(|c| {
                let h = &c.header;
                let mut by_state: BTreeMap<&str, u64> = BTreeMap::new();
                for ru in &c.resource_updates {
                    *by_state.entry(&ru.state).or_insert(0) += 1;
                }
                SummaryColumns {
                    id: h.id.clone(),
                    command: h.command.clone(),
                    state: h.state.clone(),
                    client_id: h.client_id.clone(),
                    start_ts: h.start_ts,
                    start_ts_ns: h.start_ts_ns,
                    modified_ts: h.modified_ts,
                    modified_ts_ns: h.modified_ts_ns,
                    stored_bytes: h.stored_bytes,
                    by_state: by_state.into_iter().map(|(s, n)| (s.to_owned(), n)).collect(),
                }
                .summary()
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let next = if more { summaries.last().map(|s| s.cursor()) } else { None };
        Ok(SummaryPage { summaries, next })
    }

    async fn purge_finished(
        &self,
        before: Timestamp,
        max_rows: u32,
    ) -> StoreResult<Vec<PurgedCommand>> {
        let mut map = self.lock();
        let before = exact_key(before);
        let mut old: Vec<&CommandRow> = map
            .values()
            .map(|c| &c.header)
            .filter(|h| FINAL_COMMAND_STATES.contains(&h.state.as_str()))
            .filter(|h| (h.modified_ts, h.modified_ts_ns) < before)
            .collect();
        old.sort_by(|a, b| {
            (a.modified_ts, a.modified_ts_ns, &a.id).cmp(&(b.modified_ts, b.modified_ts_ns, &b.id))
        });
        old.truncate(usize::try_from(max_rows).unwrap_or(usize::MAX));
        // Everything is read and checked before anything is removed.
        let purged = old
            .into_iter()
            .map(|h| {
                let modified = (h.modified_ts, h.modified_ts_ns);
                PurgedCommand::from_columns(h.id.clone(), &h.state, modified, h.stored_bytes)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        for p in &purged {
            map.remove(&p.id);
        }
        Ok(purged)
    }

    async fn reclaim(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn info(&self) -> StoreResult<StoreInfo> {
        Ok(StoreInfo { backend: "memory", schema_version: 0, database_bytes: None })
    }
}

/// The commands passing `filter` (limit aside), in the listing order: exact `StartTs`
/// descending, then id descending.
fn listed<'a>(map: &'a Map, filter: &ListFilter) -> Vec<&'a StoredCommand> {
    let mut commands: Vec<&StoredCommand> =
        map.values().filter(|c| filter.matches(&c.header)).collect();
    commands.sort_by(|a, b| {
        let (a, b) = (&a.header, &b.header);
        (b.start_ts, b.start_ts_ns, &b.id).cmp(&(a.start_ts, a.start_ts_ns, &a.id))
    });
    commands
}
