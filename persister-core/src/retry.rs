//! The backoff shared by everything that waits before trying again: reading revisions back
//! after a lost commit, and the handle's retries of transient errors.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// The first delay.
pub(crate) const MIN_DELAY: Duration = Duration::from_millis(10);

/// The longest delay; also what follows once the delays run out.
pub(crate) const MAX_DELAY: Duration = Duration::from_millis(500);

/// Exponentially growing delays with jitter, from [`MIN_DELAY`] to [`MAX_DELAY`], without end:
/// callers stop at their own deadline.
pub(crate) fn delays() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(MIN_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_never_end() {
        let delays: Vec<Duration> = delays().take(20).collect();
        assert_eq!(delays.len(), 20);
        // Jitter adds at most the delay itself.
        assert!(delays.iter().all(|d| *d >= MIN_DELAY && *d <= MAX_DELAY * 2));
        assert!(delays.iter().skip(10).all(|d| *d >= MAX_DELAY), "{delays:?}");
    }
}
