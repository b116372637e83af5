//! [`Summary`]: what an import read, stored, skipped and refused, and how it is printed.

use std::io::Write;
use std::time::Duration;

use crate::output::bytes;

/// Where a command came from, for messages: `line 7` of a file, or a formae database.
pub(crate) type Place = String;

/// The outcome of an import.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Commands read (lines that are not blank, or rows of a formae database).
    pub(crate) read: u64,
    /// Commands stored (or that would be, in a dry run).
    pub(crate) imported: u64,
    /// Commands already stored with the same content: nothing to do.
    pub(crate) skipped: u64,
    /// Commands whose id is stored with a different content: left as they are.
    pub(crate) conflicts: Vec<Problem>,
    /// Commands that could not be read or stored, with the reason.
    pub(crate) failed: Vec<Problem>,
    /// Commands stored with something to know about (data a formae migration lost, say).
    pub(crate) warnings: Vec<Problem>,
    /// Commands into which data lost from where they were read was restored (from a formae
    /// database's old `data` column), and what.
    pub(crate) restored: Vec<Problem>,
    /// Bytes of the commands read, as the Go agent encodes them.
    pub(crate) bytes: u64,
    /// Time spent storing batches (the transactions, and the checks before them).
    pub(crate) store_time: Duration,
}

/// A line of the summary about one command: a conflict, a failure, a warning or what was
/// restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The command id, when it is known (a line that does not decode has none).
    pub(crate) id: Option<String>,
    /// Where it came from.
    pub(crate) place: Place,
    /// What was wrong (for what was restored: what).
    pub(crate) reason: String,
}

impl Problem {
    /// How the command is named in messages: `2qX (line 4)`, or `line 4` without an id.
    pub(crate) fn name(&self) -> String {
        match &self.id {
            Some(id) => format!("{id} ({})", self.place),
            None => self.place.clone(),
        }
    }
}

impl Summary {
    /// True when every command read was imported or skipped.
    pub(crate) fn is_complete(&self) -> bool {
        self.conflicts.is_empty() && self.failed.is_empty()
    }

    /// Prints one line per command restored, warning, conflict and failure, then the counts.
    pub(crate) fn print(&self, out: &mut impl Write, dry_run: bool) -> std::io::Result<()> {
        for r in &self.restored {
            writeln!(out, "restored {}: {}", r.name(), r.reason)?;
        }
        for w in &self.warnings {
            writeln!(out, "warning {}: {}", w.name(), w.reason)?;
        }
        for c in &self.conflicts {
            writeln!(out, "conflict {}: {}", c.name(), c.reason)?;
        }
        for f in &self.failed {
            writeln!(out, "failed {}: {}", f.name(), f.reason)?;
        }
        let verb = if dry_run { "dry run: would import" } else { "imported" };
        writeln!(
            out,
            "{verb} {} of {} command(s) read; skipped {} already present; {} conflict(s); {} failed",
            self.imported,
            self.read,
            self.skipped,
            self.conflicts.len(),
            self.failed.len()
        )
    }

    /// The throughput line of `--timings`: commands and bytes per second over `elapsed`
    /// (the whole import, reading included), and the part spent storing.
    pub(crate) fn timings(&self, elapsed: Duration) -> String {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        #[allow(clippy::cast_precision_loss, reason = "a rate for people to read")]
        let (commands, mebibytes) = (self.read as f64, self.bytes as f64 / f64::from(1 << 20));
        format!(
            "timings: {} command(s), {} in {:.3} s: {:.0} commands/s, {:.2} MiB/s; storing took {:.3} s",
            self.read,
            bytes(self.bytes),
            seconds,
            commands / seconds,
            mebibytes / seconds,
            self.store_time.as_secs_f64()
        )
    }
}
