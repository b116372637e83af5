//! A PostgreSQL restart in the middle of a replay, on a cluster this test owns (never the
//! shared one): calls fail with a typed, transient error while the server is down and succeed
//! after it returns; nothing acknowledged is lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use persister_core::{Error, Persister};
use persister_postgres::{PgConfig, PgStore};
use persister_testkit::model::ReferenceModel;
use persister_testkit::pg::OwnCluster;
use persister_testkit::workload::{Message, Workload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_replay_loses_nothing_acknowledged() {
    let cluster = tokio::task::spawn_blocking(OwnCluster::start)
        .await
        .expect("start task")
        .unwrap_or_else(|e| panic!("cannot start a PostgreSQL cluster for this test: {e}"));
    let cluster = Arc::new(cluster);
    let url = cluster.url();
    let config = PgConfig::from_url(&url).acquire_timeout(Duration::from_secs(2));
    let store = Arc::new(PgStore::connect(config).await.expect("connects"));
    let workload = Workload::w1(9).truncated(300);
    let id = workload.commands[0].id.clone();
    let mut p = Persister::new(store.clone());
    p.store_new(workload.commands[0].clone()).await.expect("stored");

    let down_at = 100;
    for m in workload.messages[..down_at].iter().cloned() {
        m.send(&mut p).await.expect("applied before the restart");
    }
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop()).await.expect("stop task").expect("stops");

    // While the server is down: a typed, transient error, every time.
    for m in workload.messages[down_at..down_at + 3].iter().cloned() {
        let err = m.send(&mut p).await.expect_err("the server is down");
        assert!(matches!(err, Error::Store(_)) && err.is_transient(), "{err:?}");
    }

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart())
        .await
        .expect("restart task")
        .expect("restarts");

    // After: the first unacknowledged message is retried until the pool has reconnected, then
    // the replay goes on.
    let started = Instant::now();
    loop {
        match workload.messages[down_at].clone().send(&mut p).await {
            Ok(_) => break,
            Err(e) if e.is_transient() && started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("no recovery after the restart: {e:?}"),
        }
    }
    for m in workload.messages[down_at + 1..].iter().cloned() {
        m.send(&mut p).await.expect("applied after the restart");
    }

    let mut model = ReferenceModel::new(persister_core::Timestamp::ZERO);
    model.store_new(workload.commands[0].clone());
    for m in workload.messages.iter().cloned() {
        match m {
            Message::Progress(m) => model.progress(m),
            Message::Complete(m) => model.complete(m),
        };
    }
    let stored = Persister::new(store).load(&id).await.expect("loads");
    assert_eq!(Some(&stored), model.load(&id), "every acknowledged message is there, once");
}
