//! Byte-exact passthrough of raw JSON values through sonic-rs.

use serde::Deserialize;
use serde::ser::SerializeStruct;
use sonic_rs::LazyValue;

/// The struct name sonic-rs's serializer recognises to write a field's text verbatim (what
/// `sonic_rs::LazyValue` itself serializes as). Writing it directly avoids re-scanning text
/// that was validated when the value was built. `go_written_documents_reencode_byte_for_byte`
/// and the raw round-trip tests fail if a sonic-rs upgrade changes it.
const RAW_TOKEN: &str = "$sonic_rs::LazyValue";

/// Writes `raw` (valid JSON) into the output unchanged.
pub(crate) fn serialize_raw<S: serde::Serializer>(raw: &str, s: S) -> Result<S::Ok, S::Error> {
    let mut st = s.serialize_struct(RAW_TOKEN, 1)?;
    st.serialize_field(RAW_TOKEN, raw)?;
    st.end()
}

/// Reads one JSON value and returns its exact text.
pub(crate) fn deserialize_raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let lazy = LazyValue::<'de>::deserialize(d)?;
    Ok(lazy.as_raw_str().to_owned())
}
