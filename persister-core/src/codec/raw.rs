//! Byte-exact passthrough of raw JSON values through sonic-rs.

use serde::{Deserialize, Serialize};
use sonic_rs::LazyValue;

/// Writes `raw` (valid JSON) into the output unchanged.
pub(crate) fn serialize_raw<S: serde::Serializer>(raw: &str, s: S) -> Result<S::Ok, S::Error> {
    let lazy = sonic_rs::get_from_str(raw, std::iter::empty::<usize>())
        .map_err(serde::ser::Error::custom)?;
    lazy.serialize(s)
}

/// Reads one JSON value and returns its exact text.
pub(crate) fn deserialize_raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let lazy = LazyValue::<'de>::deserialize(d)?;
    Ok(lazy.as_raw_str().to_owned())
}
