//! `purge --finished-before WHEN`: deletes final commands last modified before a bound, in
//! small transactions, then gives the space back.

use std::io::Write;
use std::time::{Duration, Instant};

use persister_core::ListFilter;

use crate::cli::PurgeArgs;
use crate::db::{Access, Db};
use crate::error::CliError;
use crate::output::{bytes, time};

/// A purge step aims at holding the write lock at most this long; the number of commands per
/// step adapts to it (the bound is 50 ms: this leaves room for a slow fsync).
const STEP_TARGET: Duration = Duration::from_millis(20);
/// Commands per step: the first step's, and the bounds of the adaptation.
const FIRST_STEP: u32 = 8;
const MAX_STEP: u32 = 500;

/// Runs `purge`.
pub(crate) async fn run(url: &str, args: &PurgeArgs) -> Result<(), CliError> {
    let access = if args.dry_run { Access::ReadOnly } else { Access::ReadWrite };
    let db = Db::open(url, access).await?;
    let mut out = std::io::stdout();
    let before = args.finished_before;
    if args.dry_run {
        let (count, size) = dry_run(&db, before, &mut out).await?;
        writeln!(
            out,
            "dry run: {count} finished command(s) modified before {} would be deleted ({})",
            time(before),
            bytes(size)
        )?;
        return db.close().await;
    }
    let size_before = db.store.info().await.map_err(|e| db.error(e))?.database_bytes;
    let (mut count, mut size, mut step, mut slowest) = (0u64, 0u64, FIRST_STEP, Duration::ZERO);
    loop {
        let started = Instant::now();
        let purged = db.store.purge_finished(before, step).await.map_err(|e| db.error(e))?;
        let took = started.elapsed();
        slowest = slowest.max(took);
        for p in &purged {
            count += 1;
            size += p.stored_bytes;
            writeln!(
                out,
                "deleted {} ({}, modified {}, {})",
                p.id,
                p.state,
                time(p.modified_ts),
                bytes(p.stored_bytes)
            )?;
        }
        if purged.len() < usize::try_from(step).unwrap_or(usize::MAX) {
            break;
        }
        step = next_step(step, took);
    }
    db.store.reclaim().await.map_err(|e| db.error(e))?;
    let size_after = db.store.info().await.map_err(|e| db.error(e))?.database_bytes;
    writeln!(
        out,
        "deleted {count} finished command(s) modified before {} ({} of JSON); longest transaction {} ms",
        time(before),
        bytes(size),
        slowest.as_millis()
    )?;
    if let (Some(b), Some(a)) = (size_before, size_after) {
        writeln!(out, "database size: {} -> {}", bytes(b), bytes(a))?;
    }
    db.close().await
}

/// The commands per step after a step of `step` commands took `took`: halved when it held
/// the lock too long, doubled when it was quick.
fn next_step(step: u32, took: Duration) -> u32 {
    if took > STEP_TARGET {
        (step / 2).max(1)
    } else if took < STEP_TARGET / 2 {
        (step * 2).min(MAX_STEP)
    } else {
        step
    }
}

/// Prints the commands a purge would delete; returns their count and stored size.
async fn dry_run(
    db: &Db,
    before: persister_core::Timestamp,
    out: &mut impl Write,
) -> Result<(u64, u64), CliError> {
    let (mut count, mut size) = (0u64, 0u64);
    db.each_summary(&ListFilter::all(), |s| {
        if s.state.is_final() && s.modified_ts.datetime() < before.datetime() {
            count += 1;
            size += s.stored_bytes;
            writeln!(
                out,
                "would delete {} ({}, modified {}, {})",
                s.id,
                s.state,
                time(s.modified_ts),
                bytes(s.stored_bytes)
            )?;
        }
        Ok(())
    })
    .await?;
    Ok((count, size))
}

#[cfg(test)]
mod tests {
    use super::{FIRST_STEP, MAX_STEP, next_step};
    use std::time::Duration;

    #[test]
    fn steps_adapt_to_the_time_a_transaction_holds_the_lock() {
        assert_eq!(next_step(FIRST_STEP, Duration::from_millis(1)), FIRST_STEP * 2);
        assert_eq!(next_step(FIRST_STEP, Duration::from_millis(15)), FIRST_STEP);
        assert_eq!(next_step(FIRST_STEP, Duration::from_millis(80)), FIRST_STEP / 2);
        assert_eq!(next_step(1, Duration::from_secs(1)), 1);
        assert_eq!(next_step(MAX_STEP, Duration::ZERO), MAX_STEP);
    }
}
