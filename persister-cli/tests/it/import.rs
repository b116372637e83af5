//! `import`: the checks every backend passes. Each takes a source database holding the
//! [`fixture`](crate::fixture) and [`many`] more commands, and an empty target.

use std::sync::Arc;

use persister_core::{CommandKind, DynCommandStore, Message, Operation, Persister, codec};
use persister_testkit::TempDb;
use persister_testkit::workload::{self, message_for};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::fixture::{self, ok, run};

/// How many generated commands [`many`] writes: more than one page of `export`.
pub(crate) const MANY: usize = 450;

/// Writes [`MANY`] commands of 1 to 4 resource updates; every third one is completed (and so
/// finalized: hashed), every fifth one has one resource update completed.
pub(crate) async fn many(store: Arc<DynCommandStore>) {
    let mut rng = StdRng::seed_from_u64(13);
    let mut p = Persister::new(store);
    let commands: Vec<_> =
        (0..MANY).map(|i| workload::command(&mut rng, "T", i, 1 + i % 4)).collect();
    for chunk in commands.chunks(100) {
        let batch = chunk.iter().map(|c| Message::StoreNew(Box::new(c.clone()))).collect();
        for reply in p.handle_batch(batch).await {
            reply.expect("stored");
        }
    }
    let mut messages = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        let positions = if i % 3 == 0 { c.resource_updates.len() } else { usize::from(i % 5 == 0) };
        for position in 0..positions {
            if let workload::Message::Complete(m) = message_for(&mut rng, c, position, 5) {
                messages.push(Message::Complete(Box::new(m)));
            }
        }
    }
    for chunk in messages.chunks(100) {
        for reply in p.handle_batch(chunk.to_vec()).await {
            reply.expect("completed");
        }
    }
}

/// A file in the temporary directory holding `text`.
fn file(tag: &str, text: &str) -> (TempDb, String) {
    let f = TempDb::new(tag);
    std::fs::write(f.path(), text).expect("writes the file");
    let path = f.path().display().to_string();
    (f, path)
}

/// Export, import into the empty `target`, export again: byte-identical. Importing the same
/// file twice changes nothing the second time.
pub(crate) fn round_trip(source: &str, target: &str) {
    let exported = ok(source, &["export"]);
    let count = exported.lines().count();
    assert_eq!(count, MANY + fixture::IDS.len());
    let (_f, path) = file("import-round-trip", &exported);
    let dry = ok(target, &["import", &path, "--dry-run"]);
    assert!(dry.contains(&format!("dry run: would import {count} of {count} command(s)")), "{dry}");
    assert_eq!(ok(target, &["export"]), "", "a dry run writes nothing");
    let out = ok(target, &["import", &path, "--batch", "64"]);
    assert!(
        out.contains(&format!("imported {count} of {count} command(s) read; skipped 0")),
        "{out}"
    );
    let again = ok(target, &["export"]);
    assert!(again == exported, "export -> import -> export is byte-identical");
    let out = ok(target, &["import", &path]);
    assert!(
        out.contains(&format!("imported 0 of {count} command(s) read; skipped {count}")),
        "{out}"
    );
    assert!(ok(target, &["export"]) == exported, "a second import changes nothing");
}

/// A truncated line, a command violating D1, a conflicting command and a repeated line are
/// reported (by line number or id) while the other commands import; the exit code is 4.
pub(crate) async fn bad_lines(source: &str, target: &str, target_store: Arc<DynCommandStore>) {
    let exported = ok(source, &["export", "--kind", "apply"]);
    let lines: Vec<&str> = exported.lines().take(5).collect();
    let mut dup = fixture::command("2qE-dup-keys", CommandKind::Apply, "cli", 2, 400);
    dup.resource_updates[1].resource.ksuid = dup.resource_updates[0].resource.ksuid.clone();
    dup.resource_updates[1].operation = Operation::Create;
    let dup = codec::encode_command(&dup).expect("encodes");
    let mut other = codec::decode_command(lines[1].as_bytes()).expect("decodes");
    other.client_id = "someone-else".into();
    let other = codec::encode_command(&other).expect("encodes");
    let truncated = &lines[2][..lines[2].len() / 2];
    let last = &lines[4][..lines[4].len() - 3];
    let text = format!(
        "{}\n{}\n\n{truncated}\n{dup}\n{other}\n{}\n{}\n{last}",
        lines[0], lines[1], lines[3], lines[0]
    );
    let (_f, path) = file("import-bad", &text);
    let (code, out, err) = run(target, &["import", &path]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains("failed line 4: cannot decode command"), "the truncated line: {out}");
    assert!(!out.contains("at line 1 column"), "positions are columns of the line: {out}");
    assert!(out.contains("failed line 9: cannot decode command"), "the last line: {out}");
    assert!(out.contains("(the file ends inside this line)"), "{out}");
    assert!(
        out.contains(
            "failed 2qE-dup-keys (line 5): command 2qE-dup-keys has two resource updates with key"
        ),
        "{out}"
    );
    let id1 = codec::decode_command(lines[1].as_bytes()).expect("decodes").id;
    assert!(out.contains(&format!("conflict {id1} (line 6): a different command")), "{out}");
    assert!(
        out.contains(
            "imported 3 of 8 command(s) read; skipped 1 already present; 1 conflict(s); 3 failed"
        ),
        "{out}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("1 conflict(s) and 3 failure(s)"), "{err}");
    let mut p = Persister::new(target_store);
    for line in [lines[0], lines[1], lines[3]] {
        let id = codec::decode_command(line.as_bytes()).expect("decodes").id;
        let stored = p.load(&id).await.expect("imported");
        assert_eq!(codec::encode_command(&stored).expect("encodes"), line, "{id} as exported");
    }
    assert!(p.load("2qE-dup-keys").await.is_err_and(|e| e.is_not_found()), "D1: not stored");
}

/// `import` of a directory or a missing file fails naming it, before opening the database.
pub(crate) fn not_a_file(target: &str) {
    let dir = std::env::temp_dir().display().to_string();
    let (code, _, err) = run(target, &["import", &dir]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("not a file") && err.contains(&dir), "{err}");
    let (code, _, err) = run(target, &["import", "/nonexistent/commands.jsonl"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/nonexistent/commands.jsonl"), "{err}");
}
