//! The stored form of a command: body, head and resource updates, each resource update in
//! two parts.
//!
//! The split is derived from [`FormaCommand`]'s own declaration: its fields tagged `{head}`
//! form the head, the field tagged `{rows}` (the resource updates) is stored one row per
//! element, and every other field, with the unknown members, forms the body. A field added to
//! the command therefore lands in the body unless it is tagged otherwise; it is never left out.
//! A [`ResourceUpdate`] is split the same way by its own declaration: its fields tagged
//! `{head}` are its *progress* (state, times, retries, version, progress results), the others
//! with its unknown members its *fixed* part (the resource and its properties, targets,
//! existing state), so that a progress report rewrites a few hundred bytes, not the
//! resource's properties.

use serde::ser::{Serialize, Serializer};

use super::{decode, encode, encode_sized};
use crate::error::CodecError;
use crate::model::{FormaCommand, ResourceUpdate};

/// Where a field of a model type is stored: the command's body, its head, or rows of their
/// own (see the [module documentation](self)). A field is tagged `{head}` or `{rows}` in its
/// `go_struct!` declaration; untagged fields and unknown members belong to the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// Written once with the command (id, description, config, ...) and unknown members.
    Body,
    /// Rewritten by every message (state, timestamps, target updates).
    Head,
    /// Stored as rows of their own, one per element (resource updates).
    Rows,
}

/// The split of a `go_struct!` type into [`Part`]s, generated from its declaration.
pub(crate) trait Split: Sized {
    /// Every field's JSON key and part, in declaration order (for the tests of the split).
    #[cfg(test)]
    const FIELDS: &'static [(&'static str, Part)];
    /// Writes the fields of `part` only, in declaration order and with their `omitempty`
    /// rules, as a JSON object; unknown members go with [`Part::Body`].
    fn serialize_part<S: serde::Serializer>(&self, part: Part, s: S) -> Result<S::Ok, S::Error>;
    /// Moves the fields of `part` (with unknown members for [`Part::Body`]) into `into`,
    /// leaving its other fields as they are.
    fn move_part(self, part: Part, into: &mut Self);
}

/// The head fields of a stored command, as read by [`decode_head`].
///
/// It holds exactly the fields of [`FormaCommand`] tagged `{head}` (state, timestamps and
/// target updates); [`apply_to`](Self::apply_to) moves them into a command decoded from its
/// body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommandHead(FormaCommand);

impl CommandHead {
    /// Moves the head's fields into `command`, leaving its other fields as they are.
    pub fn apply_to(self, command: &mut FormaCommand) {
        self.0.move_part(Part::Head, command);
    }
}

/// One part of a value, serialized with the fields of that part only.
struct PartView<'a, T>(&'a T, Part);

impl<T: Split> Serialize for PartView<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_part(self.1, s)
    }
}

/// Encodes the parts of `command` that never change after it is stored: every field not
/// tagged `{head}` or `{rows}` (id, `Forma` or `Description`, config, command kind, client id)
/// and the unknown members, in declaration order with their `omitempty` rules.
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written.
pub fn encode_body(command: &FormaCommand) -> Result<String, CodecError> {
    encode(&PartView(command, Part::Body), "command body")
}

/// Encodes the fields of `command` tagged `{head}`: state, timestamps and target updates.
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written.
pub fn encode_head(command: &FormaCommand) -> Result<String, CodecError> {
    encode(&PartView(command, Part::Head), "command head")
}

/// Decodes a body written by [`encode_body`] into a command without resource updates.
///
/// # Errors
/// [`CodecError::Decode`] naming the offending field.
pub fn decode_body(json: &[u8]) -> Result<FormaCommand, CodecError> {
    decode(json, "command body")
}

/// Decodes a head written by [`encode_head`]; members that are not head fields are ignored.
///
/// # Errors
/// [`CodecError::Decode`] naming the offending field.
pub fn decode_head(json: &[u8]) -> Result<CommandHead, CodecError> {
    decode(json, "command head").map(CommandHead)
}

/// Encodes the fixed part of a resource update: every field not tagged `{head}` (the
/// resource and its properties, targets, existing state, operation, metadata, source, ...)
/// and its unknown members, into a buffer of `capacity` bytes (the size it had when last
/// written spares reallocations; 0 when unknown).
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written.
pub fn encode_update_fixed(ru: &ResourceUpdate, capacity: usize) -> Result<String, CodecError> {
    encode_sized(&PartView(ru, Part::Body), "resource update (fixed part)", room(capacity))
}

