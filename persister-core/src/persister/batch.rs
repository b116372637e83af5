//! Group commit: many messages, one store transaction, replies identical to one-at-a-time
//! processing.
//!
//! While a batch is open, writes are staged instead of sent, and cache evictions that would
//! make a later message of the batch reload state the store does not have yet are deferred.
//! The staged writes are then committed with one [`CommandStore::write_batch`]. If any message
//! fails, or the commit fails, every entry the batch touched is evicted and the messages are
//! processed again one at a time, so one bad message fails alone.
//!
//! [`CommandStore::write_batch`]: crate::CommandStore::write_batch

use std::collections::HashSet;

use tracing::Instrument;

use super::Persister;
use crate::cache::Eviction;
use crate::error::Result;
use crate::messages::{Ack, Message, Reply};
use crate::store::WriteOp;

/// The state of an open batch.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// Writes to commit, in order.
    pub(super) ops: Vec<WriteOp>,
    /// Commands whose cache entries the batch read or changed.
    pub(super) touched: HashSet<String>,
    /// Commands finalized in the batch: evicted once the batch is committed.
    pub(super) finalized: Vec<String>,
    /// Commands deleted in the batch: not found for the rest of the batch.
    pub(super) deleted: HashSet<String>,
}

impl Persister {
    /// Handles one message.
    ///
    /// # Errors
    /// As the message's method.
    pub async fn handle(&mut self, message: Message) -> Result<Reply> {
        let span = tracing::debug_span!(
            "persister.message",
            command_id = message.command_id(),
            kind = message.kind()
        );
        self.handle_inner(message).instrument(span).await
    }

    async fn handle_inner(&mut self, message: Message) -> Result<Reply> {
        let ack = match message {
            Message::StoreNew(c) => self.store_new(*c).await.map(|()| Ack::Applied),
            Message::Load(id) => return self.load(&id).await.map(|c| Reply::Command(Box::new(c))),
            Message::Progress(m) => self.update_progress(*m).await,
            Message::Complete(m) => self.complete(*m).await,
            Message::TargetStates { id, updates } => self.update_target_states(&id, updates).await,
            Message::MarkRejected { id, refs, modified_ts } => {
                self.mark_rejected(&id, &refs, modified_ts).await
            }
            Message::MarkFailed { id, refs, modified_ts } => {
                self.mark_failed(&id, &refs, modified_ts).await
            }
            Message::MarkCanceled { id, refs } => self.mark_canceled(&id, &refs).await,
            Message::CancelAll(id) => self.cancel_all(&id).await,
            Message::FinalizeIncomplete(id) => self.finalize_incomplete(&id).await,
        };
        ack.map(Reply::Ack)
    }

    /// Handles `messages` in order and commits their combined effect in one store
    /// transaction; the replies are exactly those of handling them one at a time.
    ///
    /// If a message fails or the commit fails, the batch is undone (nothing was written) and
    /// the messages are handled again one at a time, each in its own transaction.
    pub async fn handle_batch(&mut self, messages: Vec<Message>) -> Vec<Result<Reply>> {
        if messages.len() < 2 {
            let mut out = Vec::with_capacity(1);
            for m in messages {
                out.push(self.handle(m).await);
            }
            return out;
        }
        self.batch = Some(Batch::default());
        let mut replies = Vec::with_capacity(messages.len());
        let mut failed = false;
        for m in &messages {
            match self.handle(m.clone()).await {
                Ok(reply) => replies.push(Ok(reply)),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let batch = self.batch.take().unwrap_or_default();
        if !failed {
            let writes = !batch.ops.is_empty();
            let committed = !writes
                || match super::transaction("write_batch", self.store.write_batch(batch.ops)).await
                {
                    Ok(()) => true,
                    Err(error) => {
                        // Not swallowed: each message is handled again on its own below and
                        // gets its own reply, an error if the failure persists.
                        tracing::warn!(%error, "group commit failed; handling one at a time");
                        false
                    }
                };
            if committed {
                if writes {
                    self.transactions += 1;
                }
                for id in &batch.finalized {
                    self.cache.evict(id, Eviction::Final);
                }
                self.cache.enforce_cap();
                self.batches += 1;
                return replies;
            }
        }
        for id in &batch.touched {
            self.cache.evict(id, Eviction::Error);
        }
        self.batch_fallbacks += 1;
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            out.push(self.handle(m).await);
        }
        out
    }

    /// True while a batch is open.
    pub(super) fn batching(&self) -> bool {
        self.batch.is_some()
    }

    /// Notes that the open batch (if any) read or changed `id`.
    pub(super) fn touch(&mut self, id: &str) {
        if let Some(b) = &mut self.batch {
            b.touched.insert(id.to_owned());
        }
    }

    /// True when the open batch deleted `id`.
    pub(super) fn deleted_in_batch(&self, id: &str) -> bool {
        self.batch.as_ref().is_some_and(|b| b.deleted.contains(id))
    }

    /// Enforces the cache's byte cap, unless a batch is open (it is enforced at commit).
    pub(super) fn enforce_cap(&mut self) {
        if !self.batching() {
            self.cache.enforce_cap();
        }
    }
}
