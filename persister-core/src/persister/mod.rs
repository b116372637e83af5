//! [`Persister`]: one method per message, each one atomic store transaction.

mod batch;
mod commit;
mod recovery;
mod resources;
mod stored;
mod targets;

use std::sync::Arc;
use std::time::Instant;

pub use recovery::{Recovery, RecoveryFailure};
pub use stored::CodecStats;

use crate::cache::{Cache, CacheStats, Entry, Eviction, ResourceIndex};
use crate::error::{Result, StoreError};
use crate::finalize::OpaqueFields;
use crate::model::{FormaCommand, Timestamp};
use crate::store::{DynCommandStore, ListFilter, StoreResult, WriteOp};

/// The source of "now" (UTC) for cancellations and finalize-incomplete.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Settings of a [`Persister`].
#[derive(Clone)]
#[non_exhaustive]
pub struct PersisterConfig {
    /// Most bytes of command JSON kept in the cache; least recently used commands are evicted
    /// past it and reloaded on their next message. Default 256 MiB.
    pub cache_max_bytes: usize,
    /// Property names hashed even as bare values, per resource type.
    pub opaque_fields: OpaqueFields,
    /// The current time; [`Timestamp::now`] by default (tests fix it).
    pub clock: Clock,
}

impl Default for PersisterConfig {
    fn default() -> Self {
        Self {
            cache_max_bytes: 256 * 1024 * 1024,
            opaque_fields: OpaqueFields::default(),
            clock: Arc::new(Timestamp::now),
        }
    }
}

impl std::fmt::Debug for PersisterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersisterConfig")
            .field("cache_max_bytes", &self.cache_max_bytes)
            .field("opaque_fields", &self.opaque_fields)
            .finish_non_exhaustive()
    }
}

impl PersisterConfig {
    /// Sets the cache's byte cap.
    #[must_use]
    pub fn cache_max_bytes(mut self, bytes: usize) -> Self {
        self.cache_max_bytes = bytes;
        self
    }

    /// Sets the clock.
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the property names hashed even as bare values.
    #[must_use]
    pub fn opaque_fields(mut self, fields: OpaqueFields) -> Self {
        self.opaque_fields = fields;
        self
    }
}

/// Counters of a [`Persister`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PersisterStats {
    /// Cache counters.
    pub cache: CacheStats,
    /// JSON work.
    pub codec: CodecStats,
    /// Store transactions committed.
    pub transactions: u64,
    /// Batches committed in one transaction (group commit).
    pub batches: u64,
    /// Batches undone and handled again one message at a time.
    pub batch_fallbacks: u64,
}

/// Persists Forma commands and their progress.
///
/// Each message method commits its whole effect in one store transaction and then updates
/// the cache; on error the store is unchanged and the command's cache entry is evicted, so
/// the next message reloads the stored state. Methods take `&mut self`: a persister serves
/// one caller at a time (wrap it in a task to share it).
#[derive(Debug)]
pub struct Persister {
    store: Arc<DynCommandStore>,
    cache: Cache,
    config: PersisterConfig,
    codec: CodecStats,
    transactions: u64,
    batch: Option<batch::Batch>,
    batches: u64,
    batch_fallbacks: u64,
}

impl Persister {
    /// A persister over `store` with default settings.
    pub fn new(store: Arc<DynCommandStore>) -> Self {
        Self::with_config(store, PersisterConfig::default())
    }

    /// A persister over `store` with `config`.
    pub fn with_config(store: Arc<DynCommandStore>, config: PersisterConfig) -> Self {
        Self {
            cache: Cache::new(config.cache_max_bytes),
            store,
            config,
            codec: CodecStats::default(),
            transactions: 0,
            batch: None,
            batches: 0,
            batch_fallbacks: 0,
        }
    }

    /// The store this persister writes to.
    pub fn store(&self) -> &Arc<DynCommandStore> {
        &self.store
    }

    /// Current counters.
    pub fn stats(&self) -> PersisterStats {
        PersisterStats {
            cache: self.cache.stats(),
            codec: self.codec,
            transactions: self.transactions,
            batches: self.batches,
            batch_fallbacks: self.batch_fallbacks,
        }
    }

