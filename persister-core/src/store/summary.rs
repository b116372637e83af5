//! What the operator listings and retention return: [`CommandSummary`] pages with their
//! [`Cursor`], [`PurgedCommand`] and [`StoreInfo`], and the exact-time keys they order by.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::{CommandKind, CommandState, ResourceUpdateState, Timestamp};

use super::StoreResult;

/// One command as [`CommandStore::list_summaries`](super::CommandStore::list_summaries) lists
/// it: header columns, counts and size, read without any of the command's JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandSummary {
    /// The command id.
    pub id: String,
    /// The command kind.
    pub command: CommandKind,
    /// The command state.
    pub state: CommandState,
    /// The client id (empty for a command stored without one or with a NULL column).
    pub client_id: String,
    /// `StartTs`, exact to the nanosecond, in UTC.
    pub start_ts: Timestamp,
    /// `ModifiedTs`, exact to the nanosecond, in UTC.
    pub modified_ts: Timestamp,
    /// How many resource updates the command has.
    pub resource_updates: u64,
    /// How many of them are in a final state ([`ResourceUpdateState::is_final`]).
    pub final_resource_updates: u64,
    /// How many resource updates are in each state (states without any are absent).
    pub by_state: BTreeMap<ResourceUpdateState, u64>,
    /// The JSON bytes of the whole command as stored (body, head and resource updates).
    pub stored_bytes: u64,
}

/// One page of [`CommandStore::list_summaries`](super::CommandStore::list_summaries).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SummaryPage {
    /// The commands of the page, most recent exact `StartTs` first, ties by id descending.
    pub summaries: Vec<CommandSummary>,
    /// Where the next page starts (pass it as [`ListFilter::after`](super::ListFilter::after)),
    /// or `None` when no command follows this page.
    pub next: Option<Cursor>,
}

/// A position in the listing order: the exact `StartTs` and id of the last command of a
/// page. Opaque: it prints as text ([`Display`](fmt::Display)) and parses back
/// ([`FromStr`]), so it can travel through a command line or a URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cursor {
    start_ts: i64,
    start_ts_ns: u16,
    id: String,
}

/// Why a text is not a [`Cursor`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid list cursor: {reason}")]
pub struct CursorError {
    reason: &'static str,
}

/// A command removed by [`CommandStore::purge_finished`](super::CommandStore::purge_finished).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgedCommand {
    /// The command id.
    pub id: String,
    /// Its (final) state.
    pub state: CommandState,
    /// Its `ModifiedTs`, exact to the nanosecond, in UTC.
    pub modified_ts: Timestamp,
    /// The JSON bytes it held.
    pub stored_bytes: u64,
}

/// What [`CommandStore::info`](super::CommandStore::info) says about a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreInfo {
    /// The backend: `"memory"`, `"sqlite"`, `"postgres"`, ...
    pub backend: &'static str,
    /// The schema version of the database (its last migration).
    pub schema_version: i64,
    /// The size of the database on disk, when the backend knows it.
    pub database_bytes: Option<u64>,
}

/// The columns a backend reads for one [`CommandSummary`], turned into one by
/// [`summary`](Self::summary), which checks them.
#[derive(Clone, Debug, Default)]
pub struct SummaryColumns {
    /// `command_id`.
    pub id: String,
    /// `command`.
    pub command: String,
    /// `state`.
    pub state: String,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `start_ts` (microseconds).
    pub start_ts: i64,
    /// `start_ts_ns`.
    pub start_ts_ns: u16,
    /// `modified_ts` (microseconds).
    pub modified_ts: i64,
    /// `modified_ts_ns`.
    pub modified_ts_ns: u16,
    /// `stored_bytes`.
    pub stored_bytes: u64,
    /// The resource update states of the command with their counts, as stored.
    pub by_state: Vec<(String, u64)>,
}

impl SummaryColumns {
    /// The summary these columns describe.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the column when a state or kind is unknown or a
    /// timestamp is out of range.
    pub fn summary(self) -> StoreResult<CommandSummary> {
        let id = self.id;
        let mut by_state = BTreeMap::new();
        for (state, n) in self.by_state {
            let state: ResourceUpdateState = parse(&id, "resource_updates.state", &state)?;
            *by_state.entry(state).or_insert(0) += n;
        }
        Ok(CommandSummary {
            command: parse(&id, "command", &self.command)?,
            state: parse(&id, "state", &self.state)?,
            client_id: self.client_id.unwrap_or_default(),
            start_ts: timestamp(&id, "start_ts", self.start_ts, self.start_ts_ns)?,
            modified_ts: timestamp(&id, "modified_ts", self.modified_ts, self.modified_ts_ns)?,
            resource_updates: by_state.values().sum(),
            final_resource_updates: by_state
                .iter()
                .filter(|(s, _)| s.is_final())
                .map(|(_, n)| n)
                .sum(),
            by_state,
            stored_bytes: self.stored_bytes,
            id,
        })
    }
}

impl CommandSummary {
    /// The cursor that continues a listing after this command.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(self.start_ts, self.id.clone())
    }
}

