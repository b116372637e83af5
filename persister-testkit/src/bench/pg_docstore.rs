//! `naive` and `seed` on PostgreSQL: the same one-JSON-column table and the same model logic
//! ([`Patcher`]) as on SQLite, over one sqlx connection; each message's write is one
//! transaction.

use persister_core::{FormaCommand, Timestamp};
use sqlx::{Connection, PgConnection};

use super::BenchError;
use super::docstore::Patcher;
use crate::workload::Message;

/// A PostgreSQL table of whole command documents.
#[derive(Debug)]
pub(super) struct PgDocStore {
    conn: PgConnection,
    patcher: Patcher,
}

impl PgDocStore {
    /// Creates the document table in the (fresh) database of `conn`.
    pub(super) async fn open(
        mut conn: PgConnection,
        cached: bool,
        now: Timestamp,
    ) -> Result<Self, BenchError> {
        sqlx::query("CREATE TABLE commands (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
            .execute(&mut conn)
            .await?;
        Ok(Self { conn, patcher: Patcher::new(cached, now) })
    }

    /// Stores a new command; returns the bytes written.
    pub(super) async fn store(&mut self, command: &FormaCommand) -> Result<usize, BenchError> {
        let doc = self.patcher.store(command)?;
        sqlx::query("INSERT INTO commands (id, data) VALUES ($1, $2)")
            .bind(&command.id)
            .bind(&doc)
            .execute(&mut self.conn)
            .await?;
        Ok(doc.len())
    }

    /// Applies one message and writes the whole document back; returns the bytes written.
    pub(super) async fn apply(&mut self, message: Message) -> Result<usize, BenchError> {
        let id = message.command_id().to_owned();
        let loaded = if self.patcher.loads() {
            sqlx::query_scalar("SELECT data FROM commands WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut self.conn)
                .await?
        } else {
            None
        };
        let doc = self.patcher.apply(message, loaded)?;
        let mut tx = self.conn.begin().await?;
        let written = match doc {
            Some(doc) => {
                sqlx::query("UPDATE commands SET data = $1 WHERE id = $2")
                    .bind(&doc)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                doc.len()
            }
            None => {
                sqlx::query("DELETE FROM commands WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                0
            }
        };
        tx.commit().await?;
        Ok(written)
    }
}
