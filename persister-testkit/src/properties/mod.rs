//! The property suite: random commands and message sequences, applied to a persister over a
//! backend and to the [`ReferenceModel`], compared after every message.
//!
//! Cases per property default to 64; `PROPTEST_CASES` raises it for long campaigns.
//! Every run uses a fixed seed, printed when a case fails; `PROPTEST_RNG_SEED=<seed>` replays it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

mod drop_safety;
mod group_commit;

pub use drop_safety::check_drop_safety;
pub use group_commit::check_group_commit;

use persister_core::{
    Ack, DynCommandStore, FormaCommand, Message, Operation, Persister, PersisterConfig,
    ResourceCompletion, ResourceProgress, ResourceUpdateRef, ResourceUpdateState, TargetUpdate,
    Timestamp,
};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use proptest::{prop_assert, prop_assert_eq};
use rand::RngExt;

use crate::model::{ReferenceModel, Reply};
use crate::strategies::{Case, Op, Pick, SECRET_MARK, base_time, case, progress_result};

/// The four properties every backend must satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Property {
    /// After every message, the reply and the loaded command equal the reference model's.
    MatchesModel,
    /// At any point, a fresh persister over the same store loads what the cached one holds.
    RestartEquivalence,
    /// With a cache so small that every message misses, results equal the model's.
    CacheTransparency,
    /// Once a command is finalized, no opaque plaintext is stored; values hashed at write time
    /// are never stored in plaintext; deleted sync commands are gone.
    NoPlaintextAtRest,
}

/// The proptest configuration: `PROPTEST_CASES` (default 64) and a seed that is printed on
/// failure (`PROPTEST_RNG_SEED` fixes it).
pub fn config() -> (Config, u64) {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    };
    (config, seed)
}

/// Runs `property` over generated cases against `store`, panicking with the minimal failing
/// case and the seed that replays it.
pub fn check(rt: &tokio::runtime::Runtime, store: Arc<DynCommandStore>, property: Property) {
    let (config, seed) = config();
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| rt.block_on(run_case(&store, &case, property)));
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => panic!(
            "property {property:?} failed: {reason}\nminimal case: {case:#?}\nreplay with PROPTEST_RNG_SEED={seed} (cases: {cases})"
        ),
        Err(TestError::Abort(reason)) => {
            panic!("property {property:?} aborted: {reason} (PROPTEST_RNG_SEED={seed})")
        }
    }
}

/// The runtime property tests run on: two worker threads, I/O and timers enabled.
///
/// # Panics
/// When the runtime cannot be built (a test support function: the test fails there).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

