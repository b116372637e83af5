//! The operator tooling's SQLite side: migrating a version 1 database in place, refusing a
//! database of another program, read-only opening, reclaiming space and `info`.

use persister_core::{
    CommandState, CommandStore, ListFilter, ResourceUpdateState, StoreError, Timestamp,
};
use persister_sqlite::{SCHEMA_VERSION, SqliteConfig, SqliteStore};

use crate::support::{TempDb, checkpoint, command};

const MIGRATION_0001: &str = include_str!("../../migrations/0001_init.sql");

/// formae's `forma_commands` before its migration 00005 (with the whole command in `data`),
/// and its goose version table.
const FORMAE_OLD: &str = "
    CREATE TABLE db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL,
        is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));
    CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY, timestamp TEXT NOT NULL,
        command TEXT NOT NULL, state TEXT NOT NULL, agent_version TEXT, client_id TEXT,
        agent_id TEXT, data TEXT);
    CREATE INDEX idx_timestamp ON forma_commands (timestamp);
    INSERT INTO forma_commands VALUES ('c1', '2025-12-19 23:51:57.123+00:00', 'apply',
        'Success', '0.1', 'cli', 'agent', '{\"ID\":\"c1\"}');
";

/// formae's tables after its migration 00005 (no `data`, resource updates of their own).
const FORMAE_NEW: &str = "
    CREATE TABLE db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL,
        is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));
    CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY, timestamp TEXT NOT NULL,
        command TEXT NOT NULL, state TEXT NOT NULL, agent_version TEXT, client_id TEXT,
        agent_id TEXT, description_text TEXT, description_confirm INTEGER DEFAULT 0,
        config_mode TEXT DEFAULT 'reconcile', config_force INTEGER DEFAULT 0,
        config_simulate INTEGER DEFAULT 0, target_updates TEXT, modified_ts TEXT);
    CREATE TABLE resource_updates (command_id TEXT NOT NULL, ksuid TEXT NOT NULL,
        operation TEXT NOT NULL, state TEXT NOT NULL, start_ts TEXT, modified_ts TEXT,
        retries INTEGER DEFAULT 0, remaining INTEGER DEFAULT 0, version TEXT, stack_label TEXT,
        group_id TEXT, source TEXT, resource TEXT, resource_target TEXT, existing_resource TEXT,
        existing_target TEXT, metadata TEXT, progress_result TEXT, most_recent_progress TEXT,
        remaining_resolvables TEXT, reference_labels TEXT, previous_properties TEXT,
        PRIMARY KEY (command_id, ksuid, operation));
";

fn user_version(db: &TempDb) -> i64 {
    db.raw().pragma_query_value(None, "user_version", |row| row.get(0)).expect("user_version")
}

