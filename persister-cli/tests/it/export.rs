//! `export`: the checks every backend passes, on a database holding the
//! [`fixture`](crate::fixture).

use persister_testkit::TempDb;

use crate::fixture::{IDS, ok};

/// `export` writes one line per command, newest first, each exactly what `show --json` prints;
/// the filters of `list` select; `--out FILE` writes the same bytes to the file.
pub(crate) fn export(url: &str) {
    let out = ok(url, &["export"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), IDS.len(), "one line per command: {out}");
    for (line, id) in lines.iter().zip(IDS) {
        assert_eq!(format!("{line}\n"), ok(url, &["show", id, "--json"]), "{id}");
    }
    let unfinished = ok(url, &["export", "--unfinished"]);
    assert_eq!(unfinished, format!("{}\n{}\n", lines[0], lines[2]));
    let file = TempDb::new("export-out");
    let path = file.path().display().to_string();
    let printed = ok(url, &["export", "--out", &path]);
    assert!(printed.is_empty(), "nothing on stdout with --out: {printed}");
    assert_eq!(std::fs::read_to_string(file.path()).expect("the file is written"), out);
    let (code, _, err) = crate::fixture::run(url, &["export", "--out", "/nonexistent/dir/x"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/nonexistent/dir/x"), "names the file: {err}");
}
