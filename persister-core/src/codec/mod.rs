//! The only module that reads and writes JSON (with sonic-rs).
//!
//! Everything else in the workspace goes through these functions; a tidy check enforces it.
//! The stored form of a command is split in three so that a progress report re-encodes only
//! what changed: the *body* (the parts that never change after the command is stored), the
//! *head* (state, timestamps and target updates) and one document per resource update.

pub(crate) mod go_fmt;
pub(crate) mod go_struct;
pub(crate) mod raw;
mod stored;
pub(crate) mod tree;

use serde::{Serialize, de::DeserializeOwned};

use crate::error::CodecError;
use crate::model::{FormaCommand, ResourceUpdate};

pub use stored::{CommandHead, decode_body, decode_head, encode_body, encode_head};

/// Decodes a whole command from the Go agent's JSON.
///
/// # Errors
/// [`CodecError::Decode`] naming the offending field (for example an unknown enum string).
pub fn decode_command(json: &[u8]) -> Result<FormaCommand, CodecError> {
    decode(json, "command")
}

/// Encodes a whole command as the Go agent would read it.
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written (for example a year beyond 9999).
pub fn encode_command(command: &FormaCommand) -> Result<String, CodecError> {
    encode(command, "command")
}

/// Decodes one resource update.
///
/// # Errors
/// [`CodecError::Decode`] naming the offending field.
pub fn decode_resource_update(json: &[u8]) -> Result<ResourceUpdate, CodecError> {
    decode(json, "resource update")
}

/// Encodes one resource update.
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written.
pub fn encode_resource_update(ru: &ResourceUpdate) -> Result<String, CodecError> {
    encode(ru, "resource update")
}

/// Checks that `text` is exactly one valid JSON value.
///
/// # Errors
/// [`CodecError::Decode`] describing the first problem.
pub fn validate_json(text: &str) -> Result<(), CodecError> {
    sonic_rs::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| CodecError::Decode { what: "raw JSON", message: e.to_string() })
}

pub(crate) fn decode<T: DeserializeOwned>(
    json: &[u8],
    what: &'static str,
) -> Result<T, CodecError> {
    sonic_rs::from_slice(json).map_err(|e| CodecError::Decode { what, message: e.to_string() })
}

pub(crate) fn encode<T: Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<String, CodecError> {
    sonic_rs::to_string(value).map_err(|e| CodecError::Encode { what, message: e.to_string() })
}
