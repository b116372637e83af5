//! The cache of active commands, with an O(1) index per command and a byte cap.

mod eviction;
mod index;
mod stats;

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub(crate) use eviction::Eviction;
pub(crate) use index::ResourceIndex;
pub use stats::CacheStats;

use crate::model::FormaCommand;
use crate::store::Completion;

/// One cached command.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The decoded command (the cache's copy; callers get clones).
    pub(crate) command: FormaCommand,
    /// (KSUID, operation) -> position.
    pub(crate) index: ResourceIndex,
    /// Completion record per position (D3).
    completions: Vec<Completion>,
    /// Number of positions whose record is `Pending`.
    pending: usize,
    /// The stored revision this entry reflects.
    pub(crate) revision: i64,
    /// JSON size of the body.
    body_bytes: usize,
    /// JSON size of the head.
    head_bytes: usize,
    /// JSON size of each resource update.
    ru_bytes: Vec<usize>,
    /// Sum of `ru_bytes`, kept up to date so that sizing an entry costs nothing per message.
    ru_total: usize,
    /// Logical clock of the last use, for LRU eviction.
    last_used: u64,
    /// When the entry was last used, for the idle timeout.
    last_touch: Instant,
}

impl Entry {
    /// Builds an entry; `ru_bytes` and `completions` have one element per resource update.
    pub(crate) fn new(
        command: FormaCommand,
        index: ResourceIndex,
        completions: Vec<Completion>,
        revision: i64,
        (body_bytes, head_bytes): (usize, usize),
        ru_bytes: Vec<usize>,
    ) -> Self {
        let pending = completions.iter().filter(|c| c.is_pending()).count();
        Self {
            command,
            index,
            completions,
            pending,
            revision,
            body_bytes,
            head_bytes,
            ru_total: ru_bytes.iter().sum(),
            ru_bytes,
            last_used: 0,
            last_touch: Instant::now(),
        }
    }

    /// The completion record of a position.
    pub(crate) fn completion(&self, position: usize) -> Completion {
        self.completions.get(position).copied().unwrap_or_default()
    }

    /// Records a completion for a position, keeping the pending count exact.
    pub(crate) fn set_completion(&mut self, position: usize, completion: Completion) {
        if let Some(slot) = self.completions.get_mut(position) {
            if slot.is_pending() && !completion.is_pending() {
                self.pending -= 1;
            } else if !slot.is_pending() && completion.is_pending() {
                self.pending += 1;
            }
            *slot = completion;
        }
    }

    /// Completions still expected.
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Records the new JSON sizes after a write.
    pub(crate) fn set_sizes(
        &mut self,
        head_bytes: usize,
        body_bytes: Option<usize>,
        rows: &[(usize, usize)],
    ) {
        self.head_bytes = head_bytes;
        if let Some(body_bytes) = body_bytes {
            self.body_bytes = body_bytes;
        }
        for &(position, bytes) in rows {
            if let Some(slot) = self.ru_bytes.get_mut(position) {
                self.ru_total = self.ru_total - *slot + bytes;
                *slot = bytes;
            }
        }
    }

    /// The JSON size of the resource update at `position` when last written.
    pub(crate) fn ru_size(&self, position: usize) -> usize {
        self.ru_bytes.get(position).copied().unwrap_or(0)
    }

    /// The JSON size of the command.
    pub(crate) fn bytes(&self) -> usize {
        self.body_bytes + self.head_bytes + self.ru_total
    }
}

/// Active commands by id, bounded in bytes.
///
/// Entries are never changed in place: a message takes its command's entry out
/// ([`take`](Cache::take)), changes it, and puts it back only once the change is durable.
#[derive(Debug)]
pub(crate) struct Cache {
    entries: HashMap<String, Entry>,
    /// The sum of the cached entries' [`Entry::bytes`], kept up to date on every change.
    bytes: usize,
    max_bytes: usize,
    clock: u64,
    stats: CacheStats,
}

impl Cache {
    /// An empty cache holding at most `max_bytes` of command JSON (at least one command).
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            entries: HashMap::new(),
            bytes: 0,
            max_bytes,
            clock: 0,
            stats: CacheStats::default(),
        }
    }

    /// True when `id` is cached (does not count as a use).
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }

    /// Takes the entry of `id` out of the cache, for a message to change it; it is not an
    /// eviction. Whoever takes an entry puts it back with [`insert`](Self::insert) once the
    /// change is durable, or drops it (the next message reloads the stored state).
    pub(crate) fn take(&mut self, id: &str) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.bytes -= entry.bytes();
        Some(entry)
    }

    /// Counts a lookup that found its entry.
    pub(crate) fn record_hit(&mut self) {
        self.stats.hits += 1;
        metrics::counter!("persister_cache_hits_total").increment(1);
    }

    /// Counts a lookup that had to load.
    pub(crate) fn record_miss(&mut self) {
        self.stats.misses += 1;
        self.stats.loads += 1;
        metrics::counter!("persister_cache_misses_total").increment(1);
    }

    /// Caches `entry` under `id`, replacing any previous entry.
    pub(crate) fn insert(&mut self, id: String, mut entry: Entry) {
        self.clock += 1;
        entry.last_used = self.clock;
        entry.last_touch = Instant::now();
        self.bytes += entry.bytes();
        if let Some(old) = self.entries.insert(id, entry) {
            self.bytes -= old.bytes();
        }
        self.publish();
    }

    /// Sets the `persister_cache_entries` and `persister_cache_bytes` gauges.
    pub(crate) fn publish(&self) {
        metrics::gauge!("persister_cache_entries").set(self.entries.len() as f64);
        metrics::gauge!("persister_cache_bytes").set(self.bytes as f64);
    }

    /// Removes `id`, counting why.
    pub(crate) fn evict(&mut self, id: &str, why: Eviction) -> Option<Entry> {
        let entry = self.take(id)?;
        self.count_eviction(why);
        self.publish();
        Some(entry)
    }

    /// Counts an entry that left the cache for `why` (one taken out and then dropped, say).
    pub(crate) fn count_eviction(&mut self, why: Eviction) {
        match why {
            Eviction::Final => self.stats.evicted_final += 1,
            Eviction::Capacity => self.stats.evicted_capacity += 1,
            Eviction::Error => self.stats.evicted_error += 1,
            Eviction::Deleted => self.stats.evicted_deleted += 1,
            Eviction::Idle => self.stats.evicted_idle += 1,
        }
        metrics::counter!("persister_cache_evictions_total", "reason" => why.name()).increment(1);
    }

    /// Evicts entries unused for longer than `idle`.
    pub(crate) fn evict_idle(&mut self, idle: Duration) {
        let now = Instant::now();
        let stale: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| now.duration_since(e.last_touch) > idle)
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            self.evict(&id, Eviction::Idle);
        }
    }

    /// Evicts least recently used entries until the cache fits its byte cap.
    pub(crate) fn enforce_cap(&mut self) {
        while self.bytes > self.max_bytes {
            let Some(victim) =
                self.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(id, _)| id.clone())
            else {
                break;
            };
            self.evict(&victim, Eviction::Capacity);
        }
    }

    /// Current counters.
    pub(crate) fn stats(&self) -> CacheStats {
        let mut stats = self.stats;
        stats.entries = self.entries.len() as u64;
        stats.bytes = self.bytes as u64;
        stats
    }
}
