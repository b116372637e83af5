//! The flood's figures as JSON and as the table the benchmark prints.

use serde_json::{Value, json};

use super::{FloodResult, FloodRun};

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
            "list_100_p50_us": self.on.list.quantile_us(500).round(),
            "list_100_p99_us": self.on.list.quantile_us(990).round(),
            "list_100_calls": self.on.list.len(),
            "list_100_apart_p50_us": self.on.list_apart.quantile_us(500).round(),
            "list_100_apart_p99_us": self.on.list_apart.quantile_us(990).round(),
            "msgs_per_s_without_group_commit": self.off.msgs_per_s().round(),
            "calls_over_5s_without_group_commit": self.off.calls_over_5s,
            "p99_us_without_group_commit": self.off.latencies.quantile_us(990).round(),
            "group_commit_ratio": ((self.on.msgs_per_s() / self.off.msgs_per_s().max(1e-9)) * 100.0).round() / 100.0,
            "retention": {
                "finished_commands": self.retention.finished,
                "purged_during_flood": self.retention.purged,
                "p99_us_without_purge": self.retention.without.latencies.quantile_us(990).round(),
                "p99_us_with_purge": self.retention.with.latencies.quantile_us(990).round(),
                "max_us_without_purge": self.retention.without.latencies.max_us().round(),
                "max_us_with_purge": self.retention.with.latencies.max_us().round(),
                "msgs_per_s_without_purge": self.retention.without.msgs_per_s().round(),
                "msgs_per_s_with_purge": self.retention.with.msgs_per_s().round(),
            },
        })
    }

    /// The flood as table lines.
    pub fn table(&self) -> String {
        let line = |name: &str, r: &FloodRun| {
            let failed = match &r.failed {
                (0, _) => String::new(),
                (n, first) => format!(
                    "    {n} of these calls failed, the first with: {}\n",
                    first.as_deref().unwrap_or("?")
                ),
            };
            format!(
                "  {name:<18} {:>9.0} {:>9.0} {:>9.0} {:>10.0} {:>9.1} {:>8} {:>8} {:>9.1} {:>9.1}\n",
                r.msgs_per_s(),
                r.latencies.quantile_us(500),
                r.latencies.quantile_us(990),
                r.latencies.max_us(),
                r.avg_batch,
                r.calls,
                r.calls_over_5s,
                r.list.quantile_us(990) / 1000.0,
                r.list_apart.quantile_us(990) / 1000.0
            ) + &failed
        };
        let r = &self.retention;
        let retention = format!(
            "  retention: the same flood over {} old finished commands, group commit on\n{}{}  purged during the flood: {} of {}; p99 with/without purge: {:.2}\n",
            r.finished,
            line("purge off", &r.without),
            line("purge on", &r.with),
            r.purged,
            r.finished,
            r.with.latencies.quantile_us(990) / r.without.latencies.quantile_us(990).max(1e-9)
        );
        format!(
            "\nflood: {} commands of 196 resources, one task per resource, {} calls at once; \
             list p99: listing 100 commands through the handle every 20 ms during the flood, from the flood's \
             runtime (list ms) and from a thread of its own (apart ms)\n  \
             {:<18} {:>9} {:>9} {:>9} {:>10} {:>9} {:>8} {:>8} {:>9} {:>9}\n{}{}  ratio group commit on/off: {:.1}x\n{}",
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
            "list ms",
            "apart ms",
            line("group commit on", &self.on),
            line("group commit off", &self.off),
            self.on.msgs_per_s() / self.off.msgs_per_s().max(1e-9),
            retention
        )
    }
}
