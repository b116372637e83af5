//! [`Timestamp`]: a point in time with Go's JSON form.

use std::fmt;

use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339, macros::datetime};

/// A timestamp encoded as Go encodes `time.Time`: RFC 3339 with nanoseconds, trailing zeros of
/// the fraction trimmed, `Z` for UTC. The zero value is `0001-01-01T00:00:00Z`.
///
/// The offset read from JSON is kept, so a stored value round-trips exactly; the persister
/// converts every timestamp it is given to UTC before storing it (D8), with
/// [`Message::normalize_utc`](crate::Message::normalize_utc).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Go's zero time, `0001-01-01T00:00:00Z`.
    pub const ZERO: Timestamp = Timestamp(datetime!(0001-01-01 0:00 UTC));

    /// The current time in UTC.
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    /// Wraps a `time` value.
    pub const fn from_datetime(t: OffsetDateTime) -> Self {
        Self(t)
    }

    /// The `time` value.
    pub const fn datetime(self) -> OffsetDateTime {
        self.0
    }

    /// True for Go's zero time (whatever the offset).
    pub fn is_zero(self) -> bool {
        self.0 == Self::ZERO.0
    }

    /// Parses an RFC 3339 timestamp with 0 to 9 fraction digits.
    ///
    /// # Errors
    /// [`TimestampError`], naming the text, when it is not RFC 3339.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Self)
            .map_err(|source| TimestampError { text: text.to_owned(), source })
    }

    /// Microseconds since the Unix epoch (UTC), for typed timestamp columns.
    pub fn unix_micros(self) -> i64 {
        let micros = self.0.unix_timestamp_nanos().div_euclid(1000);
        // Years 1 to 9999 span about ±3e17 microseconds, far inside i64.
        i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
    }

    /// The same instant in UTC.
    ///
    /// An instant whose UTC date falls after year 9999 (`9999-12-31T23:00:00-08:00`) cannot
    /// be represented in UTC and is returned unchanged.
    pub fn to_utc(self) -> Self {
        Self(self.0.checked_to_offset(UtcOffset::UTC).unwrap_or(self.0))
    }

    /// True when the offset is UTC, so the value encodes with `Z`.
    pub fn is_utc(self) -> bool {
        self.0.offset().is_utc()
    }
}

/// A text that is not an RFC 3339 timestamp, from [`Timestamp::parse`].
///
/// The text is a timestamp field of a message or of stored JSON, never a property value, so
/// the error names it.
#[derive(Debug, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {text:?}: {source}")]
pub struct TimestampError {
    /// The text that did not parse.
    pub text: String,
    /// Why it did not parse.
    #[source]
    pub source: time::error::Parse,
}

impl Default for Timestamp {
    fn default() -> Self {
        Self::ZERO
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Self(t)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0; UTC_TEXT_MAX];
        if let Some(text) = self.write_utc(&mut buf) {
            return s.serialize_str(text);
        }
        let text = self.0.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

/// The longest text [`Timestamp::write_utc`] writes: `9999-12-31T23:59:59.999999999Z`.
const UTC_TEXT_MAX: usize = 30;

impl Timestamp {
    /// Writes a UTC timestamp of years 0 to 9999 as RFC 3339 (fraction digits with trailing
    /// zeros trimmed, none for a whole second, then `Z`) into `buf`, as `time`'s `Rfc3339`
    /// formats it but without allocating: every message encodes several timestamps. `None`
    /// for any other value, which the caller formats with `time`.
    fn write_utc(self, buf: &mut [u8; UTC_TEXT_MAX]) -> Option<&str> {
        fn digits(out: &mut [u8], mut value: u32) {
            for slot in out.iter_mut().rev() {
                // A remainder of 10 is below 256.
                *slot = b'0' + u8::try_from(value % 10).unwrap_or(0);
                value /= 10;
            }
        }
        let t = self.0;
        if !t.offset().is_utc() || !(0..=9999).contains(&t.year()) {
            return None;
        }
        let year = u32::try_from(t.year()).ok()?;
        digits(&mut buf[0..4], year);
        buf[4] = b'-';
        digits(&mut buf[5..7], u32::from(u8::from(t.month())));
        buf[7] = b'-';
        digits(&mut buf[8..10], u32::from(t.day()));
        buf[10] = b'T';
        digits(&mut buf[11..13], u32::from(t.hour()));
        buf[13] = b':';
        digits(&mut buf[14..16], u32::from(t.minute()));
        buf[16] = b':';
        digits(&mut buf[17..19], u32::from(t.second()));
        let mut len = 19;
        let nanos = t.nanosecond();
        if nanos != 0 {
            buf[19] = b'.';
            digits(&mut buf[20..29], nanos);
            len = 29;
            while buf[len - 1] == b'0' {
                len -= 1;
            }
        }
        buf[len] = b'Z';
        std::str::from_utf8(&buf[..=len]).ok()
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = crate::codec::go_struct::Key::deserialize(d)?;
        Self::parse(key.as_str()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Rfc3339, Timestamp, UTC_TEXT_MAX};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        /// The text written without allocating is exactly `time`'s RFC 3339, whole seconds,
        /// trailing zeros and the edges of the years it covers included.
        #[test]
        fn prop_utc_text_is_times_rfc3339(
            secs in -62_167_219_200_i64..253_402_300_800,
            nanos in prop_oneof![Just(0_u32), 0_u32..1_000_000_000, (0_u32..1000).prop_map(|n| n * 1_000_000)],
        ) {
            let t = time::OffsetDateTime::from_unix_timestamp(secs).expect("in range")
                + time::Duration::nanoseconds(i64::from(nanos));
            let mut buf = [0; UTC_TEXT_MAX];
            let fast = Timestamp(t).write_utc(&mut buf).map(str::to_owned);
            prop_assert_eq!(fast, t.format(&Rfc3339).ok());
        }
    }

    #[test]
    fn other_offsets_and_years_are_left_to_time() {
        let mut buf = [0; UTC_TEXT_MAX];
        let offset = time::macros::datetime!(2025-01-02 03:04:05.5 +02:00);
        assert_eq!(Timestamp(offset).write_utc(&mut buf), None);
        assert_eq!(Timestamp::ZERO.write_utc(&mut buf), Some("0001-01-01T00:00:00Z"));
    }
}
