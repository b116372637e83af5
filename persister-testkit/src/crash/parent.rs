//! The parent: runs trials, kills children, checks the stores.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use persister_core::{FormaCommand, HandleConfig, Persister, PersisterHandle, Timestamp};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Target, workload};
use crate::model::ReferenceModel;
use crate::workload::{Message, Workload};

/// What a series of trials found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CrashReport {
    /// Trials run.
    pub trials: usize,
    /// Children killed before they finished.
    pub kills: usize,
    /// Acknowledged messages whose effect was checked.
    pub acked_checked: usize,
    /// Violations found, described.
    pub violations: Vec<String>,
}

/// The reference model's command after the first `n` acknowledgements (0 = just stored).
fn model_after(workload: &Workload, n: usize) -> Option<FormaCommand> {
    if n == 0 {
        return None;
    }
    let mut model = ReferenceModel::new(Timestamp::ZERO);
    model.store_new(workload.commands[0].clone());
    for m in workload.messages.iter().take(n - 1).cloned() {
        match m {
            Message::Progress(p) => model.progress(p),
            Message::Complete(c) => model.complete(c),
        };
    }
    model.load(&workload.commands[0].id).cloned()
}

/// Runs `trials` kill-and-check trials, each on a fresh target from `fresh_target`.
///
/// `child` is the command that starts a child for a target (the test binary itself).
pub async fn run_parent<F, Fut>(
    trials: usize,
    seed: u64,
    child: &(dyn Fn(&Target) -> Command + Sync),
    mut fresh_target: F,
) -> CrashReport
where
    F: FnMut(usize) -> Fut + Send,
    Fut: std::future::Future<Output = Result<Target, String>> + Send,
{
    let workload = workload(seed);
    let id = workload.commands[0].id.clone();
    let total = workload.messages.len() + 1;
    let final_state = model_after(&workload, total);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut report = CrashReport::default();
    for trial in 0..trials {
        report.trials += 1;
        let target = match fresh_target(trial).await {
            Ok(t) => t,
            Err(e) => {
                report.violations.push(format!("trial {trial}: no target: {e}"));
                continue;
            }
        };
        // Kill somewhere between the first acknowledgement and shortly before the end.
        let delay = Duration::from_millis(rng.random_range(20..600));
        let (acked, killed) = match run_child(child(&target), delay) {
            Ok(r) => r,
            Err(e) => {
                report.violations.push(format!("trial {trial}: child: {e}"));
                continue;
            }
        };
        if killed {
            report.kills += 1;
        }
        report.acked_checked += acked;
        if let Err(e) = check(&target, &workload, &id, acked, total, final_state.as_ref()).await {
            report.violations.push(format!("trial {trial} (acked {acked}): {e}"));
        }
    }
    report
}

/// Starts the child, kills it after `delay` (or lets it finish), returns (acked, killed).
fn run_child(mut command: Command, delay: Duration) -> Result<(usize, bool), String> {
    let mut child =
        command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut last = 0usize;
        let mut any = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("ack ").and_then(|n| n.parse().ok()) {
                last = n;
                any = true;
            }
        }
        if any { last + 1 } else { 0 }
    });
    let started = Instant::now();
    let mut killed = false;
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if started.elapsed() >= delay {
            // SIGKILL: no destructor, no flush, no clean shutdown.
            child.kill().map_err(|e| e.to_string())?;
            let _ = child.wait();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let acked = reader.join().map_err(|_| "reader thread panicked")?;
    Ok((acked, killed))
}

async fn check(
    target: &Target,
    workload: &Workload,
    id: &str,
    acked: usize,
    total: usize,
    final_state: Option<&FormaCommand>,
) -> Result<(), String> {
    let store = target.open().await.map_err(|e| format!("reopen: {e}"))?;
    let stored = Persister::new(store.clone()).load(id).await.ok();
    // (a) and (b): the stored state is the model's after `acked` or `acked + 1` messages (the
    // one in flight may or may not have committed), never anything else.
    let candidates = [model_after(workload, acked), model_after(workload, (acked + 1).min(total))];
    if !candidates.contains(&stored) {
        return Err("stored state is not the state after any allowed prefix".into());
    }
    // (c): resume from recover(): resend everything not acknowledged.
    let (handle, task) = PersisterHandle::spawn(Persister::new(store), HandleConfig::default());
    let recovered = handle.recover().await.map_err(|e| format!("recover: {e}"))?;
    if let Some(failure) = recovered.failed.first() {
        return Err(format!("recover() could not recover {}: {}", failure.id, failure.error));
    }
    if stored.as_ref().is_some_and(|c| !c.is_final())
        && !recovered.commands.iter().any(|c| c.id == id)
    {
        return Err("recover() did not return the in-flight command".into());
    }
    if acked == 0 && stored.is_none() {
        handle.store_new(workload.commands[0].clone()).await.map_err(|e| format!("store: {e}"))?;
    }
    for m in workload.messages.iter().skip(acked.saturating_sub(1)).cloned() {
        let r = match m {
            Message::Progress(p) => handle.update_progress(p).await,
            Message::Complete(c) => handle.complete(c).await,
        };
        r.map_err(|e| format!("resume: {e}"))?;
    }
    let done = handle.load(id).await.map_err(|e| format!("load: {e}"))?;
    handle.shutdown().await.map_err(|e| e.to_string())?;
    let _ = task.await;
    if Some(&done) != final_state {
        return Err("resumed command does not reach the expected final state".into());
    }
    Ok(())
}
