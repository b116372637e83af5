//! The metrics the persister and its handle publish through the `metrics` facade, read back
//! with a debugging recorder over a real run: names, labels and values that follow the run.

use std::collections::HashMap;
use std::sync::Arc;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use persister_core::{
    CommandState, FormaCommand, HandleConfig, Persister, PersisterConfig, PersisterHandle,
};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::workload::{self, Message};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// A metric's name with its labels as `name{k=v,...}`, labels sorted.
fn render(key: &CompositeKey) -> String {
    let mut labels: Vec<String> =
        key.key().labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
    labels.sort();
    if labels.is_empty() {
        key.key().name().to_owned()
    } else {
        format!("{}{{{}}}", key.key().name(), labels.join(","))
    }
}

/// Sends `messages` one at a time through `handle`.
async fn replay(handle: &PersisterHandle, messages: &[Message]) {
    for m in messages.iter().cloned() {
        match m {
            Message::Progress(p) => handle.update_progress(p).await,
            Message::Complete(c) => handle.complete(c).await,
        }
        .expect("applied");
    }
}

/// A command of 3 resource updates and its 18 messages (5 progress reports and a completion
/// per resource).
fn command_and_messages(rng: &mut StdRng, index: usize) -> (FormaCommand, Vec<Message>) {
    let command = workload::command(rng, "M", index, 3);
    let messages = (0..3)
        .flat_map(|p| (0..=5).map(move |step| (p, step)))
        .map(|(p, step)| workload::message_for(rng, &command, p, step))
        .collect();
    (command, messages)
}

#[test]
fn a_run_publishes_messages_cache_batch_transaction_and_call_metrics() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let mut rng = StdRng::seed_from_u64(21);
    let (a, a_messages) = command_and_messages(&mut rng, 0);
    let (x, x_messages) = command_and_messages(&mut rng, 1);
    let (y, y_messages) = command_and_messages(&mut rng, 2);
    // Everything runs on this thread, inside the local recorder's scope.
    let cached = metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(async {
            let store =
                Arc::new(SqliteStore::open(SqliteConfig::in_memory()).await.expect("opens"));
            // First run, a cache too small for a command: every message misses and evicts.
            let config = PersisterConfig::default().cache_max_bytes(1);
            let tiny = Persister::with_config(store.clone(), config);
            let (handle, task) = PersisterHandle::spawn(tiny, HandleConfig::default());
            handle.store_new(a.clone()).await.expect("stored");
            replay(&handle, &a_messages).await;
            let done = handle.load(&a.id).await.expect("loads");
            assert_eq!(done.state, CommandState::Success);
            handle.shutdown().await.expect("shut down");
            task.await.expect("task ends");

            // Second run, the default cache: x runs to the end (evicted as final), y is left
            // in flight after 3 messages, so one entry stays cached.
            let (handle, task) =
                PersisterHandle::spawn(Persister::new(store), HandleConfig::default());
            handle.store_new(x.clone()).await.expect("stored");
            handle.store_new(y.clone()).await.expect("stored");
            replay(&handle, &x_messages).await;
            replay(&handle, &y_messages[..3]).await;
            let stats = handle.stats().await.expect("stats").cache;
            handle.shutdown().await.expect("shut down");
            task.await.expect("task ends");
            stats
        })
    });
    assert_eq!(cached.entries, 1);
    assert!(cached.bytes > 0);

    let metrics: HashMap<String, (MetricKind, DebugValue)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (render(&key), (key.kind(), value)))
        .collect();
    let counter = |name: &str| match metrics.get(name) {
        Some((MetricKind::Counter, DebugValue::Counter(n))) => *n,
        other => panic!("{name}: expected a counter, found {other:?} among {:?}", metrics.keys()),
    };
    let histogram_len = |name: &str| match metrics.get(name) {
        Some((MetricKind::Histogram, DebugValue::Histogram(v))) => v.len(),
        other => panic!("{name}: expected a histogram, found {other:?} among {:?}", metrics.keys()),
    };
    let gauge = |name: &str| match metrics.get(name) {
        Some((MetricKind::Gauge, DebugValue::Gauge(v))) => v.into_inner(),
        other => panic!("{name}: expected a gauge, found {other:?} among {:?}", metrics.keys()),
    };

    // Calls are awaited one at a time, so every message is its own batch and transaction.
    // First run: 1 + 18 messages and a load; second run: 2 + 18 + 3 messages.
    assert_eq!(counter("persister_messages_total{kind=progress}"), 15 + 15 + 3);
    assert_eq!(counter("persister_messages_total{kind=complete}"), 3 + 3);
    assert_eq!(counter("persister_messages_total{kind=store_new}"), 1 + 2);
    assert_eq!(counter("persister_messages_total{kind=load}"), 1);
    // First run: with a 1-byte cap the command is evicted after every write (`store_new` and
    // the first 17 messages) and reloaded by the next message; the last completion finalizes
    // it (evicted as final), and `load` reads it from the store again: 18 + 1 misses. Second
    // run: everything stays cached until x is final, so its 18 messages and y's 3 are hits.
    assert_eq!(counter("persister_cache_misses_total"), 19);
    assert_eq!(counter("persister_cache_hits_total"), 21);
    assert_eq!(counter("persister_cache_evictions_total{reason=capacity}"), 18);
    assert_eq!(counter("persister_cache_evictions_total{reason=final}"), 2);
    // The gauges follow the last eviction (x's) and agree with the persister's own counters.
    assert_eq!(gauge("persister_cache_entries"), 1.0);
    assert_eq!(gauge("persister_cache_bytes"), cached.bytes as f64);
    // Published for every batch; a task that ended leaves nothing queued.
    assert_eq!(gauge("persister_mailbox_depth"), 0.0);
    assert_eq!(histogram_len("persister_transaction_seconds{op=insert}"), 3);
    assert_eq!(histogram_len("persister_transaction_seconds{op=apply}"), 18 + 21);
    assert_eq!(histogram_len("persister_batch_size"), 20 + 23);
    assert_eq!(histogram_len("persister_batch_seconds"), 20 + 23);
    assert_eq!(histogram_len("persister_call_seconds{kind=progress}"), 33);
    assert_eq!(histogram_len("persister_call_seconds{kind=complete}"), 6);
}
