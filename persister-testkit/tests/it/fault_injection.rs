//! Fault injection: a W1-like run (12 realistic resource updates, five progress reports and a
//! completion each) over a `FaultyStore` on in-memory SQLite whose k-th write fails. The failed
//! message changes nothing, the cache holds nothing unpersisted, a retry succeeds, and the
//! result equals the reference model's; the same holds when the failed write is a group-commit
//! batch. A commit whose answer is lost (before or after it took effect) is resolved by the
//! persister before it replies: success exactly when the write is durable.

use std::sync::Arc;

use persister_core::{
    CommandStore, DynCommandStore, FormaCommand, Message, Persister, PersisterConfig, Timestamp,
};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::faulty::{Fault, FaultyStore};
use persister_testkit::model::{ReferenceModel, Reply};
use persister_testkit::properties::config;
use persister_testkit::workload;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Resource updates in the command.
const RESOURCES: usize = 12;

/// Resources reporting at once.
const IN_FLIGHT: usize = 4;

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00.5Z").expect("valid timestamp")
}

fn persister_config() -> PersisterConfig {
    PersisterConfig::default().clock(Arc::new(now))
}

/// The command and its messages (`StoreNew` first), interleaved as the agent sends them.
fn run_messages(seed: u64) -> (FormaCommand, Vec<Message>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let command = workload::command(&mut rng, "FI", 0, RESOURCES);
    let mut out = vec![Message::StoreNew(Box::new(command.clone()))];
    let mut steps = [0u32; RESOURCES];
    let mut active: Vec<usize> = (0..IN_FLIGHT).collect();
    let mut next = IN_FLIGHT;
    while !active.is_empty() {
        let slot = rng.random_range(0..active.len());
        let position = active[slot];
        out.push(match workload::message_for(&mut rng, &command, position, steps[position]) {
            workload::Message::Progress(m) => Message::Progress(Box::new(m)),
            workload::Message::Complete(m) => Message::Complete(Box::new(m)),
        });
        if steps[position] == 5 {
            active.swap_remove(slot);
            if next < RESOURCES {
                active.push(next);
                next += 1;
            }
        } else {
            steps[position] += 1;
        }
    }
    (command, out)
}

