//! Hashing of opaque values inside raw JSON (decision D6, reference section 3).
//!
//! An envelope is an object whose `$visibility` is the string `Opaque`. Its `$value` becomes
//! the lowercase hex SHA-256 of Go's `%v` string form of the value, and it gains
//! `"$hashed": true`; marked envelopes are never hashed again. The walk reaches every depth,
//! array elements included. Only the envelopes on the path to a change are re-encoded: every
//! other byte of the input is kept, and JSON without envelopes is returned unchanged.

use sha2::{Digest, Sha256};

use crate::codec::go_fmt::format_v;
use crate::codec::tree::{self, Kind, Node, encode_string};
use crate::error::CodecError;
use crate::model::RawJson;

/// Hashes the opaque values of a properties document.
///
/// `names` are top-level property names hashed even when bare. Returns `None` when nothing
/// changed (the input is then to be kept byte for byte).
pub(crate) fn hash_properties(
    raw: &RawJson,
    names: &[String],
    what: &'static str,
) -> Result<Option<RawJson>, CodecError> {
    if names.is_empty() && !might_hold_envelope(raw.as_str()) {
        return Ok(None);
    }
    // Only the values on the way to an envelope are parsed; the names opaque when bare are
    // top-level members, which the root's parse lists.
    let root = tree::parse_pruned(raw, what, might_hold_envelope)?;
    Ok(rewrite(&root, Depth::Top(names))?.map(RawJson::from_valid))
}

/// [`hash_properties`] over a tree parsed whole, for tests that check that parsing only the
/// way to the envelopes changes nothing.
#[cfg(test)]
pub(crate) fn hash_properties_parsed_whole(
    raw: &RawJson,
    names: &[String],
) -> Result<Option<RawJson>, CodecError> {
    let root = tree::parse(raw.as_str(), "Properties")?;
    Ok(rewrite(&root, Depth::Top(names))?.map(RawJson::from_valid))
}

/// Hashes the values of an RFC 6902 patch document structurally: an op's value is hashed when
/// it is an envelope, or wrapped as a hashed envelope when its path names an opaque property
/// (a name in `names`, or an envelope in `properties`).
pub(crate) fn hash_patch(
    raw: &RawJson,
    properties: Option<&RawJson>,
    names: &[String],
) -> Result<Option<RawJson>, CodecError> {
    let props_may_hold = properties.is_some_and(|p| might_hold_envelope(p.as_str()));
    if names.is_empty() && !props_may_hold && !might_hold_envelope(raw.as_str()) {
        return Ok(None);
    }
    let doc = tree::parse(raw.as_str(), "PatchDocument")?;
    let props = match properties {
        Some(p) if props_may_hold => {
            Some(tree::parse_pruned(p, "Properties", might_hold_envelope)?)
        }
        _ => None,
    };
    let Kind::Array(ops) = &doc.kind else {
        return Ok(rewrite(&doc, Depth::Nested)?.map(RawJson::from_valid));
    };
    let mut changed = false;
    let mut parts = Vec::with_capacity(ops.len());
    for op in ops {
        let new_op = match (&op.kind, op.get("value")) {
            (Kind::Object(members), Some(value)) => {
                let path = op.get("path").and_then(Node::as_str).unwrap_or("");
                let new_value = if is_envelope(value) {
                    hash_envelope(value)?
                } else if !value.is_null() && path_is_opaque(path, props.as_ref(), names) {
                    Some(wrap_bare(value)?)
                } else {
                    rewrite(value, Depth::Nested)?
                };
                new_value.map(|v| {
                    object_text(members.iter().map(|(k, n)| {
                        let text: &str = if k == "value" { &v } else { n.raw.trim() };
                        (k.as_str(), text)
                    }))
                })
            }
            _ => rewrite(op, Depth::Nested)?,
        };
        changed |= new_op.is_some();
        parts.push(new_op.unwrap_or_else(|| op.raw.trim().to_owned()));
    }
    Ok(changed.then(|| RawJson::from_valid(format!("[{}]", parts.join(",")))))
}

/// A cheap test that rules out most documents, and most values of a document, without parsing
/// them: an envelope's key `$visibility` is spelled out, or escaped with `\u`.
fn might_hold_envelope(raw: &str) -> bool {
    raw.contains("visibility") || raw.contains("\\u")
}

#[derive(Clone, Copy)]
enum Depth<'n> {
    /// The top level of a properties object, with the names opaque even when bare.
    Top(&'n [String]),
    /// Anywhere else.
    Nested,
}

