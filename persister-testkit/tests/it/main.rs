//! The integration tests of `persister-testkit`, in one test binary so that they link once.
//!
//! Each module was a test file of its own: `memory`, `sqlite` and `postgres` run the whole
//! conformance and property suite on one backend each, the others are end-to-end and
//! cross-cutting tests.
//! Tests run one per process under nextest (what CI uses), and side by side in one process
//! under `cargo test`: `metrics` installs its recorder for its own thread only, and
//! `secrets_in_logs` installs the process-wide tracing subscriber, which no other test sets.
//! Modules that need a backend's driver are compiled with that backend's feature; `memory`
//! and `workload` also build with `--no-default-features`.

#[cfg(feature = "sqlite")]
mod bad_input;
#[cfg(feature = "sqlite")]
mod bad_input_sizes;
#[cfg(all(feature = "sqlite", feature = "postgres"))]
mod crash;
#[cfg(feature = "sqlite")]
mod fault_injection;
#[cfg(all(feature = "sqlite", feature = "postgres"))]
mod fencing;
#[cfg(feature = "sqlite")]
mod handle;
mod memory;
#[cfg(feature = "sqlite")]
mod metrics;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod migration;
#[cfg(feature = "postgres")]
mod pg_cut;
#[cfg(feature = "postgres")]
mod pg_failover;
#[cfg(feature = "postgres")]
mod pg_harness;
#[cfg(feature = "postgres")]
mod pg_restart;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_backend;
#[cfg(feature = "postgres")]
mod postgres_deploy;
#[cfg(feature = "postgres")]
mod postgres_operator;
mod retention;
#[cfg(feature = "sqlite")]
mod secrets;
#[cfg(feature = "sqlite")]
mod secrets_in_logs;
#[cfg(feature = "sqlite")]
mod sqlite;
mod workload;
