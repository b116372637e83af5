//! Row types exchanged with a [`CommandStore`](super::CommandStore).

use crate::model::{CommandKind, CommandState, Timestamp};

use super::summary::{Cursor, exact_key};

/// The names of the final command states ([`CommandState::FINAL`]), as stored in the `state`
/// column; [`CommandStore::list_unfinished`](super::CommandStore::list_unfinished) lists
/// commands in any other state.
pub const FINAL_COMMAND_STATES: [&str; CommandState::FINAL.len()] = final_state_names();

/// The names of [`CommandState::FINAL`], in its order.
const fn final_state_names() -> [&'static str; CommandState::FINAL.len()] {
    let mut names = [""; CommandState::FINAL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = CommandState::FINAL[i].as_str();
        i += 1;
    }
    names
}

/// Whether a resource update's completion has been recorded (decision D3).
///
/// Stored with the resource update row, outside its JSON, in the same transaction as the
/// message that caused it. A resource update is *pending* while it is [`Completion::Pending`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Completion {
    /// No completion has arrived and no bulk message made it final.
    #[default]
    Pending,
    /// Its completion message arrived.
    Completed,
    /// A bulk reject, fail or cancel made it final.
    MadeFinalByBulk,
}

impl Completion {
    /// The integer stored in the `completion` column.
    pub const fn code(self) -> i16 {
        match self {
            Self::Pending => 0,
            Self::Completed => 1,
            Self::MadeFinalByBulk => 2,
        }
    }

    /// The value of a stored code, or `None` for an unknown code.
    pub const fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Pending),
            1 => Some(Self::Completed),
            2 => Some(Self::MadeFinalByBulk),
            _ => None,
        }
    }

    /// True while a completion is still expected.
    pub const fn is_pending(self) -> bool {
        matches!(self, Self::Pending)
    }
}

/// The header row of a command.
///
/// `Debug` shows the lengths of the JSON columns, not their text: it may hold secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandRow {
    /// The command id.
    pub id: String,
    /// The command kind (`apply`, `sync`, ...), for queries.
    pub command: String,
    /// The command state, for queries.
    pub state: String,
    /// The client id, for queries: empty (not `None`) for a command without one, as the Go
    /// agent stores it, so that `ListFilter::client_id("")` finds such commands. `None` when
    /// the column is NULL (rows written by other tools or by earlier builds of this crate,
    /// which `client_id("")` does not find).
    pub client_id: Option<String>,
    /// `StartTs` in microseconds since the Unix epoch, for queries and ordering.
    pub start_ts: i64,
    /// The nanoseconds of `StartTs` below the microsecond (0 to 999): `start_ts * 1000 +
    /// start_ts_ns` is the exact time, which listings order by.
    pub start_ts_ns: u16,
    /// `ModifiedTs` in microseconds since the Unix epoch, for queries.
    pub modified_ts: i64,
    /// The nanoseconds of `ModifiedTs` below the microsecond (0 to 999).
    pub modified_ts_ns: u16,
    /// Incremented by every write; writes are conditional on it.
    pub revision: i64,
    /// The JSON bytes of the whole command: `body`, `head` and every resource update's `data`
    /// together, as the writer computed them (see [`HeaderUpdate::stored_bytes`]).
    pub stored_bytes: u64,
    /// JSON of the parts that never change after insert (may be rewritten at finalization).
    pub body: String,
    /// JSON of the mutable header fields (state, exact timestamps, target updates).
    pub head: String,
}

/// One resource update row (`Debug` shows the length of `data`, not its text).
#[derive(Clone, PartialEq, Eq)]
pub struct ResourceUpdateRow {
    /// Position in the command's list, from 0; never changes.
    pub position: i64,
    /// The resource KSUID; never changes.
    pub ksuid: String,
    /// The operation; never changes.
    pub operation: String,
    /// The state, for queries.
    pub state: String,
    /// The completion record.
    pub completion: Completion,
    /// The resource update's JSON.
    pub data: String,
}

/// A command as stored: header and resource updates ordered by position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCommand {
    /// The header row.
    pub header: CommandRow,
    /// The resource update rows, ordered by position.
    pub resource_updates: Vec<ResourceUpdateRow>,
}

/// New values for a command's mutable header columns (`Debug` shows JSON lengths only).
#[derive(Clone, PartialEq, Eq)]
pub struct HeaderUpdate {
    /// The command state.
    pub state: String,
    /// `StartTs` in microseconds.
    pub start_ts: i64,
    /// The nanoseconds of `StartTs` below the microsecond (0 to 999).
    pub start_ts_ns: u16,
    /// `ModifiedTs` in microseconds.
    pub modified_ts: i64,
    /// The nanoseconds of `ModifiedTs` below the microsecond (0 to 999).
    pub modified_ts_ns: u16,
    /// The JSON bytes of the whole command once this checkpoint is applied (body, head and
    /// every resource update, listed or not); stores keep it as they keep the rest.
    pub stored_bytes: u64,
    /// The head JSON.
    pub head: String,
    /// A new body, only when finalization rewrote it (hashing an older command's `Forma`).
    pub body: Option<String>,
}

/// The write set of one message, applied atomically by [`CommandStore::apply`](super::CommandStore::apply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The command id.
    pub command_id: String,
    /// The revision the writer read; the store's revision becomes this plus one.
    pub expected_revision: i64,
    /// The header's new mutable fields.
    pub header: HeaderUpdate,
    /// Changed resource update rows, matched by position (KSUID and operation never change).
    pub resource_updates: Vec<ResourceUpdateRow>,
}