async fn stores() -> (Arc<DynCommandStore>, Arc<FaultyStore>) {
    let inner: Arc<DynCommandStore> =
        Arc::new(SqliteStore::open(SqliteConfig::in_memory()).await.expect("SQLite opens"));
    let faulty = Arc::new(FaultyStore::new(inner.clone()));
    (inner, faulty)
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// The persister's view of `id` equals a fresh persister's over the inner store.
async fn cache_matches_store(
    p: &mut Persister,
    inner: &Arc<DynCommandStore>,
    id: &str,
) -> Result<(), TestCaseError> {
    let cached = p.load(id).await.ok();
    let fresh = Persister::new(inner.clone()).load(id).await.ok();
    prop_assert_eq!(cached, fresh, "the cache holds nothing unpersisted");
    Ok(())
}

/// The stored command equals the model's, seen by `p` and by a fresh persister.
async fn matches_model(
    p: &mut Persister,
    inner: &Arc<DynCommandStore>,
    model: &ReferenceModel,
    id: &str,
) -> Result<(), TestCaseError> {
    let fresh = Persister::new(inner.clone()).load(id).await.ok();
    prop_assert_eq!(fresh.as_ref(), model.load(id), "stored command vs model");
    let cached = p.load(id).await.ok();
    prop_assert_eq!(cached.as_ref(), model.load(id), "persister vs model");
    Ok(())
}

/// Runs every message with write `k` failing as `fault` says; checks the failed message and
/// its retry. A write refused or lost before its commit fails with a transient error, changes
/// nothing and succeeds when retried; one lost after its commit succeeds (the persister reads
/// the revision back) and is not retried.
async fn run_with_failed_write(seed: u64, k: u64, fault: Fault) -> Result<(), TestCaseError> {
    let (command, messages) = run_messages(seed);
    let id = command.id.as_str();
    let (inner, faulty) = stores().await;
    faulty.fail_write_with(k, fault);
    let mut p = Persister::with_config(faulty.clone(), persister_config());
    let mut model = ReferenceModel::new(now());
    let mut failed = false;
    for (step, m) in messages.into_iter().enumerate() {
        let before = inner.load(id).await.map_err(fail)?;
        let writes = faulty.writes();
        let result = p.handle(m.clone()).await;
        if writes < k && faulty.writes() >= k {
            failed = true;
            if fault == Fault::LostAfterCommit {
                prop_assert_eq!(Reply::of_reply(result), model.handle(m), "step {} landed", step);
                cache_matches_store(&mut p, &inner, id).await?;
                continue;
            }
            let Err(err) = result else {
                return Err(fail(format!("step {step}: write {k} failed but the call succeeded")));
            };
            prop_assert!(err.is_transient(), "step {}: {:?}", step, err);
            prop_assert!(!err.outcome_unknown(), "step {}: resolved: {:?}", step, err);
            let after = inner.load(id).await.map_err(fail)?;
            prop_assert_eq!(after, before, "step {}: the store is unchanged", step);
            cache_matches_store(&mut p, &inner, id).await?;
            let retry = p.handle(m.clone()).await;
            prop_assert!(retry.is_ok(), "step {}: the retry succeeds: {:?}", step, retry);
            prop_assert_eq!(Reply::of_reply(retry), model.handle(m), "step {} retried", step);
        } else {
            prop_assert_eq!(Reply::of_reply(result), model.handle(m), "step {}", step);
        }
    }
    prop_assert!(failed, "write {} happened", k);
    matches_model(&mut p, &inner, &model, id).await
}

/// Runs the messages in batches of `sizes`; the write of the batch picked by `pick` (among
/// those of two messages or more) fails, and the batch falls back to one at a time.
async fn run_with_failed_batch(
    seed: u64,
    sizes: &[usize],
    pick: usize,
) -> Result<(), TestCaseError> {
    let (command, messages) = run_messages(seed);
    let id = command.id.as_str();
    let mut batches: Vec<Vec<Message>> = Vec::new();
    let mut queue = messages.into_iter().peekable();
    for n in sizes.iter().cycle() {
        if queue.peek().is_none() {
            break;
        }
        batches.push(queue.by_ref().take(*n).collect());
    }
    let groups: Vec<usize> = (0..batches.len()).filter(|b| batches[*b].len() >= 2).collect();
    let target = groups[pick % groups.len()];

    let (inner, faulty) = stores().await;
    let mut p = Persister::with_config(faulty.clone(), persister_config());
    let mut model = ReferenceModel::new(now());
    for (b, batch) in batches.into_iter().enumerate() {
        let want: Vec<Reply> = batch.iter().map(|m| model.handle(m.clone())).collect();
        let stats = p.stats();
        let writes = faulty.writes();
        if b == target {
            faulty.fail_write(1);
        }
        let got: Vec<Reply> =
            p.handle_batch(batch).await.into_iter().map(Reply::of_reply).collect();
        prop_assert_eq!(&got, &want, "replies of batch {} equal one-at-a-time replies", b);
        if b == target {
            let after = p.stats();
            prop_assert_eq!(after.batch_fallbacks, stats.batch_fallbacks + 1, "batch {}", b);
            let one_at_a_time = u64::try_from(want.len()).map_err(fail)?;
            prop_assert_eq!(faulty.writes(), writes + 1 + one_at_a_time, "batch {}", b);
            cache_matches_store(&mut p, &inner, id).await?;
            matches_model(&mut p, &inner, &model, id).await?;
        }
    }
    matches_model(&mut p, &inner, &model, id).await
}

/// Runs `strategy` with the suite's proptest configuration, panicking with the seed.
fn check<S: Strategy>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let (config, seed) = config();
    let mut runner = TestRunner::new(config);
    match runner.run(&strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => panic!(
            "{name} failed: {reason}\nminimal case: {case:?}\nreplay with PROPTEST_RNG_SEED={seed}"
        ),
        Err(TestError::Abort(reason)) => panic!("{name} aborted: {reason} (seed {seed})"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn prop_a_failed_write_changes_nothing_and_its_retry_succeeds() {
    let rt = runtime();
    // Every message of the run is one write when nothing fails.
    let (_, messages) = run_messages(0);
    let writes = rt.block_on(async {
        let (_, faulty) = stores().await;
        let mut p = Persister::with_config(faulty.clone(), persister_config());
        for m in messages.clone() {
            p.handle(m).await.expect("no failure injected");
        }
        faulty.writes()
    });
    assert_eq!(usize::try_from(writes).ok(), Some(messages.len()));
    assert_eq!(messages.len(), 1 + RESOURCES * 6);
    let strategy = (0u64..1_000, 1..=writes);
    check("failed write", strategy, |(seed, k)| {
        rt.block_on(run_with_failed_write(seed, k, Fault::Refuse { transient: true }))
    });
}

/// Every fault mode.
const FAULTS: [Fault; 3] =
    [Fault::Refuse { transient: true }, Fault::LostBeforeCommit, Fault::LostAfterCommit];

#[test]
fn prop_a_lost_commit_is_resolved_before_the_reply() {
    let rt = runtime();
    let writes = u64::try_from(1 + RESOURCES * 6).expect("small");
    let strategy = (0u64..1_000, 1..=writes, proptest::sample::select(&FAULTS[1..]));
    check("lost commit", strategy, |(seed, k, fault)| {
        rt.block_on(run_with_failed_write(seed, k, fault))
    });
}

#[test]
fn every_write_of_a_run_may_fail_in_every_way() {
    let rt = runtime();
    let writes = u64::try_from(1 + RESOURCES * 6).expect("small");
    for fault in FAULTS {
        for k in 1..=writes {
            rt.block_on(run_with_failed_write(7, k, fault))
                .unwrap_or_else(|e| panic!("write {k} failing as {fault:?}: {e}"));
        }
    }
}

#[test]
fn a_lost_commit_that_cannot_be_read_back_stays_unknown() {
    let rt = runtime();
    rt.block_on(async {
        let (command, messages) = run_messages(3);
        let (inner, faulty) = stores().await;
        let config = persister_config().outcome_window(std::time::Duration::from_millis(200));
        let mut p = Persister::with_config(faulty.clone(), config);
        let mut messages = messages.into_iter();
        let first = messages.next().expect("StoreNew");
        p.handle(first).await.expect("stored");
        faulty.fail_write_with(1, Fault::LostAfterCommit);
        faulty.fail_revision_reads(u64::MAX);
        let next = messages.next().expect("a progress report");
        let err = p.handle(next).await.expect_err("the outcome cannot be found out");
        assert!(err.outcome_unknown() && !err.is_transient(), "{err:?}");
        assert!(
            matches!(
                err,
                persister_core::Error::Store(persister_core::StoreError::OutcomeUnknown { .. })
            ),
            "{err:?}"
        );
        // The write did land; the persister holds nothing stale and reloads it.
        faulty.fail_revision_reads(0);
        let cached = p.load(&command.id).await.expect("loads");
        let fresh = Persister::new(inner.clone()).load(&command.id).await.expect("loads");
        assert_eq!(cached, fresh);
        assert_eq!(inner.revision(&command.id).await.expect("reads"), Some(1));
    });
}

#[test]
fn prop_a_failed_group_commit_falls_back_to_one_at_a_time() {
    let rt = runtime();
    let strategy = (0u64..1_000, vec(2usize..=8, 1..6), any::<usize>());
    check("failed batch", strategy, |(seed, sizes, pick)| {
        rt.block_on(run_with_failed_batch(seed, &sizes, pick))
    });
}

#[test]
fn the_handle_retries_transient_failures_unless_told_not_to() {
    use persister_core::{HandleConfig, PersisterHandle};
    let rt = runtime();
    rt.block_on(async {
        let (command, messages) = run_messages(5);
        for (retry, fault) in [
            (true, Fault::Refuse { transient: true }),
            (true, Fault::LostBeforeCommit),
            (false, Fault::Refuse { transient: true }),
            (true, Fault::Refuse { transient: false }),
        ] {
            let (inner, faulty) = stores().await;
            let config = HandleConfig::default().retry_transient(retry);
            let (handle, task) = PersisterHandle::spawn(
                Persister::with_config(faulty.clone(), persister_config()),
                config,
            );
            let mut model = ReferenceModel::new(now());
            for (step, m) in messages.iter().take(20).enumerate() {
                if step == 10 {
                    faulty.fail_write_with(1, fault);
                }
                let writes = faulty.writes();
                let result = handle.call(m.clone()).await;
                let transient =
                    matches!(fault, Fault::Refuse { transient: false }).then_some(false);
                if step == 10 && (!retry || transient.is_some()) {
                    let err = result.expect_err("the failure reaches the caller");
                    assert_eq!(err.is_transient(), transient.is_none(), "{fault:?}: {err:?}");
                    assert_eq!(faulty.writes(), writes + 1, "not retried");
                    // The caller sends it again itself.
                    let again = handle.call(m.clone()).await;
                    assert_eq!(Reply::of_reply(again), model.handle(m.clone()));
                    continue;
                }
                if step == 10 {
                    assert_eq!(faulty.writes(), writes + 2, "{fault:?}: retried once");
                }
                assert_eq!(Reply::of_reply(result), model.handle(m.clone()), "step {step}");
            }
            handle.shutdown().await.expect("shuts down");
            let _ = task.await;
            let stored = Persister::new(inner).load(&command.id).await.ok();
            assert_eq!(stored.as_ref(), model.load(&command.id), "{fault:?}, retry {retry}");
        }
    });
}
