//! The only module that reads and writes JSON (with sonic-rs).
//!
//! Everything else in the workspace goes through these functions; a tidy check enforces it.
//! The stored form of a command is split in three so that a progress report re-encodes only
//! what changed: the *body* (the parts that never change after the command is stored), the
//! *head* (state, timestamps and target updates) and two documents per resource update, its
//! fixed part and its progress ([`encode_update_fixed`], [`encode_update_progress`]).

mod go_escape;
pub(crate) mod go_fmt;
pub(crate) mod go_struct;
mod parts;
pub(crate) mod raw;
pub(crate) mod stored;
pub(crate) mod tree;

use serde::{Serialize, de::DeserializeOwned};

use crate::error::CodecError;
use crate::model::{FormaCommand, ResourceUpdate};

pub use parts::{Part, decode_part, encode_part};
pub use stored::{
    CommandHead, decode_body, decode_head, decode_update_parts, encode_body, encode_head,
    encode_update_fixed, encode_update_progress, split_resource_update,
};

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
        .map_err(|e| CodecError::Decode { what: "raw JSON", message: describe(&e) })
}

pub(crate) fn decode<T: DeserializeOwned>(
    json: &[u8],
    what: &'static str,
) -> Result<T, CodecError> {
    // sonic-rs checks UTF-8 only in the strings it decodes itself, not in raw values it passes
    // through: check the whole input first.
    let text = std::str::from_utf8(json).map_err(|e| CodecError::Decode {
        what,
        message: format!("not UTF-8 at byte {}", e.valid_up_to()),
    })?;
    sonic_rs::from_str(text).map_err(|e| CodecError::Decode { what, message: describe(&e) })
}

/// A description of a sonic-rs error that never quotes the input (which may hold secrets):
/// sonic-rs's own message shows the bytes around the error, and serde's `invalid type`
/// messages quote the offending string.
pub(crate) fn describe(e: &sonic_rs::Error) -> String {
    let position = if e.line() == 0 {
        String::new()
    } else {
        format!(" at line {} column {}", e.line(), e.column())
    };
    if e.is_syntax() || e.is_eof() {
        let kind = if e.is_eof() { "unexpected end of JSON" } else { "invalid JSON syntax" };
        return format!("{kind}{position}");
    }
    let full = e.to_string();
    let head = full.split(" at line ").next().unwrap_or(&full);
    format!("{}{position}", redact_strings(head))
}

/// Replaces the text of serde's quoted strings (`string "..."`) with their length.
fn redact_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("string \"") {
        let (before, after) = rest.split_at(i + "string \"".len());
        out.push_str(before);
        match after.find("\", expected") {
            Some(end) => {
                out.push_str(&format!("<{end} bytes>\""));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("<redacted>\"");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

pub(crate) fn encode<T: Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<String, CodecError> {
    encode_sized(value, what, 128)
}

/// Encodes into a buffer of `capacity` bytes, sparing the reallocations of a growing buffer
/// when the size is known (a resource update re-encoded after a small change). Strings are
/// escaped as Go escapes them ([`go_escape::GoFormatter`]).
pub(crate) fn encode_sized<T: Serialize + ?Sized>(
    value: &T,
    what: &'static str,
    capacity: usize,
) -> Result<String, CodecError> {
    let mut buf = Vec::with_capacity(capacity);
    let mut serializer = sonic_rs::Serializer::with_formatter(&mut buf, go_escape::GoFormatter);
    raw::with_codec(|| value.serialize(&mut serializer))
        .map_err(|e| CodecError::Encode { what, message: describe(&e) })?;
    String::from_utf8(buf).map_err(|e| CodecError::Encode { what, message: e.to_string() })
}
