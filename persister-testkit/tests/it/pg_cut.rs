//! Commits cut on the wire: a W1 stream (one command of 196 resource updates, every message)
//! over PostgreSQL through a [`CutProxy`] that cuts the connection at the COMMIT of every
//! message in turn, alternately before the server receives it and after the server committed
//! but before its reply reaches the client. The persister must resolve every cut before it
//! replies: success exactly when the write is durable, a transient error with nothing written
//! otherwise; every acknowledged message is durable, none is applied twice, and the stored
//! command equals the reference model's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use persister_core::{CommandStore, Message, Persister, PersisterConfig, Timestamp};
use persister_postgres::{PgConfig, PgStore};
use persister_testkit::model::{ReferenceModel, Reply};
use persister_testkit::pg::proxy::{Cut, CutProxy};
use persister_testkit::pg::test_database;
use persister_testkit::workload::{self, Workload};

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00.5Z").expect("valid timestamp")
}

/// Handles `m` until it succeeds (a cut before the commit leaves a transient error); panics
/// on any other error or after 30 s.
async fn until_ok(p: &mut Persister, m: &Message) -> Result<persister_core::Reply, String> {
    let started = Instant::now();
    loop {
        match p.handle(m.clone()).await {
            Ok(reply) => return Ok(reply),
            Err(e) if e.is_transient() && started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => return Err(format!("{e:?}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_commit_of_a_w1_stream_cut_on_the_wire_is_resolved() {
    let db = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    // Direct: migrates the schema and reads revisions without going through the proxy.
    let direct = db.store().await.expect("connects directly");
    let (proxy, proxied) = CutProxy::in_front_of(db.url()).await.expect("the proxy starts");
    let config =
        PgConfig::from_url(&proxied).acquire_timeout(Duration::from_secs(5)).pooler(db.pooler());
    let store = Arc::new(PgStore::connect(config).await.expect("connects through the proxy"));
    let persister_config =
        PersisterConfig::default().clock(Arc::new(now)).outcome_window(Duration::from_secs(10));
    let mut p = Persister::with_config(store.clone(), persister_config);
    let mut model = ReferenceModel::new(now());

    let w1 = Workload::w1(21);
    let id = w1.commands[0].id.clone();
    let mut messages = vec![Message::StoreNew(Box::new(w1.commands[0].clone()))];
    messages.extend(w1.messages.iter().cloned().map(|m| match m {
        workload::Message::Progress(m) => Message::Progress(Box::new(m)),
        workload::Message::Complete(m) => Message::Complete(Box::new(m)),
    }));

    let (mut landed, mut not_landed, mut no_write, mut acknowledged) = (0u64, 0u64, 0u64, 0u64);
    let started = Instant::now();
    for (step, m) in messages.iter().enumerate() {
        let cut = if step % 2 == 0 { Cut::AfterCommit } else { Cut::BeforeCommit };
        let before = direct.revision(&id).await.expect("reads the revision");
        let transactions = p.stats().transactions;
        proxy.arm(cut);
        let result = p.handle(m.clone()).await;
        let fired = !proxy.disarm();
        let reply = match (fired, cut, result) {
            (false, _, result) => {
                no_write += 1;
                result.unwrap_or_else(|e| panic!("step {step}: nothing was cut: {e:?}"))
            }
            (true, Cut::AfterCommit, result) => {
                landed += 1;
                result.unwrap_or_else(|e| panic!("step {step}: committed, yet {e:?}"))
            }
            (true, Cut::BeforeCommit, result) => {
                not_landed += 1;
                let e = result.err().unwrap_or_else(|| panic!("step {step}: cut, yet Ok"));
                assert!(e.is_transient() && !e.outcome_unknown(), "step {step}: {e:?}");
                let after = direct.revision(&id).await.expect("reads the revision");
                assert_eq!(after, before, "step {step}: nothing was written");
                until_ok(&mut p, m).await.unwrap_or_else(|e| panic!("step {step} retried: {e}"))
            }
        };
        acknowledged += 1;
        assert_eq!(
            Reply::of_reply(Ok(reply)),
            model.handle(m.clone()),
            "step {step} ({cut:?}, fired: {fired})"
        );
        // Applied exactly once: the revision moved by the transactions committed for it.
        let moved = p.stats().transactions - transactions;
        let after = direct.revision(&id).await.expect("reads the revision");
        let expected = match (before, step) {
            (None, 0) => Some(0),
            (Some(r), _) => Some(r + i64::try_from(moved).expect("small")),
            (None, _) => None,
        };
        assert_eq!(after, expected, "step {step}: the revision moved once per acknowledged write");
        if step % 200 == 0 {
            let fresh =
                Persister::new(Arc::new(db.store().await.expect("connects"))).load(&id).await.ok();
            assert_eq!(fresh.as_ref(), model.load(&id), "step {step}: stored vs model");
        }
    }
    let fresh = Persister::new(Arc::new(direct)).load(&id).await.ok();
    assert_eq!(fresh.as_ref(), model.load(&id), "the final state equals the model's");
    let (cuts_before, cuts_after) = proxy.cuts();
    assert_eq!((cuts_before, cuts_after), (not_landed, landed));
    assert!(cuts_before + cuts_after >= 1_000, "at least 1,000 cuts");
    eprintln!(
        "cut-after-commit run: {} messages in {:.1?}, acknowledged {acknowledged} (every one \
         checked durable), cuts {} (after COMMIT, resolved landed: {landed}; before COMMIT, \
         resolved not landed and retried: {not_landed}), messages without a write {no_write}, \
         connections {}, lost 0, duplicated 0",
        messages.len(),
        started.elapsed(),
        cuts_before + cuts_after,
        proxy.connections(),
    );
    store.close().await.expect("closes");
    drop(proxy);
    db.cleanup().await.expect("cleanup");
}
