//! [`MemoryStore`]: the reference implementation of [`CommandStore`], in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{
    Checkpoint, CommandRow, CommandStore, FINAL_COMMAND_STATES, ListFilter, StoreResult,
    StoredCommand, WriteOp, check_unique_keys,
};
use crate::error::StoreError;

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
                [c.header.body.clone(), c.header.head.clone()]
                    .into_iter()
                    .chain(c.resource_updates.iter().map(|r| r.data.clone()))
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
    header.modified_ts = h.modified_ts;
    header.head = h.head;
    if let Some(body) = h.body {
        header.body = body;
    }
    header.revision = expected_revision + 1;
    for (slot, row) in slots.into_iter().zip(rows) {
        let ru = &mut current.resource_updates[slot];
        ru.state = row.state;
        ru.completion = row.completion;
        ru.data = row.data;
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
            map.values().map(|c| &c.header).filter(|h| filter.matches(h)).cloned().collect();
        rows.sort_by(|a, b| b.start_ts.cmp(&a.start_ts).then_with(|| b.id.cmp(&a.id)));
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
}
