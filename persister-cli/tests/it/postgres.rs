//! The binary on a PostgreSQL database written by the persister (a database of the test
//! server, see `persister_testkit::pg`).

use std::sync::Arc;

use persister_testkit::pg::test_database;

use crate::checks;
use crate::fixture;
use crate::import;

#[tokio::test(flavor = "multi_thread")]
async fn every_subcommand_on_postgres() {
    let db = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(db.store().await.expect("connects"));
    fixture::write(store.clone()).await;
    let url = db.url().to_owned();
    checks::list(&url);
    checks::paging(&url);
    checks::filters(&url);
    checks::show(&url, store.clone()).await;
    checks::stats(&url);
    crate::export::export(&url);
    checks::purge(&url);
    drop(store);
    db.cleanup().await.expect("drops the test database");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_import_round_trip_and_bad_input_on_postgres() {
    let source = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(source.store().await.expect("connects"));
    fixture::write(store.clone()).await;
    import::many(store.clone()).await;
    drop(store);
    let target = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    drop(target.store().await.expect("migrates"));
    import::not_a_file(target.url());
    import::round_trip(source.url(), target.url());
    let bad = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let bad_store = Arc::new(bad.store().await.expect("connects"));
    import::bad_lines(source.url(), bad.url(), bad_store.clone()).await;
    drop(bad_store);
    for db in [source, target, bad] {
        db.cleanup().await.expect("drops the test database");
    }
}
