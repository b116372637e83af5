//! Running the designs and collecting their figures, the same way on every backend: a
//! [`Place`] opens each design's storage, [`timed`] replays and times its messages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use persister_core::{Persister, Timestamp};

use super::measure::{Latencies, process_cpu, reset_peak_rss, status_bytes};
use super::place::{Documents, FloorDb, Place};
use super::recording::{RecordingStore, Write};
use super::report::{BytesByKind, DesignResult, Memory, Report, WorkloadResult};
use super::{Backend, BenchError, BenchOptions, WorkloadKind};
use crate::workload::{Message, Workload};

/// Messages each design replays: (ours and floor, seed, naive).
fn limits(kind: WorkloadKind, options: &BenchOptions) -> (usize, usize, usize) {
    let (ours, seed, naive) = match (kind, options.quick) {
        (WorkloadKind::W1, false) => (usize::MAX, usize::MAX, usize::MAX),
        (WorkloadKind::W1, true) => (usize::MAX, 300, 150),
        (WorkloadKind::W2, false) => (usize::MAX, 3000, 1500),
        (WorkloadKind::W2, true) => (3000, 400, 200),
        (WorkloadKind::W3, false) => (usize::MAX, 150, 60),
        (WorkloadKind::W3, true) => (2000, 30, 15),
        (WorkloadKind::Flood, _) => (0, 0, 0),
    };
    // A PostgreSQL round trip costs more than a SQLite call, and the baselines make several
    // per message with whole documents: a third of their quick streams keeps `--quick` short.
    match (options.backend, options.quick) {
        (Backend::Postgres, true) => (ours, seed / 3, naive / 3),
        _ => (ours, seed, naive),
    }
}

/// Runs the benchmark and returns its report.
///
/// # Errors
/// Any failure of a design; the run stops there (after deleting the workload's databases).
pub async fn run(options: &BenchOptions) -> Result<Report, BenchError> {
    let mut place = Place::new(options);
    let mut report = Report::new(options.backend.name(), options.durability.name(), options.quick);
    for &kind in &options.workloads {
        let workload = match kind {
            WorkloadKind::W1 => Workload::w1(options.seed),
            WorkloadKind::W2 => Workload::w2(options.seed),
            WorkloadKind::W3 => Workload::w3(options.seed),
            WorkloadKind::Flood => {
                let result = super::flood::run_flood(options, &mut place).await;
                let cleared = place.clear().await;
                report.flood = Some(result?);
                cleared?;
                continue;
            }
        };
        let result = run_workload(&workload, kind, options, &mut place).await;
        let cleared = place.clear().await;
        report.workloads.push(result?);
        cleared?;
    }
    report.peak_rss_bytes = status_bytes("VmHWM");
    Ok(report)
}

async fn run_workload(
    workload: &Workload,
    kind: WorkloadKind,
    options: &BenchOptions,
    place: &mut Place,
) -> Result<WorkloadResult, BenchError> {
    let (ours_n, seed_n, naive_n) = limits(kind, options);
    let n = workload.messages.len();
    let name = workload.name;
    let mut result = WorkloadResult::new(workload, n);
    let now = Timestamp::now();

    let (ours, writes, memory, by_kind) = run_ours(workload, ours_n.min(n), place, options).await?;
    result.designs.push(("ours", ours));
    result.bytes_by_kind = Some(by_kind);
    if kind == WorkloadKind::W2 {
        result.memory = Some(memory);
    }

    if options.runs("floor") {
        let whole = super::recording::whole_rows(&writes)?;
        for (design, writes) in [("floor", &writes), ("floor-whole", &whole)] {
            let mut floor = place.floor(&format!("{name}-{design}")).await?;
            let inserts = writes.iter().take_while(|w| matches!(w, Write::Insert(_))).count();
            for w in &writes[..inserts] {
                floor.replay(w).await?;
            }
            let replays: Vec<&Write> = writes[inserts..].iter().collect();
            let mut figures = timed(options, name, design, replays, &mut floor).await?;
            // Rates are per message: messages that wrote nothing cost the floor nothing.
            figures.messages = ours_n.min(n);
            result.designs.push((design, figures));
        }
    }
    drop(writes);

    for (design, cached, limit) in [("seed", true, seed_n), ("naive", false, naive_n)] {
        if !options.runs(design) {
            continue;
        }
        let mut docs = place.documents(&format!("{name}-{design}"), cached, now).await?;
        for c in &workload.commands {
            docs.store(c).await?;
        }
        let messages = workload.messages[..limit.min(n)].to_vec();
        result.designs.push((design, timed(options, name, design, messages, &mut docs).await?));
    }
    Ok(result)
}

