//! The integration tests of `persister-sqlite`, in one test binary so that they link once.
//!
//! Each module was a test file of its own; `support` holds the helpers they share.

mod sqlite_operator;
mod sqlite_schema;
mod sqlite_store;
mod sqlite_threads;
mod support;
