//! The flood: many commands, one task per resource, every call at once, through the
//! [`PersisterHandle`] with group commit on and then off.

use std::time::{Duration, Instant};

use persister_core::{HandleConfig, Persister, PersisterHandle};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::measure::Latencies;
use super::place::Place;
use super::{BenchError, BenchOptions};
use crate::workload::{Message, Workload, command};

mod report;

/// The figures of one flood run.
#[derive(Debug)]
pub struct FloodRun {
    /// Calls made.
    pub calls: usize,
    /// Calls that took longer than 5 s (or failed).
    pub calls_over_5s: usize,
    /// Calls that failed, and the first failure's error.
    pub failed: (usize, Option<String>),
    /// Per-call latencies.
    pub latencies: Latencies,
    /// Wall time.
    pub wall: Duration,
    /// Messages per store transaction.
    pub avg_batch: f64,
    /// Latencies of listing 100 commands through the handle, repeated while the flood runs,
    /// from a task of the flood's own runtime (which queues behind the flood's tasks).
    pub list: Latencies,
    /// The same listing from a thread of its own, as another process (`forma-persister list`,
    /// a dashboard) would list.
    pub list_apart: Latencies,
}

impl FloodRun {
    fn msgs_per_s(&self) -> f64 {
        let calls = f64::from(u32::try_from(self.calls).unwrap_or(u32::MAX));
        calls / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Flood results with group commit on and off.
#[derive(Debug)]
pub struct FloodResult {
    /// Commands in the flood.
    pub commands: usize,
    /// Group commit on.
    pub on: FloodRun,
    /// Group commit off.
    pub off: FloodRun,
    /// Group commit on, over a store that also holds old finished commands, without and
    /// with retention purging them during the flood.
    pub retention: RetentionResult,
}

/// The flood over a store holding `finished` old finished commands, without retention and
/// with retention deleting them while the flood runs.
#[derive(Debug)]
pub struct RetentionResult {
    /// Old finished commands stored before each run.
    pub finished: usize,
    /// Retention off.
    pub without: FloodRun,
    /// Retention on (every finished command is past it).
    pub with: FloodRun,
    /// Finished commands the purge deleted while the flood ran.
    pub purged: usize,
}

/// Runs the flood twice (group commit on, then off), each on a fresh store of `place`.
pub(super) async fn run_flood(
    options: &BenchOptions,
    place: &mut Place,
) -> Result<FloodResult, BenchError> {
    let commands = if options.quick { 5 } else { 50 };
    let mut rng = StdRng::seed_from_u64(options.seed);
    let workload_commands: Vec<_> =
        (0..commands).map(|i| command(&mut rng, "FL", i, 196)).collect();
    let on = run_once(place, &workload_commands, Setup::group_commit(true)).await?.0;
    let off = run_once(place, &workload_commands, Setup::group_commit(false)).await?.0;
    let finished = if options.quick { 1_000 } else { 10_000 };
    let old = finished_commands(&mut rng, finished);
    let without = Setup { group_commit: true, finished: &old, retention: false };
    let without = run_once(place, &workload_commands, without).await?.0;
    let with = Setup { group_commit: true, finished: &old, retention: true };
    let (with, left) = run_once(place, &workload_commands, with).await?;
    let retention = RetentionResult { finished, without, with, purged: finished - left };
    Ok(FloodResult { commands, on, off, retention })
}

/// How one flood run is set up.
#[derive(Clone, Copy, Debug)]
struct Setup<'a> {
    group_commit: bool,
    /// Old finished commands stored before the flood.
    finished: &'a [persister_core::FormaCommand],
    /// Whether the handle's retention deletes them during the flood.
    retention: bool,
}

impl Setup<'_> {
    fn group_commit(on: bool) -> Self {
        Setup { group_commit: on, finished: &[], retention: false }
    }
}

/// How long before the flood's commands the old finished commands were last modified.
const OLD_AGE: time::Duration = time::Duration::days(365);

/// `n` small commands (5 resource updates) that finished [`OLD_AGE`] before the flood's
/// commands started.
fn finished_commands(rng: &mut StdRng, n: usize) -> Vec<persister_core::FormaCommand> {
    (0..n)
        .map(|i| {
            let mut c = command(rng, "OLD", i, 5);
            c.start_ts = persister_core::Timestamp::from_datetime(c.start_ts.datetime() - OLD_AGE);
            c.modified_ts = c.start_ts;
            c.state = persister_core::CommandState::Success;
            for ru in &mut c.resource_updates {
                ru.state = persister_core::ResourceUpdateState::Success;
            }
            c
        })
        .collect()
}

