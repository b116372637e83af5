//! The integration tests of `persister-testkit`, in one test binary so that they link once.
//!
//! Each module was a test file of its own: `memory`, `sqlite` and `postgres` run the whole
//! conformance and property suite on one backend each, the others are end-to-end and
//! cross-cutting tests.
//! Tests run one per process under nextest (what CI uses); the few that install state they
//! need (a metrics recorder, a tracing subscriber) do so for their own thread only, so they
//! also pass side by side under `cargo test`.
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
#[cfg(feature = "postgres")]
mod pg_harness;
#[cfg(feature = "postgres")]
mod pg_restart;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_backend;
#[cfg(feature = "sqlite")]
mod secrets;
#[cfg(feature = "sqlite")]
mod secrets_in_logs;
#[cfg(feature = "sqlite")]
mod sqlite;
mod workload;
