//! [`CacheStats`]: counters of the command cache.

/// Counters of the command cache, as returned by [`Persister::stats`](crate::Persister::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Messages that found their command cached.
    pub hits: u64,
    /// Messages that had to load their command.
    pub misses: u64,
    /// Commands loaded from the store.
    pub loads: u64,
    /// Evictions because the command was finalized.
    pub evicted_final: u64,
    /// Evictions because the cache exceeded its byte cap.
    pub evicted_capacity: u64,
    /// Evictions because a write failed (the next message reloads the stored state).
    pub evicted_error: u64,
    /// Evictions because the command was deleted.
    pub evicted_deleted: u64,
    /// Evictions because the command was idle too long.
    pub evicted_idle: u64,
    /// Commands cached now.
    pub entries: u64,
    /// Bytes cached now (the JSON size of the cached commands).
    pub bytes: u64,
}
