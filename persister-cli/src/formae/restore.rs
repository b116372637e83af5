//! What the old `data` column, still there at schema version 4, gives back of what migration
//! 00004 lost (section 4.3 of the reference): the description (it read `$.Description`,
//! old agents kept it under `$.Forma.Description`), the resource updates it did not copy
//! (those without a `Version`), and `GroupId`s (it read `GroupID`, a key never written).
//! The columns win wherever they hold something: they are newer than the old data.

use std::collections::HashMap;

use persister_core::{FormaCommand, Operation, codec};

/// At most this many resource updates are named in a line of the summary.
const NAMED: usize = 10;

/// What was restored into a command from its old data, and what could not be.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Restored {
    /// What was restored, for the summary; `None` when nothing was.
    pub(crate) what: Option<String>,
    /// What could not be restored.
    pub(crate) warnings: Vec<String>,
}

/// Restores into `command`, read from the columns, what its old `data` JSON holds and the
/// columns lost: its description when the columns have none, the resource updates missing
/// from `resource_updates` (by KSUID and operation, in the state the old data has them), and
/// the `GroupId` of resource updates whose column is empty.
pub(crate) fn from_old_data(command: &mut FormaCommand, data: &[u8]) -> Restored {
    let mut restored = Restored::default();
    let old = match codec::decode_command(data) {
        Ok(old) => old,
        Err(e) => {
            restored.warnings.push(format!(
                "its old data column does not decode ({e}); nothing was restored from it, the \
                 columns were used"
            ));
            return restored;
        }
    };
    let mut what = Vec::new();
    let text = command.description.as_ref().map_or("", |d| d.text.as_str());
    let old_description = old
        .description
        .iter()
        .chain(old.forma.iter().map(|f| &f.description))
        .find(|d| !d.text.is_empty());
    if text.is_empty()
        && let Some(description) = old_description
    {
        command.description = Some(description.clone());
        what.push("its description".to_owned());
    }
    let mut index: HashMap<(String, Operation), usize> = HashMap::new();
    for (i, ru) in command.resource_updates.iter().enumerate() {
        index.entry((ru.resource.ksuid.clone(), ru.operation)).or_insert(i);
    }
    // Resource updates at or past this index were restored from the old data.
    let from_columns = command.resource_updates.len();
    let (mut added, mut grouped, mut repeated) = (Vec::new(), Vec::new(), Vec::new());
    for ru in old.resource_updates {
        let key = (ru.resource.ksuid.clone(), ru.operation);
        let name = format!("{} {}", key.0, key.1);
        match index.get(&key) {
            Some(&i) if i >= from_columns => repeated.push(name),
            Some(&i) => {
                let now = &mut command.resource_updates[i];
                if now.group_id.is_empty() && !ru.group_id.is_empty() {
                    now.group_id = ru.group_id;
                    grouped.push(name);
                }
            }
            None => {
                index.insert(key, command.resource_updates.len());
                command.resource_updates.push(ru);
                added.push(name);
            }
        }
    }
    if !added.is_empty() {
        what.push(format!(
            "{} resource update(s) missing from resource_updates ({})",
            added.len(),
            names(&added)
        ));
    }
    if !grouped.is_empty() {
        what.push(format!(
            "the GroupId of {} resource update(s) ({})",
            grouped.len(),
            names(&grouped)
        ));
    }
    if !repeated.is_empty() {
        restored.warnings.push(format!(
            "its old data repeats the KSUID and operation of {} resource update(s) ({}); only \
             the first of each was restored",
            repeated.len(),
            names(&repeated)
        ));
    }
    if !what.is_empty() {
        restored.what = Some(format!("from its old data column: {}", what.join("; ")));
    }
    restored
}

/// The first [`NAMED`] of `names`, and how many more.
fn names(names: &[String]) -> String {
    let shown = names.iter().take(NAMED).map(String::as_str).collect::<Vec<_>>().join(", ");
    match names.len().saturating_sub(NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}