/// Returns the new text of `node` if any opaque value inside it was hashed. A value left
/// unexpanded holds no envelope (see [`might_hold_envelope`]) and is never rewritten.
fn rewrite(node: &Node<'_>, depth: Depth<'_>) -> Result<Option<String>, CodecError> {
    match &node.kind {
        Kind::Object(members) => {
            if matches!(depth, Depth::Nested) && is_envelope(node) {
                return hash_envelope(node);
            }
            let names = match depth {
                Depth::Top(names) => names,
                Depth::Nested => &[],
            };
            // The new texts of the members that change; the others are written as they are.
            let mut new_texts: Vec<Option<String>> = Vec::with_capacity(members.len());
            for (k, v) in members {
                let bare_opaque = names.iter().any(|n| n == k) && !is_envelope(v) && !v.is_null();
                new_texts.push(if bare_opaque {
                    Some(wrap_bare(v)?)
                } else {
                    rewrite(v, Depth::Nested)?
                });
            }
            if new_texts.iter().all(Option::is_none) {
                return Ok(None);
            }
            Ok(Some(object_text(members.iter().zip(&new_texts).map(|((k, v), new)| {
                (k.as_str(), new.as_deref().unwrap_or_else(|| v.raw.trim()))
            }))))
        }
        Kind::Array(items) => {
            let mut new_texts: Vec<Option<String>> = Vec::with_capacity(items.len());
            for item in items {
                new_texts.push(rewrite(item, Depth::Nested)?);
            }
            if new_texts.iter().all(Option::is_none) {
                return Ok(None);
            }
            let mut out = String::with_capacity(node.raw.len() + 64);
            out.push('[');
            for (i, (item, new)) in items.iter().zip(&new_texts).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(new.as_deref().unwrap_or_else(|| item.raw.trim()));
            }
            out.push(']');
            Ok(Some(out))
        }
        _ => Ok(None),
    }
}

/// True for an object whose `$visibility` is the string `Opaque`.
pub(crate) fn is_envelope(node: &Node<'_>) -> bool {
    node.get("$visibility").and_then(Node::as_str) == Some("Opaque")
}

fn is_marked(node: &Node<'_>) -> bool {
    node.get("$hashed").is_some_and(|n| matches!(n.kind, Kind::Bool(true)))
}

/// The hashed text of an envelope, or `None` when it is already marked as hashed.
fn hash_envelope(node: &Node<'_>) -> Result<Option<String>, CodecError> {
    if is_marked(node) {
        return Ok(None);
    }
    let Some(members) = node.members() else { return Ok(None) };
    let new_value = node.get("$value").map(digest_text).transpose()?;
    let texts = members.iter().filter(|(k, _)| k != "$hashed").map(|(k, v)| {
        match (k.as_str(), &new_value) {
            ("$value", Some(new)) => (k.as_str(), new.as_str()),
            _ => (k.as_str(), v.raw.trim()),
        }
    });
    Ok(Some(object_text(texts.chain([("$hashed", "true")]))))
}

/// A hashed envelope around a bare value of a property that is opaque by name.
fn wrap_bare(value: &Node<'_>) -> Result<String, CodecError> {
    let digest = digest_text(value)?;
    Ok(object_text([
        ("$value", digest.as_str()),
        ("$visibility", "\"Opaque\""),
        ("$hashed", "true"),
    ]))
}

/// The JSON text that replaces a secret: `null` stays `null`, a value whose string form is
/// empty becomes `""`, anything else the hex SHA-256 of its string form.
fn digest_text(value: &Node<'_>) -> Result<String, CodecError> {
    if value.is_null() {
        return Ok("null".to_owned());
    }
    let s = format_v(value)?;
    if s.is_empty() {
        return Ok("\"\"".to_owned());
    }
    Ok(encode_string(&sha256_hex(&s)))
}

/// Lowercase hex SHA-256 of `s`.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The compact text of an object of these members (key, value text), in one buffer.
fn object_text<'t>(members: impl IntoIterator<Item = (&'t str, &'t str)>) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // A key of printable ASCII that neither JSON nor Go escapes is written as it is.
        let plain = key.bytes().all(|b| (0x20..0x7f).contains(&b) && !b"\"\\<>&".contains(&b));
        if plain {
            out.push('"');
            out.push_str(key);
            out.push('"');
        } else {
            out.push_str(&encode_string(key));
        }
        out.push(':');
        out.push_str(value);
    }
    out.push('}');
    out
}

/// True when a JSON pointer names an opaque property: its first segment is an opaque name, or
/// it reaches (or passes through) an envelope in `properties`.
fn path_is_opaque(path: &str, properties: Option<&Node<'_>>, names: &[String]) -> bool {
    let mut segments = path.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~"));
    let Some(first) = segments.next() else { return false };
    if names.contains(&first) {
        return true;
    }
    let Some(mut node) = properties else { return false };
    for segment in std::iter::once(first).chain(segments) {
        let next = match &node.kind {
            Kind::Object(_) => node.get(&segment),
            Kind::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) if is_envelope(n) => return true,
            Some(n) => node = n,
            None => return false,
        }
    }
    false
}
