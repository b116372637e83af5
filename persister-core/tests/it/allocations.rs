//! Heap allocations per message, counted on the calling thread (allocation-counter replaces
//! the global allocator of this test binary).
//!
//! A cached progress report must cost a bounded number of allocations whatever the size of
//! its command: one that grows with the command (a whole-command clone or encode, a walk over
//! every resource update) shows here as a count that differs between a small and a large
//! command.

use persister_core::{CommandKind, Operation, ResourceUpdateState as S};

use crate::support::{command, memory, progress};

/// The allocations of each progress report (three per resource update) on a cached command
/// of `n` resource updates, over the in-memory store, on a current-thread runtime so that
/// everything the persister and the store allocate is on this thread.
fn per_progress(n: usize) -> Vec<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (_, mut p) = memory();
    runtime.block_on(p.store_new(command("c", n, CommandKind::Apply))).expect("stored");
    let mut counts = Vec::new();
    for second in 2..5 {
        for i in 0..n {
            let msg = progress("c", i, Operation::Create, S::InProgress, second);
            let info = allocation_counter::measure(|| {
                runtime.block_on(p.update_progress(msg)).expect("applied");
            });
            counts.push(info.count_total);
        }
    }
    counts
}

fn median(mut counts: Vec<u64>) -> u64 {
    counts.sort_unstable();
    counts.get(counts.len() / 2).copied().unwrap_or(0)
}

#[test]
fn a_cached_progress_report_allocates_the_same_whatever_the_command_size() {
    let (small, large) = (per_progress(20), per_progress(500));
    let (small_median, large_median) = (median(small), median(large.clone()));
    let large_max = large.iter().copied().max().unwrap_or(0);
    assert!(
        large_median <= small_median + 2,
        "allocations grow with the command: median {small_median} at 20 resource updates, \
         {large_median} at 500"
    );
    // 31 when this test was written; the margin is for a dependency's internals, not for a copy.
    assert!(
        large_median <= 40,
        "a progress report allocates {large_median} times (max {large_max}) at 500 resource updates"
    );
}
