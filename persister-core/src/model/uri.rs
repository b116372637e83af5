//! KSUID extraction from `formae://` URIs.

/// The KSUID named by a `formae://<ksuid>#...` URI.
///
/// Returns `""` when the URI does not start with `formae://` or has no `#`; the KSUID is the
/// text before the first `#` and is not validated (so `formae://#` names the empty KSUID).
///
/// ```
/// use persister_core::ksuid_from_uri;
/// assert_eq!(ksuid_from_uri("formae://2qJabc#/Tags/0"), "2qJabc");
/// assert_eq!(ksuid_from_uri("formae://2qJabc"), "");
/// assert_eq!(ksuid_from_uri("http://x#"), "");
/// ```
pub fn ksuid_from_uri(uri: &str) -> &str {
    uri.strip_prefix("formae://")
        .and_then(|rest| rest.split_once('#'))
        .map_or("", |(ksuid, _)| ksuid)
}

#[cfg(test)]
mod tests {
    use super::ksuid_from_uri;

    fn check(uri: &str, expected: &str) {
        assert_eq!(ksuid_from_uri(uri), expected, "uri {uri:?}");
    }

    #[test]
    fn table() {
        check("formae://abc#", "abc");
        check("formae://abc#/a/b#c", "abc");
        check("formae://#", "");
        check("formae://abc", "");
        check("formae:/abc#", "");
        check("", "");
        check("FORMAE://abc#", "");
    }
}
