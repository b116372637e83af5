//! [`Stage`]: the cache entries that messages being handled have taken out of the cache.
//!
//! A message never changes an entry that is in the cache. It takes its command's entry into
//! the stage (from the cache, or loaded from the store), changes it there, and the stage puts
//! it back only after the message's write is durable. Dropping a stage at any point, a
//! dropped future included, leaves the cache without those entries, which is always
//! consistent with the store: the next message reloads the stored state.

use std::collections::HashMap;

use super::CodecStats;
use crate::cache::{Cache, Entry, Eviction};
use crate::error::{Result, StoreError};
use crate::messages::Message;
use crate::store::DynCommandStore;

/// What becomes of a staged entry once the stage's writes are durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    /// It goes back to the cache.
    Keep,
    /// It is not cached: a final command loaded only to be read.
    Uncached,
    /// It was finalized: it leaves the cache (D6).
    Final,
}

/// A command's entry in a stage, with what becomes of it.
#[derive(Debug)]
struct Staged {
    /// The entry, changed by the stage's messages.
    entry: Entry,
    /// What happens to it at [`Stage::finish`].
    fate: Fate,
    /// For a command stored by the stage: the index of its `StoreNew` message, whose
    /// command the entry's `command` still is (moved in at [`Stage::finish`], copied only if
    /// a later message of the stage needs it sooner).
    command_in: Option<usize>,
}

/// The entries taken out of the cache by the messages being handled together.
#[derive(Debug, Default)]
pub(super) struct Stage {
    /// Per command: its staged entry, or `None` once the stage deleted it (later messages
    /// of the stage do not find it).
    slots: HashMap<String, Option<Staged>>,
    /// Commands whose entry the stage took from the cache or loaded from the store (not
    /// those it stored itself): if the stage is dropped, each left the cache on an error.
    taken: usize,
    /// Evictions to count once the stage's writes are durable.
    evictions: Vec<Eviction>,
}

impl Stage {
    /// True when the stage holds a live entry of `id` (stored, or taken from the cache).
    pub(super) fn holds(&self, id: &str) -> bool {
        matches!(self.slots.get(id), Some(Some(_)))
    }

    /// Stages a command that message `message` stores; `entry.command` is a placeholder
    /// until the command is moved in from the message.
    pub(super) fn insert(&mut self, id: String, entry: Entry, message: usize) {
        self.slots.insert(id, Some(Staged { entry, fate: Fate::Keep, command_in: Some(message) }));
    }

    /// The staged entry of `id`: staged already, taken from the cache, or loaded from the
    /// store (a cache miss). `messages` are the stage's messages, whose stored commands a
    /// staged entry may still refer to.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the command does not exist or the stage deleted it;
    /// errors of the load. The stage is unchanged on error.
    pub(super) async fn entry<'s>(
        &'s mut self,
        cache: &mut Cache,
        store: &DynCommandStore,
        codec: &mut CodecStats,
        messages: &[Message],
        id: &str,
    ) -> Result<&'s mut Entry> {
        match self.slots.get(id) {
            Some(None) => return Err(StoreError::NotFound { id: id.to_owned() }.into()),
            Some(Some(_)) => cache.record_hit(),
            None => {
                let entry = match cache.take(id) {
                    Some(entry) => {
                        cache.record_hit();
                        entry
                    }
                    None => {
                        let stored = store
                            .load(id)
                            .await?
                            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
                        cache.record_miss();
                        codec.entry(stored)?
                    }
                };
                self.taken += 1;
                let staged = Staged { entry, fate: Fate::Keep, command_in: None };
                self.slots.insert(id.to_owned(), Some(staged));
            }
        }
        match self.slots.get_mut(id) {
            Some(Some(Staged { entry, command_in, .. })) => {
                if let Some(i) = command_in.take()
                    && let Some(Message::StoreNew(command) | Message::Import(command)) =
                        messages.get(i)
                {
                    entry.command = (**command).clone();
                }
                Ok(entry)
            }
            _ => Err(StoreError::NotFound { id: id.to_owned() }.into()),
        }
    }

    /// Sets what becomes of the staged entry of `id` at [`finish`](Self::finish).
    pub(super) fn set_fate(&mut self, id: &str, new: Fate) {
        if let Some(Some(Staged { fate, .. })) = self.slots.get_mut(id) {
            if new == Fate::Final && *fate != Fate::Final {
                self.evictions.push(Eviction::Final);
            }
            *fate = new;
        }
    }

    /// Marks `id` deleted by the stage: its entry is dropped.
    pub(super) fn delete(&mut self, id: &str) {
        if let Some(Some(Staged { fate, .. })) = self.slots.insert(id.to_owned(), None)
            && fate != Fate::Final
        {
            self.evictions.push(Eviction::Deleted);
        }
    }

    /// Applies the stage to the cache once its writes are durable: kept entries go back
    /// (stored commands are moved in from `messages`), finalized and deleted ones are counted
    /// as evicted; then the cache's byte cap is enforced.
    pub(super) fn finish(self, cache: &mut Cache, messages: &mut [Message]) {
        for why in self.evictions {
            cache.count_eviction(why);
        }
        for (id, slot) in self.slots {
            let Some(Staged { mut entry, fate: Fate::Keep, command_in }) = slot else { continue };
            if let Some(i) = command_in {
                match messages.get_mut(i) {
                    Some(Message::StoreNew(command) | Message::Import(command)) => {
                        entry.command = std::mem::take(command);
                    }
                    // Not reachable: `command_in` always names a `StoreNew`. Leaving the
                    // entry out of the cache is the safe outcome.
                    _ => continue,
                }
            }
            cache.insert(id, entry);
        }
        cache.enforce_cap();
        cache.publish();
    }

    /// Drops the stage after a failure: its entries leave the cache (the store's state is
    /// the truth), each counted as an eviction on error.
    pub(super) fn discard(self, cache: &mut Cache) {
        for _ in 0..self.taken {
            cache.count_eviction(Eviction::Error);
        }
        cache.publish();
    }
}
