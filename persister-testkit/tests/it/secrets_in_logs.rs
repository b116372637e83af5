//! No log line or tracing field shows an opaque value's plaintext: every event and span of a
//! run with secrets in the desired state, the progress results and the completions, and with
//! failing calls, is captured at TRACE level and searched.

use std::io::Write;
use std::sync::{Arc, Mutex};

use persister_core::{HandleConfig, Persister, PersisterHandle, RawJson};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::workload::{Message, Workload};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRET: &str = "hunter2-in-the-logs";

#[test]
fn tracing_output_never_shows_a_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish();
    // The process-wide default, not `with_default`: with a single scoped subscriber, tracing
    // computes a callsite's cached interest from the default of whichever thread hits it
    // first, so another test of this binary (under `cargo test`) can disable the persister's
    // spans for good. Under nextest the test has the process to itself; under `cargo test`
    // the capture also holds the other tests' output, which must be free of secrets too.
    tracing::subscriber::set_global_default(subscriber).expect("no other test sets a subscriber");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
    let text = String::from_utf8(capture.0.lock().expect("capture lock").clone()).expect("UTF-8");
    assert!(text.contains("persister.message"), "spans were captured: {} bytes", text.len());
    assert!(!text.contains(SECRET) && !text.contains("hunter2"), "a secret in the logs");
}

async fn run() {
    let mut workload = Workload::w1(12).truncated(200);
    let secret =
        RawJson::new(format!(r#"{{"Password":{{"$value":"{SECRET}","$visibility":"Opaque"}}}}"#))
            .expect("valid JSON");
    for ru in &mut workload.commands[0].resource_updates {
        ru.resource.properties = Some(secret.clone());
    }
    for m in &mut workload.messages {
        match m {
            Message::Progress(p) => p.progress.resource_properties = Some(secret.clone()),
            Message::Complete(c) => c.resource_properties = Some(secret.clone()),
        }
    }
    let store = Arc::new(SqliteStore::open(SqliteConfig::in_memory()).await.expect("opens"));
    let (handle, task) = PersisterHandle::spawn(Persister::new(store), HandleConfig::default());
    handle.store_new(workload.commands[0].clone()).await.expect("stored");
    for m in workload.messages {
        let result = match m {
            Message::Progress(p) => handle.update_progress(p).await,
            Message::Complete(c) => handle.complete(c).await,
        };
        result.expect("applied");
    }
    // Failing calls too: an unknown command, a duplicate id.
    let _ = handle.load("no-such-command").await;
    let _ = handle.store_new(Workload::w1(12).commands[0].clone()).await;
    let _ = handle.recover().await;
    handle.shutdown().await.expect("shut down");
    task.await.expect("task ends");
}
