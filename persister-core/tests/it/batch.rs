//! Group commit through `Persister::handle_batch`: messages refused without effect are their
//! own replies and do not undo the batch; replies and state equal one-at-a-time handling.

use crate::support::*;
use persister_core::{
    CommandKind, Error, FormaCommand, Message, Operation, Reply, ResourceUpdateState as S,
    StoreError,
};

/// A short name of a reply, for comparing replies of two persisters.
fn outcome(result: &Result<Reply, Error>) -> String {
    match result {
        Ok(Reply::Ack(ack)) => format!("{ack:?}"),
        Ok(Reply::Command(c)) => format!("command {}", c.id),
        Ok(other) => format!("{other:?}"),
        Err(Error::Store(StoreError::NotFound { id })) => format!("not found {id}"),
        Err(Error::Store(StoreError::DuplicateKey { .. })) => "duplicate key".into(),
        Err(Error::Store(StoreError::AlreadyExists { id })) => format!("exists {id}"),
        Err(Error::NotAllFinal { not_final, .. }) => format!("not all final ({not_final})"),
        Err(e) => format!("error {e}"),
    }
}

fn duplicate_keys(id: &str) -> FormaCommand {
    let mut c = command(id, 2, CommandKind::Apply);
    let first = c.resource_updates[0].resource.ksuid.clone();
    c.resource_updates[1].resource.ksuid = first;
    c
}

/// Handles `messages` as one batch and one at a time on two fresh persisters; returns the
/// batch's replies after checking that both give the same replies and load the same `ids`.
async fn batch_equals_one_at_a_time(
    messages: Vec<Message>,
    ids: &[&str],
) -> (Vec<String>, persister_core::PersisterStats) {
    let (_, mut batched) = memory();
    let (_, mut single) = memory();
    let got: Vec<String> =
        batched.handle_batch(messages.clone()).await.iter().map(outcome).collect();
    let mut want = Vec::new();
    for m in messages {
        want.push(outcome(&single.handle(m).await));
    }
    assert_eq!(got, want, "replies of the batch and of one at a time");
    for id in ids {
        assert_eq!(batched.load(id).await.ok(), single.load(id).await.ok(), "command {id}");
    }
    (got, batched.stats())
}

#[tokio::test]
async fn refused_messages_are_their_own_replies_and_the_batch_commits() {
    let messages = vec![
        Message::StoreNew(Box::new(command("a", 2, CommandKind::Apply))),
        Message::Progress(Box::new(progress("nope", 0, Operation::Create, S::InProgress, 3))),
        Message::Progress(Box::new(progress("a", 0, Operation::Create, S::InProgress, 4))),
        Message::FinalizeIncomplete("a".into()),
        Message::StoreNew(Box::new(duplicate_keys("d"))),
        Message::StoreNew(Box::new(command("a", 1, CommandKind::Apply))),
        Message::Complete(Box::new(completion("a", 0, Operation::Create, S::Success, 5))),
    ];
    let (replies, stats) = batch_equals_one_at_a_time(messages, &["a", "d"]).await;
    assert_eq!(
        replies,
        [
            "Applied",
            "not found nope",
            "Applied",
            "not all final (2)",
            "duplicate key",
            "exists a",
            "Applied"
        ]
    );
    assert_eq!(stats.batches, 1, "committed as one batch");
    assert_eq!(stats.batch_fallbacks, 0, "refusals without effect do not undo the batch");
    assert_eq!(stats.transactions, 1, "one transaction for the whole batch");
}

#[tokio::test]
async fn a_command_deleted_in_a_batch_is_not_found_by_its_later_messages() {
    let messages = vec![
        Message::StoreNew(Box::new(command("s", 1, CommandKind::Sync))),
        Message::Complete(Box::new(completion("s", 0, Operation::Read, S::Success, 2))),
        Message::Progress(Box::new(progress("s", 0, Operation::Read, S::InProgress, 3))),
        Message::Load("s".into()),
        Message::StoreNew(Box::new(command("s", 2, CommandKind::Sync))),
        Message::Load("s".into()),
    ];
    let (replies, stats) = batch_equals_one_at_a_time(messages, &["s"]).await;
    assert_eq!(
        replies,
        ["Applied", "Deleted", "not found s", "not found s", "Applied", "command s"]
    );
    assert_eq!((stats.batches, stats.batch_fallbacks), (1, 0));
}

#[tokio::test]
async fn a_batch_that_the_store_refuses_falls_back_to_one_at_a_time() {
    let (_, mut p) = memory();
    p.store_new(command("taken", 1, CommandKind::Apply)).await.expect("stored");
    // Only the store knows the id is taken: the batch's write fails, and each message is
    // handled again on its own.
    let replies: Vec<String> = p
        .handle_batch(vec![
            Message::StoreNew(Box::new(command("b", 1, CommandKind::Apply))),
            // Another command under a taken id (the same one again would be idempotent).
            Message::StoreNew(Box::new(command("taken", 2, CommandKind::Apply))),
        ])
        .await
        .iter()
        .map(outcome)
        .collect();
    assert_eq!(replies, ["Applied", "exists taken"]);
    assert_eq!(p.stats().batch_fallbacks, 1);
    assert!(p.load("b").await.is_ok(), "the good message was stored on its own");
}
