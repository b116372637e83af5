//! [`Persister`]: one method per message, each one atomic store transaction.
//!
//! The write path: a message is planned on a [`stage::Stage`] (its command's entry taken out
//! of the cache and changed there) into a [`write_set::WriteSet`]; the write sets of the
//! messages handled together are committed in one transaction; only then does the stage go
//! back to the cache and the replies go out.

mod outcome;
mod plan;
mod process;
mod recovery;
mod resources;
mod stage;
mod stored;
mod targets;
mod write_set;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use process::Retry;
pub use recovery::{Recovery, RecoveryFailure};
pub use stored::CodecStats;

use crate::cache::Eviction;
use crate::cache::{Cache, CacheStats};
use crate::error::{Result, StoreError};
use crate::finalize::OpaqueFields;
use crate::messages::{Message, Reply};
use crate::model::{FormaCommand, Timestamp};
#[cfg(doc)]
use crate::store::CommandStore;
use crate::store::{DynCommandStore, ListFilter, PurgedCommand, StoreResult, SummaryPage};

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
    /// The current time; [`Timestamp::now`] by default (tests fix it). Its readings are
    /// converted to UTC before they are stored (D8).
    pub clock: Clock,
    /// How long the persister keeps trying to read the store back after a commit whose
    /// outcome is unknown ([`StoreError::OutcomeUnknown`]), to find out whether it took
    /// effect before it replies. Default 5 s.
    pub outcome_window: Duration,
}

impl Default for PersisterConfig {
    fn default() -> Self {
        Self {
            cache_max_bytes: 256 * 1024 * 1024,
            opaque_fields: OpaqueFields::default(),
            clock: Arc::new(Timestamp::now),
            outcome_window: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for PersisterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersisterConfig")
            .field("cache_max_bytes", &self.cache_max_bytes)
            .field("opaque_fields", &self.opaque_fields)
            .field("outcome_window", &self.outcome_window)
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

    /// Sets how long an unknown commit outcome is looked into before it is returned.
    #[must_use]
    pub fn outcome_window(mut self, window: Duration) -> Self {
        self.outcome_window = window;
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
/// Each message method computes its whole effect, commits it in one store transaction and
/// only then updates the cache. The cache never holds a state the store does not, even when
/// a method's future is dropped before it finishes: a message works on its command's entry
/// outside the cache, which gets the entry back only after the commit. Methods take
/// `&mut self`: a persister serves one caller at a time (wrap it in a task to share it).
#[derive(Debug)]
pub struct Persister {
    store: Arc<DynCommandStore>,
    cache: Cache,
    config: PersisterConfig,
    codec: CodecStats,
    transactions: u64,
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
        self.handle(Message::StoreNew(Box::new(command))).await.map(|_| ())
    }

    /// Stores a command moved in from elsewhere (a line of an export, a command read from a
    /// formae agent's database) as [`store_new`](Self::store_new) stores it: the same
    /// validation (D1), UTC times (D8), and nothing hashed (a finished command was hashed
    /// where it comes from, and envelopes marked hashed are never hashed again, D6).
    ///
    /// One difference: each resource update already in a final state is recorded as
    /// completed (D3), since its completion arrived before the move; a later duplicate is
    /// dropped, and the command finalizes once the others complete. A final command is not
    /// cached.
    ///
    /// # Errors
    /// As [`store_new`](Self::store_new).
    pub async fn import(&mut self, command: FormaCommand) -> Result<()> {
        self.handle(Message::Import(Box::new(command))).await.map(|_| ())
    }

    /// Returns an owned snapshot of a command (`LoadFormaCommand`).
    ///
    /// A command that is final with no completions pending is returned without being cached.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id; [`StoreError::Corrupt`] for unreadable rows.
    pub async fn load(&mut self, id: &str) -> Result<FormaCommand> {
        match self.handle(Message::Load(id.to_owned())).await? {
            Reply::Command(command) => Ok(*command),
            Reply::Ack(_) => Err(StoreError::NotFound { id: id.to_owned() }.into()),
        }
    }

    /// Lists one page of summaries of the commands matching `filter`, most recent exact
    /// `StartTs` first, in one store query ([`CommandStore::list_summaries`]); a caller that
    /// needs a whole command [`load`](Self::load)s it by id.
    ///
    /// The cache is not consulted: it never holds a state the store does not.
    ///
    /// # Errors
    /// Store and corruption errors.
    pub async fn list(&mut self, filter: &ListFilter) -> Result<SummaryPage> {
        Ok(self.store.list_summaries(filter).await?)
    }

    /// Deletes at most `max_rows` final commands whose `ModifiedTs` is before `before`, oldest
    /// first, in one store transaction ([`CommandStore::purge_finished`]), and evicts any of
    /// them that is cached (a final command still waiting for completions can be).
    ///
    /// # Errors
    /// Store errors; nothing is evicted then.
    pub async fn purge_finished(
        &mut self,
        before: Timestamp,
        max_rows: u32,
    ) -> Result<Vec<PurgedCommand>> {
        let purged = transaction("purge", self.store.purge_finished(before, max_rows)).await?;
        for p in &purged {
            self.cache.evict(&p.id, Eviction::Deleted);
        }
        Ok(purged)
    }

    /// The current time by the configured clock, in UTC.
    pub(crate) fn now(&self) -> Timestamp {
        (self.config.clock)().to_utc()
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
