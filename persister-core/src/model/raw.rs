//! [`RawJson`]: a JSON value kept byte for byte, like Go's `json.RawMessage`.

use std::fmt;

use crate::error::CodecError;

/// A JSON value kept exactly as received (whitespace, key order and number spelling included).
///
/// Model fields that Go declares as `json.RawMessage` use `Option<RawJson>`: `None` is Go's nil
/// (written as `null`, or omitted where Go has `omitempty`), and a JSON `null` in the input is
/// kept as the raw value `null`, as Go does.
///
/// `Debug` prints only the length: raw values may hold secrets.
///
/// `Serialize` writes correct JSON with any serializer. The [`codec`](crate::codec) writes
/// the text byte for byte; another serializer (`serde_json::to_string`, or sonic-rs called
/// directly) gets the value parsed, with its key order but with numbers as `i64`, `u64` or
/// `f64` and whitespace dropped, so use the codec where bytes matter.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Wraps `text` after checking that it is exactly one valid JSON value.
    ///
    /// # Errors
    /// [`CodecError::Decode`] when `text` is not valid JSON.
    pub fn new(text: impl Into<String>) -> Result<Self, CodecError> {
        let text: String = text.into();
        crate::codec::validate_json(&text)?;
        Ok(Self(text.into_boxed_str()))
    }

    /// Wraps text that the codec has already validated.
    pub(crate) fn from_valid(text: String) -> Self {
        Self(text.into_boxed_str())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the value is the literal `null`.
    pub fn is_null(&self) -> bool {
        self.0.trim() == "null"
    }

    /// Length of the JSON text in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a valid JSON value is never empty. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson(<{} bytes>)", self.0.len())
    }
}

impl std::str::FromStr for RawJson {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl serde::Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::codec::raw::serialize_raw(&self.0, s)
    }
}

impl<'de> serde::Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::codec::raw::deserialize_raw(d).map(Self::from_valid)
    }
}
