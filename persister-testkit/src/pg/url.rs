//! Connection URL surgery: pointing a URL at another database (messages hide passwords with
//! [`persister_postgres::redact_url`]).

use persister_postgres::redact_url;

/// The scheme, what follows `://` up to the query, and the query of `url`.
fn split(url: &str) -> Result<(&str, &str, Option<&str>), String> {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = head
        .split_once("://")
        .ok_or_else(|| format!("not a postgres:// URL: {}", redact_url(url)))?;
    Ok((scheme, rest, query))
}

/// `url` with its database (the path) replaced by `name`; a `dbname=` query parameter, which
/// would override the path, is removed.
pub(super) fn with_database(url: &str, name: &str) -> Result<String, String> {
    let (scheme, rest, query) = split(url)?;
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

/// The `host:port` of `url` (port 5432 when absent), and `url` pointed at `via` instead, with
/// `sslmode=disable` (a proxy in between does not speak TLS).
pub(super) fn through(url: &str, via: std::net::SocketAddr) -> Result<(String, String), String> {
    let (scheme, rest, query) = split(url)?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    if host.is_empty() || host.contains(',') {
        return Err(format!("a proxy needs one TCP host in {}", redact_url(url)));
    }
    let upstream = if host.contains(':') { host.to_owned() } else { format!("{host}:5432") };
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    let mut params: Vec<&str> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty() && !p.starts_with("sslmode="))
        .collect();
    params.push("sslmode=disable");
    Ok((upstream, format!("{scheme}://{user}{via}/{path}?{}", params.join("&"))))
}

/// The user and password of `url`'s user info (user `postgres` when it names none).
pub(super) fn user_info(url: &str) -> (String, Option<String>) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    match authority.rsplit_once('@').map(|(info, _)| info.split_once(':')) {
        Some(Some((user, password))) => (user.to_owned(), Some(password.to_owned())),
        Some(None) => (authority.rsplit_once('@').map_or("", |a| a.0).to_owned(), None),
        None => ("postgres".to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_read_from_the_authority() {
        assert_eq!(user_info("postgres://u:pw@h/db"), ("u".into(), Some("pw".into())));
        assert_eq!(user_info("postgres://u@h:5/db?x=1"), ("u".into(), None));
        assert_eq!(user_info("postgres://h/db"), ("postgres".into(), None));
    }

    #[test]
    fn urls_go_through_a_proxy() {
        let via: std::net::SocketAddr = "127.0.0.1:7000".parse().expect("an address");
        let cases = [
            (
                "postgres://u:p@h:5433/db",
                "h:5433",
                "postgres://u:p@127.0.0.1:7000/db?sslmode=disable",
            ),
            (
                "postgres://u@h/db?sslmode=require&x=1",
                "h:5432",
                "postgres://u@127.0.0.1:7000/db?x=1&sslmode=disable",
            ),
        ];
        for (url, upstream, proxied) in cases {
            assert_eq!(through(url, via), Ok((upstream.to_owned(), proxied.to_owned())), "{url}");
        }
        assert!(through("postgres://u@h1,h2/db", via).is_err());
    }

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
