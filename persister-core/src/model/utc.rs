//! Converting every timestamp of a command or a message to UTC (D8), in place.
//!
//! The persister calls these once per message, when it enters
//! [`Persister::handle`](crate::Persister::handle) or
//! [`Persister::handle_batch`](crate::Persister::handle_batch), so everything it stores and
//! caches is UTC and encodes with `Z`. Decoding stored JSON keeps what is stored.

use super::{FormaCommand, ProgressResult, ResourceUpdate, TargetUpdate};
use crate::messages::{Message, ResourceCompletion, ResourceProgress};

impl FormaCommand {
    /// Converts every timestamp of the command to UTC: its own, and those of its resource
    /// updates (with their progress results) and target updates. The instants are unchanged.
    pub fn normalize_utc(&mut self) {
        utc(&mut self.start_ts);
        utc(&mut self.modified_ts);
        self.resource_updates.iter_mut().for_each(ResourceUpdate::normalize_utc);
        self.target_updates.iter_mut().for_each(TargetUpdate::normalize_utc);
    }
}

impl ResourceUpdate {
    /// Converts the resource update's timestamps, and its progress results', to UTC.
    pub fn normalize_utc(&mut self) {
        utc(&mut self.start_ts);
        utc(&mut self.modified_ts);
        self.most_recent_progress_result.normalize_utc();
        self.progress_result.iter_mut().flatten().for_each(ProgressResult::normalize_utc);
    }
}

impl ProgressResult {
    /// Converts the progress result's timestamps to UTC.
    pub fn normalize_utc(&mut self) {
        utc(&mut self.start_ts);
        utc(&mut self.modified_ts);
    }
}

impl TargetUpdate {
    /// Converts the target update's timestamps to UTC.
    pub fn normalize_utc(&mut self) {
        utc(&mut self.start_ts);
        utc(&mut self.modified_ts);
    }
}

impl ResourceProgress {
    /// Converts the report's timestamps, its progress result's included, to UTC.
    pub fn normalize_utc(&mut self) {
        utc(&mut self.resource_start_ts);
        utc(&mut self.resource_modified_ts);
        self.progress.normalize_utc();
    }
}

impl ResourceCompletion {
    /// Converts the completion's timestamps to UTC.
    pub fn normalize_utc(&mut self) {
        utc(&mut self.resource_start_ts);
        utc(&mut self.resource_modified_ts);
    }
}

impl Message {
    /// Converts every timestamp the message carries to UTC (D8); a message without
    /// timestamps is unchanged.
    pub fn normalize_utc(&mut self) {
        match self {
            Self::StoreNew(command) | Self::Import(command) => command.normalize_utc(),
            Self::Progress(m) => m.normalize_utc(),
            Self::Complete(m) => m.normalize_utc(),
            Self::TargetStates { updates, .. } => {
                updates.iter_mut().for_each(TargetUpdate::normalize_utc);
            }
            Self::MarkRejected { modified_ts, .. } | Self::MarkFailed { modified_ts, .. } => {
                utc(modified_ts);
            }
            Self::Load(_)
            | Self::MarkCanceled { .. }
            | Self::CancelAll(_)
            | Self::FinalizeIncomplete(_) => {}
        }
    }
}

fn utc(ts: &mut super::Timestamp) {
    *ts = ts.to_utc();
}
