//! The worker thread that owns the SQLite connection.
//!
//! SQLite calls block, so they never run on a thread that did not say it may block: one
//! dedicated thread opens the [`Connection`] and runs one [`Command`] at a time, in arrival
//! order, each in its own transaction. Callers send a command over a channel with a oneshot
//! sender for the reply and await it. A caller on a thread that may block
//! ([`persister_core::blocking::may_block`]) runs its command itself, on the same connection
//! under its mutex, and so pays no thread hop. When the [`Worker`] is closed or dropped the
//! channel closes; the thread finishes the commands already queued, closes the connection and
//! exits.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;

use persister_core::{
    Checkpoint, CommandRow, ListFilter, PurgedCommand, StoreError, StoreInfo, StoreResult,
    StoredCommand, SummaryPage, Timestamp, WriteOp,
};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::config::SqliteConfig;
use crate::error::{BACKEND, Error};
use crate::{list, load, retention, store};

/// Where the worker sends the result of one command.
pub(crate) type Reply<T> = oneshot::Sender<StoreResult<T>>;

/// One request to the worker: a variant per store operation, each with its reply sender.
#[derive(Debug)]
pub(crate) enum Command {
    /// [`CommandStore::insert`](persister_core::CommandStore::insert).
    Insert { command: StoredCommand, reply: Reply<()> },
    /// [`CommandStore::apply`](persister_core::CommandStore::apply).
    Apply { checkpoint: Checkpoint, reply: Reply<()> },
    /// [`CommandStore::delete`](persister_core::CommandStore::delete).
    Delete { id: String, expected_revision: i64, reply: Reply<()> },
    /// [`CommandStore::write_batch`](persister_core::CommandStore::write_batch).
    WriteBatch { ops: Vec<WriteOp>, reply: Reply<()> },
    /// [`CommandStore::load`](persister_core::CommandStore::load).
    Load { id: String, reply: Reply<Option<StoredCommand>> },
    /// [`CommandStore::list`](persister_core::CommandStore::list).
    List { filter: ListFilter, reply: Reply<Vec<CommandRow>> },
    /// [`CommandStore::list_unfinished`](persister_core::CommandStore::list_unfinished).
    ListUnfinished { reply: Reply<Vec<String>> },
    /// [`CommandStore::list_summaries`](persister_core::CommandStore::list_summaries).
    ListSummaries { filter: ListFilter, reply: Reply<SummaryPage> },
    /// [`CommandStore::purge_finished`](persister_core::CommandStore::purge_finished).
    PurgeFinished { before: Timestamp, max_rows: u32, reply: Reply<Vec<PurgedCommand>> },
    /// [`CommandStore::reclaim`](persister_core::CommandStore::reclaim).
    Reclaim { reply: Reply<()> },
    /// [`CommandStore::info`](persister_core::CommandStore::info).
    Info { reply: Reply<StoreInfo> },
    /// `SqliteStore::dump_all_text` (the `testing` feature).
    #[cfg(feature = "testing")]
    DumpAllText { reply: Reply<Vec<String>> },
}

/// The handle to the worker thread: the sending end of its channel, `None` once closed.
///
/// Both are behind mutexes so that a shared store can be closed through `&self`; the locks
/// are held only to send or take, never across an await.
#[derive(Debug)]
pub(crate) struct Worker {
    sender: Mutex<Option<mpsc::Sender<Command>>>,
    /// The connection, shared by the thread and callers that may block; `None` once the
    /// thread closed it.
    conn: Arc<Mutex<Option<Connection>>>,
    /// The thread; it returns the error of closing the connection, if any.
    thread: Mutex<Option<JoinHandle<Result<(), Error>>>>,
}

