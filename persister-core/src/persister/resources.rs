//! Messages about resource updates: progress (D2), completion (D3), bulk marks (D4) and
//! finalize-incomplete (D9). Each public method sends its message through
//! [`Persister::handle`]; the functions below compute its effect on the staged entry.

use super::write_set::{Changed, Planned, Refusal, WriteSet, checkpoint, settle};
use super::{CodecStats, Persister, PersisterConfig, stage::Fate};
use crate::cache::Entry;
use crate::error::{Error, Result};
use crate::finalize;
use crate::messages::{Ack, Message, Reply, ResourceCompletion, ResourceProgress};
use crate::model::{
    CommandState, ResourceUpdateRef, ResourceUpdateState, Timestamp, ksuid_from_uri,
};
use crate::overall::overall_state;
use crate::store::Completion;

impl Persister {
    /// Applies a progress report (`UpdateResourceProgress`, D2).
    ///
    /// Ignored when the command is Canceled or the resource update is final. Otherwise the
    /// resource update takes the reported state, timestamps and progress result (its
    /// `ResourceProperties` hashed), and the command's `ModifiedTs` is set, its `StartTs` if
    /// zero, and its state moves from NotStarted to InProgress; progress never makes a command
    /// final. An unknown (KSUID, operation) still updates the command.
    ///
    /// # Errors
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) for an unknown command; codec and
    /// store errors.
    pub async fn update_progress(&mut self, msg: ResourceProgress) -> Result<Ack> {
        self.ack(Message::Progress(Box::new(msg))).await
    }

    /// Applies a completion (`MarkResourceUpdateAsComplete`, D3).
    ///
    /// An unknown key, or a resource update whose completion already arrived or that a bulk
    /// message made final, is ignored. Otherwise the resource update takes the final state,
    /// timestamps, properties (hashed) and version, its completion is recorded, the command's
    /// state is recomputed, and the command is finalized when final with nothing pending.
    ///
    /// # Errors
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) for an unknown command; codec and
    /// store errors.
    pub async fn complete(&mut self, msg: ResourceCompletion) -> Result<Ack> {
        self.ack(Message::Complete(Box::new(msg))).await
    }

    /// Marks resource updates Rejected (`MarkResourcesAsRejected`, D4).
    ///
    /// # Errors
    /// As [`mark_failed`](Self::mark_failed).
    pub async fn mark_rejected(
        &mut self,
        id: &str,
        refs: &[ResourceUpdateRef],
        modified_ts: Timestamp,
    ) -> Result<Ack> {
        self.ack(Message::MarkRejected { id: id.to_owned(), refs: refs.to_vec(), modified_ts })
            .await
    }

    /// Marks resource updates Failed (`MarkResourcesAsFailed`, D4).
    ///
    /// Unknown references and final resource updates are skipped; the others become Failed at
    /// `modified_ts` and stop being pending. The command's `ModifiedTs` becomes `modified_ts`,
    /// its state is recomputed, and it is finalized when final with nothing pending.
    ///
    /// # Errors
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) for an unknown command; codec and
    /// store errors.
    pub async fn mark_failed(
        &mut self,
        id: &str,
        refs: &[ResourceUpdateRef],
        modified_ts: Timestamp,
    ) -> Result<Ack> {
        self.ack(Message::MarkFailed { id: id.to_owned(), refs: refs.to_vec(), modified_ts }).await
    }

    /// Marks resource updates Canceled now, in UTC (`MarkResourcesAsCanceled`, D4).
    ///
    /// # Errors
    /// As [`mark_failed`](Self::mark_failed).
    pub async fn mark_canceled(&mut self, id: &str, refs: &[ResourceUpdateRef]) -> Result<Ack> {
        self.ack(Message::MarkCanceled { id: id.to_owned(), refs: refs.to_vec() }).await
    }

    /// Cancels every resource update that is not final (`MarkCommandResourcesAsCanceled`).
    /// When there is none, nothing is written.
    ///
    /// # Errors
    /// As [`mark_failed`](Self::mark_failed).
    pub async fn cancel_all(&mut self, id: &str) -> Result<Ack> {
        self.ack(Message::CancelAll(id.to_owned())).await
    }

    /// Finalizes a command whose resource updates are all final (`FinalizeIncompleteCommand`,
    /// D9), treating completions still pending as lost. Its state is recomputed and its
    /// `ModifiedTs` set to now.
    ///
    /// # Errors
    /// [`Error::NotAllFinal`] (nothing changed) while any resource update is not final;
    /// [`StoreError::NotFound`](crate::StoreError::NotFound); codec and store errors.
    pub async fn finalize_incomplete(&mut self, id: &str) -> Result<Ack> {
        self.ack(Message::FinalizeIncomplete(id.to_owned())).await
    }
}

