//! [`PersisterHandle`]: the persister as a service. A tokio task owns the [`Persister`];
//! cloneable handles send it messages and await their replies, each with a timeout.
//!
//! With group commit on, the task takes every queued message (up to `max_batch`), handles
//! them in order, commits their combined effect in one store transaction, and only then
//! replies to each; replies and stored state are those of handling them one at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::messages::{Ack, Message, Reply, ResourceCompletion, ResourceProgress};
use crate::model::{FormaCommand, ResourceUpdateRef, TargetUpdate, Timestamp};
use crate::persister::{Persister, PersisterStats, Recovery, Retry};
use crate::retention::Purge;
use crate::store::{DynCommandStore, ListFilter, SummaryPage};

mod config;

pub use config::HandleConfig;

enum Envelope {
    Call {
        message: Message,
        reply: oneshot::Sender<Retry>,
    },
    Recover(oneshot::Sender<Result<Recovery>>),
    Stats(oneshot::Sender<PersisterStats>),
    /// Drain the mailbox, then close the store too when `close` is set.
    Shutdown {
        close: bool,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// A cloneable handle to a persister running in its own task.
#[derive(Clone, Debug)]
pub struct PersisterHandle {
    tx: mpsc::Sender<Envelope>,
    /// The persister's store, for listings, which read it directly beside the messages.
    store: Arc<DynCommandStore>,
    call_timeout: Duration,
    retry_transient: bool,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Call { message, .. } => {
                write!(f, "Call({} {})", message.kind(), message.command_id())
            }
            Self::Recover(_) => f.write_str("Recover"),
            Self::Stats(_) => f.write_str("Stats"),
            Self::Shutdown { close, .. } => write!(f, "Shutdown(close: {close})"),
        }
    }
}