/// Which commands [`CommandStore::list`](super::CommandStore::list) and
/// [`CommandStore::list_summaries`](super::CommandStore::list_summaries) return.
///
/// Every condition set must hold. `since` and `until` compare the exact `StartTs`
/// (nanoseconds): `since` is inclusive, `until` exclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only commands in this state.
    pub state: Option<CommandState>,
    /// Only commands of this client.
    pub client_id: Option<String>,
    /// Only commands of this kind.
    pub command: Option<CommandKind>,
    /// Only commands whose `StartTs` is at or after this time.
    pub since: Option<Timestamp>,
    /// Only commands whose `StartTs` is before this time.
    pub until: Option<Timestamp>,
    /// Only commands whose state is not final (not in [`FINAL_COMMAND_STATES`]).
    pub unfinished: bool,
    /// Only commands after this cursor in the listing order: the next page.
    pub after: Option<Cursor>,
    /// At most this many (the page size of `list_summaries`).
    pub limit: Option<u32>,
}

impl ListFilter {
    /// Every command.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only commands in `state`.
    #[must_use]
    pub fn state(mut self, state: CommandState) -> Self {
        self.state = Some(state);
        self
    }

    /// Only commands of `client_id` (`""`: the commands stored without one).
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Only commands of kind `command`.
    #[must_use]
    pub fn command(mut self, command: CommandKind) -> Self {
        self.command = Some(command);
        self
    }

    /// Only commands whose `StartTs` is at or after `since`.
    #[must_use]
    pub fn since(mut self, since: Timestamp) -> Self {
        self.since = Some(since);
        self
    }

    /// Only commands whose `StartTs` is before `until`.
    #[must_use]
    pub fn until(mut self, until: Timestamp) -> Self {
        self.until = Some(until);
        self
    }

    /// Only commands whose state is not final (`true`), or any (`false`, the default).
    #[must_use]
    pub fn unfinished(mut self, unfinished: bool) -> Self {
        self.unfinished = unfinished;
        self
    }

    /// Only commands after `cursor` in the listing order (the cursor of
    /// [`SummaryPage::next`](super::SummaryPage::next)).
    #[must_use]
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// At most `limit` commands.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// True when `row` passes the filter (limit aside).
    pub fn matches(&self, row: &CommandRow) -> bool {
        let key = (row.start_ts, row.start_ts_ns);
        self.state.is_none_or(|s| s.as_str() == row.state)
            && self.client_id.as_ref().is_none_or(|c| Some(c) == row.client_id.as_ref())
            && self.command.is_none_or(|c| c.as_str() == row.command)
            && self.since.is_none_or(|t| key >= exact_key(t))
            && self.until.is_none_or(|t| key < exact_key(t))
            && !(self.unfinished && FINAL_COMMAND_STATES.contains(&row.state.as_str()))
            && self.after.as_ref().is_none_or(|c| (key, row.id.as_str()) < c.key())
    }
}
/// One write of a batch applied by [`CommandStore::write_batch`](super::CommandStore::write_batch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// As [`CommandStore::insert`](super::CommandStore::insert).
    Insert(StoredCommand),
    /// As [`CommandStore::apply`](super::CommandStore::apply).
    Apply(Checkpoint),
    /// As [`CommandStore::delete`](super::CommandStore::delete).
    Delete {
        /// The command id.
        id: String,
        /// The revision the writer read.
        expected_revision: i64,
    },
}

/// The length of a JSON column, as `Debug` shows it.
struct Len<'a>(&'a str);

impl std::fmt::Debug for Len<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl std::fmt::Debug for CommandRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandRow")
            .field("id", &self.id)
            .field("command", &self.command)
            .field("state", &self.state)
            .field("client_id", &self.client_id)
            .field("start_ts", &self.start_ts)
            .field("start_ts_ns", &self.start_ts_ns)
            .field("modified_ts", &self.modified_ts)
            .field("modified_ts_ns", &self.modified_ts_ns)
            .field("revision", &self.revision)
            .field("stored_bytes", &self.stored_bytes)
            .field("body", &Len(&self.body))
            .field("head", &Len(&self.head))
            .finish()
    }
}

impl std::fmt::Debug for ResourceUpdateRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceUpdateRow")
            .field("position", &self.position)
            .field("ksuid", &self.ksuid)
            .field("operation", &self.operation)
            .field("state", &self.state)
            .field("completion", &self.completion)
            .field("data", &Len(&self.data))
            .finish()
    }
}

impl std::fmt::Debug for HeaderUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderUpdate")
            .field("state", &self.state)
            .field("start_ts", &self.start_ts)
            .field("start_ts_ns", &self.start_ts_ns)
            .field("modified_ts", &self.modified_ts)
            .field("modified_ts_ns", &self.modified_ts_ns)
            .field("stored_bytes", &self.stored_bytes)
            .field("head", &Len(&self.head))
            .field("body", &self.body.as_deref().map(Len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::FINAL_COMMAND_STATES;
    use crate::model::CommandState;

    #[test]
    fn final_command_states_are_the_names_of_the_final_states() {
        let mut names: Vec<&str> =
            CommandState::ALL.iter().filter(|s| s.is_final()).map(|s| s.as_str()).collect();
        let mut listed = FINAL_COMMAND_STATES.to_vec();
        names.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, names);
        assert_eq!(FINAL_COMMAND_STATES, ["Success", "Failed", "Canceled"]);
        for state in CommandState::ALL {
            assert_eq!(
                state.is_final(),
                FINAL_COMMAND_STATES.contains(&state.as_str()),
                "{state:?}"
            );
        }
    }
}
