//! A small JSON tree that keeps each value's exact text, for rewriting only what changes.

use std::borrow::Cow;

use sonic_rs::LazyValue;

use crate::error::CodecError;
use crate::model::RawJson;

/// A parsed JSON value together with its exact text.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    /// The value's text exactly as it appears in the input.
    pub(crate) raw: Cow<'a, str>,
    /// The parsed value.
    pub(crate) kind: Kind<'a>,
}

/// The kinds of JSON value.
#[derive(Debug)]
pub(crate) enum Kind<'a> {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Node<'a>>),
    Object(Vec<(String, Node<'a>)>),
    /// A value [`parse_pruned`] left unparsed: only its text is known.
    Unexpanded,
}

impl<'a> Node<'a> {
    /// Members of an object, or `None` for other kinds.
    pub(crate) fn members(&self) -> Option<&[(String, Node<'a>)]> {
        match &self.kind {
            Kind::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The last member named `key` of an object (Go keeps the last duplicate).
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.members()?.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// True for `null`, parsed or not.
    pub(crate) fn is_null(&self) -> bool {
        match self.kind {
            Kind::Null => true,
            Kind::Unexpanded => self.raw.trim() == "null",
            _ => false,
        }
    }

    /// The string value, or `None` for other kinds.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses `raw` into a [`Node`] tree.
pub(crate) fn parse<'a>(raw: &'a str, what: &'static str) -> Result<Node<'a>, CodecError> {
    crate::codec::validate_json(raw)?;
    build(raw, what, |_| true)
}

/// Parses `raw` into a [`Node`] tree that expands the root, every scalar of an expanded value,
/// and the arrays and objects whose text `expand` accepts: every other one is
/// [`Kind::Unexpanded`], so a caller looking for something rare pays for the path to it, not
/// for the whole document. [`parse_value`] parses an unexpanded value when it is needed.
///
/// A [`RawJson`] is valid JSON whatever made it (decoding validates raw values), so it is not
/// validated again.
pub(crate) fn parse_pruned<'a>(
    raw: &'a RawJson,
    what: &'static str,
    expand: fn(&str) -> bool,
) -> Result<Node<'a>, CodecError> {
    build(raw.as_str(), what, expand)
}

/// Parses the whole text of a value of a tree that [`parse`] or [`parse_pruned`] returned
/// (so already validated), such as an [`Kind::Unexpanded`] one.
pub(crate) fn parse_value<'a>(text: &'a str, what: &'static str) -> Result<Node<'a>, CodecError> {
    build(text, what, |_| true)
}

fn build<'a>(
    text: &'a str,
    what: &'static str,
    expand: fn(&str) -> bool,
) -> Result<Node<'a>, CodecError> {
    let err = |message: String| CodecError::Decode { what, message };
    let sonic = |e: sonic_rs::Error| CodecError::Decode { what, message: super::describe(&e) };
    let kind = match text.trim_start().as_bytes().first() {
        Some(b'{') => {
            let mut members = Vec::new();
            for item in sonic_rs::to_object_iter(text) {
                let (key, value) = item.map_err(sonic)?;
                members.push((key.to_string(), child(&value, what, expand)?));
            }
            Kind::Object(members)
        }
        Some(b'[') => {
            let mut items = Vec::new();
            for item in sonic_rs::to_array_iter(text) {
                let value = item.map_err(sonic)?;
                items.push(child(&value, what, expand)?);
            }
            Kind::Array(items)
        }
        Some(b'"') => Kind::String(sonic_rs::from_str::<String>(text).map_err(sonic)?),
        Some(b't') => Kind::Bool(true),
        Some(b'f') => Kind::Bool(false),
        Some(b'n') => Kind::Null,
        Some(_) => Kind::Number(
            text.trim().parse::<f64>().map_err(|e| err(format!("invalid number: {e}")))?,
        ),
        None => return Err(err("empty value".into())),
    };
    Ok(Node { raw: Cow::Borrowed(text), kind })
}

/// Builds the node of a member or element, borrowing the input where the parser allows it;
/// unexpanded when `expand` refuses its text.
fn child<'a>(
    value: &LazyValue<'a>,
    what: &'static str,
    expand: fn(&str) -> bool,
) -> Result<Node<'a>, CodecError> {
    let raw = value.as_raw_cow();
    // Scalars are always parsed: only arrays and objects hold what a caller may look for.
    let container = matches!(raw.trim_start().as_bytes().first(), Some(b'{' | b'['));
    if container && !expand(&raw) {
        return Ok(Node { raw, kind: Kind::Unexpanded });
    }
    match raw {
        Cow::Borrowed(text) => build(text, what, expand),
        Cow::Owned(text) => build(&text, what, expand).map(into_owned),
    }
}

/// Copies a node out of a temporary buffer.
fn into_owned(node: Node<'_>) -> Node<'static> {
    let kind = match node.kind {
        Kind::Null => Kind::Null,
        Kind::Bool(b) => Kind::Bool(b),
        Kind::Number(n) => Kind::Number(n),
        Kind::String(s) => Kind::String(s),
        Kind::Array(items) => Kind::Array(items.into_iter().map(into_owned).collect()),
        Kind::Object(members) => {
            Kind::Object(members.into_iter().map(|(k, v)| (k, into_owned(v))).collect())
        }
        Kind::Unexpanded => Kind::Unexpanded,
    };
    Node { raw: Cow::Owned(node.raw.into_owned()), kind }
}

/// Encodes `s` as a JSON string literal.
pub(crate) fn encode_string(s: &str) -> String {
    super::encode(s, "string").unwrap_or_else(|_| format!("{s:?}"))
}
