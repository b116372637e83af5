//! `UpdateTargetStates` (D5).

use super::write_set::{Planned, settle};
use super::{CodecStats, Persister, PersisterConfig};
use crate::cache::Entry;
use crate::error::Result;
use crate::messages::{Ack, Message};
use crate::model::TargetUpdate;
use crate::overall::overall_state;

impl Persister {
    /// Merges target updates by (target label, operation) (`UpdateTargetStates`, D5).
    ///
    /// A target already final is never overwritten; a new (label, operation) is appended. The
    /// command's state is recomputed (targets count) and persisted in the same transaction;
    /// its `ModifiedTs` is unchanged. The command is finalized when final with nothing pending.
    ///
    /// # Errors
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) for an unknown command; codec and
    /// store errors.
    pub async fn update_target_states(
        &mut self,
        id: &str,
        updates: Vec<TargetUpdate>,
    ) -> Result<Ack> {
        self.ack(Message::TargetStates { id: id.to_owned(), updates }).await
    }
}

/// The effect of target updates on their command's staged entry (D5).
pub(super) fn target_states(
    codec: &mut CodecStats,
    config: &PersisterConfig,
    id: &str,
    entry: &mut Entry,
    updates: &[TargetUpdate],
) -> Planned {
    let targets = &mut entry.command.target_updates;
    for update in updates {
        let existing = targets
            .iter_mut()
            .find(|t| t.target.label == update.target.label && t.operation == update.operation);
        match existing {
            Some(t) if t.state.is_final() => {}
            Some(t) => t.clone_from(update),
            None => targets.push(update.clone()),
        }
    }
    entry.command.state = overall_state(&entry.command);
    settle(codec, config, id, entry, Vec::new(), false)
}
