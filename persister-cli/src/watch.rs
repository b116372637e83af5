//! `watch [ID...]`: one progress bar per unfinished command (resource updates final of
//! total, state, rate, elapsed), refreshed from the read path until every watched command is
//! final or Ctrl-C. It only reads, with one summary query per refresh, so it does not slow
//! the agent that writes.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use persister_core::{CommandSummary, ListFilter, Persister, Timestamp};

use crate::cli::WatchArgs;
use crate::db::{Access, Db};
use crate::error::CliError;

/// One watched command.
#[derive(Debug)]
struct Watched {
    bar: ProgressBar,
    /// When the watch first saw it, and how many resource updates were final then (for the
    /// rate).
    seen: Instant,
    finals_when_seen: u64,
    /// What was last shown, so that a pipe gets a line only when something changed.
    shown: Option<(u64, String)>,
    done: bool,
}

/// Runs `watch`.
pub(crate) async fn run(url: &str, args: &WatchArgs) -> Result<(), CliError> {
    let db = Db::open(url, Access::ReadOnly).await?;
    let terminal = std::io::stderr().is_terminal();
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{prefix:.bold} [{bar:32.green/white}] {pos:>5}/{len:<5} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let mut watched: BTreeMap<String, Watched> = BTreeMap::new();
    let mut persister = Persister::new(db.store.clone());
    let mut ticker = tokio::time::interval(args.interval);
    let mut first = true;
    let mut out = std::io::stdout();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => {
                bars.clear()?;
                writeln!(out, "stopped")?;
                break;
            }
        }
        let unfinished = unfinished(&db).await?;
        let by_id: HashMap<&str, &CommandSummary> =
            unfinished.iter().map(|s| (s.id.as_str(), s)).collect();
        let wanted: Vec<String> = if args.ids.is_empty() {
            unfinished.iter().map(|s| s.id.clone()).collect()
        } else if first {
            args.ids.clone()
        } else {
            Vec::new()
        };
        for id in wanted {
            watched.entry(id.clone()).or_insert_with(|| {
                let bar = bars.add(ProgressBar::new(0).with_style(style.clone()));
                // Ids are KSUIDs (27 characters) in practice: pad so that the bars line up.
                bar.set_prefix(format!("{id:<28}"));
                Watched { bar, seen: Instant::now(), finals_when_seen: 0, shown: None, done: false }
            });
        }
        first = false;
        for (id, w) in watched.iter_mut().filter(|(_, w)| !w.done) {
            let line = match by_id.get(id.as_str()) {
                Some(s) => {
                    if w.shown.is_none() {
                        w.finals_when_seen = s.final_resource_updates;
                    }
                    w.bar.set_length(s.resource_updates);
                    w.bar.set_position(s.final_resource_updates);
                    let message = progress_message(s, w);
                    w.bar.set_message(message.clone());
                    (s.final_resource_updates, message)
                }
                // Not unfinished any more: final, deleted (a sync command without changes),
                // or never there.
                None => {
                    let message = match persister.load(id).await {
                        Ok(c) => {
                            let finals = c.resource_updates.iter().filter(|r| r.state.is_final());
                            w.bar.set_length(c.resource_updates.len() as u64);
                            w.bar.set_position(finals.count() as u64);
                            format!("{} (final)", c.state)
                        }
                        Err(e) if e.is_not_found() && w.shown.is_none() => {
                            return Err(CliError::NotFound { id: id.clone(), db: db.name.clone() });
                        }
                        Err(e) if e.is_not_found() => {
                            "deleted (a sync command that changed nothing)".into()
                        }
                        Err(e) => return Err(db.error(e)),
                    };
                    w.done = true;
                    w.bar.finish_with_message(message.clone());
                    (w.bar.position(), message)
                }
            };
            if !terminal && w.shown.as_ref() != Some(&line) {
                writeln!(out, "{id} {}/{} {}", line.0, w.bar.length().unwrap_or(0), line.1)?;
            }
            w.shown = Some(line);
        }
        if watched.is_empty() {
            writeln!(out, "no unfinished commands in {}", db.name)?;
            break;
        }
        if watched.values().all(|w| w.done) {
            break;
        }
    }
    drop(persister);
    db.close().await
}

/// The bar's text for a command still running: its state, rate since the watch saw it, and
/// the time since it started.
fn progress_message(s: &CommandSummary, w: &Watched) -> String {
    let seconds = w.seen.elapsed().as_secs_f64();
    let done = s.final_resource_updates.saturating_sub(w.finals_when_seen);
    let rate = if seconds >= 1.0 {
        #[allow(clippy::cast_precision_loss, reason = "a rate shown to one decimal")]
        let rate = done as f64 / seconds;
        format!("{rate:.1}/s")
    } else {
        "-/s".to_owned()
    };
    format!("{} {rate} {}", s.state, elapsed_since(s.start_ts))
}

/// The time since `start`, as `1h02m03s`.
fn elapsed_since(start: Timestamp) -> String {
    if start.is_zero() {
        return "not started".into();
    }
    let secs = (Timestamp::now().datetime() - start.datetime()).whole_seconds().max(0);
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h) {
        (0, 0) => format!("{m}m{s:02}s"),
        (0, _) => format!("{h}h{m:02}m{s:02}s"),
        _ => format!("{d}d{h:02}h{m:02}m"),
    }
}

/// Every unfinished command's summary, all pages.
async fn unfinished(db: &Db) -> Result<Vec<CommandSummary>, CliError> {
    let mut all = Vec::new();
    db.each_summary(&ListFilter::all().unfinished(true), |s| {
        all.push(s);
        Ok(())
    })
    .await?;
    Ok(all)
}
