//! Tests specific to the PostgreSQL backend: schema and migrations, transactions, the error
//! variants (compared with the reference `MemoryStore`), large commands and timestamps. Each
//! test gets its own database from `pg::test_database`; when no server can be found the test
//! fails with the harness's explanation. The harness itself is tested in `pg_harness.rs`.

use std::time::Instant;

use persister_core::{
    Checkpoint, CommandKind, CommandRow, CommandState, CommandStore, Completion, HeaderUpdate,
    ListFilter, MemoryStore, ResourceUpdateRow, StoreError, StoredCommand, WriteOp,
};
use persister_postgres::PgStore;
use persister_testkit::pg::{self, TestDatabase};
use sqlx::postgres::PgPool;

/// A fresh database and a store on it; a missing server fails the test with the reason.
async fn setup() -> (TestDatabase, PgStore) {
    let db = pg::test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let store = db.store().await.unwrap_or_else(|e| panic!("cannot open {db:?}: {e}"));
    (db, store)
}

async fn done(db: TestDatabase, store: PgStore) {
    store.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}

fn header(id: &str, state: &str, client: &str, start_ts: i64) -> CommandRow {
    CommandRow {
        id: id.into(),
        command: "apply".into(),
        state: state.into(),
        client_id: Some(client.into()),
        start_ts,
        modified_ts: start_ts + 1,
        start_ts_ns: 0,
        modified_ts_ns: 0,
        stored_bytes: 0,
        revision: 0,
        body: format!(r#"{{"ID":"{id}","Config":{{"Mode":"reconcile"}}}}"#),
        head: format!(r#"{{"State":"{state}"}}"#),
    }
}

fn row(position: i64, ksuid: &str, operation: &str) -> ResourceUpdateRow {
    ResourceUpdateRow {
        position,
        ksuid: ksuid.into(),
        operation: operation.into(),
        state: "NotStarted".into(),
        completion: Completion::Pending,
        fixed: format!(r#"{{"Ksuid":"{ksuid}","Operation":"{operation}","Value": 2.50 }}"#),
        progress: r#"{"State": "NotStarted" }"#.into(),
    }
}

fn command(id: &str, rows: usize) -> StoredCommand {
    let rows = (0..rows).map(|i| row(i64::try_from(i).expect("small"), &format!("k{i}"), "create"));
    StoredCommand {
        header: header(id, "InProgress", "client-a", 1_700_000_000_000_000),
        resource_updates: rows.collect(),
    }
}

fn checkpoint(id: &str, expected_revision: i64, rows: Vec<ResourceUpdateRow>) -> Checkpoint {
    Checkpoint {
        command_id: id.into(),
        expected_revision,
        header: HeaderUpdate {
            state: "InProgress".into(),
            start_ts: 1_700_000_000_000_000,
            modified_ts: 1_700_000_000_500_001,
            start_ts_ns: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            head: r#"{"State":"InProgress","Step":2}"#.into(),
            body: None,
        },
        resource_updates: rows.into_iter().map(ResourceUpdateRow::into_change).collect(),
    }
}

/// A result with the error reduced to its message, which names the variant's fields.
fn outcome<T>(result: Result<T, StoreError>) -> Result<T, String> {
    result.map_err(|e| e.to_string())
}

/// The migrations recorded, read beside the store (never through a pooler).
async fn migrations(db: &TestDatabase) -> Vec<i64> {
    let pool = PgPool::connect(db.direct_url()).await.expect("direct pool");
    let sql = "SELECT version FROM _sqlx_migrations ORDER BY version";
    let versions = sqlx::query_scalar(sql).fetch_all(&pool).await.expect("migrations table");
    pool.close().await;
    versions
}

#[tokio::test]
async fn migrations_are_applied_once_and_reconnecting_is_idempotent() {
    let (db, store) = setup().await;
    store.insert(command("c1", 2)).await.expect("insert");
    let all: Vec<i64> = (1..=persister_postgres::schema_version()).collect();
    assert_eq!(migrations(&db).await, all);
    let pool = store.pool().clone();
    store.close().await;
    assert!(pool.is_closed(), "close() closes the pool");

    let again = db.store().await.expect("reconnect");
    let all: Vec<i64> = (1..=persister_postgres::schema_version()).collect();
    assert_eq!(migrations(&db).await, all);
    assert_eq!(again.load("c1").await.expect("load"), Some(command("c1", 2)));
    done(db, again).await;
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_version_is_refused() {
    let (db, store) = setup().await;
    let direct = PgPool::connect(db.direct_url()).await.expect("direct pool");
    let newer = persister_postgres::schema_version() + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from the future', TRUE, '\\x00', 0)",
    )
    .bind(newer)
    .execute(&direct)
    .await
    .expect("fake migration row");
    let too_new = |e: &StoreError| {
        matches!(e, StoreError::SchemaTooNew { found, supported }
            if *found == newer && *supported == persister_postgres::schema_version())
    };
    let refused = PgStore::connect(db.config()).await.expect_err("too new");
    assert!(too_new(&refused), "{refused:?}");
    let refused = PgStore::from_pool(direct).await.expect_err("too new");
    assert!(too_new(&refused), "{refused:?}");
    done(db, store).await;
}

#[tokio::test]
async fn apply_with_a_stale_revision_conflicts_and_writes_nothing() {
    let (db, store) = setup().await;
    store.insert(command("c1", 3)).await.expect("insert");
    store.apply(checkpoint("c1", 0, vec![])).await.expect("first apply");
    let before = store.load("c1").await.expect("load");

    let mut changed = row(1, "k1", "create");
    changed.fixed = "{}".into();
    let stale = store.apply(checkpoint("c1", 0, vec![changed])).await.expect_err("stale");
    assert!(matches!(stale, StoreError::Conflict { expected: 0, found: 1, .. }), "{stale:?}");
    assert_eq!(store.load("c1").await.expect("load"), before);

    let missing = store.apply(checkpoint("nope", 0, vec![])).await.expect_err("missing");
    assert!(matches!(missing, StoreError::NotFound { ref id } if id == "nope"), "{missing:?}");
    done(db, store).await;
}

#[tokio::test]
async fn apply_with_a_missing_position_rolls_back_the_header_too() {
    let (db, store) = setup().await;
    store.insert(command("c1", 3)).await.expect("insert");
    let before = store.load("c1").await.expect("load");

    let rows = vec![row(0, "k0", "create"), row(7, "k7", "create"), row(2, "k2", "create")];
    let error = store.apply(checkpoint("c1", 0, rows)).await.expect_err("no row 7");
    assert!(
        matches!(error, StoreError::Corrupt { ref field, .. } if field == "resource_updates[7]"),
        "{error:?}"
    );
    assert_eq!(store.load("c1").await.expect("load"), before);
    done(db, store).await;
}

#[tokio::test]
async fn insert_refuses_a_taken_id_and_duplicate_keys() {
    let (db, store) = setup().await;
    store.insert(command("c1", 2)).await.expect("insert");
    let taken = store.insert(command("c1", 5)).await.expect_err("taken");
    assert!(matches!(taken, StoreError::AlreadyExists { ref id } if id == "c1"), "{taken:?}");
    assert_eq!(store.load("c1").await.expect("load"), Some(command("c1", 2)));

    let mut twice = command("c2", 3);
    twice.resource_updates[2].ksuid = "k0".into();
    let duplicate = store.insert(twice).await.expect_err("duplicate");
    assert!(
        matches!(&duplicate, StoreError::DuplicateKey { id, ksuid, operation }
            if id == "c2" && ksuid == "k0" && operation == "create"),
        "{duplicate:?}"
    );
    assert_eq!(store.load("c2").await.expect("load"), None);
    done(db, store).await;
}

#[tokio::test]
async fn rows_load_ordered_by_position_and_byte_exact() {
    let (db, store) = setup().await;
    let mut stored = command("c1", 0);
    stored.resource_updates = [5, 0, 3, 1, 4, 2]
        .into_iter()
        .map(|p| row(p, &format!("k{p}"), if p % 2 == 0 { "create" } else { "delete" }))
        .collect();
    stored.resource_updates[1].completion = Completion::MadeFinalByBulk;
    stored.resource_updates[2].fixed = "{ \"a\" : [1, 2.50e0],\n\t\"é\": \"\\u0000\" }".into();
    store.insert(stored.clone()).await.expect("insert");

    let loaded = store.load("c1").await.expect("load").expect("stored");
    stored.resource_updates.sort_by_key(|r| r.position);
    assert_eq!(loaded, stored);
    done(db, store).await;
}

#[tokio::test]
async fn every_operation_matches_the_memory_store() {
    let (db, store) = setup().await;
    let memory = MemoryStore::new();
    let stores: [&dyn CommandStore; 2] = [&memory, &store];
    // Ids that sort differently under a locale than bytewise, and start_ts ties.
    let commands = [
        ("b", "InProgress", "client-a", 30),
        ("B", "Success", "client-b", 30),
        ("a", "Failed", "client-a", 10),
        ("é", "Canceled", "client-b", 30),
        ("a-2", "NotStarted", "client-a", 20),
        ("Z", "InProgress", "client-b", 10),
    ];
    for store in stores {
        for (id, state, client, start_ts) in commands {
            let c = StoredCommand { header: header(id, state, client, start_ts), ..command(id, 2) };
            store.insert(c).await.expect("insert");
        }
    }
    let filters = [
        ListFilter::all(),
        ListFilter::all().limit(3),
        ListFilter::all().limit(0),
        ListFilter::all().client_id("client-b"),
        ListFilter::all().state(CommandState::InProgress).client_id("client-a"),
        ListFilter::all().command(CommandKind::Sync),
    ];
    for filter in &filters {
        let want = memory.list(filter).await.expect("memory list");
        assert_eq!(store.list(filter).await.expect("list"), want, "{filter:?}");
    }
    assert_eq!(store.list_unfinished().await.expect("list"), ["Z", "a-2", "b"]);

    let mut changed = row(1, "k1", "create");
    changed.state = "Success".into();
    changed.completion = Completion::Completed;
    let mut later = changed.clone();
    later.progress = "{\"last\":true}".into();
    let calls: Vec<(&str, Checkpoint)> = vec![
        ("apply", checkpoint("b", 0, vec![changed.clone(), later])),
        ("stale apply", checkpoint("b", 0, vec![])),
        ("missing", checkpoint("nope", 0, vec![])),
        ("bad position", checkpoint("b", 1, vec![changed.clone(), row(9, "k9", "create")])),
    ];
    for (what, call) in calls {
        let want = outcome(memory.apply(call.clone()).await);
        assert_eq!(outcome(store.apply(call).await), want, "{what}");
    }
    let mut with_body = checkpoint("b", 1, vec![]);
    with_body.header.body = Some("{\"rewritten\":1}".into());
    for s in stores {
        s.apply(with_body.clone()).await.expect("apply with body");
    }
    for (id, revision) in [("b", 0), ("nope", 0), ("b", 2), ("B", 0)] {
        let want = outcome(memory.delete(id, revision).await);
        assert_eq!(outcome(store.delete(id, revision).await), want, "delete {id} at {revision}");
    }
    for (id, ..) in commands {
        assert_eq!(store.load(id).await.expect("load"), memory.load(id).await.expect("load"));
    }
    assert_eq!(store.dump_all_text().await.expect("dump"), memory.dump());
    done(db, store).await;
}

#[tokio::test]
async fn a_write_batch_commits_all_or_nothing_like_the_memory_store() {
    let (db, store) = setup().await;
    let memory = MemoryStore::new();
    let failing = vec![
        WriteOp::Insert(command("c1", 2)),
        WriteOp::Apply(checkpoint("c1", 0, vec![row(1, "k1", "create")])),
        WriteOp::Insert(command("c2", 1)),
        WriteOp::Apply(checkpoint("c1", 0, vec![])),
    ];
    let working = vec![
        WriteOp::Insert(command("c1", 2)),
        WriteOp::Apply(checkpoint("c1", 0, vec![row(1, "k1", "create")])),
        WriteOp::Insert(command("c2", 1)),
        WriteOp::Delete { id: "c2".into(), expected_revision: 0 },
        WriteOp::Insert(command("c3", 3)),
    ];
    for (what, batch) in [("failing", failing), ("working", working), ("empty", vec![])] {
        let want = outcome(memory.write_batch(batch.clone()).await);
        assert_eq!(outcome(store.write_batch(batch).await), want, "{what}");
        assert_eq!(store.dump_all_text().await.expect("dump"), memory.dump(), "{what}");
    }
    for id in ["c1", "c2", "c3"] {
        assert_eq!(store.load(id).await.expect("load"), memory.load(id).await.expect("load"));
    }
    // A command deleted and inserted again in one batch exists afterwards. (Not compared with
    // MemoryStore: its write_batch currently loses such a command.)
    let again = vec![
        WriteOp::Delete { id: "c3".into(), expected_revision: 0 },
        WriteOp::Insert(command("c3", 1)),
    ];
    store.write_batch(again).await.expect("delete and insert again");
    assert_eq!(store.load("c3").await.expect("load"), Some(command("c3", 1)));
    done(db, store).await;
}

#[tokio::test]
async fn a_command_with_two_thousand_resource_updates_is_written_in_one_statement() {
    let (db, store) = setup().await;
    let big = command("big", 2_000);
    let started = Instant::now();
    store.insert(big.clone()).await.expect("insert");
    let inserted = started.elapsed();
    assert_eq!(store.load("big").await.expect("load"), Some(big.clone()));

    let mut rows = big.resource_updates.clone();
    rows.iter_mut()
        .for_each(|r| (r.state, r.completion) = ("Success".into(), Completion::Completed));
    let started = Instant::now();
    store.apply(checkpoint("big", 0, rows.clone())).await.expect("apply");
    let applied = started.elapsed();
    let loaded = store.load("big").await.expect("load").expect("stored");
    assert_eq!(loaded.resource_updates, rows);
    assert_eq!(loaded.header.revision, 1);
    eprintln!("2,000 rows: insert {inserted:?}, apply {applied:?}");
    done(db, store).await;
}

#[tokio::test]
async fn timestamps_round_trip_to_the_microsecond() {
    let (db, store) = setup().await;
    // 0001-01-01T00:00:00Z, ..., PostgreSQL's epoch, ..., 9999-12-31T23:59:59.999999Z.
    let cases = [-62_135_596_800_000_000, -62_135_596_799_999_999, -1, 0, 946_684_800_000_000];
    let cases = [&cases[..], &[1_700_000_000_123_457, 253_402_300_799_999_999]].concat();
    for (i, &ts) in cases.iter().enumerate() {
        let id = format!("t{i}");
        let c = StoredCommand { header: header(&id, "Success", "c", ts), ..command(&id, 0) };
        store.insert(c.clone()).await.expect("insert");
        assert_eq!(store.load(&id).await.expect("load"), Some(c), "{ts}");
    }
    let at: Vec<i64> =
        store.list(&ListFilter::all()).await.expect("list").iter().map(|h| h.start_ts).collect();
    assert_eq!(at, cases.into_iter().rev().collect::<Vec<_>>());
    done(db, store).await;
}
