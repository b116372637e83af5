//! [`HandleConfig`]: the settings of a [`PersisterHandle`](super::PersisterHandle).

use std::time::Duration;

/// Settings of a [`PersisterHandle`](super::PersisterHandle).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HandleConfig {
    /// How long a call waits for its reply before failing with [`Error::Timeout`](crate::Error::Timeout). Default 5 s.
    pub call_timeout: Duration,
    /// Whether queued messages are committed together. Default on.
    pub group_commit: bool,
    /// Most messages committed in one transaction. Default 256.
    pub max_batch: usize,
    /// Capacity of the mailbox; senders wait when it is full. Default 65,536.
    pub mailbox: usize,
    /// Active commands untouched for this long are evicted (and reloaded on demand). Default
    /// none.
    pub idle_timeout: Option<Duration>,
    /// Final commands whose `ModifiedTs` is older than this are deleted in the background
    /// (see [`retain_finished_for`](Self::retain_finished_for)). Default none: kept forever.
    pub retain_finished_for: Option<Duration>,
    /// Most commands deleted by one background purge step (one short transaction). Default
    /// 100.
    pub purge_batch: u32,
    /// Whether a call whose message failed with a transient error (a busy or unreachable
    /// store, a conflict, a lost commit found not to have taken effect) sends it again, with
    /// exponential backoff and jitter, until it succeeds, fails otherwise or the call timeout
    /// is near. Only messages that wrote nothing come back to be retried, so a retry never
    /// applies a message twice. Counted in `persister_retries_total{kind}`. Default on.
    pub retry_transient: bool,
    /// Whether the task runs on a thread of its own, with its own single-threaded runtime,
    /// marked as one that may block ([`blocking::allow_blocking`](crate::blocking::allow_blocking)):
    /// a store whose calls block (SQLite) then runs them right on that thread, so a message
    /// costs no thread hop between the task and the store's thread. For stores that block;
    /// leave it off for PostgreSQL, whose pool belongs to the caller's runtime. Default off.
    pub dedicated_thread: bool,
}

impl Default for HandleConfig {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(5),
            group_commit: true,
            max_batch: 256,
            mailbox: 65_536,
            idle_timeout: None,
            retain_finished_for: None,
            purge_batch: 100,
            retry_transient: true,
            dedicated_thread: false,
        }
    }
}

impl HandleConfig {
    /// Turns the retries of transient errors on or off.
    #[must_use]
    pub fn retry_transient(mut self, on: bool) -> Self {
        self.retry_transient = on;
        self
    }

    /// Sets the per-call timeout.
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Turns group commit on or off.
    #[must_use]
    pub fn group_commit(mut self, on: bool) -> Self {
        self.group_commit = on;
        self
    }

    /// Sets the largest batch.
    #[must_use]
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// Sets the idle timeout of active commands.
    #[must_use]
    pub fn idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Sets how long final commands are kept after their last change (`None`: forever).
    ///
    /// With a retention set, the task deletes final commands whose `ModifiedTs` is older
    /// than that, by the persister's clock, through
    /// [`Persister::purge_finished`](crate::Persister::purge_finished): one step of at most [`purge_batch`](Self::purge_batch)
    /// commands at a time, between batches of messages or while idle, so a message waits for
    /// at most one short purge transaction. A step runs when the previous one found a full
    /// batch (a backlog), else about once a second. Each step is counted in
    /// `persister_purged_total` and timed in `persister_purge_seconds`; a failed step is
    /// logged and retried at the next one. Commands that are not final are never deleted.
    #[must_use]
    pub fn retain_finished_for(mut self, retain: Option<Duration>) -> Self {
        self.retain_finished_for = retain;
        self
    }

    /// Sets the most commands one purge step deletes (at least 1).
    #[must_use]
    pub fn purge_batch(mut self, rows: u32) -> Self {
        self.purge_batch = rows.max(1);
        self
    }

    /// Runs the task on a thread of its own that may block (see
    /// [`dedicated_thread`](Self::dedicated_thread)).
    #[must_use]
    pub fn dedicated_thread(mut self, on: bool) -> Self {
        self.dedicated_thread = on;
        self
    }
}
