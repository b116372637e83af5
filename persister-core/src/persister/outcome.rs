//! Finding out whether a commit whose answer was lost took effect.
//!
//! Every write moves the revision of each command it touches: an insert creates revision 0,
//! an apply sets `expected_revision + 1`, a delete removes the row. Before a transaction is
//! sent, [`Expected::of`] notes each command's revision before and after it; when the store
//! answers [`StoreError::OutcomeUnknown`], [`Expected::landed`] reads the revisions again and
//! says which of the two states the store is in. A transaction is atomic, so one command
//! whose two states differ decides for all of them; the others are checked to agree.

use std::collections::HashMap;

use crate::error::StoreError;
use crate::store::{DynCommandStore, StoreResult, WriteOp};

/// What the store holds for each command of one transaction, before and after it.
#[derive(Debug, Default)]
pub(super) struct Expected {
    /// Command id, then (revision before, revision after); `None`: no such command.
    revisions: Vec<(String, Option<i64>, Option<i64>)>,
}

/// What re-reading the revisions said about a transaction.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Landed {
    /// Every command is in its state after the transaction.
    Yes,
    /// Every command is in its state before the transaction: nothing was written.
    No,
    /// The store holds neither (another writer moved a revision, or no command's state
    /// differs between before and after).
    Undecidable,
}

impl Expected {
    /// The revisions before and after `ops`, applied in order.
    pub(super) fn of(ops: &[WriteOp]) -> Self {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut revisions: Vec<(String, Option<i64>, Option<i64>)> = Vec::new();
        for op in ops {
            let (id, before, after) = match op {
                WriteOp::Insert(command) => (command.header.id.as_str(), None, Some(0)),
                WriteOp::Apply(checkpoint) => (
                    checkpoint.command_id.as_str(),
                    Some(checkpoint.expected_revision),
                    Some(checkpoint.expected_revision + 1),
                ),
                WriteOp::Delete { id, expected_revision } => {
                    (id.as_str(), Some(*expected_revision), None)
                }
            };
            match index.get(id) {
                // A later op of the same command moves only its state after.
                Some(&i) => {
                    if let Some(entry) = revisions.get_mut(i) {
                        entry.2 = after;
                    }
                }
                None => {
                    index.insert(id, revisions.len());
                    revisions.push((id.to_owned(), before, after));
                }
            }
        }
        Self { revisions }
    }

    /// Reads every command's revision and compares it with the states before and after.
    ///
    /// # Errors
    /// The store's error when a revision cannot be read.
    pub(super) async fn landed(&self, store: &DynCommandStore) -> StoreResult<Landed> {
        let mut verdict = None;
        for (id, before, after) in &self.revisions {
            if before == after {
                continue;
            }
            let found = store.revision(id).await?;
            let this = if found == *after {
                Landed::Yes
            } else if found == *before {
                Landed::No
            } else {
                return Ok(Landed::Undecidable);
            };
            match &verdict {
                None => verdict = Some(this),
                Some(v) if *v == this => {}
                Some(_) => return Ok(Landed::Undecidable),
            }
        }
        Ok(verdict.unwrap_or(Landed::Undecidable))
    }
}

/// The error that replaces an [`StoreError::OutcomeUnknown`] found not to have taken effect:
/// transient, and nothing was written.
pub(super) fn not_landed(unknown: StoreError) -> StoreError {
    let backend = match &unknown {
        StoreError::OutcomeUnknown { backend, .. } | StoreError::Backend { backend, .. } => {
            *backend
        }
        _ => "store",
    };
    StoreError::Backend {
        backend,
        transient: true,
        source: format!("the commit did not take effect (read back after: {unknown})").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Checkpoint, HeaderUpdate, MemoryStore};

    fn apply(id: &str, expected_revision: i64) -> WriteOp {
        let header = HeaderUpdate {
            state: "InProgress".into(),
            start_ts: 0,
            start_ts_ns: 0,
            modified_ts: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            head: String::new(),
            body: None,
        };
        WriteOp::Apply(Checkpoint {
            command_id: id.to_owned(),
            expected_revision,
            header,
            resource_updates: Vec::new(),
        })
    }

    #[test]
    fn later_ops_of_a_command_move_its_state_after() {
        let ops = vec![
            apply("a", 3),
            apply("b", 0),
            apply("a", 4),
            WriteOp::Delete { id: "b".into(), expected_revision: 1 },
        ];
        let expected = Expected::of(&ops);
        assert_eq!(
            expected.revisions,
            vec![("a".into(), Some(3), Some(5)), ("b".into(), Some(0), None)]
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_store_in_neither_state_is_undecidable() {
        let store = MemoryStore::new();
        // "a" is not stored: neither revision 3 nor 4.
        let verdict = Expected::of(&[apply("a", 3)]).landed(&store).await;
        assert_eq!(verdict.ok(), Some(Landed::Undecidable));
        // A delete of a missing command reads as landed.
        let delete = WriteOp::Delete { id: "a".into(), expected_revision: 3 };
        let verdict = Expected::of(&[delete]).landed(&store).await;
        assert_eq!(verdict.ok(), Some(Landed::Yes));
    }
}
