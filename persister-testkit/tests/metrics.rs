//! The metrics the persister and its handle publish through the `metrics` facade, read back
//! with a debugging recorder over a real run: names, labels and values that follow the run.

use std::collections::HashMap;
use std::sync::Arc;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use persister_core::{CommandState, HandleConfig, Persister, PersisterConfig, PersisterHandle};
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

#[test]
fn a_run_publishes_messages_cache_batch_transaction_and_call_metrics() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // One command of 3 resource updates, each with its 5 progress reports and its completion.
    let mut rng = StdRng::seed_from_u64(21);
    let command = workload::command(&mut rng, "M", 0, 3);
    let messages: Vec<Message> = (0..3)
        .flat_map(|p| (0..=5).map(move |step| (p, step)))
        .map(|(p, step)| workload::message_for(&mut rng, &command, p, step))
        .collect();
    // Everything runs on this thread, inside the local recorder's scope.
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(async {
            let store =
                Arc::new(SqliteStore::open(SqliteConfig::in_memory()).await.expect("opens"));
            // A cache too small for the command: every message misses and evicts.
            let config = PersisterConfig::default().cache_max_bytes(1);
            let (handle, task) = PersisterHandle::spawn(
                Persister::with_config(store, config),
                HandleConfig::default(),
            );
            handle.store_new(command.clone()).await.expect("stored");
            for m in messages.iter().cloned() {
                match m {
                    Message::Progress(p) => handle.update_progress(p).await,
                    Message::Complete(c) => handle.complete(c).await,
                }
                .expect("applied");
            }
            let done = handle.load(&command.id).await.expect("loads");
            assert_eq!(done.state, CommandState::Success);
            handle.shutdown().await.expect("shut down");
            task.await.expect("task ends");
        });
    });

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
    assert_eq!(counter("persister_messages_total{kind=progress}"), 15);
    assert_eq!(counter("persister_messages_total{kind=complete}"), 3);
    assert_eq!(counter("persister_messages_total{kind=store_new}"), 1);
    assert_eq!(counter("persister_messages_total{kind=load}"), 1);
    // With a 1-byte cap the command is evicted after every write (`store_new` and the first 17
    // messages) and reloaded by the next message; the last completion finalizes it (evicted as
    // final), and `load` reads it from the store again: 18 + 1 misses.
    assert_eq!(counter("persister_cache_misses_total"), 19);
    assert_eq!(counter("persister_cache_evictions_total{reason=capacity}"), 18);
    assert_eq!(counter("persister_cache_evictions_total{reason=final}"), 1);
    assert!(!metrics.contains_key("persister_cache_hits_total"), "nothing stays cached");
    assert_eq!(gauge("persister_cache_entries"), 0.0, "the last eviction is published");
    assert_eq!(gauge("persister_cache_bytes"), 0.0);
    assert_eq!(histogram_len("persister_transaction_seconds{op=insert}"), 1);
    assert_eq!(histogram_len("persister_transaction_seconds{op=apply}"), 18);
    assert_eq!(histogram_len("persister_batch_size"), 20);
    assert_eq!(histogram_len("persister_batch_seconds"), 20);
    assert_eq!(histogram_len("persister_call_seconds{kind=progress}"), 15);
    assert_eq!(histogram_len("persister_call_seconds{kind=complete}"), 3);
}
