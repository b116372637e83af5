//! The PostgreSQL test harness (`pg::test_database` and `pg::test_database_from_url`): one
//! empty database per test, cleanup of databases on a named server, and failing fast with
//! the three ways to get a server when the named one does not answer.

use std::time::{Duration, Instant};

use persister_core::{CommandRow, CommandStore, ListFilter, StoredCommand};
use persister_postgres::PgStore;
use persister_testkit::pg::{self, TestDatabase};
use sqlx::{Connection, PgConnection};

fn command(id: &str) -> StoredCommand {
    StoredCommand {
        header: CommandRow {
            id: id.into(),
            command: "apply".into(),
            state: "InProgress".into(),
            client_id: None,
            start_ts: 1,
            modified_ts: 2,
            start_ts_ns: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            revision: 0,
            body: format!(r#"{{"ID":"{id}"}}"#),
            head: "{}".into(),
        },
        resource_updates: vec![],
    }
}

async fn done(db: TestDatabase, store: PgStore) {
    store.close().await;
    db.cleanup().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn concurrent_tests_get_separate_empty_databases() {
    let (first, second) = tokio::join!(pg::test_database(), pg::test_database());
    let first = first.unwrap_or_else(|e| panic!("{e}"));
    let second = second.unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(first.name(), second.name());
    assert!(first.name().starts_with("persister_test_"), "{}", first.name());
    let (a, b) = tokio::join!(first.store(), second.store());
    let (a, b) = (a.expect("store"), b.expect("store"));
    a.insert(command("c1")).await.expect("insert");
    assert_eq!(b.load("c1").await.expect("load"), None);
    assert!(b.list(&ListFilter::all()).await.expect("list").is_empty());
    done(first, a).await;
    done(second, b).await;
}

#[tokio::test]
async fn databases_on_a_named_server_are_dropped_by_cleanup_and_on_drop() {
    // The test database of this test stands in for a server named by PERSISTER_PG_URL.
    let server = pg::test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let cleaned = pg::test_database_from_url(server.direct_url()).await.expect("named server");
    let dropped = pg::test_database_from_url(server.direct_url()).await.expect("named server");
    let names = [cleaned.name().to_owned(), dropped.name().to_owned(), server.name().to_owned()];
    let store = dropped.store().await.expect("store");
    store.insert(command("c1")).await.expect("insert");

    cleaned.cleanup().await.expect("cleanup");
    drop(dropped);
    let mut conn = PgConnection::connect(server.direct_url()).await.expect("connect");
    let left: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY 1")
            .bind(&names[..])
            .fetch_all(&mut conn)
            .await
            .expect("databases");
    assert_eq!(left, [server.name()], "only the server's own database is left");
    conn.close().await.expect("close");
    drop(store);
    server.cleanup().await.expect("cleanup");
}

/// What a failed `test_database_from_url` must say: the variable and the two other ways.
fn assert_explains(error: &pg::HarnessError) {
    let message = error.to_string();
    for needle in ["PERSISTER_PG_URL", "Docker", "initdb, pg_ctl", "apt-get install postgresql"] {
        assert!(message.contains(needle), "{needle:?} missing from: {message}");
    }
}

#[tokio::test]
async fn a_named_server_that_refuses_connections_fails_fast_with_the_ways() {
    let started = Instant::now();
    let error = pg::test_database_from_url("postgres://x@127.0.0.1:1/x").await.expect_err("dead");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(matches!(error, pg::HarnessError::Unreachable { .. }), "{error:?}");
    assert_explains(&error);
}

#[tokio::test]
async fn a_named_server_that_never_answers_times_out_after_five_seconds() {
    // The kernel accepts the connection into the backlog, but nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let started = Instant::now();
    let url = format!("postgres://x:hunter2@127.0.0.1:{port}/x");
    let error = pg::test_database_from_url(&url).await.expect_err("silent");
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(4) && took < Duration::from_secs(10), "took {took:?}");
    assert_explains(&error);
    assert!(!error.to_string().contains("hunter2"), "password in: {error}");
}
