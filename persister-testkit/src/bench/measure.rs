//! Measurements: latency percentiles, process CPU time, and peak memory (Linux `/proc`).

use std::time::Duration;

/// Latencies of one run, in arrival order.
#[derive(Debug, Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// Records one message's latency.
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The quantile `per_mille`/1000 in microseconds, nearest rank (500 = median).
    pub fn quantile_us(&self, per_mille: usize) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = (per_mille * sorted.len()).div_ceil(1000);
        let index = rank.clamp(1, sorted.len()) - 1;
        sorted[index].as_secs_f64() * 1e6
    }

    /// The largest latency in microseconds.
    pub fn max_us(&self) -> f64 {
        self.0.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1e6)
    }
}

/// CPU time (user + system) used by this process so far, every thread included
/// (`CLOCK_PROCESS_CPUTIME_ID`, nanosecond resolution: `/proc/self/stat` counts 10 ms ticks,
/// a tenth of a short run).
pub fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(t.tv_nsec).unwrap_or(0);
    Duration::new(secs, nanos)
}

/// A memory figure from `/proc/self/status` in bytes (`VmHWM` peak, `VmRSS` current).
pub fn status_bytes(key: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim_start_matches(':')
                .trim()
                .strip_suffix(" kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resets the peak RSS counter (Linux 4.0+); ignored where not permitted.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