impl PersisterHandle {
    /// Starts the persister's task on the current tokio runtime, or, with
    /// [`HandleConfig::dedicated_thread`], on a thread of the runtime's blocking pool that
    /// runs only this task (with a single-threaded runtime of its own) and may block on the
    /// store.
    ///
    /// The task ends after [`shutdown`](Self::shutdown), or when every handle is dropped and
    /// the mailbox is drained.
    pub fn spawn(persister: Persister, config: HandleConfig) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.mailbox.max(1));
        let (call_timeout, retry_transient) = (config.call_timeout, config.retry_transient);
        let store = Arc::clone(persister.store());
        let task = if config.dedicated_thread {
            tokio::task::spawn_blocking(move || {
                let _allowed = crate::blocking::allow_blocking();
                match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime.block_on(run(persister, rx, config)),
                    // Callers then see the mailbox closed: `Error::Shutdown`.
                    Err(error) => tracing::error!(%error, "cannot start the persister's runtime"),
                }
            })
        } else {
            tokio::spawn(run(persister, rx, config))
        };
        (Self { tx, store, call_timeout, retry_transient }, task)
    }

    /// Sends a message and waits for its reply, sending it again after a transient error
    /// when [`HandleConfig::retry_transient`] is on (the default) and the call timeout allows.
    ///
    /// # Errors
    /// The message's own error (after the retries, the last one); [`Error::Timeout`] when no
    /// reply came in time (the message may still be applied later); [`Error::Shutdown`] when
    /// the persister has stopped.
    pub async fn call(&self, message: Message) -> Result<Reply> {
        let started = Instant::now();
        let kind = message.kind();
        let deadline = tokio::time::Instant::now() + self.call_timeout;
        let mut delays = crate::retry::delays();
        let mut message = message;
        let result = loop {
            let (reply, rx) = oneshot::channel();
            let wait = async {
                let call = Envelope::Call { message, reply };
                self.tx.send(call).await.map_err(|_| Error::Shutdown)?;
                rx.await.map_err(|_| Error::Shutdown)
            };
            let (result, back) = match tokio::time::timeout_at(deadline, wait).await {
                Ok(Ok(retry)) => retry,
                Ok(Err(error)) => break Err(error),
                Err(_) => break Err(Error::Timeout { after: self.call_timeout }),
            };
            match (result, back) {
                (Err(error), Some(again)) if self.retry_transient => {
                    let delay = delays.next().unwrap_or(crate::retry::MAX_DELAY);
                    if tokio::time::Instant::now() + delay >= deadline {
                        break Err(error);
                    }
                    tracing::debug!(%error, ?delay, kind, "transient error; sending the message again");
                    metrics::counter!("persister_retries_total", "kind" => kind).increment(1);
                    tokio::time::sleep(delay).await;
                    message = again;
                }
                (result, _) => break result,
            }
        };
        metrics::histogram!("persister_call_seconds", "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn ack(&self, message: Message) -> Result<Ack> {
        match self.call(message).await? {
            Reply::Ack(ack) => Ok(ack),
            Reply::Command(_) => Ok(Ack::Applied),
        }
    }

    /// `StoreNewFormaCommand`; see [`Persister::store_new`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn store_new(&self, command: FormaCommand) -> Result<()> {
        self.ack(Message::StoreNew(Box::new(command))).await.map(|_| ())
    }

    /// `LoadFormaCommand`; see [`Persister::load`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn load(&self, id: &str) -> Result<FormaCommand> {
        match self.call(Message::Load(id.to_owned())).await? {
            Reply::Command(c) => Ok(*c),
            Reply::Ack(_) => Err(crate::StoreError::NotFound { id: id.to_owned() }.into()),
        }
    }

    /// `UpdateResourceProgress`; see [`Persister::update_progress`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn update_progress(&self, msg: ResourceProgress) -> Result<Ack> {
        self.ack(Message::Progress(Box::new(msg))).await
    }

    /// `MarkResourceUpdateAsComplete`; see [`Persister::complete`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn complete(&self, msg: ResourceCompletion) -> Result<Ack> {
        self.ack(Message::Complete(Box::new(msg))).await
    }

    /// `UpdateTargetStates`; see [`Persister::update_target_states`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn update_target_states(&self, id: &str, updates: Vec<TargetUpdate>) -> Result<Ack> {
        self.ack(Message::TargetStates { id: id.to_owned(), updates }).await
    }

    /// `MarkResourcesAsRejected`; see [`Persister::mark_rejected`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn mark_rejected(
        &self,
        id: &str,
        refs: Vec<ResourceUpdateRef>,
        modified_ts: Timestamp,
    ) -> Result<Ack> {
        self.ack(Message::MarkRejected { id: id.to_owned(), refs, modified_ts }).await
    }

    /// `MarkResourcesAsFailed`; see [`Persister::mark_failed`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn mark_failed(
        &self,
        id: &str,
        refs: Vec<ResourceUpdateRef>,
        modified_ts: Timestamp,
    ) -> Result<Ack> {
        self.ack(Message::MarkFailed { id: id.to_owned(), refs, modified_ts }).await
    }

    /// `MarkResourcesAsCanceled`; see [`Persister::mark_canceled`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn mark_canceled(&self, id: &str, refs: Vec<ResourceUpdateRef>) -> Result<Ack> {
        self.ack(Message::MarkCanceled { id: id.to_owned(), refs }).await
    }

    /// `MarkCommandResourcesAsCanceled`; see [`Persister::cancel_all`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn cancel_all(&self, id: &str) -> Result<Ack> {
        self.ack(Message::CancelAll(id.to_owned())).await
    }

    /// `FinalizeIncompleteCommand`; see [`Persister::finalize_incomplete`].
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn finalize_incomplete(&self, id: &str) -> Result<Ack> {
        self.ack(Message::FinalizeIncomplete(id.to_owned())).await
    }

    /// Recovery on start; see [`Persister::recover`]. Not subject to the call timeout.
    ///
    /// # Errors
    /// Transient store errors; [`Error::Shutdown`].
    pub async fn recover(&self) -> Result<Recovery> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Envelope::Recover(reply)).await.map_err(|_| Error::Shutdown)?;
        rx.await.map_err(|_| Error::Shutdown)?
    }

    /// The persister's counters, for callers without a metrics recorder.
    ///
    /// # Errors
    /// [`Error::Shutdown`].
    pub async fn stats(&self) -> Result<PersisterStats> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Envelope::Stats(reply)).await.map_err(|_| Error::Shutdown)?;
        rx.await.map_err(|_| Error::Shutdown)
    }

    /// One page of command summaries; see [`Persister::list`]. It reads the store directly,
    /// beside the persister's task, so it never waits behind queued messages: it sees every
    /// message whose reply was sent (those are committed), and of the messages still queued
    /// or being written, those the store committed before it reads. A store with a read
    /// connection (SQLite on a file) answers it while a write runs. Subject to the call
    /// timeout.
    ///
    /// # Errors
    /// Store errors; [`Error::Timeout`]; [`Error::Shutdown`] once the persister has stopped.
    pub async fn list(&self, filter: ListFilter) -> Result<SummaryPage> {
        if self.tx.is_closed() {
            return Err(Error::Shutdown);
        }
        match tokio::time::timeout(self.call_timeout, self.store.list_summaries(&filter)).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(Error::Timeout { after: self.call_timeout }),
        }
    }

    /// Stops accepting messages, handles every message already queued, and waits for the
    /// task to finish. The store stays open (the caller may share it); see
    /// [`shutdown_and_close`](Self::shutdown_and_close).
    ///
    /// # Errors
    /// [`Error::Shutdown`] when the task had already stopped.
    pub async fn shutdown(&self) -> Result<()> {
        self.stop(false).await
    }

    /// As [`shutdown`](Self::shutdown), then closes the store with
    /// [`CommandStore::close`](crate::CommandStore::close) and returns once it is closed:
    /// queued writes have finished and the connections are closed, so a SQLite file can be
    /// copied or moved. Other holders of the store then get
    /// [`StoreError::Closed`](crate::StoreError::Closed).
    ///
    /// # Errors
    /// [`Error::Shutdown`] when the task had already stopped (the store is not closed then);
    /// the store's error when closing it failed.
    pub async fn shutdown_and_close(&self) -> Result<()> {
        self.stop(true).await
    }

    async fn stop(&self, close: bool) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Envelope::Shutdown { close, reply }).await.map_err(|_| Error::Shutdown)?;
        rx.await.map_err(|_| Error::Shutdown)?
    }
}

