//! The columns of the formae agent's new schema that hold a command, and how a command and
//! each of its resource updates map to them: the one list that both writers (SQLite and
//! PostgreSQL) write and both readers select. Each writer stores each [`Value`] in its
//! dialect's form.

use std::borrow::Cow;

use persister_core::{CodecError, Description, FormaCommand, ResourceUpdate, Timestamp, codec};

use super::FormaeError;

/// A value to write, by what it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    /// Text; the agent writes empty strings, never NULL.
    Text(&'a str),
    /// An integer.
    Int(i64),
    /// A boolean (SQLite: INTEGER 0 or 1; PostgreSQL: BOOLEAN).
    Bool(bool),
    /// A time (SQLite: the driver's text form; PostgreSQL: `TIMESTAMP`, the UTC wall clock).
    Time(Timestamp),
    /// JSON, `None` for NULL (SQLite: a BLOB, as the agent binds bytes; PostgreSQL: TEXT).
    Json(Option<Cow<'a, str>>),
}

/// A column, and how the value written to it is made.
#[derive(Debug)]
pub(crate) struct Column<M> {
    /// Its name (never from input: these are the only names written in SQL).
    pub(crate) name: &'static str,
    /// Its value for a command or resource update.
    pub(crate) value: M,
}

/// How a `forma_commands` column's value is made from a command.
pub(crate) type CommandMapping = for<'a> fn(&'a FormaCommand) -> Result<Value<'a>, CodecError>;

/// How a `resource_updates` column's value is made from a resource update of command `id`.
pub(crate) type ResourceUpdateMapping =
    for<'a> fn(&'a str, &'a ResourceUpdate) -> Result<Value<'a>, CodecError>;

/// The `forma_commands` columns written, as `StoreFormaCommand` writes them; `agent_version`
/// and `agent_id` are left NULL (no agent wrote these commands).
pub(crate) const FORMA_COMMANDS: &[Column<CommandMapping>] = &[
    Column { name: "command_id", value: |c| Ok(Value::Text(&c.id)) },
    Column { name: "timestamp", value: |c| Ok(Value::Time(c.start_ts)) },
    Column { name: "command", value: |c| Ok(Value::Text(c.command.as_str())) },
    Column { name: "state", value: |c| Ok(Value::Text(c.state.as_str())) },
    Column { name: "client_id", value: |c| Ok(Value::Text(&c.client_id)) },
    Column {
        name: "description_text",
        value: |c| Ok(Value::Text(description(c).map_or("", |d| d.text.as_str()))),
    },
    Column {
        name: "description_confirm",
        value: |c| Ok(Value::Bool(description(c).is_some_and(|d| d.confirm))),
    },
    Column { name: "config_mode", value: |c| Ok(Value::Text(c.config.mode.as_str())) },
    Column { name: "config_force", value: |c| Ok(Value::Bool(c.config.force)) },
    Column { name: "config_simulate", value: |c| Ok(Value::Bool(c.config.simulate)) },
    // The JSON of the slice, `null` when it is nil.
    Column {
        name: "target_updates",
        value: |c| {
            if c.target_updates.is_empty() {
                Ok(Value::Json(Some(Cow::Borrowed("null"))))
            } else {
                json(&Some(c.target_updates.clone()))
            }
        },
    },
    Column { name: "modified_ts", value: |c| Ok(Value::Time(c.modified_ts)) },
];

/// The `resource_updates` columns written, as `BulkStoreResourceUpdates` writes them.
pub(crate) const RESOURCE_UPDATES: &[Column<ResourceUpdateMapping>] = &[
    Column { name: "command_id", value: |id, _| Ok(Value::Text(id)) },
    Column { name: "ksuid", value: |_, ru| Ok(Value::Text(&ru.resource.ksuid)) },
    Column { name: "operation", value: |_, ru| Ok(Value::Text(ru.operation.as_str())) },
    Column { name: "state", value: |_, ru| Ok(Value::Text(ru.state.as_str())) },
    Column { name: "start_ts", value: |_, ru| Ok(Value::Time(ru.start_ts)) },
    Column { name: "modified_ts", value: |_, ru| Ok(Value::Time(ru.modified_ts)) },
    Column { name: "retries", value: |_, ru| Ok(Value::Int(i64::from(ru.retries))) },
    Column { name: "remaining", value: |_, ru| Ok(Value::Int(i64::from(ru.remaining))) },
    Column { name: "version", value: |_, ru| Ok(Value::Text(&ru.version)) },
    // An empty stack label falls back to the resource's stack, as the agent's SQLite store
    // writes it (and as both readers read it back).
    Column {
        name: "stack_label",
        value: |_, ru| {
            if ru.stack_label.is_empty() {
                Ok(Value::Text(&ru.resource.stack))
            } else {
                Ok(Value::Text(&ru.stack_label))
            }
        },
    },
    Column { name: "group_id", value: |_, ru| Ok(Value::Text(&ru.group_id)) },
    Column { name: "source", value: |_, ru| Ok(Value::Text(ru.source.as_str())) },
    Column { name: "resource", value: |_, ru| json(&ru.resource) },
    Column { name: "resource_target", value: |_, ru| json(&ru.resource_target) },
    Column { name: "existing_resource", value: |_, ru| json(&ru.existing_resource) },
    Column { name: "existing_target", value: |_, ru| json(&ru.existing_target) },
    Column { name: "metadata", value: |_, ru| Ok(raw(ru.metadata.as_ref())) },
    Column {
        name: "progress_result",
        value: |_, ru| match ru.progress_result {
            None => Ok(Value::Json(None)),
            Some(_) => json(&ru.progress_result),
        },
    },
    Column { name: "most_recent_progress", value: |_, ru| json(&ru.most_recent_progress_result) },
    Column {
        name: "remaining_resolvables",
        value: |_, ru| {
            if ru.remaining_resolvables.is_empty() {
                Ok(Value::Json(None))
            } else {
                json(&Some(ru.remaining_resolvables.clone()))
            }
        },
    },
    Column {
        name: "reference_labels",
        value: |_, ru| {
            if ru.reference_labels.is_empty() {
                Ok(Value::Json(None))
            } else {
                json(&Some(ru.reference_labels.clone()))
            }
        },
    },
    Column { name: "previous_properties", value: |_, ru| Ok(raw(ru.previous_properties.as_ref())) },
];

