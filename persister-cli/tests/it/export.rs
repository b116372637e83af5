//! `export`: the checks every backend passes, on a database holding the
//! [`fixture`](crate::fixture).

use std::sync::Arc;

use persister_core::{
    Ack, CommandState, DynCommandStore, Operation, Persister, ResourceUpdateState, Timestamp, codec,
};
use persister_testkit::TempDb;

use crate::fixture::{IDS, done, ok, run};
use crate::formae_db::{schema_of, versions};
use crate::import::MANY;

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

/// `ts` with the nanoseconds below its microseconds dropped, as a PostgreSQL `TIMESTAMP`
/// column keeps it.
fn micros(ts: Timestamp) -> Timestamp {
    let t = ts.datetime();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).map_or(ts, Timestamp::from_datetime)
}

/// What `import --from-formae` gives back of the commands `export` prints at `url`, one line
/// each, up to what the formae schema does not keep: the order of resource updates, an
/// absent description (always written), an empty stack label (the resource's stack), and on
/// PostgreSQL (`postgres`) the nanoseconds of the times in `TIMESTAMP` columns.
fn through_formae(url: &str, postgres: bool) -> String {
    let mut expected = String::new();
    for line in ok(url, &["export"]).lines() {
        let mut c = codec::decode_command(line.as_bytes()).expect("decodes");
        c.description.get_or_insert_with(Default::default);
        if postgres {
            (c.start_ts, c.modified_ts) = (micros(c.start_ts), micros(c.modified_ts));
        }
        for ru in &mut c.resource_updates {
            if ru.stack_label.is_empty() {
                ru.stack_label.clone_from(&ru.resource.stack);
            }
            if postgres {
                (ru.start_ts, ru.modified_ts) = (micros(ru.start_ts), micros(ru.modified_ts));
            }
        }
        c.resource_updates.sort_by(|a, b| {
            (a.resource.ksuid.as_bytes(), formae_order(a.operation))
                .cmp(&(b.resource.ksuid.as_bytes(), formae_order(b.operation)))
        });
        expected.push_str(&codec::encode_command(&c).expect("encodes"));
        expected.push('\n');
    }
    expected
}

/// `export --to-formae` from `source` (the fixture and [`MANY`] more) into the empty formae
/// database `formae`, then again (refused: `refusal` is in the error, and nothing changed),
/// then `import --from-formae` into the empty `target`: the same commands
/// ([`through_formae`]), without a warning. The in-flight command stays unfinished and
/// resumes: a resource update final before the move counts as completed (D3), the last
/// pending completion finalizes it.
pub(crate) async fn to_formae_and_back(
    source: &str,
    formae: &str,
    target: &str,
    target_store: Arc<DynCommandStore>,
    refusal: &str,
) {
    let postgres = formae.starts_with("postgres");
    let all = MANY + IDS.len();
    let (code, out, err) = run(source, &["export", "--to-formae", formae]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains(&format!("exported {all} command(s) to the formae database")), "{err}");
    let (code, _, err) = run(source, &["export", "--to-formae", formae, "--kind", "destroy"]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("is not empty") && err.contains(refusal), "{err}");
    let out = ok(target, &["import", "--from-formae", formae]);
    assert!(out.contains(&format!("imported {all} of {all} command(s) read")), "{out}");
    assert!(!out.contains("warning") && !out.contains("restored"), "{out}");
    assert!(ok(target, &["export"]) == through_formae(source, postgres), "the same commands");

    let mut p = Persister::new(target_store);
    let running = p.load(IDS[2]).await.expect("imported");
    assert_eq!(running.state, CommandState::InProgress, "still in flight");
    assert!(p.list_unfinished().await.expect("lists").iter().any(|id| id == IDS[2]));
    let ok_state = ResourceUpdateState::Success;
    assert_eq!(p.complete(done(IDS[2], 0, ok_state, 500)).await.expect("replies"), Ack::Ignored);
    for i in 1..3 {
        assert_eq!(
            p.complete(done(IDS[2], i, ok_state, 500)).await.expect("replies"),
            Ack::Applied
        );
    }
    assert_eq!(p.complete(done(IDS[2], 3, ok_state, 500)).await.expect("replies"), Ack::Finalized);
}

/// [`to_formae_and_back`] through a new formae SQLite file, refused once it exists; the file
/// has the schema of the reference's DDL.
pub(crate) async fn to_formae(url: &str) {
    let file = TempDb::new("to-formae");
    let formae = format!("sqlite:{}", file.path().display());
    let target = TempDb::new("to-formae-target");
    let store = target.open().await;
    let target_url = format!("sqlite:{}", target.path().display());
    to_formae_and_back(url, &formae, &target_url, store, "the file exists").await;
    let reference = TempDb::new("to-formae-reference");
    crate::formae_db::new_schema(&reference.raw());
    assert_eq!(schema_of(&file.raw()), schema_of(&reference.raw()), "the reference's schema");
    assert_eq!(versions(&file.raw()), (0..=5).collect::<Vec<i64>>());
    let rows: i64 = file
        .raw()
        .query_row("SELECT COUNT(*) FROM forma_commands", [], |r| r.get(0))
        .expect("counts");
    assert_eq!(
        rows,
        i64::try_from(MANY + IDS.len()).expect("fits"),
        "the refused export wrote nothing"
    );
}