async fn run(mut persister: Persister, mut rx: mpsc::Receiver<Envelope>, config: HandleConfig) {
    let max_batch = if config.group_commit { config.max_batch.max(1) } else { 1 };
    let tick = config
        .idle_timeout
        .map_or(Duration::from_secs(3600), |idle| (idle / 4).max(Duration::from_millis(10)));
    let mut shutdown: Option<(bool, oneshot::Sender<Result<()>>)> = None;
    let mut calls = Vec::with_capacity(max_batch);
    let mut purge = Purge::new(&config);
    loop {
        let wait = purge.due_in().map_or(tick, |due| due.min(tick));
        let waited = match rx.try_recv() {
            Ok(envelope) => Ok(Some(envelope)),
            Err(_) => {
                // Nothing queued: the task waits.
                mailbox_depth(0);
                tokio::time::timeout(wait, rx.recv()).await
            }
        };
        let first = match waited {
            Ok(Some(envelope)) => envelope,
            Ok(None) => break,
            Err(_) => {
                if let Some(idle) = config.idle_timeout {
                    persister.evict_idle(idle);
                }
                purge.step(&mut persister).await;
                continue;
            }
        };
        // The first message and those still queued behind it.
        mailbox_depth(rx.len() + 1);
        let mut next = Some(first);
        while let Some(envelope) = next.take() {
            match envelope {
                Envelope::Call { message, reply } => calls.push((message, reply)),
                Envelope::Recover(reply) => {
                    flush(&mut persister, &mut calls).await;
                    let _ = reply.send(persister.recover().await);
                }
                Envelope::Stats(reply) => {
                    flush(&mut persister, &mut calls).await;
                    let _ = reply.send(persister.stats());
                }
                Envelope::Shutdown { close, reply } => {
                    rx.close();
                    shutdown = Some((close, reply));
                }
            }
            if calls.len() < max_batch {
                next = rx.try_recv().ok();
            }
        }
        flush(&mut persister, &mut calls).await;
        if let Some(idle) = config.idle_timeout {
            persister.evict_idle(idle);
        }
        purge.step(&mut persister).await;
    }
    mailbox_depth(0);
    if let Some((close, reply)) = shutdown {
        let closed = if close { persister.store().close().await } else { Ok(()) };
        let _ = reply.send(closed.map_err(Error::from));
    }
}

/// Sets the `persister_mailbox_depth` gauge: the messages waiting in the mailbox when the task
/// took its latest batch (those it took included), or 0 while it waits on an empty mailbox.
fn mailbox_depth(queued: usize) {
    metrics::gauge!("persister_mailbox_depth")
        .set(f64::from(u32::try_from(queued).unwrap_or(u32::MAX)));
}

/// Handles the queued calls as one batch and replies to each.
async fn flush(persister: &mut Persister, calls: &mut Vec<(Message, oneshot::Sender<Retry>)>) {
    if calls.is_empty() {
        return;
    }
    let (messages, replies): (Vec<Message>, Vec<_>) = calls.drain(..).unzip();
    let size = messages.len();
    for m in &messages {
        metrics::counter!("persister_messages_total", "kind" => m.kind()).increment(1);
    }
    metrics::histogram!("persister_batch_size")
        .record(f64::from(u32::try_from(size).unwrap_or(u32::MAX)));
    let span = tracing::debug_span!("persister.batch", batch_size = size);
    let started = Instant::now();
    let results = persister.handle_batch_returning(messages).instrument(span).await;
    metrics::histogram!("persister_batch_seconds").record(started.elapsed().as_secs_f64());
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}
