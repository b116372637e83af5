//! The benchmark report: a table for people, JSON for tools.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use super::measure::Latencies;
use crate::workload::Workload;

/// The figures of one design on one workload.
#[derive(Debug)]
pub struct DesignResult {
    /// Messages replayed.
    pub messages: usize,
    /// Wall time of the timed part.
    pub wall: Duration,
    /// Process CPU time of the timed part.
    pub cpu: Duration,
    /// Bytes of rows written by the messages.
    pub bytes: usize,
    /// Peak resident memory of the process during the design.
    pub peak_rss: u64,
    /// Per-message (per-write for `floor`) latencies.
    pub latencies: Latencies,
}

fn per(total: f64, n: usize) -> f64 {
    if n == 0 { 0.0 } else { total / f64::from(u32::try_from(n).unwrap_or(u32::MAX)) }
}

impl DesignResult {
    /// Messages per second.
    pub fn msgs_per_s(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs == 0.0 {
            0.0
        } else {
            per(1.0, 1) * f64::from(u32::try_from(self.messages).unwrap_or(u32::MAX)) / secs
        }
    }

    /// CPU microseconds per message.
    pub fn cpu_us_per_msg(&self) -> f64 {
        per(self.cpu.as_secs_f64() * 1e6, self.messages)
    }

    /// Bytes written per message.
    pub fn bytes_per_msg(&self) -> f64 {
        per(f64::from(u32::try_from(self.bytes).unwrap_or(u32::MAX)), self.messages)
    }

    fn json(&self) -> Value {
        json!({
            "msgs_per_s": round(self.msgs_per_s()),
            "p50_us": round(self.latencies.quantile_us(500)),
            "p99_us": round(self.latencies.quantile_us(990)),
            "max_us": round(self.latencies.max_us()),
            "cpu_us_per_msg": round(self.cpu_us_per_msg()),
            "bytes_per_msg": round(self.bytes_per_msg()),
            "messages": self.messages,
            "peak_rss_bytes": self.peak_rss,
        })
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Cache memory on W2.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident memory added by caching every W2 command (RSS before and after storing them).
    pub cache_rss_bytes: u64,
    /// Heap bytes held by a cache of every W2 command (counted allocations; 0 if not counted).
    pub cache_heap_bytes: u64,
    /// The cache's own count: JSON bytes of the cached commands' rows.
    pub cache_json_bytes: u64,
    /// JSON size of the commands as the Go agent encodes them.
    pub json_bytes: u64,
}

/// The bytes `ours` wrote per message, by kind of message (JSON plus key columns, as
/// [`DesignResult::bytes`] counts them).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesByKind {
    /// Progress reports replayed.
    pub progress: usize,
    /// Bytes their writes carried.
    pub progress_bytes: usize,
    /// Completions replayed.
    pub completions: usize,
    /// Bytes their writes carried (finalizations included).
    pub completion_bytes: usize,
}

impl BytesByKind {
    /// Counts one message's `bytes`.
    pub fn add(&mut self, progress: bool, bytes: usize) {
        if progress {
            self.progress += 1;
            self.progress_bytes += bytes;
        } else {
            self.completions += 1;
            self.completion_bytes += bytes;
        }
    }

    /// Bytes per progress report.
    pub fn per_progress(&self) -> f64 {
        per(self.progress_bytes as f64, self.progress)
    }

    /// Bytes per completion.
    pub fn per_completion(&self) -> f64 {
        per(self.completion_bytes as f64, self.completions)
    }
}

