//! Whether the current thread may block on a store's I/O: the threading rule of the stores
//! that block (SQLite).
//!
//! A store whose calls block never blocks a thread that did not say it may: by default its
//! calls go to a thread of its own and the caller awaits the reply, so a shared async runtime
//! worker never waits for a disk. A thread that runs nothing else (the thread of a
//! [`PersisterHandle`](crate::PersisterHandle) started with
//! [`HandleConfig::dedicated_thread`](crate::HandleConfig::dedicated_thread), or a program's
//! own single-purpose thread) says it may with [`allow_blocking`]; such a store then runs the
//! call right there, with no thread hop, no wake-up and no context switch. An async block
//! that may block the thread polling it says so with [`allowing_blocking`], which marks the
//! thread during each poll only, so the mark never outlives the poll or follows the task to
//! another thread.
//!
//! ```
//! use persister_core::blocking::{allow_blocking, may_block};
//!
//! assert!(!may_block());
//! {
//!     let _allowed = allow_blocking();
//!     assert!(may_block());
//! }
//! assert!(!may_block(), "the guard restores what was there");
//! ```

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    /// True while an [`allow_blocking`] guard of this thread lives.
    static MAY_BLOCK: Cell<bool> = const { Cell::new(false) };
}

/// True when the current thread said it may block on store I/O ([`allow_blocking`]).
pub fn may_block() -> bool {
    MAY_BLOCK.with(Cell::get)
}

/// Says that the current thread may block on store I/O until the guard is dropped. Only for
/// a thread that runs nothing else meanwhile: never on a shared async runtime's worker.
#[must_use = "blocking is allowed only while the guard lives"]
pub fn allow_blocking() -> BlockingAllowed {
    let previous = MAY_BLOCK.with(|c| c.replace(true));
    BlockingAllowed { previous, _not_send: PhantomData }
}

/// The guard of [`allow_blocking`]; it belongs to its thread (`!Send`).
#[derive(Debug)]
pub struct BlockingAllowed {
    /// What the thread said before.
    previous: bool,
    _not_send: PhantomData<*const ()>,
}

impl Drop for BlockingAllowed {
    fn drop(&mut self) {
        MAY_BLOCK.with(|c| c.set(self.previous));
    }
}

/// Runs `future` with blocking allowed while it is polled ([`allow_blocking`] around each
/// poll): for a future that owns the thread polling it, such as the one a program passes to
/// `block_on`, or one that blocks its runtime on purpose.
///
/// ```
/// use persister_core::blocking::{allowing_blocking, may_block};
///
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// assert!(runtime.block_on(allowing_blocking(async { may_block() })));
/// assert!(!may_block(), "only while it is polled");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn allowing_blocking<F: Future>(future: F) -> AllowingBlocking<F> {
    AllowingBlocking { future: Box::pin(future) }
}

/// The future of [`allowing_blocking`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct AllowingBlocking<F> {
    /// The future, polled with blocking allowed.
    future: Pin<Box<F>>,
}

impl<F: Future> Future for AllowingBlocking<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _allowed = allow_blocking();
        self.future.as_mut().poll(cx)
    }
}
