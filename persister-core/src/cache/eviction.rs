//! Why entries leave the cache, and the least-recently-used choice under the byte cap.

/// Why a command left the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Eviction {
    /// Finalized: final state and no pending completions (D6).
    Final,
    /// The cache exceeded its byte cap; the least recently used entry goes first.
    Capacity,
    /// A write failed; the stored state is the truth (D8).
    Error,
    /// The command was deleted.
    Deleted,
    /// The command was not used for longer than the idle timeout.
    Idle,
}

impl Eviction {
    /// The reason as a metrics label.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Final => "final",
            Self::Capacity => "capacity",
            Self::Error => "error",
            Self::Deleted => "deleted",
            Self::Idle => "idle",
        }
    }
}
