//! Persister-level scenarios: whole message flows over a backend.

use std::sync::Arc;

use persister_core::{
    Ack, CommandKind, CommandState, DynCommandStore, Error, ListFilter, Operation, Persister,
    PersisterConfig, ResourceCompletion, ResourceUpdateState, StoredCommand,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::faulty::FaultyStore;
use crate::workload::{Message, Workload, command};

fn texts(stored: &StoredCommand) -> Vec<&str> {
    stored.texts().collect()
}

/// Opaque plaintext values (`"$value":"pw-..."` style secrets) left in `text`.
fn plaintext_secrets(text: &str) -> bool {
    ["\"pw-", "\"s-", "\"t-"].iter().any(|m| text.contains(m))
}

/// W1 (196 resources, 5 progress reports and a completion each) ends Success; a fresh
/// persister (empty cache) over the store loads the expected final state.
pub async fn large_command_lifecycle(store: Arc<DynCommandStore>) {
    let workload = Workload::w1(11);
    let mut p = Persister::new(store.clone());
    for c in &workload.commands {
        p.store_new(c.clone()).await.expect("stored");
    }
    let mut finalized = 0;
    for m in workload.messages.clone() {
        if m.clone().send(&mut p).await.expect("message applied") == Ack::Finalized {
            finalized += 1;
        }
    }
    assert_eq!(finalized, 1, "the last completion finalizes the command");
    let id = &workload.commands[0].id;
    let loaded = Persister::new(store.clone()).load(id).await.expect("loaded");
    assert_eq!(loaded.state, CommandState::Success);
    assert_eq!(loaded.resource_updates.len(), 196);
    for (ru, original) in loaded.resource_updates.iter().zip(&workload.commands[0].resource_updates)
    {
        assert_eq!(ru.resource.ksuid, original.resource.ksuid, "order kept");
        assert_eq!(ru.state, ResourceUpdateState::Success);
        assert!(ru.version.starts_with('v'));
        assert_eq!(ru.progress_result.as_ref().map(Vec::len), Some(1));
    }
    let last = workload.messages.iter().rev().find_map(|m| match m {
        Message::Complete(c) => Some(c.resource_modified_ts),
        Message::Progress(_) => None,
    });
    assert_eq!(Some(loaded.modified_ts), last);
    let stored = store.load(id).await.expect("load").expect("present");
    assert!(!texts(&stored).iter().any(|t| plaintext_secrets(t)), "secrets hashed at rest");
}

/// A progress report rewrites one resource update row and the header, nothing else.
pub async fn progress_writes_only_the_changed_row(store: Arc<DynCommandStore>) {
    let workload = Workload::w1(12).truncated(1);
    let mut p = Persister::new(store.clone());
    let id = workload.commands[0].id.clone();
    p.store_new(workload.commands[0].clone()).await.expect("stored");
    let before = store.load(&id).await.expect("load").expect("present");
    let msg = workload.messages[0].clone();
    let Message::Progress(progress) = &msg else { panic!("first message is a progress report") };
    let target = progress.resource_uri.clone();
    msg.send(&mut p).await.expect("applied");
    let after = store.load(&id).await.expect("load").expect("present");
    assert_eq!(after.header.revision, before.header.revision + 1);
    assert_eq!(after.header.body, before.header.body);
    let changed: Vec<_> = before
        .resource_updates
        .iter()
        .zip(&after.resource_updates)
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(format!("formae://{}#", changed[0].1.ksuid), target);
}

/// A store failure mid-stream returns an error, leaves the store as before the message,
/// evicts the entry, and a retry reaches the same state as an undisturbed run.
pub async fn failed_write_leaves_store_and_cache_consistent(store: Arc<DynCommandStore>) {
    let faulty = Arc::new(FaultyStore::new(store.clone()));
    let mut p = Persister::new(faulty.clone());
    let mut rng = StdRng::seed_from_u64(5);
    let c = command(&mut rng, "F", 0, 8);
    p.store_new(c.clone()).await.expect("stored");
    for (i, ru) in c.resource_updates.iter().enumerate() {
        let msg = ResourceCompletion {
            command_id: c.id.clone(),
            resource_uri: ru.resource.uri(),
            operation: ru.operation,
            final_state: ResourceUpdateState::Success,
            version: format!("v{i}"),
            ..ResourceCompletion::default()
        };
        if i % 3 == 1 {
            let before = store.load(&c.id).await.expect("load").expect("present");
            faulty.fail_write(1);
            let err = p.complete(msg.clone()).await.expect_err("injected");
            assert!(matches!(err, Error::Store(ref e) if e.is_transient()), "{err:?}");
            assert_eq!(store.load(&c.id).await.expect("load").expect("present"), before);
            let cached = p.load(&c.id).await.expect("reloaded");
            assert_eq!(
                cached.resource_updates[i].state, ru.state,
                "the cache holds nothing unpersisted"
            );
        }
        let ack = p.complete(msg).await.expect("retry succeeds");
        assert_eq!(ack == Ack::Finalized, i == 7);
    }
    let loaded = Persister::new(store).load(&c.id).await.expect("loaded");
    assert_eq!(loaded.state, CommandState::Success);
    assert!(loaded.resource_updates.iter().enumerate().all(|(i, r)| r.version == format!("v{i}")));
}

/// A sync command that changed nothing is deleted when it completes; one with a version is
/// kept.
pub async fn sync_without_versions_is_deleted(store: Arc<DynCommandStore>) {
    let mut p = Persister::new(store.clone());
    let mut rng = StdRng::seed_from_u64(6);
    for (name, version) in [("S0", ""), ("S1", "v1")] {
        let mut c = command(&mut rng, name, 0, 3);
        c.command = CommandKind::Sync;
        for ru in &mut c.resource_updates {
            ru.operation = Operation::Read;
        }
        p.store_new(c.clone()).await.expect("stored");
        let mut last = Ack::Applied;
        for (i, ru) in c.resource_updates.iter().enumerate() {
            let msg = ResourceCompletion {
                command_id: c.id.clone(),
                resource_uri: ru.resource.uri(),
                operation: Operation::Read,
                final_state: ResourceUpdateState::Success,
                version: if i == 1 { version.into() } else { String::new() },
                ..ResourceCompletion::default()
            };
            last = p.complete(msg).await.expect("applied");
        }
        let exists = store.load(&c.id).await.expect("load").is_some();
        if version.is_empty() {
            assert_eq!((last, exists), (Ack::Deleted, false));
        } else {
            assert_eq!((last, exists), (Ack::Finalized, true));
        }
    }
}

/// Desired-state secrets stay plaintext while the command runs (so it can be resumed) and are
/// hashed in every stored byte once it is final; a tiny cache gives the same result.
pub async fn finalization_leaves_no_plaintext(store: Arc<DynCommandStore>) {
    let mut rng = StdRng::seed_from_u64(8);
    let c = command(&mut rng, "H", 0, 40);
    let mut p =
        Persister::with_config(store.clone(), PersisterConfig::default().cache_max_bytes(1));
    p.store_new(c.clone()).await.expect("stored");
    let stored = store.load(&c.id).await.expect("load").expect("present");
    assert!(texts(&stored).iter().any(|t| plaintext_secrets(t)), "the workload has secrets");
    let refs: Vec<_> = c
        .resource_updates
        .iter()
        .map(|r| persister_core::ResourceUpdateRef::new(r.resource.uri(), r.operation))
        .collect();
    assert_eq!(p.mark_canceled(&c.id, &refs).await.expect("canceled"), Ack::Finalized);
    let stored = store.load(&c.id).await.expect("load").expect("present");
    for text in texts(&stored) {
        assert!(!plaintext_secrets(text), "plaintext left in {text}");
    }
    assert_eq!(
        Persister::new(store).load(&c.id).await.expect("loaded").state,
        CommandState::Canceled
    );
}

/// `list` by client id, the empty one included (commands stored without a client id).
pub async fn list_by_client_id_includes_the_empty_one(store: Arc<DynCommandStore>) {
    let mut p = Persister::new(store);
    let mut rng = StdRng::seed_from_u64(9);
    for (i, client) in ["", "cli-1", "", "cli-2"].into_iter().enumerate() {
        let mut c = command(&mut rng, "L", i, 2);
        c.client_id = client.into();
        p.store_new(c).await.expect("stored");
    }
    // From the cache, and from the store alone (a fresh persister).
    let mut fresh = Persister::new(p.store().clone());
    for (client, expected) in [("", 2), ("cli-1", 1), ("cli-2", 1), ("cli-3", 0)] {
        for q in [&mut p, &mut fresh] {
            let listed =
                q.list(&ListFilter::all().client_id(client)).await.expect("lists").summaries;
            assert_eq!(listed.len(), expected, "client {client:?}");
            assert!(listed.iter().all(|c| c.client_id == client), "client {client:?}");
        }
    }
}
