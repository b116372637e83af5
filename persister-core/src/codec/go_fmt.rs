//! Go's `%v` string form of a JSON value decoded into `any`, used as the input of opaque
//! value hashing so that digests equal the Go agent's.

use std::fmt::Write as _;

use super::tree::{self, Kind, Node};
use crate::error::CodecError;

/// Go's `fmt.Sprintf("%v", v)` of the value `json.Unmarshal` gives for `node`.
///
/// Numbers are float64 (`1000000` is `1e+06`), strings are unquoted, objects are
/// `map[k:v ...]` with keys sorted, arrays `[a b]` and null `<nil>`. An unexpanded value
/// is parsed from its text first.
///
/// # Errors
/// [`CodecError::Decode`] when an unexpanded value's text is not valid JSON.
pub(crate) fn format_v(node: &Node<'_>) -> Result<String, CodecError> {
    let mut out = String::new();
    write_v(&mut out, node)?;
    Ok(out)
}

fn write_v(out: &mut String, node: &Node<'_>) -> Result<(), CodecError> {
    match &node.kind {
        Kind::Unexpanded => write_v(out, &tree::parse_value(&node.raw, "opaque value")?)?,
        Kind::Null => out.push_str("<nil>"),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Number(n) => out.push_str(&format_float(*n)),
        Kind::String(s) => out.push_str(s),
        Kind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, item)?;
            }
            out.push(']');
        }
        Kind::Object(members) => {
            // Go decodes into a map: the last duplicate wins, and %v sorts keys bytewise.
            let mut sorted: Vec<&(String, Node<'_>)> = Vec::with_capacity(members.len());
            for m in members.iter().rev() {
                if !sorted.iter().any(|s| s.0 == m.0) {
                    sorted.push(m);
                }
            }
            sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push_str("map[");
            for (i, (k, v)) in sorted.iter().map(|m| (&m.0, &m.1)).enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, v)?;
            }
            out.push(']');
        }
    }
    Ok(())
}

/// Go's `%v` of a float64: shortest round-trip digits, exponent form when the decimal exponent
/// is below -4 or at least 6, exponent with a sign and at least two digits.
pub(crate) fn format_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "d.ddde<exp>".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
    } else if exp >= 0 {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', usize::try_from(-exp - 1).unwrap_or(0)));
        out.push_str(&digits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{format_float, format_v};
    use crate::codec::tree;

    fn check(json: &str, expected: &str) {
        let node = tree::parse(json, "test").expect("valid json");
        assert_eq!(format_v(&node).expect("formats"), expected, "json {json}");
    }

    #[test]
    fn values() {
        check(r#""secret""#, "secret");
        check("42", "42");
        check("true", "true");
        check("false", "false");
        check("3.5", "3.5");
        check("1000000", "1e+06");
        check("123456", "123456");
        check("1234567", "1.234567e+06");
        check("100000", "100000");
        check("0.0001", "0.0001");
        check("0.00001", "1e-05");
        check("-2", "-2");
        check("1.0", "1");
        check("1e21", "1e+21");
        check("12345678901234567890", "1.2345678901234567e+19");
        check(r#"{"b":"x","a":1}"#, "map[a:1 b:x]");
        check(r#"["x",1]"#, "[x 1]");
        check(r#"{"a":{"c":null,"b":[1,2.5]}}"#, "map[a:map[b:[1 2.5] c:<nil>]]");
        check("null", "<nil>");
        check(r#"{"a":1,"a":2}"#, "map[a:2]");
        check(r#""a\"b\u00e9""#, "a\"bé");
    }

    #[test]
    fn floats() {
        assert_eq!(format_float(-0.0), "-0");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(-1234567.0), "-1.234567e+06");
        assert_eq!(format_float(1e100), "1e+100");
        assert_eq!(format_float(999999.0), "999999");
        assert_eq!(format_float(0.000123), "0.000123");
    }
}
