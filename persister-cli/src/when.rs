//! Time bounds on the command line: an RFC 3339 time, a date, or a duration before now.

use persister_core::Timestamp;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Parses `text` as an RFC 3339 time (`2026-12-01T08:00:00Z`), a date (`2026-12-01`, midnight
/// UTC), or a duration before now (`7d`, `36h`, `90m`, `2weeks`).
///
/// # Errors
/// A message naming the text and the three accepted forms.
pub(crate) fn parse_when(text: &str) -> Result<Timestamp, String> {
    parse_at(text, OffsetDateTime::now_utc())
}

/// [`parse_when`] with `now` given.
pub(crate) fn parse_at(text: &str, now: OffsetDateTime) -> Result<Timestamp, String> {
    if let Ok(t) = Timestamp::parse(text) {
        return Ok(t.to_utc());
    }
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Ok(Timestamp::from_datetime(date.midnight().assume_utc()));
    }
    let duration = humantime::parse_duration(text).map_err(|_| {
        format!(
            "{text:?} is neither a time (2026-12-01T08:00:00Z), a date (2026-12-01) nor a duration (7d, 36h)"
        )
    })?;
    let duration = time::Duration::try_from(duration)
        .map_err(|_| format!("the duration {text:?} is too long"))?;
    now.checked_sub(duration)
        .map(Timestamp::from_datetime)
        .ok_or_else(|| format!("the duration {text:?} reaches before year 1"))
}

#[cfg(test)]
mod tests {
    use super::parse_at;
    use time::macros::datetime;

    #[test]
    fn times_dates_and_durations() {
        let now = datetime!(2026-12-03 12:00 UTC);
        let at = |text: &str| parse_at(text, now).map(|t| t.to_string());
        assert_eq!(at("2026-12-01T08:00:00-08:00").as_deref(), Ok("2026-12-01T16:00:00Z"));
        assert_eq!(at("2026-12-01").as_deref(), Ok("2026-12-01T00:00:00Z"));
        assert_eq!(at("7d").as_deref(), Ok("2026-11-26T12:00:00Z"));
        assert_eq!(at("36h").as_deref(), Ok("2026-12-02T00:00:00Z"));
        assert!(at("yesterday").is_err_and(|e| e.contains("neither a time")));
        assert!(at("99999999999999d").is_err());
    }
}
