//! The cache of active commands, with an O(1) index per command and a byte cap.
//!
//! Every operation on the cache is O(1) in the number of cached commands: entries live in a
//! linked hash map in the order of their last use (a use takes an entry out and puts it back
//! at the end), so the least recently used entry is the first one, the byte total is kept up
//! to date on every change, and the idle timeout walks from the front only as far as the
//! entries it evicts.

mod eviction;
mod index;
mod stats;

use std::time::{Duration, Instant};

pub(crate) use eviction::Eviction;
pub(crate) use index::ResourceIndex;
pub use stats::CacheStats;

use hashlink::LinkedHashMap;

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
    /// JSON sizes of each resource update's two parts.
    ru_bytes: Vec<RowSize>,
    /// Sum of `ru_bytes`, kept up to date so that sizing an entry costs nothing per message.
    ru_total: usize,
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
        ru_bytes: Vec<RowSize>,
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
            ru_total: ru_bytes.iter().map(|r| r.total()).sum(),
            ru_bytes,
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

    /// Records the new JSON sizes of the head (and of the body, when rewritten) after a write.
    pub(crate) fn set_header_sizes(&mut self, head_bytes: usize, body_bytes: Option<usize>) {
        self.head_bytes = head_bytes;
        if let Some(body_bytes) = body_bytes {
            self.body_bytes = body_bytes;
        }
    }

    /// Records the new JSON sizes of the resource update at `position` after a write:
    /// `fixed` is `None` when its fixed part was not rewritten.
    pub(crate) fn set_row_size(&mut self, position: usize, fixed: Option<usize>, progress: usize) {
        if let Some(slot) = self.ru_bytes.get_mut(position) {
            let new = RowSize { fixed: fixed.unwrap_or(slot.fixed), progress };
            self.ru_total = self.ru_total - slot.total() + new.total();
            *slot = new;
        }
    }

    /// The JSON sizes of the resource update at `position` when last written.
    pub(crate) fn ru_size(&self, position: usize) -> RowSize {
        self.ru_bytes.get(position).copied().unwrap_or_default()
    }

    /// The JSON size of the command.
    pub(crate) fn bytes(&self) -> usize {
        self.body_bytes + self.head_bytes + self.ru_total
    }
}

/// The JSON sizes of a stored resource update's two parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RowSize {
    /// The fixed part (resource, targets, existing state).
    pub(crate) fixed: usize,
    /// The progress.
    pub(crate) progress: usize,
}

impl RowSize {
    /// The sizes of a stored row.
    pub(crate) fn of(row: &crate::store::ResourceUpdateRow) -> Self {
        Self { fixed: row.fixed.len(), progress: row.progress.len() }
    }

    /// Both parts together.
    pub(crate) fn total(self) -> usize {
        self.fixed + self.progress
    }
}

/// Active commands by id, bounded in bytes.
///
/// Entries are never changed in place: a message takes its command's entry out
/// ([`take`](Cache::take)), changes it, and puts it back only once the change is durable.
#[derive(Debug)]
pub(crate) struct Cache {
    /// The entries, least recently used first.
    entries: LinkedHashMap<String, Entry>,
    /// The sum of the cached entries' [`Entry::bytes`], kept up to date on every change.
    bytes: usize,
    max_bytes: usize,
    stats: CacheStats,
}

impl Cache {
    /// An empty cache holding at most `max_bytes` of command JSON (at least one command).
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self { entries: LinkedHashMap::new(), bytes: 0, max_bytes, stats: CacheStats::default() }
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

    /// Caches `entry` under `id` as the most recently used, replacing any previous entry.
    pub(crate) fn insert(&mut self, id: String, mut entry: Entry) {
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

    /// Evicts entries unused for longer than `idle`: the first ones, in the order of use.
    pub(crate) fn evict_idle(&mut self, idle: Duration) {
        let now = Instant::now();
        while let Some((id, entry)) = self.entries.front()
            && now.duration_since(entry.last_touch) > idle
        {
            let id = id.clone();
            self.evict(&id, Eviction::Idle);
        }
    }

    /// Evicts least recently used entries until the cache fits its byte cap.
    pub(crate) fn enforce_cap(&mut self) {
        while self.bytes > self.max_bytes {
            let Some((_, entry)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= entry.bytes();
            self.count_eviction(Eviction::Capacity);
        }
        self.publish();
    }

    /// Current counters.
    pub(crate) fn stats(&self) -> CacheStats {
        let mut stats = self.stats;
        stats.entries = self.entries.len() as u64;
        stats.bytes = self.bytes as u64;
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry of `bytes` bytes of JSON.
    fn entry(bytes: usize) -> Entry {
        let command = FormaCommand::default();
        Entry::new(command, ResourceIndex::default(), vec![], 0, (bytes, 0), vec![])
    }

    fn ids(cache: &Cache) -> Vec<&str> {
        cache.entries.keys().map(String::as_str).collect()
    }

    #[test]
    fn the_least_recently_used_entries_go_first_and_the_total_follows() {
        let mut cache = Cache::new(30);
        for id in ["a", "b", "c"] {
            cache.insert(id.into(), entry(10));
        }
        // A use takes the entry out and puts it back: "a" becomes the most recent.
        let a = cache.take("a").expect("cached");
        cache.insert("a".into(), a);
        assert_eq!(ids(&cache), ["b", "c", "a"]);
        cache.insert("d".into(), entry(15));
        cache.enforce_cap();
        assert_eq!(ids(&cache), ["a", "d"], "b and c were the least recently used");
        assert_eq!(cache.stats().bytes, 25);
        assert_eq!(cache.stats().evicted_capacity, 2);
        cache.insert("d".into(), entry(5));
        assert_eq!(cache.stats().bytes, 15, "a replaced entry's bytes leave the total");
    }

    #[test]
    fn idle_entries_are_evicted_from_the_front_only() {
        let mut cache = Cache::new(usize::MAX);
        cache.insert("old".into(), entry(1));
        std::thread::sleep(Duration::from_millis(30));
        cache.insert("new".into(), entry(1));
        cache.evict_idle(Duration::from_millis(20));
        assert_eq!(ids(&cache), ["new"]);
        assert_eq!(cache.stats().evicted_idle, 1);
    }
}
