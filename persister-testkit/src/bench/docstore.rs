//! The two designs we replace, on a one-JSON-column SQLite table: `naive` (load, parse,
//! patch, encode and write the whole document for every message) and `seed` (parse once and
//! cache, but still encode and write the whole document for every message).
//!
//! Both apply messages with the [`ReferenceModel`](crate::model::ReferenceModel), so their
//! semantics are the product's; only the storage design differs.

use std::path::Path;

use persister_core::codec::{decode_command, encode_command};
use persister_core::{FormaCommand, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use super::BenchError;
use crate::model::ReferenceModel;
use crate::workload::Message;

/// A table of whole command documents.
#[derive(Debug)]
pub(super) struct DocStore {
    conn: Connection,
    /// The cached model (the `seed` design); `None` for `naive`.
    cache: Option<ReferenceModel>,
    now: Timestamp,
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
        Ok(Self { conn, cache: cached.then(|| ReferenceModel::new(now)), now })
    }

    /// Stores a new command; returns the bytes written.
    pub(super) fn store(&mut self, command: &FormaCommand) -> Result<usize, BenchError> {
        let doc = encode_command(command)?;
        self.conn
            .execute("INSERT INTO commands (id, data) VALUES (?1, ?2)", params![command.id, doc])?;
        if let Some(model) = &mut self.cache {
            model.store_new(command.clone());
        }
        Ok(doc.len())
    }

    /// Applies one message and writes the whole document back; returns the bytes written.
    pub(super) fn apply(&mut self, message: Message) -> Result<usize, BenchError> {
        let id = message.command_id().to_owned();
        let (mut model, owned) = match self.cache.take() {
            Some(model) => (model, false),
            None => {
                let doc: Option<String> = self
                    .conn
                    .prepare_cached("SELECT data FROM commands WHERE id = ?1")?
                    .query_row([&id], |r| r.get(0))
                    .optional()?;
                let Some(doc) = doc else { return Err(BenchError::Missing(id)) };
                let mut model = ReferenceModel::new(self.now);
                model.store_new(decode_command(doc.as_bytes())?);
                (model, true)
            }
        };
        match message {
            Message::Progress(m) => model.progress(m),
            Message::Complete(m) => model.complete(m),
        };
        let written = match model.load(&id) {
            Some(command) => {
                let doc = encode_command(command)?;
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
        };
        if !owned {
            self.cache = Some(model);
        }
        Ok(written)
    }
}
