//! The domain model, shaped like the Go agent's JSON.

mod command;
mod fields;
mod progress;
mod raw;
mod resource;
mod resource_update;
mod state;
mod target;
mod timestamp;
mod uri;
mod utc;

pub use command::{CommandConfig, Description, Forma, FormaCommand};
pub use fields::UnknownFields;
pub use progress::ProgressResult;
pub use raw::RawJson;
pub use resource::{FieldHint, Resource, Schema};
pub use resource_update::{ResourceUpdate, ResourceUpdateRef};
pub use state::{
    ApplyMode, CommandKind, CommandSource, CommandState, Operation, OperationErrorCode,
    OperationStatus, PluginOperation, ResourceUpdateState, TargetUpdateState, UnknownVariant,
};
pub use target::{Target, TargetUpdate};
pub use timestamp::{Timestamp, TimestampError};
pub use uri::ksuid_from_uri;
