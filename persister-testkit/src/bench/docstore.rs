//! The two designs we replace, on a one-JSON-column table: `naive` (load, parse, patch, encode
//! and write the whole document for every message) and `seed` (parse once and cache, but still
//! encode and write the whole document for every message).
//!
//! Both apply messages with the [`ReferenceModel`](crate::model::ReferenceModel), so their
//! semantics are the product's; only the storage design differs. [`Patcher`] is that model
//! side, shared by both backends; [`DocStore`] is the SQLite table (the PostgreSQL one is in
//! `pg_docstore.rs`).

use std::path::Path;

use persister_core::codec::{decode_command, encode_command};
use persister_core::{FormaCommand, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use super::BenchError;
use crate::model::ReferenceModel;
use crate::workload::Message;

/// The model side of `naive` and `seed`: applies a message to the cached model (`seed`) or to
/// a model decoded from the stored document (`naive`) and encodes the document to write back.
#[derive(Debug)]
pub(super) struct Patcher {
    /// The cached model (the `seed` design); `None` for `naive`.
    cache: Option<ReferenceModel>,
    now: Timestamp,
}

impl Patcher {
    /// A patcher for `seed` (`cached`) or `naive`.
    pub(super) fn new(cached: bool, now: Timestamp) -> Self {
        Self { cache: cached.then(|| ReferenceModel::new(now)), now }
    }

    /// Notes a new command (`seed` caches it); returns the document to insert.
    pub(super) fn store(&mut self, command: &FormaCommand) -> Result<String, BenchError> {
        let doc = encode_command(command)?;
        if let Some(model) = &mut self.cache {
            model.store_new(command.clone());
        }
        Ok(doc)
    }

    /// Whether [`apply`](Self::apply) needs the stored document (`naive`).
    pub(super) fn loads(&self) -> bool {
        self.cache.is_none()
    }

    /// Applies `message`, to `loaded` (the stored document) when [`loads`](Self::loads); returns
    /// the whole document to write back, or `None` when the command is gone.
    pub(super) fn apply(
        &mut self,
        message: Message,
        loaded: Option<String>,
    ) -> Result<Option<String>, BenchError> {
        let id = message.command_id().to_owned();
        let (mut model, owned) = match self.cache.take() {
            Some(model) => (model, false),
            None => {
                let Some(doc) = loaded else { return Err(BenchError::Missing(id)) };
                let mut model = ReferenceModel::new(self.now);
                model.store_new(decode_command(doc.as_bytes())?);
                (model, true)
            }
        };
        match message {
            Message::Progress(m) => model.progress(m),
            Message::Complete(m) => model.complete(m),
        };
        let doc = model.load(&id).map(encode_command).transpose()?;
        if !owned {
            self.cache = Some(model);
        }
        Ok(doc)
    }
}

/// A SQLite table of whole command documents.
#[derive(Debug)]
pub(super) struct DocStore {
    conn: Connection,
    patcher: Patcher,
}

impl DocStore {
    /// Opens a fresh document table at `path` with the given `synchronous` setting.
    pub(super) fn open(
        path: &Path,
        synchronous: &str,
        cached: bool,
        now: Timestamp,
    ) -> Result<Self, BenchError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.execute_batch("CREATE TABLE commands (id TEXT PRIMARY KEY, data TEXT NOT NULL)")?;
        Ok(Self { conn, patcher: Patcher::new(cached, now) })
    }

    /// Stores a new command; returns the bytes written.
    pub(super) fn store(&mut self, command: &FormaCommand) -> Result<usize, BenchError> {
        let doc = self.patcher.store(command)?;
        self.conn
            .execute("INSERT INTO commands (id, data) VALUES (?1, ?2)", params![command.id, doc])?;
        Ok(doc.len())
    }

    /// Applies one message and writes the whole document back; returns the bytes written.
    pub(super) fn apply(&mut self, message: Message) -> Result<usize, BenchError> {
        let id = message.command_id().to_owned();
        let loaded = if self.patcher.loads() {
            self.conn
                .prepare_cached("SELECT data FROM commands WHERE id = ?1")?
                .query_row([&id], |r| r.get(0))
                .optional()?
        } else {
            None
        };
        Ok(match self.patcher.apply(message, loaded)? {
            Some(doc) => {
                let tx = self.conn.transaction()?;
                tx.prepare_cached("UPDATE commands SET data = ?1 WHERE id = ?2")?
                    .execute(params![doc, id])?;
                tx.commit()?;
                doc.len()
            }
            None => {
                self.conn.execute("DELETE FROM commands WHERE id = ?1", [&id])?;
                0
            }
        })
    }
}
