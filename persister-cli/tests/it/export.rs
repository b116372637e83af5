//! `export`: the checks every backend passes, on a database holding the
//! [`fixture`](crate::fixture).

use persister_core::{CommandStore, Operation, codec};
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

/// The order an import from a formae database gives resource updates: by KSUID, a replace's
/// delete before its create (README, "Moving from a formae agent").
fn formae_order(op: Operation) -> u8 {
    match op {
        Operation::Delete => 0,
        Operation::Create => 1,
        Operation::Update => 2,
        Operation::Replace => 3,
        Operation::Read => 4,
        _ => 5,
    }
}

/// `export --to-formae` writes a new formae database (refusing an existing file) that
/// `import --from-formae` reads back into an empty database as the same commands, up to what
/// the formae schema does not keep: the order of resource updates, an absent description
/// (always written), an empty stack label (the resource's stack).
pub(crate) async fn to_formae(url: &str) {
    let file = TempDb::new("to-formae");
    let formae = format!("sqlite:{}", file.path().display());
    let (code, out, err) = crate::fixture::run(url, &["export", "--to-formae", &formae]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("exported 454 command(s) to the formae database"), "{err}");
    let (code, _, err) = crate::fixture::run(url, &["export", "--to-formae", &formae]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the file exists"), "{err}");
    let target = TempDb::new("to-formae-target");
    CommandStore::close(&*target.open().await).await.expect("closes");
    let target_url = format!("sqlite:{}", target.path().display());
    let out = ok(&target_url, &["import", "--from-formae", &formae]);
    assert!(out.contains("imported 454 of 454 command(s) read"), "{out}");
    assert!(!out.contains("warning"), "{out}");
    let mut expected = String::new();
    for line in ok(url, &["export"]).lines() {
        let mut c = codec::decode_command(line.as_bytes()).expect("decodes");
        c.description.get_or_insert_with(Default::default);
        for ru in &mut c.resource_updates {
            if ru.stack_label.is_empty() {
                ru.stack_label.clone_from(&ru.resource.stack);
            }
        }
        c.resource_updates.sort_by(|a, b| {
            (a.resource.ksuid.as_bytes(), formae_order(a.operation))
                .cmp(&(b.resource.ksuid.as_bytes(), formae_order(b.operation)))
        });
        expected.push_str(&codec::encode_command(&c).expect("encodes"));
        expected.push('\n');
    }
    assert!(ok(&target_url, &["export"]) == expected, "the same commands");
}