impl PurgedCommand {
    /// A purged command from its stored columns (`state`, `modified_ts`, `modified_ts_ns`).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the state is unknown or the time out of range.
    pub fn from_columns(
        id: String,
        state: &str,
        (modified_ts, modified_ts_ns): (i64, u16),
        stored_bytes: u64,
    ) -> StoreResult<Self> {
        Ok(Self {
            state: parse(&id, "state", state)?,
            modified_ts: timestamp(&id, "modified_ts", modified_ts, modified_ts_ns)?,
            stored_bytes,
            id,
        })
    }
}

impl Cursor {
    /// The position of the command with exact `StartTs` `start_ts` and id `id`; the next
    /// page starts with the command that follows it.
    pub fn new(start_ts: Timestamp, id: impl Into<String>) -> Self {
        let (start_ts, start_ts_ns) = exact_key(start_ts);
        Self { start_ts, start_ts_ns, id: id.into() }
    }

    /// The exact `StartTs` as (microseconds since the Unix epoch, nanoseconds below the
    /// microsecond), the form of the stored columns.
    pub fn start_ts_key(&self) -> (i64, u16) {
        (self.start_ts, self.start_ts_ns)
    }

    /// The command id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The cursor as a key of the listing order (a row comes after it when its key is less).
    pub(crate) fn key(&self) -> ((i64, u16), &str) {
        ((self.start_ts, self.start_ts_ns), &self.id)
    }
}

/// The prefix of a printed cursor, which versions the format.
const CURSOR_PREFIX: &str = "c1";

impl fmt::Display for Cursor {
    /// `c1.<microseconds>.<nanoseconds>.<id as lowercase hex>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CURSOR_PREFIX}.{}.{}.", self.start_ts, self.start_ts_ns)?;
        for byte in self.id.as_bytes() {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Cursor {
    type Err = CursorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| CursorError { reason };
        let mut parts = text.splitn(4, '.');
        if parts.next() != Some(CURSOR_PREFIX) {
            return Err(err("unknown format"));
        }
        let start_ts = parts.next().and_then(|p| p.parse().ok()).ok_or(err("bad time"))?;
        let start_ts_ns = parts
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|ns| *ns < 1000)
            .ok_or(err("bad nanoseconds"))?;
        let hex = parts.next().ok_or(err("no id"))?.as_bytes();
        if hex.len() % 2 != 0 {
            return Err(err("bad id"));
        }
        let bytes = hex
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
                    .ok_or(err("bad id"))
            })
            .collect::<Result<Vec<u8>, _>>()?;
        let id = String::from_utf8(bytes).map_err(|_| err("bad id"))?;
        Ok(Self { start_ts, start_ts_ns, id })
    }
}

/// A timestamp as (microseconds since the Unix epoch, nanoseconds below the microsecond),
/// the two columns every store keeps; microseconds as [`Timestamp::unix_micros`].
pub fn exact_key(t: Timestamp) -> (i64, u16) {
    let nanos = t.datetime().unix_timestamp_nanos();
    let micros = nanos.div_euclid(1000);
    let micros = i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX });
    // `rem_euclid(1000)` is in 0..1000.
    (micros, u16::try_from(nanos.rem_euclid(1000)).unwrap_or(0))
}

/// The timestamp of the two stored columns, in UTC, or `None` when out of range.
pub fn from_exact_key(micros: i64, nanos: u16) -> Option<Timestamp> {
    let total = i128::from(micros) * 1000 + i128::from(nanos);
    OffsetDateTime::from_unix_timestamp_nanos(total).ok().map(Timestamp::from_datetime)
}

fn timestamp(id: &str, field: &str, micros: i64, nanos: u16) -> StoreResult<Timestamp> {
    from_exact_key(micros, nanos).filter(|_| nanos < 1000).ok_or_else(|| StoreError::Corrupt {
        id: id.to_owned(),
        field: field.to_owned(),
        source: format!("time out of range: {micros} us + {nanos} ns").into(),
    })
}

fn parse<T: FromStr>(id: &str, field: &str, text: &str) -> StoreResult<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse().map_err(|e: T::Err| StoreError::Corrupt {
        id: id.to_owned(),
        field: field.to_owned(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_print_and_parse_back() {
        for (ts, id) in [
            (Timestamp::ZERO, ""),
            (Timestamp::parse("2025-01-02T03:04:05.123456789Z").expect("ts"), "2qH1"),
            (Timestamp::parse("1969-12-31T23:59:59.999999999Z").expect("ts"), "ïd.with.dots"),
        ] {
            let cursor = Cursor::new(ts, id);
            let text = cursor.to_string();
            assert_eq!(text.parse::<Cursor>(), Ok(cursor.clone()), "{text}");
            assert_eq!(from_exact_key(cursor.start_ts, cursor.start_ts_ns), Some(ts.to_utc()));
        }
        for bad in ["", "c1", "c2.1.2.", "c1.x.0.", "c1.1.1000.", "c1.1.0.f", "c1.1.0.zz"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn exact_keys_split_at_the_microsecond() {
        let t = Timestamp::parse("1969-12-31T23:59:59.999999999Z").expect("ts");
        assert_eq!(exact_key(t), (-1, 999));
        assert_eq!(exact_key(t).0, t.unix_micros());
        assert_eq!(exact_key(Timestamp::ZERO), (Timestamp::ZERO.unix_micros(), 0));
    }
}
