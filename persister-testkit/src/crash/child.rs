//! The child: stores the command, then sends every message and prints `ack <n>` after each
//! acknowledgement (`ack 0` is the stored command, `ack n` message n-1).

use std::io::Write;

use persister_core::{HandleConfig, Persister, PersisterHandle};

use super::{Target, workload};
use crate::workload::Message;

/// Runs the child until the workload is done (or the parent kills it).
///
/// # Errors
/// Any failure, as text; the parent counts a child that fails before being killed as a
/// violation.
pub async fn run_child(target: &Target, seed: u64) -> Result<(), String> {
    let workload = workload(seed);
    let store = target.open().await.map_err(|e| e.to_string())?;
    // SQLite runs on the handle's own thread, as a service runs it: the crash test then
    // covers the calls that run inline, without a thread hop.
    let config = HandleConfig::default().dedicated_thread(matches!(target, Target::Sqlite(_)));
    let (handle, _task) = PersisterHandle::spawn(Persister::new(store), config);
    handle.store_new(workload.commands[0].clone()).await.map_err(|e| e.to_string())?;
    ack(0)?;
    for (i, m) in workload.messages.into_iter().enumerate() {
        let result = match m {
            Message::Progress(p) => handle.update_progress(p).await,
            Message::Complete(c) => handle.complete(c).await,
        };
        result.map_err(|e| format!("message {i}: {e}"))?;
        ack(i + 1)?;
    }
    Ok(())
}

/// Tells the parent that acknowledgement `n` arrived.
fn ack(n: usize) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ack {n}").and_then(|()| out.flush()).map_err(|e| e.to_string())
}
