//! `SqliteStore` on database files: migrations, reopening, pragmas, rows written by other
//! connections (BLOB columns, corrupt values), lock contention and closing.

use std::time::Duration;

use crate::support::{TempDb, checkpoint, command, outcome};
use persister_core::{CommandStore, Completion, ListFilter, StoreError};
use persister_sqlite::{Durability, SCHEMA_VERSION, SqliteConfig, SqliteStore};

fn user_version(db: &TempDb) -> i64 {
    db.raw().pragma_query_value(None, "user_version", |row| row.get(0)).expect("user_version")
}

fn tables(db: &TempDb) -> Vec<String> {
    let raw = db.raw();
    let mut stmt = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare");
    stmt.query_map([], |row| row.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
}

#[tokio::test]
async fn migrations_apply_on_a_fresh_file_and_reopen_is_idempotent() {
    let db = TempDb::new("migrate");
    let store = SqliteStore::open(db.config()).await.expect("open fresh file");
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    assert_eq!(tables(&db), ["forma_commands", "resource_update_progress", "resource_updates"]);
    let mode: String =
        db.raw().pragma_query_value(None, "journal_mode", |row| row.get(0)).expect("journal_mode");
    assert_eq!(mode, "wal");
    store.insert(command("c1", 1, 2)).await.expect("insert");
    drop(store);

    for _ in 0..2 {
        let store = SqliteStore::open(db.config()).await.expect("reopen");
        assert_eq!(user_version(&db), SCHEMA_VERSION);
        assert_eq!(store.load("c1").await.expect("load").expect("kept").resource_updates.len(), 2);
    }
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    for found in [SCHEMA_VERSION + 1, 99] {
        let db = TempDb::new("too-new");
        db.raw().pragma_update(None, "user_version", found).expect("set user_version");
        let result = SqliteStore::open(db.config()).await;
        assert!(
            matches!(result, Err(StoreError::SchemaTooNew { found: f, supported: SCHEMA_VERSION }) if f == found),
            "{result:?}"
        );
        assert_eq!(user_version(&db), found, "the refused database was changed");
        assert!(tables(&db).is_empty(), "the refused database was migrated");
    }
}

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    for durability in [Durability::Full, Durability::Normal] {
        let db = TempDb::new("reopen");
        let config = db.config().durability(durability);
        let store = SqliteStore::open(config.clone()).await.expect("open");
        store.insert(command("c1", 1, 3)).await.expect("insert");
        store.insert(command("c2", 2, 0)).await.expect("insert");
        store.apply(checkpoint("c1", 0, "Success", &[0, 2])).await.expect("apply");
        store.delete("c2", 0).await.expect("delete");
        let before = store.load("c1").await.expect("load");
        drop(store);

        let store = SqliteStore::open(config).await.expect("reopen");
        assert_eq!(store.load("c1").await.expect("load"), before, "{durability:?}");
        assert_eq!(store.load("c2").await.expect("load"), None, "{durability:?}");
        let headers = store.list(&ListFilter::all()).await.expect("list");
        assert_eq!(headers.len(), 1, "{durability:?}");
    }
}

#[tokio::test]
async fn blob_json_columns_are_read_back() {
    let db = TempDb::new("blob");
    let store = SqliteStore::open(db.config()).await.expect("open");
    store.insert(command("c1", 1, 2)).await.expect("insert");
    let before = store.load("c1").await.expect("load");

    let raw = db.raw();
    raw.execute_batch(
        "UPDATE forma_commands SET body = CAST(body AS BLOB), head = CAST(head AS BLOB);
         UPDATE resource_updates SET fixed = CAST(fixed AS BLOB);
         UPDATE resource_update_progress SET progress = CAST(progress AS BLOB);",
    )
    .expect("rewrite as blobs");
    let kind: String = raw
        .query_row("SELECT typeof(body) FROM forma_commands", [], |row| row.get(0))
        .expect("typeof");
    assert_eq!(kind, "blob");

    assert_eq!(store.load("c1").await.expect("load"), before);
    assert_eq!(store.list(&ListFilter::all()).await.expect("list").len(), 1);
}

#[tokio::test]
async fn corrupt_values_are_reported_with_their_field() {
    let cases = [
        ("UPDATE forma_commands SET body = X'FF00'", "body"),
        ("UPDATE forma_commands SET head = X'80'", "head"),
        ("UPDATE forma_commands SET state = X'FF'", "state"),
        ("UPDATE forma_commands SET start_ts = 'yesterday'", "start_ts"),
        (
            "UPDATE resource_updates SET fixed = X'C328' WHERE position = 1",
            "resource_updates[1].fixed",
        ),
        (
            "UPDATE resource_update_progress SET progress = X'FF' WHERE position = 0",
            "resource_updates[0].progress",
        ),
        (
            "UPDATE resource_updates SET completion = 7 WHERE position = 0",
            "resource_updates[0].completion",
        ),
    ];
    for (sql, field) in cases {
        let db = TempDb::new("corrupt");
        let store = SqliteStore::open(db.config()).await.expect("open");
        store.insert(command("c1", 1, 2)).await.expect("insert");
        db.raw().execute_batch(sql).expect(sql);
        let result = store.load("c1").await;
        assert_eq!(outcome(&result), format!("Corrupt(c1, {field})"), "{sql}");
    }
}

