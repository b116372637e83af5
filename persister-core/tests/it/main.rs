//! The integration tests of `persister-core`, in one test binary so that they link once.
//!
//! Each module was a test file of its own; `support` holds the builders they share.

mod allocations;
mod batch;
mod cache;
mod codec;
mod import;
mod messages;
mod support;
mod utc;
