//! Running the designs and collecting their figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use persister_core::{Persister, Timestamp};
use persister_sqlite::{SqliteConfig, SqliteStore};

use super::docstore::DocStore;
use super::floor::Floor;
use super::measure::{Latencies, process_cpu, reset_peak_rss, status_bytes};
use super::recording::{RecordingStore, Write};
use super::report::{DesignResult, Memory, Report, WorkloadResult};
use super::{Backend, BenchError, BenchOptions, Durability, WorkloadKind};
use crate::workload::Workload;

/// Messages each design replays: (ours and floor, seed, naive).
fn limits(kind: WorkloadKind, quick: bool) -> (usize, usize, usize) {
    match (kind, quick) {
        (WorkloadKind::W1, false) => (usize::MAX, usize::MAX, usize::MAX),
        (WorkloadKind::W1, true) => (usize::MAX, 300, 150),
        (WorkloadKind::W2, false) => (usize::MAX, 3000, 1500),
        (WorkloadKind::W2, true) => (3000, 400, 200),
        (WorkloadKind::W3, false) => (usize::MAX, 150, 60),
        (WorkloadKind::W3, true) => (2000, 30, 15),
        (WorkloadKind::Flood, _) => (0, 0, 0),
    }
}

/// Runs the benchmark and returns its report.
///
/// # Errors
/// Any failure of a design; the run stops there.
pub async fn run(options: &BenchOptions) -> Result<Report, BenchError> {
    if options.backend == Backend::Postgres {
        return Err(BenchError::Unsupported(
            "the PostgreSQL benchmark is not built yet; use --backend sqlite".into(),
        ));
    }
    let dir = options.dir.join(format!("persister-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut report = Report::new("sqlite", options.durability.name(), options.quick);
    for &kind in &options.workloads {
        let workload = match kind {
            WorkloadKind::W1 => Workload::w1(options.seed),
            WorkloadKind::W2 => Workload::w2(options.seed),
            WorkloadKind::W3 => Workload::w3(options.seed),
            WorkloadKind::Flood => {
                let result = super::flood::run_flood(options, &dir).await;
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir)?;
                report.flood = Some(result?);
                continue;
            }
        };
        let result = run_workload(&workload, kind, options, &dir).await;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        report.workloads.push(result?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    report.peak_rss_bytes = status_bytes("VmHWM");
    Ok(report)
}

async fn run_workload(
    workload: &Workload,
    kind: WorkloadKind,
    options: &BenchOptions,
    dir: &std::path::Path,
) -> Result<WorkloadResult, BenchError> {
    let (ours_n, seed_n, naive_n) = limits(kind, options.quick);
    let n = workload.messages.len();
    let mut result = WorkloadResult::new(workload, n);
    let sync = options.durability.pragma();
    let now = Timestamp::now();

    let path = dir.join(format!("{}-ours.db", workload.name));
    let (ours, writes, memory) = run_ours(workload, ours_n.min(n), &path, options).await?;
    result.designs.push(("ours", ours));
    if kind == WorkloadKind::W2 {
        result.memory = Some(memory);
    }

    if options.runs("floor") {
        let path = dir.join(format!("{}-floor.db", workload.name));
        let floor = run_floor(workload, &writes, ours_n.min(n), &path, options).await?;
        result.designs.push(("floor", floor));
    }
    drop(writes);

    for (name, cached, limit) in [("seed", true, seed_n), ("naive", false, naive_n)] {
        if !options.runs(name) {
            continue;
        }
        let path = dir.join(format!("{}-{name}.db", workload.name));
        let mut store = DocStore::open(&path, sync, cached, now)?;
        for c in &workload.commands {
            store.store(c)?;
        }
        let messages = &workload.messages[..limit.min(n)];
        let bar = bar(options, workload.name, name, messages.len());
        let start = Start::now();
        let mut latencies = Latencies::default();
        let mut bytes = 0;
        for m in messages {
            let t = Instant::now();
            bytes += store.apply(m.clone())?;
            latencies.push(t.elapsed());
            bar.inc(1);
        }
        bar.finish_and_clear();
        result.designs.push((name, start.finish(latencies, bytes)));
    }
    Ok(result)
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

async fn run_ours(
    workload: &Workload,
    limit: usize,
    path: &std::path::Path,
    options: &BenchOptions,
) -> Result<(DesignResult, Vec<Write>, Memory), BenchError> {
    let durability = match options.durability {
        Durability::Full => persister_sqlite::Durability::Full,
        Durability::Normal => persister_sqlite::Durability::Normal,
    };
    let sqlite = SqliteStore::open(SqliteConfig::file(path).durability(durability)).await?;
    let recording = Arc::new(RecordingStore::new(Arc::new(sqlite)));
    let mut persister = Persister::new(recording.clone());
    let rss_before = status_bytes("VmRSS");
    for c in &workload.commands {
        persister.store_new(c.clone()).await?;
    }
    let memory = Memory {
        cache_rss_bytes: status_bytes("VmRSS").saturating_sub(rss_before),
        cache_json_bytes: persister.stats().cache.bytes,
        json_bytes: u64::try_from(workload.json_bytes()).unwrap_or(u64::MAX),
    };
    let mut writes = recording.take();
    let messages = &workload.messages[..limit];
    let bar = bar(options, workload.name, "ours", messages.len());
    let start = Start::now();
    let mut latencies = Latencies::default();
    for m in messages {
        let t = Instant::now();
        m.clone().send(&mut persister).await?;
        latencies.push(t.elapsed());
        bar.inc(1);
    }
    bar.finish_and_clear();
    let message_writes = recording.take();
    let bytes = message_writes.iter().map(Write::bytes).sum();
    writes.extend(message_writes);
    Ok((start.finish(latencies, bytes), writes, memory))
}

async fn run_floor(
    workload: &Workload,
    writes: &[Write],
    messages: usize,
    path: &std::path::Path,
    options: &BenchOptions,
) -> Result<DesignResult, BenchError> {
    // The backend creates the schema; the floor then writes with plain SQL.
    drop(SqliteStore::open(SqliteConfig::file(path)).await?);
    let mut floor = Floor::open(path, options.durability.pragma())?;
    let inserts = writes.iter().take_while(|w| matches!(w, Write::Insert(_))).count();
    for w in &writes[..inserts] {
        floor.replay(w)?;
    }
    let rest = &writes[inserts..];
    let bar = bar(options, workload.name, "floor", rest.len());
    let start = Start::now();
    let mut latencies = Latencies::default();
    for w in rest {
        let t = Instant::now();
        floor.replay(w)?;
        latencies.push(t.elapsed());
        bar.inc(1);
    }
    bar.finish_and_clear();
    let bytes = rest.iter().map(Write::bytes).sum();
    let mut result = start.finish(latencies, bytes);
    // Rates are per message: messages that wrote nothing cost the floor nothing.
    result.messages = messages;
    Ok(result)
}