/// The results of one workload.
#[derive(Debug)]
pub struct WorkloadResult {
    /// W1, W2 or W3.
    pub name: &'static str,
    /// Commands in the workload.
    pub commands: usize,
    /// Resource updates in all commands.
    pub resource_updates: usize,
    /// JSON size of the commands.
    pub json_bytes: usize,
    /// Messages in the full stream.
    pub messages: usize,
    /// Results by design, in run order.
    pub designs: Vec<(&'static str, DesignResult)>,
    /// W2 only: cache memory.
    pub memory: Option<Memory>,
    /// The bytes `ours` wrote per progress report and per completion.
    pub bytes_by_kind: Option<BytesByKind>,
}

impl WorkloadResult {
    /// An empty result for `workload`.
    pub fn new(workload: &Workload, messages: usize) -> Self {
        Self {
            name: workload.name,
            commands: workload.commands.len(),
            resource_updates: workload.commands.iter().map(|c| c.resource_updates.len()).sum(),
            json_bytes: workload.json_bytes(),
            messages,
            designs: Vec::new(),
            memory: None,
            bytes_by_kind: None,
        }
    }

    /// The result of `design`.
    pub fn design(&self, design: &str) -> Option<&DesignResult> {
        self.designs.iter().find(|(n, _)| *n == design).map(|(_, r)| r)
    }

    /// Throughput of `ours` divided by that of `other`.
    pub fn ratio(&self, other: &str) -> f64 {
        match (self.design("ours"), self.design(other)) {
            (Some(o), Some(b)) if b.msgs_per_s() > 0.0 => o.msgs_per_s() / b.msgs_per_s(),
            _ => 0.0,
        }
    }
}

/// A whole run.
#[derive(Debug)]
pub struct Report {
    /// The backend.
    pub backend: &'static str,
    /// The durability.
    pub durability: &'static str,
    /// Whether message streams were shortened.
    pub quick: bool,
    /// Per workload.
    pub workloads: Vec<WorkloadResult>,
    /// Peak resident memory of the whole run.
    pub peak_rss_bytes: u64,
    /// The flood, when run.
    pub flood: Option<super::flood::FloodResult>,
}

impl Report {
    /// An empty report.
    pub fn new(backend: &'static str, durability: &'static str, quick: bool) -> Self {
        Self { backend, durability, quick, workloads: Vec::new(), peak_rss_bytes: 0, flood: None }
    }

    fn workload(&self, name: &str) -> Option<&WorkloadResult> {
        self.workloads.iter().find(|w| w.name == name)
    }

