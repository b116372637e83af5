//! [`Importer`]: stores commands in bounded batches, as the persister's `store_new` would,
//! skipping those already stored with the same content and leaving conflicting ones alone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use persister_core::hashing::sha256_hex;
use persister_core::{
    Error, FormaCommand, MemoryStore, Message, Persister, PersisterConfig, Reply, codec,
};

use crate::db::Db;
use crate::error::CliError;
use crate::import::summary::{Place, Problem, Summary};

/// What a batch may hold at most before it is stored, in JSON bytes.
const MAX_BATCH_BYTES: u64 = 32 << 20;

/// Why a command is refused when its id is stored with another content.
const CONFLICT: &str = "a different command is stored under this id; left as it is";

/// A command waiting in the batch.
#[derive(Debug)]
struct Incoming {
    /// Where it was read.
    place: Place,
    /// The command as read.
    command: FormaCommand,
}

/// Stores commands a batch at a time (one transaction per batch, through
/// [`Persister::import`]), and counts what happened in a [`Summary`].
#[derive(Debug)]
pub(crate) struct Importer<'a> {
    /// The target database.
    db: &'a Db,
    /// A persister over the target database whose cache holds nothing.
    persister: Persister,
    /// In a dry run: the digest of each command that would be imported, by id.
    dry_run: Option<HashMap<String, String>>,
    /// The commands waiting to be stored, their ids and their JSON bytes.
    batch: Vec<Incoming>,
    /// The ids in `batch`.
    batch_ids: HashSet<String>,
    /// The bytes in `batch`.
    batch_bytes: u64,
    /// The most commands a batch holds.
    max_batch: usize,
    /// What happened so far.
    summary: Summary,
}

impl<'a> Importer<'a> {
    /// An importer into `db`, storing at most `max_batch` commands per transaction; with
    /// `dry_run`, nothing is written and every command is checked as it would be stored.
    pub(crate) fn new(db: &'a Db, dry_run: bool, max_batch: usize) -> Self {
        let config = PersisterConfig::default().cache_max_bytes(0);
        Self {
            db,
            persister: Persister::with_config(db.store.clone(), config),
            dry_run: dry_run.then(HashMap::new),
            batch: Vec::new(),
            batch_ids: HashSet::new(),
            batch_bytes: 0,
            max_batch: max_batch.max(1),
            summary: Summary::default(),
        }
    }

    /// What happened, once every batch is stored.
    pub(crate) fn into_summary(self) -> Summary {
        self.summary
    }

    /// Counts a command that could not be read.
    pub(crate) fn unreadable(&mut self, id: Option<String>, place: Place, reason: String) {
        self.summary.read += 1;
        self.summary.failed.push(Problem { id, place, reason });
    }

    /// Records a warning about a command that is imported anyway.
    pub(crate) fn warn(&mut self, id: &str, place: &str, reason: String) {
        let problem = Problem { id: Some(id.to_owned()), place: place.to_owned(), reason };
        self.summary.warnings.push(problem);
    }

    /// Records what was restored into a command from data its source had kept elsewhere (a
    /// formae database's old `data` column).
    pub(crate) fn restored(&mut self, id: &str, place: &str, what: String) {
        let note = Problem { id: Some(id.to_owned()), place: place.to_owned(), reason: what };
        self.summary.restored.push(note);
    }

    /// Adds a command of `size` JSON bytes read at `place`; the batch is stored when full.
    ///
    /// # Errors
    /// [`CliError::Store`] when the database fails (not when one command is refused: that
    /// is counted in the summary).
    pub(crate) async fn push(
        &mut self,
        place: Place,
        command: FormaCommand,
        size: u64,
    ) -> Result<(), CliError> {
        self.summary.read += 1;
        if self.batch_ids.contains(&command.id) {
            // The same id twice in one batch: the first is stored before the second is
            // compared with it.
            self.flush().await?;
        }
        self.batch_ids.insert(command.id.clone());
        self.batch.push(Incoming { place, command });
        self.batch_bytes += size;
        if self.batch.len() >= self.max_batch || self.batch_bytes >= MAX_BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    /// Stores the batch.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub(crate) async fn flush(&mut self) -> Result<(), CliError> {
        let batch = std::mem::take(&mut self.batch);
        self.batch_ids.clear();
        self.batch_bytes = 0;
        let mut new = Vec::with_capacity(batch.len());
        for Incoming { place, mut command } in batch {
            command.normalize_utc();
            let id = command.id.clone();
            let problem =
                |reason: String| Problem { id: Some(id.clone()), place: place.clone(), reason };
            let incoming = match codec::encode_command(&command) {
                Ok(json) => {
                    self.summary.bytes += json.len() as u64;
                    json
                }
                Err(e) => {
                    self.summary.failed.push(problem(e.to_string()));
                    continue;
                }
            };
            match self.stored_digest(&id).await {
                Ok(Some(stored)) if stored == sha256_hex(&incoming) => {
                    self.summary.skipped += 1;
                }
                Ok(Some(_)) => self.summary.conflicts.push(problem(CONFLICT.into())),
                Ok(None) => new.push((place, command, incoming)),
                Err(e) if e.is_transient() => return Err(self.db.error(e)),
                Err(e) => {
                    let reason = format!("the stored command cannot be read: {e}");
                    self.summary.failed.push(problem(reason));
                }
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let mut digests = Vec::with_capacity(new.len());
        let mut places = Vec::with_capacity(new.len());
        let mut messages = Vec::with_capacity(new.len());
        for (place, command, json) in new {
            digests.push((command.id.clone(), sha256_hex(&json)));
            places.push(place);
            messages.push(Message::Import(Box::new(command)));
        }
        let started = Instant::now();
        let replies = match &self.dry_run {
            // The same checks on a scratch store, so that the target is left untouched.
            Some(_) => Persister::new(Arc::new(MemoryStore::new())).handle_batch(messages).await,
            None => self.persister.handle_batch(messages).await,
        };
        self.summary.store_time += started.elapsed();
        for ((reply, place), (id, digest)) in replies.into_iter().zip(places).zip(digests) {
            match reply {
                Ok(Reply::Ack(_)) => {
                    self.summary.imported += 1;
                    if let Some(seen) = &mut self.dry_run {
                        seen.insert(id, digest);
                    }
                }
                Ok(other) => {
                    let reason = format!("unexpected reply {other:?}");
                    self.summary.failed.push(Problem { id: Some(id), place, reason });
                }
                Err(e) if e.is_transient() => return Err(self.db.error(e)),
                Err(e) => {
                    let reason = e.to_string();
                    self.summary.failed.push(Problem { id: Some(id), place, reason });
                }
            }
        }
        Ok(())
    }

    /// The SHA-256 of the stored command's encoding, or `None` when `id` is not stored (in a
    /// dry run, nor imported earlier in the run).
    async fn stored_digest(&mut self, id: &str) -> Result<Option<String>, Error> {
        if let Some(seen) = &self.dry_run
            && let Some(digest) = seen.get(id)
        {
            return Ok(Some(digest.clone()));
        }
        match self.persister.load(id).await {
            Ok(command) => Ok(Some(sha256_hex(&codec::encode_command(&command)?))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
