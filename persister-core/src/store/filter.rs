//! [`ListFilter`]: which commands a listing returns.

use crate::model::{CommandKind, CommandState, Timestamp};

use super::rows::{CommandRow, FINAL_COMMAND_STATES};
use super::summary::{Cursor, exact_key};

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
