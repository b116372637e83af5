//! End-to-end tests of the `forma-persister` binary against real SQLite and PostgreSQL
//! databases written by the persister.

mod checks;
mod export;
mod fixture;
mod formae;
mod formae_db;
mod formae_pg;
mod import;
mod postgres;
mod sqlite;
mod timings;
