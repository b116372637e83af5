//! The reference model: a deliberately naive implementation of the message semantics
//! (linear scans, whole-command copies, no cache), used only as a test oracle.
//!
//! Like the persister, it stores every time it is given in UTC (D8), converting each one
//! where it is used.

use std::collections::BTreeMap;

use persister_core::hashing::{hash_command, hash_progress, hash_raw, opaque_names, should_delete};
use persister_core::{
    Ack, CommandState, Completion, Error, FormaCommand, Message, OpaqueFields, Operation,
    ResourceCompletion, ResourceProgress, ResourceUpdateRef, ResourceUpdateState, StoreError,
    TargetUpdate, Timestamp, ksuid_from_uri, overall_state,
};

/// What a message returned, reduced to what both implementations must agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Success.
    Ack(Ack),
    /// The command does not exist.
    NotFound,
    /// Finalize-incomplete refused: this many resource updates are not final.
    NotAllFinal(usize),
    /// Two resource updates share a key.
    DuplicateKey,
    /// The id is taken.
    AlreadyExists,
    /// Any other error (its message).
    Other(String),
}

impl Reply {
    /// Reduces the result of [`Persister::handle`](persister_core::Persister::handle).
    pub fn of_reply(result: Result<persister_core::Reply, Error>) -> Self {
        match result {
            Ok(persister_core::Reply::Ack(ack)) => Self::Ack(ack),
            Ok(_) => Self::Ack(Ack::Applied),
            Err(e) => Self::of(Err(e)),
        }
    }

