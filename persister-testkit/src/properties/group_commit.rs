//! Group commit equals one-at-a-time processing: the same messages, handled in random batches
//! by one persister and one by one by another, give the same replies and the same stored
//! commands.

use std::sync::Arc;

use persister_core::{DynCommandStore, Message, Persister, PersisterConfig, Timestamp};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::prop_assert_eq;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};

use super::{config, message_for, unique_id};
use crate::model::Reply;
use crate::strategies::{Case, case};

/// Several commands, their interleaved messages, and the batch sizes to cut them into.
fn batch_case() -> impl Strategy<Value = (Vec<Case>, Vec<usize>)> {
    (vec(case(), 1..4), vec(1usize..24, 1..40))
}

/// Runs the group-commit property against `store`, panicking with the minimal failing case
/// and its seed.
pub fn check_group_commit(rt: &tokio::runtime::Runtime, store: Arc<DynCommandStore>) {
    let (config, seed) = config();
    let mut runner = TestRunner::new(config);
    let result =
        runner.run(&batch_case(), |(cases, sizes)| rt.block_on(run(&store, &cases, &sizes)));
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!(
                "group commit differs: {reason}\nminimal case: {case:#?}\nreplay with PROPTEST_RNG_SEED={seed}"
            )
        }
        Err(TestError::Abort(reason)) => panic!("aborted: {reason} (PROPTEST_RNG_SEED={seed})"),
    }
}

/// The messages of every case, interleaved round-robin, for command ids `ids`.
fn messages(cases: &[Case], ids: &[String]) -> Vec<Message> {
    let mut out: Vec<Message> = cases
        .iter()
        .zip(ids)
        .map(|(c, id)| {
            let mut command = c.command.clone();
            command.id.clone_from(id);
            Message::StoreNew(Box::new(command))
        })
        .collect();
    let longest = cases.iter().map(|c| c.ops.len()).max().unwrap_or(0);
    for step in 0..longest {
        for (c, id) in cases.iter().zip(ids) {
            if let Some(m) = c.ops.get(step).and_then(|op| message_for(op, &c.command, id, step)) {
                out.push(m);
            }
        }
    }
    out
}

async fn run(
    store: &Arc<DynCommandStore>,
    cases: &[Case],
    sizes: &[usize],
) -> Result<(), TestCaseError> {
    let batched_ids: Vec<String> = cases.iter().map(|_| unique_id()).collect();
    let single_ids: Vec<String> = cases.iter().map(|_| unique_id()).collect();

    let now = Timestamp::parse("2026-01-01T00:00:00.5Z").unwrap_or_default();
    let config = || PersisterConfig::default().clock(Arc::new(move || now));
    let mut single = Persister::with_config(store.clone(), config());
    let mut single_replies = Vec::new();
    for m in messages(cases, &single_ids) {
        single_replies.push(Reply::of_reply(single.handle(m).await));
    }

    let mut batched = Persister::with_config(store.clone(), config());
    let mut batched_replies = Vec::new();
    let mut queue = messages(cases, &batched_ids).into_iter().peekable();
    let mut sizes = sizes.iter().cycle();
    while queue.peek().is_some() {
        let n = sizes.next().copied().unwrap_or(1);
        let batch: Vec<Message> = queue.by_ref().take(n).collect();
        for r in batched.handle_batch(batch).await {
            batched_replies.push(Reply::of_reply(r));
        }
    }
    prop_assert_eq!(&batched_replies, &single_replies);

    for (a, b) in batched_ids.iter().zip(&single_ids) {
        let fresh = |id: &str| {
            let store = store.clone();
            let id = id.to_owned();
            async move { Persister::new(store).load(&id).await.ok() }
        };
        let mut left = fresh(a).await;
        let right = fresh(b).await;
        if let Some(c) = &mut left {
            c.id.clone_from(b);
        }
        prop_assert_eq!(left, right, "stored command {} vs {}", a, b);
    }
    Ok(())
}
