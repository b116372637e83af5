//! The background purge of [`PersisterHandle`](crate::PersisterHandle): one small step of
//! [`Persister::purge_finished`] at a time, when one is due.

use std::time::{Duration, Instant};

use crate::handle::HandleConfig;
use crate::model::Timestamp;
use crate::persister::Persister;

/// How long the task waits between purge steps once it has caught up.
const CAUGHT_UP_PAUSE: Duration = Duration::from_secs(1);

/// The purge schedule of one handle task.
#[derive(Debug)]
pub(crate) struct Purge {
    /// How long final commands are kept; `None` turns purging off.
    retain: Option<time::Duration>,
    /// Most commands per step.
    batch: u32,
    /// When the next step is due.
    due: Instant,
}

impl Purge {
    /// The schedule `config` asks for; the first step is due at once.
    pub(crate) fn new(config: &HandleConfig) -> Self {
        Self {
            // A retention too long for `time` to represent keeps everything, as `None` does.
            retain: config.retain_finished_for.and_then(|d| time::Duration::try_from(d).ok()),
            batch: config.purge_batch.max(1),
            due: Instant::now(),
        }
    }

    /// How long until the next step is due, or `None` when purging is off.
    pub(crate) fn due_in(&self) -> Option<Duration> {
        self.retain.map(|_| self.due.saturating_duration_since(Instant::now()))
    }

    /// Runs one step if one is due: deletes at most one batch of final commands older than
    /// the retention, records it in the metrics, and schedules the next step (at once when
    /// the batch was full, else after a pause).
    pub(crate) async fn step(&mut self, persister: &mut Persister) {
        let Some(retain) = self.retain else {
            return;
        };
        if Instant::now() < self.due {
            return;
        }
        let now = persister.now();
        let Some(before) = now.datetime().checked_sub(retain).map(Timestamp::from_datetime) else {
            self.due = Instant::now() + CAUGHT_UP_PAUSE;
            return;
        };
        let started = Instant::now();
        let result = persister.purge_finished(before, self.batch).await;
        metrics::histogram!("persister_purge_seconds").record(started.elapsed().as_secs_f64());
        let full = match result {
            Ok(purged) => {
                metrics::counter!("persister_purged_total").increment(purged.len() as u64);
                if !purged.is_empty() {
                    tracing::debug!(purged = purged.len(), "purged finished commands");
                }
                purged.len() >= usize::try_from(self.batch).unwrap_or(usize::MAX)
            }
            Err(error) => {
                tracing::warn!(%error, "purging finished commands failed; retrying later");
                false
            }
        };
        self.due = if full { Instant::now() } else { Instant::now() + CAUGHT_UP_PAUSE };
    }
}