    /// CPU per message of `ours` on W3 divided by that on W1 (1.0 means independent of size).
    pub fn w3_vs_w1_cpu_per_msg(&self) -> Option<f64> {
        let cpu = |w: &str| self.workload(w)?.design("ours").map(DesignResult::cpu_us_per_msg);
        let (w1, w3) = (cpu("W1")?, cpu("W3")?);
        (w1 > 0.0).then(|| w3 / w1)
    }

    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "backend {}, durability {}{}",
            self.backend,
            self.durability,
            if self.quick { ", quick" } else { "" }
        );
        for w in &self.workloads {
            let _ = writeln!(
                out,
                "\n{}: {} command(s), {} resource updates, {:.2} MB of JSON, {} messages",
                w.name,
                w.commands,
                w.resource_updates,
                w.json_bytes as f64 / 1e6,
                w.messages
            );
            let _ = writeln!(
                out,
                "  {:<11} {:>9} {:>9} {:>9} {:>10} {:>11} {:>11} {:>9} {:>8}",
                "design",
                "msgs/s",
                "p50 us",
                "p99 us",
                "max us",
                "cpu us/msg",
                "bytes/msg",
                "RSS MB",
                "msgs"
            );
            for (name, d) in &w.designs {
                let _ = writeln!(
                    out,
                    "  {:<11} {:>9.0} {:>9.0} {:>9.0} {:>10.0} {:>11.1} {:>11.0} {:>9.1} {:>8}",
                    name,
                    d.msgs_per_s(),
                    d.latencies.quantile_us(500),
                    d.latencies.quantile_us(990),
                    d.latencies.max_us(),
                    d.cpu_us_per_msg(),
                    d.bytes_per_msg(),
                    d.peak_rss as f64 / 1e6,
                    d.messages
                );
            }
            let _ = writeln!(
                out,
                "  ratios: ours/naive {:.1}x, ours/seed {:.1}x, ours/floor {:.2}, ours/floor-whole {:.2}",
                w.ratio("naive"),
                w.ratio("seed"),
                w.ratio("floor"),
                w.ratio("floor-whole")
            );
            if let (Some(o), Some(f)) = (w.design("ours"), w.design("floor")) {
                let cpu = if f.cpu_us_per_msg() > 0.0 {
                    o.cpu_us_per_msg() / f.cpu_us_per_msg()
                } else {
                    0.0
                };
                let _ = writeln!(out, "  cpu per message: ours/floor {cpu:.2}x");
            }
            if let Some(b) = w.bytes_by_kind {
                let _ = writeln!(
                    out,
                    "  bytes written by ours: {:.0} per progress report ({}), {:.0} per completion ({})",
                    b.per_progress(),
                    b.progress,
                    b.per_completion(),
                    b.completions
                );
            }
            if let Some(m) = w.memory {
                let _ = writeln!(
                    out,
                    "  memory: the cache holds {:.1} MB of heap for {:.1} MB of command JSON ({:.2}x); RSS grew {:.1} MB while storing",
                    m.cache_heap_bytes as f64 / 1e6,
                    m.json_bytes as f64 / 1e6,
                    m.cache_heap_bytes as f64 / m.json_bytes.max(1) as f64,
                    m.cache_rss_bytes as f64 / 1e6,
                );
            }
        }
        if let Some(flood) = &self.flood {
            out.push_str(&flood.table());
        }
        if let Some(s) = self.w3_vs_w1_cpu_per_msg() {
            let _ = writeln!(out, "\nscaling: CPU per message W3/W1 = {s:.2}");
        }
        let _ = writeln!(out, "peak RSS of the run: {:.1} MB", self.peak_rss_bytes as f64 / 1e6);
        out
    }

    /// The report as JSON.
    pub fn json(&self) -> Value {
        let mut workloads = serde_json::Map::new();
        for w in &self.workloads {
            let designs: serde_json::Map<String, Value> =
                w.designs.iter().map(|(n, d)| ((*n).to_owned(), d.json())).collect();
            workloads.insert(
                w.name.to_owned(),
                json!({
                    "commands": w.commands,
                    "resource_updates": w.resource_updates,
                    "json_bytes": w.json_bytes,
                    "messages": w.messages,
                    "designs": designs,
                    "ratios": {
                        "ours_vs_naive": round(w.ratio("naive")),
                        "ours_vs_seed": round(w.ratio("seed")),
                        "ours_vs_floor": round(w.ratio("floor")),
                        "ours_vs_floor_whole": round(w.ratio("floor-whole")),
                    },
                    "bytes_per_progress": w.bytes_by_kind.map(|b| round(b.per_progress())),
                    "bytes_per_completion": w.bytes_by_kind.map(|b| round(b.per_completion())),
                }),
            );
        }
        let memory = self.workload("W2").and_then(|w| w.memory);
        let flood = self.flood.as_ref().map(super::flood::FloodResult::json);
        json!({
            "flood": flood,
            "backend": self.backend,
            "durability": self.durability,
            "quick": self.quick,
            "workloads": workloads,
            "scaling": { "w3_vs_w1_cpu_per_msg": self.w3_vs_w1_cpu_per_msg().map(round) },
            "memory": {
                "w2_cache_bytes": memory.map(|m| m.cache_heap_bytes),
                "w2_cache_rss_growth_bytes": memory.map(|m| m.cache_rss_bytes),
                "w2_cache_json_bytes": memory.map(|m| m.cache_json_bytes),
                "w2_json_bytes": memory.map(|m| m.json_bytes),
                "peak_rss_bytes": self.peak_rss_bytes,
            },
        })
    }
}