/// The columns the readers select from `forma_commands`: those written, and the old `data`
/// (still there at schema version 4, the whole command at versions 1 to 3).
pub(crate) fn command_columns_read() -> Vec<&'static str> {
    FORMA_COMMANDS.iter().map(|c| c.name).chain(["data"]).collect()
}

/// The columns the readers select from `resource_updates`: those written.
pub(crate) fn resource_update_columns_read() -> Vec<&'static str> {
    RESOURCE_UPDATES.iter().map(|c| c.name).collect()
}

/// The values of the `forma_commands` row of `c`, in the order of [`FORMA_COMMANDS`].
///
/// # Errors
/// [`FormaeError::Unencodable`] naming the command and the column.
pub(crate) fn command_row(c: &FormaCommand) -> Result<Vec<Value<'_>>, FormaeError> {
    let unencodable = |column: &str, source| FormaeError::Unencodable {
        id: c.id.clone(),
        column: format!("forma_commands.{column}"),
        source,
    };
    FORMA_COMMANDS.iter().map(|col| (col.value)(c).map_err(|e| unencodable(col.name, e))).collect()
}

/// The values of the `resource_updates` row of `ru`, a resource update of command `id`, in
/// the order of [`RESOURCE_UPDATES`].
///
/// # Errors
/// [`FormaeError::Unencodable`] naming the command, the column and the resource update.
pub(crate) fn resource_update_row<'a>(
    id: &'a str,
    ru: &'a ResourceUpdate,
) -> Result<Vec<Value<'a>>, FormaeError> {
    let unencodable = |column: &str, source| FormaeError::Unencodable {
        id: id.to_owned(),
        column: format!(
            "resource_updates (ksuid {}, operation {}).{column}",
            ru.resource.ksuid, ru.operation
        ),
        source,
    };
    RESOURCE_UPDATES
        .iter()
        .map(|col| (col.value)(id, ru).map_err(|e| unencodable(col.name, e)))
        .collect()
}

/// What of `c` the new schema has no column for, if anything.
pub(crate) fn unkept(c: &FormaCommand) -> Option<String> {
    let mut what = Vec::new();
    if c.forma.is_some() {
        what.push("its Forma document (the old agent's shape)".to_owned());
    }
    if !c.extra.is_empty() {
        let names: Vec<&str> = c.extra.iter().map(|(k, _)| k).collect();
        what.push(format!("its members {}", names.join(", ")));
    }
    if c.resource_updates.iter().any(|r| r.match_filters.is_some() || !r.extra.is_empty()) {
        what.push("matchFilters or newer members of resource updates".to_owned());
    }
    (!what.is_empty()).then(|| format!("not kept by the formae schema: {}", what.join("; ")))
}

/// The description written: the command's, or its `Forma`'s (an old agent's command).
fn description(c: &FormaCommand) -> Option<&Description> {
    c.description.as_ref().or(c.forma.as_ref().map(|f| &f.description))
}

/// A part's JSON, as the Go agent encodes it.
fn json<T: codec::Part>(part: &T) -> Result<Value<'static>, CodecError> {
    codec::encode_part(part).map(|text| Value::Json(Some(Cow::Owned(text))))
}

/// A raw JSON value, byte for byte; `None` (Go's nil) is NULL.
fn raw(value: Option<&persister_core::RawJson>) -> Value<'_> {
    Value::Json(value.map(|r| Cow::Borrowed(r.as_str())))
}