fn schema(db: &TempDb) -> Vec<String> {
    let raw = db.raw();
    let mut stmt = raw
        .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        .expect("q");
    stmt.query_map([], |row| row.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
}

/// A database at `user_version` 1 created from the 0001 SQL, with two commands.
fn version_1(db: &TempDb) {
    let raw = db.raw();
    raw.execute_batch(MIGRATION_0001).expect("0001");
    raw.execute_batch(
        "INSERT INTO forma_commands VALUES ('old', 'apply', 'Success', 'cli', 100, 150, 3, \
           '{\"ID\":\"old\",\"D\":\"é\"}', '{}');
         INSERT INTO forma_commands VALUES ('new', 'sync', 'InProgress', NULL, 200, 250, 0, \
           '{}', '{\"State\":\"InProgress\"}');
         INSERT INTO resource_updates VALUES ('old', 0, 'k0', 'create', 'Success', 1, '{\"ü\":1}');
         INSERT INTO resource_updates VALUES ('old', 1, 'k1', 'create', 'Failed', 1, '{}');
         INSERT INTO resource_updates VALUES ('new', 0, 'k0', 'update', 'InProgress', 0, '[]');",
    )
    .expect("rows");
    raw.pragma_update(None, "user_version", 1).expect("version 1");
}

#[tokio::test]
async fn a_version_1_database_is_migrated_in_place_and_lists_correctly() {
    let db = TempDb::new("v1");
    version_1(&db);
    let store = SqliteStore::open(db.config()).await.expect("open migrates");
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    let page = store.list_summaries(&ListFilter::all()).await.expect("list");
    let ids: Vec<&str> = page.summaries.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["new", "old"]);
    let old = &page.summaries[1];
    // Bytes as stored after the split of migration 3, not characters ("é" takes two).
    let bytes: i64 = db
        .raw()
        .query_row(
            "SELECT length(CAST(body AS BLOB)) + length(CAST(head AS BLOB)) + (SELECT \
               sum(length(CAST(fixed AS BLOB))) FROM resource_updates \
               WHERE command_id = 'old') + (SELECT sum(length(CAST(progress AS BLOB))) \
               FROM resource_update_progress WHERE command_id = 'old') \
             FROM forma_commands WHERE command_id = 'old'",
            [],
            |row| row.get(0),
        )
        .expect("sizes");
    let bytes = u64::try_from(bytes).expect("a size");
    let whole = r#"{"ID":"old","D":"é"}"#.len() + 2 + r#"{"ü":1}"#.len() + 2;
    assert!(bytes > u64::try_from(whole).expect("small"));
    assert_eq!(old.stored_bytes, bytes);
    assert_eq!((old.resource_updates, old.final_resource_updates), (2, 2));
    assert_eq!(old.by_state.get(&ResourceUpdateState::Failed), Some(&1));
    assert_eq!(old.start_ts.datetime().unix_timestamp_nanos(), 100_000);
    let new = &page.summaries[0];
    assert_eq!(
        (new.state, new.client_id.as_str(), new.stored_bytes),
        (CommandState::InProgress, "", 26)
    );
    // A document that is not a resource update cannot be split: it is kept whole, and
    // loading its command reports it as loading it did before.
    let kept: (String, String) = db
        .raw()
        .query_row(
            "SELECT fixed, progress FROM resource_updates NATURAL JOIN resource_update_progress \
             WHERE command_id = 'new'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("row");
    assert_eq!(kept, ("[]".to_owned(), String::new()));
    // The migrated rows take writes, and the listing follows them.
    let mut cp = checkpoint("new", 0, "Success", &[]);
    cp.header.stored_bytes = 99;
    cp.header.start_ts_ns = 7;
    store.apply(cp).await.expect("apply");
    let page = store.list_summaries(&ListFilter::all().unfinished(true)).await.expect("list");
    assert!(page.summaries.is_empty());
    let header = store.load("new").await.expect("load").expect("kept").header;
    assert_eq!((header.stored_bytes, header.start_ts_ns), (99, 7));
    drop(store);
    let store = SqliteStore::open(db.config()).await.expect("reopen");
    assert_eq!(store.list(&ListFilter::all()).await.expect("list").len(), 2);
}

#[tokio::test]
async fn a_formae_database_is_refused_with_foreign_schema() {
    for (ddl, table) in [(FORMAE_OLD, "forma_commands"), (FORMAE_NEW, "forma_commands")] {
        for read_only in [false, true] {
            let db = TempDb::new("formae");
            db.raw().execute_batch(ddl).expect("formae schema");
            let before = schema(&db);
            let err =
                SqliteStore::open(db.config().read_only(read_only)).await.expect_err("refused");
            assert!(
                matches!(&err, StoreError::ForeignSchema { table: t, .. } if t == table),
                "{err:?}"
            );
            assert!(!err.is_transient());
            assert!(err.to_string().contains("db_version"), "{err}");
            assert_eq!(schema(&db), before, "the refused database was changed");
            assert_eq!(user_version(&db), 0);
        }
    }
}

#[tokio::test]
async fn tables_with_columns_not_ours_are_refused() {
    let cases = [
        "ALTER TABLE forma_commands ADD COLUMN data TEXT",
        "ALTER TABLE resource_updates DROP COLUMN completion",
    ];
    for sql in cases {
        let db = TempDb::new("columns");
        version_1(&db);
        db.raw().execute_batch(sql).expect(sql);
        let err = SqliteStore::open(db.config()).await.expect_err("refused");
        assert!(matches!(err, StoreError::ForeignSchema { .. }), "{sql}: {err:?}");
        assert_eq!(user_version(&db), 1, "{sql}: not migrated");
    }
}

#[tokio::test]
async fn read_only_reads_while_another_connection_writes() {
    let db = TempDb::new("read-only");
    let writer = SqliteStore::open(db.config()).await.expect("open");
    writer.insert(command("c1", 1, 2)).await.expect("insert");
    let reader = SqliteStore::open(db.config().read_only(true)).await.expect("open read-only");
    assert_eq!(reader.list_summaries(&ListFilter::all()).await.expect("list").summaries.len(), 1);
    writer.insert(command("c2", 2, 0)).await.expect("insert while a reader is open");
    assert_eq!(reader.list(&ListFilter::all()).await.expect("list").len(), 2);
    assert!(reader.load("c2").await.expect("load").is_some());
    let err = reader.insert(command("c3", 3, 0)).await.expect_err("a read-only store");
    assert!(matches!(err, StoreError::Backend { transient: false, .. }), "{err:?}");
    assert_eq!(reader.info().await.expect("info").schema_version, SCHEMA_VERSION);
    assert_eq!(writer.list(&ListFilter::all()).await.expect("list").len(), 2);
}

#[tokio::test]
async fn read_only_refuses_other_schema_versions_without_writing() {
    let db = TempDb::new("ro-old");
    version_1(&db);
    let err = SqliteStore::open(db.config().read_only(true)).await.expect_err("too old");
    assert!(
        matches!(err, StoreError::SchemaTooOld { found: 1, required: SCHEMA_VERSION }),
        "{err:?}"
    );
    assert_eq!(user_version(&db), 1, "a read-only open migrates nothing");

    let db = TempDb::new("ro-new");
    db.raw().pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("a newer version");
    let err = SqliteStore::open(db.config().read_only(true)).await.expect_err("too new");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, supported: SCHEMA_VERSION } if found == SCHEMA_VERSION + 1),
        "{err:?}"
    );

    let db = TempDb::new("ro-empty");
    db.raw().execute_batch("CREATE TABLE other (x)").expect("a database of nothing of ours");
    let err = SqliteStore::open(db.config().read_only(true)).await.expect_err("no schema");
    assert!(
        matches!(err, StoreError::SchemaTooOld { found: 0, required: SCHEMA_VERSION }),
        "{err:?}"
    );

    let missing = TempDb::new("ro-missing");
    let err = SqliteStore::open(missing.config().read_only(true)).await.expect_err("no file");
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert!(!missing.path.exists(), "a read-only open creates no file");
    let err =
        SqliteStore::open(SqliteConfig::in_memory().read_only(true)).await.expect_err("empty");
    assert!(matches!(err, StoreError::SchemaTooOld { found: 0, .. }), "{err:?}");
}

