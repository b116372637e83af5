//! The integration tests of `persister-testkit`, in one test binary so that they link once.
//!
//! Each module was a test file of its own: `memory`, `sqlite` and `postgres` run the whole
//! conformance and property suite on one backend each, the others are end-to-end and
//! cross-cutting tests.
//! Tests run one per process under nextest (what CI uses); the few that install state they
//! need (a metrics recorder, a tracing subscriber) do so for their own thread only, so they
//! also pass side by side under `cargo test`.

mod bad_input;
mod bad_input_sizes;
mod crash;
mod fault_injection;
mod fencing;
mod handle;
mod memory;
mod metrics;
mod pg_harness;
mod pg_restart;
mod postgres;
mod postgres_backend;
mod secrets;
mod secrets_in_logs;
mod sqlite;
mod workload;