/// The effect of a progress report on its command's staged entry (D2).
pub(super) fn progress(
    codec: &mut CodecStats,
    config: &PersisterConfig,
    entry: &mut Entry,
    msg: &ResourceProgress,
) -> Planned {
    if entry.command.state == CommandState::Canceled {
        return Ok(WriteSet::ignored());
    }
    let position = entry.index.get(ksuid_from_uri(&msg.resource_uri), msg.operation);
    let mut rows = Vec::new();
    if let Some(p) = position {
        let Some(ru) = entry.command.resource_updates.get_mut(p) else {
            return Ok(WriteSet::ignored());
        };
        if ru.state.is_final() {
            return Ok(WriteSet::ignored());
        }
        // Everything that can fail before the entry changes. Most reports carry no
        // properties: the opaque names are looked up only for those that do.
        let mut progress = msg.progress.clone();
        if progress.resource_properties.is_some() {
            let names = finalize::opaque_names(&ru.resource, &config.opaque_fields);
            finalize::hash_progress(&mut progress, &names)?;
        }
        ru.state = msg.resource_state;
        ru.start_ts = msg.resource_start_ts;
        ru.modified_ts = msg.resource_modified_ts;
        let list = ru.progress_result.get_or_insert_with(Vec::new);
        match list.iter_mut().find(|pr| pr.operation == progress.operation) {
            Some(slot) => *slot = progress.clone(),
            None => list.push(progress.clone()),
        }
        ru.most_recent_progress_result = progress;
        let mut fixed = false;
        if let Some(props) = &msg.resource_properties {
            // `Properties` has no omitempty: a raw `null` is stored as nil, as it reads back.
            let props = (!props.is_null()).then(|| props.clone());
            fixed |= ru.resource.properties != props;
            ru.resource.properties = props;
        }
        if let Some(props) = &msg.resource_read_only_properties {
            fixed |= ru.resource.read_only_properties.as_ref() != Some(props);
            ru.resource.read_only_properties = Some(props.clone());
        }
        if !msg.version.is_empty() {
            ru.version.clone_from(&msg.version);
        }
        rows.push(Changed { position: p, fixed });
    }
    let command = &mut entry.command;
    if command.start_ts.is_zero() {
        command.start_ts = msg.resource_start_ts;
    }
    command.modified_ts = msg.resource_modified_ts;
    if command.state == CommandState::NotStarted {
        command.state = CommandState::InProgress;
    }
    let op = checkpoint(codec, &msg.command_id, entry, &rows, false)
        .map_err(|e| Refusal::Spoiled(e.into()))?;
    Ok(WriteSet {
        op: Some(op),
        reply: Reply::Ack(Ack::Applied),
        fate: Some(Fate::Keep),
        deleted: false,
    })
}

