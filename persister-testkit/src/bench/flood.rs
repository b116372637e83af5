//! The flood: many commands, one task per resource, every call at once, through the
//! [`PersisterHandle`] with group commit on and then off.

use std::time::{Duration, Instant};

use persister_core::{HandleConfig, Persister, PersisterHandle};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::measure::Latencies;
use super::place::Place;
use super::{BenchError, BenchOptions};
use crate::workload::{Message, Workload, command};

/// The figures of one flood run.
#[derive(Debug)]
pub struct FloodRun {
    /// Calls made.
    pub calls: usize,
    /// Calls that took longer than 5 s (or failed).
    pub calls_over_5s: usize,
    /// Per-call latencies.
    pub latencies: Latencies,
    /// Wall time.
    pub wall: Duration,
    /// Messages per store transaction.
    pub avg_batch: f64,
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
}

impl FloodResult {
    /// The report's `flood` object.
    pub fn json(&self) -> Value {
        json!({
            "commands": self.commands,
            "calls": self.on.calls,
            "calls_over_5s": self.on.calls_over_5s,
            "p50_us": self.on.latencies.quantile_us(500).round(),
            "p99_us": self.on.latencies.quantile_us(990).round(),
            "max_us": self.on.latencies.max_us().round(),
            "msgs_per_s": self.on.msgs_per_s().round(),
            "avg_batch": (self.on.avg_batch * 100.0).round() / 100.0,
            "msgs_per_s_without_group_commit": self.off.msgs_per_s().round(),
            "calls_over_5s_without_group_commit": self.off.calls_over_5s,
            "p99_us_without_group_commit": self.off.latencies.quantile_us(990).round(),
            "group_commit_ratio": ((self.on.msgs_per_s() / self.off.msgs_per_s().max(1e-9)) * 100.0).round() / 100.0,
        })
    }

    /// The flood as table lines.
    pub fn table(&self) -> String {
        let line = |name: &str, r: &FloodRun| {
            format!(
                "  {name:<18} {:>9.0} {:>9.0} {:>9.0} {:>10.0} {:>9.1} {:>8} {:>8}\n",
                r.msgs_per_s(),
                r.latencies.quantile_us(500),
                r.latencies.quantile_us(990),
                r.latencies.max_us(),
                r.avg_batch,
                r.calls,
                r.calls_over_5s
            )
        };
        format!(
            "\nflood: {} commands of 196 resources, one task per resource, {} calls at once\n  {:<18} {:>9} {:>9} {:>9} {:>10} {:>9} {:>8} {:>8}\n{}{}  ratio group commit on/off: {:.1}x\n",
            self.commands,
            self.on.calls,
            "mode",
            "msgs/s",
            "p50 us",
            "p99 us",
            "max us",
            "avg batch",
            "calls",
            "over 5s",
            line("group commit on", &self.on),
            line("group commit off", &self.off),
            self.on.msgs_per_s() / self.off.msgs_per_s().max(1e-9)
        )
    }
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
    let on = run_once(place, &workload_commands, true).await?;
    let off = run_once(place, &workload_commands, false).await?;
    Ok(FloodResult { commands, on, off })
}

async fn run_once(
    place: &mut Place,
    commands: &[persister_core::FormaCommand],
    group_commit: bool,
) -> Result<FloodRun, BenchError> {
    let store = place.store(&format!("flood-{group_commit}")).await?;
    let config =
        HandleConfig::default().group_commit(group_commit).call_timeout(Duration::from_secs(600));
    let (handle, task) = PersisterHandle::spawn(Persister::new(store), config);
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
                let ok = match m {
                    Message::Progress(p) => handle.update_progress(p).await.is_ok(),
                    Message::Complete(c) => handle.complete(c).await.is_ok(),
                };
                out.push((t.elapsed(), ok));
            }
            out
        }));
    }
    let mut latencies = Latencies::default();
    let mut over = 0;
    for t in tasks {
        for (d, ok) in t.await.unwrap_or_default() {
            if !ok || d > Duration::from_secs(5) {
                over += 1;
            }
            latencies.push(d);
        }
    }
    let wall = started.elapsed();
    let transactions = handle.stats().await?.transactions - before;
    handle.shutdown().await?;
    let _ = task.await;
    let calls = latencies.len();
    let avg_batch = f64::from(u32::try_from(calls).unwrap_or(u32::MAX))
        / f64::from(u32::try_from(transactions.max(1)).unwrap_or(u32::MAX));
    Ok(FloodRun { calls, calls_over_5s: over, latencies, wall, avg_batch })
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