/// Encodes the progress of a resource update: its fields tagged `{head}` (state, times,
/// retries, version, progress results), into a buffer of `capacity` bytes.
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written.
pub fn encode_update_progress(ru: &ResourceUpdate, capacity: usize) -> Result<String, CodecError> {
    encode_sized(&PartView(ru, Part::Head), "resource update (progress)", room(capacity))
}

/// A buffer size for a document that was `last` bytes long: a little more, since it may grow.
fn room(last: usize) -> usize {
    if last == 0 { 256 } else { last + last / 8 + 256 }
}

/// Decodes a resource update from its two stored parts, written by [`encode_update_fixed`]
/// and [`encode_update_progress`]: the same value as decoding the whole document, so that
/// [`encode_resource_update`](super::encode_resource_update) writes the same bytes. Members
/// of `progress` that are not progress fields are ignored.
///
/// # Errors
/// [`CodecError::Decode`] naming the part and the offending field.
pub fn decode_update_parts(fixed: &[u8], progress: &[u8]) -> Result<ResourceUpdate, CodecError> {
    let mut ru: ResourceUpdate = decode(fixed, "resource update (fixed part)")?;
    let progress: ResourceUpdate = decode(progress, "resource update (progress)")?;
    progress.move_part(Part::Head, &mut ru);
    Ok(ru)
}

