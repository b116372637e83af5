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
use super::outcome::{Expected, Landed, not_landed};
use super::stage::Stage;
use super::write_set::Refusal;
use crate::error::{Error, Result, StoreError};
use crate::messages::{Ack, Message, Reply};
use crate::model::FormaCommand;
use crate::store::{StoreResult, WriteOp};

/// A reply, and its message when the reply is a transient error: nothing was written (or the
/// write was found not to have taken effect), so sending the message again is safe. A stored
/// command was moved out of a message whose reply is a success, which therefore never comes
/// back.
pub(crate) type Retry = (Result<Reply>, Option<Message>);

/// Pairs `reply` with `message` when the reply is a transient error.
fn retry(reply: Result<Reply>, message: Option<Message>) -> Retry {
    let again = matches!(&reply, Err(e) if e.is_transient());
    (reply, message.filter(|_| again))
}

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
        self.handle_one(message).await.0
    }

    /// Handles one message whose timestamps are already UTC; the message comes back with a
    /// transient error (see [`Retry`]).
    async fn handle_one(&mut self, message: Message) -> Retry {
        let span = tracing::debug_span!(
            "persister.message",
            command_id = message.command_id(),
            kind = message.kind()
        );
        let id = message.command_id().to_owned();
        match self.run(vec![message]).instrument(span).await {
            Ok((mut replies, mut messages)) => {
                let reply =
                    replies.pop().unwrap_or_else(|| Err(StoreError::NotFound { id }.into()));
                retry(reply, messages.pop())
            }
            Err((mut messages, error)) => retry(Err(error), messages.pop()),
        }
    }

    /// Handles `messages` in order and commits their combined effect in one store
    /// transaction; the replies are exactly those of handling them one at a time.
    ///
    /// If the commit fails (or a message fails after it began changing its command), nothing
    /// of the batch was written and the messages are handled again one at a time, each in its
    /// own transaction. Timestamps are converted to UTC once, as by [`handle`](Self::handle).
    pub async fn handle_batch(&mut self, messages: Vec<Message>) -> Vec<Result<Reply>> {
        self.handle_batch_returning(messages).await.into_iter().map(|(reply, _)| reply).collect()
    }

    /// As [`handle_batch`](Self::handle_batch); each message whose reply is a transient
    /// error comes back with it, so that the caller can send it again.
    pub(crate) async fn handle_batch_returning(
        &mut self,
        mut messages: Vec<Message>,
    ) -> Vec<Retry> {
        messages.iter_mut().for_each(Message::normalize_utc);
        let mut out = Vec::with_capacity(messages.len());
        if messages.len() < 2 {
            for m in messages {
                out.push(self.handle_one(m).await);
            }
            return out;
        }
        match self.run(messages).await {
            Ok((replies, messages)) => {
                self.batches += 1;
                replies.into_iter().zip(messages).map(|(r, m)| retry(r, Some(m))).collect()
            }
            Err((messages, error)) => {
                // Not swallowed: each message is handled again below and gets its own reply,
                // an error if the failure persists.
                tracing::warn!(%error, "group commit failed; handling one at a time");
                self.batch_fallbacks += 1;
                for m in messages {
                    out.push(self.handle_one(m).await);
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
    ) -> std::result::Result<(Vec<Result<Reply>>, Vec<Message>), (Vec<Message>, Error)> {
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
            let retried_insert = match (&error, messages.as_slice()) {
                (StoreError::AlreadyExists { .. }, [Message::StoreNew(command)]) => {
                    self.is_stored(command).await
                }
                _ => false,
            };
            if !retried_insert {
                stage.discard(&mut self.cache);
                return Err((messages, error.into()));
            }
        }
        let mut messages = messages;
        stage.finish(&mut self.cache, &mut messages);
        Ok((replies, messages))
    }

    /// True when `command` is stored exactly as storing it now would store it, untouched
    /// since (revision 0): a retried `StoreNewFormaCommand` whose first attempt took effect,
    /// which then succeeds (idempotent). Any doubt (an encoding or read error) says no.
    async fn is_stored(&mut self, command: &FormaCommand) -> bool {
        let Ok(wanted) = self.codec.stored(command) else { return false };
        match self.store.load(&command.id).await {
            Ok(Some(found)) => found.header.revision == 0 && found == wanted,
            _ => false,
        }
    }

    /// Commits `ops` in one transaction, and answers a commit whose outcome is unknown by
    /// finding it out (see [`resolve`](Self::resolve)).
    async fn write(&mut self, ops: Vec<WriteOp>) -> StoreResult<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let expected = Expected::of(&ops);
        match self.commit(ops).await {
            Err(error) if error.is_outcome_unknown() => {
                let resolved = self.resolve(&expected, error).await;
                if resolved.is_ok() {
                    self.transactions += 1;
                }
                resolved
            }
            Ok(()) => {
                self.transactions += 1;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Finds out whether a transaction whose commit answered `unknown` took effect, by
    /// reading the revisions it moves ([`Expected::landed`]), retrying the reads with backoff
    /// for [`PersisterConfig::outcome_window`](super::PersisterConfig::outcome_window):
    /// `Ok` when it did; a transient [`StoreError::Backend`] (nothing was written) when it
    /// did not; `unknown` itself when the store could not be read in time or holds neither
    /// state. Counted in `persister_outcome_unknown_total{resolved}`.
    async fn resolve(&self, expected: &Expected, unknown: StoreError) -> StoreResult<()> {
        tracing::warn!(error = %unknown, "commit outcome unknown; reading the revisions back");
        let deadline = tokio::time::Instant::now() + self.config.outcome_window;
        let mut delays = crate::retry::delays();
        let verdict = loop {
            match expected.landed(&*self.store).await {
                Ok(verdict) => break verdict,
                Err(error) => {
                    let now = tokio::time::Instant::now();
                    let delay = delays.next().unwrap_or(crate::retry::MAX_DELAY);
                    if now + delay >= deadline {
                        tracing::warn!(%error, "cannot read the revisions back in time");
                        break Landed::Undecidable;
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        };
        let (label, result) = match verdict {
            Landed::Yes => ("landed", Ok(())),
            Landed::No => ("not_landed", Err(not_landed(unknown))),
            Landed::Undecidable => ("unknown", Err(unknown)),
        };
        metrics::counter!("persister_outcome_unknown_total", "resolved" => label).increment(1);
        tracing::info!(resolved = label, "commit outcome resolved");
        result
    }

    /// Commits `ops` in one transaction: nothing for none, the op's own method for one,
    /// [`write_batch`](crate::CommandStore::write_batch) for more.
    async fn commit(&self, mut ops: Vec<WriteOp>) -> StoreResult<()> {
        let store = &*self.store;
        match (ops.len(), ops.pop()) {
            (_, None) => Ok(()),
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
        }
    }

    /// Handles `message` and returns its acknowledgement.
    pub(super) async fn ack(&mut self, message: Message) -> Result<Ack> {
        match self.handle(message).await? {
            Reply::Ack(ack) => Ok(ack),
            Reply::Command(_) => Ok(Ack::Applied),
        }
    }
}
