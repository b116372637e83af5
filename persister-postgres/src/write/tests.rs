//! Unit tests of the batch planning.

use persister_core::Completion;

use super::*;

fn row(position: i64, data: &str) -> ResourceUpdateRow {
    ResourceUpdateRow {
        position,
        ksuid: format!("k{position}"),
        operation: "create".into(),
        state: "NotStarted".into(),
        completion: Completion::Pending,
        data: data.into(),
    }
}

fn checkpoint(id: &str, expected_revision: i64, rows: Vec<ResourceUpdateRow>) -> Checkpoint {
    Checkpoint {
        command_id: id.into(),
        expected_revision,
        header: persister_core::HeaderUpdate {
            state: format!("s{expected_revision}"),
            start_ts: expected_revision,
            start_ts_ns: 0,
            modified_ts: expected_revision,
            modified_ts_ns: 0,
            stored_bytes: 0,
            head: format!("h{expected_revision}"),
            body: None,
        },
        resource_updates: rows,
    }
}

#[test]
fn consecutive_applies_of_a_command_merge() {
    let ops = vec![
        WriteOp::Apply(checkpoint("a", 0, vec![row(0, "a0")])),
        WriteOp::Apply(checkpoint("b", 5, vec![row(1, "b1")])),
        WriteOp::Apply(checkpoint("a", 1, vec![row(0, "a0'"), row(2, "a2")])),
        WriteOp::Delete { id: "b".into(), expected_revision: 6 },
        WriteOp::Apply(checkpoint("a", 2, vec![])),
    ];
    let planned = coalesce(&ops);
    assert_eq!(planned.len(), 3, "{planned:?}");
    match &planned[0] {
        Planned::Apply(c, 3) => {
            assert_eq!((c.command_id.as_str(), c.expected_revision), ("a", 0));
            assert_eq!(c.header.head, "h2", "the last header wins");
            let data: Vec<&str> =
                last_per_position(&c.resource_updates).iter().map(|r| r.data.as_str()).collect();
            assert_eq!(data, ["a0'", "a2"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&planned[1], Planned::Apply(c, 1) if c.command_id == "b"));
    assert!(matches!(planned[2], Planned::Delete("b", 6)));
}

#[test]
fn applies_with_a_gap_in_revisions_do_not_merge() {
    let ops = vec![
        WriteOp::Apply(checkpoint("a", 0, vec![])),
        WriteOp::Apply(checkpoint("a", 5, vec![])),
    ];
    assert_eq!(coalesce(&ops).len(), 2);
}

#[test]
fn the_last_row_of_a_position_wins() {
    let rows = [row(0, "a"), row(1, "b"), row(0, "c")];
    let data: Vec<&str> = last_per_position(&rows).iter().map(|r| r.data.as_str()).collect();
    assert_eq!(data, ["b", "c"]);
}

#[test]
fn the_largest_value_is_named() {
    let rows = [row(0, "a"), row(7, "bbbbbb")];
    assert_eq!(largest([("body", 3), ("head", 2)], &rows), ("resource_updates[7].data".into(), 6));
    assert_eq!(largest([("body", 9)], &rows), ("body".into(), 9));
}