/// Splits a whole resource update document (as stored before the split, or as the Go agent
/// writes it) into its fixed part and its progress, for migrations.
///
/// # Errors
/// [`CodecError::Decode`] when `whole` is not a resource update; [`CodecError::Encode`].
pub fn split_resource_update(whole: &[u8]) -> Result<(String, String), CodecError> {
    let ru: ResourceUpdate = decode(whole, "resource update")?;
    Ok((encode_update_fixed(&ru, whole.len())?, encode_update_progress(&ru, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_command;
    use crate::model::{
        CommandConfig, CommandKind, CommandState, Description, Forma, RawJson, ResourceUpdate,
        TargetUpdate, Timestamp, UnknownFields,
    };

    /// A command with every field set to a value that `omitempty` keeps. The literal names
    /// every field (no `..`), so a field added to [`FormaCommand`] stops this from compiling
    /// until it is given a value here too.
    fn full() -> FormaCommand {
        let mut extra = UnknownFields::default();
        extra.insert("StackUpdates", RawJson::new("[1]").expect("valid JSON"));
        let ts = |s: &str| Timestamp::parse(s).expect("valid timestamp");
        FormaCommand {
            id: "2qH".into(),
            forma: Some(Forma::default()),
            description: Some(Description { text: "d".into(), ..Description::default() }),
            state: CommandState::InProgress,
            start_ts: ts("2025-12-19T23:51:57Z"),
            modified_ts: ts("2025-12-19T23:52:57.5Z"),
            resource_updates: vec![ResourceUpdate::default()],
            target_updates: vec![TargetUpdate::default()],
            config: CommandConfig::default(),
            command: CommandKind::Apply,
            client_id: "c".into(),
            extra,
        }
    }

    /// The member names of a JSON object, in order.
    fn keys(json: &str) -> Vec<String> {
        let object: sonic_rs::Object = sonic_rs::from_str(json).expect("a JSON object");
        object.iter().map(|(k, _)| k.to_owned()).collect()
    }

    fn declared(part: Part) -> Vec<String> {
        FormaCommand::FIELDS.iter().filter(|(_, p)| *p == part).map(|(k, _)| (*k).into()).collect()
    }

    #[test]
    fn every_key_of_a_command_is_stored_in_exactly_one_part() {
        let command = full();
        let whole = keys(&encode_command(&command).expect("encodes"));
        let mut every: Vec<String> =
            FormaCommand::FIELDS.iter().map(|(k, _)| (*k).into()).collect();
        every.push("StackUpdates".into());
        assert_eq!(whole, every, "the fully populated command writes every declared field");

        // Only the resource updates are stored as rows: nothing else is written from rows.
        let rows = declared(Part::Rows);
        assert_eq!(rows, ["ResourceUpdates"]);
        let body = keys(&encode_body(&command).expect("encodes"));
        let head = keys(&encode_head(&command).expect("encodes"));
        assert_eq!(head, declared(Part::Head));
        assert_eq!(head, ["State", "StartTs", "ModifiedTs", "TargetUpdates"]);
        assert_eq!(
            body,
            ["ID", "Forma", "Description", "Config", "Command", "ClientId", "StackUpdates"]
        );

        let mut split: Vec<String> = body.into_iter().chain(head).chain(rows).collect();
        split.sort();
        let mut whole = whole;
        whole.sort();
        assert_eq!(split, whole, "each key in exactly one of body, head and rows");
    }

    #[test]
    fn a_decoded_head_moves_only_the_head_fields() {
        let command = full();
        let mut target = FormaCommand { id: "other".into(), ..FormaCommand::default() };
        decode_head(encode_head(&command).expect("encodes").as_bytes())
            .expect("decodes")
            .apply_to(&mut target);
        let expected = FormaCommand {
            id: "other".into(),
            state: command.state,
            start_ts: command.start_ts,
            modified_ts: command.modified_ts,
            target_updates: command.target_updates.clone(),
            ..FormaCommand::default()
        };
        assert_eq!(target, expected);
    }

    /// A resource update with every field set to a value that `omitempty` keeps, and an
    /// unknown member. No `..`: a new field stops this from compiling until it is set here.
    fn full_update() -> ResourceUpdate {
        use crate::model::{CommandSource, Operation, ProgressResult, Resource, Target};
        let mut extra = UnknownFields::default();
        extra.insert("Future", RawJson::new(r#"{"a":1}"#).expect("valid JSON"));
        let raw = |s: &str| Some(RawJson::new(s).expect("valid JSON"));
        let ts = |s: &str| Timestamp::parse(s).expect("valid timestamp");
        ResourceUpdate {
            resource: Resource { ksuid: "2qK".into(), ..Resource::default() },
            resource_target: Target::default(),
            existing_resource: Resource::default(),
            existing_target: Target::default(),
            operation: Operation::Update,
            metadata: raw("{}"),
            state: crate::model::ResourceUpdateState::InProgress,
            start_ts: ts("2025-12-19T23:51:57Z"),
            modified_ts: ts("2025-12-19T23:52:57.5Z"),
            retries: 1,
            remaining: 2,
            version: "v".into(),
            most_recent_progress_result: ProgressResult::default(),
            progress_result: Some(vec![ProgressResult::default()]),
            source: CommandSource::default(),
            remaining_resolvables: vec!["formae://x".into()],
            stack_label: "s".into(),
            group_id: "g".into(),
            reference_labels: [("k".to_owned(), "v".to_owned())].into_iter().collect(),
            previous_properties: raw(r#"{"p":1}"#),
            match_filters: raw("[]"),
            extra,
        }
    }

    #[test]
    fn every_key_of_a_resource_update_is_stored_in_exactly_one_part() {
        let ru = full_update();
        let whole = keys(&crate::codec::encode_resource_update(&ru).expect("encodes"));
        let fixed = keys(&encode_update_fixed(&ru, 0).expect("encodes"));
        let progress = keys(&encode_update_progress(&ru, 0).expect("encodes"));
        assert_eq!(
            progress,
            [
                "State",
                "StartTs",
                "ModifiedTs",
                "Retries",
                "Remaining",
                "Version",
                "MostRecentProgressResult",
                "ProgressResult"
            ]
        );
        let declared: Vec<&str> = ResourceUpdate::FIELDS
            .iter()
            .filter(|(_, p)| *p == Part::Head)
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(progress, declared);
        assert!(fixed.contains(&"Resource".to_owned()) && fixed.contains(&"Future".to_owned()));
        let mut split: Vec<String> = fixed.into_iter().chain(progress).collect();
        split.sort();
        let mut whole = whole;
        whole.sort();
        assert_eq!(split, whole, "each key in exactly one of fixed and progress");
    }

    #[test]
    fn a_resource_update_reassembles_to_the_same_bytes() {
        let ru = full_update();
        let whole = crate::codec::encode_resource_update(&ru).expect("encodes");
        let (fixed, progress) = split_resource_update(whole.as_bytes()).expect("splits");
        let back = decode_update_parts(fixed.as_bytes(), progress.as_bytes()).expect("decodes");
        assert_eq!(back, ru);
        assert_eq!(crate::codec::encode_resource_update(&back).expect("encodes"), whole);
        assert!(split_resource_update(b"[1]").is_err(), "not a resource update");
    }
}
