//! How PostgreSQL is deployed: tables in a schema of their own beside another application's,
//! migrations run apart from the stores (and by several processes at once), databases
//! migrated by earlier builds, and URLs that name several hosts. In a run with
//! `PERSISTER_PG_POOLER=pgbouncer` the stores go through PgBouncer.

use persister_core::{CommandStore, ListFilter, StoreError, StoredCommand};
use persister_postgres::{PgStore, schema_version};
use sqlx::postgres::PgPool;

use crate::postgres_operator::{database, has_table};

async fn migrations(pool: &PgPool, table: &str) -> Vec<i64> {
    let sql = format!("SELECT version FROM {table} ORDER BY version");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.expect("migrations")
}

fn command(id: &str) -> StoredCommand {
    StoredCommand {
        header: persister_core::CommandRow {
            id: id.into(),
            command: "apply".into(),
            state: "InProgress".into(),
            client_id: None,
            start_ts: 1_700_000_000_000_000,
            start_ts_ns: 0,
            modified_ts: 1_700_000_000_000_000,
            modified_ts_ns: 0,
            revision: 0,
            stored_bytes: 4,
            body: "{}".into(),
            head: "{}".into(),
        },
        resource_updates: vec![],
    }
}

async fn ids(store: &PgStore) -> Vec<String> {
    let rows = store.list(&ListFilter::all()).await.expect("list");
    rows.into_iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn tables_live_in_their_schema_beside_another_applications() {
    let (db, pool) = database().await;
    // Another application already has a table under one of our names in `public`.
    sqlx::raw_sql("CREATE TABLE forma_commands (x INTEGER)").execute(&pool).await.expect("app");
    let err = db.store().await.expect_err("public holds a foreign forma_commands");
    assert!(matches!(err, StoreError::ForeignSchema { .. }), "{err:?}");

    let a = PgStore::connect(db.config().schema("forma_a")).await.expect("schema forma_a");
    let b = PgStore::connect(db.config().schema("Forma \"B\"")).await.expect("a quoted name");
    a.insert(command("in-a")).await.expect("insert a");
    b.insert(command("in-b")).await.expect("insert b");
    assert_eq!(ids(&a).await, ["in-a"]);
    assert_eq!(ids(&b).await, ["in-b"]);
    assert_eq!(a.list_unfinished().await.expect("unfinished"), ["in-a"]);
    assert!(a.load("in-b").await.expect("load").is_none());
    assert_eq!(a.revision("in-a").await.expect("revision"), Some(0));
    assert_eq!(b.info().await.expect("info").schema_version, schema_version());
    assert!(has_table(&pool, "forma_a.resource_updates").await);
    assert!(has_table(&pool, "\"Forma \"\"B\"\"\".forma_commands").await);
    assert_eq!(migrations(&pool, "forma_a._sqlx_migrations").await, all_migrations());
    let app_columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'forma_commands'",
    )
    .fetch_all(&pool)
    .await
    .expect("columns");
    assert_eq!(app_columns, ["x"], "the other application's table is untouched");
    a.close().await;
    b.close().await;
    pool.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn migrations_run_apart_from_the_stores() {
    let (db, pool) = database().await;
    let config = db.config().migrate(false);
    let err = PgStore::connect(config.clone()).await.expect_err("nothing is migrated yet");
    assert!(
        matches!(err, StoreError::SchemaTooOld { found: 0, required } if required == schema_version()),
        "{err:?}"
    );
    assert!(!has_table(&pool, "_sqlx_migrations").await, "connect changed nothing");

    assert_eq!(PgStore::migrate(&config).await.expect("migrate"), migration_count());
    assert_eq!(PgStore::migrate(&config).await.expect("again"), 0, "nothing left to do");
    let store = PgStore::connect(config).await.expect("the schema is current");
    store.insert(command("c1")).await.expect("insert");
    assert_eq!(ids(&store).await, ["c1"]);
    store.close().await;
    pool.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn concurrent_migrations_apply_each_migration_once() {
    let (db, pool) = database().await;
    let config = db.config();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move { PgStore::migrate(&config).await })
        })
        .collect();
    let mut applied = 0;
    for run in runs {
        applied += run.await.expect("no panic").expect("every run succeeds");
    }
    assert_eq!(applied, migration_count(), "the migrations ran once between them");
    assert_eq!(migrations(&pool, "_sqlx_migrations").await, all_migrations());
    pool.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_database_migrated_by_sqlx_migrator_carries_on() {
    // Earlier builds ran sqlx's own migrator; its records and checksums must be accepted.
    let (db, pool) = database().await;
    sqlx::migrate!("../persister-postgres/migrations").run(&pool).await.expect("sqlx migrator");
    assert_eq!(PgStore::migrate(&db.config()).await.expect("migrate"), 0);
    let store = db.store().await.expect("connect");
    store.insert(command("c1")).await.expect("insert");
    store.close().await;

    sqlx::raw_sql("UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 1")
        .execute(&pool)
        .await
        .expect("tamper");
    let err = db.store().await.expect_err("an edited migration");
    assert!(matches!(err, StoreError::Backend { transient: false, .. }), "{err:?}");
    assert!(err.to_string().contains("migration 1"), "{err}");
    pool.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_url_with_several_hosts_connects_to_the_one_that_answers() {
    let (db, pool) = database().await;
    let url = db.direct_url();
    let at = url.rfind('@').map_or_else(|| url.find("://").map_or(0, |i| i + 3), |i| i + 1);
    // Port 1 on loopback refuses connections: the first host is down.
    let join = if url.contains('?') { '&' } else { '?' };
    let several =
        format!("{}127.0.0.1:1,{}{join}target_session_attrs=read-write", &url[..at], &url[at..]);
    let config = persister_postgres::PgConfig::from_url(&several).max_connections(2);
    let store = PgStore::connect(config).await.expect("the second host answers");
    store.insert(command("c1")).await.expect("insert");
    assert_eq!(ids(&store).await, ["c1"]);
    store.close().await;

    let dead = persister_postgres::PgConfig::from_url("postgres://u@127.0.0.1:1,127.0.0.1:2/db");
    let err = PgStore::connect(dead).await.expect_err("no host answers");
    assert!(err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("127.0.0.1:1") && message.contains("127.0.0.1:2"), "{message}");
    pool.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}

/// Every migration of this build, by version.
fn all_migrations() -> Vec<i64> {
    (1..=schema_version()).collect()
}

/// How many migrations bring an empty database to the current schema.
fn migration_count() -> usize {
    usize::try_from(schema_version()).expect("a small version")
}
