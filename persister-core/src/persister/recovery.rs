//! Recovery on start (D9) and the idle timeout.

use std::time::Duration;

use super::Persister;
use crate::error::Result;
use crate::messages::Ack;
use crate::model::FormaCommand;

impl Persister {
    /// Loads every command that is not in a final state into the cache (a warm start) and
    /// returns their snapshots so the caller can resume them.
    ///
    /// A command whose resource updates are all final (a crash took its last completions) is
    /// finalized here, as `finalize_incomplete` does; a sync command without versions is then
    /// deleted and not returned.
    ///
    /// # Errors
    /// Store and corruption errors; commands recovered before the error stay cached.
    pub async fn recover(&mut self) -> Result<Vec<FormaCommand>> {
        let ids = self.store.list_unfinished().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let entry = self.entry(&id).await?;
            let all_final = entry.command.resource_updates.iter().all(|r| r.state.is_final());
            if all_final && self.finalize_incomplete(&id).await? == Ack::Deleted {
                continue;
            }
            out.push(self.load(&id).await?);
        }
        tracing::info!(recovered = out.len(), "recovered unfinished commands");
        Ok(out)
    }

    /// Evicts active commands unused for longer than `idle`; they are reloaded on demand.
    pub fn evict_idle(&mut self, idle: Duration) {
        self.cache.evict_idle(idle);
    }
}
