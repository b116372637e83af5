//! Connection URL surgery: pointing a URL at another database (messages hide passwords with
//! [`persister_postgres::redact_url`]).

use persister_postgres::redact_url;

/// `url` with its database (the path) replaced by `name`; a `dbname=` query parameter, which
/// would override the path, is removed.
pub(super) fn with_database(url: &str, name: &str) -> Result<String, String> {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = head
        .split_once("://")
        .ok_or_else(|| format!("not a postgres:// URL: {}", redact_url(url)))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let mut out = format!("{scheme}://{authority}/{name}");
    let params: Vec<&str> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty() && !p.starts_with("dbname="))
        .collect();
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_point_at_the_test_database() {
        let cases = [
            ("postgres://u:p@h:5432/postgres", "postgres://u:p@h:5432/t1"),
            ("postgres://u@h", "postgres://u@h/t1"),
            ("postgresql://u@h/db?sslmode=disable", "postgresql://u@h/t1?sslmode=disable"),
            ("postgres://u@h/db?dbname=x&sslmode=disable", "postgres://u@h/t1?sslmode=disable"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "t1").as_deref(), Ok(expected), "{url}");
        }
        assert!(with_database("host=h user=u", "t1").is_err());
    }
}
