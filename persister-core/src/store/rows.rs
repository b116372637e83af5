//! Row types exchanged with a [`CommandStore`](super::CommandStore).

use crate::model::CommandState;

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
    /// The JSON bytes of the whole command as stored: `body`, `head` and every resource
    /// update's `fixed` and `progress` together, as the writer computed them (see [`HeaderUpdate::stored_bytes`]).
    pub stored_bytes: u64,
    /// JSON of the parts that never change after insert (may be rewritten at finalization).
    pub body: String,
    /// JSON of the mutable header fields (state, exact timestamps, target updates).
    pub head: String,
}

/// One resource update row (`Debug` shows the lengths of its JSON, not its text).
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
    /// The JSON of the resource update's fixed part: the resource and its properties,
    /// targets, existing state and unknown members
    /// ([`codec::encode_update_fixed`](crate::codec::encode_update_fixed)).
    pub fixed: String,
    /// The JSON of its progress: state, times, retries, version and progress results
    /// ([`codec::encode_update_progress`](crate::codec::encode_update_progress)).
    pub progress: String,
}

impl ResourceUpdateRow {
    /// The change that writes this row's state, completion and both parts over the stored
    /// row at its position.
    pub fn into_change(self) -> ResourceUpdateChange {
        ResourceUpdateChange {
            position: self.position,
            state: self.state,
            completion: self.completion,
            fixed: Some(self.fixed),
            progress: self.progress,
        }
    }
}

/// A change to a stored resource update row, matched by position: its KSUID and operation
/// never change, and its fixed part only when a message changes the resource
/// (`Debug` shows the lengths of its JSON, not its text).
#[derive(Clone, PartialEq, Eq)]
pub struct ResourceUpdateChange {
    /// The row's position.
    pub position: i64,
    /// The new state, for queries.
    pub state: String,
    /// The new completion record.
    pub completion: Completion,
    /// The new fixed part; `None` leaves the stored one as it is.
    pub fixed: Option<String>,
    /// The new progress.
    pub progress: String,
}

/// A command as stored: header and resource updates ordered by position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCommand {
    /// The header row.
    pub header: CommandRow,
    /// The resource update rows, ordered by position.
    pub resource_updates: Vec<ResourceUpdateRow>,
}

impl StoredCommand {
    /// Every JSON document stored for the command: body, head, then each resource update's
    /// fixed part and progress, by position.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        [self.header.body.as_str(), self.header.head.as_str()].into_iter().chain(
            self.resource_updates.iter().flat_map(|r| [r.fixed.as_str(), r.progress.as_str()]),
        )
    }

    /// The bytes of [`texts`](Self::texts) together: what [`CommandRow::stored_bytes`] holds
    /// when the writer computed it.
    pub fn json_bytes(&self) -> usize {
        self.texts().map(str::len).sum()
    }
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
    /// Changed resource update rows, matched by position.
    pub resource_updates: Vec<ResourceUpdateChange>,
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
            .field("fixed", &Len(&self.fixed))
            .field("progress", &Len(&self.progress))
            .finish()
    }
}

impl std::fmt::Debug for ResourceUpdateChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceUpdateChange")
            .field("position", &self.position)
            .field("state", &self.state)
            .field("completion", &self.completion)
            .field("fixed", &self.fixed.as_deref().map(Len))
            .field("progress", &Len(&self.progress))
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
