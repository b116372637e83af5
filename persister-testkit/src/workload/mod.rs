//! Realistic workloads, deterministic from a seed: W1 (one large command), W2 (many
//! commands of mixed sizes, interleaved) and W3 (one huge command).
//!
//! Each resource reports progress five times and then completes, as the agent's resource
//! workers do; a number of resources are in flight at once and their messages interleave.

mod resource;

use persister_core::{
    Ack, CommandKind, CommandState, Description, FormaCommand, OperationStatus, Persister,
    PluginOperation, ProgressResult, ResourceCompletion, ResourceProgress, ResourceUpdateState,
    Result, Timestamp,
};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

pub use resource::resource_update;

/// One message of a workload.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "messages are built once and moved into the persister; boxing adds an allocation per message"
)]
pub enum Message {
    /// A progress report.
    Progress(ResourceProgress),
    /// A completion.
    Complete(ResourceCompletion),
}

impl Message {
    /// The command the message is for.
    pub fn command_id(&self) -> &str {
        match self {
            Self::Progress(m) => &m.command_id,
            Self::Complete(m) => &m.command_id,
        }
    }

    /// Sends the message to `persister`.
    ///
    /// # Errors
    /// The persister's error.
    pub async fn send(self, persister: &mut Persister) -> Result<Ack> {
        match self {
            Self::Progress(m) => persister.update_progress(m).await,
            Self::Complete(m) => persister.complete(m).await,
        }
    }
}

/// Commands to store and the messages to replay after them.
#[derive(Clone, Debug)]
pub struct Workload {
    /// A short name (`W1`, ...).
    pub name: &'static str,
    /// The commands, stored before the messages are replayed.
    pub commands: Vec<FormaCommand>,
    /// The messages, in the order an agent sends them.
    pub messages: Vec<Message>,
}

impl Workload {
    /// W1: one command of 196 resource updates (about 1.5 MB of JSON).
    pub fn w1(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let command = command(&mut rng, "W1", 0, 196);
        let messages = interleave(&mut rng, &[&command], 16);
        Self { name: "W1", commands: vec![command], messages }
    }

    /// W2: 40 concurrent commands of 10 to 196 resource updates (about 430 KB on average).
    pub fn w2(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let commands: Vec<FormaCommand> = (0..40)
            .map(|i| {
                let n = if i % 8 == 0 { 196 } else { rng.random_range(10..=100) };
                command(&mut rng, "W2", i, n)
            })
            .collect();
        let refs: Vec<&FormaCommand> = commands.iter().collect();
        let messages = interleave(&mut rng, &refs, 64);
        Self { name: "W2", commands, messages }
    }

    /// W3: one command of 2,000 resource updates (about 15 MB of JSON).
    pub fn w3(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let command = command(&mut rng, "W3", 0, 2000);
        let messages = interleave(&mut rng, &[&command], 16);
        Self { name: "W3", commands: vec![command], messages }
    }

    /// Keeps the commands whole and only the first `n` messages.
    #[must_use]
    pub fn truncated(mut self, n: usize) -> Self {
        self.messages.truncate(n);
        self
    }

    /// Total JSON size of the commands as the Go agent encodes them.
    pub fn json_bytes(&self) -> usize {
        self.commands
            .iter()
            .map(|c| persister_core::codec::encode_command(c).map_or(0, |s| s.len()))
            .sum()
    }
}

/// A command with `n` realistic resource updates.
pub fn command(rng: &mut impl Rng, prefix: &str, index: usize, n: usize) -> FormaCommand {
    let id = format!("{prefix}cmd{index:04}{:017}", rng.random_range(0..u64::MAX / 2));
    let now = Timestamp::parse("2025-12-19T10:00:00.123456789Z").unwrap_or_default();
    FormaCommand {
        id: id.clone(),
        description: Some(Description {
            text: format!("apply {prefix} stack {index}"),
            ..Description::default()
        }),
        state: CommandState::NotStarted,
        start_ts: now,
        modified_ts: now,
        resource_updates: (0..n).map(|i| resource_update(rng, &id, i)).collect(),
        command: CommandKind::Apply,
        client_id: format!("client-{}", index % 4),
        ..FormaCommand::default()
    }
}

/// The messages of `commands`, with `in_flight` resources reporting at once.
fn interleave(rng: &mut impl Rng, commands: &[&FormaCommand], in_flight: usize) -> Vec<Message> {
    // Commands run concurrently: resources start round-robin across commands. Each in-flight
    // slot has a step 0..=5 (five progress reports, then the completion).
    let longest = commands.iter().map(|c| c.resource_updates.len()).max().unwrap_or(0);
    let mut queue = (0..longest).flat_map(|p| {
        commands.iter().filter(move |c| p < c.resource_updates.len()).map(move |c| (*c, p))
    });
    let mut active: Vec<(&FormaCommand, usize, u32)> = Vec::new();
    let mut out = Vec::new();
    loop {
        while active.len() < in_flight {
            match queue.next() {
                Some((c, p)) => active.push((c, p, 0)),
                None => break,
            }
        }
        if active.is_empty() {
            return out;
        }
        let slot = rng.random_range(0..active.len());
        let (c, p, step) = active[slot];
        out.push(message_for(rng, c, p, step));
        if step == 5 {
            active.swap_remove(slot);
        } else {
            active[slot].2 += 1;
        }
    }
}

/// Message `step` (0 to 4 progress, 5 completion) of the resource update at `position`.
pub fn message_for(rng: &mut impl Rng, c: &FormaCommand, position: usize, step: u32) -> Message {
    let ru = &c.resource_updates[position];
    let at = |s: u32| {
        let base = c.start_ts.datetime() + time_offset(position, s);
        Timestamp::from_datetime(base)
    };
    if step < 5 {
        let status = if step == 4 { OperationStatus::Success } else { OperationStatus::InProgress };
        Message::Progress(ResourceProgress {
            command_id: c.id.clone(),
            resource_uri: ru.resource.uri(),
            operation: ru.operation,
            resource_start_ts: at(0),
            resource_modified_ts: at(step + 1),
            resource_state: if step == 4 {
                ResourceUpdateState::Success
            } else {
                ResourceUpdateState::InProgress
            },
            progress: ProgressResult {
                operation: PluginOperation::Create,
                operation_status: status,
                request_id: format!("req-{:016x}", rng.random::<u64>()),
                native_id: ru.resource.native_id.clone(),
                resource_type: ru.resource.resource_type.clone(),
                start_ts: at(0),
                modified_ts: at(step + 1),
                attempts: i64::from(step + 1),
                max_attempts: 10,
                status_message: format!("polling status ({})", step + 1),
                ..ProgressResult::default()
            },
            ..ResourceProgress::default()
        })
    } else {
        Message::Complete(ResourceCompletion {
            command_id: c.id.clone(),
            resource_uri: ru.resource.uri(),
            operation: ru.operation,
            final_state: ResourceUpdateState::Success,
            resource_start_ts: at(0),
            resource_modified_ts: at(6),
            resource_properties: ru.resource.properties.clone(),
            resource_read_only_properties: ru.resource.read_only_properties.clone(),
            version: format!("v{:08x}", rng.random::<u32>()),
        })
    }
}

fn time_offset(position: usize, step: u32) -> time::Duration {
    let position = i64::try_from(position).unwrap_or(0);
    time::Duration::milliseconds(position * 250 + i64::from(step) * 1_337)
}
