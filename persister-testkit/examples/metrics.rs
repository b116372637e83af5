//! The persister's metrics on a Prometheus endpoint and its tracing on stdout, while a small
//! workload runs through a `PersisterHandle` over SQLite for a bounded time.
//!
//! ```sh
//! cargo run -p persister-testkit --example metrics -- 9184 10
//! curl -s http://127.0.0.1:9184/metrics
//! ```
//!
//! The first argument is the port (on 127.0.0.1 only), the second how many seconds to run
//! (default 10). Every round stores one W1 command (196 resource updates) and sends its
//! progress reports and completions from one task per resource, so the mailbox fills and
//! group commit has work; the handle then publishes `persister_mailbox_depth` among the
//! other metrics of the README's Observability paragraph.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusBuilder;
use persister_core::{HandleConfig, Persister, PersisterHandle};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::workload::{Message, Workload};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().ok_or("usage: metrics PORT [SECONDS]")?.parse()?;
    let seconds: u64 = args.next().map_or(Ok(10), |s| s.parse())?;
    tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).with_target(false).init();
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    PrometheusBuilder::new().with_http_listener(listen).install()?;
    tracing::info!(%listen, seconds, "serving metrics at http://{listen}/metrics");

    let dir = std::env::temp_dir().join(format!("persister-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::open(SqliteConfig::file(dir.join("commands.db"))).await?;
    let persister = Persister::new(Arc::new(store));
    let (handle, task) = PersisterHandle::spawn(persister, HandleConfig::default());
    let recovered = handle.recover().await?;
    tracing::info!(resumed = recovered.commands.len(), "recovered");

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut round = 0u64;
    while Instant::now() < deadline {
        let started = Instant::now();
        let sent = run_round(&handle, round).await?;
        let stats = handle.stats().await?;
        tracing::info!(
            round,
            messages = sent,
            millis = started.elapsed().as_millis(),
            batches = stats.batches,
            transactions = stats.transactions,
            "round done"
        );
        round += 1;
    }
    handle.shutdown_and_close().await?;
    task.await?;
    std::fs::remove_dir_all(&dir)?;
    tracing::info!(rounds = round, "store closed");
    Ok(())
}

/// Stores one W1 command and replays its messages, one task per resource; returns how many
/// messages were sent.
async fn run_round(handle: &PersisterHandle, seed: u64) -> Result<usize, BoxError> {
    let workload = Workload::w1(seed);
    for command in &workload.commands {
        handle.store_new(command.clone()).await?;
    }
    let sent = workload.messages.len();
    let mut per_resource: BTreeMap<String, Vec<Message>> = BTreeMap::new();
    for m in workload.messages {
        let uri = match &m {
            Message::Progress(p) => p.resource_uri.clone(),
            Message::Complete(c) => c.resource_uri.clone(),
        };
        per_resource.entry(uri).or_default().push(m);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for messages in per_resource.into_values() {
        let handle = handle.clone();
        tasks.spawn(async move {
            for m in messages {
                match m {
                    Message::Progress(p) => handle.update_progress(p).await?,
                    Message::Complete(c) => handle.complete(c).await?,
                };
            }
            Ok::<(), persister_core::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(sent)
}
