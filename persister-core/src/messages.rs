//! The messages the persister handles, and its acknowledgement.

use crate::model::{
    FormaCommand, Operation, ProgressResult, RawJson, ResourceUpdateRef, ResourceUpdateState,
    TargetUpdate, Timestamp,
};

/// A progress report for one resource update (`UpdateResourceProgress`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceProgress {
    /// The command id.
    pub command_id: String,
    /// `formae://<ksuid>#`: the resource.
    pub resource_uri: String,
    /// The resource update's operation (not the plugin operation).
    pub operation: Operation,
    /// The resource update's new `StartTs` (applied even when zero).
    pub resource_start_ts: Timestamp,
    /// The resource update's new `ModifiedTs`, also the command's.
    pub resource_modified_ts: Timestamp,
    /// The resource update's new state.
    pub resource_state: ResourceUpdateState,
    /// The progress result; its `ResourceProperties` are hashed when written.
    pub progress: ProgressResult,
    /// New properties, when present (a raw `null` counts as present).
    pub resource_properties: Option<RawJson>,
    /// New read-only properties, when present.
    pub resource_read_only_properties: Option<RawJson>,
    /// New version, when non-empty.
    pub version: String,
}

/// The completion of one resource update (`MarkResourceUpdateAsComplete`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceCompletion {
    /// The command id.
    pub command_id: String,
    /// `formae://<ksuid>#`: the resource.
    pub resource_uri: String,
    /// The resource update's operation.
    pub operation: Operation,
    /// The final state.
    pub final_state: ResourceUpdateState,
    /// The resource update's new `StartTs`.
    pub resource_start_ts: Timestamp,
    /// The resource update's new `ModifiedTs`, also the command's.
    pub resource_modified_ts: Timestamp,
    /// New properties (hashed when written), when present.
    pub resource_properties: Option<RawJson>,
    /// New read-only properties (hashed when written), when present.
    pub resource_read_only_properties: Option<RawJson>,
    /// New version, when non-empty.
    pub version: String,
}

/// What a message did. Every variant is a success; errors are [`Error`](crate::Error)s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ack {
    /// The message changed the command and the change is durable.
    Applied,
    /// The message had no effect by the rules (unknown key, final resource, canceled command,
    /// duplicate completion, empty cancel); nothing was written.
    Ignored,
    /// The message made the command final: opaque values were hashed, the command stored and
    /// evicted from the cache.
    Finalized,
    /// The message made a sync command final without changes: it was deleted.
    Deleted,
}

/// Any message, for callers that queue them (the async handle, group commit).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// `StoreNewFormaCommand`.
    StoreNew(Box<FormaCommand>),
    /// `LoadFormaCommand`.
    Load(String),
    /// `UpdateResourceProgress`.
    Progress(Box<ResourceProgress>),
    /// `MarkResourceUpdateAsComplete`.
    Complete(Box<ResourceCompletion>),
    /// `UpdateTargetStates`.
    TargetStates {
        /// The command id.
        id: String,
        /// The target updates.
        updates: Vec<TargetUpdate>,
    },
    /// `MarkResourcesAsRejected`.
    MarkRejected {
        /// The command id.
        id: String,
        /// The resource updates.
        refs: Vec<ResourceUpdateRef>,
        /// Their new `ModifiedTs`.
        modified_ts: Timestamp,
    },
    /// `MarkResourcesAsFailed`.
    MarkFailed {
        /// The command id.
        id: String,
        /// The resource updates.
        refs: Vec<ResourceUpdateRef>,
        /// Their new `ModifiedTs`.
        modified_ts: Timestamp,
    },
    /// `MarkResourcesAsCanceled` (at the current time).
    MarkCanceled {
        /// The command id.
        id: String,
        /// The resource updates.
        refs: Vec<ResourceUpdateRef>,
    },
    /// `MarkCommandResourcesAsCanceled`.
    CancelAll(String),
    /// `FinalizeIncompleteCommand`.
    FinalizeIncomplete(String),
    /// A command moved in from elsewhere (an export, a formae agent's database); see
    /// [`Persister::import`](crate::Persister::import).
    Import(Box<FormaCommand>),
}

impl Message {
    /// The id of the command the message is about.
    pub fn command_id(&self) -> &str {
        match self {
            Self::StoreNew(c) | Self::Import(c) => &c.id,
            Self::Progress(m) => &m.command_id,
            Self::Complete(m) => &m.command_id,
            Self::Load(id)
            | Self::CancelAll(id)
            | Self::FinalizeIncomplete(id)
            | Self::TargetStates { id, .. }
            | Self::MarkRejected { id, .. }
            | Self::MarkFailed { id, .. }
            | Self::MarkCanceled { id, .. } => id,
        }
    }

    /// A short name of the message kind, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::StoreNew(_) => "store_new",
            Self::Load(_) => "load",
            Self::Progress(_) => "progress",
            Self::Complete(_) => "complete",
            Self::TargetStates { .. } => "target_states",
            Self::MarkRejected { .. } => "mark_rejected",
            Self::MarkFailed { .. } => "mark_failed",
            Self::MarkCanceled { .. } => "mark_canceled",
            Self::CancelAll(_) => "cancel_all",
            Self::FinalizeIncomplete(_) => "finalize_incomplete",
            Self::Import(_) => "import",
        }
    }
}

/// The reply to a [`Message`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// The acknowledgement of a write message (`StoreNew` gives [`Ack::Applied`]).
    Ack(Ack),
    /// The snapshot returned by `Load`.
    Command(Box<FormaCommand>),
}