/// `ours`: the persister over the backend's store, recording its writes for `floor`.
async fn run_ours(
    workload: &Workload,
    limit: usize,
    place: &mut Place,
    options: &BenchOptions,
) -> Result<(DesignResult, Vec<Write>, Memory, BytesByKind), BenchError> {
    let store = place.store(&format!("{}-ours", workload.name)).await?;
    let mut persister = Persister::new(store);
    let rss_before = status_bytes("VmRSS");
    for c in &workload.commands {
        persister.store_new(c.clone()).await?;
    }
    let memory = Memory {
        cache_rss_bytes: status_bytes("VmRSS").saturating_sub(rss_before),
        cache_heap_bytes: cache_heap(workload, options).await?,
        cache_json_bytes: persister.stats().cache.bytes,
        json_bytes: u64::try_from(workload.json_bytes()).unwrap_or(u64::MAX),
    };
    let messages = &workload.messages[..limit];
    // This thread runs only the benchmark, as the floor's SQL runs on it: it may block, so a
    // store that blocks (SQLite) runs each call right here, with no hop to its own thread.
    let replay = timed(options, workload.name, "ours", messages.to_vec(), &mut persister);
    let mut figures = if place.store_blocks() {
        persister_core::blocking::allowing_blocking(replay).await?
    } else {
        replay.await?
    };
    drop(persister);
    // The writes ours made, for the floor and the byte count: the persister's writes do not
    // depend on the store, so an untimed second run over a recording in-memory store makes
    // the same ones, and the timed run pays nothing for recording them.
    let recording = Arc::new(RecordingStore::new(Arc::new(persister_core::MemoryStore::new())));
    let mut twin = Persister::new(recording.clone());
    for c in &workload.commands {
        twin.store_new(c.clone()).await?;
    }
    let mut writes = recording.take();
    let mut by_kind = BytesByKind::default();
    for m in messages {
        let progress = matches!(m, Message::Progress(_));
        m.clone().send(&mut twin).await?;
        let message_writes = recording.take();
        let bytes: usize = message_writes.iter().map(Write::bytes).sum();
        by_kind.add(progress, bytes);
        figures.bytes += bytes;
        writes.extend(message_writes);
    }
    Ok((figures, writes, memory, by_kind))
}

/// One step of a design: replays one item (a message, or a write for `floor`).
trait Step<T> {
    /// Replays `item`; returns the bytes it wrote, as far as the design knows them.
    fn step(&mut self, item: T) -> impl Future<Output = Result<usize, BenchError>> + Send;
}

impl Step<Message> for Persister {
    async fn step(&mut self, message: Message) -> Result<usize, BenchError> {
        // The recording store counts the bytes.
        message.send(self).await?;
        Ok(0)
    }
}

impl Step<&Write> for FloorDb {
    async fn step(&mut self, write: &Write) -> Result<usize, BenchError> {
        self.replay(write).await?;
        Ok(write.bytes())
    }
}

impl Step<Message> for Documents {
    async fn step(&mut self, message: Message) -> Result<usize, BenchError> {
        self.apply(message).await
    }
}

/// Replays `items` through `design` one at a time, timing each, behind a progress bar. The
/// items are owned before the clock starts, so no design pays for copying its input.
async fn timed<T: Send, S: Step<T> + Send>(
    options: &BenchOptions,
    workload: &str,
    design: &str,
    items: Vec<T>,
    state: &mut S,
) -> Result<DesignResult, BenchError> {
    let bar = bar(options, workload, design, items.len());
    let start = Start::now();
    let mut latencies = Latencies::default();
    let mut bytes = 0;
    for item in items {
        let t = Instant::now();
        bytes += state.step(item).await?;
        latencies.push(t.elapsed());
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(start.finish(latencies, bytes))
}

/// Wall clock, CPU and peak memory from the start of a design's timed part.
struct Start {
    wall: Instant,
    cpu: Duration,
}

impl Start {
    fn now() -> Self {
        reset_peak_rss();
        Self { wall: Instant::now(), cpu: process_cpu() }
    }

    fn finish(self, latencies: Latencies, bytes: usize) -> DesignResult {
        DesignResult {
            messages: latencies.len(),
            wall: self.wall.elapsed(),
            cpu: process_cpu().saturating_sub(self.cpu),
            bytes,
            peak_rss: status_bytes("VmHWM"),
            latencies,
        }
    }
}

fn bar(options: &BenchOptions, workload: &str, design: &str, len: usize) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::try_from(len).unwrap_or(u64::MAX));
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>10} {bar:40} {pos}/{len} msgs {per_sec}")
    {
        bar.set_style(style);
    }
    bar.set_prefix(format!("{workload} {design}"));
    bar
}

/// Heap bytes a cache of every command of `workload` holds, counted by the binary's allocator
/// over a store that keeps nothing (so the cache is the only copy); 0 when not counted.
async fn cache_heap(workload: &Workload, options: &BenchOptions) -> Result<u64, BenchError> {
    let Some(heap) = options.heap_bytes else { return Ok(0) };
    let before = heap();
    // The cache's copies: cloned here, moved into the cache by store_new.
    let commands = workload.commands.clone();
    let mut persister = Persister::new(Arc::new(super::recording::SinkStore));
    for c in commands {
        persister.store_new(c).await?;
    }
    let held = heap().saturating_sub(before);
    drop(persister);
    Ok(u64::try_from(held).unwrap_or(u64::MAX))
}
