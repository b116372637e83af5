//! The model's string enums, with the exact spellings the Go agent uses.

use crate::codec::go_struct::go_enum;

/// A string that is not a known value of an enum.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownVariant {
    /// The enum's name.
    pub kind: &'static str,
    /// The string that was read.
    pub value: String,
}

go_enum! {
    /// The state of a whole command.
    pub enum CommandState {
        /// State not known.
        Unknown => "Unknown",
        /// Created, nothing reported yet.
        NotStarted => "NotStarted",
        /// Waiting.
        Pending => "Pending",
        /// At least one resource reported progress.
        InProgress => "InProgress",
        /// Final: some resource failed or was rejected.
        Failed => "Failed",
        /// Final: everything succeeded.
        Success => "Success",
        /// Being canceled.
        Canceling => "Canceling",
        /// Final: canceled.
        Canceled => "Canceled",
    }
}

impl CommandState {
    /// The final states: a command in one of them takes no more progress. Stores list the
    /// others as unfinished ([`FINAL_COMMAND_STATES`](crate::FINAL_COMMAND_STATES) holds
    /// their names).
    pub const FINAL: [CommandState; 3] = [Self::Success, Self::Failed, Self::Canceled];

    /// True for the states in [`FINAL`](Self::FINAL): Success, Failed and Canceled.
    pub fn is_final(self) -> bool {
        Self::FINAL.contains(&self)
    }
}

go_enum! {
    /// The state of one resource update.
    pub enum ResourceUpdateState {
        /// State not known.
        Unknown => "Unknown",
        /// Not started.
        NotStarted => "NotStarted",
        /// Waiting.
        Pending => "Pending",
        /// Running.
        InProgress => "InProgress",
        /// Final: failed.
        Failed => "Failed",
        /// Final: succeeded.
        Success => "Success",
        /// Final: canceled.
        Canceled => "Canceled",
        /// Final: rejected.
        Rejected => "Rejected",
    }
}

impl ResourceUpdateState {
    /// Success, Failed, Rejected and Canceled are final.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Rejected | Self::Canceled)
    }
}

go_enum! {
    /// The operation of a resource or target update (lower case).
    pub enum Operation {
        /// Create the resource.
        Create => "create",
        /// Update the resource.
        Update => "update",
        /// Delete the resource.
        Delete => "delete",
        /// Read the resource.
        Read => "read",
        /// Replace (delete then create).
        Replace => "replace",
    }
}

go_enum! {
    /// The plugin operation in a progress result (capitalised).
    pub enum PluginOperation {
        /// Create.
        Create => "Create",
        /// Update.
        Update => "Update",
        /// Delete.
        Delete => "Delete",
        /// Read.
        Read => "Read",
        /// Status poll.
        Status => "Status",
        /// List.
        List => "List",
        /// Nothing to do.
        NoOp => "NoOp",
        /// Not supported by the plugin.
        NotSupported => "NotSupported",
    }
}

go_enum! {
    /// The status of a plugin operation.
    pub enum OperationStatus {
        /// Succeeded.
        Success => "Success",
        /// Failed.
        Failure => "Failure",
        /// Running.
        InProgress => "InProgress",
        /// Waiting.
        Pending => "Pending",
        /// Canceled.
        Canceled => "Canceled",
    }
}

go_enum! {
    /// Why a plugin operation failed.
    pub enum OperationErrorCode {
        /// The property cannot be updated.
        NotUpdatable => "NotUpdatable",
        /// The request is invalid.
        InvalidRequest => "InvalidRequest",
        /// Access denied.
        AccessDenied => "AccessDenied",
        /// Tagging not authorised.
        UnauthorizedTaggingOperation => "UnauthorizedTaggingOperation",
        /// Bad credentials.
        InvalidCredentials => "InvalidCredentials",
        /// The resource already exists.
        AlreadyExists => "AlreadyExists",
        /// The resource was not found.
        NotFound => "NotFound",
        /// Conflicting change.
        ResourceConflict => "ResourceConflict",
        /// Throttled.
        Throttling => "Throttling",
        /// A service limit was hit.
        ServiceLimitExceeded => "ServiceLimitExceeded",
        /// The resource did not stabilise.
        NotStabilized => "NotStabilized",
        /// General service error.
        GeneralServiceException => "GeneralServiceException",
        /// Internal service error.
        ServiceInternalError => "ServiceInternalError",
        /// Service timeout.
        ServiceTimeout => "ServiceTimeout",
        /// Network failure.
        NetworkFailure => "NetworkFailure",
        /// Internal failure.
        InternalFailure => "InternalFailure",
        /// A dependency failed.
        DependencyFailure => "DependencyFailure",
        /// Unforeseen error.
        UnforeseenError => "UnforeseenError",
        /// No plugin for the resource type.
        PluginNotFound => "PluginNotFound",
    }
}

go_enum! {
    /// The state of a target update.
    pub enum TargetUpdateState {
        /// Not started.
        NotStarted => "NotStarted",
        /// Running.
        InProgress => "InProgress",
        /// Final: succeeded.
        Success => "Success",
        /// Final: failed.
        Failed => "Failed",
        /// Final: canceled.
        Canceled => "Canceled",
    }
}

impl TargetUpdateState {
    /// Success, Failed and Canceled are final.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Canceled)
    }
}

go_enum! {
    /// Where a resource update came from.
    pub enum CommandSource {
        /// Submitted by a user.
        User => "user",
        /// Produced by synchronisation.
        Synchronize => "synchronize",
        /// Produced by discovery.
        Discovery => "discovery",
    }
}

go_enum! {
    /// The kind of command.
    pub enum CommandKind {
        /// Apply a forma.
        Apply => "apply",
        /// Evaluate a forma.
        Eval => "eval",
        /// Destroy resources.
        Destroy => "destroy",
        /// Synchronise state from the cloud.
        Sync => "sync",
    }
}

go_enum! {
    /// How a forma is applied (`Config.Mode`).
    pub enum ApplyMode {
        /// Apply as a patch.
        Patch => "patch",
        /// Reconcile to the desired state.
        Reconcile => "reconcile",
        /// No mode.
        None => "none",
        /// Properties only.
        Properties => "properties",
    }
}
