//! The stored form of a command: body, head and resource updates.
//!
//! The split is derived from [`FormaCommand`]'s own declaration: its fields tagged `{head}`
//! form the head, the field tagged `{rows}` (the resource updates) is stored one row per
//! element, and every other field, with the unknown members, forms the body. A field added to
//! the command therefore lands in the body unless it is tagged otherwise; it is never left out.

use serde::ser::{Serialize, Serializer};

use super::{decode, encode};
use crate::error::CodecError;
use crate::model::FormaCommand;

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

/// One part of a command, serialized with the fields of that part only.
struct PartView<'a>(&'a FormaCommand, Part);

impl Serialize for PartView<'_> {
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
}
