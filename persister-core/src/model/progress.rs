//! [`ProgressResult`]: one report of a plugin operation.

use super::{OperationErrorCode, OperationStatus, PluginOperation, RawJson, Timestamp};
use crate::codec::go_struct::go_struct;

go_struct! {
    /// The result of a plugin operation on a resource, as reported by the agent.
    pub struct ProgressResult {
        /// The plugin operation.
        operation: PluginOperation => "Operation",
        /// Its status.
        operation_status: OperationStatus => "OperationStatus",
        /// The cloud request id.
        request_id: String => "RequestID",
        /// The cloud's native id.
        native_id: String => "NativeID",
        /// Plugin metadata (raw JSON).
        metadata: Option<RawJson> => "Metadata" [omitempty],
        /// The resource type.
        resource_type: String => "ResourceType",
        /// Properties read from the cloud (raw JSON); opaque values are hashed when written.
        resource_properties: Option<RawJson> => "ResourceProperties" [omitempty],
        /// When the operation started.
        start_ts: Timestamp => "StartTs",
        /// When it last changed.
        modified_ts: Timestamp => "ModifiedTs",
        /// The error code, if it failed.
        error_code: OperationErrorCode => "ErrorCode" [omitempty],
        /// A human-readable status.
        status_message: String => "StatusMessage" [omitempty],
        /// Attempts made.
        attempts: i64 => "Attempts" [omitempty],
        /// Attempts allowed.
        max_attempts: i64 => "MaxAttempts" [omitempty],
    }
}
