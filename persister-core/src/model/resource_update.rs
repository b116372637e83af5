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
    ///
    /// The part tags say how it is stored ([`codec`](crate::codec)): the fields tagged
    /// `{head}` are its *progress*, rewritten by every message about it; the others (the
    /// resource and its properties, the targets, the existing state) and unknown members are
    /// its *fixed* part, written when it is stored and again only when a message changes it.
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
        state: ResourceUpdateState => "State" {head},
        /// When work started.
        start_ts: Timestamp => "StartTs" {head},
        /// When it last changed.
        modified_ts: Timestamp => "ModifiedTs" {head},
        /// Retries made.
        retries: u16 => "Retries" {head},
        /// Retries remaining.
        remaining: i16 => "Remaining" {head},
        /// The version written by the resource persister; non-empty means something changed.
        version: String => "Version" {head},
        /// The latest progress result.
        most_recent_progress_result: ProgressResult => "MostRecentProgressResult" {head},
        /// One progress result per plugin operation; `None` is written as `null`.
        progress_result: Option<Vec<ProgressResult>> => "ProgressResult" {head},
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
