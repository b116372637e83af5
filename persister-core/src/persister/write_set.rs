//! [`WriteSet`]: the effect of one message, computed on its staged entry before anything is
//! written, and the checkpoint and finalization (D6, D8) that most messages end with.

use super::{CodecStats, PersisterConfig};
use crate::cache::Entry;
use crate::error::{CodecError, Error};
use crate::finalize;
use crate::messages::{Ack, Reply};
use crate::store::{Checkpoint, WriteOp};

use super::stage::Fate;

/// What one message does: the store write that makes it durable, and the reply to send once
/// it is.
#[derive(Debug)]
pub(super) struct WriteSet {
    /// The write, if the message changes the store.
    pub(super) op: Option<WriteOp>,
    /// The reply, valid once `op` is durable.
    pub(super) reply: Reply,
    /// What becomes of the command's staged entry, if the message decides it.
    pub(super) fate: Option<Fate>,
    /// The message deleted the command (its entry leaves the stage).
    pub(super) deleted: bool,
}

impl WriteSet {
    /// A reply that writes nothing and leaves the entry as it was.
    pub(super) fn reply(reply: Reply) -> Self {
        Self { op: None, reply, fate: None, deleted: false }
    }

    /// An acknowledgement that writes nothing.
    pub(super) fn ignored() -> Self {
        Self::reply(Reply::Ack(Ack::Ignored))
    }
}

/// Why a message has no write set.
#[derive(Debug)]
pub(super) enum Refusal {
    /// The message failed before it changed its staged entry: nothing changed, and the
    /// messages handled with it are unaffected.
    Unchanged(Error),
    /// The message failed after it began changing its staged entry, which no longer matches
    /// the store and must be dropped (with the rest of its stage).
    Spoiled(Error),
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Self::Unchanged(error)
    }
}

impl From<crate::error::StoreError> for Refusal {
    fn from(error: crate::error::StoreError) -> Self {
        Self::Unchanged(error.into())
    }
}

impl From<CodecError> for Refusal {
    fn from(error: CodecError) -> Self {
        Self::Unchanged(error.into())
    }
}

/// The outcome of planning one message.
pub(super) type Planned = std::result::Result<WriteSet, Refusal>;

/// A resource update a message changed: its position, and whether the change reaches its
/// fixed part (the resource's properties), which is then rewritten with its progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Changed {
    /// The position.
    pub(super) position: usize,
    /// The fixed part changed too.
    pub(super) fixed: bool,
}

impl Changed {
    /// A change to the progress alone.
    pub(super) fn progress(position: usize) -> Self {
        Self { position, fixed: false }
    }
}

/// Builds the checkpoint that writes the head (and the body, with `body`) of `entry` and its
/// resource updates at `rows`, then advances the entry to the revision the checkpoint
/// creates, as if it were already written.
///
/// # Errors
/// A codec error; the entry has then been changed by its message and is spoiled.
pub(super) fn checkpoint(
    codec: &mut CodecStats,
    id: &str,
    entry: &mut Entry,
    rows: &[Changed],
    body: bool,
) -> Result<WriteOp, CodecError> {
    let mut header = codec.header_update(&entry.command, body)?;
    let mut resource_updates = Vec::with_capacity(rows.len());
    for &Changed { position: p, fixed } in rows {
        if let Some(ru) = entry.command.resource_updates.get(p) {
            resource_updates.push(codec.change(
                p,
                ru,
                entry.completion(p),
                fixed,
                entry.ru_size(p),
            )?);
        }
    }
    for r in &resource_updates {
        if let Ok(p) = usize::try_from(r.position) {
            entry.set_row_size(p, r.fixed.as_ref().map(String::len), r.progress.len());
        }
    }
    entry.set_header_sizes(header.head.len(), header.body.as_ref().map(String::len));
    header.stored_bytes = entry.bytes() as u64;
    let checkpoint = Checkpoint {
        command_id: id.to_owned(),
        expected_revision: entry.revision,
        header,
        resource_updates,
    };
    entry.revision += 1;
    Ok(WriteOp::Apply(checkpoint))
}

/// The write set of a change to `entry` that may have made the command final.
///
/// When the command is final and no completions are pending (or `force`, for
/// finalize-incomplete), it is finalized in the same write: opaque values are hashed, then a
/// sync command without versions is deleted, or the command is stored and leaves the cache.
/// Otherwise the head and the resource updates at `rows` are written.
pub(super) fn settle(
    codec: &mut CodecStats,
    config: &PersisterConfig,
    id: &str,
    entry: &mut Entry,
    mut rows: Vec<Changed>,
    force: bool,
) -> Planned {
    let spoiled = |e: CodecError| Refusal::Spoiled(e.into());
    if !(entry.command.is_final() && (force || entry.pending() == 0)) {
        let op = checkpoint(codec, id, entry, &rows, false).map_err(spoiled)?;
        return Ok(WriteSet {
            op: Some(op),
            reply: Reply::Ack(Ack::Applied),
            fate: Some(Fate::Keep),
            deleted: false,
        });
    }
    let hashed =
        finalize::hash_command(&mut entry.command, &config.opaque_fields).map_err(spoiled)?;
    if finalize::should_delete(&entry.command) {
        let op = WriteOp::Delete { id: id.to_owned(), expected_revision: entry.revision };
        return Ok(WriteSet {
            op: Some(op),
            reply: Reply::Ack(Ack::Deleted),
            fate: None,
            deleted: true,
        });
    }
    // Hashing may change a resource's properties as well as its progress results.
    for p in hashed.resource_updates {
        match rows.iter_mut().find(|c| c.position == p) {
            Some(changed) => changed.fixed = true,
            None => rows.push(Changed { position: p, fixed: true }),
        }
    }
    let op = checkpoint(codec, id, entry, &rows, hashed.body).map_err(spoiled)?;
    Ok(WriteSet {
        op: Some(op),
        reply: Reply::Ack(Ack::Finalized),
        fate: Some(Fate::Final),
        deleted: false,
    })
}
