//! [`GoFormatter`]: sonic-rs output with the string escaping of Go's `encoding/json`.
//!
//! Go escapes, beyond what JSON requires, the HTML-sensitive `<`, `>` and `&` and the
//! JavaScript line separators U+2028 and U+2029, as `\u003c`, `\u003e`, `\u0026`, `\u2028` and
//! `\u2029`. The formatter does the same for every string the codec writes, so a document the
//! Go agent wrote re-encodes to the same bytes. Raw JSON values are written as they are
//! (`write_raw_value` is not overridden): unchanged raw bytes stay byte for byte.

use std::io;

use sonic_rs::format::{CompactFormatter, Formatter};
use sonic_rs::writer::WriteExt;

/// The compact formatter, with Go's extra string escapes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GoFormatter;

/// Go's escape for `c`, when Go escapes it and JSON does not require it.
fn go_escape(c: char) -> Option<&'static str> {
    match c {
        '<' => Some("\\u003c"),
        '>' => Some("\\u003e"),
        '&' => Some("\\u0026"),
        '\u{2028}' => Some("\\u2028"),
        '\u{2029}' => Some("\\u2029"),
        _ => None,
    }
}

impl Formatter for GoFormatter {
    fn write_string_fast<W>(
        &mut self,
        writer: &mut W,
        value: &str,
        need_quote: bool,
    ) -> io::Result<()>
    where
        W: ?Sized + WriteExt,
    {
        // 0xE2 leads the UTF-8 encodings of U+2028 and U+2029 (and of other characters, which
        // only cost the slower path below).
        if !value.bytes().any(|b| matches!(b, b'<' | b'>' | b'&' | 0xE2)) {
            return CompactFormatter.write_string_fast(writer, value, need_quote);
        }
        if need_quote {
            writer.write_all(b"\"")?;
        }
        let mut start = 0;
        for (i, c) in value.char_indices() {
            if let Some(escape) = go_escape(c) {
                CompactFormatter.write_string_fast(writer, &value[start..i], false)?;
                writer.write_all(escape.as_bytes())?;
                start = i + c.len_utf8();
            }
        }
        CompactFormatter.write_string_fast(writer, &value[start..], false)?;
        if need_quote {
            writer.write_all(b"\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> String {
        let mut out = Vec::new();
        GoFormatter.write_string_fast(&mut out, s, true).expect("writes to a vector");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn escapes_as_go_does() {
        let cases = [
            ("plain", r#""plain""#),
            ("", r#""""#),
            ("a<b>c&d", r#""a\u003cb\u003ec\u0026d""#),
            ("<", r#""\u003c""#),
            ("line\u{2028}para\u{2029}", r#""line\u2028para\u2029""#),
            ("quote\" back\\ nl\n tab\t", r#""quote\" back\\ nl\n tab\t""#),
            ("\u{8}\u{c}\u{1}", r#""\b\f\u0001""#),
            ("€ — é 😀", "\"€ — é 😀\""),
            ("<\"&\n>", r#""\u003c\"\u0026\n\u003e""#),
        ];
        for (input, expected) in cases {
            assert_eq!(string(input), expected, "{input:?}");
        }
    }
}