    /// Reduces a persister result.
    pub fn of(result: Result<Ack, Error>) -> Self {
        match result {
            Ok(ack) => Self::Ack(ack),
            Err(Error::Store(StoreError::NotFound { .. })) => Self::NotFound,
            Err(Error::Store(StoreError::DuplicateKey { .. })) => Self::DuplicateKey,
            Err(Error::Store(StoreError::AlreadyExists { .. })) => Self::AlreadyExists,
            Err(Error::NotAllFinal { not_final, .. }) => Self::NotAllFinal(not_final),
            Err(e) => Self::Other(e.to_string()),
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    command: FormaCommand,
    completions: Vec<Completion>,
    finalized: bool,
}

/// The oracle. Commands are kept whole; every message scans them linearly.
#[derive(Clone, Debug)]
pub struct ReferenceModel {
    commands: BTreeMap<String, Entry>,
    fields: OpaqueFields,
    now: Timestamp,
}

impl ReferenceModel {
    /// An empty model whose clock always reads `now`.
    pub fn new(now: Timestamp) -> Self {
        Self { commands: BTreeMap::new(), fields: OpaqueFields::default(), now }
    }

    /// The command as the model holds it.
    pub fn load(&self, id: &str) -> Option<&FormaCommand> {
        self.commands.get(id).map(|e| &e.command)
    }

    /// True once finalization ran for the command (it was hashed).
    pub fn is_finalized(&self, id: &str) -> bool {
        self.commands.get(id).is_some_and(|e| e.finalized)
    }

    /// Handles any message (a `Load` replies `Applied` when the command exists).
    pub fn handle(&mut self, message: Message) -> Reply {
        match message {
            Message::StoreNew(c) => self.store_new(*c),
            Message::Load(id) => match self.load(&id) {
                Some(_) => Reply::Ack(Ack::Applied),
                None => Reply::NotFound,
            },
            Message::Progress(m) => self.progress(*m),
            Message::Complete(m) => self.complete(*m),
            Message::TargetStates { id, updates } => self.targets(&id, updates),
            Message::MarkRejected { id, refs, modified_ts } => {
                self.bulk(&id, &refs, ResourceUpdateState::Rejected, modified_ts)
            }
            Message::MarkFailed { id, refs, modified_ts } => {
                self.bulk(&id, &refs, ResourceUpdateState::Failed, modified_ts)
            }
            Message::MarkCanceled { id, refs } => self.cancel(&id, &refs),
            Message::CancelAll(id) => self.cancel_all(&id),
            Message::FinalizeIncomplete(id) => self.finalize_incomplete(&id),
            other => Reply::Other(format!("unsupported message {}", other.kind())),
        }
    }

    /// `StoreNewFormaCommand`.
    pub fn store_new(&mut self, mut command: FormaCommand) -> Reply {
        let rus = &command.resource_updates;
        for (i, a) in rus.iter().enumerate() {
            if rus[..i]
                .iter()
                .any(|b| b.resource.ksuid == a.resource.ksuid && b.operation == a.operation)
            {
                return Reply::DuplicateKey;
            }
        }
        let completions = vec![Completion::Pending; rus.len()];
        // D8: every time given is stored in UTC.
        command.start_ts = command.start_ts.to_utc();
        command.modified_ts = command.modified_ts.to_utc();
        for ru in &mut command.resource_updates {
            ru.start_ts = ru.start_ts.to_utc();
            ru.modified_ts = ru.modified_ts.to_utc();
            let results = std::iter::once(&mut ru.most_recent_progress_result)
                .chain(ru.progress_result.iter_mut().flatten());
            for r in results {
                r.start_ts = r.start_ts.to_utc();
                r.modified_ts = r.modified_ts.to_utc();
            }
        }
        for t in &mut command.target_updates {
            t.start_ts = t.start_ts.to_utc();
            t.modified_ts = t.modified_ts.to_utc();
        }
        if let Some(e) = self.commands.get(&command.id) {
            // Storing the same command again is idempotent while nothing changed it since.
            let untouched = e.command == command && e.completions == completions && !e.finalized;
            return if untouched { Reply::Ack(Ack::Applied) } else { Reply::AlreadyExists };
        }
        self.commands.insert(command.id.clone(), Entry { command, completions, finalized: false });
        Reply::Ack(Ack::Applied)
    }

    fn find(command: &FormaCommand, uri: &str, op: Operation) -> Option<usize> {
        let ksuid = ksuid_from_uri(uri);
        command.resource_updates.iter().position(|r| r.resource.ksuid == ksuid && r.operation == op)
    }

    /// `UpdateResourceProgress` (D2).
    pub fn progress(&mut self, msg: ResourceProgress) -> Reply {
        let Some(e) = self.commands.get_mut(&msg.command_id) else { return Reply::NotFound };
        let c = &mut e.command;
        if c.state == CommandState::Canceled {
            return Reply::Ack(Ack::Ignored);
        }
        if let Some(p) = Self::find(c, &msg.resource_uri, msg.operation) {
            let ru = &mut c.resource_updates[p];
            if ru.state.is_final() {
                return Reply::Ack(Ack::Ignored);
            }
            let mut progress = msg.progress.clone();
            progress.start_ts = progress.start_ts.to_utc();
            progress.modified_ts = progress.modified_ts.to_utc();
            if let Err(e) = hash_progress(&mut progress, &opaque_names(&ru.resource, &self.fields))
            {
                return Reply::Other(e.to_string());
            }
            ru.state = msg.resource_state;
            ru.start_ts = msg.resource_start_ts.to_utc();
            ru.modified_ts = msg.resource_modified_ts.to_utc();
            let mut list = ru.progress_result.clone().unwrap_or_default();
            match list.iter().position(|r| r.operation == progress.operation) {
                Some(i) => list[i] = progress.clone(),
                None => list.push(progress.clone()),
            }
            ru.progress_result = Some(list);
            ru.most_recent_progress_result = progress;
            if let Some(props) = msg.resource_properties {
                ru.resource.properties = if props.is_null() { None } else { Some(props) };
            }
            if let Some(props) = msg.resource_read_only_properties {
                ru.resource.read_only_properties = Some(props);
            }
            if !msg.version.is_empty() {
                ru.version = msg.version;
            }
        }
        if c.start_ts.is_zero() {
            c.start_ts = msg.resource_start_ts.to_utc();
        }
        c.modified_ts = msg.resource_modified_ts.to_utc();
        if c.state == CommandState::NotStarted {
            c.state = CommandState::InProgress;
        }
        Reply::Ack(Ack::Applied)
    }

    /// `MarkResourceUpdateAsComplete` (D3).
    pub fn complete(&mut self, msg: ResourceCompletion) -> Reply {
        let Some(e) = self.commands.get_mut(&msg.command_id) else { return Reply::NotFound };
        let Some(p) = Self::find(&e.command, &msg.resource_uri, msg.operation) else {
            return Reply::Ack(Ack::Ignored);
        };
        if e.completions[p] != Completion::Pending {
            return Reply::Ack(Ack::Ignored);
        }
        let ru = &mut e.command.resource_updates[p];
        let names = opaque_names(&ru.resource, &self.fields);
        let (mut props, mut ro) = (msg.resource_properties, msg.resource_read_only_properties);
        if let Err(err) =
            hash_raw(&mut props, &names, "p").and_then(|_| hash_raw(&mut ro, &names, "r"))
        {
            return Reply::Other(err.to_string());
        }
        ru.state = msg.final_state;
        ru.start_ts = msg.resource_start_ts.to_utc();
        ru.modified_ts = msg.resource_modified_ts.to_utc();
        if let Some(props) = props {
            ru.resource.properties = if props.is_null() { None } else { Some(props) };
        }
        if ro.is_some() {
            ru.resource.read_only_properties = ro;
        }
        if !msg.version.is_empty() {
            ru.version = msg.version;
        }
        e.completions[p] = Completion::Completed;
        e.command.modified_ts = msg.resource_modified_ts.to_utc();
        e.command.state = overall_state(&e.command);
        let id = msg.command_id;
        self.settle(&id, false)
    }

    /// Bulk reject / fail / cancel (D4).
    pub fn bulk(
        &mut self,
        id: &str,
        refs: &[ResourceUpdateRef],
        state: ResourceUpdateState,
        ts: Timestamp,
    ) -> Reply {
        let Some(e) = self.commands.get_mut(id) else { return Reply::NotFound };
        let ts = ts.to_utc();
        for r in refs {
            if let Some(p) = Self::find(&e.command, &r.uri, r.operation) {
                let ru = &mut e.command.resource_updates[p];
                if !ru.state.is_final() {
                    ru.state = state;
                    ru.modified_ts = ts;
                    e.completions[p] = Completion::MadeFinalByBulk;
                }
            }
        }
        e.command.modified_ts = ts;
        e.command.state = overall_state(&e.command);
        self.settle(id, false)
    }

    /// Cancel with the model's clock.
    pub fn cancel(&mut self, id: &str, refs: &[ResourceUpdateRef]) -> Reply {
        let now = self.now;
        self.bulk(id, refs, ResourceUpdateState::Canceled, now)
    }

    /// `MarkCommandResourcesAsCanceled`.
    pub fn cancel_all(&mut self, id: &str) -> Reply {
        let Some(e) = self.commands.get(id) else { return Reply::NotFound };
        let refs: Vec<ResourceUpdateRef> = e
            .command
            .resource_updates
            .iter()
            .filter(|r| !r.state.is_final())
            .map(|r| ResourceUpdateRef::new(r.resource.uri(), r.operation))
            .collect();
        if refs.is_empty() {
            return Reply::Ack(Ack::Ignored);
        }
        self.cancel(id, &refs)
    }

    /// `UpdateTargetStates` (D5).
    pub fn targets(&mut self, id: &str, updates: Vec<TargetUpdate>) -> Reply {
        let Some(e) = self.commands.get_mut(id) else { return Reply::NotFound };
        for mut u in updates {
            u.start_ts = u.start_ts.to_utc();
            u.modified_ts = u.modified_ts.to_utc();
            let existing = e
                .command
                .target_updates
                .iter()
                .position(|t| t.target.label == u.target.label && t.operation == u.operation);
            match existing {
                Some(i) if e.command.target_updates[i].state.is_final() => {}
                Some(i) => e.command.target_updates[i] = u,
                None => e.command.target_updates.push(u),
            }
        }
        e.command.state = overall_state(&e.command);
        self.settle(id, false)
    }

    /// `FinalizeIncompleteCommand` (D9).
    pub fn finalize_incomplete(&mut self, id: &str) -> Reply {
        let now = self.now.to_utc();
        let Some(e) = self.commands.get_mut(id) else { return Reply::NotFound };
        let not_final = e.command.resource_updates.iter().filter(|r| !r.state.is_final()).count();
        if not_final > 0 {
            return Reply::NotAllFinal(not_final);
        }
        e.command.state = overall_state(&e.command);
        e.command.modified_ts = now;
        self.settle(id, true)
    }

    fn settle(&mut self, id: &str, force: bool) -> Reply {
        let Some(e) = self.commands.get_mut(id) else { return Reply::NotFound };
        let pending = e.completions.iter().filter(|c| **c == Completion::Pending).count();
        if !(e.command.is_final() && (force || pending == 0)) {
            return Reply::Ack(Ack::Applied);
        }
        if let Err(err) = hash_command(&mut e.command, &self.fields) {
            return Reply::Other(err.to_string());
        }
        if should_delete(&e.command) {
            self.commands.remove(id);
            return Reply::Ack(Ack::Deleted);
        }
        e.finalized = true;
        Reply::Ack(Ack::Finalized)
    }
}
