//! proptest generators: random commands and random message sequences.

use persister_core::{
    CommandKind, CommandState, FormaCommand, Operation, PluginOperation, ProgressResult, RawJson,
    ResourceUpdate, ResourceUpdateState as S, TargetUpdateState as T, Timestamp,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// The marker every generated secret starts with; no stored byte may contain it once the
/// command is finalized.
pub const SECRET_MARK: &str = "sekret";

/// Which resource update a message names.
#[derive(Clone, Debug)]
pub struct Pick {
    /// An index; past the end of the command it names an unknown KSUID.
    pub index: usize,
    /// Another operation than the resource update's own (a key miss), when set.
    pub other_op: Option<Operation>,
}

/// One step of a generated sequence.
#[derive(Clone, Debug)]
pub enum Op {
    /// A progress report.
    Progress {
        /// The resource update.
        pick: Pick,
        /// Its reported state.
        state: S,
        /// The plugin operation.
        plugin: PluginOperation,
        /// Whether it carries a version.
        version: bool,
        /// Whether its progress result carries an opaque value.
        secret: bool,
    },
    /// A completion.
    Complete {
        /// The resource update.
        pick: Pick,
        /// Its final state.
        state: S,
        /// Whether it carries a version.
        version: bool,
        /// Whether its properties carry an opaque value.
        secret: bool,
    },
    /// A bulk mark with Rejected, Failed or Canceled.
    Bulk {
        /// The state to set.
        state: S,
        /// The resource updates.
        picks: Vec<Pick>,
    },
    /// Cancel every non-final resource update.
    CancelAll,
    /// Target states: (label 0..3, operation, state).
    Targets(Vec<(u8, Operation, T)>),
    /// Finalize-incomplete.
    FinalizeIncomplete,
    /// A progress report for a command that does not exist.
    UnknownCommand,
    /// Drop the cache (as a restart would).
    Restart,
}

/// A generated command and the messages sent to it.
#[derive(Clone, Debug)]
pub struct Case {
    /// The command (its id is replaced by a unique one when run).
    pub command: FormaCommand,
    /// The messages.
    pub ops: Vec<Op>,
}

/// The base time of generated messages.
pub fn base_time() -> Timestamp {
    Timestamp::parse("2025-12-19T10:00:00.000000001Z").unwrap_or_default()
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        4 => Just(Operation::Create),
        2 => Just(Operation::Update),
        2 => Just(Operation::Delete),
        1 => Just(Operation::Read),
        1 => Just(Operation::Replace),
    ]
}

