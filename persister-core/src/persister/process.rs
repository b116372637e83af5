//! Handling messages: plan each on a stage, commit the stage's writes in one transaction,
//! then apply the stage to the cache and reply.
//!
//! Group commit is the same path with more than one message on the stage: their writes are
//! committed together with [`CommandStore::write_batch`]. A message refused without effect
//! (an unknown command, a duplicate key, a command not all final) gets its error as its
//! reply and the others go on. Only a store failure, or a message that failed half-way
//! through changing its staged entry, makes the batch fall back to handling each message on
//! its own; the messages are not copied for that, since the stage never consumed them.
//!
//! [`CommandStore::write_batch`]: crate::CommandStore::write_batch

use tracing::Instrument;

use super::Persister;
use super::stage::Stage;
use super::write_set::Refusal;
use crate::error::{Error, Result, StoreError};
use crate::messages::{Ack, Message, Reply};
use crate::store::{StoreResult, WriteOp};

impl Persister {
    /// Handles one message in one store transaction.
    ///
    /// Every timestamp of the message is converted to UTC first (D8), so what is stored
    /// encodes with `Z` whatever offset the caller gave.
    ///
    /// # Errors
    /// As the message's method.
    pub async fn handle(&mut self, mut message: Message) -> Result<Reply> {
        message.normalize_utc();
        self.handle_utc(message).await
    }

    /// Handles one message whose timestamps are already UTC.
    async fn handle_utc(&mut self, message: Message) -> Result<Reply> {
        let span = tracing::debug_span!(
            "persister.message",
            command_id = message.command_id(),
            kind = message.kind()
        );
        let id = message.command_id().to_owned();
        match self.run(vec![message]).instrument(span).await {
            Ok(mut replies) => {
                replies.pop().unwrap_or_else(|| Err(StoreError::NotFound { id }.into()))
            }
            Err((_, error)) => Err(error),
        }
    }

    /// Handles `messages` in order and commits their combined effect in one store
    /// transaction; the replies are exactly those of handling them one at a time.
    ///
    /// If the commit fails (or a message fails after it began changing its command), nothing
    /// of the batch was written and the messages are handled again one at a time, each in its
    /// own transaction. Timestamps are converted to UTC once, as by [`handle`](Self::handle).
    pub async fn handle_batch(&mut self, mut messages: Vec<Message>) -> Vec<Result<Reply>> {
        messages.iter_mut().for_each(Message::normalize_utc);
        let mut out = Vec::with_capacity(messages.len());
        if messages.len() < 2 {
            for m in messages {
                out.push(self.handle_utc(m).await);
            }
            return out;
        }
        match self.run(messages).await {
            Ok(replies) => {
                self.batches += 1;
                replies
            }
            Err((messages, error)) => {
                // Not swallowed: each message is handled again below and gets its own reply,
                // an error if the failure persists.
                tracing::warn!(%error, "group commit failed; handling one at a time");
                self.batch_fallbacks += 1;
                for m in messages {
                    out.push(self.handle_utc(m).await);
                }
                out
            }
        }
    }

    /// Plans `messages` in order on one stage, commits their writes in one transaction, and
    /// applies the stage to the cache. On a store failure, or a message that spoiled its
    /// staged entry, nothing was written, the stage's entries are dropped, and the messages
    /// come back with the error.
    async fn run(
        &mut self,
        messages: Vec<Message>,
    ) -> std::result::Result<Vec<Result<Reply>>, (Vec<Message>, Error)> {
        let mut stage = Stage::default();
        let mut replies = Vec::with_capacity(messages.len());
        let mut ops = Vec::new();
        let batch = messages.len() > 1;
        for i in 0..messages.len() {
            let planned = if batch {
                let span = messages.get(i).map(|m| {
                    tracing::debug_span!(
                        "persister.message",
                        command_id = m.command_id(),
                        kind = m.kind()
                    )
                });
                let span = span.unwrap_or_else(tracing::Span::none);
                self.plan(&mut stage, &messages, i).instrument(span).await
            } else {
                self.plan(&mut stage, &messages, i).await
            };
            match planned {
                Ok(set) => {
                    ops.extend(set.op);
                    replies.push(Ok(set.reply));
                }
                Err(Refusal::Unchanged(error)) => replies.push(Err(error)),
                Err(Refusal::Spoiled(error)) => {
                    stage.discard(&mut self.cache);
                    return Err((messages, error));
                }
            }
        }
        if let Err(error) = self.write(ops).await {
            stage.discard(&mut self.cache);
            return Err((messages, error.into()));
        }
        stage.finish(&mut self.cache, messages);
        Ok(replies)
    }

    /// Commits `ops` in one transaction: nothing for none, the op's own method for one,
    /// [`write_batch`](crate::CommandStore::write_batch) for more.
    async fn write(&mut self, mut ops: Vec<WriteOp>) -> StoreResult<()> {
        let store = &*self.store;
        let result = match (ops.len(), ops.pop()) {
            (_, None) => return Ok(()),
            (1, Some(WriteOp::Insert(command))) => {
                super::transaction("insert", store.insert(command)).await
            }
            (1, Some(WriteOp::Apply(checkpoint))) => {
                super::transaction("apply", store.apply(checkpoint)).await
            }
            (1, Some(WriteOp::Delete { id, expected_revision })) => {
                super::transaction("delete", store.delete(&id, expected_revision)).await
            }
            (_, Some(last)) => {
                ops.push(last);
                super::transaction("write_batch", store.write_batch(ops)).await
            }
        };
        if result.is_ok() {
            self.transactions += 1;
        }
        result
    }

    /// Handles `message` and returns its acknowledgement.
    pub(super) async fn ack(&mut self, message: Message) -> Result<Ack> {
        match self.handle(message).await? {
            Reply::Ack(ack) => Ok(ack),
            Reply::Command(_) => Ok(Ack::Applied),
        }
    }
}