/// Runs one flood; returns its figures and how many of the old finished commands are left.
async fn run_once(
    place: &mut Place,
    commands: &[persister_core::FormaCommand],
    setup: Setup<'_>,
) -> Result<(FloodRun, usize), BenchError> {
    let store = place
        .store(&format!(
            "flood-{}-{}-{}",
            setup.group_commit,
            setup.finished.len(),
            setup.retention
        ))
        .await?;
    // Every old command is sent at once: the last ones wait for all the others.
    let prefill_config = HandleConfig::default().call_timeout(Duration::from_secs(600));
    let prefill = PersisterHandle::spawn(Persister::new(store.clone()), prefill_config).0;
    let stored: Vec<_> = setup
        .finished
        .iter()
        .map(|c| {
            let handle = prefill.clone();
            let c = c.clone();
            tokio::spawn(async move { handle.store_new(c).await })
        })
        .collect();
    for s in stored {
        s.await.map_err(|e| BenchError::Unsupported(e.to_string()))??;
    }
    prefill.shutdown().await?;
    // A retention that every old command is past and none of the flood's commands is: they
    // are stamped like the workloads', half of `OLD_AGE` after the cut. A shorter one would
    // also purge a flood command the moment it turns final, before its last completions.
    let retain = setup.retention.then(|| {
        let cut = commands.first().map(|c| c.start_ts.datetime() - OLD_AGE / 2);
        let age = cut.map_or(time::Duration::ZERO, |cut| time::OffsetDateTime::now_utc() - cut);
        Duration::try_from(age).unwrap_or(Duration::ZERO)
    });
    let config = HandleConfig::default()
        .group_commit(setup.group_commit)
        .call_timeout(Duration::from_secs(600))
        .retain_finished_for(retain)
        .dedicated_thread(place.store_blocks());
    let (handle, task) = PersisterHandle::spawn(Persister::new(store.clone()), config);
    for c in commands {
        handle.store_new(c.clone()).await?;
    }
    let before = handle.stats().await?.transactions;
    // One task per resource: five progress reports, then the completion, each awaited.
    let workload = Workload { name: "flood", commands: commands.to_vec(), messages: Vec::new() };
    let per_resource = per_resource_messages(&workload);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(per_resource.len());
    for messages in per_resource {
        let handle = handle.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(messages.len());
            for m in messages {
                let t = Instant::now();
                let result = match m {
                    Message::Progress(p) => handle.update_progress(p).await,
                    Message::Complete(c) => handle.complete(c).await,
                };
                out.push((t.elapsed(), result.err().map(|e| e.to_string())));
            }
            out
        }));
    }
    // A listing of the newest 100 commands every 20 ms while the flood runs, as an operator's
    // `forma-persister list` or a dashboard would.
    let lister = {
        let handle = handle.clone();
        let filter = persister_core::ListFilter::all().limit(100);
        tokio::spawn(async move {
            let mut list = Latencies::default();
            loop {
                let t = Instant::now();
                if handle.list(filter.clone()).await.is_err() {
                    return list;
                }
                list.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let apart = {
        let handle = handle.clone();
        std::thread::spawn(move || list_apart(&handle))
    };
    let mut latencies = Latencies::default();
    let (mut over, mut failed) = (0, (0, None));
    for t in tasks {
        for (d, error) in t.await.unwrap_or_default() {
            if error.is_some() || d > Duration::from_secs(5) {
                over += 1;
            }
            if let Some(error) = error {
                failed.0 += 1;
                failed.1.get_or_insert(error);
            }
            latencies.push(d);
        }
    }
    let wall = started.elapsed();
    let transactions = handle.stats().await?.transactions - before;
    handle.shutdown().await?;
    let _ = task.await;
    let list = lister.await.unwrap_or_default();
    let list_apart = apart.join().unwrap_or_default();
    let left = old_commands_left(&store).await?;
    let calls = latencies.len();
    let avg_batch = f64::from(u32::try_from(calls).unwrap_or(u32::MAX))
        / f64::from(u32::try_from(transactions.max(1)).unwrap_or(u32::MAX));
    Ok((
        FloodRun {
            calls,
            calls_over_5s: over,
            failed,
            latencies,
            wall,
            avg_batch,
            list,
            list_apart,
        },
        left,
    ))
}

/// Lists the newest 100 commands every 20 ms from this thread, on a runtime of its own, until
/// the handle shuts down.
fn list_apart(handle: &PersisterHandle) -> Latencies {
    let mut list = Latencies::default();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return list;
    };
    let filter = persister_core::ListFilter::all().limit(100);
    runtime.block_on(async {
        loop {
            let t = Instant::now();
            if handle.list(filter.clone()).await.is_err() {
                return;
            }
            list.push(t.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    list
}

/// How many of the old finished commands (ids starting `OLD`) `store` still holds.
async fn old_commands_left(
    store: &std::sync::Arc<persister_core::DynCommandStore>,
) -> Result<usize, BenchError> {
    let mut left = 0;
    let mut after = None;
    loop {
        let mut filter = persister_core::ListFilter::all().limit(1000);
        if let Some(cursor) = after.take() {
            filter = filter.after(cursor);
        }
        let page = store.list_summaries(&filter).await?;
        left += page.summaries.iter().filter(|s| s.id.starts_with("OLD")).count();
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(left),
        }
    }
}

/// The W1-style messages of every resource, grouped per resource in order.
fn per_resource_messages(workload: &Workload) -> Vec<Vec<Message>> {
    let mut rng = StdRng::seed_from_u64(3);
    let mut out = Vec::new();
    for c in &workload.commands {
        for position in 0..c.resource_updates.len() {
            out.push(
                (0..6)
                    .map(|step| crate::workload::message_for(&mut rng, c, position, step))
                    .collect(),
            );
        }
    }
    out
}
