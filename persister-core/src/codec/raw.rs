//! Byte-exact passthrough of raw JSON values through sonic-rs.
//!
//! The passthrough relies on a token only sonic-rs's serializer understands, so it is used
//! only while the codec itself encodes ([`with_codec`]); any other serializer (serde_json,
//! or sonic-rs called directly) gets the raw value as a structure, which is correct JSON.

use std::cell::Cell;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};
use sonic_rs::LazyValue;

thread_local! {
    /// True while [`with_codec`] runs on this thread: the serializer is the codec's own.
    static CODEC_SERIALIZER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `encode`, which serializes with the codec's sonic-rs serializer, so that raw values
/// are written byte for byte. Serialization is synchronous, so the thread-local flag covers
/// exactly the values `encode` serializes; it is restored on return, even by a panic.
pub(crate) fn with_codec<R>(encode: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CODEC_SERIALIZER.with(|flag| flag.set(self.0));
        }
    }
    let _restore = Restore(CODEC_SERIALIZER.with(|flag| flag.replace(true)));
    encode()
}

/// The struct name sonic-rs's serializer recognises to write a field's text verbatim (what
/// `sonic_rs::LazyValue` itself serializes as). Writing it directly avoids re-scanning text
/// that was validated when the value was built. `go_written_documents_reencode_byte_for_byte`
/// and the raw round-trip tests fail if a sonic-rs upgrade changes it.
const RAW_TOKEN: &str = "$sonic_rs::LazyValue";

/// Writes `raw` (valid JSON) into the output unchanged when the codec encodes; for any other
/// serializer, parses it and serializes the value (key order kept; a number is written as
/// the serializer writes an `i64`, `u64` or `f64`, so digits beyond `f64` precision and the
/// original spelling are not kept: the codec is the byte-exact path).
pub(crate) fn serialize_raw<S: serde::Serializer>(raw: &str, s: S) -> Result<S::Ok, S::Error> {
    if !CODEC_SERIALIZER.with(Cell::get) {
        let value: sonic_rs::Value = sonic_rs::from_str(raw).map_err(serde::ser::Error::custom)?;
        return value.serialize(s);
    }
    let mut st = s.serialize_struct(RAW_TOKEN, 1)?;
    st.serialize_field(RAW_TOKEN, raw)?;
    st.end()
}

/// Reads one JSON value and returns its exact text.
pub(crate) fn deserialize_raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let lazy = LazyValue::<'de>::deserialize(d)?;
    Ok(lazy.as_raw_str().to_owned())
}
