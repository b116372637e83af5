//! The stored form of a command: body, head and resource updates.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{decode, encode};
use crate::codec::go_struct::go_struct;
use crate::error::CodecError;
use crate::model::{CommandState, FormaCommand, TargetUpdate, Timestamp};

go_struct! {
    /// The mutable header fields of a command, stored apart from its body.
    pub struct CommandHead {
        /// The command's state.
        state: CommandState => "State",
        /// When it started.
        start_ts: Timestamp => "StartTs",
        /// When it last changed.
        modified_ts: Timestamp => "ModifiedTs",
        /// Its target updates.
        target_updates: Vec<TargetUpdate> => "TargetUpdates" [omitempty],
    }
}

impl CommandHead {
    /// Moves the head's fields into `command`.
    pub fn apply_to(self, command: &mut FormaCommand) {
        command.state = self.state;
        command.start_ts = self.start_ts;
        command.modified_ts = self.modified_ts;
        command.target_updates = self.target_updates;
    }
}

struct BodyView<'a>(&'a FormaCommand);

impl Serialize for BodyView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ID", &c.id)?;
        if let Some(forma) = &c.forma {
            m.serialize_entry("Forma", forma)?;
        }
        if let Some(description) = &c.description {
            m.serialize_entry("Description", description)?;
        }
        m.serialize_entry("Config", &c.config)?;
        m.serialize_entry("Command", &c.command)?;
        if !c.client_id.is_empty() {
            m.serialize_entry("ClientId", &c.client_id)?;
        }
        for (k, v) in c.extra.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

struct HeadView<'a>(&'a FormaCommand);

impl Serialize for HeadView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("State", &c.state)?;
        m.serialize_entry("StartTs", &c.start_ts)?;
        m.serialize_entry("ModifiedTs", &c.modified_ts)?;
        if !c.target_updates.is_empty() {
            m.serialize_entry("TargetUpdates", &c.target_updates)?;
        }
        m.end()
    }
}

/// Encodes the parts of `command` that never change after it is stored: id, `Forma` or
/// `Description`, config, command kind, client id and unknown members.
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written.
pub fn encode_body(command: &FormaCommand) -> Result<String, CodecError> {
    encode(&BodyView(command), "command body")
}

/// Encodes the mutable header fields of `command`: state, timestamps and target updates.
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written.
pub fn encode_head(command: &FormaCommand) -> Result<String, CodecError> {
    encode(&HeadView(command), "command head")
}

/// Decodes a body written by [`encode_body`] into a command without resource updates.
///
/// # Errors
/// [`CodecError::Decode`] naming the offending field.
pub fn decode_body(json: &[u8]) -> Result<FormaCommand, CodecError> {
    decode(json, "command body")
}

/// Decodes a head written by [`encode_head`].
///
/// # Errors
/// [`CodecError::Decode`] naming the offending field.
pub fn decode_head(json: &[u8]) -> Result<CommandHead, CodecError> {
    decode(json, "command head")
}
