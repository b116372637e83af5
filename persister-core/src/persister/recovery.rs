//! Recovery on start (D9) and the idle timeout.

use std::time::Duration;

use super::Persister;
use crate::error::{Error, Result, StoreError};
use crate::messages::Ack;
use crate::model::FormaCommand;

/// What [`Persister::recover`] found: the commands to resume, and those it could not read.
///
/// Iterating over a `Recovery` yields the commands to resume.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Recovery {
    /// The commands that were not final, oldest first: those still unfinished, now in the
    /// cache (resume these), and those recovery finalized because all their resource updates
    /// were final (now final themselves, and no longer cached).
    pub commands: Vec<FormaCommand>,
    /// Commands that could not be recovered because of what is stored for them (corrupt
    /// rows, a value too large to write back), oldest first, each with its error. They are
    /// left in the store as they are; every other command is recovered.
    pub failed: Vec<RecoveryFailure>,
}

/// One command [`Persister::recover`] could not recover.
#[derive(Debug)]
#[non_exhaustive]
pub struct RecoveryFailure {
    /// The command id.
    pub id: String,
    /// Why it could not be recovered: an error about this command's stored data. Errors of
    /// the store itself (a transient one, or a permanent one such as a full disk or a lost
    /// connection) fail the whole recovery instead.
    pub error: Error,
}

impl Recovery {
    /// The commands to resume.
    pub fn commands(&self) -> &[FormaCommand] {
        &self.commands
    }
}

impl IntoIterator for Recovery {
    type Item = FormaCommand;
    type IntoIter = std::vec::IntoIter<FormaCommand>;

    fn into_iter(self) -> Self::IntoIter {
        self.commands.into_iter()
    }
}

impl Persister {
    /// Loads every command that is not in a final state into the cache (a warm start) and
    /// returns their snapshots so the caller can resume them.
    ///
    /// A command whose resource updates are all final (a crash took its last completions) is
    /// finalized here, as `finalize_incomplete` does; a sync command without versions is then
    /// deleted and not returned. A command whose stored data cannot be read back (or written
    /// back) does not stop the others: it is logged and reported in [`Recovery::failed`].
    ///
    /// # Errors
    /// Errors of the store itself, transient or not (commands recovered before the error stay
    /// cached, and recovering again is harmless).
    pub async fn recover(&mut self) -> Result<Recovery> {
        let ids = self.store.list_unfinished().await?;
        let mut recovery = Recovery { commands: Vec::with_capacity(ids.len()), failed: vec![] };
        for id in ids {
            match self.recover_one(&id).await {
                Ok(Some(command)) => recovery.commands.push(command),
                Ok(None) => {}
                // Deleted since it was listed (by another instance): nothing to resume.
                Err(error) if error.is_not_found() => {}
                Err(error) if about_the_command(&error) => {
                    tracing::error!(command_id = %id, %error, "command cannot be recovered");
                    recovery.failed.push(RecoveryFailure { id, error });
                }
                Err(error) => return Err(error),
            }
        }
        tracing::info!(
            recovered = recovery.commands.len(),
            failed = recovery.failed.len(),
            "recovered unfinished commands"
        );
        Ok(recovery)
    }

    /// Recovers one command: its snapshot, or `None` if finalizing it deleted it.
    async fn recover_one(&mut self, id: &str) -> Result<Option<FormaCommand>> {
        let command = self.load(id).await?;
        if !command.resource_updates.iter().all(|r| r.state.is_final()) {
            return Ok(Some(command));
        }
        if self.finalize_incomplete(id).await? == Ack::Deleted {
            return Ok(None);
        }
        self.load(id).await.map(Some)
    }

    /// Evicts active commands unused for longer than `idle`; they are reloaded on demand.
    pub fn evict_idle(&mut self, idle: Duration) {
        self.cache.evict_idle(idle);
    }
}

/// True for errors about one command's stored data, which other commands do not share.
fn about_the_command(error: &Error) -> bool {
    matches!(
        error,
        Error::Codec(_)
            | Error::NotAllFinal { .. }
            | Error::Store(
                StoreError::Corrupt { .. }
                    | StoreError::TooLarge { .. }
                    | StoreError::DuplicateKey { .. }
            )
    )
}