#[tokio::test]
async fn purge_then_reclaim_gives_pages_back() {
    let db = TempDb::new("reclaim");
    let store = SqliteStore::open(db.config()).await.expect("open");
    let auto_vacuum: i64 =
        db.raw().pragma_query_value(None, "auto_vacuum", |row| row.get(0)).expect("pragma");
    assert_eq!(auto_vacuum, 2, "new databases are INCREMENTAL");
    for i in 0..20 {
        let mut c = command(&format!("c{i}"), i, 3);
        c.header.state = "Success".into();
        c.header.body = "x".repeat(50_000);
        store.insert(c).await.expect("insert");
    }
    store.reclaim().await.expect("checkpoint");
    let full = store.info().await.expect("info").database_bytes.expect("known");
    let purged = store.purge_finished(Timestamp::now(), 100).await.expect("purge");
    assert_eq!(purged.len(), 20);
    store.reclaim().await.expect("reclaim");
    let info = store.info().await.expect("info");
    assert_eq!((info.backend, info.schema_version), ("sqlite", SCHEMA_VERSION));
    let after = info.database_bytes.expect("known");
    assert!(after * 4 < full, "reclaimed: {full} bytes before, {after} after");
    let wal = std::fs::metadata(format!("{}-wal", db.path.display())).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the WAL was truncated");
}