pub(crate) fn unique_id() -> String {
    format!("prop-{}-{}", std::process::id(), NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn resolve(pick: &Pick, command: &FormaCommand) -> (String, Operation) {
    let n = command.resource_updates.len();
    let index = pick.index % (n + 1 + n / 4);
    match command.resource_updates.get(index) {
        Some(ru) => (ru.resource.uri(), pick.other_op.unwrap_or(ru.operation)),
        None => (format!("formae://unknown{index}#"), pick.other_op.unwrap_or(Operation::Create)),
    }
}

/// The time of message `step`; every third one is given at `-08:00` (the same instant), which
/// the persister and the model both store in UTC (D8).
pub(crate) fn at(step: usize) -> Timestamp {
    let offset = if step % 3 == 1 { time::macros::offset!(-8) } else { time::UtcOffset::UTC };
    let step = i64::try_from(step).unwrap_or(0);
    let t = base_time().datetime() + time::Duration::milliseconds(step * 1_001);
    Timestamp::from_datetime(t.to_offset(offset))
}

async fn run_case(
    store: &Arc<DynCommandStore>,
    case: &Case,
    property: Property,
) -> Result<(), TestCaseError> {
    // A clock at -08:00: its readings are stored in UTC too (D8).
    let now = Timestamp::parse("2025-12-31T16:00:00.5-08:00").unwrap_or_default();
    let mut config = PersisterConfig::default().clock(Arc::new(move || now));
    if property == Property::CacheTransparency {
        config = config.cache_max_bytes(1);
    }
    let mut p = Persister::with_config(store.clone(), config);
    let mut model = ReferenceModel::new(now);
    let id = unique_id();
    let mut command = case.command.clone();
    command.id.clone_from(&id);
    let got = Reply::of(p.store_new(command.clone()).await.map(|()| Ack::Applied));
    let want = model.store_new(command.clone());
    prop_assert_eq!(&got, &want, "store_new");
    if got != Reply::Ack(Ack::Applied) {
        return Ok(());
    }
    for (step, op) in case.ops.iter().enumerate() {
        let (got, want) = apply(&mut p, &mut model, &command, &id, step, op).await;
        prop_assert_eq!(&got, &want, "reply at step {} for {:?}", step, op);
        compare(store, &mut p, &model, &id, property, step).await?;
    }
    Ok(())
}

/// The message an op sends, or `None` for `Restart`.
pub fn message_for(op: &Op, command: &FormaCommand, id: &str, step: usize) -> Option<Message> {
    Some(match op {
        Op::Progress { pick, state, plugin, version, secret } => {
            let (uri, operation) = resolve(pick, command);
            Message::Progress(Box::new(ResourceProgress {
                command_id: id.to_owned(),
                resource_uri: uri,
                operation,
                resource_start_ts: at(0),
                resource_modified_ts: at(step),
                resource_state: *state,
                progress: progress_result(
                    *plugin,
                    at(step),
                    secret.then(|| format!("{SECRET_MARK}-p{step}")),
                ),
                version: if *version { format!("v{step}") } else { String::new() },
                ..ResourceProgress::default()
            }))
        }
        Op::Complete { pick, state, version, secret } => {
            let (uri, operation) = resolve(pick, command);
            let props = secret
                .then(|| {
                    persister_core::RawJson::new(format!(
                        r#"{{"Name":"done","Key":{{"$value":"{SECRET_MARK}-c{step}","$visibility":"Opaque"}}}}"#
                    ))
                    .ok()
                })
                .flatten();
            Message::Complete(Box::new(ResourceCompletion {
                command_id: id.to_owned(),
                resource_uri: uri,
                operation,
                final_state: *state,
                resource_start_ts: at(0),
                resource_modified_ts: at(step),
                resource_properties: props,
                version: if *version { format!("v{step}") } else { String::new() },
                ..ResourceCompletion::default()
            }))
        }
        Op::Bulk { state, picks } => {
            let refs: Vec<ResourceUpdateRef> = picks
                .iter()
                .map(|pick| {
                    let (uri, op) = resolve(pick, command);
                    ResourceUpdateRef::new(uri, op)
                })
                .collect();
            let id = id.to_owned();
            match state {
                ResourceUpdateState::Rejected => {
                    Message::MarkRejected { id, refs, modified_ts: at(step) }
                }
                ResourceUpdateState::Failed => {
                    Message::MarkFailed { id, refs, modified_ts: at(step) }
                }
                _ => Message::MarkCanceled { id, refs },
            }
        }
        Op::CancelAll => Message::CancelAll(id.to_owned()),
        Op::Targets(list) => {
            let updates: Vec<TargetUpdate> = list
                .iter()
                .map(|(label, operation, state)| {
                    let mut t = TargetUpdate {
                        operation: *operation,
                        state: *state,
                        modified_ts: at(step),
                        ..TargetUpdate::default()
                    };
                    t.target.label = format!("target-{label}");
                    t
                })
                .collect();
            Message::TargetStates { id: id.to_owned(), updates }
        }
        Op::FinalizeIncomplete => Message::FinalizeIncomplete(id.to_owned()),
        Op::UnknownCommand => Message::Progress(Box::new(ResourceProgress {
            command_id: format!("{id}-unknown"),
            ..ResourceProgress::default()
        })),
        Op::Restart => return None,
    })
}

async fn apply(
    p: &mut Persister,
    model: &mut ReferenceModel,
    command: &FormaCommand,
    id: &str,
    step: usize,
    op: &Op,
) -> (Reply, Reply) {
    match message_for(op, command, id, step) {
        Some(message) => (Reply::of_reply(p.handle(message.clone()).await), model.handle(message)),
        None => {
            p.clear_cache();
            (Reply::Ack(Ack::Applied), Reply::Ack(Ack::Applied))
        }
    }
}

/// Every timestamp of `command` as it is encoded (with its offset).
fn encoded_times(command: &FormaCommand) -> Vec<String> {
    let mut out = vec![command.start_ts, command.modified_ts];
    for ru in &command.resource_updates {
        out.extend([ru.start_ts, ru.modified_ts]);
        let results = std::iter::once(&ru.most_recent_progress_result)
            .chain(ru.progress_result.iter().flatten());
        out.extend(results.flat_map(|r| [r.start_ts, r.modified_ts]));
    }
    out.extend(command.target_updates.iter().flat_map(|t| [t.start_ts, t.modified_ts]));
    out.iter().map(ToString::to_string).collect()
}

async fn compare(
    store: &Arc<DynCommandStore>,
    p: &mut Persister,
    model: &ReferenceModel,
    id: &str,
    property: Property,
    step: usize,
) -> Result<(), TestCaseError> {
    let loaded = p.load(id).await.ok();
    match property {
        Property::MatchesModel | Property::CacheTransparency => {
            prop_assert_eq!(loaded.as_ref(), model.load(id), "state after step {}", step);
            // Equal timestamps denote equal instants; their encodings also compare offsets.
            prop_assert_eq!(
                loaded.as_ref().map(encoded_times),
                model.load(id).map(encoded_times),
                "timestamps after step {}",
                step
            );
        }
        Property::RestartEquivalence => {
            let fresh = Persister::new(store.clone()).load(id).await.ok();
            prop_assert_eq!(&fresh, &loaded, "fresh persister after step {}", step);
        }
        Property::NoPlaintextAtRest => {
            let stored = store.load(id).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let texts: Vec<String> =
                stored.iter().flat_map(|s| s.texts().map(str::to_owned)).collect();
            if model.load(id).is_none() {
                prop_assert!(stored.is_none(), "a deleted command is gone (step {})", step);
            }
            for text in &texts {
                let write_time = [format!("{SECRET_MARK}-p"), format!("{SECRET_MARK}-c")];
                prop_assert!(
                    !write_time.iter().any(|m| text.contains(m.as_str())),
                    "progress and completion values are hashed when written (step {})",
                    step
                );
                if model.is_finalized(id) {
                    prop_assert!(
                        !text.contains(SECRET_MARK),
                        "plaintext after finalization (step {}): {}",
                        step,
                        text
                    );
                }
            }
        }
    }
    Ok(())
}
