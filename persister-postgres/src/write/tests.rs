//! Unit tests of the batch planning: what PostgreSQL writes for a coalesced batch (the
//! coalescing itself is tested in `persister_core`).

use persister_core::Completion;

use super::*;

/// A change of the progress alone at `position`.
fn row(position: i64, progress: &str) -> ResourceUpdateChange {
    ResourceUpdateChange {
        position,
        state: "NotStarted".into(),
        completion: Completion::Pending,
        fixed: None,
        progress: progress.into(),
    }
}

/// A change of both parts at `position`.
fn with_fixed(position: i64, fixed: &str, progress: &str) -> ResourceUpdateChange {
    ResourceUpdateChange { fixed: Some(fixed.into()), ..row(position, progress) }
}

/// The progress of each effect.
fn progress<'a>(effects: &[RowEffect<'a>]) -> Vec<&'a str> {
    effects.iter().map(|e| e.last.progress.as_str()).collect()
}

fn checkpoint(id: &str, expected_revision: i64, rows: Vec<ResourceUpdateChange>) -> Checkpoint {
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
        BatchWrite::Apply(c, 3) => {
            assert_eq!((c.command_id.as_str(), c.expected_revision), ("a", 0));
            assert_eq!(c.header.head, "h2", "the last header wins");
            assert_eq!(progress(&last_per_position(&c.resource_updates)), ["a0'", "a2"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&planned[1], BatchWrite::Apply(c, 1) if c.command_id == "b"));
    assert!(matches!(planned[2], BatchWrite::Delete("b", 6)));
}

#[test]
fn the_last_row_of_a_position_wins() {
    let rows = [row(0, "a"), row(1, "b"), row(0, "c")];
    assert_eq!(progress(&last_per_position(&rows)), ["b", "c"]);
}

#[test]
fn a_fixed_part_written_before_the_last_change_of_its_position_is_kept() {
    let rows = [
        with_fixed(0, "f0", "a"),
        row(0, "b"),
        row(1, "c"),
        with_fixed(1, "f1", "d"),
        with_fixed(2, "f2", "e"),
        with_fixed(2, "f2'", "f"),
        row(3, "g"),
    ];
    let effects = last_per_position(&rows);
    assert_eq!(progress(&effects), ["b", "d", "f", "g"]);
    let fixed: Vec<Option<&str>> = effects.iter().map(|e| e.fixed).collect();
    assert_eq!(fixed, [Some("f0"), Some("f1"), Some("f2'"), None]);
}

#[test]
fn the_largest_value_is_named() {
    let rows = [(0, "progress", 1), (7, "fixed", 6)];
    assert_eq!(
        largest([("body", 3), ("head", 2)], rows.into_iter()),
        ("resource_updates[7].fixed".into(), 6)
    );
    assert_eq!(largest([("body", 9)], rows.into_iter()), ("body".into(), 9));
}
