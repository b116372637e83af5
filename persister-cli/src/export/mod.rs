//! `export`: the commands the filters select, one per line in the Go wire encoding (exactly
//! what `show --json` prints), streamed a page of summaries at a time so that memory stays
//! flat whatever the database's size.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use persister_core::{ListFilter, codec};

use crate::cli::ExportArgs;
use crate::db::{Access, Db};
use crate::error::CliError;
use crate::output::bytes;
use crate::paging::Commands;

mod formae;

/// Summaries read per query; the commands of a page are then loaded one at a time.
const PAGE: u32 = 200;

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Exported {
    /// Commands written.
    pub(crate) commands: u64,
    /// Bytes written, newlines included.
    pub(crate) bytes: u64,
}

/// Runs `export`.
pub(crate) async fn run(url: &str, args: &ExportArgs) -> Result<(), CliError> {
    let db = Db::open(url, Access::ReadOnly).await?;
    let filter = args.filter.filter();
    if let Some(to) = &args.to_formae {
        let count = formae::write(&db, &filter, to).await?;
        #[allow(clippy::print_stderr, reason = "the count goes where export puts it")]
        {
            eprintln!("exported {count} command(s) to the formae database {to}");
        }
        return db.close().await;
    }
    let bar = if std::io::stderr().is_terminal() {
        let mut total = 0u64;
        db.each_summary(&filter, |_| {
            total += 1;
            Ok(())
        })
        .await?;
        let style = ProgressStyle::with_template(
            "exporting [{bar:32.green/white}] {pos}/{len} commands, {msg} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    let exported = match &args.out {
        Some(path) => {
            let file = File::create(path)
                .map_err(|source| CliError::File { path: path.display().to_string(), source })?;
            let mut out = BufWriter::new(file);
            let exported = write_jsonl(&db, &filter, &mut out, &bar).await?;
            out.flush()?;
            out.get_ref().sync_all()?;
            exported
        }
        None => {
            let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout());
            let exported = write_jsonl(&db, &filter, &mut out, &bar).await?;
            out.flush()?;
            exported
        }
    };
    bar.finish_and_clear();
    #[allow(clippy::print_stderr, reason = "the count stays out of the JSON lines on stdout")]
    {
        eprintln!("exported {} command(s), {}", exported.commands, bytes(exported.bytes));
    }
    db.close().await
}

/// Writes every command `filter` selects to `out`, one Go wire JSON line each, newest first,
/// reading [`PAGE`] summaries per query and holding one command at a time. A command deleted
/// between its summary and its load (a purge running beside) is left out.
///
/// # Errors
/// [`CliError::Store`] for a store error or a command that cannot be read or encoded (naming
/// it); [`CliError::Output`] when writing fails.
pub(crate) async fn write_jsonl(
    db: &Db,
    filter: &ListFilter,
    out: &mut impl Write,
    bar: &ProgressBar,
) -> Result<Exported, CliError> {
    let mut commands = Commands::new(db, filter, PAGE);
    let mut exported = Exported::default();
    while let Some((_, command)) = commands.next().await? {
        let json = codec::encode_command(&command).map_err(|e| db.error(e))?;
        drop(command);
        out.write_all(json.as_bytes())?;
        out.write_all(b"\n")?;
        exported.commands += 1;
        exported.bytes += json.len() as u64 + 1;
        bar.inc(1);
        bar.set_message(bytes(exported.bytes));
    }
    Ok(exported)
}