fn properties(i: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(format!(r#"{{"Name":"r{i}","Size":{i}}}"#)),
        1 => Just(format!(r#"{{"Name":"r{i}","Password":{{"$value":"{SECRET_MARK}-{i}","$visibility":"Opaque"}}}}"#)),
        1 => Just(format!(r#"{{ "Nested" : {{"Deep":[{{"K":{{"$value":{{"a":"{SECRET_MARK}-{i}"}},"$visibility":"Opaque"}}}}, 2.50]}} }}"#)),
        1 => Just(format!(r#"{{"List":[[{{"$visibility":"Opaque","$value":"{SECRET_MARK}-{i}-x"}}]],"n":1e21}}"#)),
    ]
}

fn resource_update(i: usize) -> impl Strategy<Value = ResourceUpdate> {
    (
        operation(),
        properties(i),
        prop_oneof![8 => Just(S::NotStarted), 1 => Just(S::InProgress), 1 => Just(S::Success)],
        any::<bool>(),
    )
        .prop_map(move |(operation, props, state, replace_pair)| {
            let mut ru = ResourceUpdate { operation, state, ..ResourceUpdate::default() };
            // A replace pair: this entry shares the previous entry's KSUID (fixed up below).
            ru.resource.ksuid =
                if replace_pair && i % 2 == 1 { format!("k{}", i - 1) } else { format!("k{i}") };
            ru.resource.label = format!("r{i}");
            ru.resource.resource_type =
                if i.is_multiple_of(5) { "AWS::RDS::DBInstance" } else { "AWS::S3::Bucket" }.into();
            ru.resource.properties = RawJson::new(props).ok();
            ru
        })
}

/// A command of 1 to 300 resource updates (mostly small), any kind.
pub fn command() -> impl Strategy<Value = FormaCommand> {
    let size = prop_oneof![6 => 1usize..12, 3 => 12usize..60, 1 => 60usize..=300];
    let kind = prop_oneof![3 => Just(CommandKind::Apply), 1 => Just(CommandKind::Destroy), 2 => Just(CommandKind::Sync)];
    (size, kind)
        .prop_flat_map(|(n, kind)| {
            let rus: Vec<_> = (0..n).map(resource_update).collect();
            (rus, Just(kind))
        })
        .prop_map(|(mut rus, kind)| {
            // Replace pairs: the second half of a shared KSUID is the create of a delete/create pair.
            for i in 1..rus.len() {
                if rus[i].resource.ksuid == rus[i - 1].resource.ksuid {
                    rus[i - 1].operation = Operation::Delete;
                    rus[i].operation = Operation::Create;
                }
            }
            if kind == CommandKind::Sync {
                for ru in rus.iter_mut().filter(|r| {
                    r.operation != Operation::Delete && r.operation != Operation::Create
                }) {
                    ru.operation = Operation::Read;
                }
            }
            FormaCommand {
                id: String::new(),
                state: CommandState::NotStarted,
                // Given at -08:00: stored in UTC (D8).
                start_ts: Timestamp::from_datetime(
                    base_time().datetime().to_offset(time::macros::offset!(-8)),
                ),
                modified_ts: base_time(),
                resource_updates: rus,
                command: kind,
                client_id: "prop".into(),
                ..FormaCommand::default()
            }
        })
}

fn pick() -> impl Strategy<Value = Pick> {
    (0usize..320, prop::option::weighted(0.1, operation()))
        .prop_map(|(index, other_op)| Pick { index, other_op })
}

fn any_state() -> impl Strategy<Value = S> {
    prop_oneof![
        Just(S::InProgress),
        Just(S::Success),
        Just(S::Failed),
        Just(S::NotStarted),
        Just(S::Pending)
    ]
}

fn final_state() -> impl Strategy<Value = S> {
    prop_oneof![4 => Just(S::Success), 1 => Just(S::Failed), 1 => Just(S::Rejected)]
}

fn plugin() -> impl Strategy<Value = PluginOperation> {
    prop_oneof![
        Just(PluginOperation::Create),
        Just(PluginOperation::Read),
        Just(PluginOperation::Status)
    ]
}

fn target_state() -> impl Strategy<Value = T> {
    prop_oneof![
        Just(T::NotStarted),
        Just(T::InProgress),
        Just(T::Success),
        Just(T::Failed),
        Just(T::Canceled)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (pick(), any_state(), plugin(), prop::bool::weighted(0.2), prop::bool::weighted(0.2))
            .prop_map(|(pick, state, plugin, version, secret)| Op::Progress { pick, state, plugin, version, secret }),
        8 => (pick(), final_state(), prop::bool::weighted(0.3), prop::bool::weighted(0.3))
            .prop_map(|(pick, state, version, secret)| Op::Complete { pick, state, version, secret }),
        2 => (prop_oneof![Just(S::Rejected), Just(S::Failed), Just(S::Canceled)], vec(pick(), 0..6))
            .prop_map(|(state, picks)| Op::Bulk { state, picks }),
        1 => Just(Op::CancelAll),
        1 => vec((0u8..3, prop_oneof![Just(Operation::Create), Just(Operation::Update)], target_state()), 1..3)
            .prop_map(Op::Targets),
        1 => Just(Op::FinalizeIncomplete),
        1 => Just(Op::UnknownCommand),
        1 => Just(Op::Restart),
    ]
}

/// A command and 0 to 80 messages for it.
pub fn case() -> impl Strategy<Value = Case> {
    (command(), vec(op(), 0..80)).prop_map(|(command, ops)| Case { command, ops })
}

/// A progress result for generated messages, optionally carrying a secret.
pub fn progress_result(
    plugin: PluginOperation,
    at: Timestamp,
    secret: Option<String>,
) -> ProgressResult {
    ProgressResult {
        operation: plugin,
        resource_type: "AWS::S3::Bucket".into(),
        modified_ts: at,
        resource_properties: secret.and_then(|s| {
            RawJson::new(format!(r#"{{"Token":{{"$value":"{s}","$visibility":"Opaque"}}}}"#)).ok()
        }),
        ..ProgressResult::default()
    }
}
