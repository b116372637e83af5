//! Dropping a persister future at any point where it waits for the store leaves the cache
//! and the store consistent: for every message (alone, and in group-commit batches) and every
//! point where it is pending, the future is dropped there, the stored command must equal the
//! reference model's either before or after the message (a batch is all or nothing; only
//! once a failed batch falls back to one message at a time may a prefix of it be stored), and
//! the messages that follow (the dropped ones sent again first, as a caller that timed out
//! would) must get the model's replies and leave the model's state.

use std::sync::Arc;

use persister_core::{DynCommandStore, Message, Persister, PersisterConfig, Timestamp};
use proptest::test_runner::{TestCaseError, TestError, TestRunner};
use proptest::{prop_assert, prop_assert_eq};

use super::{config, message_for, unique_id};
use crate::model::{ReferenceModel, Reply};
use crate::pending::PendingStore;
use crate::strategies::{Case, case};

/// Runs the drop-safety property against `store`, panicking with the minimal failing case and
/// its seed. Each case tries every pending point of every message, so it runs an eighth of
/// the configured cases (at least 4).
pub fn check_drop_safety(rt: &tokio::runtime::Runtime, store: Arc<DynCommandStore>) {
    let (mut config, seed) = config();
    config.cases = (config.cases / 8).max(4);
    let mut runner = TestRunner::new(config);
    let result =
        runner.run(&(case(), 1usize..5), |(case, batch)| rt.block_on(run(&store, &case, batch)));
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => panic!(
            "dropping a future broke consistency: {reason}\nminimal case: {case:#?}\nreplay with PROPTEST_RNG_SEED={seed}"
        ),
        Err(TestError::Abort(reason)) => panic!("aborted: {reason} (PROPTEST_RNG_SEED={seed})"),
    }
}

async fn run(store: &Arc<DynCommandStore>, case: &Case, batch: usize) -> Result<(), TestCaseError> {
    let pending = Arc::new(PendingStore::new(store.clone()));
    let now = Timestamp::parse("2026-01-01T00:00:00.5Z").unwrap_or_default();
    let config = PersisterConfig::default().clock(Arc::new(move || now));
    let mut persister = Persister::with_config(pending.clone(), config);
    let mut model = ReferenceModel::new(now);
    let id = unique_id();
    let mut command = case.command.clone();
    command.id.clone_from(&id);
    let mut messages = vec![Message::StoreNew(Box::new(command.clone()))];
    messages.extend(
        case.ops.iter().enumerate().filter_map(|(step, op)| message_for(op, &command, &id, step)),
    );
    for (n, chunk) in messages.chunks(batch).enumerate() {
        for gate in 0.. {
            let fallbacks = persister.stats().batch_fallbacks;
            let tripped = pending.trip_at(Some(gate));
            let outcome = tokio::select! {
                biased;
                replies = persister.handle_batch(chunk.to_vec()) => Some(replies),
                () = tripped.notified() => None,
            };
            pending.trip_at(None);
            let done = outcome.is_some();
            match outcome {
                Some(replies) => {
                    let got: Vec<Reply> = replies.into_iter().map(Reply::of_reply).collect();
                    let want: Vec<Reply> = chunk.iter().map(|m| model.handle(m.clone())).collect();
                    prop_assert_eq!(got, want, "replies to batch {}", n);
                }
                None => {
                    // The states the store may hold: before the batch, after it, and after
                    // each prefix once it fell back to one message at a time.
                    let fell_back = persister.stats().batch_fallbacks > fallbacks;
                    let mut states = vec![model.clone()];
                    for m in chunk {
                        let mut next = states.last().cloned().unwrap_or_else(|| model.clone());
                        next.handle(m.clone());
                        states.push(next);
                    }
                    if !fell_back {
                        states.drain(1..chunk.len());
                    }
                    let stored = Persister::new(store.clone()).load(&id).await.ok();
                    match states.into_iter().rev().find(|s| s.load(&id) == stored.as_ref()) {
                        Some(state) => model = state,
                        None => prop_assert!(
                            false,
                            "stored after dropping batch {} at gate {} (fell back: {}): {:?}, \
                             which is not the model's state before, after{} it: {:?}",
                            n,
                            gate,
                            fell_back,
                            stored,
                            if fell_back { " or after a prefix of" } else { "" },
                            model.load(&id)
                        ),
                    }
                }
            }
            let loaded = persister.load(&id).await.ok();
            prop_assert_eq!(
                loaded.as_ref(),
                model.load(&id),
                "cached state after batch {} (gate {})",
                n,
                gate
            );
            if done {
                break;
            }
        }
    }
    Ok(())
}
