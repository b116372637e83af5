//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the files of
//! `migrations/` but cargo only knows to watch that directory when told.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
