//! The binary on SQLite files written by the persister, and on files that are not ours.

use std::time::Duration;

use persister_core::{CommandStore, Persister, ResourceUpdateState};
use persister_testkit::TempDb;

use crate::checks;
use crate::fixture::{self, IDS, done, run};
use crate::import;

/// A file holding the fixture, and its `--db` URL.
async fn database(tag: &str) -> (TempDb, String) {
    let db = TempDb::new(tag);
    let store = db.open().await;
    fixture::write(store.clone()).await;
    CommandStore::close(&*store).await.expect("closes");
    let url = format!("sqlite:{}", db.path().display());
    (db, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn list_show_stats_and_paging() {
    let (db, url) = database("cli-read").await;
    checks::list(&url);
    checks::paging(&url);
    checks::filters(&url);
    checks::show(&url, db.open().await).await;
    crate::export::export(&url);
    let stats = checks::stats(&url);
    assert!(stats.contains("schema version"), "{stats}");
}

/// The `--db` URL of `db`.
fn url(db: &TempDb) -> String {
    format!("sqlite:{}", db.path().display())
}

#[tokio::test(flavor = "multi_thread")]
async fn export_import_round_trip_and_bad_input() {
    let (source_db, source) = database("cli-import-src").await;
    let store = source_db.open().await;
    import::many(store.clone()).await;
    CommandStore::close(&*store).await.expect("closes");
    let target_db = TempDb::new("cli-import-dst");
    CommandStore::close(&*target_db.open().await).await.expect("closes");
    import::not_a_file(&url(&target_db));
    import::round_trip(&source, &url(&target_db));
    crate::export::to_formae(&source).await;
    let bad_db = TempDb::new("cli-import-bad");
    import::bad_lines(&source, &url(&bad_db), bad_db.open().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn import_creates_a_missing_sqlite_file() {
    let (_source_db, source) = database("cli-import-create").await;
    let exported = crate::fixture::ok(&source, &["export"]);
    let file = TempDb::new("cli-import-create-jsonl");
    std::fs::write(file.path(), &exported).expect("writes");
    let target = TempDb::new("cli-import-create-dst");
    let path = file.path().display().to_string();
    let out = crate::fixture::ok(&url(&target), &["import", &path]);
    assert!(out.contains("imported 4 of 4"), "{out}");
    assert_eq!(crate::fixture::ok(&url(&target), &["export"]), exported);
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_deletes_old_finished_commands() {
    let (_db, url) = database("cli-purge").await;
    let before = checks::stats(&url);
    checks::purge(&url);
    let after = crate::fixture::ok(&url, &["stats"]);
    assert!(before.contains("Commands           4"), "{before}");
    assert!(after.contains("Commands           2"), "{after}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_follows_a_command_until_it_is_final() {
    let (db, url) = database("cli-watch").await;
    let mut watch = fixture::cli(&url);
    watch.args(["watch", IDS[2], "--interval", "100ms"]).timeout(Duration::from_secs(30));
    let child = std::thread::spawn(move || watch.output().expect("watch runs"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut p = Persister::new(db.open().await);
    for i in 1..4 {
        p.complete(done(IDS[2], i, ResourceUpdateState::Success, 400)).await.expect("complete");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let output = child.join().expect("the watch thread");
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.contains("2qB-apply-running 1/4 InProgress"), "{out}");
    assert!(out.contains("2qB-apply-running 4/4 Success (final)"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_with_nothing_unfinished_says_so() {
    let db = TempDb::new("cli-empty");
    CommandStore::close(&*db.open().await).await.expect("closes");
    let url = format!("sqlite:{}", db.path().display());
    let (code, out, _) = run(&url, &["watch"]);
    assert_eq!(code, 0);
    assert!(out.contains("no unfinished commands"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_databases_are_one_line_errors() {
    let missing = "sqlite:/nonexistent/commands.db";
    let (code, _, err) = run(missing, &["list"]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("no such file"), "{err}");

    let garbage = TempDb::new("cli-garbage");
    std::fs::write(garbage.path(), vec![b'x'; 8192]).expect("writes");
    let (code, _, err) = run(&format!("sqlite:{}", garbage.path().display()), &["list"]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("not a database"), "{err}");

    let newer = TempDb::new("cli-newer");
    CommandStore::close(&*newer.open().await).await.expect("closes");
    newer.raw().execute_batch("PRAGMA user_version = 999").expect("sets the version");
    let (code, _, err) = run(&format!("sqlite:{}", newer.path().display()), &["stats"]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("999"), "names the version found: {err}");

    let formae = TempDb::new("cli-formae");
    formae
        .raw()
        .execute_batch(
            "CREATE TABLE forma_commands (command_id TEXT PRIMARY KEY, timestamp INTEGER, \
             command TEXT, state TEXT, client_id TEXT, data BLOB);",
        )
        .expect("a formae-shaped table");
    let (code, _, err) = run(&format!("sqlite:{}", formae.path().display()), &["list"]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("forma_commands"), "names the table: {err}");

    let (code, _, err) = run("mysql://nope", &["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("sqlite:PATH or postgres://"), "{err}");
}