#[tokio::test]
async fn stored_completion_codes_are_mapped() {
    let db = TempDb::new("completion");
    let store = SqliteStore::open(db.config()).await.expect("open");
    store.insert(command("c1", 1, 3)).await.expect("insert");
    let mut cp = checkpoint("c1", 0, "Failed", &[1, 2]);
    cp.resource_updates[1].completion = Completion::MadeFinalByBulk;
    store.apply(cp).await.expect("apply");

    let codes: Vec<i64> = {
        let raw = db.raw();
        let mut stmt = raw
            .prepare("SELECT completion FROM resource_updates ORDER BY position")
            .expect("prepare");
        stmt.query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(codes, [0, 1, 2]);
    let loaded = store.load("c1").await.expect("load").expect("stored");
    let completions: Vec<Completion> =
        loaded.resource_updates.iter().map(|r| r.completion).collect();
    assert_eq!(
        completions,
        [Completion::Pending, Completion::Completed, Completion::MadeFinalByBulk]
    );
}

#[tokio::test]
async fn a_locked_database_gives_a_transient_error() {
    let db = TempDb::new("busy");
    let config = db.config().busy_timeout(Duration::from_millis(50));
    let store = SqliteStore::open(config).await.expect("open");
    store.insert(command("c1", 1, 1)).await.expect("insert");

    let raw = db.raw();
    raw.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let result = store.apply(checkpoint("c1", 0, "Success", &[0])).await;
    assert!(
        matches!(&result, Err(e @ StoreError::Backend { backend: "sqlite", .. }) if e.is_transient()),
        "{result:?}"
    );
    raw.execute_batch("ROLLBACK").expect("release the lock");

    store.apply(checkpoint("c1", 0, "Success", &[0])).await.expect("retry succeeds");
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    let db = TempDb::new("fk");
    let store = SqliteStore::open(db.config()).await.expect("open");
    store.insert(command("c1", 1, 2)).await.expect("insert");
    store.delete("c1", 0).await.expect("delete");
    let rows: i64 = db
        .raw()
        .query_row("SELECT count(*) FROM resource_updates", [], |row| row.get(0))
        .expect("count");
    assert_eq!(rows, 0);
    assert!(store.dump_all_text().await.expect("dump").is_empty());
}

#[tokio::test]
async fn an_unopenable_path_is_a_backend_error() {
    let db = TempDb::new("dir");
    std::fs::create_dir(&db.path).expect("mkdir");
    let result = SqliteStore::open(SqliteConfig::file(&db.path)).await;
    std::fs::remove_dir(&db.path).expect("rmdir");
    assert!(
        matches!(result, Err(StoreError::Backend { backend: "sqlite", transient: false, .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn close_waits_for_queued_writes_and_closes_the_file() {
    let db = TempDb::new("close");
    let wal = {
        let mut path = db.path.clone().into_os_string();
        path.push("-wal");
        std::path::PathBuf::from(path)
    };
    let store = SqliteStore::open(db.config()).await.expect("opens");
    store.insert(command("kept", 10, 3)).await.expect("insert");
    // A write whose caller stops waiting right after sending it: already queued.
    let abandoned = tokio::time::timeout(Duration::ZERO, store.insert(command("queued", 11, 2)));
    let _ = abandoned.await;
    assert!(wal.exists(), "an open WAL database has its -wal file");
    store.close().await.expect("closes");
    // The last connection closed cleanly: SQLite checkpointed the WAL and removed it.
    assert!(!wal.exists(), "the -wal file is gone after close");
    let reopened = SqliteStore::open(db.config()).await.expect("reopens");
    for id in ["kept", "queued"] {
        let stored = reopened.load(id).await.expect("loads").expect("the write was not lost");
        assert_eq!(stored.header.id, id);
    }
    reopened.close().await.expect("closes again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_and_listings_do_not_queue_behind_a_waiting_write() {
    let db = TempDb::new("read-connection");
    let config = db.config().busy_timeout(Duration::from_secs(10));
    let store = std::sync::Arc::new(SqliteStore::open(config).await.expect("open"));
    store.insert(command("c1", 10, 2)).await.expect("insert");
    // Another process holds the write lock: the store's next write waits for it.
    let other = db.raw();
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let writer = std::sync::Arc::clone(&store);
    let write = tokio::spawn(async move { writer.insert(command("c2", 20, 2)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!write.is_finished(), "the write waits for the lock");
    // The reads are answered meanwhile, by the read connection.
    let read = async {
        let page = store.list_summaries(&ListFilter::all()).await.expect("list");
        let loaded = store.load("c1").await.expect("load").expect("stored");
        (page.summaries.len(), loaded.resource_updates.len())
    };
    let answered = tokio::time::timeout(Duration::from_secs(2), read).await;
    assert_eq!(answered.expect("reads answer while the write waits"), (1, 2));
    assert!(!write.is_finished(), "the write still waits");
    other.execute_batch("COMMIT").expect("unlock");
    write.await.expect("no panic").expect("the write goes through once the lock is free");
    assert!(store.load("c2").await.expect("load").is_some(), "reads see committed writes");
}