    /// Stores a new command (`StoreNewFormaCommand`) and caches it.
    ///
    /// # Errors
    /// [`StoreError::DuplicateKey`] when two resource updates share a (KSUID, operation) key
    /// (D1); [`StoreError::AlreadyExists`] when the id is taken; codec and backend errors.
    pub async fn store_new(&mut self, command: FormaCommand) -> Result<()> {
        let index = ResourceIndex::build(&command.resource_updates).map_err(|d| {
            StoreError::DuplicateKey {
                id: command.id.clone(),
                ksuid: d.ksuid,
                operation: d.operation.as_str().to_owned(),
            }
        })?;
        let stored = self.codec.stored(&command)?;
        let header_bytes = (stored.header.body.len(), stored.header.head.len());
        let ru_bytes = stored.resource_updates.iter().map(|r| r.data.len()).collect();
        let completions = stored.resource_updates.iter().map(|r| r.completion).collect();
        let id = command.id.clone();
        match &mut self.batch {
            Some(batch) => {
                batch.ops.push(WriteOp::Insert(stored));
                batch.touched.insert(id.clone());
                batch.deleted.remove(&id);
            }
            None => {
                transaction("insert", self.store.insert(stored)).await?;
                self.transactions += 1;
            }
        }
        let entry = Entry::new(command, index, completions, 0, header_bytes, ru_bytes);
        self.cache.insert(id, entry);
        self.enforce_cap();
        Ok(())
    }

    /// Returns an owned snapshot of a command (`LoadFormaCommand`).
    ///
    /// A command that is final with no completions pending is returned without being cached.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id; [`StoreError::Corrupt`] for unreadable rows.
    pub async fn load(&mut self, id: &str) -> Result<FormaCommand> {
        self.guard(id)?;
        if let Some(entry) = self.cache.get_mut(id) {
            let snapshot = entry.command.clone();
            self.cache.record_hit();
            return Ok(snapshot);
        }
        let entry = self.fetch(id).await?;
        if entry.command.is_final() && entry.pending() == 0 {
            return Ok(entry.command);
        }
        let snapshot = entry.command.clone();
        self.cache.insert(id.to_owned(), entry);
        self.enforce_cap();
        Ok(snapshot)
    }

    /// Lists commands matching `filter`, most recent first, as owned snapshots.
    ///
    /// # Errors
    /// Store and corruption errors.
    pub async fn list(&mut self, filter: &ListFilter) -> Result<Vec<FormaCommand>> {
        let rows = self.store.list(filter).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(entry) = self.cache.get_mut(&row.id) {
                out.push(entry.command.clone());
                continue;
            }
            // A command deleted between the two reads is no longer there to list.
            if let Some(stored) = self.store.load(&row.id).await? {
                out.push(self.codec.entry(stored)?.command);
            }
        }
        Ok(out)
    }

    /// Ids of the commands not in a final state, oldest first (for recovery, D9).
    ///
    /// # Errors
    /// Store errors.
    pub async fn list_unfinished(&self) -> Result<Vec<String>> {
        Ok(self.store.list_unfinished().await?)
    }

    /// Drops every cache entry (the next message of each command reloads it).
    pub fn clear_cache(&mut self) {
        self.cache = Cache::new(self.config.cache_max_bytes);
        self.cache.publish();
    }

    /// Loads a command from the store into a new (uncached) entry.
    async fn fetch(&mut self, id: &str) -> Result<Entry> {
        fetch(&mut self.cache, &*self.store, &mut self.codec, id).await
    }

    /// The cache entry of `id`, loading it on a miss.
    async fn entry(&mut self, id: &str) -> Result<&mut Entry> {
        self.guard(id)?;
        entry(&mut self.cache, &*self.store, &mut self.codec, id).await
    }

    /// Refuses a command deleted by the open batch, and notes that the batch used `id`.
    fn guard(&mut self, id: &str) -> Result<()> {
        if self.deleted_in_batch(id) {
            return Err(StoreError::NotFound { id: id.to_owned() }.into());
        }
        self.touch(id);
        Ok(())
    }

    /// Evicts `id` after a failed write.
    fn evict_on_error(&mut self, id: &str) {
        self.cache.evict(id, Eviction::Error);
    }
}

/// Awaits one store write (one transaction), recording how long it took in the
/// `persister_transaction_seconds{op}` histogram.
async fn transaction<T>(
    op: &'static str,
    write: impl Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    let started = Instant::now();
    let result = write.await;
    metrics::histogram!("persister_transaction_seconds", "op" => op)
        .record(started.elapsed().as_secs_f64());
    result
}

/// Loads a command from the store into a new (uncached) entry.
async fn fetch(
    cache: &mut Cache,
    store: &DynCommandStore,
    codec: &mut CodecStats,
    id: &str,
) -> Result<Entry> {
    let stored = store.load(id).await?.ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
    cache.record_miss();
    Ok(codec.entry(stored)?)
}

/// The cache entry of `id`, loading it on a miss. A free function so that callers can keep
/// borrowing the persister's other fields.
async fn entry<'c>(
    cache: &'c mut Cache,
    store: &DynCommandStore,
    codec: &mut CodecStats,
    id: &str,
) -> Result<&'c mut Entry> {
    if cache.contains(id) {
        cache.record_hit();
    } else {
        let loaded = fetch(cache, store, codec, id).await?;
        cache.insert(id.to_owned(), loaded);
    }
    cache.get_mut(id).ok_or_else(|| StoreError::NotFound { id: id.to_owned() }.into())
}
