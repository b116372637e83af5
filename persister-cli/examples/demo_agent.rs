//! A stand-in for a running agent, to try `forma-persister` against a live database: it
//! stores the W2 workload's first commands in a SQLite file and replays their messages
//! through a `PersisterHandle` at a steady pace, so `list`, `watch` and `stats` have
//! something to show while it runs.
//!
//! ```text
//! cargo run -p persister-cli --example demo_agent -- /tmp/demo.db 30 6
//! forma-persister --db sqlite:/tmp/demo.db watch
//! ```
//! Arguments: the database file, how many seconds the replay takes, how many commands.

use std::sync::Arc;
use std::time::Duration;

use persister_core::{HandleConfig, Persister, PersisterHandle};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::workload::{Message, Workload};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: demo_agent DB_FILE [SECONDS] [COMMANDS]")?;
    let seconds: u64 = args.next().map_or(Ok(30), |s| s.parse())?;
    let commands: usize = args.next().map_or(Ok(6), |s| s.parse())?;
    let store = SqliteStore::open(SqliteConfig::file(&path)).await?;
    let (handle, task) = PersisterHandle::spawn(
        Persister::new(Arc::new(store)),
        HandleConfig::default().dedicated_thread(true),
    );
    let workload = Workload::w2(7);
    let chosen: Vec<_> = workload.commands.iter().take(commands).collect();
    for command in &chosen {
        handle.store_new((*command).clone()).await?;
    }
    let messages: Vec<Message> = workload
        .messages
        .into_iter()
        .filter(|m| chosen.iter().any(|c| c.id == m.command_id()))
        .collect();
    let pause = Duration::from_secs(seconds) / u32::try_from(messages.len().max(1))?;
    for m in messages {
        match m {
            Message::Progress(p) => handle.update_progress(p).await?,
            Message::Complete(c) => handle.complete(c).await?,
        };
        tokio::time::sleep(pause).await;
    }
    handle.shutdown_and_close().await?;
    task.await?;
    Ok(())
}
