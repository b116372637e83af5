//! A database written by schema version 2 (whole resource update rows) is migrated in place
//! to the split rows of version 3 and reads back exactly as that build read it: every
//! command's Go wire JSON, byte for byte (`tests/fixtures/README.md` says how the fixtures
//! were made). Then it takes the rest of the workload's messages.

use std::sync::Arc;

use persister_core::{DynCommandStore, ListFilter, Persister, codec};
use persister_testkit::workload::Workload;

/// The fixtures' directory.
fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every command of the fixture as the schema-2 build encoded it, one per line, by id.
fn expected() -> Vec<String> {
    let text = std::fs::read_to_string(fixtures().join("schema2-commands.jsonl")).expect("fixture");
    text.lines().map(str::to_owned).collect()
}

/// Loads every command of `store` through a fresh persister and encodes it, by id.
async fn read_back(store: Arc<DynCommandStore>) -> Vec<String> {
    let mut ids: Vec<String> =
        store.list(&ListFilter::all()).await.expect("list").into_iter().map(|r| r.id).collect();
    ids.sort();
    let mut p = Persister::new(store);
    let mut out = Vec::new();
    for id in ids {
        let command = p.load(&id).await.unwrap_or_else(|e| panic!("{id} loads: {e}"));
        out.push(codec::encode_command(&command).expect("encodes"));
    }
    out
}

/// Checks the migrated `store`: same commands and bytes, every row split, and the workload's
/// remaining messages apply (the fixture holds the first 70% of them).
async fn check_migrated(store: Arc<DynCommandStore>) {
    let want = expected();
    assert_eq!(want.len(), 3, "the fixture holds three commands");
    let got = read_back(store.clone()).await;
    assert_eq!(got.len(), want.len());
    for (got, want) in got.iter().zip(&want) {
        assert!(
            got == want,
            "a migrated command reads back differently ({} vs {} bytes)",
            got.len(),
            want.len()
        );
    }
    let workload = Workload::w2(7);
    let id = workload.commands[0].id.clone();
    let stored = store.load(&id).await.expect("load").expect("stored");
    assert!(stored.resource_updates.iter().all(|r| r.progress.starts_with("{\"State\":")));
    assert_eq!(stored.header.stored_bytes, stored.json_bytes() as u64, "sizes recomputed");
    let messages: Vec<_> = workload.messages.into_iter().filter(|m| m.command_id() == id).collect();
    let applied = messages.len() * 7 / 10;

    // The reference: the whole stream on a store that never saw schema 2.
    let mut reference = Persister::new(Arc::new(persister_core::MemoryStore::new()));
    reference.store_new(workload.commands[0].clone()).await.expect("stored");
    for m in messages.clone() {
        m.send(&mut reference).await.expect("applied");
    }
    let mut migrated = Persister::new(store);
    for m in messages.into_iter().skip(applied) {
        m.send(&mut migrated).await.expect("applied on the migrated database");
    }
    let want = codec::encode_command(&reference.load(&id).await.expect("loads")).expect("encodes");
    let got = codec::encode_command(&migrated.load(&id).await.expect("loads")).expect("encodes");
    assert!(got == want, "the migrated command ends where an unmigrated run ends");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_schema_2_sqlite_database_is_migrated_in_place_and_reads_back_identically() {
    use persister_sqlite::{SCHEMA_VERSION, SqliteConfig, SqliteStore};
    let db = persister_testkit::temp_db::TempDb::new("schema2");
    std::fs::copy(fixtures().join("schema2.db"), db.path()).expect("copies the fixture");
    let version = |path: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(path).expect("opens");
        conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("user_version")
    };
    assert_eq!(version(db.path()), 2, "the fixture is a schema-2 database");
    let store = SqliteStore::open(SqliteConfig::file(db.path())).await.expect("opens and migrates");
    assert_eq!(version(db.path()), SCHEMA_VERSION);
    check_migrated(Arc::new(store)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_schema_2_postgres_database_is_migrated_in_place_and_reads_back_identically() {
    let db = persister_testkit::pg::test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let dump = std::fs::read_to_string(fixtures().join("schema2-pg.sql")).expect("fixture");
    let direct = sqlx::PgPool::connect(db.direct_url()).await.expect("direct pool");
    sqlx::raw_sql(sqlx::AssertSqlSafe(dump)).execute(&direct).await.expect("restores the dump");
    let version: i64 = sqlx::query_scalar("SELECT max(version) FROM public._sqlx_migrations")
        .fetch_one(&direct)
        .await
        .expect("version");
    assert_eq!(version, 2, "the fixture is a schema-2 database");
    direct.close().await;
    let store = db.store().await.expect("connects and migrates");
    let direct = sqlx::PgPool::connect(db.direct_url()).await.expect("direct pool");
    let migrated: i64 = sqlx::query_scalar("SELECT max(version) FROM public._sqlx_migrations")
        .fetch_one(&direct)
        .await
        .expect("version");
    direct.close().await;
    assert_eq!(migrated, persister_postgres::schema_version(), "migrated to the newest schema");
    check_migrated(Arc::new(store)).await;
    db.cleanup().await.expect("drops the database");
}
