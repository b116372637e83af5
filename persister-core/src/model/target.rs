//! [`Target`] and [`TargetUpdate`].

use super::{Operation, RawJson, TargetUpdateState, Timestamp};
use crate::codec::go_struct::go_struct;

go_struct! {
    /// A deployment target (an account, region or cluster).
    pub struct Target {
        /// The target's label.
        label: String => "Label",
        /// Its namespace.
        namespace: String => "Namespace",
        /// Plugin configuration (raw JSON).
        config: Option<RawJson> => "Config" [omitempty],
        /// Whether resources are discovered on it.
        discoverable: bool => "Discoverable",
        /// Its version.
        version: i64 => "Version" [omitempty],
    }
}

go_struct! {
    /// The progress of one target within a command.
    pub struct TargetUpdate {
        /// The target.
        target: Target => "Target",
        /// The target as it existed before, if any.
        existing_target: Option<Target> => "ExistingTarget" [omitempty],
        /// What is done to it.
        operation: Operation => "Operation",
        /// Its state.
        state: TargetUpdateState => "State",
        /// When work on it started.
        start_ts: Timestamp => "StartTs",
        /// When it last changed.
        modified_ts: Timestamp => "ModifiedTs",
        /// Its version.
        version: String => "Version",
        /// Why it failed.
        error_message: String => "ErrorMessage" [omitempty],
    }
}