/// The effect of a completion on its command's staged entry (D3).
pub(super) fn complete(
    codec: &mut CodecStats,
    config: &PersisterConfig,
    entry: &mut Entry,
    msg: &ResourceCompletion,
) -> Planned {
    let Some(p) = entry.index.get(ksuid_from_uri(&msg.resource_uri), msg.operation) else {
        return Ok(WriteSet::ignored());
    };
    if !entry.completion(p).is_pending() {
        return Ok(WriteSet::ignored());
    }
    let Some(ru) = entry.command.resource_updates.get_mut(p) else {
        return Ok(WriteSet::ignored());
    };
    // Everything that can fail before the entry changes.
    let names = finalize::opaque_names(&ru.resource, &config.opaque_fields);
    let mut properties = msg.resource_properties.clone();
    let mut read_only = msg.resource_read_only_properties.clone();
    finalize::hash_raw(&mut properties, &names, "ResourceProperties")?;
    finalize::hash_raw(&mut read_only, &names, "ResourceReadOnlyProperties")?;
    ru.state = msg.final_state;
    ru.start_ts = msg.resource_start_ts;
    ru.modified_ts = msg.resource_modified_ts;
    let mut fixed = false;
    if let Some(props) = properties {
        let props = (!props.is_null()).then_some(props);
        fixed |= ru.resource.properties != props;
        ru.resource.properties = props;
    }
    if read_only.is_some() {
        fixed |= ru.resource.read_only_properties != read_only;
        ru.resource.read_only_properties = read_only;
    }
    if !msg.version.is_empty() {
        ru.version.clone_from(&msg.version);
    }
    entry.set_completion(p, Completion::Completed);
    entry.command.modified_ts = msg.resource_modified_ts;
    entry.command.state = overall_state(&entry.command);
    settle(codec, config, &msg.command_id, entry, vec![Changed { position: p, fixed }], false)
}

/// The references of every resource update of `entry` that is not final, for cancel-all;
/// `None` when there is none (nothing to write).
pub(super) fn cancel_all_refs(entry: &Entry) -> Option<Vec<ResourceUpdateRef>> {
    let refs: Vec<ResourceUpdateRef> = entry
        .command
        .resource_updates
        .iter()
        .filter(|ru| !ru.state.is_final())
        .map(|ru| ResourceUpdateRef::new(ru.resource.uri(), ru.operation))
        .collect();
    (!refs.is_empty()).then_some(refs)
}

/// The effect of finalize-incomplete on its command's staged entry (D9).
pub(super) fn finalize_incomplete(
    codec: &mut CodecStats,
    config: &PersisterConfig,
    id: &str,
    entry: &mut Entry,
) -> Planned {
    let not_final = entry.command.resource_updates.iter().filter(|ru| !ru.state.is_final()).count();
    if not_final > 0 {
        return Err(Refusal::Unchanged(Error::NotAllFinal { id: id.to_owned(), not_final }));
    }
    entry.command.state = overall_state(&entry.command);
    entry.command.modified_ts = (config.clock)().to_utc();
    settle(codec, config, id, entry, Vec::new(), true)
}

/// The effect of a bulk reject, fail or cancel on its command's staged entry (D4).
pub(super) fn bulk(
    codec: &mut CodecStats,
    config: &PersisterConfig,
    id: &str,
    entry: &mut Entry,
    refs: &[ResourceUpdateRef],
    state: ResourceUpdateState,
    modified_ts: Timestamp,
) -> Planned {
    let mut rows = Vec::new();
    for r in refs {
        let Some(p) = entry.index.get(ksuid_from_uri(&r.uri), r.operation) else { continue };
        let Some(ru) = entry.command.resource_updates.get_mut(p) else { continue };
        if ru.state.is_final() {
            continue;
        }
        ru.state = state;
        ru.modified_ts = modified_ts;
        entry.set_completion(p, Completion::MadeFinalByBulk);
        rows.push(Changed::progress(p));
    }
    entry.command.modified_ts = modified_ts;
    entry.command.state = overall_state(&entry.command);
    settle(codec, config, id, entry, rows, false)
}
