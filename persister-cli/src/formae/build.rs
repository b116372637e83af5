//! Building a [`FormaCommand`] from a formae agent's rows: the new schema's columns (one
//! `forma_commands` row and its `resource_updates` rows), or the old schema's `data` JSON;
//! at schema version 4, what migration 00004 lost restored from the old `data` still there
//! ([`restore`](super::restore)), with warnings for what cannot be restored.

use std::collections::BTreeMap;

use persister_core::{
    CommandConfig, CommandKind, Description, FormaCommand, Operation, ResourceUpdate,
    ResourceUpdateState, codec,
};

use super::cell::{Cells, ColumnError, Row};

/// A command read from a formae database, and what to know about it.
#[derive(Debug)]
pub(crate) struct Read {
    /// The command, in the Go agent's shape.
    pub(crate) command: FormaCommand,
    /// Data the agent's migrations are known to have lost for this command, and not restored.
    pub(crate) warnings: Vec<String>,
    /// What was restored from the old `data` column (schema version 4), if anything.
    pub(crate) restored: Option<String>,
}

/// The rank of an operation among the resource updates of one KSUID: a replace is stored as
/// a `delete` and then a `create`, so the delete comes first.
fn rank(operation: Operation) -> u8 {
    match operation {
        Operation::Delete => 0,
        Operation::Create => 1,
        Operation::Update => 2,
        Operation::Replace => 3,
        Operation::Read => 4,
        _ => 5,
    }
}

/// Orders resource updates as the agent read them back (by KSUID, byte order: KSUIDs sort by
/// creation time), with the halves of a replace, which the agent returned in an undefined
/// order, put back as it wrote them: `delete`, then `create`.
pub(crate) fn order(resource_updates: &mut [ResourceUpdate]) {
    resource_updates.sort_by(|a, b| {
        let ksuids = a.resource.ksuid.as_bytes().cmp(b.resource.ksuid.as_bytes());
        ksuids.then_with(|| rank(a.operation).cmp(&rank(b.operation)))
    });
}

/// The command of a new-schema `forma_commands` row and its `resource_updates` rows.
///
/// # Errors
/// The first column that cannot be read, named with its table (and, for a resource update,
/// its KSUID and operation).
pub(crate) fn from_columns(header: &Row, rows: &[Row]) -> Result<Read, ColumnError> {
    let h = Cells { row: header, table: "forma_commands".into() };
    let mut command = FormaCommand {
        id: h.text("command_id")?,
        description: Some(Description {
            text: h.text("description_text")?,
            confirm: h.flag("description_confirm")?,
            ..Description::default()
        }),
        state: h.parse("state")?,
        start_ts: h.time("timestamp")?,
        modified_ts: h.time("modified_ts")?,
        target_updates: h.part::<Option<Vec<_>>>("target_updates")?.unwrap_or_default(),
        config: CommandConfig {
            mode: h.parse("config_mode")?,
            force: h.flag("config_force")?,
            simulate: h.flag("config_simulate")?,
            ..CommandConfig::default()
        },
        command: h.parse("command")?,
        client_id: h.text("client_id")?,
        ..FormaCommand::default()
    };
    for row in rows {
        command.resource_updates.push(resource_update(row)?);
    }
    let mut warnings = Vec::new();
    let data = h.json_bytes("data")?;
    let restored = if let Some(data) = data {
        let restored = super::restore::from_old_data(&mut command, data);
        warnings.extend(restored.warnings);
        restored.what
    } else {
        if !command.is_final()
            && command.command != CommandKind::Sync
            && command.resource_updates.is_empty()
        {
            warnings.push(
                "unfinished with no resource updates: if it predates migration 00004, which \
                 copied only resource updates with a Version, its pending ones were lost"
                    .into(),
            );
        }
        None
    };
    order(&mut command.resource_updates);
    lost_group_ids(&command, data.is_some(), &mut warnings);
    Ok(Read { command, warnings, restored })
}

/// One `resource_updates` row.
fn resource_update(row: &Row) -> Result<ResourceUpdate, ColumnError> {
    let plain = Cells { row, table: "resource_updates".into() };
    let ksuid = plain.text("ksuid")?;
    let operation_text = plain.text("operation")?;
    let c = Cells {
        row,
        table: format!("resource_updates (ksuid {ksuid}, operation {operation_text})"),
    };
    let mut ru = ResourceUpdate {
        resource: c.part("resource")?,
        resource_target: c.part("resource_target")?,
        existing_resource: c.part("existing_resource")?,
        existing_target: c.part("existing_target")?,
        operation: c.parse("operation")?,
        metadata: c.raw("metadata")?,
        state: c.parse::<ResourceUpdateState>("state")?,
        start_ts: c.time("start_ts")?,
        modified_ts: c.time("modified_ts")?,
        retries: c.int("retries")?,
        remaining: c.int("remaining")?,
        version: c.text("version")?,
        most_recent_progress_result: c.part("most_recent_progress")?,
        progress_result: c.part("progress_result")?,
        source: c.parse("source")?,
        remaining_resolvables: c
            .part::<Option<Vec<String>>>("remaining_resolvables")?
            .unwrap_or_default(),
        stack_label: c.text("stack_label")?,
        group_id: c.text("group_id")?,
        reference_labels: c.part::<Option<BTreeMap<_, _>>>("reference_labels")?.unwrap_or_default(),
        previous_properties: c.raw("previous_properties")?,
        ..ResourceUpdate::default()
    };
    // The agent overwrites the KSUID from its column.
    ru.resource.ksuid = ksuid;
    if ru.stack_label.is_empty() {
        ru.stack_label.clone_from(&ru.resource.stack);
    }
    Ok(ru)
}

/// Warns about replace pairs without a `GroupId`: migration 00004 read `GroupID`, a key the
/// agent never wrote, so every migrated pair lost it; `has_data` when the old data was there
/// to restore it from, and did not have it either.
fn lost_group_ids(command: &FormaCommand, has_data: bool, warnings: &mut Vec<String>) {
    let rus = &command.resource_updates;
    for pair in rus.windows(2) {
        let [a, b] = pair else { continue };
        if a.resource.ksuid == b.resource.ksuid
            && a.operation == Operation::Delete
            && b.operation == Operation::Create
            && a.group_id.is_empty()
            && b.group_id.is_empty()
        {
            let why =
                if has_data { "nor in its old data column" } else { "migration 00004 lost it" };
            warnings.push(format!(
                "the replace pair of KSUID {} has no GroupId ({why})",
                a.resource.ksuid
            ));
        }
    }
}

/// The command of an old-schema row: its `data` JSON, the whole command.
///
/// # Errors
/// The `data` column when it is NULL or does not decode.
pub(crate) fn from_data(header: &Row) -> Result<Read, ColumnError> {
    let h = Cells { row: header, table: "forma_commands".into() };
    let data = h.json_bytes("data")?.ok_or_else(|| ColumnError {
        column: "forma_commands.data".into(),
        reason: "NULL: the old schema keeps the whole command there".into(),
    })?;
    let command = codec::decode_command(data)
        .map_err(|e| ColumnError { column: "forma_commands.data".into(), reason: e.to_string() })?;
    Ok(Read { command, warnings: Vec::new(), restored: None })
}
