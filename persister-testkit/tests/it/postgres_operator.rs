//! The operator tooling's PostgreSQL side: refusing a formae agent's database and read-only
//! sessions. Each test gets its own database from `pg::test_database`.

use persister_core::{CommandStore, ListFilter, StoreError, StoredCommand, Timestamp};
use persister_postgres::PgStore;
use persister_testkit::pg::{self, TestDatabase};
use sqlx::postgres::PgPool;

/// formae's Postgres tables (after its migration 00005) and its goose version table.
const FORMAE: &[&str] = &[
    "CREATE TABLE db_version (id SERIAL PRIMARY KEY, version_id BIGINT NOT NULL, \
     is_applied BOOLEAN NOT NULL, tstamp TIMESTAMP DEFAULT now())",
    "CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY, \
     timestamp TIMESTAMP NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL, \
     agent_version TEXT, client_id TEXT, agent_id TEXT, description_text TEXT, \
     description_confirm BOOLEAN DEFAULT FALSE, config_mode TEXT DEFAULT 'reconcile', \
     config_force BOOLEAN DEFAULT FALSE, config_simulate BOOLEAN DEFAULT FALSE, \
     target_updates TEXT, modified_ts TIMESTAMP)",
    "CREATE TABLE resource_updates (command_id TEXT NOT NULL, ksuid TEXT NOT NULL, \
     operation TEXT NOT NULL, state TEXT NOT NULL, start_ts TIMESTAMP, modified_ts TIMESTAMP, \
     retries INTEGER DEFAULT 0, remaining INTEGER DEFAULT 0, version TEXT, resource TEXT, \
     PRIMARY KEY (command_id, ksuid, operation))",
];

/// A fresh test database and a raw pool on it that bypasses any pooler.
pub(crate) async fn database() -> (TestDatabase, PgPool) {
    let db = pg::test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let pool = PgPool::connect(db.direct_url()).await.expect("raw pool");
    (db, pool)
}

/// Whether `name` resolves to a table or view.
pub(crate) async fn has_table(pool: &PgPool, name: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(name)
        .fetch_one(pool)
        .await
        .expect("to_regclass")
}

fn command(id: &str) -> StoredCommand {
    StoredCommand {
        header: persister_core::CommandRow {
            id: id.into(),
            command: "apply".into(),
            state: "InProgress".into(),
            client_id: Some("c".into()),
            start_ts: 1_700_000_000_000_000,
            start_ts_ns: 5,
            modified_ts: 1_700_000_000_000_000,
            modified_ts_ns: 6,
            revision: 0,
            stored_bytes: 4,
            body: "{}".into(),
            head: "{}".into(),
        },
        resource_updates: vec![],
    }
}

#[tokio::test]
async fn a_formae_database_is_refused_with_foreign_schema() {
    let (db, pool) = database().await;
    for sql in FORMAE {
        sqlx::query(*sql).execute(&pool).await.expect(sql);
    }
    for read_only in [false, true] {
        let config = db.config().read_only(read_only);
        let err = PgStore::connect(config).await.expect_err("refused");
        assert!(
            matches!(&err, StoreError::ForeignSchema { table, .. } if table == "forma_commands"),
            "{err:?}"
        );
        assert!(!err.is_transient());
        assert!(err.to_string().contains("db_version"), "{err}");
    }
    let err = PgStore::from_pool(pool.clone()).await.expect_err("refused");
    assert!(matches!(err, StoreError::ForeignSchema { .. }), "{err:?}");
    assert!(!has_table(&pool, "_sqlx_migrations").await, "nothing was migrated");
    pool.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn read_only_sessions_read_and_refuse_writes() {
    let (db, pool) = database().await;
    let err = PgStore::connect(db.config().read_only(true))
        .await
        .expect_err("an empty database has no schema");
    assert!(
        matches!(err, StoreError::SchemaTooOld { found: 0, required }
            if required == persister_postgres::schema_version()),
        "{err:?}"
    );
    assert!(!has_table(&pool, "forma_commands").await, "a read-only connect migrates nothing");

    let writer = db.store().await.expect("migrates");
    writer.insert(command("c1")).await.expect("insert");
    let reader = PgStore::connect(db.config().read_only(true)).await.expect("read-only connect");
    let page = reader.list_summaries(&ListFilter::all()).await.expect("list");
    assert_eq!(page.summaries.len(), 1);
    assert_eq!(page.summaries[0].start_ts.datetime().unix_timestamp_nanos() % 1000, 5);
    assert!(reader.load("c1").await.expect("load").is_some());
    let err = reader.insert(command("c2")).await.expect_err("read-only");
    assert!(matches!(err, StoreError::Backend { transient: false, .. }), "{err:?}");
    let err = reader.purge_finished(Timestamp::now(), 10).await.expect_err("read-only");
    assert!(matches!(err, StoreError::Backend { transient: false, .. }), "{err:?}");
    assert_eq!(
        reader.info().await.expect("info").schema_version,
        persister_postgres::schema_version()
    );
    assert!(reader.info().await.expect("info").database_bytes.is_some_and(|b| b > 0));
    reader.close().await;
    writer.close().await;
    pool.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}
