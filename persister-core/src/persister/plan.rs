//! Planning: the write set of one message, computed on the stage before anything is written.

use super::Persister;
use super::resources::{bulk, cancel_all_refs, complete, finalize_incomplete, progress};
use super::stage::{Fate, Stage};
use super::targets::target_states;
use super::write_set::{Planned, Refusal, WriteSet};
use crate::cache::{Entry, ResourceIndex, RowSize};
use crate::error::StoreError;
use crate::messages::{Ack, Message, Reply};
use crate::model::{FormaCommand, ResourceUpdateState};
use crate::store::{Completion, StoredCommand, WriteOp};

impl Persister {
    /// Computes the write set of `messages[i]` on `stage`, after the effects of the messages
    /// before it in the stage. Nothing is written and the cache is changed only by taking the
    /// command's entry into the stage.
    pub(super) async fn plan(
        &mut self,
        stage: &mut Stage,
        messages: &[Message],
        i: usize,
    ) -> Planned {
        let Some(message) = messages.get(i) else {
            return Ok(WriteSet::ignored());
        };
        if let Message::StoreNew(command) | Message::Import(command) = message {
            let imported = matches!(message, Message::Import(_));
            return self.plan_store_new(stage, command, i, imported);
        }
        let id = message.command_id();
        let cached = stage.holds(id) || self.cache.contains(id);
        let entry =
            stage.entry(&mut self.cache, &*self.store, &mut self.codec, messages, id).await?;
        let (codec, config) = (&mut self.codec, &self.config);
        let planned = match message {
            Message::StoreNew(_) | Message::Import(_) => Ok(WriteSet::ignored()),
            Message::Load(_) => Ok(load(entry, cached)),
            Message::Progress(m) => progress(codec, config, entry, m),
            Message::Complete(m) => complete(codec, config, entry, m),
            Message::TargetStates { updates, .. } => {
                target_states(codec, config, id, entry, updates)
            }
            Message::MarkRejected { refs, modified_ts, .. } => {
                bulk(codec, config, id, entry, refs, ResourceUpdateState::Rejected, *modified_ts)
            }
            Message::MarkFailed { refs, modified_ts, .. } => {
                bulk(codec, config, id, entry, refs, ResourceUpdateState::Failed, *modified_ts)
            }
            Message::MarkCanceled { refs, .. } => {
                let now = (config.clock)().to_utc();
                bulk(codec, config, id, entry, refs, ResourceUpdateState::Canceled, now)
            }
            Message::CancelAll(_) => match cancel_all_refs(entry) {
                Some(refs) => {
                    let now = (config.clock)().to_utc();
                    bulk(codec, config, id, entry, &refs, ResourceUpdateState::Canceled, now)
                }
                None => Ok(WriteSet::ignored()),
            },
            Message::FinalizeIncomplete(_) => finalize_incomplete(codec, config, id, entry),
        };
        let set = planned?;
        if set.deleted {
            stage.delete(id);
        } else if let Some(fate) = set.fate {
            stage.set_fate(id, fate);
        }
        Ok(set)
    }

    /// The write set of `StoreNewFormaCommand`: the encoded command, staged as a new entry
    /// whose command is still the message's.
    ///
    /// An `imported` command records each resource update already final as completed (its
    /// completion arrived where the command comes from), and is not cached when it is final
    /// with nothing pending.
    fn plan_store_new(
        &mut self,
        stage: &mut Stage,
        command: &FormaCommand,
        i: usize,
        imported: bool,
    ) -> Planned {
        let id = &command.id;
        if stage.holds(id) {
            return Err(Refusal::Unchanged(StoreError::AlreadyExists { id: id.clone() }.into()));
        }
        let index = ResourceIndex::build(&command.resource_updates).map_err(|d| {
            StoreError::DuplicateKey {
                id: id.clone(),
                ksuid: d.ksuid,
                operation: d.operation.as_str().to_owned(),
            }
        })?;
        let mut stored = self.codec.stored(command)?;
        if imported {
            for (row, ru) in stored.resource_updates.iter_mut().zip(&command.resource_updates) {
                if ru.state.is_final() {
                    row.completion = Completion::Completed;
                }
            }
        }
        let header_bytes = (stored.header.body.len(), stored.header.head.len());
        let ru_bytes = stored.resource_updates.iter().map(RowSize::of).collect();
        let completions = stored.resource_updates.iter().map(|r| r.completion).collect();
        let entry =
            Entry::new(FormaCommand::default(), index, completions, 0, header_bytes, ru_bytes);
        let settled = command.is_final() && completions_pending(&stored) == 0;
        stage.insert(id.clone(), entry, i);
        if imported && settled {
            stage.set_fate(id, Fate::Uncached);
        }
        Ok(WriteSet {
            op: Some(WriteOp::Insert(stored)),
            reply: Reply::Ack(Ack::Applied),
            fate: None,
            deleted: false,
        })
    }
}

/// The reply to `LoadFormaCommand`: an owned snapshot. A command loaded from the store that is
/// final with no completions pending is not cached.
fn load(entry: &Entry, cached: bool) -> WriteSet {
    let snapshot = entry.command.clone();
    let fate =
        (!cached && entry.command.is_final() && entry.pending() == 0).then_some(Fate::Uncached);
    WriteSet { fate, ..WriteSet::reply(Reply::Command(Box::new(snapshot))) }
}

/// The resource updates of `stored` whose completion is still expected.
fn completions_pending(stored: &StoredCommand) -> usize {
    stored.resource_updates.iter().filter(|r| r.completion.is_pending()).count()
}
