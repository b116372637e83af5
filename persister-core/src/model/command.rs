//! [`FormaCommand`] and the parts that never change after it is stored.

use super::{
    ApplyMode, CommandKind, CommandState, RawJson, Resource, ResourceUpdate, TargetUpdate,
    Timestamp,
};
use crate::codec::go_struct::go_struct;

go_struct! {
    /// A command applied by the orchestrator, with the progress of each resource.
    ///
    /// Both shapes of the Go agent are read and written: older commands carry the submitted
    /// document in `forma`, newer ones a `description`.
    ///
    /// The part tags say how a command is stored ([`codec`](crate::codec)): `{head}` fields
    /// in the head, rewritten by every message; `{rows}` as one row per resource update;
    /// every other field, and unknown members, in the body, written once.
    pub struct FormaCommand {
        /// The command id (a KSUID).
        id: String => "ID",
        /// The submitted document (older agents only).
        forma: Option<Forma> => "Forma" [omitempty],
        /// The description (newer agents).
        description: Option<Description> => "Description" [omitempty],
        /// The command's state.
        state: CommandState => "State" {head},
        /// When it started.
        start_ts: Timestamp => "StartTs" {head},
        /// When it last changed (not monotonic: a late message can move it back).
        modified_ts: Timestamp => "ModifiedTs" {head},
        /// One entry per resource, in the order given.
        resource_updates: Vec<ResourceUpdate> => "ResourceUpdates" [omitempty] {rows},
        /// One entry per target.
        target_updates: Vec<TargetUpdate> => "TargetUpdates" [omitempty] {head},
        /// How the command is applied.
        config: CommandConfig => "Config",
        /// The kind of command.
        command: CommandKind => "Command",
        /// The client that submitted it.
        client_id: String => "ClientId" [omitempty],
    }
}

go_struct! {
    /// A command's description.
    pub struct Description {
        /// Free text.
        text: String => "Text" [omitempty],
        /// Whether the user confirmed.
        confirm: bool => "Confirm" [omitempty],
    }
}

go_struct! {
    /// How a command is applied. Go writes every member.
    pub struct CommandConfig {
        /// The apply mode.
        mode: ApplyMode => "Mode",
        /// Force.
        force: bool => "Force",
        /// Simulate only.
        simulate: bool => "Simulate",
    }
}

go_struct! {
    /// The submitted document, carried by commands of older agents.
    pub struct Forma {
        /// Its description.
        description: Description => "Description",
        /// Its properties (raw JSON object).
        properties: Option<RawJson> => "Properties" [omitempty],
        /// Its stacks (raw JSON array).
        stacks: Option<RawJson> => "Stacks" [omitempty],
        /// Its targets (raw JSON array).
        targets: Option<RawJson> => "Targets" [omitempty],
        /// Its resources; opaque values in them are hashed at finalization too.
        resources: Vec<Resource> => "Resources" [omitempty],
    }
}

impl FormaCommand {
    /// True when the state is Success, Failed or Canceled.
    pub fn is_final(&self) -> bool {
        self.state.is_final()
    }

    /// True when any resource update carries a non-empty `Version`.
    pub fn has_resource_versions(&self) -> bool {
        self.resource_updates.iter().any(|ru| !ru.version.is_empty())
    }
}
