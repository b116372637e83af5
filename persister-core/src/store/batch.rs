//! [`coalesce`]: the writes of a [`write_batch`](super::CommandStore::write_batch) grouped by
//! command, with consecutive applies of one command merged, for SQL backends.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{Checkpoint, StoredCommand, WriteOp};

/// One write of a coalesced batch.
#[derive(Debug)]
pub enum BatchWrite<'a> {
    /// An insert.
    Insert(&'a StoredCommand),
    /// A checkpoint standing for this many consecutive applies of its command: fenced on the
    /// first one's `expected_revision`, it moves the revision by their number. Borrowed when
    /// it stands for one apply.
    Apply(Cow<'a, Checkpoint>, i64),
    /// A delete of a command fenced on a revision.
    Delete(&'a str, i64),
}

/// Groups `ops` by command in first-seen order and merges consecutive applies of a command
/// into one: the last header wins (the body too, when one of them writes it), the rows are
/// listed in order (so the last row of a position wins, with the last fixed part any of them
/// wrote), and the revision moves by their number.
///
/// This is what [`CommandStore::write_batch`](super::CommandStore::write_batch) allows: ops
/// of different commands touch disjoint rows and commute. A merged apply fails exactly when
/// its first failing apply would: only applies whose revisions follow on are merged, so a
/// conflict can only be the first one's, and a missing position is one of the first op that
/// lists it. When several ops fail, the error is that of the first failing op of the first
/// command with one. A group-committed batch then costs one header write per command
/// instead of one per message.
pub fn coalesce(ops: &[WriteOp]) -> Vec<BatchWrite<'_>> {
    let mut order: Vec<&str> = Vec::new();
    let mut per: HashMap<&str, Vec<BatchWrite<'_>>> = HashMap::new();
    for op in ops {
        let id = match op {
            WriteOp::Insert(c) => c.header.id.as_str(),
            WriteOp::Apply(c) => c.command_id.as_str(),
            WriteOp::Delete { id, .. } => id.as_str(),
        };
        let list = per.entry(id).or_insert_with(|| {
            order.push(id);
            Vec::new()
        });
        match (op, list.last_mut()) {
            (WriteOp::Apply(c), Some(BatchWrite::Apply(merged, n)))
                if merged.expected_revision + *n == c.expected_revision =>
            {
                let merged = merged.to_mut();
                let h = &mut merged.header;
                h.state.clone_from(&c.header.state);
                h.start_ts = c.header.start_ts;
                h.start_ts_ns = c.header.start_ts_ns;
                h.modified_ts = c.header.modified_ts;
                h.modified_ts_ns = c.header.modified_ts_ns;
                h.stored_bytes = c.header.stored_bytes;
                h.head.clone_from(&c.header.head);
                if c.header.body.is_some() {
                    h.body.clone_from(&c.header.body);
                }
                merged.resource_updates.extend(c.resource_updates.iter().cloned());
                *n += 1;
            }
            (WriteOp::Apply(c), _) => list.push(BatchWrite::Apply(Cow::Borrowed(c), 1)),
            (WriteOp::Insert(c), _) => list.push(BatchWrite::Insert(c)),
            (WriteOp::Delete { id, expected_revision }, _) => {
                list.push(BatchWrite::Delete(id, *expected_revision));
            }
        }
    }
    order.into_iter().flat_map(|id| per.remove(id).unwrap_or_default()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Completion, HeaderUpdate, ResourceUpdateChange};

    fn checkpoint(id: &str, expected_revision: i64, positions: &[i64]) -> Checkpoint {
        let rows = positions.iter().map(|&position| ResourceUpdateChange {
            position,
            state: "InProgress".into(),
            completion: Completion::Pending,
            fixed: (position == 0).then(|| format!("f{expected_revision}")),
            progress: format!("p{expected_revision}"),
        });
        Checkpoint {
            command_id: id.into(),
            expected_revision,
            header: HeaderUpdate {
                state: format!("s{expected_revision}"),
                start_ts: expected_revision,
                start_ts_ns: 0,
                modified_ts: expected_revision,
                modified_ts_ns: 0,
                stored_bytes: 0,
                head: format!("h{expected_revision}"),
                body: (expected_revision == 1).then(|| "b1".to_owned()),
            },
            resource_updates: rows.collect(),
        }
    }

    #[test]
    fn consecutive_applies_merge_and_commands_keep_their_order() {
        let ops = vec![
            WriteOp::Apply(checkpoint("a", 0, &[0])),
            WriteOp::Apply(checkpoint("b", 5, &[1])),
            WriteOp::Apply(checkpoint("a", 1, &[0, 2])),
            WriteOp::Delete { id: "b".into(), expected_revision: 6 },
            WriteOp::Apply(checkpoint("a", 2, &[3])),
            WriteOp::Apply(checkpoint("a", 7, &[])),
        ];
        let writes = coalesce(&ops);
        assert_eq!(writes.len(), 4, "{writes:?}");
        match &writes[0] {
            BatchWrite::Apply(Cow::Owned(c), 3) => {
                assert_eq!((c.command_id.as_str(), c.expected_revision), ("a", 0));
                assert_eq!((c.header.head.as_str(), c.header.state.as_str()), ("h2", "s2"));
                assert_eq!(
                    c.header.body.as_deref(),
                    Some("b1"),
                    "a later apply without a body keeps it"
                );
                let rows: Vec<(i64, &str)> =
                    c.resource_updates.iter().map(|r| (r.position, r.progress.as_str())).collect();
                assert_eq!(rows, [(0, "p0"), (0, "p1"), (2, "p1"), (3, "p2")]);
            }
            other => panic!("{other:?}"),
        }
        // A gap in revisions is not merged: its conflict stays its own.
        assert!(
            matches!(&writes[1], BatchWrite::Apply(Cow::Borrowed(c), 1) if c.expected_revision == 7)
        );
        assert!(
            matches!(&writes[2], BatchWrite::Apply(Cow::Borrowed(c), 1) if c.command_id == "b")
        );
        assert!(matches!(writes[3], BatchWrite::Delete("b", 6)));
    }
}