/// Locks `mutex`; what it guards (an `Option` that is only taken) is valid even after a panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Worker {
    /// Starts the worker thread `name`, which opens the database with `open` (the writer's
    /// opening migrates it), and waits until the database is ready.
    pub(crate) async fn start(
        config: SqliteConfig,
        open: fn(&SqliteConfig) -> Result<Connection, Error>,
        name: &str,
    ) -> Result<Self, Error> {
        let (sender, receiver) = mpsc::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let conn = Arc::new(Mutex::new(None));
        let shared = Arc::clone(&conn);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || match open(&config) {
                Ok(opened) => {
                    *lock(&shared) = Some(opened);
                    if ready_tx.send(Ok(())).is_ok() { run(&shared, &receiver) } else { Ok(()) }
                }
                Err(error) => {
                    // The caller may be gone already; then nobody needs the error.
                    let _ = ready_tx.send(Err(error));
                    Ok(())
                }
            })
            .map_err(Error::Spawn)?;
        ready_rx.await.map_err(|_| Error::WorkerGone)??;
        Ok(Self { sender: Mutex::new(Some(sender)), conn, thread: Mutex::new(Some(thread)) })
    }

    /// Runs the command built by `command` and returns its result: right here when the
    /// current thread may block ([`persister_core::blocking::may_block`]), else on the
    /// worker thread, awaiting its reply.
    ///
    /// # Errors
    /// [`StoreError::Closed`] after [`close`](Self::close), without running anything.
    pub(crate) async fn call<T>(
        &self,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> StoreResult<T> {
        let (reply, result) = oneshot::channel();
        let inline = persister_core::blocking::may_block();
        let command = command(reply);
        let inline_command = {
            let sender = lock(&self.sender);
            let sender = sender.as_ref().ok_or(StoreError::Closed { backend: BACKEND })?;
            if inline {
                Some(command)
            } else {
                sender.send(command).map_err(|_| Error::WorkerGone)?;
                None
            }
        };
        if let Some(command) = inline_command {
            // This thread may block: it runs the command itself, on the connection under its
            // mutex, which orders it with the commands queued to the worker thread. The
            // sender's lock is not held meanwhile, so callers that may not block never wait
            // for SQLite.
            let mut conn = lock(&self.conn);
            let conn = conn.as_mut().ok_or(StoreError::Closed { backend: BACKEND })?;
            execute(conn, command);
        }
        result.await.map_err(|_| StoreError::from(Error::WorkerGone))?
    }

    /// Closes the channel and waits, off the runtime, until the thread has run the commands
    /// already queued and closed the connection. A second call returns at once.
    pub(crate) async fn close(&self) -> Result<(), Error> {
        drop(lock(&self.sender).take());
        let Some(thread) = lock(&self.thread).take() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(|_| Error::WorkerGone)?
            .map_err(|_| Error::WorkerGone)?
    }
}

impl Drop for Worker {
    /// Closes the channel so that the thread exits after the commands already queued.
    ///
    /// Outside an async runtime this waits for the thread, so the database file is closed on
    /// return. Inside a runtime it does not wait: a queued command may still be waiting for a
    /// lock (up to the busy timeout), and blocking a runtime thread for that long would stall
    /// other tasks.
    fn drop(&mut self) {
        drop(lock(&self.sender).take());
        if let Some(thread) = lock(&self.thread).take()
            && tokio::runtime::Handle::try_current().is_err()
        {
            // A failed close was logged by the thread itself.
            if thread.join().is_err() {
                tracing::error!("the sqlite worker thread panicked");
            }
        }
    }
}

/// The worker loop: runs commands until the channel closes, then closes the connection.
fn run(conn: &Mutex<Option<Connection>>, receiver: &mpsc::Receiver<Command>) -> Result<(), Error> {
    tracing::debug!("sqlite worker started");
    while let Ok(command) = receiver.recv() {
        if let Some(conn) = lock(conn).as_mut() {
            execute(conn, command);
        }
    }
    let Some(conn) = lock(conn).take() else { return Ok(()) };
    // Logged here too: a store dropped inside a runtime is not joined, so nobody else sees it.
    let closed = conn.close().map_err(|(_, error)| {
        tracing::warn!(%error, "closing the sqlite connection failed");
        Error::Sql(error)
    });
    tracing::debug!("sqlite worker stopped");
    closed
}

/// Runs one command and sends its result; a caller that stopped waiting is not an error.
fn execute(conn: &mut Connection, command: Command) {
    fn respond<T>(reply: Reply<T>, result: Result<T, Error>) {
        let _ = reply.send(result.map_err(StoreError::from));
    }
    match command {
        Command::Insert { command, reply } => respond(reply, store::insert(conn, command)),
        Command::Apply { checkpoint, reply } => respond(reply, store::apply(conn, checkpoint)),
        Command::Delete { id, expected_revision, reply } => {
            respond(reply, store::delete(conn, &id, expected_revision));
        }
        Command::WriteBatch { ops, reply } => respond(reply, store::write_batch(conn, ops)),
        Command::Load { id, reply } => respond(reply, load::load(conn, &id)),
        Command::List { filter, reply } => respond(reply, list::list(conn, &filter)),
        Command::ListUnfinished { reply } => respond(reply, load::list_unfinished(conn)),
        Command::ListSummaries { filter, reply } => {
            respond(reply, list::list_summaries(conn, &filter));
        }
        Command::PurgeFinished { before, max_rows, reply } => {
            respond(reply, retention::purge_finished(conn, before, max_rows));
        }
        Command::Reclaim { reply } => respond(reply, retention::reclaim(conn)),
        Command::Info { reply } => respond(reply, retention::info(conn)),
        #[cfg(feature = "testing")]
        Command::DumpAllText { reply } => respond(reply, load::dump_all_text(conn)),
    }
}
