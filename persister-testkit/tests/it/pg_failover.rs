//! Failover under a flood: a primary with a synchronous streaming standby, a store on a URL
//! naming both, and a W2 flood through one handle (one task per command). A third of the way
//! in, the primary is killed with SIGKILL and the standby promoted, as a failover manager
//! would. The same process carries on: every acknowledged message must be on the new primary,
//! none applied twice, and a fresh process's `recover()` must find exactly the unfinished
//! commands. The same messages replayed in the same per-command order on a `MemoryStore`
//! are the reference: replies, stored commands and revisions must all equal its.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use persister_core::{
    CommandStore, HandleConfig, MemoryStore, Message, Persister, PersisterConfig, PersisterHandle,
    Reply, Timestamp,
};
use persister_postgres::{PgConfig, PgStore};
use persister_testkit::pg::Replicated;
use persister_testkit::workload::{self, Workload};
use sqlx::{Connection, PgConnection};

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00.5Z").expect("valid timestamp")
}

fn persister_config() -> PersisterConfig {
    PersisterConfig::default().clock(Arc::new(now)).outcome_window(Duration::from_secs(30))
}

/// The messages of each command in their order: its `StoreNew`, then its messages of the W2
/// stream; the commands at odd indexes get only the first half of theirs, so that they stay
/// unfinished.
fn streams(w2: &Workload) -> Vec<(String, Vec<Message>)> {
    let mut per: HashMap<&str, Vec<Message>> = HashMap::new();
    for m in &w2.messages {
        let (id, message) = match m {
            workload::Message::Progress(p) => {
                (p.command_id.as_str(), Message::Progress(p.clone().into()))
            }
            workload::Message::Complete(c) => {
                (c.command_id.as_str(), Message::Complete(c.clone().into()))
            }
        };
        per.entry(id).or_default().push(message);
    }
    w2.commands
        .iter()
        .enumerate()
        .map(|(index, command)| {
            let mut messages = vec![Message::StoreNew(Box::new(command.clone()))];
            let own = per.remove(command.id.as_str()).unwrap_or_default();
            let keep = if index % 2 == 1 { own.len() / 2 } else { own.len() };
            messages.extend(own.into_iter().take(keep));
            (command.id.clone(), messages)
        })
        .collect()
}

