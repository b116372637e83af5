//! `show ID`: a readable summary of one command, or its exact Go wire JSON.

use std::io::Write;

use persister_core::{FormaCommand, Persister, codec};

use crate::cli::ShowArgs;
use crate::db::{Access, Db};
use crate::error::CliError;
use crate::output::{self, table, time};

/// Runs `show`.
pub(crate) async fn run(url: &str, args: &ShowArgs) -> Result<(), CliError> {
    let db = Db::open(url, Access::ReadOnly).await?;
    let mut persister = Persister::new(db.store.clone());
    let command = match persister.load(&args.id).await {
        Ok(command) => command,
        Err(e) if e.is_not_found() => {
            return Err(CliError::NotFound { id: args.id.clone(), db: db.name.clone() });
        }
        Err(e) => return Err(db.error(e)),
    };
    drop(persister);
    let mut out = std::io::stdout();
    if args.json {
        let json = codec::encode_command(&command).map_err(|e| db.error(e))?;
        writeln!(out, "{json}")?;
    } else {
        write!(out, "{}", render(&command))?;
    }
    db.close().await
}

/// The summary of `command`: its header, then a table of resource updates and one of target
/// updates.
fn render(c: &FormaCommand) -> String {
    let finals = c.resource_updates.iter().filter(|r| r.state.is_final()).count();
    let mut text = String::new();
    let mut line = |label: &str, value: String| {
        text.push_str(&format!("{label:<18}{value}\n"));
    };
    line("Command", c.id.clone());
    line("Kind", c.command.to_string());
    line("State", c.state.to_string());
    line("Client", c.client_id.clone());
    line("Started", time(c.start_ts));
    line("Modified", time(c.modified_ts));
    if let Some(d) = &c.description {
        line("Description", d.text.clone());
    }
    line("Resource updates", format!("{} ({finals} final)", c.resource_updates.len()));
    line("Target updates", c.target_updates.len().to_string());
    if !c.resource_updates.is_empty() {
        let mut t =
            table(&["LABEL", "TYPE", "OPERATION", "STATE", "VERSION", "LAST STATUS", "MESSAGE"]);
        for ru in &c.resource_updates {
            let last = &ru.most_recent_progress_result;
            t.add_row(vec![
                ru.resource.label.clone(),
                ru.resource.resource_type.clone(),
                ru.operation.to_string(),
                ru.state.to_string(),
                ru.version.clone(),
                last.operation_status.to_string(),
                one_line(&last.status_message),
            ]);
        }
        text.push('\n');
        text.push_str(&output::render(&t));
    }
    if !c.target_updates.is_empty() {
        let mut t = table(&["TARGET", "OPERATION", "STATE", "MODIFIED"]);
        for tu in &c.target_updates {
            t.add_row(vec![
                tu.target.label.clone(),
                tu.operation.to_string(),
                tu.state.to_string(),
                time(tu.modified_ts),
            ]);
        }
        text.push('\n');
        text.push_str(&output::render(&t));
    }
    text
}

/// `text` on one line, at most 60 characters (a status message can be long and multi-line).
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 60 {
        return flat;
    }
    let cut: String = flat.chars().take(59).collect();
    format!("{cut}…")
}
