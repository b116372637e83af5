//! The checks every backend passes, on a database holding the [`fixture`](crate::fixture).
//! Table output is compared with snapshots (`tests/it/snapshots/`), shared by the backends.

use persister_core::{DynCommandStore, Persister, codec};

use crate::fixture::{IDS, ids_in, ok, run};

/// `list`: the table, newest first, and `--json` lines with exact UTC times.
pub(crate) fn list(url: &str) {
    let out = ok(url, &["list"]);
    insta::assert_snapshot!("list", out);
    assert_eq!(ids_in(&out), IDS, "newest first");
    let json = ok(url, &["list", "--json"]);
    let lines: Vec<&str> = json.lines().collect();
    assert_eq!(lines.len(), 4, "one object per line: {json}");
    assert!(lines[3].contains(r#""id":"2qA-apply-done""#), "{}", lines[3]);
    assert!(lines[3].contains(r#""start_ts":"2026-12-01T08:00:00Z""#), "{}", lines[3]);
    assert!(lines[3].contains(r#""final_resource_updates":3"#), "{}", lines[3]);
}

/// `list --limit` pages with `--after CURSOR`: every command once, none twice.
pub(crate) fn paging(url: &str) {
    let first = ok(url, &["list", "--limit", "3"]);
    assert_eq!(ids_in(&first), &IDS[..3]);
    let cursor = first
        .lines()
        .find_map(|l| l.strip_prefix("next page: --after "))
        .unwrap_or_else(|| panic!("a next cursor: {first}"));
    let second = ok(url, &["list", "--limit", "3", "--after", cursor]);
    assert_eq!(ids_in(&second), &IDS[3..]);
    assert!(second.contains("1 command(s)"), "the last page has no cursor: {second}");
    let (code, _, err) = run(url, &["list", "--after", "not-a-cursor"]);
    assert_eq!(code, 2, "a bad cursor is bad usage: {err}");
}

/// Each filter of `list`.
pub(crate) fn filters(url: &str) {
    let ids = |args: &[&str]| ids_in(&ok(url, &[&["list"], args].concat()));
    assert_eq!(ids(&["--state", "success"]), [IDS[3]]);
    assert_eq!(ids(&["--kind", "destroy"]), [IDS[1]]);
    assert_eq!(ids(&["--unfinished"]), [IDS[0], IDS[2]]);
    assert_eq!(ids(&["--client", ""]), [IDS[0]]);
    assert_eq!(ids(&["--client", "cli"]), [IDS[2], IDS[3]]);
    assert_eq!(ids(&["--since", "2026-12-01T08:03:00Z"]), [IDS[0], IDS[1]]);
    assert_eq!(ids(&["--until", "2026-12-01T08:01:40Z"]), [IDS[3]]);
    let (code, _, err) = run(url, &["list", "--state", "Sleeping"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown state"), "{err}");
}

/// `show`: the summary, and `--json` exactly as the codec writes the loaded command.
pub(crate) async fn show(url: &str, store: std::sync::Arc<DynCommandStore>) {
    insta::assert_snapshot!("show", ok(url, &["show", IDS[2]]));
    let json = ok(url, &["show", IDS[2], "--json"]);
    let command = Persister::new(store).load(IDS[2]).await.expect("loads");
    let expected = codec::encode_command(&command).expect("encodes");
    assert_eq!(json, format!("{expected}\n"), "the exact Go wire JSON");
    let (code, out, err) = run(url, &["show", "2qZ-unknown"]);
    assert_eq!(code, 3, "not found has its own exit code");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("no command 2qZ-unknown in "), "{err}");
}

/// `stats` (the size on disk differs between runs and backends: left out of the snapshot).
pub(crate) fn stats(url: &str) -> String {
    let out = ok(url, &["stats"]);
    let stable: String = out
        .lines()
        .filter(|l| {
            !l.starts_with("Size on disk")
                && !l.starts_with("Database")
                && !l.starts_with("Backend")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!("stats", stable);
    let json = ok(url, &["stats", "--json"]);
    assert!(json.contains(r#""commands":4"#), "{json}");
    assert!(json.contains(r#""oldest_unfinished":{"id":"2qB-apply-running""#), "{json}");
    out
}

/// `purge`: a dry run deletes nothing; a purge deletes the final commands modified before the
/// bound and nothing else.
pub(crate) fn purge(url: &str) {
    let dry = ok(url, &["purge", "--finished-before", "2026-12-01T08:03:40Z", "--dry-run"]);
    assert!(dry.contains("would delete 2qA-apply-done"), "{dry}");
    assert!(dry.contains("would delete 2qC-destroy-failed"), "{dry}");
    assert!(dry.contains("2 finished command(s)"), "{dry}");
    assert_eq!(ids_in(&ok(url, &["list"])).len(), 4, "a dry run deletes nothing");
    let out = ok(url, &["purge", "--finished-before", "2026-12-01T08:03:00Z"]);
    assert!(out.contains("deleted 2qA-apply-done (Success"), "{out}");
    assert!(out.contains("deleted 1 finished command(s)"), "{out}");
    assert_eq!(ids_in(&ok(url, &["list"])), [IDS[0], IDS[1], IDS[2]]);
    let out = ok(url, &["purge", "--finished-before", "0s"]);
    assert!(out.contains("deleted 1 finished command(s)"), "{out}");
    assert_eq!(ids_in(&ok(url, &["list"])), [IDS[0], IDS[2]], "unfinished commands stay");
    let (code, _, err) = run(url, &["purge", "--finished-before", "yesterday"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("neither a time"), "{err}");
}