/// What the flood saw, shared by its tasks.
#[derive(Default)]
struct Seen {
    acknowledged: AtomicU64,
    transient: AtomicU64,
    /// When the primary was killed, and the first acknowledgement of a call sent after that.
    kill: Mutex<(Option<Instant>, Option<Instant>)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_survives_the_primary_failing_over_to_its_synchronous_standby() {
    let pair = Arc::new(
        tokio::task::spawn_blocking(Replicated::start)
            .await
            .expect("no panic")
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let mut admin = PgConnection::connect(&pair.primary_url()).await.expect("primary answers");
    sqlx::raw_sql("CREATE DATABASE forma").execute(&mut admin).await.expect("create database");
    admin.close().await.expect("close");
    let config = PgConfig::from_url(&pair.both_url("forma"))
        .acquire_timeout(Duration::from_secs(2))
        .max_connections(4);
    let store = Arc::new(PgStore::connect(config.clone()).await.expect("connects to the primary"));
    let persister = Persister::with_config(store.clone(), persister_config());
    let handle_config = HandleConfig::default().call_timeout(Duration::from_secs(60));
    let (handle, task) = PersisterHandle::spawn(persister, handle_config);

    let streams = streams(&Workload::w2(7));
    let total: u64 = streams.iter().map(|(_, m)| m.len() as u64).sum();
    let seen = Arc::new(Seen::default());
    let started = Instant::now();
    let tasks: Vec<_> = streams
        .iter()
        .cloned()
        .map(|(id, messages)| {
            let (handle, seen) = (handle.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                let mut replies = Vec::with_capacity(messages.len());
                for (step, m) in messages.into_iter().enumerate() {
                    let sent = Instant::now();
                    loop {
                        match handle.call(m.clone()).await {
                            Ok(reply) => {
                                replies.push(reply);
                                break;
                            }
                            Err(e) if e.is_transient() => {
                                seen.transient.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            Err(e) => panic!("{id} step {step}: {e:?}"),
                        }
                    }
                    seen.acknowledged.fetch_add(1, Ordering::Relaxed);
                    let mut kill = seen.kill.lock().expect("not poisoned");
                    if let (Some(killed), None) = *kill
                        && sent > killed
                    {
                        kill.1 = Some(Instant::now());
                    }
                }
                (id, replies)
            })
        })
        .collect();

    while seen.acknowledged.load(Ordering::Relaxed) < total / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let acknowledged_at_kill = seen.acknowledged.load(Ordering::Relaxed);
    let killed = Instant::now();
    seen.kill.lock().expect("not poisoned").0 = Some(killed);
    let failover = Arc::clone(&pair);
    tokio::task::spawn_blocking(move || failover.kill_primary().and_then(|()| failover.promote()))
        .await
        .expect("no panic")
        .unwrap_or_else(|e| panic!("failover: {e}"));
    let promoted = killed.elapsed();

    let mut replies: HashMap<String, Vec<Reply>> = HashMap::new();
    for t in tasks {
        let (id, r) = t.await.expect("no task panicked");
        replies.insert(id, r);
    }
    let elapsed = started.elapsed();
    handle.shutdown().await.expect("shuts down");
    task.await.expect("the handle task ends");
    let pause = seen.kill.lock().expect("not poisoned").1.map(|at| at - killed);

    // The reference: the same streams, one after another, on a memory store.
    let reference_store = Arc::new(MemoryStore::new());
    let mut reference = Persister::with_config(reference_store.clone(), persister_config());
    for (id, messages) in &streams {
        let mut expected = Vec::with_capacity(messages.len());
        for m in messages {
            expected.push(reference.handle(m.clone()).await.expect("the reference applies it"));
        }
        assert_eq!(replies[id], expected, "{id}: every reply equals the reference's");
    }

    // On the new primary alone, from a fresh process's point of view.
    let standby = pair.standby_url();
    let standby = format!("{}/forma", standby.rsplit_once('/').map_or("", |(server, _)| server));
    let new_primary = Arc::new(
        PgStore::connect(PgConfig::from_url(&standby))
            .await
            .expect("the promoted standby accepts connections"),
    );
    let mut fresh = Persister::with_config(new_primary.clone(), persister_config());
    let mut fresh_reference = Persister::with_config(reference_store.clone(), persister_config());
    for (id, _) in &streams {
        let stored = new_primary.revision(id).await.expect("revision");
        let expected = reference_store.revision(id).await.expect("revision");
        assert_eq!(stored, expected, "{id}: applied exactly once (same revision)");
        let loaded = fresh.load(id).await.ok();
        assert_eq!(loaded, fresh_reference.load(id).await.ok(), "{id}: the stored command");
    }
    let mut recovered: Vec<String> =
        fresh.recover().await.expect("recovers").commands.into_iter().map(|c| c.id).collect();
    let mut expected: Vec<String> = fresh_reference
        .recover()
        .await
        .expect("recovers")
        .commands
        .into_iter()
        .map(|c| c.id)
        .collect();
    recovered.sort();
    expected.sort();
    assert!(!expected.is_empty(), "half of the commands are left unfinished");
    assert_eq!(recovered, expected, "recover() finds exactly the unfinished commands");

    let pause = pause.expect("a message was acknowledged after the kill");
    eprintln!(
        "failover run: {} commands, {total} messages in {elapsed:.1?}, acknowledged {} (every \
         one checked on the new primary), {acknowledged_at_kill} before the kill; transient \
         errors seen by callers {}; kill to promoted {promoted:.1?}; kill to the first \
         acknowledged message sent after it {pause:.1?}; lost 0, duplicated 0, unfinished \
         recovered {}",
        streams.len(),
        seen.acknowledged.load(Ordering::Relaxed),
        seen.transient.load(Ordering::Relaxed),
        recovered.len(),
    );
    new_primary.close().await.expect("closes");
}
