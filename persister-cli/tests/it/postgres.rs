//! The binary on a PostgreSQL database written by the persister (a database of the test
//! server, see `persister_testkit::pg`).

use std::sync::Arc;

use persister_testkit::pg::test_database;

use crate::checks;
use crate::fixture;

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
    checks::purge(&url);
    drop(store);
    db.cleanup().await.expect("drops the test database");
}
