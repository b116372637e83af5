//! [`ResourceUpdate`]: what a command does to one resource, and its progress.

use std::collections::BTreeMap;

use super::{
    CommandSource, Operation, ProgressResult, RawJson, Resource, ResourceUpdateState, Target,
    Timestamp,
};
use crate::codec::go_struct::go_struct;

go_struct! {
    /// One resource's part of a command. A replace is two entries with the same KSUID: a
    /// `delete` and then a `create`.
    pub struct ResourceUpdate {
        /// The desired state.
        resource: Resource => "Resource",
        /// The target the resource goes to.
        resource_target: Target => "ResourceTarget",
        /// The existing resource (a zero value when there is none).
        existing_resource: Resource => "ExistingResource",
        /// The existing target (a zero value when there is none).
        existing_target: Target => "ExistingTarget",
        /// What is done.
        operation: Operation => "Operation",
        /// Plugin metadata (raw JSON); `None` is written as `null`.
        metadata: Option<RawJson> => "MetaData",
        /// The state.
        state: ResourceUpdateState => "State",
        /// When work started.
        start_ts: Timestamp => "StartTs",
        /// When it last changed.
        modified_ts: Timestamp => "ModifiedTs",
        /// Retries made.
        retries: u16 => "Retries",
        /// Retries remaining.
        remaining: i16 => "Remaining",
        /// The version written by the resource persister; non-empty means something changed.
        version: String => "Version",
        /// The latest progress result.
        most_recent_progress_result: ProgressResult => "MostRecentProgressResult",
        /// One progress result per plugin operation; `None` is written as `null`.
        progress_result: Option<Vec<ProgressResult>> => "ProgressResult",
        /// Where the update came from.
        source: CommandSource => "Source" [omitempty],
        /// URIs still to resolve.
        remaining_resolvables: Vec<String> => "RemainingResolvables" [omitempty],
        /// The stack label.
        stack_label: String => "StackLabel" [omitempty],
        /// The group shared by the halves of a replace.
        group_id: String => "GroupId" [omitempty],
        /// Labels of referenced resources.
        reference_labels: BTreeMap<String, String> => "ReferenceLabels" [omitempty],
        /// Properties before the update (raw JSON).
        previous_properties: Option<RawJson> => "PreviousProperties" [omitempty],
        /// Match filters (raw JSON array; note the lower-case key).
        match_filters: Option<RawJson> => "matchFilters" [omitempty],
    }
}

/// A reference to one resource update in a bulk message: its resource URI and operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceUpdateRef {
    /// `formae://<ksuid>#...`
    pub uri: String,
    /// The resource update's operation.
    pub operation: Operation,
}

impl ResourceUpdateRef {
    /// Builds a reference.
    pub fn new(uri: impl Into<String>, operation: Operation) -> Self {
        Self { uri: uri.into(), operation }
    }
}
